"""Drives ferrocenter's identity providers with the unmodified official vSphere Automation SDK
for Python (`com.vmware.vcenter.identity_client.Providers`), with the management guide's AD FS
parameters against a test OIDC provider and an LDAPS directory.

Usage: identity_providers.py SERVER USER PASSWORD DISCOVERY_ENDPOINT LDAPS_URL CA_PEM_FILE
       BIND_DN BIND_PASSWORD USERS_BASE_DN GROUPS_BASE_DN
Prints one JSON object: the id created; the provider as `get` and `list` return it (secrets as
answered); what a create with a wrong bind password met; and the list after the delete.
"""
import json
import sys

from com.vmware.vcenter.certificate_management_client import X509CertChain
from com.vmware.vcenter.identity_client import Providers
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def refused(providers, spec):
    try:
        providers.create(spec)
        return {"class": "none"}
    except Error as e:
        m = e.messages[0]
        return {"class": type(e).__name__, "message": m.default_message}


def main():
    (server, user, password, discovery, ldaps, ca_file, bind_dn, bind_pw, users_dn,
     groups_dn) = sys.argv[1:11]
    with open(ca_file) as f:
        ca = f.read()

    def spec(bind_password):
        return Providers.CreateSpec(
            config_tag=Providers.ConfigType.Oidc,
            name="Microsoft ADFS",
            upn_claim="upn",
            groups_claim="group",
            is_default=True,
            oidc=Providers.OidcCreateSpec(
                discovery_endpoint=discovery,
                client_id="vcenter-app-group",
                client_secret="sdk-Client-Secret-1",
                claim_map={},
            ),
            idm_protocol=Providers.IdmProtocol.LDAP,
            active_directory_over_ldap=Providers.ActiveDirectoryOverLdap(
                user_name=bind_dn,
                password=bind_password,
                users_base_dn=users_dn,
                groups_base_dn=groups_dn,
                server_endpoints=[ldaps],
                cert_chain=X509CertChain(cert_chain=[ca]),
            ),
        )

    out = {}
    with appliance_stub(server, user, password) as stub_config:
        providers = Providers(stub_config)
        out["wrong_password"] = refused(providers, spec("not-the-password"))
        pid = providers.create(spec(bind_pw))
        out["id"] = pid
        info = providers.get(pid)
        out["get"] = {
            "name": info.name,
            "config_tag": str(info.config_tag),
            "is_default": info.is_default,
            "upn_claim": info.upn_claim,
            "groups_claim": info.groups_claim,
            "discovery_endpoint": info.oidc.discovery_endpoint,
            "issuer": info.oidc.issuer,
            "public_key_uri": info.oidc.public_key_uri,
            "client_id": info.oidc.client_id,
            "client_secret": info.oidc.client_secret,
            "idm_protocol": str(info.idm_protocol),
            "ldap_user_name": info.active_directory_over_ldap.user_name,
            "ldap_password": info.active_directory_over_ldap.password,
            "server_endpoints": info.active_directory_over_ldap.server_endpoints,
        }
        out["list"] = [
            {"provider": s.provider, "name": s.name, "is_default": s.is_default,
             "config_tag": str(s.config_tag)}
            for s in providers.list()
        ]
        providers.update(pid, Providers.UpdateSpec(
            config_tag=Providers.ConfigType.Oidc, name="ADFS renamed",
            oidc=Providers.OidcUpdateSpec()))
        out["renamed"] = providers.get(pid).name
        providers.delete(pid)
        out["after_delete"] = [s.provider for s in providers.list()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
