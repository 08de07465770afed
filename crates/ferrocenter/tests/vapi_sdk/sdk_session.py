"""The session the appliance scripts open with the official SDK: a login as
`create_vsphere_client` makes it, and a stub configuration on that session for the
`com.vmware.appliance*` services, which the vSphere client object does not expose (the
management guide's examples build the same stub configuration).
"""
import contextlib

import requests
import urllib3

from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.client.security_context_filter import (
    LegacySecurityContextFilter,
)
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory
from vmware.vapi.vsphere.client import create_vsphere_client


@contextlib.contextmanager
def appliance_stub(server, user, password):
    """Yields the stub configuration of a session of `user` on `https://server/api`; the
    session is ended on leaving. The test servers' certificates are self-signed."""
    urllib3.disable_warnings()
    session = requests.Session()
    session.verify = False
    session.trust_env = False
    with create_vsphere_client(
        server=server, username=user, password=password, session=session
    ) as client:
        yield StubConfigurationFactory.new_std_configuration(
            get_requests_connector(
                session=session,
                url="https://" + server + "/api",
                provider_filter_chain=[
                    LegacySecurityContextFilter(
                        security_context=create_session_security_context(
                            client.get_session_id()
                        )
                    )
                ],
            )
        )
