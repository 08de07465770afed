"""Drives ferrocenter's appliance services and shutdown with the unmodified official vSphere
Automation SDK for Python (`com.vmware.appliance_client.Services` and `Shutdown`).

Usage: services.py SERVER USER PASSWORD OWN_LISTENER OTHER_LISTENER OTHER_ADDRESS
OWN_LISTENER is the service the calls come through, OTHER_LISTENER the other listener's service
and OTHER_ADDRESS (host:port) where it listens. Prints one JSON object with what the SDK saw;
a refused call records its fault's class name and message.
"""
import json
import socket
import sys
import time

from com.vmware.appliance_client import Services, Shutdown

from sdk_session import appliance_stub


def refused(f):
    """Runs f; None when it succeeds, else the fault's class and first message."""
    try:
        f()
        return None
    except Exception as e:  # the SDK's vAPI errors
        messages = getattr(e, "messages", None) or [None]
        text = messages[0].default_message if messages[0] is not None else str(e)
        return {"error": type(e).__name__, "message": text}


def connects(address):
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        return "error: " + str(e)


def main():
    server, user, password, own, other, other_address = sys.argv[1:7]
    out = {}
    with appliance_stub(server, user, password) as stub:
        services = Services(stub)
        state = lambda name: str(services.get(name).state)
        out["list"] = {
            name: {"description": info.description, "state": str(info.state)}
            for name, info in services.list().items()
        }
        out["unknown"] = refused(lambda: services.get("vmware-vpxd"))
        out["stop_heartbeat"] = refused(lambda: services.stop("heartbeat"))
        if out["stop_heartbeat"] is None:
            out["heartbeat_after_stop"] = state("heartbeat")
            services.start("heartbeat")
            out["heartbeat_after_start"] = state("heartbeat")
            services.restart("heartbeat")
            out["heartbeat_after_restart"] = state("heartbeat")
        out["stop_own_listener"] = refused(lambda: services.stop(own))
        out["restart_own_listener"] = refused(lambda: services.restart(own))
        out["own_after"] = state(own)
        out["other_before"] = connects(other_address)
        out["stop_other_listener"] = refused(lambda: services.stop(other))
        if out["stop_other_listener"] is None:
            out["other_after_stop"] = state(other)
            out["other_connect_stopped"] = connects(other_address)
            services.start(other)
            out["other_after_start"] = state(other)
            out["other_connect_started"] = connects(other_address)

        shutdown = Shutdown(stub)
        before = shutdown.get()
        out["shutdown_before"] = {"action": before.action, "reason": before.reason,
                                  "time": before.shutdown_time is not None}
        out["reboot"] = refused(lambda: shutdown.reboot(30, "sdk reboot test"))
        if out["reboot"] is None:
            pending = shutdown.get()
            delta = pending.shutdown_time.timestamp() - time.time()
            if pending.shutdown_time.tzinfo is None:
                import calendar
                delta = calendar.timegm(pending.shutdown_time.timetuple()) - time.time()
            out["pending"] = {"action": pending.action, "reason": pending.reason,
                              "in_s": delta}
            shutdown.cancel()
            after = shutdown.get()
            out["after_cancel"] = {"action": after.action, "reason": after.reason,
                                   "time": after.shutdown_time is not None}
            # A power-off replaces nothing pending now; it too is cancelled.
            out["poweroff"] = refused(lambda: shutdown.poweroff(45, "sdk poweroff test"))
            off = shutdown.get()
            out["pending_poweroff"] = {"action": off.action, "reason": off.reason}
            shutdown.cancel()
            out["after_poweroff_cancel"] = shutdown.get().action
        out["bad_delay"] = refused(lambda: shutdown.poweroff(-1, "x"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
