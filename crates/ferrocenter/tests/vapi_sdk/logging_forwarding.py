"""Drives ferrocenter's syslog forwarding with the unmodified official vSphere Automation SDK
for Python (`com.vmware.appliance.logging_client.Forwarding`).

Usage: logging_forwarding.py SERVER USER PASSWORD UDP_PORT TCP_PORT TLS_PORT
Prints one JSON object: the configuration before; what a set of four receivers and one with a
port out of range met, and the configuration after each; the configuration after setting UDP,
TCP and TLS receivers on 127.0.0.1 (TLS by the name `localhost`); and the test's statuses with a
test message sent.
"""
import json
import sys

from com.vmware.appliance.logging_client import Forwarding
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def config(hostname, port, protocol):
    return Forwarding.Config(
        hostname=hostname, port=port, protocol=Forwarding.Protocol(protocol)
    )


def plain(cfgs):
    return [
        {"hostname": c.hostname, "port": c.port, "protocol": str(c.protocol)}
        for c in cfgs
    ]


def refused(forwarding, cfgs):
    try:
        forwarding.set(cfgs)
        return {"class": "none"}
    except Error as e:
        m = e.messages[0]
        return {"class": type(e).__name__, "message": m.default_message}


def main():
    server, user, password = sys.argv[1:4]
    udp, tcp, tls = (int(p) for p in sys.argv[4:7])
    out = {}
    with appliance_stub(server, user, password) as stub_config:
        forwarding = Forwarding(stub_config)
        out["before"] = plain(forwarding.get())
        out["four"] = refused(
            forwarding,
            [config("127.0.0.1", 514 + i, "UDP") for i in range(4)],
        )
        out["after_four"] = plain(forwarding.get())
        out["bad_port"] = refused(
            forwarding,
            [config("127.0.0.1", 514, "UDP"), config("127.0.0.1", 70000, "TCP")],
        )
        out["after_bad_port"] = plain(forwarding.get())
        forwarding.set(
            [
                config("127.0.0.1", udp, "UDP"),
                config("127.0.0.1", tcp, "TCP"),
                config("localhost", tls, "TLS"),
            ]
        )
        out["after_set"] = plain(forwarding.get())
        out["test"] = [
            {
                "hostname": s.hostname,
                "state": str(s.state),
                "message": s.message.default_message if s.message else None,
            }
            for s in forwarding.test(send_test_message=True)
        ]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
