//! The rule registry. Adding a rule = one entry in [`RULES`] plus its check function and a
//! fixture directory `tests/fixtures/<ID>/`.

mod ha;
mod listkeys;
mod operators;
mod sec;
mod spec;
mod sto;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::Severity;
use crate::model::{Index, Obj};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Input,
    Ha,
    Security,
    Storage,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Input => "input",
            Category::Ha => "ha",
            Category::Security => "security",
            Category::Storage => "storage",
        }
    }
}

/// Everything a rule may look at: all objects of the tree and indexes over them.
pub(crate) struct Ctx<'a> {
    pub objs: Vec<Obj<'a>>,
    pub index: Index<'a>,
    /// PodDisruptionBudget index → the workloads it selects (index, replicas).
    pub pdb_targets: HashMap<usize, Vec<(usize, i64)>>,
    /// Workloads selected by at least one PodDisruptionBudget.
    pub pdb_covered: HashSet<usize>,
    /// Pods that known operators create from custom resources of the tree.
    pub operator_pods: Vec<ha::OperatorPods<'a>>,
    /// PodDisruptionBudget index → the operator pod groups it selects.
    pub pdb_operator_targets: HashMap<usize, Vec<usize>>,
    /// Objects with a pod template that at least one NetworkPolicy selects.
    pub netpol_selected: HashSet<usize>,
    /// Service accounts (namespace, name) that turn token automounting off.
    pub sa_no_token: HashSet<(&'a str, &'a str)>,
    /// Strimzi node pools per (namespace, cluster).
    pub kafka_pools: HashMap<(&'a str, &'a str), operators::Pools>,
    /// Pods (by replica count) mounting each claim, by (namespace, claim).
    pub claim_users: HashMap<(&'a str, &'a str), i64>,
}

impl<'a> Ctx<'a> {
    pub fn new(objs: Vec<Obj<'a>>) -> Self {
        let index = Index::build(&objs);
        let kafka_pools = operators::pools(&objs);
        let operator_pods = ha::operator_pods(&objs);
        let sa_no_token = objs
            .iter()
            .filter(|o| {
                o.kind == "ServiceAccount"
                    && o.get(&["automountServiceAccountToken"])
                        .and_then(crate::model::as_bool)
                        == Some(false)
            })
            .map(|o| (o.ns(), o.name))
            .collect();
        let mut ctx = Ctx {
            objs,
            index,
            pdb_targets: HashMap::new(),
            pdb_covered: HashSet::new(),
            operator_pods,
            pdb_operator_targets: HashMap::new(),
            netpol_selected: HashSet::new(),
            sa_no_token,
            kafka_pools,
            claim_users: HashMap::new(),
        };
        ctx.claim_users = sto::claim_users(&ctx);
        let pods = ha::pod_label_index(&ctx.objs);
        let pdbs: Vec<usize> = (0..ctx.objs.len())
            .filter(|&i| ctx.objs[i].kind == "PodDisruptionBudget")
            .collect();
        let targets: HashMap<usize, Vec<(usize, i64)>> = pdbs
            .par_iter()
            .map(|&i| (i, ha::compute_pdb_targets(&ctx, &pods, &ctx.objs[i])))
            .collect();
        let op_targets: HashMap<usize, Vec<usize>> = if ctx.operator_pods.is_empty() {
            HashMap::new()
        } else {
            pdbs.par_iter()
                .map(|&i| (i, ha::compute_pdb_operator_targets(&ctx, &ctx.objs[i])))
                .filter(|(_, v)| !v.is_empty())
                .collect()
        };
        ctx.netpol_selected = sec::compute_netpol_selected(&ctx, &pods);
        ctx.pdb_covered = targets.values().flatten().map(|(k, _)| *k).collect();
        ctx.pdb_targets = targets;
        ctx.pdb_operator_targets = op_targets;
        ctx
    }
}

impl<'a> Ctx<'a> {
    pub fn of_kind(&self, ns: &'a str, kind: &'a str) -> impl Iterator<Item = &Obj<'a>> {
        self.index
            .of_kind(ns, kind)
            .iter()
            .map(move |&i| &self.objs[i])
    }
}

