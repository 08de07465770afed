"""Installs an update with the unmodified official vSphere Automation SDK for Python
(`com.vmware.appliance.update_client.Pending.stage_and_install`, `appliance_client.Update`).

Usage: update_install.py SERVER USER PASSWORD SSO_PASSWORD SKIP_BACKUP
Checks the LOCAL source, reads the precheck's questions, validates the SSO administrator's
password as `vmdir.password` (and `backup.skip` as SKIP_BACKUP), stages and installs the update found in one call, then follows
`Update.get` through the server's restart (a new session each poll: sessions end with the
process) until the install has ended. Prints one JSON object with what each call answered.
"""
import json
import sys
import time

from com.vmware.appliance.update_client import Pending
from com.vmware.appliance_client import Update

from sdk_session import appliance_stub


def main():
    server, user, password, sso_password, skip_backup = sys.argv[1:6]
    out = {}
    answers = {"vmdir.password": sso_password, "backup.skip": skip_backup}
    with appliance_stub(server, user, password) as stub_config:
        pending = Pending(stub_config)
        version = pending.list(Pending.SourceType.LOCAL)[0].version
        check = pending.precheck(version)
        out["questions"] = [{"data_item": q.data_item, "type": str(q.type)}
                            for q in check.questions]
        notes = pending.validate(version, answers)
        out["validate_errors"] = len(notes.errors or [])
        pending.stage_and_install(version, answers)
    seen = []
    for _ in range(600):
        try:
            with appliance_stub(server, user, password) as stub_config:
                u = Update(stub_config).get()
            state = str(u.state)
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in ("UP_TO_DATE", "INSTALL_FAILED") and u.task is not None \
                    and str(u.task.status) in ("SUCCEEDED", "FAILED"):
                out["state"] = state
                out["version"] = u.version
                out["task"] = str(u.task.status)
                out["error"] = (u.task.error.messages[0].default_message
                                if u.task.error is not None else None)
                break
        except Exception as e:  # the server restarts: refused connections, ended sessions
            if not seen or seen[-1] != "unreachable":
                seen.append("unreachable")
        time.sleep(0.2)
    out["states"] = seen
    print(json.dumps(out))


if __name__ == "__main__":
    main()
