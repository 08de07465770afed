"""Drives ferrocenter's vim25 SOAP door (POST /sdk) with the unmodified pyVmomi.

Usage: flow.py SERVER USER PASSWORD FLEET_JSON
FLEET_JSON: {"hosts": [{"address", "port", "thumbprint"}, ...], "root_password": ...,
             "ca_file": the server's certificate (PEM), trusted for the verified connection}
Prints one JSON object with what pyVmomi saw. Each step runs on its own: an exception a step
did not expect is recorded under "errors" with the step's name and the run goes on, so one
run shows every failure (the test asserts "errors" is empty). Faults that are the point of a
step are recorded by their vim type name.
"""
import http.client
import json
import socket
import ssl
import sys
import threading
import traceback
from xml.etree import ElementTree

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import Object

PC = vmodl.query.PropertyCollector
out = {"errors": {}}


def vim_name(x):
    """The vim (WSDL) name of a pyVmomi object's type, e.g. SSLVerifyFault."""
    return getattr(type(x), "_wsdlName", type(x).__name__)


def step(name, fn, default=None):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - recorded, the test fails on it
        msg = getattr(e, "msg", None) or str(e)
        out["errors"][name] = "%s: %s\n%s" % (
            vim_name(e),
            msg,
            traceback.format_exc(limit=-4),
        )
        return default


def fault_of(fn):
    """Runs fn, which must raise: the vim name of what it raised, or "no fault"."""
    try:
        fn()
    except vmodl.MethodFault as e:
        return vim_name(e)
    return "no fault"


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Forwarder:
    """A TCP forwarder on ADDRESS:<new port> to ADDRESS:PORT: the simulated host seen at a
    changed port (the fleet's acceptor picks the host by the address connected to)."""

    def __init__(self, address, port):
        self.address, self.target = address, port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            client, _ = self.sock.accept()
            self.accepted += 1
            upstream = socket.create_connection((self.address, self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()


def connect_spec(h, root_password, thumbprint=None, port=None):
    return vim.host.ConnectSpec(
        hostName=h["address"],
        port=port or h["port"],
        userName="root",
        password=root_password,
        sslThumbprint=thumbprint,
        force=False,
    )


def container_objects(content, view, obj_type, paths, page=None):
    """Every object of a container view with these properties, through RetrievePropertiesEx
    (paged by `page`, continued with ContinueRetrievePropertiesEx) or, without a page, through
    RetrieveContents (the RetrieveProperties method). Returns ({moid: {path: value}}, pages)."""
    pc = content.propertyCollector
    spec = PC.FilterSpec(
        objectSet=[
            PC.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[
                    PC.TraversalSpec(
                        name="traverseEntities",
                        path="view",
                        skip=False,
                        type=vim.view.ContainerView,
                    )
                ],
            )
        ],
        propSet=[PC.PropertySpec(type=obj_type, pathSet=paths)],
    )
    objects, pages = [], 0
    if page is None:
        objects = pc.RetrieveContents([spec])
        pages = 1
    else:
        r = pc.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=page))
        while r is not None:
            pages += 1
            objects.extend(r.objects)
            r = pc.ContinueRetrievePropertiesEx(r.token) if r.token else None
    found = {}
    for oc in objects:
        found[oc.obj._moId] = {p.name: p.val for p in oc.propSet}
    return found, pages


