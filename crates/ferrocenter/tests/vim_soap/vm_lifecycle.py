"""Creates, powers and destroys a VM over ferrocenter's vim25 SOAP door with unmodified pyVmomi.

Usage: vm_lifecycle.py SERVER USER PASSWORD
The server manages datacenter DC0 with cluster C0. Prints one JSON object with what pyVmomi
saw; faults that are the point are recorded by their vim type name (and invalidProperty).
Leaves one VM, py-image-vm, whose disk is a copy of the image debian-12.qcow2 on the first
host's datastore (a VirtualDisk without fileOperation), for the caller to find on its host.
"""
import json
import sys

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl


def vim_name(x):
    return getattr(type(x), "_wsdlName", type(x).__name__)


def fault_of(fn):
    try:
        fn()
    except vmodl.MethodFault as e:
        return {"fault": vim_name(e), "property": getattr(e, "invalidProperty", None)}
    return {"fault": None}


def task_fault(task):
    try:
        WaitForTask(task)
    except vmodl.MethodFault as e:
        return vim_name(e)
    return None


def main():
    server, user, password = sys.argv[1:4]
    host, port = server.rsplit(":", 1)
    si = SmartConnect(
        host=host, port=int(port), user=user, pwd=password, disableSslCertValidation=True
    )
    out = {}
    try:
        content = si.RetrieveContent()
        dc = [d for d in content.rootFolder.childEntity if d.name == "DC0"][0]
        cluster = [c for c in dc.hostFolder.childEntity if c.name == "C0"][0]
        first = cluster.host[0]
        ds = first.datastore[0]
        net = first.network[0]

        def spec(name, cpus=1, network=net, image=None):
            scsi = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                device=vim.vm.device.ParaVirtualSCSIController(
                    key=1000, busNumber=0,
                    sharedBus=vim.vm.device.VirtualSCSIController.Sharing.noSharing,
                ),
            )
            disk = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                device=vim.vm.device.VirtualDisk(
                    key=-1, controllerKey=1000, unitNumber=0, capacityInKB=2 * 1024 * 1024,
                    backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                        diskMode="persistent", thinProvisioned=True, fileName=image or "",
                    ),
                ),
            )
            if image is None:
                # An empty disk; without fileOperation, ferrocenter copies the image named.
                disk.fileOperation = vim.vm.device.VirtualDeviceSpec.FileOperation.create
            nic = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                device=vim.vm.device.VirtualVmxnet3(
                    key=-2,
                    deviceInfo=vim.Description(label="nic", summary=network.name),
                    backing=vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
                        deviceName=network.name, network=network,
                    ),
                ),
            )
            return vim.vm.ConfigSpec(
                name=name, guestId="debian12_64Guest", numCPUs=cpus, memoryMB=256,
                files=vim.vm.FileInfo(vmPathName="[%s]" % ds.name),
                deviceChange=[scsi, disk, nic],
            )

        task = dc.vmFolder.CreateVM_Task(config=spec("py-vm-1", 2), pool=cluster.resourcePool)
        WaitForTask(task)
        vm = task.info.result
        out["result_type"] = vim_name(vm)
        out["entity_type"] = vim_name(task.info.entity) if task.info.entity else None
        out["name"] = vm.name
        out["cpus"] = vm.summary.config.numCpu
        out["memory"] = vm.summary.config.memorySizeMB
        out["in_folder"] = vm in list(dc.vmFolder.childEntity)
        out["duplicate"] = task_fault_or_call(
            lambda: dc.vmFolder.CreateVM_Task(config=spec("py-vm-1"), pool=cluster.resourcePool)
        )
        out["zero_cpus"] = fault_of(
            lambda: dc.vmFolder.CreateVM_Task(config=spec("py-zero", 0), pool=cluster.resourcePool)
        )
        WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=3, memoryMB=384)))
        out["reconfigured"] = [vm.summary.config.numCpu, vm.summary.config.memorySizeMB]
        WaitForTask(vm.PowerOnVM_Task())
        out["reconfigure_running"] = fault_of(
            lambda: vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=4))
        )
        out["destroy_running"] = fault_of(lambda: vm.Destroy_Task())
        WaitForTask(vm.PowerOffVM_Task())
        WaitForTask(vm.Destroy_Task())
        out["after"] = [v.name for v in dc.vmFolder.childEntity]

        pool = cluster.resourcePool
        image = "[%s] debian-12.qcow2" % ds.name
        task = dc.vmFolder.CreateVM_Task(config=spec("py-image-vm", image=image), pool=pool)
        WaitForTask(task)
        out["image_vm"] = task.info.result.name
        for key, path in [
            ("image_unknown_datastore", "[no-such-datastore] debian-12.qcow2"),
            ("image_path", "[%s] ../etc/shadow" % ds.name),
            ("image_empty", "[%s]" % ds.name),
        ]:
            out[key] = fault_of(
                lambda: dc.vmFolder.CreateVM_Task(config=spec("py-bad", image=path), pool=pool)
            )
    finally:
        Disconnect(si)
    print(json.dumps(out))


def task_fault_or_call(fn):
    """A fault raised by the call, or by the task it started."""
    try:
        t = fn()
    except vmodl.MethodFault as e:
        return vim_name(e)
    return task_fault(t)


if __name__ == "__main__":
    main()
