#!/usr/bin/env bash
# The cost of crossing the FFI boundary: the same two calls (read a child's
# file; record a visit) from Rust, Python and Kotlin against a release
# build, with medians, and the size of the release library.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kotlin_home="$root/.tools/kotlin/node_modules/kotlin-compiler"
[ -x "$kotlin_home/bin/kotlinc-jvm" ] || { echo "run scripts/test-bindings.sh once first (installs Kotlin and JNA)"; exit 1; }
jna=/usr/share/java/jna.jar
out="$root/target/bindings-release"

cargo build -q --release -p qamqor-mobile
lib="$root/target/release/libqamqor_mobile.so"
rm -rf "$out"
for lang in kotlin python; do
  cargo uniffi-bindgen generate --library "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null 2>&1
done
cp "$lib" "$out/python/"

cargo run -q --release -p qamqor-mobile --example crossing
(cd "$out/python" && PYTHONPATH="$out/python:$root/mobile-bindings/tests/python" \
  QAMQOR_URL=unused QAMQOR_SERVER_BIN=unused QAMQOR_DATA_DIR=unused python3 "$root/mobile-bindings/tests/python/bench_crossing.py")
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
"$kotlin_home/bin/kotlinc-jvm" -nowarn -cp "$jna:$coroutines" "$out/kotlin/uniffi/qamqor/qamqor.kt" \
  "$root/mobile-bindings/tests/kotlin/SpecialistDay.kt" "$root/mobile-bindings/tests/kotlin/BenchCrossing.kt" \
  -d "$out/bench.jar" 2>&1 | grep -v '^warning' || true
QAMQOR_URL=unused QAMQOR_SERVER_BIN=unused QAMQOR_DATA_DIR=unused \
  java -Djna.library.path="$root/target/release" -cp "$out/bench.jar:$jna:$coroutines:$stdlib" BenchCrossingKt
strip_size=$(cp "$lib" /tmp/qamqor-stripped.so && strip /tmp/qamqor-stripped.so && stat -c %s /tmp/qamqor-stripped.so)
echo "release library: $(stat -c %s "$lib") bytes ($((strip_size / 1024)) KiB stripped), x86_64 Linux"
