//! The randomized fault-and-invariant suite (docs/reliability.md), bounded for CI: fixed seeds,
//! a short walk each. `chaos_long` is the long run (ignored; `FERROCENTER_CHAOS_STEPS` sets its
//! length). Either replays a seed with `FERROCENTER_CHAOS_SEED=<seed> FERROCENTER_CHAOS_STEPS=<n>`.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod chaos;
mod common;

use chaos::{run, Settings};

/// The seeds CI walks, and how far.
const CI_SEEDS: [u64; 2] = [18, 1807];
const CI_STEPS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_fixed_seeds() {
    let replay = std::env::var("FERROCENTER_CHAOS_SEED").is_ok();
    let seeds: Vec<u64> = if replay { vec![0] } else { CI_SEEDS.to_vec() };
    let mut failures = String::new();
    for seed in seeds {
        let report = run(Settings::from_env(seed, CI_STEPS, 9)).await;
        println!("{}", report.summary());
        if !report.violations.is_empty() {
            failures += &report.failure();
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The long run: `FERROCENTER_CHAOS_STEPS=2000 cargo nextest run -p ferrocenter --run-ignored all
/// -E 'test(chaos_long)'`. Prints the counts docs/reliability.md records.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the long run: minutes to hours, see docs/reliability.md"]
async fn chaos_long() {
    let default_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let report = run(Settings::from_env(default_seed, 2000, 10)).await;
    println!("{}", report.summary());
    assert!(report.violations.is_empty(), "{}", report.failure());
}
