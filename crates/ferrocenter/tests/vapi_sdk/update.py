"""Drives ferrocenter's update service with the unmodified official vSphere Automation SDK for
Python (`com.vmware.appliance.update_client.Pending` and `Staged`, `appliance_client.Update`).

Usage: update.py SERVER USER PASSWORD
Checks the LOCAL source, reads, prechecks and validates the update found, stages it, waits for
the stage through `Update.get`, reads the staged update, deletes it and reads again. Prints one
JSON object with what each call answered.
"""
import json
import sys
import time

from com.vmware.appliance.update_client import Pending, Staged
from com.vmware.appliance_client import Update
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def main():
    server, user, password = sys.argv[1:4]
    out = {}
    with appliance_stub(server, user, password) as stub_config:
        pending = Pending(stub_config)
        staged = Staged(stub_config)
        update = Update(stub_config)
        found = pending.list(Pending.SourceType.LOCAL)
        out["list"] = [{"version": s.version, "size": s.size, "severity": str(s.severity)}
                       for s in found]
        version = found[0].version
        info = pending.get(version)
        out["get"] = {"name": info.name, "staged": info.staged,
                      "services": len(info.services_will_be_stopped)}
        check = pending.precheck(version)
        out["precheck"] = {"reboot_required": check.reboot_required,
                           "warnings": [w.message.default_message
                                        for w in (check.issues.warnings or [])]}
        notes = pending.validate(version, {"bogus.key": "x"})
        out["validate"] = [e.message.default_message for e in (notes.errors or [])]
        pending.stage(version)
        for _ in range(300):
            u = update.get()
            if str(u.state) != "STAGE_IN_PROGRESS" and u.task is not None \
                    and str(u.task.status) in ("SUCCEEDED", "FAILED"):
                break
            time.sleep(0.1)
        out["update"] = {"state": str(u.state), "version": u.version,
                         "task": str(u.task.status), "subtasks": list(u.task.subtask_order)}
        s = staged.get()
        out["staged"] = {"version": s.version, "complete": s.staging_complete}
        staged.delete()
        try:
            staged.get()
            out["after_delete"] = None
        except Error as e:
            out["after_delete"] = type(e).__name__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
