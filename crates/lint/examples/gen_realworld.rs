//! Write a tree shaped like a checkout of public Kubernetes repositories (operator examples,
//! an HA install of a GitOps controller, a monitoring stack, an ingress controller, storage and
//! streaming operators): the same mix of file kinds and sizes, not their content.
//!
//! `cargo run --release -p datalyptica-lint --example gen_realworld -- DIR [SCALE]`
//!
//! SCALE 1 (default) writes ~1,300 files, ~18 MB: most files are small examples (0.5–4 KB),
//! a few hundred are multi-document manifests (5–60 KB), and ~60 are CustomResourceDefinitions
//! whose OpenAPI schemas make up most of the bytes (20–500 KB each), as in real trees. Among
//! them: kustomize bases/overlays with patches, Helm charts (Chart.yaml, values, templates),
//! CI workflows and app configs. Deterministic: same SCALE, same bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A small deterministic generator (64-bit LCG), so no dependency and the same tree each run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "the",
    "resource",
    "field",
    "specifies",
    "of",
    "when",
    "is",
    "set",
    "controller",
    "pod",
    "must",
    "be",
    "default",
    "value",
    "name",
    "namespace",
    "cluster",
    "to",
    "and",
    "for",
    "selector",
    "label",
    "volume",
    "container",
    "this",
    "if",
    "not",
    "a",
    "in",
    "status",
];

fn sentence(r: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(r.pick(WORDS));
    }
    s.push('.');
    s
}

/// An OpenAPI property tree like a CRD's: nested objects with descriptions, enums, formats.
fn schema(r: &mut Rng, out: &mut String, indent: usize, depth: usize, budget: &mut isize) {
    let pad = " ".repeat(indent);
    let fields = 2 + r.below(7) as usize;
    for f in 0..fields {
        if *budget <= 0 {
            break;
        }
        let name = format!(
            "{}{}{f}",
            r.pick(WORDS),
            r.pick(&["Ref", "Spec", "Policy", "Config", "Count", "Name"])
        );
        let before = out.len();
        let _ = writeln!(out, "{pad}{name}:");
        let words = 8 + r.below(30) as usize;
        let _ = writeln!(out, "{pad}  description: {}", sentence(r, words));
        match (depth, r.below(6)) {
            (d, 0 | 1) if d > 0 => {
                let _ = writeln!(out, "{pad}  type: object\n{pad}  properties:");
                schema(r, out, indent + 4, depth - 1, budget);
            }
            (d, 2) if d > 0 => {
                let _ = writeln!(
                    out,
                    "{pad}  type: array\n{pad}  items:\n{pad}    type: object\n{pad}    properties:"
                );
                schema(r, out, indent + 6, depth - 1, budget);
                let _ = writeln!(out, "{pad}    x-kubernetes-list-type: atomic");
            }
            (_, 3) => {
                let _ = writeln!(
                    out,
                    "{pad}  type: string\n{pad}  enum: [Always, IfNotPresent, Never]"
                );
            }
            (_, 4) => {
                let _ = writeln!(
                    out,
                    "{pad}  type: integer\n{pad}  format: int32\n{pad}  minimum: 0"
                );
            }
            _ => {
                let _ = writeln!(out, "{pad}  type: string");
            }
        }
        *budget -= (out.len() - before) as isize;
    }
}

fn crd(r: &mut Rng, group: &str, kind: &str, bytes: usize) -> String {
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let mut s = format!(
        "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  annotations:\n    controller-gen.kubebuilder.io/version: v0.16.5\n  name: {plural}.{group}\nspec:\n  group: {group}\n  names:\n    kind: {kind}\n    listKind: {kind}List\n    plural: {plural}\n    singular: {}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources: {{status: {{}}}}\n    schema:\n      openAPIV3Schema:\n        description: {}\n        type: object\n        properties:\n          apiVersion: {{type: string}}\n          kind: {{type: string}}\n          metadata: {{type: object}}\n          spec:\n            type: object\n            properties:\n",
        kind.to_ascii_lowercase(),
        sentence(r, 20)
    );
    let mut budget = bytes as isize;
    while budget > 0 {
        schema(r, &mut s, 14, 5, &mut budget);
    }
    s
}

