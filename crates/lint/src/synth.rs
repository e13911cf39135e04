//! A synthetic manifest tree for the benchmark and the RSS measurement: mixed kinds, a mix of
//! clean and faulty objects, spread over namespaces so that cross-object rules have work.

use std::fmt::Write as _;

use crate::Source;

fn object(i: usize, ns: &str) -> String {
    let n = i / 13;
    let mut s = String::new();
    let _ = match i % 13 {
        0 => write!(
            s,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{n}\n  namespace: {ns}\n  labels: {{app: web-{n}}}\nspec:\n  replicas: {r}\n  selector:\n    matchLabels: {{app: web-{n}}}\n  template:\n    metadata:\n      labels: {{app: web-{n}, tier: front}}\n    spec:\n      automountServiceAccountToken: false\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile: {{type: RuntimeDefault}}\n      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n          - topologyKey: kubernetes.io/hostname\n            labelSelector: {{matchLabels: {{app: web-{n}}}}}\n      topologySpreadConstraints:\n      - topologyKey: topology.kubernetes.io/zone\n        maxSkew: 1\n        whenUnsatisfiable: ScheduleAnyway\n        labelSelector: {{matchLabels: {{app: web-{n}}}}}\n      containers:\n      - name: web\n        image: quay.io/org/web:1.{n}\n        ports: [{{name: http, containerPort: 8080}}]\n        env:\n        - {{name: MODE, value: prod}}\n        - name: DB_PASSWORD\n          valueFrom: {{secretKeyRef: {{name: db, key: password}}}}\n        readinessProbe: {{httpGet: {{path: /ready, port: http}}}}\n        livenessProbe: {{tcpSocket: {{port: 8080}}}}\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n          limits: {{memory: 256Mi}}\n        securityContext:\n          allowPrivilegeEscalation: false\n          capabilities: {{drop: [ALL]}}\n          readOnlyRootFilesystem: true\n",
            r = 1 + n % 3
        ),
        1 => write!(
            s,
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: etcd-{n}\n  namespace: {ns}\nspec:\n  replicas: {r}\n  serviceName: etcd-{n}\n  selector:\n    matchLabels: {{app: etcd-{n}}}\n  template:\n    metadata:\n      labels: {{app: etcd-{n}}}\n    spec:\n      securityContext: {{runAsUser: 1000}}\n      containers:\n      - name: etcd\n        image: quay.io/coreos/etcd:v3.5.{n}\n        ports: [{{name: client, containerPort: 2379}}, {{name: peer, containerPort: 2380}}]\n        readinessProbe: {{httpGet: {{path: /health, port: client}}}}\n        resources: {{requests: {{cpu: 200m, memory: 256Mi}}}}\n  volumeClaimTemplates:\n  - metadata: {{name: data}}\n    spec:\n      accessModes: [ReadWriteOnce]\n      storageClassName: ssd\n      resources: {{requests: {{storage: 8Gi}}}}\n",
            r = 2 + n % 2
        ),
        2 => write!(
            s,
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: etcd-{n}\n  namespace: {ns}\nspec:\n  minAvailable: {m}\n  selector:\n    matchLabels: {{app: etcd-{n}}}\n",
            m = if n.is_multiple_of(2) { "\"50%\"" } else { "2" }
        ),
        3 => write!(
            s,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-{n}\n  namespace: {ns}\nspec:\n  selector: {{app: web-{n}}}\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n"
        ),
        4 => write!(
            s,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf-{n}\n  namespace: {ns}\ndata:\n  app.properties: |\n    server.port=8080\n    db.url=jdbc:postgresql://pg:5432/app\n    db.password={pw}\n  LOG_LEVEL: info\n",
            pw = if n.is_multiple_of(4) {
                "plain-text-secret"
            } else {
                "${ENV:DB_PASSWORD}"
            }
        ),
        5 => write!(
            s,
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-web-{n}\n  namespace: {ns}\nspec:\n  podSelector: {{matchLabels: {{app: web-{n}}}}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{{podSelector: {{}}}}]\n    ports: [{{port: 8080}}]\n"
        ),
        6 => write!(
            s,
            "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata:\n  name: web-{n}\n  namespace: {ns}\nspec:\n  to: {{kind: Service, name: web-{n}}}\n  tls: {{termination: edge, insecureEdgeTerminationPolicy: {p}}}\n",
            p = if n.is_multiple_of(3) {
                "Allow"
            } else {
                "Redirect"
            }
        ),
        7 => write!(
            s,
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: shared-{n}\n  namespace: {ns}\nspec:\n  accessModes: [ReadWriteMany]\n  storageClassName: {c}\n  resources: {{requests: {{storage: 10Gi}}}}\n",
            c = if n.is_multiple_of(2) { "cephfs" } else { "gp3" }
        ),
        8 => write!(
            s,
            "apiVersion: postgres-operator.crunchydata.com/v1beta1\nkind: PostgresCluster\nmetadata:\n  name: pg-{n}\n  namespace: {ns}\nspec:\n  postgresVersion: 16\n  instances:\n  - name: pgha1\n    replicas: {r}\n    dataVolumeClaimSpec:\n      storageClassName: ssd\n      accessModes: [ReadWriteOnce]\n      resources: {{requests: {{storage: 20Gi}}}}\n  patroni:\n    leaderLeaseDurationSeconds: {ttl}\n    syncPeriodSeconds: 10\n    dynamicConfiguration:\n      synchronous_mode: true\n",
            r = 1 + n % 3,
            ttl = if n.is_multiple_of(2) { 30 } else { 20 }
        ),
        9 => write!(
            s,
            "apiVersion: kafka.strimzi.io/v1\nkind: Kafka\nmetadata:\n  name: kafka-{n}\n  namespace: {ns}\nspec:\n  kafka:\n    rack: {{topologyKey: topology.kubernetes.io/zone}}\n    config:\n      default.replication.factor: 3\n      min.insync.replicas: {isr}\n      offsets.topic.replication.factor: 3\n      transaction.state.log.replication.factor: 3\n      transaction.state.log.min.isr: 2\n",
            isr = 1 + n % 3
        ),
        10 => write!(
            s,
            "apiVersion: kafka.strimzi.io/v1\nkind: KafkaNodePool\nmetadata:\n  name: controllers-{n}\n  namespace: {ns}\n  labels: {{strimzi.io/cluster: kafka-{m}}}\nspec:\n  replicas: {r}\n  roles: [controller]\n  storage: {{type: persistent-claim, size: 10Gi, class: ssd}}\n",
            m = n,
            r = 2 + n % 2
        ),
        11 => write!(
            s,
            "apiVersion: redis.redis.opstreelabs.in/v1beta2\nkind: RedisSentinel\nmetadata:\n  name: sentinel-{n}\n  namespace: {ns}\nspec:\n  clusterSize: 3\n  redisSentinelConfig:\n    redisReplicationName: redis-{n}\n    quorum: \"{q}\"\n",
            q = 1 + n % 3
        ),
        _ => write!(
            s,
            "apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata:\n  name: minio-{n}\n  namespace: {ns}\nspec:\n  image: quay.io/minio/minio:RELEASE.2025-01-01T00-00-00Z\n  pools:\n  - name: pool-0\n    servers: {sv}\n    volumesPerServer: 4\n    volumeClaimTemplate:\n      spec: {{storageClassName: ssd, accessModes: [ReadWriteOnce]}}\n",
            sv = 2 + n % 3
        ),
    };
    s
}