/// A rule's raw result: object index, JSON pointer relative to the object, message.
pub(crate) struct Hit {
    pub obj: usize,
    pub pointer: String,
    pub message: String,
}

pub(crate) type ObjectCheck = fn(&Ctx, usize, &Obj, &mut Vec<Hit>);
pub(crate) type TreeCheck = fn(&Ctx, &mut Vec<Hit>);

#[derive(Clone, Copy)]
pub(crate) enum Check {
    /// Emitted by the engine itself (parse errors, unknown kinds, bad waivers).
    Input,
    /// Runs once per object (in parallel), with the whole tree available for context.
    Object(ObjectCheck),
    /// Runs once over the whole tree.
    Tree(TreeCheck),
}

pub struct Rule {
    /// Stable id: DL0xxx input, DL1xxx HA, DL2xxx security, DL3xxx storage.
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub title: &'static str,
    pub rationale: &'static str,
    pub hint: &'static str,
    pub example: &'static str,
    pub(crate) check: Check,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("severity", &self.severity)
            .field("title", &self.title)
            .finish()
    }
}

pub fn rules() -> &'static [Rule] {
    RULES
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

use Category::{Ha, Security, Storage};
use Check::{Object, Tree};
use Severity::{Error as E, Info as I, Warning as W};

macro_rules! r {
    ($id:literal, $cat:expr, $sev:expr, $check:expr, $title:literal, $rationale:literal, $hint:literal, $example:literal $(,)?) => {
        Rule {
            id: $id,
            category: $cat,
            severity: $sev,
            check: $check,
            title: $title,
            rationale: $rationale,
            hint: $hint,
            example: $example,
        }
    };
}

pub(crate) const YAML_ERROR: &str = "DL0001";
pub(crate) const NOT_OBJECT: &str = "DL0002";
pub(crate) const UNKNOWN_KIND: &str = "DL0003";
pub(crate) const BAD_WAIVER: &str = "DL0004";
pub(crate) const SKIPPED: &str = "DL0005";

