"""Lists the pending updates and makes a pre-update report with the unmodified official
vSphere Automation SDK for Python, as the management guide's chapter 8 sample does
(update_sample.py): `lcm.update_client.Pending` list and get, `PrecheckReport.create_task`
followed through `cis.tasks` to its result, and the report's CSV through
`lcm_client.Reports.get`, fetched as curl would. A product is associated first so that the
report lists one.

Usage: lcm_update.py SERVER USER PASSWORD
Prints one JSON object with what the SDK saw.
"""
import json
import sys

from com.vmware.vcenter.lcm.discovery_client import AssociatedProducts
from com.vmware.vcenter.lcm.update_client import Pending, PrecheckReport
from com.vmware.vcenter.lcm_client import Reports

from lcm import fetch, finished, refused
from sdk_session import appliance_stub


def summary(u):
    return {
        "pending_update": u.pending_update,
        "version": u.version,
        "release_date": u.release_date.isoformat(),
        "severity": str(u.severity),
        "build": u.build,
        "update_type": str(u.update_type),
        "category": str(u.category),
        "reboot_required": u.reboot_required,
        "execute_url": u.execute_url,
        "release_notes": u.release_notes,
    }


def main():
    server, user, password = sys.argv[1:4]
    out = {}
    with appliance_stub(server, user, password) as stub:
        products = AssociatedProducts(stub)
        added = products.create(
            AssociatedProducts.CreateSpec(
                product_name="PostgreSQL", version="16.4", deployments=["db1.lab"]
            )
        )
        pending = Pending(stub)
        # As the guide's sample: list, then the first update's details, then its report.
        available = pending.list()
        out["list"] = {
            "last_check_time": available.last_check_time.isoformat(),
            "update_count": available.update_count,
            "upgrade_count": available.upgrade_count,
            "updates": [summary(u) for u in available.updates],
        }
        target = available.updates[0].version
        details = pending.get(target)
        out["get"] = dict(summary(details), description=details.description)
        out["get_unknown"] = refused(lambda: pending.get("7.0.0.20000"))

        reports = PrecheckReport(stub)
        out["report_unknown"] = refused(lambda: reports.create_task("7.0.0.50000"))
        task = reports.create_task(target)
        out["task_id"] = task.get_task_id()
        out["task_status"] = finished(task)
        result = task.get_result()
        report = result.report
        out["report"] = {
            "date_created": report.date_created.isoformat(),
            "estimated": report.estimated_time_to_update,
            "errors": report.summary.error_count,
            "warnings": report.summary.warning_count,
            "warning_ids": [n.id for n in (report.issues.warnings or [])],
        }
        location = Reports(stub).get(result.csv_report)
        out["download"] = list(fetch(location.uri))
        products.delete(added)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
