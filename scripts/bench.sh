#!/usr/bin/env bash
# The benchmarks, from a fresh checkout: builds the server and the benchmark in release mode,
# then runs `ferrocenter-bench` with the arguments given, e.g.
#   bash scripts/bench.sh server            # every scenario at the sizes of docs/performance.md
#   bash scripts/bench.sh server --quick    # every scenario at 1,000 hosts, a few minutes
#   bash scripts/bench.sh server --postgres # the same on PostgreSQL (Debian's postgresql)
#   bash scripts/bench.sh fleet             # the simulated fleet alone
#   bash scripts/bench.sh backup-restore    # back up and restore 10,000 hosts, 100,000 VMs
#   bash scripts/bench.sh sso               # password logins beside SAML token issue and use
#   bash scripts/bench.sh history-import    # import 1,000,000 events of history into a live store
#   bash scripts/bench.sh upgrade           # move an instance of 10,000 hosts into a fresh server
#   bash scripts/bench.sh update-install    # a server of 10,000 hosts installs an update of itself
# It prints one JSON report and a table. Figures are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ferrocenter -p ferrocenter-bench
exec "${CARGO_TARGET_DIR:-target}/release/ferrocenter-bench" "$@"
