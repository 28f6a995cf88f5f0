#!/usr/bin/env bash
# The binding tests: generates the Kotlin, Swift and Python bindings from the
# built library, starts a real qamqor-server on loopback, and runs against
# it the Kotlin (JVM + JNA) and Python tests and a Node client written from
# docs/ alone. Installs the Kotlin
# compiler (npm) and JNA (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
out="$root/target/bindings"

step() { printf '\n== %s\n' "$*"; }

step "tools"
kotlin_home="$tools/kotlin/node_modules/kotlin-compiler"
if [ ! -x "$kotlin_home/bin/kotlinc-jvm" ]; then
  npm install --prefix "$tools/kotlin" --no-audit --no-fund kotlin-compiler@2.4.20 >/dev/null
  chmod +x "$kotlin_home"/bin/* || true
fi
jna=/usr/share/java/jna.jar
if [ ! -f "$jna" ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libjna-java >/dev/null
fi

step "build and generate bindings"
# The whole workspace's feature set, as the test build has it: `-p` would
# resolve the dependencies' features anew and rebuild them.
cargo build -q --workspace --locked --lib --bin qamqor-server --bin uniffi-bindgen
lib="$root/target/debug/libqamqor_mobile.so"
rm -rf "$out"
for lang in kotlin python swift; do
  "$root/target/debug/uniffi-bindgen" generate --library "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null 2>&1 \
    || "$root/target/debug/uniffi-bindgen" generate --library "$lib" --language "$lang" --out-dir "$out/$lang"
done
cp "$lib" "$out/python/"

step "Swift bindings (generated; no Swift toolchain here)"
test -s "$out/swift/qamqor.swift"
test -s "$out/swift/qamqorFFI.h"
test -s "$out/swift/qamqorFFI.modulemap"
grep -q "open class QamqorStore" "$out/swift/qamqor.swift"
grep -q "func startSync" "$out/swift/qamqor.swift"
echo "qamqor.swift, qamqorFFI.h and qamqorFFI.modulemap generated"

step "server on loopback"
data=$(mktemp -d)
log="$data/server.log"
# Every test phone enrolls from 127.0.0.1: allow more than the default 10
# enrollments a minute from one address.
QAMQOR_DATA_DIR="$data" QAMQOR_LISTEN=127.0.0.1:0 QAMQOR_ENROLLMENTS_PER_MINUTE=100 "$root/target/debug/qamqor-server" >"$data/stdout" 2>"$log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  url=$(sed -n 's/^Qamqor server listening on \(http[^ ]*\).*/\1/p' "$data/stdout")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "the server did not start"; exit 1; }
echo "server at $url"
export QAMQOR_URL="$url" QAMQOR_SERVER_BIN="$root/target/debug/qamqor-server" QAMQOR_DATA_DIR="$data"

step "Node: a client written from docs/ alone (Automerge JS 3, cborg)"
if [ ! -d tests/node/node_modules/@automerge/automerge ]; then
  npm ci --prefix tests/node --no-audit --no-fund >/dev/null
fi
node tests/node/conformance.mjs

step "Python"
for t in test_bindings first_day; do
  (cd "$out/python" && PYTHONPATH="$out/python:$root/mobile-bindings/tests/python" python3 -X faulthandler "$root/mobile-bindings/tests/python/$t.py")
done

step "Kotlin (JVM, JNA)"
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
kotlinc() { "$kotlin_home/bin/kotlinc-jvm" -nowarn "$@" 2>&1 | grep -v '^warning' || true; }
kotlinc -cp "$jna:$coroutines" "$out/kotlin/uniffi/qamqor/qamqor.kt" -d "$out/kotlin-bindings.jar"
test -s "$out/kotlin-bindings.jar"
for t in SpecialistDay FirstDay; do
  kotlinc -cp "$out/kotlin-bindings.jar:$jna:$coroutines" "$root/mobile-bindings/tests/kotlin/Support.kt" \
    "$root/mobile-bindings/tests/kotlin/$t.kt" -d "$out/$t.jar"
  test -s "$out/$t.jar"
  echo "-- $t"
  java -Djna.library.path="$root/target/debug" \
    -cp "$out/$t.jar:$out/kotlin-bindings.jar:$jna:$coroutines:$stdlib" "${t}Kt"
done
