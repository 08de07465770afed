"""Drives ferrocenter with the unmodified official vSphere Automation SDK for Python.

Usage: flow.py SERVER USER PASSWORD FLEET_JSON
FLEET_JSON: {"hosts": [{"address", "port", "thumbprint"}, ...], "root_password": ...}
Prints one JSON object with what the SDK saw; any SDK exception fails the run (exit 1),
except where a fault is the point (recorded by its class name).
"""
import json
import sys
import time

import requests
import urllib3

from com.vmware.cis_client import Tasks
from com.vmware.vcenter_client import VM, Datacenter, Folder, Host, System
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.client.security_context_filter import (
    LegacySecurityContextFilter,
)
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client
from com.vmware.vapi.std.errors_client import (
    AlreadyInDesiredState,
    NotFound,
    UnverifiedPeer,
)


def main():
    server, user, password, fleet_file = sys.argv[1:5]
    fleet = json.load(open(fleet_file))
    urllib3.disable_warnings()
    session = requests.Session()
    session.verify = False
    # requests lets REQUESTS_CA_BUNDLE and friends override a session's verify=False.
    session.trust_env = False
    out = {}
    with create_vsphere_client(
        server=server, username=user, password=password, session=session
    ) as client:
        v = client.vcenter
        out["hello"] = v.System.hello(
            System.HelloSpec(api_releases=["99.0.0.0", "8.0.3.0"])
        ).api_release
        dcs = v.Datacenter.list()
        out["datacenters"] = [d.name for d in dcs]
        dc = dcs[0].datacenter
        info = v.Datacenter.get(dc)
        out["host_folder"] = info.host_folder
        folders = v.Folder.list(Folder.FilterSpec(type=Folder.Type.HOST, datacenters={dc}))
        out["host_folders"] = [f.folder for f in folders]
        out["hosts_before"] = len(v.Host.list())

        added = []
        for h in fleet["hosts"][:2]:
            spec = Host.CreateSpec(
                hostname=h["address"],
                port=h["port"],
                user_name="root",
                password=fleet["root_password"],
                folder=info.host_folder,
                thumbprint_verification=Host.CreateSpec.ThumbprintVerification.THUMBPRINT,
                thumbprint=h["thumbprint"],
            )
            added.append(v.Host.create(spec))
        out["added"] = added
        # A wrong thumbprint is refused with the peer named as unverified.
        bad = fleet["hosts"][2]
        try:
            v.Host.create(
                Host.CreateSpec(
                    hostname=bad["address"],
                    port=bad["port"],
                    user_name="root",
                    password=fleet["root_password"],
                    folder=info.host_folder,
                    thumbprint_verification=Host.CreateSpec.ThumbprintVerification.THUMBPRINT,
                    thumbprint=fleet["hosts"][0]["thumbprint"],
                )
            )
            out["bad_thumbprint"] = "accepted"
        except UnverifiedPeer as e:
            out["bad_thumbprint"] = type(e).__name__
        summaries = v.Host.list(Host.FilterSpec(hosts=set(added)))
        out["host_states"] = sorted(str(s.connection_state) for s in summaries)
        out["host_power"] = sorted(str(s.power_state) for s in summaries)
        try:
            v.Host.connect(added[0])
        except AlreadyInDesiredState as e:
            out["connect_connected"] = type(e).__name__

        vms = v.VM.list(VM.FilterSpec(hosts={added[0]}))
        out["vms_on_first"] = len(vms)
        vm = vms[0].vm
        got = v.VM.get(vm)
        out["vm_name_matches"] = got.name == vms[0].name
        out["vm_cpu"] = got.cpu.count
        if str(v.vm.Power.get(vm).state) == "POWERED_ON":
            v.vm.Power.stop(vm)
        out["after_stop"] = str(v.vm.Power.get(vm).state)
        v.vm.Power.start(vm)
        out["after_start"] = str(v.vm.Power.get(vm).state)

        # A $task operation: the SDK's Task helper polls com.vmware.cis.tasks.get.
        task = v.VM.relocate_task(
            vm, VM.RelocateSpec(placement=VM.RelocatePlacementSpec(host=added[1]))
        )
        out["task_id_has_service"] = task.get_task_id().endswith(":com.vmware.vcenter.VM")
        statuses = []
        for _ in range(600):
            t = task.get_info()
            statuses.append(str(t.status))
            if str(t.status) in ("SUCCEEDED", "FAILED"):
                break
            time.sleep(0.05)
        # The same task read through a Tasks stub of its own, as a monitoring script would.
        tasks = Tasks(
            StubConfigurationFactory.new_std_configuration(
                get_requests_connector(
                    session=session,
                    url="https://" + server + "/api",
                    provider_filter_chain=[
                        LegacySecurityContextFilter(
                            security_context=create_session_security_context(
                                client.get_session_id()
                            )
                        )
                    ],
                )
            )
        )
        out["listed"] = task.get_task_id() in tasks.list(
            Tasks.FilterSpec(services={"com.vmware.vcenter.VM"})
        )
        out["task_final"] = statuses[-1]
        out["task_operation"] = t.operation
        out["vm_now_on_second"] = any(
            s.vm == vm for s in v.VM.list(VM.FilterSpec(hosts={added[1]}))
        )
        try:
            v.Datacenter.get("datacenter-999")
        except NotFound as e:
            out["missing_datacenter"] = type(e).__name__
        v.Host.delete(added[1])
        out["hosts_after_delete"] = len(v.Host.list())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
