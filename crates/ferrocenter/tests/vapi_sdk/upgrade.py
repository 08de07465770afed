"""Checks an upgrade spec with the unmodified official vSphere Automation SDK for Python
(`com.vmware.vcenter.deployment_client.Upgrade`), as the management guide's upgrade stage 2:
the target's `root` on its appliance listener checks a spec naming the source with its right
thumbprint, then with a wrong one, and asks for the spec of an upgrade that never ran.

Usage: upgrade.py TARGET_APPLIANCE ROOT_PASSWORD SOURCE_HOST SOURCE_PORT THUMBPRINT WRONG_THUMBPRINT SSO_USER SSO_PASSWORD
Prints one JSON object with what the SDK saw.
"""
import json
import sys

from com.vmware.vcenter.deployment_client import (
    HistoryMigrationOption,
    HistoryMigrationSpec,
    LocationSpec,
    Upgrade,
)

from sdk_session import appliance_stub


def refused(f):
    """Runs f; None when it succeeds, else the fault's class name."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        return type(e).__name__


def spec(host, port, thumbprint, user, password):
    return Upgrade.UpgradeSpec(
        source_appliance=Upgrade.SourceApplianceSpec(
            hostname=host,
            https_port=port,
            ssl_thumbprint=thumbprint,
            sso_admin_username=user,
            sso_admin_password=password,
            root_password=password,
        ),
        source_location=LocationSpec(
            hostname="esx.invalid", username="root", password="unused"
        ),
        history=HistoryMigrationSpec(
            data_set=HistoryMigrationOption.EVENTS_TASKS, defer_import=True
        ),
        vcsa_embedded=Upgrade.VcsaEmbeddedSpec(ceip_enabled=False),
        auto_answer=True,
    )


def main():
    target, root_pw, host, port, right, wrong, user, pw = sys.argv[1:9]
    out = {}
    with appliance_stub(target, "root", root_pw) as stub:
        upgrade = Upgrade(stub)
        good = upgrade.check(spec(host, int(port), right, user, pw))
        si = good.source_info
        out["status"] = str(good.status)
        out["source_info"] = {
            "hostname": si.hostname,
            "version": si.version,
            "deployment_type": str(si.deployment_type),
            "deployment_size": str(si.deployment_size),
            "sso_domain_name": si.sso_domain_name,
            "active_directory_domain": si.active_directory_domain,
            "dns_servers": list(si.dns_servers),
            "data_migration_info": {
                k: {
                    "estimated_export_time": getattr(si.data_migration_info, k).estimated_export_time,
                    "estimated_import_time": getattr(si.data_migration_info, k).estimated_import_time,
                    # The SDK decodes doubles as Decimal.
                    "required_free_disk_space_on_source": float(
                        getattr(si.data_migration_info, k).required_free_disk_space_on_source
                    ),
                }
                for k in ("core", "core_events_tasks", "all")
            },
            "disk_mount_points": [d.mount_point for d in (si.disk_info or [])],
        }
        bad = upgrade.check(spec(host, int(port), wrong, user, pw))
        out["wrong_status"] = str(bad.status)
        out["wrong_errors"] = [
            n.message.default_message for n in (bad.result.errors or [])
        ]
        out["get_before_upgrade"] = refused(upgrade.get)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
