//! Fuzz targets for every parser that reads bytes from outside: the CSV and JSON Lines import
//! readers, the core's intake of a registration, the server's push decoder, its public
//! registration intake and its public one-click unsubscribe endpoint, and the push decoder's
//! compact form (MessagePack, zstd; protocol 4) and its packed form (binary ids, zstd with a
//! dictionary; protocol 5).
//!
//! Each target is a plain function over bytes that panics when a property fails, so the same
//! code runs under libFuzzer (`fuzz/`, `make fuzz`, nightly) and in the stable smoke test
//! (`tests/smoke.rs`, part of `cargo test`), which replays the committed corpus and crash
//! inputs and then tries structure-aware random inputs from `gen`.

pub mod gen;
pub mod lines;
pub mod server;
pub mod targets;

/// Every target, by the name its corpus folder and libFuzzer binary carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Csv,
    Jsonl,
    CoreIntake,
    Push,
    Registration,
    Unsubscribe,
    CompactPush,
    PackedPush,
}

impl Target {
    /// All targets.
    pub const ALL: [Target; 8] = [
        Target::Csv,
        Target::Jsonl,
        Target::CoreIntake,
        Target::Push,
        Target::Registration,
        Target::Unsubscribe,
        Target::CompactPush,
        Target::PackedPush,
    ];

    /// The name of its folders under `fuzz/corpus/` and `fuzz/regressions/`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Csv => "csv",
            Target::Jsonl => "jsonl",
            Target::CoreIntake => "core_intake",
            Target::Push => "push",
            Target::Registration => "registration",
            Target::Unsubscribe => "unsubscribe",
            Target::CompactPush => "compact_push",
            Target::PackedPush => "packed_push",
        }
    }

    /// Runs the target on one input; panics when a property does not hold.
    pub fn run(self, data: &[u8]) {
        match self {
            Target::Csv => targets::csv(data),
            Target::Jsonl => targets::jsonl(data),
            Target::CoreIntake => targets::core_intake(data),
            Target::Push => targets::push(data),
            Target::Registration => targets::registration(data),
            Target::Unsubscribe => targets::unsubscribe(data),
            Target::CompactPush => targets::compact_push(data),
            Target::PackedPush => targets::packed_push(data),
        }
    }

    /// A structure-aware random input for it.
    pub fn generate(self, rng: &mut impl rand::Rng) -> Vec<u8> {
        match self {
            Target::Csv => gen::csv_file(rng),
            Target::Jsonl => gen::jsonl_file(rng),
            Target::CoreIntake => gen::core_registration(rng),
            Target::Push => gen::push_body(rng),
            Target::Registration => gen::registration_body(rng),
            Target::Unsubscribe => gen::unsubscribe_token(rng),
            Target::CompactPush => gen::compact_push_body(rng),
            Target::PackedPush => gen::packed_push_body(rng),
        }
    }
}