/// A Deployment/StatefulSet like an ingress or GitOps controller's: args, env, probes, volumes.
fn workload(r: &mut Rng, kind: &str, name: &str, ns: &str, fancy: bool) -> String {
    let replicas = 1 + r.below(3);
    let mut s = format!(
        "---\napiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: stack\n    app.kubernetes.io/component: {}\nspec:\n  replicas: {replicas}\n  revisionHistoryLimit: 3\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {name}\n        app.kubernetes.io/part-of: stack\n    spec:\n      serviceAccountName: {name}\n",
        r.pick(&["controller", "server", "repo-server", "webhook", "exporter"])
    );
    if fancy {
        let _ = write!(
            s,
            "      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 100\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n              labelSelector:\n                matchLabels:\n                  app.kubernetes.io/name: {name}\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile: {{type: RuntimeDefault}}\n"
        );
    }
    let _ = write!(
        s,
        "      containers:\n      - name: {name}\n        image: quay.io/example/{name}:v1.{}.{}\n        imagePullPolicy: IfNotPresent\n        args:\n",
        r.below(20),
        r.below(10)
    );
    for _ in 0..(3 + r.below(12)) {
        let _ = writeln!(
            s,
            "        - --{}-{}={}",
            r.pick(WORDS),
            r.pick(WORDS),
            r.below(1000)
        );
    }
    s.push_str("        env:\n");
    for _ in 0..(2 + r.below(8)) {
        let _ = writeln!(
            s,
            "        - name: {}_{}\n          value: \"{}\"",
            r.pick(WORDS).to_ascii_uppercase(),
            r.pick(WORDS).to_ascii_uppercase(),
            r.below(100)
        );
    }
    let _ = write!(
        s,
        "        - name: POD_NAMESPACE\n          valueFrom:\n            fieldRef: {{fieldPath: metadata.namespace}}\n        ports:\n        - {{name: http, containerPort: 8080, protocol: TCP}}\n        - {{name: metrics, containerPort: 9{:03}, protocol: TCP}}\n        livenessProbe:\n          httpGet: {{path: /healthz, port: 10254}}\n          initialDelaySeconds: 10\n        readinessProbe:\n          httpGet: {{path: /ready, port: http}}\n        resources:\n          requests: {{cpu: 100m, memory: 90Mi}}\n        securityContext:\n          allowPrivilegeEscalation: false\n          capabilities:\n            drop: [ALL]\n            add: [NET_BIND_SERVICE]\n          runAsUser: 101\n        volumeMounts:\n        - {{name: tmp, mountPath: /tmp}}\n        - {{name: config, mountPath: /etc/config, readOnly: true}}\n      volumes:\n      - {{name: tmp, emptyDir: {{}}}}\n      - name: config\n        configMap: {{name: {name}-config}}\n",
        r.below(1000)
    );
    s
}

fn rbac(r: &mut Rng, name: &str, ns: &str) -> String {
    let mut s = format!(
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules:\n"
    );
    for _ in 0..(4 + r.below(20)) {
        let _ = write!(
            s,
            "- apiGroups: [\"{}\"]\n  resources: [{}, {}]\n  verbs: [get, list, watch{}]\n",
            r.pick(&["", "apps", "batch", "networking.k8s.io", "example.io"]),
            r.pick(WORDS),
            r.pick(WORDS),
            if r.below(3) == 0 {
                ", create, update, patch, delete"
            } else {
                ""
            }
        );
    }
    let _ = write!(
        s,
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {name}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}\nsubjects:\n- {{kind: ServiceAccount, name: {name}, namespace: {ns}}}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector: {{app.kubernetes.io/name: {name}}}\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  namespace: {ns}\ndata:\n  config.yaml: |\n    log-level: info\n    timeout: 30s\n"
    );
    s
}

