#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) on a scratch copy of its seed
# corpus (fuzz/corpus/<target>/). A crash fails the run and leaves its input
# in fuzz/artifacts/<target>/; add it to the corpus once fixed.
#
#   scripts/fuzz.sh            # a quick pass: every seed, then 5,000
#                              # coverage-guided inputs from a fixed seed
#   scripts/fuzz.sh 3600       # a search: an hour per target, new random seed
#
# The test command does not run this: its gate (tests/tests/fuzz_gate.rs)
# runs the same bodies (fuzz/bodies.rs) on the corpus and 50,000 mutated
# inputs each inside the normal test build, without cargo-fuzz's separate
# instrumented build of every dependency.
#
# Installs cargo-fuzz into .tools/ when missing. cargo fuzz needs nightly
# compiler flags; this machine has the stable toolchain only, so they are
# enabled with RUSTC_BOOTSTRAP.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-}
# The quick pass builds without AddressSanitizer (Qamqor's own code forbids
# unsafe; it looks for panics and hangs, and builds in about two thirds of
# the time); a search keeps it, for the dependencies' unsafe code.
if [ -n "$secs" ]; then
  budget=(-max_total_time="$secs")
  sanitizer=(-s address)
else
  budget=(-seed=1 -runs=5000)
  sanitizer=(-s none)
fi
tools="$(pwd)/.tools"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  cargo install cargo-fuzz --locked --root "$tools" >/dev/null 2>&1 || cargo install cargo-fuzz --locked --root "$tools"
fi
export PATH="$tools/bin:$PATH" RUSTC_BOOTSTRAP=1
cd fuzz
for target in $(cargo fuzz list); do
  work=$(mktemp -d)
  cp -r "corpus/$target/." "$work/"
  printf '%s: ' "$target"
  if ! cargo fuzz run -O "${sanitizer[@]}" "$target" "$work" -- "${budget[@]}" -rss_limit_mb=2048 >"$work.log" 2>&1; then
    tail -40 "$work.log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/"
    exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$work.log" || echo "done"
  rm -rf "$work" "$work.log"
done
