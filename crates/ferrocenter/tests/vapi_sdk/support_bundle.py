"""Makes, lists and downloads a support bundle with the unmodified official vSphere Automation SDK.

Usage:
  support_bundle.py SERVER USER PASSWORD OUT_DIR

Logs in on SERVER (the main listener) with a session, reads the components catalogue
(`support_bundle_client.Components.get`), starts `SupportBundle.create_task` and follows the task
to its end, lists the bundles (whole, by `IterationSpec`, by `FilterSpec`), downloads the bundle
through its URL with urllib as the seed's curl would, unpacks it into OUT_DIR/unpacked, then
tries the URL again (a second use must be refused), and provokes `InvalidArgument` with an
unknown partition. Prints one JSON object of what the SDK saw.
"""
import json
import ssl
import sys
import tarfile
import time
import urllib.error
import urllib.request

import requests

from com.vmware.appliance.support_bundle_client import Components
from com.vmware.appliance_client import SupportBundle
from com.vmware.cis_client import Session
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory


def http():
    s = requests.Session()
    s.verify = False
    s.trust_env = False
    return s


def stub(server, ctx):
    connector = get_requests_connector(session=http(), url="https://%s/api" % server)
    connector.set_security_context(ctx)
    return StubConfigurationFactory.new_std_configuration(connector)


def fetch(url):
    """(status, body bytes) of GET url, certificate unchecked as `curl -k`."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def info_json(i):
    return {
        "id": i.id,
        "description": i.description,
        "status": str(i.status),
        "url": i.url,
        "downloadable": i.downloadable,
        "size": i.size,
        "checksum_value": i.checksum_value,
        "content_type": str(i.content_type) if i.content_type is not None else None,
        "has_generation_time": i.generation_time is not None,
        "has_expiration_time": i.expiration_time is not None,
    }


def main(argv):
    server, user, password, out_dir = argv
    login = stub(server, create_user_password_security_context(user, password))
    token = Session(login).create()
    cfg = stub(server, create_session_security_context(token))
    out = {}
    out["components"] = Components(cfg).get()

    sb = SupportBundle(cfg)
    task = sb.create_task(SupportBundle.CreateSpec(description="SDK support case 4242"))
    out["task_id"] = task.get_task_id()
    status = None
    for _ in range(1200):
        info = task.get_info()
        status = str(info.status)
        if status in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.05)
    out["task_status"] = status
    out["task_operation"] = info.operation
    out["task_service"] = info.service

    listed = sb.list().supportbundle_operations
    out["listed"] = [info_json(i) for i in listed]
    out["first_only"] = [
        info_json(i) for i in sb.list(iteration=SupportBundle.IterationSpec(size=1)).supportbundle_operations
    ]
    out["available"] = [
        i.id
        for i in sb.list(
            filter=SupportBundle.FilterSpec(
                available=True, creation_status=SupportBundle.CreationStatus.SUCCEEDED
            )
        ).supportbundle_operations
    ]
    out["failed"] = [
        i.id
        for i in sb.list(
            filter=SupportBundle.FilterSpec(creation_status=SupportBundle.CreationStatus.FAILED)
        ).supportbundle_operations
    ]

    mine = [i for i in listed if i.description == "SDK support case 4242"][0]
    code, body = fetch(mine.url)
    out["download_status"] = code
    out["download_bytes"] = len(body)
    with open(out_dir + "/bundle.tgz", "wb") as f:
        f.write(body)
    with tarfile.open(out_dir + "/bundle.tgz", "r:gz") as t:
        out["members"] = sorted(m.name for m in t.getmembers())
        t.extractall(out_dir + "/unpacked", filter="data")
    code2, _ = fetch(mine.url)
    out["second_download_status"] = code2
    out["after_download"] = [
        info_json(i) for i in sb.list().supportbundle_operations if i.id == mine.id
    ]

    try:
        sb.create_task(SupportBundle.CreateSpec(description="x", partition="no-such-partition"))
        out["bad_partition"] = None
    except Exception as e:  # the class and the message are what the test checks
        out["bad_partition"] = type(e).__name__
        out["bad_partition_message"] = " ".join(m.default_message for m in e.messages)

    Session(cfg).delete()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
