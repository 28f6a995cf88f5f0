//! The test command's fuzz gate: every fuzz target's body (fuzz/bodies.rs,
//! the same code `cargo fuzz` runs) on every seed of its corpus, then on
//! 50,000 inputs mutated from the seeds by a fixed random seed, so the same
//! tree passes or fails the same way. A coverage-guided search is
//! `scripts/fuzz.sh 3600`. A failing input is left in
//! `fuzz/artifacts/<target>/` to reproduce and add to the corpus.

#![allow(clippy::unwrap_used)]

#[path = "../../fuzz/bodies.rs"]
mod bodies;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RUNS: usize = 50_000;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Bytes that often matter to decoders: lengths and type tags at their edges.
const SPECIAL: &[u8] = &[0x00, 0x01, 0x7f, 0x80, 0xff, 0x18, 0x19, 0x1a, 0x1b, 0x5f, 0x9f, 0xbf, 0xf6, b'"', b'{'];

/// One to four random edits of a seed: bit flips, special bytes, inserted,
/// deleted or repeated runs, a splice with another seed, a truncation.
fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let len = d.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                d[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                d[i] = SPECIAL[rng.random_range(0..SPECIAL.len())];
            }
            2 => {
                let at = rng.random_range(0..=len);
                let run: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                d.splice(at..at, run);
            }
            3 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                d.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                let run = d[a..b].to_vec();
                let at = rng.random_range(0..=d.len());
                d.splice(at..at, run);
            }
            5 => {
                let other = &seeds[rng.random_range(0..seeds.len())];
                let cut = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                d.truncate(cut);
                d.extend_from_slice(&other[from..]);
            }
            6 if len > 0 => d.truncate(rng.random_range(0..len)),
            _ => {}
        }
    }
    d
}

fn gate(target: &str) {
    let (_, body) = bodies::TARGETS.iter().find(|(name, _)| *name == target).unwrap();
    let corpus = fuzz_dir().join("corpus").join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{target}: an empty corpus");
    let mut rng = StdRng::seed_from_u64(1);
    let mutated: Vec<Vec<u8>> = (0..RUNS).map(|_| mutate(&mut rng, &seeds)).collect();
    for (n, input) in seeds.iter().chain(&mutated).enumerate() {
        if catch_unwind(AssertUnwindSafe(|| body(input))).is_err() {
            let dir = fuzz_dir().join("artifacts").join(target);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("gate-{n}"));
            std::fs::write(&path, input).unwrap();
            panic!(
                "{target} failed on input {n}, saved as {}; reproduce with \
                 RUSTC_BOOTSTRAP=1 cargo fuzz run {target} artifacts/{target}/gate-{n} (in fuzz/)",
                path.display()
            );
        }
    }
}

#[test]
fn sync_request() {
    gate("sync_request");
}

#[test]
fn sync_message() {
    gate("sync_message");
}

#[test]
fn enroll_json() {
    gate("enroll_json");
}

#[test]
fn stored_document() {
    gate("stored_document");
}

#[test]
fn every_target_is_in_the_gate() {
    let targets: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for t in &targets {
        assert!(bodies::TARGETS.iter().any(|(name, _)| name == t), "{t} is not in bodies::TARGETS");
    }
    assert_eq!(targets.len(), bodies::TARGETS.len());
}