def main():
    server, user, password, fleet_file = sys.argv[1:5]
    fleet = json.load(open(fleet_file))
    host, port = server.rsplit(":", 1)
    port = int(port)
    hosts_spec = fleet["hosts"]
    root_pw = fleet["root_password"]

    # What SmartConnect negotiates from: the one document it reads before any call.
    def advertised():
        c = http.client.HTTPSConnection(host, port, context=ssl._create_unverified_context())
        c.request("GET", "/sdk/vimServiceVersions.xml")
        r = c.getresponse()
        doc = ElementTree.fromstring(r.read())
        out["service_versions"] = {
            "status": r.status,
            "root": doc.tag,
            "format": doc.get("version"),
            "namespaces": [
                {
                    "name": ns.findtext("name"),
                    "version": ns.findtext("version"),
                    "prior": [v.text for v in ns.findall("priorVersions/version")],
                }
                for ns in doc.findall("namespace")
            ],
        }

    step("service_versions", advertised)

    # Certificate verification on: the server's certificate trusted from a file, the name
    # checked against the address connected to.
    def verified():
        ctx = ssl.create_default_context(cafile=fleet["ca_file"])
        si = SmartConnect(host=host, port=port, user=user, pwd=password, sslContext=ctx)
        content = si.RetrieveContent()
        out["verified"] = {
            "apiVersion": content.about.apiVersion,
            "user": content.sessionManager.currentSession.userName,
        }
        Disconnect(si)

    step("verified_connect", verified)

    # Verification on without trusting it: the handshake is refused before any call.
    def untrusted():
        try:
            SmartConnect(
                host=host,
                port=port,
                user=user,
                pwd=password,
                sslContext=ssl.create_default_context(),
            )
            out["untrusted"] = "connected"
        except ssl.SSLCertVerificationError as e:
            out["untrusted"] = type(e).__name__

    step("untrusted_connect", untrusted)

    out["bad_login"] = step(
        "bad_login",
        lambda: fault_of(
            lambda: SmartConnect(
                host=host, port=port, user=user, pwd="wrong-password",
                disableSslCertValidation=True,
            )
        ),
    )

    si = step(
        "connect",
        lambda: SmartConnect(
            host=host, port=port, user=user, pwd=password, disableSslCertValidation=True
        ),
    )
    if si is None:
        print(json.dumps(out, default=str))
        return
    out["soap_action"] = si._stub.versionId.strip('"')
    content = si.RetrieveContent()

    def about():
        out["about"] = {
            "apiVersion": content.about.apiVersion,
            "apiType": content.about.apiType,
            "rootFolder": content.rootFolder._moId,
            "rootFolderType": vim_name(content.rootFolder),
            "rootFolderName": content.rootFolder.name,
            "user": content.sessionManager.currentSession.userName,
        }

    step("about", about)

    # Datacenter and a fully automated cluster.
    def inventory():
        dc = content.rootFolder.CreateDatacenter(name="DC0")
        cluster = dc.hostFolder.CreateClusterEx(
            name="C0",
            spec=vim.cluster.ConfigSpecEx(
                drsConfig=vim.cluster.DrsConfigInfo(
                    enabled=True,
                    defaultVmBehavior=vim.cluster.DrsConfigInfo.DrsBehavior.fullyAutomated,
                )
            ),
        )
        out["datacenter"] = {"type": vim_name(dc), "name": dc.name}
        out["root_children"] = [c.name for c in content.rootFolder.childEntity]
        out["cluster"] = {
            "type": vim_name(cluster),
            "name": cluster.name,
            "behavior": cluster.configurationEx.drsConfig.defaultVmBehavior,
        }
        return dc, cluster

    dc, cluster = step("inventory", inventory, (None, None))

    # AddHost_Task without a thumbprint: the task fails with SSLVerifyFault carrying the
    # host's; retried with it, it succeeds.
    def add_hosts():
        first = hosts_spec[0]
        task = cluster.AddHost_Task(spec=connect_spec(first, root_pw), asConnected=True)
        try:
            WaitForTask(task)
            out["add_without_thumbprint"] = "succeeded"
            thumbprint = first["thumbprint"]
        except vim.fault.SSLVerifyFault as e:
            out["add_without_thumbprint"] = {
                "fault": vim_name(e),
                "thumbprint": e.thumbprint,
                "selfSigned": e.selfSigned,
                "task_state": task.info.state,
                "task_error": vim_name(task.info.error),
            }
            thumbprint = e.thumbprint
        added = []
        for i, h in enumerate(hosts_spec):
            tp = thumbprint if i == 0 else h["thumbprint"]
            task = cluster.AddHost_Task(spec=connect_spec(h, root_pw, tp), asConnected=True)
            WaitForTask(task)
            info = task.info
            added.append(info.result)
            if i == 0:
                out["add_task"] = {
                    "state": info.state,
                    "descriptionId": info.descriptionId,
                    "name": info.name.info.wsdlName if info.name else None,
                    "result_type": vim_name(info.result),
                    "entity": info.entity._moId if info.entity else None,
                    "cluster": cluster._moId,
                }
        out["hosts"] = [
            {
                "moid": h._moId,
                "name": h.name,
                "state": h.runtime.connectionState,
                "parent": h.parent._moId,
                "thumbprint": h.summary.config.sslThumbprint,
                "vms": len(h.vm),
            }
            for h in added
        ]
        out["cluster_hosts"] = sorted(h._moId for h in cluster.host)
        return added

    hosts = step("add_hosts", add_hosts, [])

    # Maintenance with evacuation in the fully automated cluster: the VMs move off the host.
    def maintenance():
        h = hosts[0]
        vms = list(h.vm)
        WaitForTask(h.EnterMaintenanceMode_Task(timeout=0, evacuatePoweredOffVms=True))
        out["maintenance"] = {
            "host": h._moId,
            "in_maintenance": h.runtime.inMaintenanceMode,
            "vms_before": len(vms),
            "vms_left": len(h.vm),
            "vm_hosts_after": sorted(vm.runtime.host._moId for vm in vms),
        }
        WaitForTask(h.ExitMaintenanceMode_Task(timeout=0))
        out["maintenance"]["in_maintenance_after_exit"] = h.runtime.inMaintenanceMode

    if hosts:
        step("maintenance", maintenance)

    # ReconnectHost_Task with a changed port: the host is now reached through a forwarder.
    def reconnect():
        h, spec = hosts[-1], hosts_spec[len(hosts) - 1]
        fwd = Forwarder(spec["address"], spec["port"])
        moved = vim.host.ConnectSpec(port=fwd.port, force=False)
        # A connected host is not moved to another port.
        try:
            WaitForTask(h.ReconnectHost_Task(cnxSpec=moved))
            connected_refusal = "succeeded"
        except vmodl.MethodFault as e:
            connected_refusal = vim_name(e)
        WaitForTask(h.DisconnectHost_Task())
        disconnected = h.runtime.connectionState
        WaitForTask(h.ReconnectHost_Task(cnxSpec=moved))
        out["reconnect"] = {
            "while_connected": connected_refusal,
            "disconnected": disconnected,
            "state": h.runtime.connectionState,
            "port": h.summary.config.port,
            "new_port": fwd.port,
            "through_forwarder": fwd.accepted > 0,
        }

    if hosts:
        step("reconnect", reconnect)

    # A ContainerView and the PropertyCollector: every host and VM with its name.
    def listing():
        views = content.viewManager
        hv = views.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        vv = views.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        out["view_hosts"] = sorted(h._moId for h in hv.view)
        found, pages = container_objects(
            content, hv, vim.HostSystem, ["name", "runtime.connectionState", "vm"], page=1
        )
        out["pc_hosts"] = {
            moid: {
                "name": p["name"],
                "state": p["runtime.connectionState"],
                "vms": sorted(vm._moId for vm in p["vm"]),
            }
            for moid, p in found.items()
        }
        out["pc_host_pages"] = pages
        found, _ = container_objects(
            content, vv, vim.VirtualMachine, ["name", "runtime.host", "runtime.powerState"]
        )
        out["pc_vms"] = {
            moid: {
                "name": p["name"],
                "host": p["runtime.host"]._moId,
                "power": p["runtime.powerState"],
            }
            for moid, p in found.items()
        }
        hv.DestroyView()
        vv.DestroyView()

    step("listing", listing)

    # WaitForUpdatesEx on a VM's power state sees PowerOffVM_Task's change.
    def wait_for_power():
        vm = next(v for h in hosts for v in h.vm if v.runtime.powerState == "poweredOn")
        pc = content.propertyCollector.CreatePropertyCollector()
        f = pc.CreateFilter(
            PC.FilterSpec(
                objectSet=[PC.ObjectSpec(obj=vm, skip=False)],
                propSet=[
                    PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"])
                ],
            ),
            False,
        )
        seen, kinds = [], []
        version = ""
        task = None
        for _ in range(20):
            update = pc.WaitForUpdatesEx(version, PC.WaitOptions(maxWaitSeconds=5))
            if update is None:
                continue
            version = update.version
            for fs in update.filterSet:
                for ou in fs.objectSet:
                    kinds.append(ou.kind)
                    for ch in ou.changeSet:
                        seen.append([ch.name, ch.val])
            if task is None:
                task = vm.PowerOffVM_Task()
            elif seen and seen[-1][1] == "poweredOff":
                break
        WaitForTask(task)
        out["wait_updates"] = {
            "vm": vm._moId,
            "changes": seen,
            "kinds": kinds,
            "quiet": pc.WaitForUpdatesEx(version, PC.WaitOptions(maxWaitSeconds=0)),
            "filters": len(pc.filter),
        }
        f.Destroy()
        pc.Destroy()

    if hosts:
        step("wait_for_power", wait_for_power)

    # Faults by class: a method vim defines that ferrocenter does not implement, a method no
    # type has, an object that does not exist.
    def faults():
        h = hosts[0]
        out["not_supported"] = fault_of(lambda: h.QueryTpmAttestationReport())
        unknown = Object(
            name="NoSuchMethod",
            wsdlName="NoSuchMethod",
            version=si._stub.version,
            params=(),
            isTask=False,
            resultFlags=0,
            result=type(None),
            methodResult=type(None),
        )
        out["unknown_method"] = fault_of(lambda: si._stub.InvokeMethod(h, unknown, ()))
        out["missing_object"] = fault_of(lambda: vim.HostSystem("host-99999", si._stub).name)

    if hosts:
        step("faults", faults)

    Disconnect(si)
    # The session is gone: the same stub has no current session any more.
    out["session_after_disconnect"] = step(
        "after_disconnect",
        lambda: si.RetrieveContent().sessionManager.currentSession,
        "error",
    )
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