/// `objects` objects in `files` in-memory files (plus one Namespace + default-deny policy per
/// namespace in a prerequisites file), 25 namespaces.
pub fn tree(objects: usize, files: usize) -> Vec<Source> {
    let files = files.max(1);
    let per_file = objects.div_ceil(files);
    let namespaces = 25;
    let mut out = Vec::with_capacity(files + 1);
    let mut prereq = String::new();
    for k in 0..namespaces {
        let _ = write!(
            prereq,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{k}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: ns-{k}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n"
        );
    }
    out.push(Source::new("00-prereqs/namespaces.yaml", prereq));
    let mut i = 0;
    for f in 0..files {
        let ns = format!("ns-{}", f % namespaces);
        let mut text = String::new();
        for _ in 0..per_file {
            if i >= objects {
                break;
            }
            text.push_str("---\n");
            text.push_str(&object(i, &ns));
            i += 1;
        }
        out.push(Source::new(
            format!("ns-{}/file-{f:04}.yaml", f % namespaces),
            text,
        ));
    }
    out
}

/// `groups` Deployments, each with its own NetworkPolicy and PodDisruptionBudget (3 objects a
/// group), spread round-robin over `namespaces` namespaces, one file per group. Every selector
/// shares a `part-of` pair with all pods and differs by `app`, as kustomize's commonLabels
/// make it: matching must not degrade when all of them share one namespace.
pub fn crowd(groups: usize, namespaces: usize) -> Vec<Source> {
    (0..groups)
        .map(|i| {
            let ns = format!("ns-{}", i % namespaces.max(1));
            let text = format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{part-of: shop, app: app-{i}}}\n  template:\n    metadata:\n      labels: {{part-of: shop, app: app-{i}}}\n    spec:\n      containers:\n      - name: app\n        image: quay.io/org/app:1.{i}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: app-{i}\n  namespace: {ns}\nspec:\n  podSelector:\n    matchLabels: {{part-of: shop, app: app-{i}}}\n  policyTypes: [Ingress]\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: app-{i}\n  namespace: {ns}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels: {{part-of: shop, app: app-{i}}}\n"
            );
            Source::new(format!("{ns}/app-{i}.yaml"), text)
        })
        .collect()
}
