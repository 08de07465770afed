"""Both doors, one answer: on every kind of object ferrocenter serves, reads every property
pyVmomi knows, and calls every method pyVmomi knows that has a required parameter without its
arguments, through the SOAP door with pyVmomi and through VI/JSON in the same session, and
compares the two answers.

Usage: both_doors.py SERVER USER PASSWORD FLEET_JSON
FLEET_JSON: {"hosts": [{"address", "port", "thumbprint"}, ...], "root_password": ...}
Prints one JSON object: "errors" (steps that failed), "reads" (one per object and property:
what each door answered, normalised), "calls" (one per object and method: the fault each door
answered), "client_errors" (answers pyVmomi could not read) and "mismatches" (reads or calls
where the doors differ).
"""
import base64
import datetime
import http.client
import json
import re
import ssl
import sys
import traceback
import urllib.parse

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask, WaitForTasks
from pyVmomi import Iso8601, vim, vmodl
from pyVmomi.VmomiSupport import F_OPTIONAL, DataObject, ManagedMethod, ManagedObject

out = {"errors": {}, "reads": [], "calls": [], "client_errors": [], "mismatches": []}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
SKIP = ("dynamicType", "dynamicProperty")


def vim_name(x):
    return getattr(type(x), "_wsdlName", type(x).__name__)


def step(name, fn, default=None):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - recorded, the test fails on it
        out["errors"][name] = "%s: %s\n%s" % (
            vim_name(e),
            getattr(e, "msg", None) or str(e),
            traceback.format_exc(limit=-4),
        )
        return default


