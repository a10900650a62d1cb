//! Writes structure-aware inputs into a libFuzzer corpus folder (`make fuzz` runs it first), so
//! the long run starts from well-formed files and bodies instead of from nothing.
//!
//! `cargo run -p switchboard-fuzz --example seed_corpus -- fuzz/corpus [COUNT] [SEED]`

use rand::{rngs::StdRng, SeedableRng};
use std::path::PathBuf;
use switchboard_fuzz::Target;

/// Inputs larger than this are left out: libFuzzer mutates small inputs faster.
const MAX_SEED_BYTES: usize = 256 * 1024;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "fuzz/corpus".into()));
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(seed);
    for target in Target::ALL {
        let folder = dir.join(target.name());
        std::fs::create_dir_all(&folder)?;
        let mut written = 0;
        while written < count {
            let data = target.generate(&mut rng);
            if data.len() <= MAX_SEED_BYTES {
                std::fs::write(folder.join(format!("gen-{seed}-{written}")), data)?;
                written += 1;
            }
        }
        println!(
            "{}: {written} inputs in {}",
            target.name(),
            folder.display()
        );
    }
    Ok(())
}
