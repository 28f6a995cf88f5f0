#!/usr/bin/env bash
# Runs every test of Qamqor: formatting, lints, the Rust suites (core,
# server, integration, and the fuzz gate: tests/tests/fuzz_gate.rs), the
# console in headless Chromium, the storage conformance suite on
# PostgreSQL, and the Kotlin, Python and Node binding tests. Installs what
# the tests need on a fresh Debian machine (PostgreSQL, Chromium and
# ChromeDriver, JNA, the Kotlin compiler, the Node client's packages);
# QAMQOR_TEST_POSTGRES_URL points
# the PostgreSQL suite at an existing server instead of a throwaway one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# Each step says when it started, so that a CI log shows where time goes.
step() { printf '\n== %s (at %d min %02d s)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "formatting"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

step "PostgreSQL (the conformance suite and the phone-and-server tests on a throwaway cluster)"
if [ -z "${QAMQOR_TEST_POSTGRES_URL:-}" ]; then
  pgdir=$(mktemp -d)
  trap 'scripts/pg.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
  QAMQOR_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir")
  QAMQOR_TEST_POSTGRES_CA="$pgdir/ca.pem"
  export QAMQOR_TEST_POSTGRES_URL QAMQOR_TEST_POSTGRES_CA
fi
# (Tests are picked by filter over the whole workspace: `-p` would resolve
# the dependencies' features anew and rebuild the libraries, 4 min on a
# fresh clone.)
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --run-ignored only --no-fail-fast \
    -E '(binary_id(qamqor-server) & test(postgres::)) | binary_id(qamqor-server::storage_postgres) | binary_id(qamqor-server::processes_postgres)'
  # Phones and server together, the server on PostgreSQL.
  # (the seeded simulation over fewer seeds than on SQLite: a database per seed)
  QAMQOR_TEST_BACKEND=postgres QAMQOR_SIM_SEEDS=25 cargo nextest run --workspace --locked --no-fail-fast \
    -E 'binary_id(qamqor-tests::sync) | binary_id(qamqor-tests::seam) | binary_id(qamqor-tests::resilience) | binary_id(qamqor-tests::simulation)'
else
  cargo test -p qamqor-server --locked --lib -- --ignored postgres::
  cargo test -p qamqor-server --locked --test storage_postgres --test processes_postgres -- --ignored
  QAMQOR_TEST_BACKEND=postgres QAMQOR_SIM_SEEDS=25 cargo test -p qamqor-tests --locked \
    --test sync --test seam --test resilience --test simulation
fi

step "browser tests (the console in headless Chromium)"
if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
mkdir -p target/screenshots
export QAMQOR_SCREENSHOTS="$(pwd)/target/screenshots"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --run-ignored only --no-fail-fast -E 'binary_id(qamqor-tests::browser)'
else
  cargo test -p qamqor-tests --locked --test browser -- --ignored
fi

if [ -x scripts/test-bindings.sh ]; then
  step "binding tests (Kotlin, Python)"
  scripts/test-bindings.sh
fi

step "all tests passed"