pub static RULES: &[Rule] = &[
    r!(
        "DL0001",
        Category::Input,
        E,
        Check::Input,
        "YAML does not parse",
        "A file that does not parse is applied by no tool; the rest of the tree is still linted so one typo does not hide other findings.",
        "Fix the YAML syntax at the reported position.",
        "metadata:\n  name: [unclosed"
    ),
    r!(
        "DL0002",
        Category::Input,
        E,
        Check::Input,
        "document is not a Kubernetes object",
        "Every document of a manifest tree must be a mapping with apiVersion, kind and metadata.name; scalars, lists and nameless objects are rejected by the API server.",
        "Make the document a mapping with apiVersion, kind and metadata.name, or delete it.",
        "--- just a string\n--- [1, 2]"
    ),
    r!(
        "DL0003",
        Category::Input,
        I,
        Check::Input,
        "unknown kind",
        "The linter only knows core Kubernetes, OpenShift and the platform's operator kinds; objects of other kinds are parsed but no kind-specific rule can judge them.",
        "Check the kind for typos, or declare it under `kinds:` in .datalyptica-lint.yaml.",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}"
    ),
    r!(
        "DL0004",
        Category::Input,
        W,
        Check::Input,
        "invalid waiver annotation",
        "A waiver must name known rule ids and give a reason, so that reviewers can judge every exception; a malformed waiver waives nothing.",
        "Write `lint.datalyptica.io/waive: \"DL1001: reason; DL2010, DL2011: reason\"`.",
        "metadata:\n  annotations:\n    lint.datalyptica.io/waive: \"DL9999\""
    ),
    r!(
        "DL0005",
        Category::Input,
        I,
        Check::Input,
        "file skipped: not a Kubernetes manifest",
        "Trees hold more than objects to apply: kustomizations and the patches and configs they read, Helm charts' Chart.yaml, values and templates, CI workflows and application config. Linting them as objects only produces false errors, so each is skipped with a note saying what it was taken for. With --kustomize, each kustomization root is linted from the output of `kustomize build`; a Helm chart is linted from `helm template`'s output. Symbolic links that leave the tree or form a loop are skipped with this note too.",
        "Nothing to fix if the file is what the note says; otherwise give each object apiVersion, kind and metadata, or lint the built/rendered output.",
        "# values.yaml of a chart\nreplicaCount: 2"
    ),
    r!(
        "DL0010",
        Category::Input,
        E,
        Object(listkeys::duplicate_list_keys),
        "duplicate key in a pod spec list map",
        "Containers (by name), a container's env (by name), ports (by containerPort and protocol, and by name), volume mounts (by mountPath) and volumes (by name) are list maps: server-side apply refuses an object that repeats a key, although client-side apply let the last entry win. Operators that build pods from a template add ports of their own (Flink's rest, jobmanager-rpc, blobserver, taskmanager-rpc): declaring those in the template makes the same duplicate, in the operator's object.",
        "Keep one entry per key; for ports an operator adds, declare none in the template and refer to them by number (probes) or by the operator's name.",
        "env:\n- {name: MODE, value: a}\n- {name: MODE, value: b}   # duplicate key name=MODE"
    ),
    // --- HA -----------------------------------------------------------------------------
    r!(
        "DL1001",
        Ha,
        E,
        Object(ha::replicas),
        "replicated workload has fewer than 2 replicas",
        "One replica means every node drain, eviction or crash is an outage. Workloads of an HA platform run at least two replicas (an HPA's minReplicas counts); scale to 0 on purpose is not reported.",
        "Set spec.replicas (or the HPA's minReplicas) to 2 or more, or waive with a reason.",
        "kind: Deployment\nspec:\n  replicas: 1   # DL1001"
    ),
    r!(
        "DL1002",
        Ha,
        E,
        Object(ha::quorum_size),
        "quorum set is not an odd size of at least 3",
        "Raft/ZAB/Sentinel sets need a majority (n/2+1) to make progress. 1 member tolerates no failure; an even size tolerates no more failures than the odd size below it while adding one more member that can fail. Covers etcd/ZooKeeper/Keeper/Sentinel StatefulSets, RedisSentinel, ClickHouseKeeperInstallation and EtcdCluster.",
        "Use 3 (tolerates 1 failure) or 5 (tolerates 2) members.",
        "kind: StatefulSet\nmetadata: {name: etcd}\nspec:\n  replicas: 2   # DL1002"
    ),
    r!(
        "DL1003",
        Ha,
        E,
        Object(ha::anti_affinity),
        "replicas are not spread across nodes by required anti-affinity",
        "Without a required pod anti-affinity on kubernetes.io/hostname (or on a zone key, which separates them even further) the scheduler may place all replicas on one node, and that node's loss takes the whole set down. The term's labelSelector must match the pods' own labels.",
        "Add affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution with topologyKey kubernetes.io/hostname and a labelSelector matching the pod labels.",
        "affinity:\n  podAntiAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n    - topologyKey: kubernetes.io/hostname\n      labelSelector: {matchLabels: {app: x}}"
    ),
    r!(
        "DL1004",
        Ha,
        W,
        Object(ha::zone_spread),
        "replicas are not spread across zones",
        "Node anti-affinity does not survive a zone outage. A topologySpreadConstraint (or anti-affinity) on topology.kubernetes.io/zone keeps replicas in different zones where the cluster has them.",
        "Add topologySpreadConstraints with topologyKey topology.kubernetes.io/zone, maxSkew 1, whenUnsatisfiable ScheduleAnyway (or DoNotSchedule).",
        "topologySpreadConstraints:\n- topologyKey: topology.kubernetes.io/zone\n  maxSkew: 1\n  whenUnsatisfiable: ScheduleAnyway\n  labelSelector: {matchLabels: {app: x}}"
    ),
    r!(
        "DL1005",
        Ha,
        E,
        Object(ha::pdb_exists),
        "replicated workload has no PodDisruptionBudget",
        "Node drains (cluster upgrades) evict pods without limit unless a PodDisruptionBudget selects them, so all replicas can be down at once.",
        "Add a PodDisruptionBudget in the same namespace whose selector matches the pod template labels.",
        "kind: PodDisruptionBudget\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: x}}"
    ),
    r!(
        "DL1006",
        Ha,
        E,
        Object(ha::pdb_quorum),
        "PodDisruptionBudget allows quorum loss",
        "For a quorum set of n members with majority q = n/2+1, a budget that lets more than n-q members be evicted lets a drain break the quorum (minAvailable must be >= q, maxUnavailable <= n-q). For other workloads the budget must keep at least one pod. Percentages round up.",
        "For 3 members use maxUnavailable: 1 (or minAvailable: 2).",
        "kind: PodDisruptionBudget\nspec:\n  minAvailable: 1   # DL1006 for a 3-member etcd"
    ),
    r!(
        "DL1007",
        Ha,
        E,
        Object(ha::pdb_blocks),
        "PodDisruptionBudget blocks all evictions",
        "A budget that allows zero disruptions (minAvailable >= replicas, maxUnavailable 0 or 0%) makes every node drain hang, which blocks cluster upgrades.",
        "Allow at least one disruption, e.g. maxUnavailable: 1.",
        "kind: PodDisruptionBudget\nspec:\n  maxUnavailable: 0   # DL1007"
    ),
    r!(
        "DL1008",
        Ha,
        W,
        Object(ha::probes),
        "container has no liveness or readiness probe",
        "Without a readiness probe a Service sends traffic to pods that are not ready (e.g. during failover); without a liveness probe a hung process is never restarted.",
        "Add readinessProbe and livenessProbe (httpGet/tcpSocket/exec/grpc) to every long-running container.",
        "readinessProbe:\n  httpGet: {path: /ready, port: http}"
    ),
    r!(
        "DL1009",
        Ha,
        E,
        Object(ha::probe_ports),
        "probe targets a port the container does not have",
        "A probe on a named port is resolved against the container's declared ports: a name the container does not declare never resolves, so the probe keeps the pod unready or restarts it forever. Numeric ports are dialled as written and need no declaration (processes often serve health or metrics on an undeclared port).",
        "Declare the named port in the container's ports, or point the probe at a declared name or a number.",
        "ports: [{name: http, containerPort: 8080}]\nreadinessProbe:\n  httpGet: {port: metrics}   # DL1009"
    ),
    r!(
        "DL1010",
        Ha,
        W,
        Object(ha::bare_pod),
        "bare Pod without a controller",
        "A Pod not owned by a Deployment/StatefulSet/Job is never rescheduled after its node fails.",
        "Wrap the pod in a Deployment or StatefulSet (or a Job for one-shot work).",
        "kind: Pod   # DL1010"
    ),
    r!(
        "DL1011",
        Ha,
        E,
        Object(operators::pgo_instances),
        "PostgresCluster has fewer than 2 instances",
        "PGO runs one PostgreSQL pod per instance replica; with one there is no standby to fail over to and every restart is downtime.",
        "Set spec.instances[].replicas so the total is at least 2 (3 for synchronous mode with a spare).",
        "spec:\n  instances:\n  - name: pgha1\n    replicas: 1   # DL1011"
    ),
    r!(
        "DL1012",
        Ha,
        W,
        Object(operators::pgo_sync),
        "PostgresCluster without synchronous replication",
        "With asynchronous replication Patroni may promote a standby that misses acknowledged commits (RPO > 0). `synchronous_mode: true` in Patroni's dynamic configuration fails over only to a synchronous standby.",
        "Set spec.patroni.dynamicConfiguration.synchronous_mode: true.",
        "spec:\n  patroni:\n    dynamicConfiguration:\n      synchronous_mode: true"
    ),
    r!(
        "DL1013",
        Ha,
        E,
        Object(operators::patroni_timing),
        "Patroni timing breaks ttl >= loop_wait + 2 x retry_timeout",
        "Patroni's leader key lives ttl seconds; the leader renews it every loop_wait and may spend up to retry_timeout on each of two DCS retries. If ttl < loop_wait + 2 x retry_timeout a healthy leader can lose its lock during a DCS hiccup and cause a needless failover. PGO maps ttl to spec.patroni.leaderLeaseDurationSeconds (default 30) and loop_wait to syncPeriodSeconds (default 10); retry_timeout comes from dynamicConfiguration (default 10). Plain Patroni configs in ConfigMaps are checked too.",
        "Raise leaderLeaseDurationSeconds or lower syncPeriodSeconds/retry_timeout, e.g. ttl 30, loop_wait 10, retry_timeout 10.",
        "spec:\n  patroni:\n    leaderLeaseDurationSeconds: 15\n    syncPeriodSeconds: 10   # DL1013: 15 < 10 + 2*10"
    ),
    r!(
        "DL1014",
        Ha,
        E,
        Object(operators::sentinel_quorum),
        "Redis Sentinel quorum does not fit the sentinel count",
        "The Sentinel quorum is the number of sentinels that must agree the master is down. Below a majority, a minority partition can declare it down; above the sentinel count no failover ever starts.",
        "Set redisSentinelConfig.quorum to clusterSize/2+1 (2 for 3 sentinels).",
        "spec:\n  clusterSize: 3\n  redisSentinelConfig:\n    quorum: \"1\"   # DL1014"
    ),
    r!(
        "DL1015",
        Ha,
        E,
        Object(operators::kafka_min_isr),
        "Kafka min.insync.replicas is not between 2 and RF-1",
        "With acks=all a write is acknowledged by min.insync.replicas brokers. At 1 an acknowledged write can live on one broker only; equal to the replication factor, a single broker loss (or a rolling restart) blocks all producers.",
        "Use replication factor 3 with min.insync.replicas 2 (also transaction.state.log.min.isr 2).",
        "config:\n  default.replication.factor: 3\n  min.insync.replicas: 3   # DL1015"
    ),
    r!(
        "DL1016",
        Ha,
        E,
        Object(operators::kafka_rf),
        "Kafka replication factor below 3 or above the broker count",
        "A replication factor below 3 cannot keep min.insync.replicas 2 through one broker loss; one above the number of brokers makes topic creation (including the offsets and transaction topics) fail.",
        "Set default.replication.factor, offsets.topic.replication.factor and transaction.state.log.replication.factor to 3 with at least 3 brokers.",
        "config:\n  default.replication.factor: 1   # DL1016"
    ),
    r!(
        "DL1017",
        Ha,
        E,
        Object(operators::kraft_controllers),
        "KRaft controller quorum is not an odd size of at least 3",
        "Strimzi KRaft controllers (KafkaNodePools with role controller, summed per cluster) form a Raft quorum: they need an odd count of at least 3 to survive a controller loss.",
        "Give the controller pools 3 (or 5) replicas in total.",
        "kind: KafkaNodePool\nspec:\n  replicas: 2   # DL1017\n  roles: [controller]"
    ),
    r!(
        "DL1018",
        Ha,
        W,
        Object(operators::kafka_rack),
        "Kafka without rack awareness",
        "Without spec.kafka.rack Kafka may put all replicas of a partition in one zone, so a zone outage loses partitions despite RF 3.",
        "Set spec.kafka.rack.topologyKey: topology.kubernetes.io/zone.",
        "spec:\n  kafka:\n    rack:\n      topologyKey: topology.kubernetes.io/zone"
    ),
    r!(
        "DL1019",
        Ha,
        E,
        Object(operators::minio_parity),
        "MinIO pool cannot keep write quorum through one server loss",
        "MinIO splits the drives of a pool (servers x volumesPerServer) into erasure sets of 2-16 drives with parity EC:N (default 2 for 4-5 drives, 3 for 6-7, 4 for 8-16; or MINIO_STORAGE_CLASS_STANDARD). Write quorum is set-parity (+1 when parity is half the set). If one server holds more drives of a set than that margin, losing it stops writes; parity above half the set is invalid.",
        "Use at least 4 servers per pool, and parity that covers one server's drives (e.g. 4 servers x 4 drives with EC:4).",
        "pools:\n- servers: 2   # DL1019\n  volumesPerServer: 2"
    ),
    r!(
        "DL1020",
        Ha,
        E,
        Object(operators::flink_ha),
        "FlinkDeployment without JobManager HA",
        "Without high-availability.type (kubernetes or zookeeper) and high-availability.storageDir a JobManager restart loses the job graph and checkpoint pointers; last-state upgrades also need HA metadata.",
        "Set flinkConfiguration high-availability.type: kubernetes and high-availability.storageDir: s3://…/ha.",
        "flinkConfiguration:\n  high-availability.type: kubernetes\n  high-availability.storageDir: s3://flink/ha"
    ),
    r!(
        "DL1021",
        Ha,
        E,
        Object(operators::clickhouse),
        "ClickHouse cluster without replicas or keeper quorum",
        "A ClickHouseInstallation cluster with replicasCount 1 loses data with a node; replicated tables need ZooKeeper/Keeper configured, and a keeper node list of more than one host must be an odd count of at least 3.",
        "Set layout.replicasCount: 2 (or more) and point configuration.zookeeper.nodes at a 3-node Keeper.",
        "clusters:\n- name: main\n  layout:\n    replicasCount: 1   # DL1021"
    ),
    r!(
        "DL1022",
        Ha,
        W,
        Object(spec::availability_targets),
        "platform spec promises an availability its topology cannot reach",
        "A datalyptica platform spec (kind Platform) among the linted files is checked like `render` checks it: each component's slo.availability against what its replicas, quorum, erasure coding, failover times and disruption budgets deliver under the spec's failure rates (spec.availabilityModel, defaults in the README). The rendered manifests carry neither the targets nor the rates, so this rule reads the spec itself.",
        "Add redundancy, shorten the failover (slo.rto), or lower slo.availability to what `datalyptica availability` shows.",
        "kind: Platform\nspec:\n  components:\n    trino:\n      slo: {availability: 99.9999}   # DL1022: the coordinator is a single point of failure"
    ),
    // --- Security (OpenShift restricted-v2) ---------------------------------------------
    r!(
        "DL2001",
        Security,
        E,
        Object(sec::run_as_non_root),
        "container may run as root",
        "restricted-v2 requires non-root; runAsNonRoot: true makes the kubelet refuse an image whose user is root instead of silently running it as root elsewhere. A non-zero runAsUser also keeps the process off root (DL2002 judges pinning a UID on OpenShift).",
        "Set securityContext.runAsNonRoot: true on the pod (or each container).",
        "securityContext:\n  runAsNonRoot: true"
    ),
    r!(
        "DL2002",
        Security,
        E,
        Object(sec::fixed_uid),
        "fixed runAsUser or fsGroup",
        "OpenShift's restricted-v2 SCC assigns UIDs and fsGroups from the namespace's range (MustRunAsRange); a pinned runAsUser/fsGroup outside that range is rejected at admission, and 0 is root.",
        "Remove runAsUser/fsGroup and let OpenShift assign them; make the image work with an arbitrary UID in group 0.",
        "securityContext:\n  runAsUser: 1000   # DL2002"
    ),
    r!(
        "DL2003",
        Security,
        E,
        Object(sec::privilege_escalation),
        "privilege escalation not disabled",
        "restricted-v2 requires allowPrivilegeEscalation: false; setuid binaries could otherwise gain more privileges than the container's process.",
        "Set securityContext.allowPrivilegeEscalation: false on every container.",
        "securityContext:\n  allowPrivilegeEscalation: false"
    ),
    r!(
        "DL2004",
        Security,
        E,
        Object(sec::capabilities),
        "capabilities not dropped",
        "restricted-v2 requires dropping ALL capabilities and allows adding back only NET_BIND_SERVICE.",
        "Set securityContext.capabilities.drop: [ALL] and add nothing but NET_BIND_SERVICE.",
        "securityContext:\n  capabilities:\n    drop: [ALL]"
    ),
    r!(
        "DL2005",
        Security,
        W,
        Object(sec::seccomp),
        "seccomp profile is not RuntimeDefault",
        "The RuntimeDefault seccomp profile blocks rarely-needed, dangerous syscalls; restricted-v2 and the Pod Security 'restricted' level expect it.",
        "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
        "securityContext:\n  seccompProfile:\n    type: RuntimeDefault"
    ),
    r!(
        "DL2006",
        Security,
        E,
        Object(sec::host_namespaces),
        "pod shares host namespaces",
        "hostNetwork, hostPID and hostIPC break isolation from the node and are forbidden by restricted-v2.",
        "Remove hostNetwork/hostPID/hostIPC.",
        "spec:\n  hostNetwork: true   # DL2006"
    ),
    r!(
        "DL2007",
        Security,
        E,
        Object(sec::host_ports),
        "container binds a host port",
        "hostPort ties the pod to a node port (one replica per node, scheduling failures) and is forbidden by restricted-v2.",
        "Remove hostPort; expose the port through a Service or Route.",
        "ports:\n- containerPort: 80\n  hostPort: 80   # DL2007"
    ),
    r!(
        "DL2008",
        Security,
        E,
        Object(sec::host_path),
        "hostPath volume",
        "hostPath gives access to the node's filesystem and is not in restricted-v2's allowed volume types.",
        "Use a PersistentVolumeClaim, emptyDir, configMap, secret or projected volume.",
        "volumes:\n- name: data\n  hostPath: {path: /var/lib}   # DL2008"
    ),
    r!(
        "DL2009",
        Security,
        E,
        Object(sec::privileged),
        "privileged container",
        "A privileged container has all capabilities and access to host devices: it is root on the node.",
        "Remove securityContext.privileged (or set it to false).",
        "securityContext:\n  privileged: true   # DL2009"
    ),
    r!(
        "DL2010",
        Security,
        E,
        Object(sec::image_tag),
        "image tag not pinned",
        "An image without a tag or with `latest` changes under the same manifest: replicas may run different code and rollbacks do not roll back.",
        "Pin a version tag, ideally with a digest: repo/image:1.2.3@sha256:….",
        "image: nginx:latest   # DL2010"
    ),
    r!(
        "DL2011",
        Security,
        I,
        Object(sec::image_digest),
        "image not pinned by digest",
        "A tag can be re-pushed; only a digest guarantees the bytes that were reviewed and scanned are the ones that run.",
        "Append @sha256:<digest> to the image reference.",
        "image: quay.io/org/app:1.2.3@sha256:…"
    ),
    r!(
        "DL2012",
        Security,
        E,
        Object(sec::resources),
        "container without resource requests or memory limit",
        "Without requests the scheduler overcommits nodes and the pod is first to be evicted (BestEffort); without a memory limit one leak can OOM the node. CPU limits are not required: they throttle latency-sensitive services.",
        "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory.",
        "resources:\n  requests: {cpu: 100m, memory: 256Mi}\n  limits: {memory: 256Mi}"
    ),
    r!(
        "DL2013",
        Security,
        E,
        Object(sec::inline_secrets),
        "secret inlined in env or ConfigMap",
        "Environment values and ConfigMaps are readable by everyone who can read the namespace's config, appear in logs of `describe`/`get -o yaml`, and end up in Git. Credentials belong in Secrets (valueFrom.secretKeyRef, secret volumes).",
        "Move the value to a Secret and reference it with valueFrom.secretKeyRef (or an env/file placeholder in the config).",
        "env:\n- name: DB_PASSWORD\n  value: hunter2   # DL2013"
    ),
    r!(
        "DL2014",
        Security,
        E,
        Object(sec::route_tls),
        "Route or Ingress without TLS, or with insecure HTTP",
        "Traffic to the platform's UIs and APIs carries credentials; a Route without spec.tls, or with insecureEdgeTerminationPolicy: Allow, serves plain HTTP.",
        "Set spec.tls.termination (edge/reencrypt/passthrough) and insecureEdgeTerminationPolicy: Redirect (or None); give Ingresses spec.tls.",
        "spec:\n  tls:\n    termination: edge\n    insecureEdgeTerminationPolicy: Redirect"
    ),
    r!(
        "DL2015",
        Security,
        E,
        Tree(sec::default_deny),
        "namespace without a default-deny NetworkPolicy",
        "Kubernetes allows all traffic to a pod until a NetworkPolicy selects it. A default-deny policy (podSelector: {}, policyTypes [Ingress], no ingress rules) makes every allowed flow explicit. Checked for namespaces the tree declares or runs workloads in; NetworkPolicies in other files of the tree count.",
        "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] (and Egress if you restrict egress) in the namespace.",
        "kind: NetworkPolicy\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]"
    ),
    r!(
        "DL2016",
        Security,
        W,
        Object(sec::netpol_selected),
        "workload not selected by any NetworkPolicy",
        "A pod that no NetworkPolicy selects accepts traffic from every pod in the cluster.",
        "Add a NetworkPolicy (or a namespace default-deny) whose podSelector matches the pod labels.",
        "kind: NetworkPolicy\nspec:\n  podSelector: {matchLabels: {app: x}}"
    ),
    r!(
        "DL2017",
        Security,
        W,
        Object(sec::sa_token),
        "service account token mounted without need",
        "A mounted token lets anyone who compromises the container call the API server as the service account. Only workloads that talk to the API (operators, Flink/Spark on Kubernetes) need it: they should say so with automountServiceAccountToken: true on the pod; others turn it off on the pod or the ServiceAccount.",
        "Set automountServiceAccountToken: false on the ServiceAccount or pod spec, or true on the pod if it really uses the API.",
        "spec:\n  template:\n    spec:\n      automountServiceAccountToken: false"
    ),
    r!(
        "DL2018",
        Security,
        W,
        Object(sec::read_only_root),
        "root filesystem writable",
        "A writable root filesystem lets an intruder change binaries and configuration inside the container, and hides state that a restart should have dropped. Images that write only to known directories run read-only with emptyDirs there; images that write into themselves need the exception stated.",
        "Set securityContext.readOnlyRootFilesystem: true and mount emptyDirs where the process writes (/tmp, caches); otherwise waive with the reason.",
        "securityContext:\n  readOnlyRootFilesystem: true"
    ),
    // --- Storage ------------------------------------------------------------------------
    r!(
        "DL3001",
        Storage,
        E,
        Object(sto::rwx_check),
        "ReadWriteMany where it is not shared or not supported",
        "RWX needs a file storage class (CephFS, NFS, EFS…); block classes (RBD, EBS, Azure Disk, GCE PD, vSphere, TopoLVM, local) never bind an RWX claim. A per-replica volumeClaimTemplate or a claim used by a single pod gains nothing from RWX and invites two writers on one data directory.",
        "Use ReadWriteOnce (or ReadWriteOncePod) unless several pods really share the volume, and then a file storage class.",
        "accessModes: [ReadWriteMany]   # DL3001 on storageClassName: gp3"
    ),
    r!(
        "DL3002",
        Storage,
        E,
        Object(sto::sts_vct),
        "StatefulSet without volumeClaimTemplates",
        "A StatefulSet exists to give each replica its own stable volume; without volumeClaimTemplates its data lives in emptyDir and is lost with the pod (for a quorum member, it rejoins empty).",
        "Add spec.volumeClaimTemplates with a storageClassName and size.",
        "volumeClaimTemplates:\n- metadata: {name: data}\n  spec:\n    storageClassName: ssd\n    accessModes: [ReadWriteOnce]"
    ),
    r!(
        "DL3003",
        Storage,
        W,
        Object(sto::storage_class),
        "claim without storageClassName",
        "Without storageClassName a claim takes the cluster's default class, which differs between clusters (and may be none): the same manifests then get different performance and durability.",
        "Set storageClassName explicitly on PVCs and volumeClaimTemplates.",
        "spec:\n  storageClassName: ocs-storagecluster-ceph-rbd"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate {}", r.id);
            assert!(r.id.len() == 6 && r.id.starts_with("DL"), "{}", r.id);
            let group = match r.category {
                Category::Input => '0',
                Category::Ha => '1',
                Category::Security => '2',
                Category::Storage => '3',
            };
            assert_eq!(r.id.as_bytes()[2] as char, group, "{}", r.id);
        }
    }
}
