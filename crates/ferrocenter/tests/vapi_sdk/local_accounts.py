"""Drives ferrocenter's local accounts with the unmodified official vSphere Automation SDK.

Usage: local_accounts.py APPLIANCE MAIN ROOT_PASSWORD SSO_ADMIN SSO_PASSWORD SSO_OPERATOR
APPLIANCE and MAIN are host:port of the appliance (5480) and main (443) listeners. The run
logs in on the appliance listener as root, manages accounts and the policy, logs in as the
accounts it made, and does the same on the main listener as the SSO administrator and an SSO
operator. Prints one JSON object of what the SDK saw; a fault is recorded by its class name
(and the field its message names) where the fault is the point, any other fails the run.
"""
import datetime
import json
import sys

import requests
import urllib3

from com.vmware.appliance.local_accounts_client import Policy
from com.vmware.appliance_client import LocalAccounts
from com.vmware.cis_client import Session
from vmware.vapi.lib.connect import get_requests_connector
from vmware.vapi.security.client.security_context_filter import (
    LegacySecurityContextFilter,
)
from vmware.vapi.security.session import create_session_security_context
from vmware.vapi.security.user_password import create_user_password_security_context
from vmware.vapi.stdlib.client.factories import StubConfigurationFactory

OPERATOR_PW = "Operator-Pass-1"
OPERATOR_PW2 = "Operator-Pass-2"
OPERATOR_PW3 = "Operator-Pass-3"
NEW_ROOT_PW = "Root-Changed-1"


def http():
    s = requests.Session()
    s.verify = False
    # requests lets REQUESTS_CA_BUNDLE and friends override a session's verify=False.
    s.trust_env = False
    return s


def stub(server, ctx):
    return StubConfigurationFactory.new_std_configuration(
        get_requests_connector(
            session=http(),
            url="https://%s/api" % server,
            provider_filter_chain=[LegacySecurityContextFilter(security_context=ctx)],
        )
    )


def login(server, user, password):
    """A session made as create_vsphere_client makes it; returns its stub configuration."""
    sid = Session(stub(server, create_user_password_security_context(user, password))).create()
    return stub(server, create_session_security_context(sid))


def fault(f):
    """Runs f; the fault's class name and the first argument of its message (the field)."""
    try:
        f()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the class is what is recorded
        args = []
        for m in getattr(e, "messages", None) or []:
            args = list(m.args or [])
            break
        return [type(e).__name__] + args[:1]


def can_login(server, user, password):
    r = fault(lambda: login(server, user, password))
    return r if r == "ok" else r[0]


def info(i):
    return {
        "fullname": i.fullname,
        "email": i.email,
        "roles": i.roles,
        "enabled": i.enabled,
        "has_password": i.has_password,
        "changed": i.last_password_change is not None,
        "expires_at": i.password_expires_at.isoformat() if i.password_expires_at else None,
        "max_days": i.max_days_between_password_change,
        "warn_days": i.warn_days_before_password_expiration,
    }