def when(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def empty(v):
    return v is None or v == [] or v == {}


def norm_py(v):
    """A pyVmomi value as plain JSON: objects keep their vim type under "_type", unset and
    empty members are dropped, references become {"type", "value"}."""
    if v is None:
        return None
    if isinstance(v, ManagedObject):
        return {"type": v._wsdlName, "value": v._moId}
    if isinstance(v, DataObject):
        d = {"_type": type(v)._wsdlName}
        for p in v._GetPropertyList():
            if p.name in SKIP:
                continue
            val = norm_py(getattr(v, p.name, None))
            if not empty(val):
                d[p.name] = val
        return d
    if isinstance(v, list):
        return [norm_py(x) for x in v]
    if isinstance(v, datetime.datetime):
        return when(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, ManagedMethod):
        return v.info.wsdlName
    if isinstance(v, type):
        return getattr(v, "_wsdlName", v.__name__)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def norm_json(v):
    """A VI/JSON value in norm_py's shape."""
    if isinstance(v, dict):
        if v.get("_typeName") == "ManagedObjectReference":
            return {"type": v["type"], "value": v["value"]}
        if "_value" in v:
            return norm_json(v["_value"])
        d = {"_type": v.get("_typeName")} if "_typeName" in v else {}
        for k, x in v.items():
            if k == "_typeName" or k in SKIP:
                continue
            val = norm_json(x)
            if not empty(val):
                d[k] = val
        return d
    if isinstance(v, list):
        return [norm_json(x) for x in v]
    if isinstance(v, str) and ISO.match(v):
        parsed = Iso8601.ParseISO8601(v)
        return when(parsed) if parsed else v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def loose(v):
    """Without vim type names: VI/JSON leaves a value's type out where it is the declared one,
    so types are compared only where both doors name one (see same())."""
    if isinstance(v, dict):
        return {k: loose(x) for k, x in v.items() if k != "_type"}
    if isinstance(v, list):
        return [loose(x) for x in v]
    return v


def same(soap, js):
    """Equal, where pyVmomi's defaults for required members VI/JSON leaves out (false, 0) count
    as left out: pyVmomi fills them in, the server did not send them."""
    if isinstance(soap, dict) and isinstance(js, dict):
        for k in set(soap) | set(js):
            if k in soap and k in js:
                if not same(soap[k], js[k]):
                    return False
            elif k in js or soap[k] not in (False, 0):
                return False
        return True
    if isinstance(soap, list) and isinstance(js, list):
        return len(soap) == len(js) and all(same(a, b) for a, b in zip(soap, js))
    return soap == js


def type_conflicts(a, b, path=""):
    """Where both values name a vim type and the names differ."""
    found = []
    if isinstance(a, dict) and isinstance(b, dict):
        if "_type" in a and "_type" in b and a["_type"] != b["_type"]:
            found.append("%s: %s vs %s" % (path or ".", a["_type"], b["_type"]))
        for k in set(a) & set(b):
            found += type_conflicts(a[k], b[k], path + "." + k)
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found += type_conflicts(x, y, "%s[%d]" % (path, i))
    return found


class Json:
    """VI/JSON on the same server, in the SOAP session (its cookie is the session id)."""

    def __init__(self, host, port, release, session, user_agent):
        self.conn = http.client.HTTPSConnection(
            host, port, context=ssl._create_unverified_context()
        )
        self.base = "/sdk/vim25/%s/" % release
        self.session = session
        self.user_agent = user_agent

    def get(self, mo_type, moid, prop):
        return self.request("GET", mo_type, moid, prop, None)

    def post(self, mo_type, moid, method):
        return self.request("POST", mo_type, moid, method, b"{}")

    def request(self, verb, mo_type, moid, name, body):
        path = self.base + "/".join(urllib.parse.quote(p, safe="") for p in (mo_type, moid, name))
        # pyVmomi's User-Agent: UserSession.userAgent is read from the request.
        headers = {"vmware-api-session-id": self.session, "User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(verb, path, body=body, headers=headers)
        r = self.conn.getresponse()
        body = r.read()
        v = json.loads(body) if body else None
        if r.status == 200 or r.status == 204:
            return ("ok", norm_json(v))
        return ("fault", (v or {}).get("_typeName", "HTTP %d" % r.status))


def pyvmomi_user_agent():
    from pyVmomi import SoapAdapter as sa

    return "pyvmomi {0} {1} Python/{2} ({3}; {4}; {5})".format(
        sa.version_info_str, sa.kind, sa.PYTHON_VERSION, sa.OS_NAME, sa.OS_VERSION, sa.OS_ARCH
    )


def read_soap(obj, prop):
    try:
        return ("ok", norm_py(getattr(obj, prop)))
    except vmodl.MethodFault as e:
        return ("fault", vim_name(e))
    except Exception as e:  # noqa: BLE001 - what pyVmomi could not read
        return ("client", "%s: %s" % (type(e).__name__, e))


def compare(doors, obj, label):
    t = type(obj)
    for p in t._GetPropertyList():
        soap = read_soap(obj, p.name)
        js = doors.get(obj._wsdlName, obj._moId, p.name)
        read = {"object": label, "prop": p.name, "soap": soap[0], "json": js[0]}
        out["reads"].append(read)
        where = "%s.%s" % (label, p.name)
        if soap[0] == "client":
            out["client_errors"].append("%s: %s" % (where, soap[1]))
            continue
        if soap[0] != js[0]:
            out["mismatches"].append("%s: SOAP %s %s, VI/JSON %s %s" % (where, soap[0], soap[1], js[0], js[1]))
        elif soap[0] == "fault":
            read["fault"] = soap[1]
            if soap[1] != js[1]:
                out["mismatches"].append("%s: SOAP fault %s, VI/JSON fault %s" % (where, soap[1], js[1]))
        else:
            if not same(loose(soap[1]), loose(js[1])):
                out["mismatches"].append(
                    "%s: values differ\n  SOAP    %s\n  VI/JSON %s"
                    % (where, json.dumps(soap[1], sort_keys=True), json.dumps(js[1], sort_keys=True))
                )
            for c in type_conflicts(soap[1], js[1]):
                out["mismatches"].append("%s: vim type %s" % (where, c))


def call_soap(obj, info):
    """The method called with none of its arguments (pyVmomi itself would insist on them)."""
    try:
        obj._stub.InvokeMethod(obj, info, ())
        return ("ok", None)
    except vmodl.MethodFault as e:
        return ("fault", vim_name(e))
    except Exception as e:  # noqa: BLE001 - what pyVmomi could not read
        return ("client", "%s: %s" % (type(e).__name__, e))


def compare_calls(doors, obj, label):
    for info in type(obj)._methodInfo.values():
        if all(p.flags & F_OPTIONAL for p in info.params):
            continue  # nothing required: the call could act
        soap = call_soap(obj, info)
        js = doors.post(obj._wsdlName, obj._moId, info.wsdlName)
        where = "%s.%s()" % (label, info.wsdlName)
        out["calls"].append({"object": label, "method": info.wsdlName, "soap": soap[1], "json": js[1]})
        if soap[0] == "client":
            out["client_errors"].append("%s: %s" % (where, soap[1]))
        elif soap != js:
            out["mismatches"].append("%s: SOAP %s %s, VI/JSON %s %s" % (where, soap[0], soap[1], js[0], js[1]))


def main():
    server, user, password, fleet_file = sys.argv[1:5]
    fleet = json.load(open(fleet_file))
    host, port = server.rsplit(":", 1)
    port = int(port)
    si = SmartConnect(host=host, port=port, user=user, pwd=password, disableSslCertValidation=True)
    content = si.RetrieveContent()
    release = si._stub.versionId.strip('"').split("/")[-1]
    doors = Json(host, port, release, si._stub.GetSessionId(), pyvmomi_user_agent())

    dc = content.rootFolder.CreateDatacenter(name="DC0")
    cluster = dc.hostFolder.CreateClusterEx(
        name="C0",
        spec=vim.cluster.ConfigSpecEx(
            drsConfig=vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="fullyAutomated")
        ),
    )
    tasks = [
        cluster.AddHost_Task(
            spec=vim.host.ConnectSpec(
                hostName=h["address"], port=h["port"], userName="root",
                password=fleet["root_password"], sslThumbprint=h["thumbprint"], force=False,
            ),
            asConnected=True,
        )
        for h in fleet["hosts"]
    ]
    results = []
    WaitForTasks(tasks, results=results)
    hosts = sorted(cluster.host, key=lambda h: h._moId)
    vms = [vm for h in hosts for vm in h.vm]
    # One VM powered off, one moved: state for the reads to show.
    step("power_off", lambda: WaitForTask(vms[0].PowerOffVM_Task()))
    step(
        "migrate",
        lambda: WaitForTask(
            vms[-1].MigrateVM_Task(host=hosts[0], priority="defaultPriority")
        ),
    )
    out["tasks_waited"] = len(results)

    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    objects = [
        ("ServiceInstance", si),
        ("rootFolder", content.rootFolder),
        ("datacenter", dc),
        ("hostFolder", dc.hostFolder),
        ("vmFolder", dc.vmFolder),
        ("datastoreFolder", dc.datastoreFolder),
        ("networkFolder", dc.networkFolder),
        ("cluster", cluster),
        ("resourcePool", cluster.resourcePool),
        ("host", hosts[0]),
        ("vm", vms[0]),
        ("task", tasks[0]),
        ("sessionManager", content.sessionManager),
        ("propertyCollector", content.propertyCollector),
        ("taskManager", content.taskManager),
        ("eventManager", content.eventManager),
        ("viewManager", content.viewManager),
        ("containerView", view),
    ]
    for label, obj in [("datastore", d) for d in hosts[0].datastore[:1]] + [
        ("network", n) for n in hosts[0].network[:1]
    ]:
        objects.append((label, obj))
    for name in ("customFieldsManager", "alarmManager"):
        mo = getattr(content, name)
        if mo is not None:
            objects.append((name, mo))
    out["objects"] = [label for label, _ in objects]
    for label, obj in objects:
        step("read " + label, lambda: compare(doors, obj, label))
    for label, obj in objects:
        step("call " + label, lambda: compare_calls(doors, obj, label))

    # Whole objects at once: RetrievePropertiesEx with all=True through the view.
    def retrieve_all():
        PC = vmodl.query.PropertyCollector
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[
                PC.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)
            ])],
            propSet=[PC.PropertySpec(type=vim.HostSystem, all=True)],
        )
        r = content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        out["retrieve_all"] = {
            "objects": len(r.objects),
            "props": sorted({p.name for oc in r.objects for p in oc.propSet}),
            "missing": sorted({m.path + ":" + vim_name(m.fault) for oc in r.objects for m in oc.missingSet}),
        }

    step("retrieve_all", retrieve_all)

    # Events and tasks as a monitoring script reads them.
    def events():
        evs = content.eventManager.QueryEvents(vim.event.EventFilterSpec())
        out["event_types"] = sorted({vim_name(e) for e in evs})
        out["recent_tasks"] = sorted({t.info.descriptionId for t in content.taskManager.recentTask})

    step("events", events)
    view.DestroyView()
    Disconnect(si)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
