//! Builders for the pieces every workload shares: labels, placement, security, probes, PDBs.
//! Written once so that every component gets the same HA and restricted-v2 guarantees.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ExecAction, HTTPGetAction, PersistentVolumeClaimSpec, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecurityContext, Service, ServicePort, ServiceSpec, TCPSocketAction,
    TopologySpreadConstraint, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

use crate::component::ComponentId;
use crate::model::{Model, Resources};
use crate::template;

pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";
pub const PART_OF: &str = "datalyptica";
/// Marks an object as a template for users to copy (e.g. a job that would run when applied):
/// rendered for reference, never applied by `deploy`.
pub const TEMPLATE_ANNOTATION: &str = "datalyptica.io/template";

pub fn to_value<T: Serialize>(t: &T) -> Value {
    // Serializing our own typed structs to JSON cannot fail: no maps with non-string keys.
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// Labels on every object of a component. `app` is the seed's anti-affinity key.
pub fn labels(m: &Model, id: ComponentId, app: &str) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = m
        .platform
        .metadata
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.insert("app".into(), app.into());
    l.insert("app.kubernetes.io/name".into(), app.into());
    l.insert("app.kubernetes.io/component".into(), id.name().into());
    l.insert("app.kubernetes.io/instance".into(), m.name.clone());
    l.insert("app.kubernetes.io/part-of".into(), PART_OF.into());
    l.insert("app.kubernetes.io/managed-by".into(), "datalyptica".into());
    l
}

/// The stable subset used in selectors (labels in selectors must never change).
pub fn selector(app: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), app.to_string())])
}

pub fn meta(m: &Model, id: ComponentId, name: &str, app: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(m.get(id).namespace.clone()),
        labels: Some(labels(m, id, app)),
        ..Default::default()
    }
}

/// A component's one-shot setup Job (schema migration, bootstrap) named `name`: retried on
/// failure, kept an hour after it ends, run as `service_account` without an API token, under
/// the platform's pod security. `pod` gives the containers and volumes. The pod carries the
/// component's `app*` labels only.
pub fn setup_job(
    m: &Model,
    id: ComponentId,
    name: &str,
    service_account: &str,
    pod: PodSpec,
) -> Job {
    let mut pod_labels = labels(m, id, name);
    pod_labels.retain(|k, _| k.starts_with("app"));
    Job {
        metadata: meta(m, id, name, name),
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            ttl_seconds_after_finished: Some(3600),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("OnFailure".into()),
                    service_account_name: Some(service_account.into()),
                    automount_service_account_token: Some(false),
                    security_context: Some(pod_security()),
                    ..pod
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Required anti-affinity on the hostname: two members of one set never share a node, so a node
/// loss costs at most one member. Scheduling fails loudly instead of silently co-locating.
pub fn anti_affinity(sel: &BTreeMap<String, String>) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_labels: Some(sel.clone()),
                    ..Default::default()
                }),
                topology_key: HOSTNAME_KEY.into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread across zones, softly: single-zone clusters still schedule, multi-zone ones spread.
pub fn zone_spread(sel: &BTreeMap<String, String>) -> Vec<TopologySpreadConstraint> {
    vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: ZONE_KEY.into(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(sel.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }]
}

/// Pod-level context compatible with OpenShift's restricted-v2 SCC: no fixed UID or fsGroup,
/// the SCC assigns them from the namespace range.
pub fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A container's root filesystem. restricted-v2 admits both; read-only is the rule here, and a
/// component that needs a writable one says why (`Component::writable_root_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootFs {
    ReadOnly,
    Writable,
}

/// How many of a set's pods a voluntary disruption (a node drain) may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Quorum sets (etcd, Redis with Sentinel): a majority stays up.
    KeepQuorum,
    /// Replicated stateless sets: one pod at a time.
    AllButOne,
}

pub fn container_security(root: RootFs) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(root == RootFs::ReadOnly),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn resources(r: &Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(r.cpu_request.clone())),
            ("memory".to_string(), Quantity(r.memory_request.clone())),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(r.cpu_limit.clone())),
            ("memory".to_string(), Quantity(r.memory_limit.clone())),
        ])),
        ..Default::default()
    }
}

pub fn pvc_spec(class: &str, size: &str, access: &str) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec![access.into()]),
        storage_class_name: Some(class.into()),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_string(),
                Quantity(size.into()),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Majority of n: the members a quorum needs.
pub fn majority(n: u32) -> u32 {
    n / 2 + 1
}

