"""Drives ferrocenter's infrastructure profiles with the unmodified official vSphere Automation
SDK for Python (`com.vmware.appliance.infraprofile_client.Configs`), as the management guide's
"Performing Infrastructure Profile Management Operations": server A is configured (firewall
rules, syslog receivers, the local accounts' password policy, a backup schedule with a
backup password), its
profiles are exported, validated on server B (`validate_task`), and imported there
(`import_profile_task`); then broken documents are validated and refused.

Usage: infraprofile.py SERVER_A SERVER_B USER PASSWORD LOCATION
Prints one JSON object with what the SDK saw.
"""
import json
import sys
import time

from com.vmware.appliance.infraprofile_client import Configs
from com.vmware.appliance.local_accounts_client import Policy
from com.vmware.appliance.logging_client import Forwarding
from com.vmware.appliance.networking.firewall_client import Inbound
from com.vmware.appliance.recovery.backup_client import Schedules
from com.vmware.cis.task_client import Status

from sdk_session import appliance_stub

BACKUP_PASSWORD = "Archive-Pass-1"
PROFILE_KEY = "Profile-Key-1"


def refused(f):
    """Runs f; None when it succeeds, else the fault's class and the argument it names."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        messages = getattr(e, "messages", None) or [None]
        args = messages[0].args if messages[0] is not None else []
        text = messages[0].default_message if messages[0] is not None else str(e)
        return [type(e).__name__, args[0] if args else text]


def settings(stub):
    """The settings the profiles carry, as the SDK reads them."""
    p = Policy(stub).get()
    schedules = Schedules(stub)
    return {
        "firewall": [
            [r.address, r.prefix, str(r.policy), r.interface_name]
            for r in Inbound(stub).get()
        ],
        "policy": [p.max_days, p.min_days, p.warn_days, p.minimum_length],
        "syslog": [
            [c.hostname, c.port, str(c.protocol)] for c in Forwarding(stub).get()
        ],
        "schedules": {
            k: {
                "parts": sorted(v.parts),
                "location": v.location,
                "enable": v.enable,
                "time": [v.recurrence_info.hour, v.recurrence_info.minute],
                "days": sorted(str(d) for d in v.recurrence_info.days or []),
                "max_count": v.retention_info.max_count,
            }
            for k, v in schedules.list().items()
        },
    }


def wait(task):
    """Polls the task (`cis.tasks.get`) until it ends; its last info."""
    for _ in range(1200):
        info = task.get_info()
        if info.status in (Status.SUCCEEDED, Status.FAILED):
            return info
        time.sleep(0.05)
    raise TimeoutError(task.get_task_id())


def finished(task):
    """Waits for a task; its status and result (or error message)."""
    info = wait(task)
    if info.status == Status.SUCCEEDED:
        return ["SUCCEEDED", task.get_result()]
    err = info.error
    messages = getattr(err, "messages", None) or []
    return ["FAILED", messages[0].default_message if messages else str(err)]


def validation(result):
    n = result.notifications
    return {
        "status": str(result.status),
        "errors": [m.message.default_message for m in n.errors or []],
        "warnings": [m.message.default_message for m in n.warnings or []],
        "info": [m.message.default_message for m in n.info or []],
    }


def main():
    server_a, server_b, user, password, location = sys.argv[1:6]
    out = {}
    with appliance_stub(server_a, user, password) as a, appliance_stub(
        server_b, user, password
    ) as b:
        Inbound(a).set(
            [
                Inbound.Rule(address="10.9.8.0", prefix=24, policy=Inbound.Policy("REJECT")),
                Inbound.Rule(address="10.9.7.5", prefix=32, policy=Inbound.Policy("ACCEPT")),
            ]
        )
        Forwarding(a).set(
            [
                Forwarding.Config(
                    hostname="127.0.0.1", port=5514, protocol=Forwarding.Protocol.UDP
                ),
                Forwarding.Config(
                    hostname="logs.example.com", port=6514, protocol=Forwarding.Protocol.TLS
                ),
            ]
        )
        p = Policy(a).get()
        p.max_days = 60
        p.min_days = 1
        p.warn_days = 5
        Policy(a).set(p)
        Schedules(a).create(
            "nightly",
            Schedules.CreateSpec(
                location=location,
                backup_password=BACKUP_PASSWORD,
                recurrence_info=Schedules.RecurrenceInfo(
                    days=[Schedules.DayOfWeek.TUESDAY], hour=1, minute=15
                ),
                retention_info=Schedules.RetentionInfo(max_count=4),
            ),
        )
        out["a"] = settings(a)
        out["b_before"] = settings(b)

        configs_a = Configs(a)
        out["list"] = [[i.name, i.info] for i in configs_a.list()]
        out["export_without_key"] = refused(lambda: configs_a.export())
        out["export_unknown_profile"] = refused(
            lambda: configs_a.export(Configs.ProfilesSpec(profiles={"Nonesuch"}))
        )
        doc = configs_a.export(
            Configs.ProfilesSpec(encryption_key=PROFILE_KEY, description="from A")
        )
        out["document"] = json.loads(doc)
        out["secret_in_clear"] = BACKUP_PASSWORD in doc

        configs_b = Configs(b)
        key = Configs.ProfilesSpec(encryption_key=PROFILE_KEY)

        def validate(text, spec=key):
            t = configs_b.validate_task(
                Configs.ImportProfileSpec(config_spec=text, profile_spec=spec)
            )
            wait(t)
            return validation(t.get_result())
        out["validate"] = validate(doc)

        # Broken documents: validation says what is wrong, the import is refused whole.
        d = json.loads(doc)
        d["schema_version"] = 99
        wrong_schema = json.dumps(d)
        d = json.loads(doc)
        d["profiles"]["ApplianceManagement"]["firewall_inbound"][1]["prefix"] = 40
        d["profiles"]["AuthManagement"]["local_accounts_policy"]["max_days"] = -3
        out_of_range = json.dumps(d)

        out["validate_wrong_schema"] = validate(wrong_schema)
        out["validate_out_of_range"] = validate(out_of_range)
        out["validate_without_key"] = validate(doc, None)
        out["validate_wrong_key"] = validate(
            doc, Configs.ProfilesSpec(encryption_key="Not-The-Key-9")
        )
        out["import_out_of_range"] = finished(
            configs_b.import_profile_task(
                Configs.ImportProfileSpec(config_spec=out_of_range, profile_spec=key)
            )
        )
        out["import_wrong_schema"] = finished(
            configs_b.import_profile_task(
                Configs.ImportProfileSpec(config_spec=wrong_schema, profile_spec=key)
            )
        )
        out["b_after_refusals"] = settings(b)

        out["import"] = finished(
            configs_b.import_profile_task(
                Configs.ImportProfileSpec(config_spec=doc, profile_spec=key)
            )
        )
        out["b_after"] = settings(b)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
