#!/usr/bin/env bash
# Qamqor, samod 0.16 and automerge-repo 2.5 on the same first-sync work, in
# one run: docs/performance.md ("Side by side with samod and
# automerge-repo") is written from what this prints.
#
#   scripts/peers-bench.sh [N]      N case files (200 by default)
#
# 1. Qamqor's first-sync bench (release server process, encrypted durable
#    phones) for N case files; it also writes the saved documents
#    (target/qamqor-bench/first-sync/docs-N) and the week offline's changes
#    (week-N) that the peers then run on.
# 2. samod: its own server process and client over loopback, filesystem
#    storage (bench/peers, a separate cargo workspace).
# 3. automerge-repo: its WebSocket sync server (Node) and a client repo,
#    Node filesystem storage (bench/automerge-repo, packages from npm).
# 4. The table, with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200}"
dir="$PWD/target/qamqor-bench/first-sync"

cargo build --release -p qamqor-server --bin qamqor-server -p qamqor-tests --bin first-sync-bench
(cd bench/peers && cargo build --release)
if [ ! -d bench/automerge-repo/node_modules ]; then
  (cd bench/automerge-repo && npm ci --no-audit --no-fund)
fi

target/release/first-sync-bench "$n"
bench/peers/target/release/peers-bench samod "$n" "$dir"
node bench/automerge-repo/bench.mjs "$n" "$dir"
echo
bench/peers/target/release/peers-bench table "$n" "$dir"
