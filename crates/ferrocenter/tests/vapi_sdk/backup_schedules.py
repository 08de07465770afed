"""Drives ferrocenter's backup schedules with the unmodified official vSphere Automation SDK
for Python (`com.vmware.appliance.recovery.backup_client.Schedules`), as the management guide's
"Schedule a Backup Job" example does: create, get, list, update, run (followed through
`backup_client.Job`), refusals, delete.

Usage: backup_schedules.py SERVER USER PASSWORD LOCATION
LOCATION is an absolute directory on the server's machine (a PATH location). Prints one JSON
object with what the SDK saw; a refused call records its fault's class name and field.
"""
import json
import sys
import time

from com.vmware.appliance.recovery.backup_client import Job, Schedules

from sdk_session import appliance_stub


def refused(f):
    """Runs f; None when it succeeds, else the fault's class and the argument it names."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        messages = getattr(e, "messages", None) or [None]
        args = messages[0].args if messages[0] is not None else []
        return [type(e).__name__, args[0] if args else str(e)]


def info(i):
    return {
        "parts": sorted(i.parts),
        "location": i.location,
        "location_user": i.location_user,
        "enable": i.enable,
        "time": None
        if i.recurrence_info is None
        else [i.recurrence_info.hour, i.recurrence_info.minute],
        "days": None
        if i.recurrence_info is None or i.recurrence_info.days is None
        else [str(d) for d in i.recurrence_info.days],
        "max_count": None if i.retention_info is None else i.retention_info.max_count,
    }


def main():
    server, user, password, location = sys.argv[1:5]
    out = {}
    with appliance_stub(server, user, password) as stub:
        schedules = Schedules(stub)
        create_spec = Schedules.CreateSpec(
            location=location,
            backup_password="Archive-Pass-1",
            recurrence_info=Schedules.RecurrenceInfo(
                days=[Schedules.DayOfWeek.MONDAY, Schedules.DayOfWeek.FRIDAY],
                hour=2,
                minute=30,
            ),
            retention_info=Schedules.RetentionInfo(max_count=3),
        )
        schedules.create("nightly", create_spec)
        out["get"] = info(schedules.get("nightly"))
        out["list"] = {k: info(v) for k, v in schedules.list().items()}
        out["create_again"] = refused(lambda: schedules.create("nightly", create_spec))
        out["bad_hour"] = refused(
            lambda: schedules.create(
                "other",
                Schedules.CreateSpec(
                    location=location,
                    recurrence_info=Schedules.RecurrenceInfo(hour=24, minute=0),
                ),
            )
        )
        out["bad_location"] = refused(
            lambda: schedules.create(
                "other", Schedules.CreateSpec(location="gopher://example/backups")
            )
        )
        out["bad_max_count"] = refused(
            lambda: schedules.update(
                "nightly",
                Schedules.UpdateSpec(retention_info=Schedules.RetentionInfo(max_count=0)),
            )
        )
        schedules.update(
            "nightly",
            Schedules.UpdateSpec(
                enable=False,
                recurrence_info=Schedules.RecurrenceInfo(hour=23, minute=5),
                retention_info=Schedules.RetentionInfo(max_count=1),
            ),
        )
        out["after_update"] = info(schedules.get("nightly"))
        status = schedules.run("nightly", comment="from the SDK")
        out["run_state"] = str(status.state)
        job = Job(stub)
        for _ in range(600):
            status = job.get(status.id)
            if str(status.state) != "INPROGRESS":
                break
            time.sleep(0.1)
        out["run_end"] = str(status.state)
        out["run_messages"] = [m.default_message for m in status.messages]
        out["missing"] = refused(lambda: schedules.get("nobody"))
        out["run_missing"] = refused(lambda: schedules.run("nobody"))
        schedules.delete("nightly")
        out["list_after_delete"] = sorted(schedules.list().keys())
        out["delete_missing"] = refused(lambda: schedules.delete("nightly"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
