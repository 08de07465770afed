"""Reads ferrocenter's appliance health with the unmodified official vSphere Automation SDK for
Python, as the management guide's chapter 6 example does (`health_client.System(stub).get()`).

Usage: health.py SERVER USER PASSWORD
Prints one JSON object with what the SDK saw. Every read must succeed; the settings update is
tried and either succeeds (then undone) or its fault's class name is recorded.
"""
import json
import sys
import warnings
from datetime import datetime, timezone

from com.vmware.appliance import health_client
from com.vmware.appliance_client import Health, HealthCheckSettings
from com.vmware.vapi.std.errors_client import NotFound, Unauthorized

from sdk_session import appliance_stub

ITEMS = [
    "system",
    "load",
    "mem",
    "swap",
    "storage",
    "databasestorage",
    "database",
    "softwarepackages",
    "applmgmt",
]


def text(m):
    return None if m is None else {"id": m.id, "default_message": m.default_message}


def main():
    server, user, password = sys.argv[1:4]
    # HealthCheckSettings is deprecated in 9.1 and warns; the warning is not the point here.
    warnings.simplefilter("ignore", DeprecationWarning)
    out = {}
    with appliance_stub(server, user, password) as stub:
        # One evaluation answers for 10 s; reading everything again when the reads straddled
        # two makes every answer come from one evaluation, so they can be compared.
        for _ in range(3):
            system = health_client.System(stub)
            first = system.lastcheck()
            out["system"] = str(system.get())
            for name, cls in [
                ("load", health_client.Load),
                ("mem", health_client.Mem),
                ("swap", health_client.Swap),
                ("storage", health_client.Storage),
                ("databasestorage", health_client.Databasestorage),
                ("softwarepackages", health_client.Softwarepackages),
                ("applmgmt", health_client.Applmgmt),
            ]:
                out[name] = str(cls(stub).get())
            db = health_client.Database(stub).get()
            out["database"] = {
                "status": str(db.status),
                "messages": [
                    {"severity": str(m.severity), "message": text(m.message)}
                    for m in db.messages
                ],
            }
            health = Health(stub)
            out["messages"] = {
                item: [
                    {
                        "id": n.id,
                        "time": None if n.time is None else n.time.isoformat(),
                        "message": text(n.message),
                        "resolution": text(n.resolution),
                    }
                    for n in health.messages(item)
                ]
                for item in ITEMS + ["database-storage", "software-packages"]
            }
            try:
                health.messages("nosuch")
                out["unknown_item"] = "answered"
            except NotFound as e:
                out["unknown_item"] = "NotFound: " + e.messages[0].default_message
            last = system.lastcheck()
            if last == first:
                break
        out["same_evaluation"] = last == first
        when = last if last.tzinfo else last.replace(tzinfo=timezone.utc)
        out["lastcheck_age_s"] = (datetime.now(timezone.utc) - when).total_seconds()

        settings = HealthCheckSettings(stub)
        before = settings.get()
        out["settings_before"] = {
            "manual": before.db_health_check_state_manual_backup,
            "scheduled": before.db_health_check_state_scheduled_backup,
        }
        try:
            settings.update(
                HealthCheckSettings.UpdateSpec(
                    db_health_check_state_manual_backup=not before.db_health_check_state_manual_backup
                )
            )
            after = settings.get()
            out["settings_after"] = {
                "manual": after.db_health_check_state_manual_backup,
                "scheduled": after.db_health_check_state_scheduled_backup,
            }
            settings.update(
                HealthCheckSettings.UpdateSpec(
                    db_health_check_state_manual_backup=before.db_health_check_state_manual_backup
                )
            )
            out["settings_update"] = "ok"
        except Unauthorized:
            out["settings_update"] = "Unauthorized"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
