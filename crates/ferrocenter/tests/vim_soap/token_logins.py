"""vim SessionManager.LoginByToken through the SOAP door with the unmodified pyVmomi, as pyVim's
own login methods do it (pyVim.connect.VimSessionOrientedStub.makeCredBearerTokenLoginMethod and
makeCertHokTokenLoginMethod): tokens from ferrocenter's STS through pyVim.sso.SsoAuthenticator,
presented in the WS-Security header (`samlToken`), a holder-of-key login signed by
`sso.add_saml_context`. Then the refusals: tokens the test made bad (files in WORKDIR), XML
signature wrapping, a holder-of-key request signed with another key, unsigned, with a stale
Timestamp, and the same signed request sent twice.

Usage: token_logins.py HOST:PORT USER PASSWORD WORKDIR; prints one JSON object. Faults are
recorded by their vim type name; unexpected errors under "errors".
"""
import base64
import copy
import datetime
import http.client
import json
import os
import ssl
import sys
import traceback

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from pyVim import sso
from pyVmomi import SoapStubAdapter, vim, vmodl

server, user, password, workdir = sys.argv[1:5]
host, port = server.rsplit(":", 1)
port = int(port)
ctx = ssl._create_unverified_context()
auth = sso.SsoAuthenticator("https://%s/sts/STSService" % server)
out = {"errors": {}}
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


def vim_name(x):
    return getattr(type(x), "_wsdlName", type(x).__name__)


def step(name, fn):
    try:
        out[name] = fn()
    except Exception as e:  # noqa: BLE001 - recorded, the test fails on it
        out["errors"][name] = "%s: %s\n%s" % (
            vim_name(e), getattr(e, "msg", None) or str(e), traceback.format_exc(limit=-4))


def key_and_cert(name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(workdir, name + ".key")
    cert_file = os.path.join(workdir, name + ".crt")
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def new_si():
    stub = SoapStubAdapter(host=host, port=port, version="vim.version.v8_0_3_0", sslContext=ctx)
    return vim.ServiceInstance("ServiceInstance", stub)


def login_by_token(si, token, key_file=None, request_duration=60, captured=None):
    """LoginByToken as pyVim's token login methods call it; a fault's vim name, or the
    session (user name from the answer and from currentSession, and a read that needs it)."""
    stub = si._stub

    def sign(request):
        signed = sso.add_saml_context(request, token, key_file, request_duration)
        if captured is not None:
            captured.append(signed)
        return signed

    try:
        stub.samlToken = token
        if key_file:
            with stub.requestModifier(sign):
                session = si.content.sessionManager.LoginByToken()
        else:
            session = si.content.sessionManager.LoginByToken()
    except vmodl.MethodFault as e:
        return vim_name(e)
    finally:
        stub.samlToken = None
    current = si.content.sessionManager.currentSession
    return {
        "user": session.userName,
        "current_user": current.userName if current else None,
        "same_key": current is not None and current.key == session.key,
        # Reading an inventory object needs the session.
        "root_folder": si.content.rootFolder.name,
        "clock": si.CurrentTime().isoformat(),
    }


def read_token(name):
    with open(os.path.join(workdir, name)) as f:
        return f.read()


key_file, cert_file = key_and_cert("token-login-solution")
other_key, _ = key_and_cert("token-login-thief")
bearer = auth.get_bearer_saml_assertion(user, password, delegatable=True, ssl_context=ctx)
hok = auth.get_hok_saml_assertion(cert_file, key_file, act_as_token=bearer, token_duration=3600,
                                  ssl_context=ctx)
# The Rust side uses them over VI/JSON afterwards.
out["bearer_b64"] = base64.b64encode(bearer.encode()).decode()
out["hok_b64"] = base64.b64encode(hok.encode()).decode()

step("bearer", lambda: login_by_token(new_si(), bearer))
step("hok", lambda: login_by_token(new_si(), hok, key_file))
# A session made by LoginByToken is a session like any: it ends with Logout.
def logout():
    si = new_si()
    login_by_token(si, bearer)
    si.content.sessionManager.Logout()
    try:
        si.content.rootFolder.name
    except vmodl.MethodFault as e:
        return vim_name(e)
    return "still logged in"


step("logout", logout)

# Tokens the test made bad, each presented as a bearer token would be.
for case in ["forged", "expired", "tampered", "disabled_user", "other_audience", "this_audience"]:
    step(case, lambda case=case: login_by_token(new_si(), read_token(case)))


def wrapped_two_assertions():
    # A forged assertion ahead of the genuine one in the same header.
    evil = etree.fromstring(bearer.encode())
    for sig in evil.findall("{%s}Signature" % DS):
        evil.remove(sig)
    evil.set("ID", "_evil")
    return login_by_token(new_si(), etree.tostring(evil).decode() + bearer)


def wrapped_moved_signature():
    # The genuine assertion's signature moved onto a forged one, the genuine assertion hidden
    # inside it (in Advice), so that the signed ID still resolves to signed content.
    genuine = etree.fromstring(bearer.encode())
    evil = copy.deepcopy(genuine)
    evil.set("ID", "_evil")
    for sig in evil.findall("{%s}Signature" % DS):
        evil.remove(sig)
    name_id = evil.find(".//{%s}NameID" % SAML)
    name_id.text = "intruder@vsphere.local"
    sig = genuine.find("{%s}Signature" % DS)
    genuine.remove(sig)
    issuer = evil.find("{%s}Issuer" % SAML)
    issuer.addnext(sig)
    advice = etree.SubElement(evil, "{%s}Advice" % SAML)
    advice.append(genuine)
    return login_by_token(new_si(), etree.tostring(evil).decode())


step("wrapped_two_assertions", wrapped_two_assertions)
step("wrapped_moved_signature", wrapped_moved_signature)
step("hok_other_key", lambda: login_by_token(new_si(), hok, other_key))
step("hok_unsigned", lambda: login_by_token(new_si(), hok))
# The request's Timestamp ended ten minutes ago (past the five minutes of tolerance).
step("hok_stale_timestamp", lambda: login_by_token(new_si(), hok, key_file, request_duration=-600))


def hok_replay():
    captured = []
    first = login_by_token(new_si(), hok, key_file, captured=captured)
    # The same signed LoginByToken again, without pyVmomi (which would sign anew). (pyVmomi
    # signs every request made inside the modifier, the content reads before it too.)
    signed = [r for r in captured if "<LoginByToken" in r]
    conn = http.client.HTTPSConnection(host, port, context=ctx)
    conn.request("POST", "/sdk", signed[-1].encode(), {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"urn:vim25/8.0.3.0"',
    })
    r = conn.getresponse()
    body = r.read().decode()
    return {
        "first": first if isinstance(first, str) else "session",
        "again_status": r.status,
        "again_fault": "InvalidLogin" if "InvalidLoginFault" in body or "InvalidLogin" in body
        else body[:300],
        "again_cookie": r.getheader("Set-Cookie") is not None,
    }


step("hok_replay", hok_replay)
print(json.dumps(out))
