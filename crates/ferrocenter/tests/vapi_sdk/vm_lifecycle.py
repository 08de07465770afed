"""Creates and deletes a VM with the unmodified official vSphere Automation SDK for Python.

Usage: vm_lifecycle.py SERVER USER PASSWORD FOLDER CLUSTER DATASTORE NETWORK DATASTORE_NAME
Prints one JSON object with what the SDK saw; faults that are the point are recorded by their
class name and the field they name. Leaves one VM, sdk-image-vm, whose disk is a copy of the
image debian-12.qcow2 on the datastore, for the caller to find on its host.
"""
import json
import sys

import requests
import urllib3

from com.vmware.vapi.std.errors_client import (
    AlreadyExists,
    InvalidArgument,
    NotAllowedInCurrentState,
)
from com.vmware.vcenter.vm_client import GuestOS
from com.vmware.vcenter.vm.hardware_client import Cpu, Disk, Ethernet, Memory
from com.vmware.vcenter_client import VM
from vmware.vapi.vsphere.client import create_vsphere_client


def fault(call):
    try:
        call()
    except (AlreadyExists, InvalidArgument, NotAllowedInCurrentState) as e:
        args = [a for m in (e.messages or []) for a in (m.args or [])]
        return {"error": type(e).__name__, "args": args}
    return {"error": None}


def main():
    server, user, password, folder, cluster, datastore, network, ds_name = sys.argv[1:9]
    urllib3.disable_warnings()
    session = requests.Session()
    session.verify = False
    session.trust_env = False
    out = {}

    def from_image(vmdk_file):
        return [
            Disk.CreateSpec(
                backing=Disk.BackingSpec(type=Disk.BackingType.VMDK_FILE, vmdk_file=vmdk_file)
            )
        ]

    def spec(name, cpus=2, net=network, disks=None):
        return VM.CreateSpec(
            name=name,
            guest_os=GuestOS.DEBIAN_12_64,
            placement=VM.PlacementSpec(folder=folder, cluster=cluster, datastore=datastore),
            cpu=Cpu.UpdateSpec(count=cpus),
            memory=Memory.UpdateSpec(size_mib=512),
            disks=disks or [Disk.CreateSpec(new_vmdk=Disk.VmdkCreateSpec(capacity=1 << 30))],
            nics=[
                Ethernet.CreateSpec(
                    backing=Ethernet.BackingSpec(
                        type=Ethernet.BackingType.STANDARD_PORTGROUP, network=net
                    )
                )
            ],
        )

    with create_vsphere_client(
        server=server, username=user, password=password, session=session
    ) as client:
        v = client.vcenter
        vm = v.VM.create(spec("sdk-vm-1"))
        out["created"] = vm
        info = v.VM.get(vm)
        out["name"] = info.name
        out["guest_os"] = str(info.guest_os)
        out["cpu"] = info.cpu.count
        out["memory"] = info.memory.size_mib
        out["listed"] = [s.name for s in v.VM.list(VM.FilterSpec(vms={vm}))]
        out["duplicate"] = fault(lambda: v.VM.create(spec("sdk-vm-1")))
        out["zero_cpus"] = fault(lambda: v.VM.create(spec("sdk-zero", cpus=0)))
        out["unknown_network"] = fault(
            lambda: v.VM.create(spec("sdk-bad-net", net="network-9999"))
        )
        v.vm.Power.start(vm)
        out["delete_running"] = fault(lambda: v.VM.delete(vm))
        v.vm.Power.stop(vm)
        v.VM.delete(vm)
        out["after_delete"] = [s.vm for s in v.VM.list(VM.FilterSpec(vms={vm}))]

        # A disk copied from an image on the datastore (the SDK's VMDK_FILE backing).
        image = "[%s] debian-12.qcow2" % ds_name
        out["image_vm"] = v.VM.create(spec("sdk-image-vm", disks=from_image(image)))
        for key, path in [
            ("image_unknown_datastore", "[no-such-datastore] debian-12.qcow2"),
            ("image_path", "[%s] ../etc/shadow" % ds_name),
            ("image_empty", "[%s]" % ds_name),
        ]:
            out[key] = fault(lambda: v.VM.create(spec("sdk-bad-image", disks=from_image(path))))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
