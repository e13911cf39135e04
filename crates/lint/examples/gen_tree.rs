//! Write the benchmark's synthetic tree to a directory, to measure the CLI end to end:
//! `cargo run --release -p datalyptica-lint --example gen_tree -- /tmp/tree [OBJECTS] [FILES]`.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "lint-tree".into()));
    let objects = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let files = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    for s in datalyptica_lint::synth::tree(objects, files) {
        let p = dir.join(&s.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, s.text)?;
    }
    println!(
        "wrote {objects} objects in {files} files under {}",
        dir.display()
    );
    Ok(())
}
