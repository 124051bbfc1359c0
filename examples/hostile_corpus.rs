//! Writes the hostile corpus of `tests/hostile_scan.rs` into a folder, for
//! `benches/hostile.sh` to time file by file: `cargo run --release --example hostile_corpus DIR`.

// The test helpers, of which this uses the hostile corpus; the expectations are the test's business.
#[path = "../tests/common/mod.rs"]
mod common;
use common::hostile;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: hostile_corpus DIR");
        std::process::exit(2);
    };
    let cases = hostile::write_corpus(std::path::Path::new(&dir));
    println!(
        "{} cases written to {}; scan them with --list {}",
        cases.len(),
        std::path::Path::new(&dir).display(),
        hostile::demo_list().display()
    );
}