/// A PDB that keeps quorum (quorum sets) or keeps all but one pod (replicated stateless sets).
/// None for a single replica: a budget of 1-of-1 would block every node drain.
pub fn pdb(
    m: &Model,
    id: ComponentId,
    name: &str,
    app: &str,
    sel: &BTreeMap<String, String>,
    replicas: u32,
    budget: Budget,
) -> Option<PodDisruptionBudget> {
    if replicas < 2 {
        return None;
    }
    let spec = if budget == Budget::KeepQuorum {
        PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(majority(replicas) as i32)),
            selector: Some(LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }
    } else {
        PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    Some(PodDisruptionBudget {
        metadata: meta(m, id, name, app),
        spec: Some(spec),
        ..Default::default()
    })
}

pub fn http_probe(path: &str, port: &str, scheme: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            scheme: Some(scheme.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

/// [`tcp_probe`] on a port number, for ports the template does not declare itself (an
/// operator adds them to the pod).
pub fn tcp_probe_port(port: u16, period: i32, failures: i32) -> Probe {
    let mut p = tcp_probe("", period, failures);
    if let Some(t) = p.tcp_socket.as_mut() {
        t.port = IntOrString::Int(i32::from(port));
    }
    p
}

pub fn tcp_probe(port: &str, period: i32, failures: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

pub fn exec_probe(cmd: &[&str], period: i32, failures: i32) -> Probe {
    exec_probe_timeout(cmd, period, failures, 5)
}

/// An exec probe with its own timeout: a command that starts a Python interpreter and imports
/// its application (Airflow's `jobs check`, `celery inspect ping`) takes seconds before it does
/// anything, and upstream charts give those 20–60 s.
pub fn exec_probe_timeout(cmd: &[&str], period: i32, failures: i32, timeout: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(cmd.iter().map(|s| s.to_string()).collect()),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(timeout),
        ..Default::default()
    }
}

pub fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A ClusterIP Service; `headless` for StatefulSet identities.
pub fn service(
    m: &Model,
    id: ComponentId,
    name: &str,
    app: &str,
    ports: Vec<ServicePort>,
    headless: bool,
    annotations: BTreeMap<String, String>,
) -> Service {
    let mut md = meta(m, id, name, app);
    if !annotations.is_empty() {
        md.annotations = Some(annotations);
    }
    Service {
        metadata: md,
        spec: Some(ServiceSpec {
            selector: Some(selector(app)),
            ports: Some(ports),
            cluster_ip: headless.then(|| "None".into()),
            // Peers must find each other before they are ready, or a quorum never forms.
            publish_not_ready_addresses: headless.then_some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// ConfigMap OpenShift keeps in every namespace with the service CA bundle (key
/// `service-ca.crt`): what clients trust for serving certificates.
pub const SERVICE_CA_CONFIGMAP: &str = "openshift-service-ca.crt";
/// Where clients mount [`SERVICE_CA_CONFIGMAP`].
pub const SERVICE_CA_DIR: &str = "/etc/pki/service-ca";
/// The service CA bundle file inside [`SERVICE_CA_DIR`].
pub const SERVICE_CA_FILE: &str = "/etc/pki/service-ca/service-ca.crt";

/// Volume of the namespace's service CA bundle.
pub fn service_ca_volume(name: &str) -> k8s_openapi::api::core::v1::Volume {
    config_map_volume(name, SERVICE_CA_CONFIGMAP)
}

/// Annotation that makes OpenShift's service CA issue a certificate for a Service.
pub const SERVING_CERT_ANNOTATION: &str = "service.beta.openshift.io/serving-cert-secret-name";

/// OpenShift's service CA issues a certificate for the Service into this Secret.
pub fn serving_cert_annotation(secret: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(SERVING_CERT_ANNOTATION.to_string(), secret.to_string())])
}

/// File names of the CA bundles in [`ca_trust_volume`].
pub const TRUST_SERVICE_CA: &str = "service-ca.crt";
pub const TRUST_OBJECT_STORE_CA: &str = "object-store-ca.crt";

/// Secret (key `ca.crt`) with the CA of the object store's certificate, in every namespace
/// whose pods trust it: a copy of MinIO's issued certificate, its `ca.crt` only.
pub const OBJECT_STORE_CA_SECRET: &str = "object-store-ca";

/// CA bundles a client of the object store and the service-CA endpoints trusts: the service CA
/// (OpenShift serving certificates: Nessie, Keeper, ODF's S3) and the object store's CA. MinIO
/// serves a certificate `deploy` issues from its own CA (the operator's auto-cert is signed by
/// the cluster's CSR signer, which no pod trusts on OpenShift), so with MinIO that file is the
/// copy [`OBJECT_STORE_CA_SECRET`]; with ODF it is the service CA again, and an external store's
/// public CA is in the images' own trust.
pub fn ca_trust_volume(m: &Model, name: &str) -> k8s_openapi::api::core::v1::Volume {
    use k8s_openapi::api::core::v1::{
        ConfigMapProjection, KeyToPath, ProjectedVolumeSource, SecretProjection, Volume,
        VolumeProjection,
    };
    let item = |key: &str, path: &str| {
        Some(vec![KeyToPath {
            key: key.into(),
            path: path.into(),
            ..Default::default()
        }])
    };
    let cm = |name: &str, key: &str, path: &str| VolumeProjection {
        config_map: Some(ConfigMapProjection {
            name: name.into(),
            items: item(key, path),
            ..Default::default()
        }),
        ..Default::default()
    };
    let object_store = if m.object_store.backend == crate::spec::ObjectStoreBackend::Minio {
        VolumeProjection {
            secret: Some(SecretProjection {
                name: OBJECT_STORE_CA_SECRET.into(),
                items: item("ca.crt", TRUST_OBJECT_STORE_CA),
                ..Default::default()
            }),
            ..Default::default()
        }
    } else {
        cm(
            SERVICE_CA_CONFIGMAP,
            "service-ca.crt",
            TRUST_OBJECT_STORE_CA,
        )
    };
    Volume {
        name: name.into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![
                cm(SERVICE_CA_CONFIGMAP, "service-ca.crt", TRUST_SERVICE_CA),
                object_store,
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Secret mounted as files (a serving certificate's `tls.crt`/`tls.key`).
pub fn secret_volume(name: &str, secret: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.into(),
        secret: Some(k8s_openapi::api::core::v1::SecretVolumeSource {
            secret_name: Some(secret.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Secret volume of private keys: files readable by the container's user only (0400).
pub fn private_secret_volume(name: &str, secret: &str) -> k8s_openapi::api::core::v1::Volume {
    let mut v = secret_volume(name, secret);
    if let Some(s) = v.secret.as_mut() {
        s.default_mode = Some(0o400);
    }
    v
}

/// Secret keys as files of one volume: `(secret, key, file)` each. What an image can read from a
/// file stays out of the environment, which every child process inherits and crash reports and
/// `env` dumps print.
pub fn secret_files_volume(
    name: &str,
    files: &[(&str, &str, &str)],
) -> k8s_openapi::api::core::v1::Volume {
    use k8s_openapi::api::core::v1::{
        KeyToPath, ProjectedVolumeSource, SecretProjection, Volume, VolumeProjection,
    };
    // One projection per Secret, in first-use order: the volume reads the same whatever the
    // order of `files` within a Secret.
    let mut secrets: Vec<&str> = Vec::new();
    for (secret, _, _) in files {
        if !secrets.contains(secret) {
            secrets.push(secret);
        }
    }
    let sources = secrets
        .iter()
        .map(|secret| VolumeProjection {
            secret: Some(SecretProjection {
                name: (*secret).into(),
                items: Some(
                    files
                        .iter()
                        .filter(|(s, _, _)| s == secret)
                        .map(|(_, key, file)| KeyToPath {
                            key: (*key).into(),
                            path: (*file).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Volume {
        name: name.into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(sources),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The keys of every S3 credentials Secret the platform reads.
pub const S3_CREDENTIAL_KEYS: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

/// The object store's S3 keys from `secret`, as the AWS SDKs read them.
pub fn s3_credentials(secret: &str) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    S3_CREDENTIAL_KEYS
        .iter()
        .map(|k| env_secret(k, secret, k))
        .collect()
}

/// A plain environment variable.
pub fn env(name: &str, value: impl Into<String>) -> k8s_openapi::api::core::v1::EnvVar {
    k8s_openapi::api::core::v1::EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// An environment variable read from a Secret key: the value never enters the rendered tree.
pub fn env_secret(name: &str, secret: &str, key: &str) -> k8s_openapi::api::core::v1::EnvVar {
    use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn config_map(
    m: &Model,
    id: ComponentId,
    name: &str,
    app: &str,
    data: BTreeMap<String, String>,
) -> k8s_openapi::api::core::v1::ConfigMap {
    k8s_openapi::api::core::v1::ConfigMap {
        metadata: meta(m, id, name, app),
        data: Some(data),
        ..Default::default()
    }
}

/// The pod side of a hand-rendered Deployment.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub app: String,
    pub replicas: u32,
    pub containers: Vec<k8s_openapi::api::core::v1::Container>,
    pub init_containers: Vec<k8s_openapi::api::core::v1::Container>,
    pub volumes: Vec<k8s_openapi::api::core::v1::Volume>,
    pub service_account: Option<String>,
    pub termination_grace_seconds: Option<i64>,
    /// Stop the old pod before starting the new one (singletons that must never run twice).
    pub recreate: bool,
}

/// A Deployment with the platform's placement and security guarantees: required hostname
/// anti-affinity, zone spread, restricted-v2 pod context, and surge-only rollouts.
pub fn deployment(
    m: &Model,
    id: ComponentId,
    w: Workload,
) -> k8s_openapi::api::apps::v1::Deployment {
    use k8s_openapi::api::apps::v1::{
        Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
    };
    use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
    let sel = selector(&w.app);
    let mut pod_labels = labels(m, id, &w.app);
    pod_labels.retain(|k, _| k.starts_with("app"));
    let strategy = if w.recreate {
        DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        }
    } else {
        DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::Int(0)),
                max_surge: Some(IntOrString::Int(1)),
            }),
        }
    };
    Deployment {
        metadata: meta(m, id, &w.app, &w.app),
        spec: Some(DeploymentSpec {
            replicas: Some(i32::try_from(w.replicas).unwrap_or(i32::MAX)),
            selector: LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            },
            strategy: Some(strategy),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    service_account_name: w.service_account,
                    affinity: Some(anti_affinity(&sel)),
                    topology_spread_constraints: Some(zone_spread(&sel)),
                    security_context: Some(pod_security()),
                    termination_grace_period_seconds: w.termination_grace_seconds,
                    init_containers: (!w.init_containers.is_empty()).then_some(w.init_containers),
                    containers: w.containers,
                    volumes: (!w.volumes.is_empty()).then_some(w.volumes),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn empty_dir_volume(name: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.into(),
        empty_dir: Some(Default::default()),
        ..Default::default()
    }
}

/// A memory-backed emptyDir for key material derived inside the pod (a keystore built from a
/// serving certificate): like the Secret volume it comes from, it never reaches the node's disk.
pub fn memory_dir_volume(name: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.into(),
        empty_dir: Some(k8s_openapi::api::core::v1::EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity("1Mi".into())),
        }),
        ..Default::default()
    }
}

/// File name of the keystore [`pkcs12_init_container`] writes into its store directory.
pub const PKCS12_FILE: &str = "keystore.p12";
/// Where [`pkcs12_init_container`] mounts the serving certificate.
const SERVING_CERT_DIR: &str = "/run/serving-cert";
/// File name of the fingerprint [`with_sha1_fingerprint`] writes into the store directory.
pub const FINGERPRINT_FILE: &str = "fingerprint.sha1";

/// An init container that turns a service-CA serving certificate (`tls.crt`, `tls.key` of the
/// Secret mounted as volume `cert_volume`) into a PKCS12 keystore `{store_dir}/keystore.p12`
/// in volume `store_volume`: JVM servers read keystores, not PEM. `passout` is openssl's
/// pass-phrase argument (`env:VAR` with `VAR` in `env`). The image must ship `openssl`; the
/// script says so and fails if it does not, instead of starting the server without TLS.
pub fn pkcs12_init_container(
    image: &str,
    cert_volume: &str,
    store_volume: &str,
    store_dir: &str,
    alias: &str,
    passout: &str,
    extra_mounts: Vec<k8s_openapi::api::core::v1::VolumeMount>,
) -> k8s_openapi::api::core::v1::Container {
    let cert_dir = SERVING_CERT_DIR;
    let script = template::fill(
        include_str!("scripts/pkcs12-keystore.sh"),
        &[
            ("image", &image),
            ("cert_dir", &cert_dir),
            ("alias", &alias),
            ("store_dir", &store_dir),
            ("file", &PKCS12_FILE),
            ("passout", &passout),
        ],
    );
    k8s_openapi::api::core::v1::Container {
        name: "keystore".into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(resources(&Resources {
            cpu_request: "10m".into(),
            memory_request: "32Mi".into(),
            cpu_limit: "200m".into(),
            memory_limit: "64Mi".into(),
        })),
        security_context: Some(container_security(RootFs::ReadOnly)),
        volume_mounts: Some(
            [
                vec![
                    mount(cert_volume, cert_dir, true),
                    mount(store_volume, store_dir, false),
                ],
                extra_mounts,
            ]
            .concat(),
        ),
        ..Default::default()
    }
}

/// Makes a [`pkcs12_init_container`] also write the certificate's SHA-1 fingerprint
/// (`AA:BB:…`, the form Flink's `security.ssl.internal.cert.fingerprint` takes) to
/// `{store_dir}/fingerprint.sha1`, for servers that pin the certificate instead of trusting a
/// CA. An unexpected output fails the pod rather than pinning nothing.
pub fn with_sha1_fingerprint(
    mut c: k8s_openapi::api::core::v1::Container,
    store_dir: &str,
) -> k8s_openapi::api::core::v1::Container {
    let out = format!("{store_dir}/{FINGERPRINT_FILE}");
    if let Some(script) = c.command.as_mut().and_then(|cmd| cmd.get_mut(2)) {
        script.push_str(&template::fill(
            include_str!("scripts/sha1-fingerprint.sh"),
            &[("cert_dir", &SERVING_CERT_DIR), ("out", &out)],
        ));
    }
    c
}

/// File name of the truststore [`jvm_truststore_init`] writes into its store directory.
pub const JVM_TRUSTSTORE_FILE: &str = "truststore.jks";
/// Where [`jvm_truststore_init`] mounts the CA bundles of [`ca_trust_volume`].
pub const TRUST_CA_DIR: &str = "/run/platform-ca";

/// Shell that writes the JKS truststore `store`: the JDK's public CAs plus the service CA
/// (Nessie, serving certificates) and the object store's CA from `ca_dir`.
/// keytool imports only the first certificate of a PEM file, and the bundles hold two during a
/// CA rotation, so they are split first (in `scratch`). The store password is the JDK's
/// well-known default: a truststore holds public certificates only.
pub fn jvm_truststore_script(ca_dir: &str, store: &str, scratch: &str) -> String {
    template::fill(
        include_str!("scripts/jvm-truststore.sh"),
        &[
            ("store", &store),
            ("ca_dir", &ca_dir),
            ("service_ca", &TRUST_SERVICE_CA),
            ("object_store_ca", &TRUST_OBJECT_STORE_CA),
            ("scratch", &scratch),
        ],
    )
}

/// JVM options that make every TLS client in the process (S3, Iceberg REST/Nessie, Kafka
/// without its own store) trust the store of [`jvm_truststore_init`].
pub fn jvm_trust_options(store_dir: &str) -> String {
    format!(
        "-Djavax.net.ssl.trustStore={store_dir}/{JVM_TRUSTSTORE_FILE} -Djavax.net.ssl.trustStoreType=JKS"
    )
}

/// Init container (the component's own image: its JDK has keytool) that builds the platform
/// truststore into `store_volume`; pods add [`ca_trust_volume`] as `ca_volume`.
pub fn jvm_truststore_init(
    image: &str,
    ca_volume: &str,
    store_volume: &str,
    store_dir: &str,
) -> k8s_openapi::api::core::v1::Container {
    let script = format!(
        "set -eu
{}",
        jvm_truststore_script(
            TRUST_CA_DIR,
            &format!("{store_dir}/{JVM_TRUSTSTORE_FILE}"),
            store_dir
        )
    );
    k8s_openapi::api::core::v1::Container {
        name: "truststore".into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(resources(&Resources {
            cpu_request: "50m".into(),
            memory_request: "128Mi".into(),
            cpu_limit: "500m".into(),
            memory_limit: "256Mi".into(),
        })),
        security_context: Some(container_security(RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            mount(ca_volume, TRUST_CA_DIR, true),
            mount(store_volume, store_dir, false),
        ]),
        ..Default::default()
    }
}

pub fn config_map_volume(name: &str, cm: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.into(),
        config_map: Some(k8s_openapi::api::core::v1::ConfigMapVolumeSource {
            name: cm.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn mount(name: &str, path: &str, read_only: bool) -> k8s_openapi::api::core::v1::VolumeMount {
    k8s_openapi::api::core::v1::VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

pub fn container_port(name: &str, port: i32) -> k8s_openapi::api::core::v1::ContainerPort {
    k8s_openapi::api::core::v1::ContainerPort {
        name: Some(name.into()),
        container_port: port,
        ..Default::default()
    }
}

/// Files of a component as one `Content::Objects` file.
pub fn objects_file(path: String, header: String, objects: Vec<Value>) -> crate::component::File {
    crate::component::File {
        path,
        content: crate::component::Content::Objects { header, objects },
    }
}