def main():
    appliance, main_server, root_pw, admin, admin_pw, sso_operator = sys.argv[1:7]
    urllib3.disable_warnings()
    out = {}

    # ---- the appliance listener, as root
    root = login(appliance, "root", root_pw)
    la = LocalAccounts(root)
    policy = Policy(root)
    out["list_before"] = la.list()
    out["root"] = info(la.get("root"))
    p = policy.get()
    out["policy"] = {
        "max_days": p.max_days,
        "min_days": p.min_days,
        "warn_days": p.warn_days,
        "lockout_after": p.failed_attempt_count_before_account_lockout,
        "minimum_length": p.minimum_length,
    }

    cfg = LocalAccounts.Config(
        password=OPERATOR_PW,
        roles=["operator"],
        full_name="Alice Operator",
        email="alice@example.com",
    )
    la.create("alice", cfg)
    out["alice"] = info(la.get("alice"))
    out["create_again"] = fault(lambda: la.create("alice", cfg))
    bad = lambda **kw: LocalAccounts.Config(  # noqa: E731
        **dict(dict(password=OPERATOR_PW, roles=["operator"]), **kw)
    )
    out["bad_role"] = fault(lambda: la.create("bob", bad(roles=["operator", "wizard"])))
    out["bad_name"] = fault(lambda: la.create("bad name", bad()))
    out["weak_password"] = fault(lambda: la.create("bob", bad(password="short")))
    out["bad_email"] = fault(lambda: la.create("bob", bad(email="bob-at-nowhere")))
    out["missing"] = fault(lambda: la.get("nobody"))
    out["delete_missing"] = fault(lambda: la.delete("nobody"))
    out["list_after_refusals"] = la.list()

    la.update("alice", LocalAccounts.UpdateConfig(full_name="Alice O."))
    out["after_update"] = info(la.get("alice"))
    # set replaces the whole account: what it does not give goes back to the defaults.
    la.set("alice", LocalAccounts.Config(password=OPERATOR_PW2, roles=["operator"]))
    out["after_set"] = info(la.get("alice"))

    # ---- an operator made through the API logs in on 5480, reads, and cannot manage
    op = login(appliance, "alice", OPERATOR_PW2)
    op_la = LocalAccounts(op)
    out["operator_list"] = op_la.list()
    out["operator_get_root"] = op_la.get("root").roles
    out["operator_policy"] = Policy(op).get().max_days
    out["operator_create"] = fault(
        lambda: op_la.create("mallory", LocalAccounts.Config(password=OPERATOR_PW, roles=["superAdmin"]))
    )
    out["operator_promotes_itself"] = fault(
        lambda: op_la.update("alice", LocalAccounts.UpdateConfig(roles=["superAdmin"]))
    )
    out["operator_deletes_root"] = fault(lambda: op_la.delete("root"))
    out["operator_sets_policy"] = fault(lambda: Policy(op).set(Policy.Info(max_days=1)))
    # ... but changes its own password, proving the old one.
    out["operator_own_password_no_old"] = fault(
        lambda: op_la.update("alice", LocalAccounts.UpdateConfig(password=OPERATOR_PW3))
    )
    op_la.update(
        "alice", LocalAccounts.UpdateConfig(password=OPERATOR_PW3, old_password=OPERATOR_PW2)
    )
    out["operator_new_password_login"] = can_login(appliance, "alice", OPERATOR_PW3)

    # ---- disabled and expired accounts cannot log in
    la.create("carol", bad(enabled=False))
    out["disabled_login"] = can_login(appliance, "carol", OPERATOR_PW)
    la.update("carol", LocalAccounts.UpdateConfig(enabled=True))
    out["enabled_login"] = can_login(appliance, "carol", OPERATOR_PW)
    la.create("dave", bad(password_expires_at=datetime.datetime(2020, 1, 1)))
    out["expired"] = info(la.get("dave"))
    out["expired_login"] = can_login(appliance, "dave", OPERATOR_PW)

    # ---- the last superAdmin
    out["delete_root"] = fault(lambda: la.delete("root"))
    out["demote_root"] = fault(
        lambda: la.update("root", LocalAccounts.UpdateConfig(roles=["admin"]))
    )
    out["disable_root"] = fault(
        lambda: la.update("root", LocalAccounts.UpdateConfig(enabled=False))
    )

    # ---- the policy: set what get says with changes; fields not enforced are refused
    p = policy.get()
    p.max_days = 60
    p.warn_days = 10
    policy.set(p)
    out["policy_after_set"] = [policy.get().max_days, policy.get().warn_days]
    out["alice_days_after_policy"] = info(la.get("alice"))["max_days"]
    p.failed_attempt_count_before_account_lockout = 3
    out["policy_lockout"] = fault(lambda: policy.set(p))
    out["policy_bad_days"] = fault(lambda: policy.set(Policy.Info(max_days=-5)))

    # ---- root's password through the API
    out["root_no_old"] = fault(
        lambda: la.update("root", LocalAccounts.UpdateConfig(password=NEW_ROOT_PW))
    )
    la.update("root", LocalAccounts.UpdateConfig(password=NEW_ROOT_PW, old_password=root_pw))
    out["root_new_login"] = can_login(appliance, "root", NEW_ROOT_PW)
    out["root_old_login"] = can_login(appliance, "root", root_pw)

    # A deleted account's session ends with it.
    la.delete("alice")
    out["list_after_delete"] = la.list()
    out["deleted_session"] = fault(lambda: op_la.list())

    # ---- the main listener, as the SSO administrator (superAdmin) and an SSO operator
    adm = LocalAccounts(login(main_server, admin, admin_pw))
    out["main_list"] = adm.list()
    adm.create("erin", LocalAccounts.Config(password=OPERATOR_PW, roles=["superAdmin"]))
    out["main_erin"] = adm.get("erin").roles
    # Not root's own session: no old password needed to set it back.
    adm.update("root", LocalAccounts.UpdateConfig(password=root_pw))
    out["root_reset_login"] = can_login(appliance, "root", root_pw)
    adm.delete("erin")
    out["main_after_delete"] = adm.list()
    sso_op = LocalAccounts(login(main_server, sso_operator, admin_pw))
    out["sso_operator_list"] = sso_op.list()
    out["sso_operator_create"] = fault(
        lambda: sso_op.create("x", LocalAccounts.Config(password=OPERATOR_PW, roles=["operator"]))
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
