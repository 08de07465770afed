"""Drives ferrocenter's global FIPS switch with the unmodified official vSphere Automation SDK
for Python (`com.vmware.appliance.system.security_client.GlobalFips`).

Usage: global_fips.py SERVER USER PASSWORD get
       global_fips.py SERVER USER PASSWORD update true|false
Prints one JSON object: `enabled` as `get` answers it; for `update`, whether the call returned
(`updated`) or the error class and message the server answered.
"""
import json
import sys

from com.vmware.appliance.system.security_client import GlobalFips
from com.vmware.vapi.std.errors_client import Error

from sdk_session import appliance_stub


def main():
    server, user, password, action = sys.argv[1:5]
    out = {}
    with appliance_stub(server, user, password) as stub_config:
        fips = GlobalFips(stub_config)
        if action == "get":
            out["enabled"] = fips.get().enabled
        else:
            enabled = sys.argv[5] == "true"
            try:
                fips.update(GlobalFips.UpdateSpec(enabled=enabled))
                out["updated"] = True
            except Error as e:
                m = e.messages[0]
                out["updated"] = False
                out["class"] = type(e).__name__
                out["message"] = m.default_message
    print(json.dumps(out))


if __name__ == "__main__":
    main()
