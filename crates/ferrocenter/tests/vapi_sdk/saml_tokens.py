"""Token sessions on the vAPI with the unmodified official vSphere Automation SDK for Python:
`create_vsphere_client` with `bearer_token=` and with `hok_token=`/`private_key=` (the SDK's
`JSONSSOSigner` signs every holder-of-key request), per-call SAML security contexts, and the
refusals a relying party owes: forged, expired, tampered and disabled-user tokens, a
holder-of-key token presented as bearer or signed with the wrong key, an expired request
timestamp, and a signed request replayed after its window.

Usage: saml_tokens.py keys DIR      -- writes DIR/key.pem, DIR/cert.der (RSA 2048, self-signed)
                                       and DIR/other_key.pem, for the test to bind a token to
       saml_tokens.py run SERVER DIR -- reads the tokens the test wrote into DIR (*.xml)
Prints one JSON object.
"""
import datetime
import json
import os
import sys
import time

import requests
import urllib3

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from com.vmware.cis_client import Session
from com.vmware.vapi.std.errors_client import Error
from com.vmware.vcenter_client import Datacenter
from vmware.vapi.bindings.datetime_helper import DateTimeConverter
from vmware.vapi.core import SecurityContext
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security import sso
from vmware.vapi.security.client.security_context_filter import (
    LegacySecurityContextFilter,
)
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client


def write_key(path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return key


def keys(d):
    key = write_key(os.path.join(d, "key.pem"))
    write_key(os.path.join(d, "other_key.pem"))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vapi token test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    with open(os.path.join(d, "cert.der"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.DER))
    return {"ok": True}


def http_session():
    s = requests.Session()
    s.verify = False
    s.trust_env = False
    return s


def stub(server, sec_ctx):
    return StubConfigurationFactory.new_std_configuration(get_requests_connector(
        session=http_session(), url="https://" + server + "/api",
        provider_filter_chain=[LegacySecurityContextFilter(security_context=sec_ctx)]))


def hok_context(token, key_file, algorithm):
    with open(key_file) as f:
        key = f.read()
    return SecurityContext({"schemeId": sso.SAML_SCHEME_ID, "privateKey": key,
                            "samlToken": token, "signatureAlgorithm": algorithm})


def session_of(server, **kw):
    """What `create_vsphere_client` with these credentials gets: the session's user and the
    datacenters it lists."""
    with create_vsphere_client(server=server, session=http_session(), **kw) as c:
        return {"user": c.session_svc.get().user,
                "datacenters": len(c.vcenter.Datacenter.list())}


def refused(server, sec_ctx):
    """The class of the error `cis.session.create` meets with this context — the call
    `create_vsphere_client` makes first (whose client object cannot be collected cleanly once
    that call has failed, so the service is called as it calls it)."""
    try:
        Session(stub(server, sec_ctx)).create()
        return {"class": "none"}
    except Error as e:
        return {"class": type(e).__name__}


def bearer(token):
    return sso.create_saml_bearer_security_context(token)


def per_call(server, sec_ctx):
    """One call authenticated by the SAML context itself, with no session."""
    try:
        return {"datacenters": len(Datacenter(stub(server, sec_ctx)).list())}
    except Error as e:
        return {"class": type(e).__name__}


def with_timestamp(created, expires, fn):
    """Runs fn with the SDK's signer stamping requests with this window (its own signer and
    format, only the times moved)."""
    real = sso._generate_request_timestamp
    fmt = DateTimeConverter.convert_from_datetime
    sso._generate_request_timestamp = lambda: {sso.EXPIRES: fmt(expires), sso.CREATED: fmt(created)}
    try:
        return fn()
    finally:
        sso._generate_request_timestamp = real


def replay(server, token, key_file):
    """A session.create signed by the SDK's signer with a 3-second window, sent twice: at once,
    and again after the window (and the server's clock tolerance) has passed."""
    now = datetime.datetime.utcnow()
    with open(key_file) as f:
        key = f.read()
    request = json.dumps({
        "jsonrpc": "2.0", "method": "invoke", "id": "1",
        "params": {"serviceId": "com.vmware.cis.session", "operationId": "create",
                   "input": {"STRUCTURE": {"operation-input": {}}},
                   "ctx": {"appCtx": {}, "securityCtx": {
                       "schemeId": sso.SAML_SCHEME_ID, "privateKey": key,
                       "samlToken": token, "signatureAlgorithm": "RS256"}}}})
    body = with_timestamp(now, now + datetime.timedelta(seconds=3),
                          lambda: sso.JSONSSOSigner().process(request))
    s = http_session()

    def send():
        r = s.post("https://" + server + "/api", data=body,
                   headers={"Content-Type": "application/json"})
        res = r.json()["result"]
        return "session" if "output" in res else r.headers.get("vapi-error", "?")
    first = send()
    time.sleep(6)
    return {"first": first, "again": send()}


def run(server, d):
    urllib3.disable_warnings()
    tok = {}
    for name in os.listdir(d):
        if name.endswith(".xml"):
            with open(os.path.join(d, name)) as f:
                tok[name[:-4]] = f.read()
    key, other = os.path.join(d, "key.pem"), os.path.join(d, "other_key.pem")
    out = {
        "bearer": session_of(server, bearer_token=tok["bearer"]),
        "hok": session_of(server, hok_token=tok["hok"], private_key=key),
        "bearer_per_call": per_call(server, bearer(tok["bearer"])),
        "hok_per_call": {alg: per_call(server, hok_context(tok["hok"], key, alg))
                         for alg in ("RS256", "RS384", "RS512")},
        "forged": refused(server, bearer(tok["forged"])),
        "expired": refused(server, bearer(tok["expired"])),
        "tampered": refused(server, bearer(tok["tampered"])),
        "disabled": refused(server, bearer(tok["disabled"])),
        "hok_as_bearer": refused(server, bearer(tok["hok"])),
        "bearer_as_hok": refused(server, sso.create_saml_security_context(tok["bearer"], key)),
        "hok_wrong_key": refused(server, sso.create_saml_security_context(tok["hok"], other)),
    }
    now = datetime.datetime.utcnow()
    hok = sso.create_saml_security_context(tok["hok"], key)
    out["hok_expired_timestamp"] = with_timestamp(
        now - datetime.timedelta(minutes=30), now - datetime.timedelta(minutes=10),
        lambda: refused(server, hok))
    out["hok_future_timestamp"] = with_timestamp(
        now + datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=20),
        lambda: refused(server, hok))
    out["hok_replay"] = replay(server, tok["hok"], key)
    return out


def main():
    if sys.argv[1] == "keys":
        print(json.dumps(keys(sys.argv[2])))
    else:
        print(json.dumps(run(sys.argv[2], sys.argv[3])))


if __name__ == "__main__":
    main()
