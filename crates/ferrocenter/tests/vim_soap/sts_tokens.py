"""pyVmomi's own token client (pyVim.sso.SsoAuthenticator) against ferrocenter's security token
service: a bearer token for a user name and password, a holder-of-key token bound to a
certificate made here (requested with the bearer token as ActAs, the request signed with the
certificate's key), a token for that token (get_token_by_token, signed as add_saml_context
signs), and the faults for a wrong password and for a request with no credential.

Usage: sts_tokens.py HOST:PORT USER PASSWORD WORKDIR; prints one JSON object.
"""
import base64
import datetime
import json
import os
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyVim import sso

server, user, password, workdir = sys.argv[1:5]
url = "https://%s/sts/STSService" % server
ctx = ssl._create_unverified_context()
auth = sso.SsoAuthenticator(url)
out = {}


def fault(call):
    try:
        call()
        return None
    except sso.SoapException as e:
        return {"code": e._fault_code, "string": e._fault_string}


# The solution's key and certificate, as a vCenter solution user would hold them.
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sts-test-solution")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=30))
    .sign(key, hashes.SHA256())
)
key_file = os.path.join(workdir, "solution.key")
cert_file = os.path.join(workdir, "solution.crt")
with open(key_file, "wb") as f:
    f.write(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ))
with open(cert_file, "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
out["cert_der_b64"] = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

out["bearer"] = auth.get_bearer_saml_assertion(
    user, password, token_duration=600, delegatable=True, renewable=True, ssl_context=ctx
)
out["hok"] = auth.get_hok_saml_assertion(
    cert_file, key_file, act_as_token=out["bearer"], token_duration=3600, ssl_context=ctx
)
out["hok_by_hok"] = auth.get_token_by_token(out["hok"], key_file, ssl_context=ctx)
out["wrong_password"] = fault(
    lambda: auth.get_bearer_saml_assertion(user, "not-the-password", ssl_context=ctx)
)
# A holder-of-key request with no user credential: no solution users are registered.
out["no_credential"] = fault(
    lambda: auth.get_hok_saml_assertion(cert_file, key_file, ssl_context=ctx)
)
# ActAs with a token that was not issued delegatable.
plain = auth.get_bearer_saml_assertion(user, password, ssl_context=ctx)
out["not_delegatable"] = fault(
    lambda: auth.get_hok_saml_assertion(cert_file, key_file, act_as_token=plain, ssl_context=ctx)
)
print(json.dumps(out))
