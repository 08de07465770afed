"""Reads ferrocenter's appliance statistics with the unmodified official vSphere Automation SDK
for Python, as the management guide's chapter 6 examples do
(`appliance_client.Monitoring(stub).query(MonitoredItemDataRequest(...))`).

Usage: monitoring.py SERVER USER PASSWORD
Prints one JSON object with what the SDK saw; refused calls record their fault's class and
message.
"""
import datetime
import json
import sys

from com.vmware.appliance_client import Monitoring
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def fault(f):
    try:
        f()
        return "answered"
    except Error as e:
        return type(e).__name__ + ": " + e.messages[0].default_message


def main():
    server, user, password = sys.argv[1:4]
    out = {}
    with appliance_stub(server, user, password) as stub:
        mon = Monitoring(stub)
        out["list"] = [
            {
                "id": i.id,
                "name": i.name,
                "units": i.units,
                "category": i.category,
                "instance": i.instance,
            }
            for i in mon.list()
        ]
        cpu = mon.get("cpu.util")
        out["get"] = {"id": cpu.id, "units": cpu.units, "category": cpu.category}
        out["get_unknown"] = fault(lambda: mon.get("disk.util"))

        now = datetime.datetime.utcnow()
        req = Monitoring.MonitoredItemDataRequest()
        req.names = ["mem.util", "mem.usage", "storage.used.database"]
        req.interval = Monitoring.IntervalType.MINUTES5
        req.function = Monitoring.FunctionType.MAX
        req.start_time = now - datetime.timedelta(minutes=12)
        req.end_time = now + datetime.timedelta(minutes=1)
        resp = mon.query(req)
        out["query"] = [
            {
                "name": d.name,
                "interval": str(d.interval),
                "function": str(d.function),
                "start_time": d.start_time.isoformat(),
                "end_time": d.end_time.isoformat(),
                "data": d.data,
            }
            for d in resp
        ]
        out["asked"] = {
            "start_time": req.start_time.isoformat(),
            "end_time": req.end_time.isoformat(),
        }
        req.function = Monitoring.FunctionType.COUNT
        req.interval = Monitoring.IntervalType.DAY1
        out["count_day"] = [d.data for d in mon.query(req)]

        bad = Monitoring.MonitoredItemDataRequest(
            names=["cpu.util", "disk.util"],
            interval=Monitoring.IntervalType.MINUTES30,
            function=Monitoring.FunctionType.AVG,
            start_time=now - datetime.timedelta(hours=1),
            end_time=now,
        )
        out["unknown_name"] = fault(lambda: mon.query(bad))
        bad.names = ["cpu.util"]
        bad.start_time, bad.end_time = bad.end_time, bad.start_time
        out["start_after_end"] = fault(lambda: mon.query(bad))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
