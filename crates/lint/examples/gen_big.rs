//! One big manifest for the memory measurement: N Deployments (~750 bytes each) in one file.
//! `cargo run --release -p datalyptica-lint --example gen_big -- /tmp/big.yaml [N]`
//! (40,000 → 30 MB), then `/usr/bin/time -v target/release/examples/lint /tmp/big.yaml`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "big.yaml".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(40_000);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..n {
        let ns = format!("team-{}", i % 50);
        write!(
            w,
            "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: svc-{i}
spec:
  replicas: {r}
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-{i}
    spec:
      containers:
      - name: app
        image: registry.example.com/shop/svc-{i}:1.{v}.0
        ports:
        - containerPort: 8080
          name: http
        readinessProbe:
          httpGet:
            path: /ready
            port: http
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
        securityContext:
          allowPrivilegeEscalation: false
          runAsNonRoot: true
",
            r = 1 + i % 3,
            v = i % 10
        )?;
    }
    w.flush()?;
    println!("wrote {n} Deployments to {path}");
    Ok(())
}
