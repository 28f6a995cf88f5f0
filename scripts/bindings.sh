#!/usr/bin/env bash
# Builds the release library once and writes what app projects take in:
#
#   target/app-bindings/android/   an Android library module: the Kotlin sources
#                              (src/main/kotlin) and build.gradle.kts; put each
#                              ABI's libqamqor_mobile.so under
#                              src/main/jniLibs/<abi>/ (see docs/mobile.md)
#   target/app-bindings/swift/     a Swift package: Package.swift, the Swift
#                              sources and the C module of the FFI header;
#                              add the iOS static library as an xcframework
#   target/app-bindings/python/    qamqor.py and this machine's library
#
# The generator is its own small crate (mobile-bindings/bindgen): generating
# never builds the library.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/target/app-bindings"

cargo build --release -q -p qamqor-mobile
lib="$root/target/release/libqamqor_mobile.so"
gen="$root/target/bindings-gen"
rm -rf "$out" "$gen"
for lang in kotlin swift python; do
  cargo uniffi-bindgen generate --library "$lib" --language "$lang" --out-dir "$gen/$lang" >/dev/null
done

# Android library module.
mkdir -p "$out/android/src/main/kotlin" "$out/android/src/main/jniLibs"
cp -r "$gen/kotlin/." "$out/android/src/main/kotlin/"
cat > "$out/android/build.gradle.kts" <<'GRADLE'
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "kz.qamqor.core"
    compileSdk = 35
    defaultConfig { minSdk = 26 }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
GRADLE

# Swift package.
mkdir -p "$out/swift/Sources/Qamqor" "$out/swift/Sources/qamqorFFI/include"
cp "$gen/swift/qamqor.swift" "$out/swift/Sources/Qamqor/"
cp "$gen/swift/qamqorFFI.h" "$out/swift/Sources/qamqorFFI/include/"
cat > "$out/swift/Sources/qamqorFFI/include/module.modulemap" <<'MAP'
module qamqorFFI {
    header "qamqorFFI.h"
    export *
}
MAP
cat > "$out/swift/Sources/qamqorFFI/shim.c" <<'SHIM'
// The FFI's symbols come from the Rust static library (QamqorCore.xcframework).
SHIM
cat > "$out/swift/Package.swift" <<'SWIFT'
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Qamqor",
    platforms: [.iOS(.v15)],
    products: [.library(name: "Qamqor", targets: ["Qamqor"])],
    targets: [
        .binaryTarget(name: "QamqorCore", path: "QamqorCore.xcframework"),
        .target(name: "qamqorFFI", dependencies: ["QamqorCore"]),
        .target(name: "Qamqor", dependencies: ["qamqorFFI"]),
    ]
)
SWIFT

# Python.
mkdir -p "$out/python"
cp "$gen/python/qamqor.py" "$lib" "$out/python/"
rm -rf "$gen"
echo "bindings written to $out (android, swift, python)"
