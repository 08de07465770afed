"""Plans an update with the unmodified official vSphere Automation SDK for Python, as the
management guide's chapter 8 samples do (discovery_sample.py, lcm_sample.py): the product
catalog (`lcm.discovery_client.ProductCatalog`), the associated products
(`AssociatedProducts` create/get/update/list/delete), an interoperability report
(`InteropReport.create_task`, followed through `cis.tasks` to its result) and the report's
download location (`lcm_client.Reports.get`), whose URL is fetched as curl would.

Usage: lcm.py SERVER USER PASSWORD TARGET_VERSION
Prints one JSON object with what the SDK saw.
"""
import json
import ssl
import sys
import time
import urllib.error
import urllib.request

from com.vmware.cis.task_client import Status
from com.vmware.vcenter.lcm.discovery_client import (
    AssociatedProducts,
    InteropReport,
    ProductCatalog,
)
from com.vmware.vcenter.lcm_client import Reports

from sdk_session import appliance_stub


def refused(f):
    """Runs f; None when it succeeds, else the fault's class and the field it names."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        messages = getattr(e, "messages", None) or [None]
        text = messages[0].default_message if messages[0] is not None else str(e)
        return [type(e).__name__, text]


def fetch(url):
    """(status, body text) of GET url, certificate unchecked as `curl -k`."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def finished(task):
    """Polls a task through `cis.tasks` until it ends (a minute at most); its status."""
    for _ in range(1200):
        info = task.get_info()
        if info.status in (Status.SUCCEEDED, Status.FAILED):
            break
        time.sleep(0.05)
    return str(info.status)


def product(p):
    return {
        "id": p.installed_product,
        "name": p.name,
        "version": p.version,
        "deployments": p.deployments,
        "auto": p.auto,
    }


def main():
    server, user, password, target = sys.argv[1:5]
    out = {}
    with appliance_stub(server, user, password) as stub:
        out["catalog"] = {s.name: s.versions for s in ProductCatalog(stub).list()}
        products = AssociatedProducts(stub)
        out["before"] = [product(p) for p in products.list()]
        spec = AssociatedProducts.CreateSpec(
            product_name="PostgreSQL", version="16.4", deployments=["db1.lab"]
        )
        added = products.create(spec)
        out["added"] = added
        out["again"] = refused(lambda: products.create(spec))
        out["unknown_product"] = refused(
            lambda: products.create(
                AssociatedProducts.CreateSpec(
                    product_name="VMware Identity Manager", version="3.3"
                )
            )
        )
        out["got"] = product(products.get(added))
        products.update(
            added, AssociatedProducts.UpdateSpec(deployments=["db1.lab", "db2.lab"])
        )
        out["updated"] = product(products.get(added))
        out["after_add"] = [p.installed_product for p in products.list()]
        auto = [p for p in products.list() if p.auto]
        out["delete_auto"] = refused(lambda: products.delete(auto[0].installed_product))
        # An incompatible one, for the report.
        old = products.create(
            AssociatedProducts.CreateSpec(product_name="libvirt", version="8.0.0")
        )

        task = InteropReport(stub).create_task(
            InteropReport.Spec(target_version=target)
        )
        out["task_id"] = task.get_task_id()
        out["task_status"] = finished(task)
        result = task.get_result()
        report = result.report
        out["report"] = {
            "target": report.target_product.target_version,
            "rows": {
                r.product.installed_product: [
                    r.compatible,
                    [c.version for c in r.compatible_releases],
                ]
                for r in report.products
            },
            "compatible": report.summary.compatible_count,
            "incompatible": report.summary.incompatible_count,
            "warnings": len(report.issues.warnings or []),
        }
        out["csv_report"] = result.csv_report
        location = Reports(stub).get(result.csv_report)
        out["uri"] = location.uri
        out["token_in_uri"] = location.download_file_token.token in location.uri
        status, body = fetch(location.uri)
        out["download"] = [status, body]
        out["missing_report"] = refused(lambda: Reports(stub).get("nope.csv"))

        products.delete(added)
        products.delete(old)
        out["after_delete"] = [p.installed_product for p in products.list()]
        out["deleted_get"] = refused(lambda: products.get(added))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
