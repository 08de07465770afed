"""A federated login with the unmodified official vSphere Automation SDK for Python: an ID
token the test OIDC provider issued is exchanged through
`com.vmware.vcenter.tokenservice_client.TokenExchange` (no session: the token is the
credential), and the session it answers is used by `create_vsphere_client` for an admin
operation (a datacenter created).

Usage: token_exchange.py SERVER ADMIN_ID_TOKEN UNMAPPED_ID_TOKEN
Prints one JSON object: the exchange's token types, the datacenter created with the session,
and what the exchange of the unmapped user's token and of a tampered token met.
"""
import json
import sys
import warnings

import requests
import urllib3

from com.vmware.vapi.std.errors_client import Error
from com.vmware.vcenter.tokenservice_client import TokenExchange
from com.vmware.vcenter_client import Datacenter
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client

# TokenExchange is deprecated since 7.0.2 (for `vcenter.authentication.token`), still served.
warnings.simplefilter("ignore", DeprecationWarning)


def spec(token):
    return TokenExchange.ExchangeSpec(
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token=token,
        subject_token_type=TokenExchange.ID_TOKEN_TYPE,
        requested_token_type=TokenExchange.ACCESS_TOKEN_TYPE,
    )


def refused(exchange, token):
    try:
        exchange.exchange(spec(token))
        return "none"
    except Error as e:
        return type(e).__name__


def main():
    server, admin_token, unmapped_token = sys.argv[1:4]
    urllib3.disable_warnings()
    session = requests.Session()
    session.verify = False
    session.trust_env = False
    anonymous = StubConfigurationFactory.new_std_configuration(
        get_requests_connector(session=session, url="https://" + server + "/api")
    )
    exchange = TokenExchange(anonymous)
    out = {}
    info = exchange.exchange(spec(admin_token))
    out["issued_token_type"] = info.issued_token_type
    out["token_type"] = info.token_type
    client = create_vsphere_client(
        server=server, session_id=info.access_token, session=session
    )
    out["datacenter"] = client.vcenter.Datacenter.create(
        Datacenter.CreateSpec(name="dc-sdk-federated")
    )
    head, sig = admin_token.rsplit(".", 1)
    out["unmapped"] = refused(exchange, unmapped_token)
    out["tampered"] = refused(exchange, head + "." + sig[::-1])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
