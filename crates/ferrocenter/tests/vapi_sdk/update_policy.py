"""Drives ferrocenter's update policy with the unmodified official vSphere Automation SDK for
Python (`com.vmware.appliance.update_client.Policy`).

Usage: update_policy.py SERVER USER PASSWORD
Sets a policy with a login and the guide's schedule, reads it back, then tries a schedule with
an hour out of range. Prints one JSON object: what `get` answered after the set (`got`), and the
error class and message of the bad set (`bad`).
"""
import json
import sys

from com.vmware.appliance.update_client import Policy
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def times(schedule):
    return [{"day": t.day, "hour": t.hour, "minute": t.minute} for t in schedule]


def main():
    server, user, password = sys.argv[1:4]
    out = {}
    with appliance_stub(server, user, password) as stub_config:
        policy = Policy(stub_config)
        policy.set(
            Policy.Config(
                custom_url="https://updates.example.test/ferrocenter",
                username="mirror",
                password="Mirror-Secret-77",
                check_schedule=[
                    Policy.Time(day=Policy.DayOfWeek.FRIDAY, hour=23, minute=30),
                    Policy.Time(day=Policy.DayOfWeek.SATURDAY, hour=12, minute=30),
                ],
                auto_stage=True,
                certificate_check=False,
            )
        )
        info = policy.get()
        out["got"] = {
            "custom_URL": info.custom_url,
            "default_URL": info.default_url,
            "username": info.username,
            "check_schedule": times(info.check_schedule),
            "auto_stage": info.auto_stage,
            "auto_update": info.auto_update,
            "manual_control": info.manual_control,
            "certificate_check": info.certificate_check,
        }
        try:
            policy.set(
                Policy.Config(
                    check_schedule=[Policy.Time(day=Policy.DayOfWeek.MONDAY, hour=24, minute=0)],
                    auto_stage=False,
                )
            )
            out["bad"] = {"class": None}
        except Error as e:
            out["bad"] = {"class": type(e).__name__, "message": e.messages[0].default_message}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
