//! The deterministic simulation over many seeds (see `qamqor_tests::sim`).
//! `QAMQOR_SIM_SEED=<n>` replays one seed; `QAMQOR_SIM_SEEDS=<n>` sets how
//! many each test runs.

#![allow(clippy::unwrap_used)]

use qamqor_tests::sim::{Faults, run};

fn seeds(block: u64) -> Vec<u64> {
    if let Ok(one) = std::env::var("QAMQOR_SIM_SEED") {
        return if one.parse::<u64>().unwrap() / 1_000_000 == block { vec![one.parse().unwrap()] } else { vec![] };
    }
    let n: u64 = std::env::var("QAMQOR_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    (0..n).map(|i| block * 1_000_000 + i).collect()
}

fn run_block(block: u64, phones: usize, steps: usize, faults: Faults, instances: usize) {
    let mut failures = Vec::new();
    let mut totals = (0, 0, 0);
    for seed in seeds(block) {
        match run(seed, phones, steps, faults, instances) {
            Ok(o) => {
                totals.0 += o.edits;
                totals.1 += o.rounds;
                totals.2 += o.faults;
            }
            Err(e) => failures.push(format!("seed {seed}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} seeds failed (replay with QAMQOR_SIM_SEED):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("edits {}, rounds {}, faults {}", totals.0, totals.1, totals.2);
}

#[test]
fn two_phones_with_a_lossy_network() {
    run_block(1, 2, 30, Faults::default(), 1);
}

#[test]
fn three_phones_with_a_very_lossy_network() {
    run_block(2, 3, 40, Faults { drop_request: 250, drop_response: 300, duplicate: 200 }, 1);
}

#[test]
fn four_phones_with_occasional_faults() {
    run_block(3, 4, 40, Faults { drop_request: 30, drop_response: 50, duplicate: 50 }, 1);
}

#[test]
fn two_phones_that_mostly_work_offline() {
    run_block(4, 2, 60, Faults { drop_request: 100, drop_response: 100, duplicate: 0 }, 1);
}

#[test]
fn three_phones_against_two_server_instances_on_one_database() {
    run_block(5, 3, 40, Faults::default(), 2);
}
