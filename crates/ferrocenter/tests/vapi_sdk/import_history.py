"""Drives the deferred history import with the unmodified official vSphere Automation SDK for
Python (`com.vmware.vcenter.deployment_client.ImportHistory`), as the management guide's
vc_import_history_sample.py does: read the status, then pause a RUNNING import and resume a
paused one.

Usage: import_history.py SERVER USER PASSWORD PHASE
PHASE `run`: get (PENDING), start with a spec, pause, resume, wait for the end.
PHASE `cancel`: start without a spec, cancel, then resume (refused).
Prints one JSON object with what the SDK saw; a refused call records its fault's class name.
"""
import json
import sys
import time

from com.vmware.cis.task_client import Status
from com.vmware.vcenter.deployment_client import ImportHistory

from sdk_session import appliance_stub


def refused(f):
    """Runs f; None when it succeeds, else the fault's class name."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        return type(e).__name__


def seen(info):
    """What an ImportHistory.Info holds, as plain JSON."""
    out = {
        "status": str(info.status),
        "description": info.description.default_message,
        "service": info.service,
        "cancelable": info.cancelable,
        "has_start_time": info.start_time is not None,
        "has_end_time": info.end_time is not None,
    }
    if info.progress is not None:
        out["total"] = info.progress.total
        out["completed"] = info.progress.completed
        out["progress_message"] = info.progress.message.default_message
    if info.result is not None:
        for kind in ("info", "warnings", "errors"):
            notes = getattr(info.result, kind)
            if notes:
                out[kind] = [n.message.default_message for n in notes]
    if info.error is not None:
        out["error"] = type(info.error).__name__
    return out


def main():
    server, user, password, phase = sys.argv[1:5]
    out = {}
    with appliance_stub(server, user, password) as stub:
        history = ImportHistory(stub)
        if phase == "run":
            out["before"] = seen(history.get())
            out["pause_pending"] = refused(history.pause)
            history.start(
                ImportHistory.CreateSpec(name="sdk-import", description="History by the SDK")
            )
            out["started"] = seen(history.get())
            out["start_again"] = refused(history.start)
            # The guide's sample: pause a RUNNING import, resume a paused one.
            if history.get().status == Status.RUNNING:
                history.pause()
            out["paused"] = seen(history.get())
            out["pause_again"] = refused(history.pause)
            if history.get().status == Status.BLOCKED:
                history.resume()
            for _ in range(1200):
                info = history.get()
                if info.status != Status.RUNNING:
                    break
                time.sleep(0.1)
            out["ended"] = seen(history.get())
            out["resume_ended"] = refused(history.resume)
        else:
            history.start()
            out["started"] = seen(history.get())
            history.cancel()
            out["cancelled"] = seen(history.get())
            out["resume_cancelled"] = refused(history.resume)
            out["cancel_again"] = refused(history.cancel)
    print(json.dumps(out))


main()