/// Small operator example CRs, as in operators' `examples/` directories.
fn example(r: &mut Rng, i: usize) -> String {
    let ns = r.pick(&["kafka", "postgres", "monitoring", "rook-ceph", "minio"]);
    match i % 7 {
        0 => format!(
            "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata:\n  name: cluster-{i}\n  namespace: {ns}\n  annotations:\n    strimzi.io/node-pools: enabled\n    strimzi.io/kraft: enabled\nspec:\n  kafka:\n    version: 3.9.0\n    listeners:\n    - {{name: plain, port: 9092, type: internal, tls: false}}\n    - {{name: tls, port: 9093, type: internal, tls: true}}\n    config:\n      offsets.topic.replication.factor: {rf}\n      transaction.state.log.replication.factor: {rf}\n      transaction.state.log.min.isr: {isr}\n      default.replication.factor: {rf}\n      min.insync.replicas: {isr}\n  entityOperator:\n    topicOperator: {{}}\n    userOperator: {{}}\n",
            rf = 1 + r.below(3),
            isr = 1 + r.below(2)
        ),
        1 => format!(
            "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\nmetadata:\n  name: pool-{i}\n  namespace: {ns}\n  labels:\n    strimzi.io/cluster: cluster-{}\nspec:\n  replicas: {}\n  roles: [{}]\n  storage:\n    type: jbod\n    volumes:\n    - {{id: 0, type: persistent-claim, size: 100Gi, deleteClaim: false}}\n",
            i - 1,
            1 + r.below(3),
            r.pick(&["controller", "broker", "controller, broker"])
        ),
        2 => format!(
            "apiVersion: postgres-operator.crunchydata.com/v1beta1\nkind: PostgresCluster\nmetadata:\n  name: hippo-{i}\n  namespace: {ns}\nspec:\n  postgresVersion: 16\n  instances:\n  - name: instance1\n    replicas: {}\n    dataVolumeClaimSpec:\n      accessModes: [ReadWriteOnce]\n      resources: {{requests: {{storage: 1Gi}}}}\n  backups:\n    pgbackrest:\n      repos:\n      - name: repo1\n        volume:\n          volumeClaimSpec:\n            accessModes: [ReadWriteOnce]\n            resources: {{requests: {{storage: 1Gi}}}}\n",
            1 + r.below(3)
        ),
        3 => format!(
            "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: sm-{i}\n  namespace: {ns}\n  labels: {{app.kubernetes.io/part-of: stack}}\nspec:\n  selector:\n    matchLabels: {{app.kubernetes.io/name: app-{i}}}\n  endpoints:\n  - {{port: metrics, interval: 30s}}\n"
        ),
        4 => format!(
            "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: rules-{i}\n  namespace: {ns}\nspec:\n  groups:\n  - name: group-{i}\n    rules:\n    - alert: TargetDown{i}\n      expr: up{{job=\"app-{i}\"}} == 0\n      for: 10m\n      labels: {{severity: warning}}\n      annotations:\n        summary: {}\n        description: {}\n",
            sentence(r, 8),
            sentence(r, 20)
        ),
        5 => format!(
            "apiVersion: ceph.rook.io/v1\nkind: CephBlockPool\nmetadata:\n  name: pool-{i}\n  namespace: {ns}\nspec:\n  failureDomain: host\n  replicated:\n    size: 3\n    requireSafeReplicaSize: true\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: rook-ceph-block-{i}\nprovisioner: rook-ceph.rbd.csi.ceph.com\nparameters:\n  clusterID: rook-ceph\n  pool: pool-{i}\n  imageFormat: \"2\"\n  csi.storage.k8s.io/fstype: ext4\nreclaimPolicy: Delete\nallowVolumeExpansion: true\n"
        ),
        _ => format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: claim-{i}\n  namespace: {ns}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {}Gi\n  storageClassName: rook-ceph-block\n",
            1 + r.below(100)
        ),
    }
}

