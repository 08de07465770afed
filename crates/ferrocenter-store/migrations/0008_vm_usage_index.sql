-- Host capacity sums the powered-on VMs' vCPUs and memory per host (ZStack QueryHost, one
-- aggregate per page): a covering index answers it without reading the VM rows and their data.
CREATE INDEX vms_host_usage ON vms (host_id, power_state, vcpus, memory_bytes);
