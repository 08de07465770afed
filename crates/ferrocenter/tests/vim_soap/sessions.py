"""Sessions, collector waits and task faults through the SOAP door with the unmodified pyVmomi.

Usage: sessions.py SERVER USER PASSWORD FLEET_JSON
FLEET_JSON: {"hosts": [{"address", "port", "thumbprint"}], "root_password": ...} (one host whose
VM is powered on, in a manual cluster, so maintenance waits)
Prints one JSON object; unexpected exceptions are recorded under "errors" by step, faults that
are the point of a step by their vim type name.
"""
import datetime
import json
import ssl
import sys
import threading
import time
import traceback

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import SoapStubAdapter, vim, vmodl

PC = vmodl.query.PropertyCollector
out = {"errors": {}}


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


def fault_of(fn):
    try:
        fn()
    except vmodl.MethodFault as e:
        return vim_name(e)
    return "no fault"


def main():
    server, user, password, fleet_file = sys.argv[1:5]
    fleet = json.load(open(fleet_file))
    host, port = server.rsplit(":", 1)
    port = int(port)
    si = SmartConnect(host=host, port=port, user=user, pwd=password, disableSslCertValidation=True)
    content = si.RetrieveContent()
    sm = content.sessionManager

    def second_stub():
        stub = SoapStubAdapter(
            host=host, port=port, version=si._stub.version,
            sslContext=ssl._create_unverified_context(),
        )
        return vim.ServiceInstance("ServiceInstance", stub)

    def clock():
        now = si.CurrentTime()
        skew = abs((now - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
        out["clock_skew_under_a_minute"] = skew < 60

    step("clock", clock)

    # A clone ticket logs a second connection in once; the session can be checked and ended.
    def clone():
        ticket = sm.AcquireCloneTicket()
        other = second_stub()
        session = other.content.sessionManager.CloneSession(cloneTicket=ticket)
        out["clone"] = {
            "user": session.userName,
            "same_key": session.key == sm.currentSession.key,
            "ticket_again": fault_of(
                lambda: second_stub().content.sessionManager.CloneSession(cloneTicket=ticket)
            ),
            "active": sm.SessionIsActive(sessionID=session.key, userName=user),
        }
        sm.TerminateSession(sessionId=[session.key])
        out["clone"]["active_after_terminate"] = sm.SessionIsActive(
            sessionID=session.key, userName=user
        )
        out["clone"]["current_after_terminate"] = other.content.sessionManager.currentSession
        out["clone"]["call_after_terminate"] = fault_of(
            lambda: other.content.rootFolder.childEntity
        )

    step("clone", clone)

    dc = content.rootFolder.CreateDatacenter(name="DC0")
    cluster = dc.hostFolder.CreateClusterEx(
        name="C0",
        spec=vim.cluster.ConfigSpecEx(
            drsConfig=vim.cluster.DrsConfigInfo(enabled=True, defaultVmBehavior="manual")
        ),
    )
    h = fleet["hosts"][0]
    task = cluster.AddHost_Task(
        spec=vim.host.ConnectSpec(
            hostName=h["address"], port=h["port"], userName="root",
            password=fleet["root_password"], sslThumbprint=h["thumbprint"], force=False,
        ),
        asConnected=True,
    )
    WaitForTask(task)
    hs = task.info.result
    vm = hs.vm[0]

    # Task faults: Timedout (a manual cluster moves nothing), RequestCanceled (CancelTask).
    def timed_out():
        t = hs.EnterMaintenanceMode_Task(timeout=1)
        out["timedout"] = fault_of(lambda: WaitForTask(t))
        out["timedout_in_maintenance"] = hs.runtime.inMaintenanceMode

    step("timedout", timed_out)

    def cancelled():
        t = hs.EnterMaintenanceMode_Task(timeout=0)
        out["cancelable"] = t.info.cancelable
        t.CancelTask()
        out["cancelled"] = fault_of(lambda: WaitForTask(t))
        out["cancelled_flag"] = t.info.cancelled
        out["cancel_again"] = fault_of(lambda: t.CancelTask())

    step("cancelled", cancelled)

    # Bad arguments name the field.
    def bad_args():
        try:
            hs.ReconnectHost_Task(cnxSpec=vim.host.ConnectSpec(port=70000, force=False))
            out["bad_port"] = "accepted"
        except vmodl.fault.InvalidArgument as e:
            out["bad_port"] = [vim_name(e), e.invalidProperty]
        try:
            hs.Rename_Task(newName="")
            out["bad_name"] = "accepted"
        except vmodl.MethodFault as e:
            out["bad_name"] = [vim_name(e), getattr(e, "name", None)]
        WaitForTask(hs.Rename_Task(newName="renamed-by-pyvmomi"))
        out["renamed"] = hs.name

    step("bad_args", bad_args)

    # CancelWaitForUpdates ends a wait in another thread with RequestCanceled; an old version
    # is InvalidCollectorVersion.
    def waits():
        pc = content.propertyCollector.CreatePropertyCollector()
        pc.CreateFilter(
            PC.FilterSpec(
                objectSet=[PC.ObjectSpec(obj=vm, skip=False)],
                propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
            ),
            False,
        )
        version = pc.WaitForUpdatesEx("", PC.WaitOptions(maxWaitSeconds=5)).version
        seen = {}

        def wait():
            try:
                pc.WaitForUpdatesEx(version, PC.WaitOptions(maxWaitSeconds=30))
                seen["result"] = "returned"
            except vmodl.MethodFault as e:
                seen["result"] = vim_name(e)

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        # A cancel only ends a wait in progress: repeat it until the waiter has been reached.
        for _ in range(50):
            time.sleep(0.2)
            pc.CancelWaitForUpdates()
            waiter.join(0.2)
            if not waiter.is_alive():
                break
        out["cancel_wait"] = seen.get("result", "still waiting")
        out["old_version"] = fault_of(lambda: pc.WaitForUpdatesEx("0", PC.WaitOptions()))
        pc.Destroy()
        out["destroyed_collector"] = fault_of(lambda: pc.filter)

    step("waits", waits)

    # Logout ends the session: the next call needs one.
    def logout():
        other = SmartConnect(
            host=host, port=port, user=user, pwd=password, disableSslCertValidation=True
        )
        other_sm = other.content.sessionManager
        other_sm.Logout()
        out["after_logout"] = fault_of(lambda: other.content.rootFolder.childEntity)

    step("logout", logout)

    # SmartConnect(sessionId=…) joins a session without logging in: pyVmomi sends the id as
    # the cookie's quoted value.
    def reuse():
        again = SmartConnect(
            host=host, port=port, sessionId=si._stub.GetSessionId(),
            disableSslCertValidation=True,
        )
        out["reused"] = {
            "user": again.content.sessionManager.currentSession.userName,
            "same_key": again.content.sessionManager.currentSession.key
            == sm.currentSession.key,
        }

    step("reuse", reuse)
    Disconnect(si)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