fn write(root: &Path, rel: &str, text: &str, n: &mut (usize, usize)) -> std::io::Result<()> {
    let p: PathBuf = root.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(&p, text)?;
    n.0 += 1;
    n.1 += text.len();
    Ok(())
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| "realworld-tree".into()));
    let scale: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let mut r = Rng(0x5eed);
    let mut n = (0usize, 0usize);
    for rep in 0..scale {
        let top = format!("repo{rep}");
        // CRDs: ~60 files, most bytes of the tree.
        for i in 0..60 {
            let size = if i % 10 == 0 {
                400_000
            } else {
                20_000 + 4_000 * (i % 40)
            };
            let kind = format!("Widget{i}");
            let text = crd(&mut r, &format!("g{i}.example.io"), &kind, size);
            let dir = ["crds", "deploy/crds", "manifests/setup", "config/crd/bases"][i % 4];
            write(&root, &format!("{top}/{dir}/crd-{i}.yaml"), &text, &mut n)?;
        }
        // Install manifests of controllers: ~250 multi-document files.
        for i in 0..250 {
            let ns = r.pick(&[
                "argocd",
                "monitoring",
                "ingress-nginx",
                "rook-ceph",
                "strimzi",
            ]);
            let name = format!("comp-{i}");
            let mut text = rbac(&mut r, &name, ns);
            for k in 0..(1 + r.below(4)) {
                let kind = if k % 3 == 2 {
                    "StatefulSet"
                } else {
                    "Deployment"
                };
                text += &workload(&mut r, kind, &format!("{name}-{k}"), ns, i % 2 == 0);
            }
            if i % 3 == 0 {
                let _ = write!(
                    text,
                    "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels: {{app.kubernetes.io/name: {name}-0}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{app.kubernetes.io/name: {name}-0}}\n  policyTypes: [Ingress]\n  ingress:\n  - ports: [{{port: 8080}}]\n"
                );
            }
            let dir = ["manifests", "deploy/static", "install", "examples/install"][i % 4];
            write(&root, &format!("{top}/{dir}/{name}.yaml"), &text, &mut n)?;
        }
        // Operator examples: ~850 small files.
        for i in 0..850 {
            let text = example(&mut r, i);
            let dir = [
                "examples/kafka",
                "examples/postgres",
                "examples/monitoring",
                "deploy/examples",
                "docs/examples",
            ][i % 5];
            write(
                &root,
                &format!("{top}/{dir}/example-{i}.yaml"),
                &text,
                &mut n,
            )?;
        }
        // kustomize: bases and overlays with patches (~60 files).
        for i in 0..12 {
            let base = format!("{top}/kustomize/app{i}/base");
            write(
                &root,
                &format!("{base}/kustomization.yaml"),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n",
                &mut n,
            )?;
            let w = workload(&mut r, "Deployment", &format!("app{i}"), "shop", true);
            write(&root, &format!("{base}/deployment.yaml"), &w, &mut n)?;
            for env in ["dev", "prod"] {
                let o = format!("{top}/kustomize/app{i}/overlays/{env}");
                write(
                    &root,
                    &format!("{o}/kustomization.yaml"),
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n- ../../base\npatches:\n- path: replicas.yaml\n- path: ops.yaml\n  target: {kind: Deployment}\n",
                    &mut n,
                )?;
                write(
                    &root,
                    &format!("{o}/replicas.yaml"),
                    &format!(
                        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: shop\nspec:\n  replicas: 3\n"
                    ),
                    &mut n,
                )?;
                write(
                    &root,
                    &format!("{o}/ops.yaml"),
                    "- op: add\n  path: /metadata/labels/env\n  value: x\n",
                    &mut n,
                )?;
            }
        }
        // Helm charts (~40 files) and CI / config files (~20).
        for i in 0..5 {
            let c = format!("{top}/charts/chart{i}");
            write(
                &root,
                &format!("{c}/Chart.yaml"),
                &format!(
                    "apiVersion: v2\nname: chart{i}\nversion: 1.{i}.0\nappVersion: \"2.{i}\"\n"
                ),
                &mut n,
            )?;
            let mut values = String::new();
            for k in 0..80 {
                let _ = writeln!(
                    values,
                    "# {}\n{}{k}: {}",
                    sentence(&mut r, 12),
                    r.pick(WORDS),
                    r.below(100)
                );
            }
            write(&root, &format!("{c}/values.yaml"), &values, &mut n)?;
            for t in 0..6 {
                write(
                    &root,
                    &format!("{c}/templates/t{t}.yaml"),
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"chart.fullname\" . }}\n  labels:\n    {{- include \"chart.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n",
                    &mut n,
                )?;
            }
        }
        for i in 0..20 {
            write(
                &root,
                &format!("{top}/ci/workflows-{i}/ci.yaml"),
                "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n    - uses: actions/checkout@v4\n    - run: make test\n",
                &mut n,
            )?;
        }
    }
    println!(
        "wrote {} files, {:.1} MB under {}",
        n.0,
        n.1 as f64 / 1e6,
        root.display()
    );
    Ok(())
}
