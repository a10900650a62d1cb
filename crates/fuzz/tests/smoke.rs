//! The stable smoke run of the fuzz targets (part of `cargo test`): every committed corpus and
//! regression input, then structure-aware random inputs for a few seconds per target.
//!
//! `FUZZ_SMOKE_SECONDS` sets the random phase per target (default 6); `FUZZ_SEED` replays a
//! run (each run prints its seed). A failing input is written to
//! `target/fuzz-failures/<target>-<seed>-<n>`; commit it under `fuzz/regressions/<target>/`
//! with the fix.

use rand::{rngs::StdRng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchboard_fuzz::Target;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(folder: &str, target: Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(folder).join(target.name());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn keep_failure(target: Target, seed: u64, n: u64, data: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{seed}-{n}", target.name()));
    std::fs::write(&path, data).unwrap();
    path
}

fn smoke(target: Target) {
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        for (path, data) in inputs(folder, target) {
            if catch_unwind(AssertUnwindSafe(|| target.run(&data))).is_err() {
                panic!("{} failed on {}", target.name(), path.display());
            }
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no corpus for {} in {}",
        target.name(),
        fuzz_dir().display()
    );

    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let seconds = std::env::var("FUZZ_SMOKE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6.0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tried = 0u64;
    while Instant::now() < deadline {
        let data = target.generate(&mut rng);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target.run(&data))) {
            let path = keep_failure(target, seed, tried, &data);
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{} failed on random input {tried} of FUZZ_SEED={seed} (kept in {}): {message}",
                target.name(),
                path.display()
            );
        }
        tried += 1;
    }
    let accepted = switchboard_fuzz::server::ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    let applied = switchboard_fuzz::targets::APPLIED.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "{}: {replayed} corpus and regression inputs, {tried} random inputs (FUZZ_SEED={seed}); so far \
         {accepted} requests accepted and {applied} pushed operations applied",
        target.name()
    );
    if matches!(
        target,
        Target::Push | Target::Registration | Target::CompactPush
    ) && tried > 50
    {
        assert!(accepted > 0, "no random request got past the decoder");
    }
    if target == Target::Push && tried > 50 {
        assert!(applied > 0, "no random operation reached the store");
    }
}

#[test]
fn csv_reader() {
    smoke(Target::Csv);
}

#[test]
fn json_lines_reader() {
    smoke(Target::Jsonl);
}

#[test]
fn core_intake() {
    smoke(Target::CoreIntake);
}

#[test]
fn push_decoder() {
    smoke(Target::Push);
}

#[test]
fn registration_intake() {
    smoke(Target::Registration);
}

#[test]
fn unsubscribe_endpoint() {
    smoke(Target::Unsubscribe);
}

#[test]
fn compact_push_decoder() {
    smoke(Target::CompactPush);
}

#[test]
fn packed_push_decoder() {
    smoke(Target::PackedPush);
}
