#!/usr/bin/env bash
# The whole test suite. Run as root on Debian it first installs what the tests need
# (PostgreSQL's server binaries, tmux, cargo-nextest); elsewhere it uses what is present and the
# PostgreSQL tests print a SKIPPED line if the binaries are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pg() { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if need_pg || ! command -v psql >/dev/null || ! command -v runuser >/dev/null \
        || ! command -v tmux >/dev/null; then
        echo "== installing PostgreSQL for the store tests, tmux for the CLI's terminal tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client util-linux tmux >/dev/null
    fi
fi

# The official vSphere Automation SDK for Python, pinned, in a virtualenv under target/: the vAPI
# client tests run it and find it through FERROCENTER_VAPI_PYTHON.
SDK_VENV="${FERROCENTER_VAPI_SDK_VENV:-$PWD/target/vapi-sdk}"
SDK_PACKAGES="vmware-vcenter==9.1.1.0 vmware-vapi-runtime==9.1.1.0 vmware-vapi-common-client==9.1.1.0"
if command -v python3 >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! python3 -m venv --help >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    if ! "$SDK_VENV/bin/python" -c 'import vmware.vapi.vsphere.client' >/dev/null 2>&1; then
        echo "== installing the vSphere Automation SDK for Python ($SDK_PACKAGES)"
        python3 -m venv "$SDK_VENV" && "$SDK_VENV/bin/pip" install -q $SDK_PACKAGES \
            || echo "the SDK could not be installed; its tests will say SKIPPED"
    fi
    if [ -x "$SDK_VENV/bin/python" ]; then
        export FERROCENTER_VAPI_PYTHON="$SDK_VENV/bin/python"
    fi
fi

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-fail-fast "$@"
else
    exec cargo test --workspace --no-fail-fast "$@"
fi
