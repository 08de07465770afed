"""Drives ferrocenter's inbound firewall with the unmodified official vSphere Automation SDK
for Python (`com.vmware.appliance.networking.firewall_client.Inbound`).

Usage: firewall.py SERVER USER PASSWORD get
       firewall.py SERVER USER PASSWORD set ADDRESS PREFIX POLICY
Prints one JSON object with what the SDK saw. `get` reads the rules; `set` first tries two
rule sets the server must refuse (a bad prefix in the third rule, and one that would lock the
caller out), reads the rules after each, then sets [ADDRESS/PREFIX POLICY, 10.0.0.0/8 ACCEPT on
lo] and reads them back.
"""
import json
import sys

from com.vmware.appliance.networking.firewall_client import Inbound
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def rule(address, prefix, policy, interface_name=None):
    return Inbound.Rule(
        address=address,
        prefix=prefix,
        policy=Inbound.Policy(policy),
        interface_name=interface_name,
    )


def plain(rules):
    return [
        {
            "address": r.address,
            "prefix": r.prefix,
            "policy": str(r.policy),
            "interface_name": r.interface_name,
        }
        for r in rules
    ]


def refused(inbound, rules):
    try:
        inbound.set(rules)
        return {"class": "none"}
    except Error as e:
        m = e.messages[0]
        return {
            "class": type(e).__name__,
            "args": list(m.args),
            "message": m.default_message,
        }


def main():
    server, user, password, action = sys.argv[1:5]
    out = {}
    with appliance_stub(server, user, password) as stub_config:
        inbound = Inbound(stub_config)
        out["before"] = plain(inbound.get())
        if action == "set":
            address, prefix, policy = sys.argv[5], int(sys.argv[6]), sys.argv[7]
            out["bad_prefix"] = refused(
                inbound,
                [
                    rule("192.0.2.1", 32, "ACCEPT"),
                    rule("2001:db8::", 64, "IGNORE"),
                    rule("198.51.100.0", 33, "REJECT"),
                ],
            )
            out["after_bad_prefix"] = plain(inbound.get())
            out["lockout"] = refused(
                inbound,
                [rule("192.0.2.0", 24, "ACCEPT"), rule("127.0.0.0", 8, "REJECT")],
            )
            out["after_lockout"] = plain(inbound.get())
            inbound.set(
                [rule(address, prefix, policy), rule("10.0.0.0", 8, "ACCEPT", "lo")]
            )
            out["after_set"] = plain(inbound.get())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
