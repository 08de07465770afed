#!/usr/bin/env bash
# The whole test suite. Run as root on Debian it first installs what the tests need
# (PostgreSQL's server binaries, cargo-nextest); elsewhere it uses what is present and the
# PostgreSQL tests print a SKIPPED line if the binaries are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pg() { ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if need_pg || ! command -v psql >/dev/null || ! command -v runuser >/dev/null; then
        echo "== installing PostgreSQL for the store tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client util-linux >/dev/null
    fi
fi

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-fail-fast "$@"
else
    exec cargo test --workspace --no-fail-fast "$@"
fi
