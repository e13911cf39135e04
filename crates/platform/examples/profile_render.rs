//! Where render time goes, per component (release): `cargo run --release -p datalyptica-platform --example profile_render`.
use std::time::Instant;

use datalyptica_platform::model::Model;

fn main() {
    let p = datalyptica_platform::Platform::default_ha();
    let m = Model::new(&p);
    for c in m.enabled_components() {
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(c.render(&m));
        }
        let r = t.elapsed() / 20;
        let t = Instant::now();
        for _ in 0..20 {
            std::hint::black_box(datalyptica_platform::ops::files(&m, c));
        }
        println!(
            "{:<11} render {r:?}  ops {:?}",
            c.id().name(),
            t.elapsed() / 20
        );
    }
    let t = Instant::now();
    for _ in 0..20 {
        std::hint::black_box(datalyptica_platform::prereqs::files(&m));
    }
    println!("prereqs {:?}", t.elapsed() / 20);
}
