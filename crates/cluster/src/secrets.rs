//! The values and objects of the Secrets deploy creates: random platform credentials
//! (`secrets.mode: generated`) and copies of PGO's per-user Secrets. Which Secret comes from
//! where is the platform's secret inventory (`datalyptica_platform::security::secret_inventory`),
//! carried by the plan. Values exist only in memory and in the API server: never printed or
//! written to disk, and `Debug` of a generated Secret shows only key names.

use std::collections::BTreeMap;

use datalyptica_platform::security::{SecretEntry, SecretSource};
use serde_json::{Value, json};

use crate::plan::Plan;

/// Why the object store's credentials Secret must exist with backend `odf` (with `external`
/// the inventory already marks it as the user's).
const ODF_OBJECT_STORE_WHY: &str = "keys of the object store (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): copy them from the Secret of an ObjectBucketClaim";

/// What deploy does about one Secret of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provision<'a> {
    /// Random values, created unless the Secret exists (`secrets.mode: generated`).
    Generate,
    /// The mode's ExternalSecret or SealedSecret makes it: wait, never invent values that would
    /// diverge from the source of truth.
    Wait,
    /// Values only the user has, never generated: random ones would match no DR site, bucket or
    /// git server. Must exist (in the other modes, the mode's ExternalSecret or SealedSecret
    /// carries them, so deploy waits for it).
    User(&'a str),
    /// A copy of an operator's Secret (PGO's per-user credentials), made once the source exists.
    Copy { namespace: &'a str, name: &'a str },
    /// A certificate deploy issues from the private CA in Secret `ca` of the same namespace
    /// (created on first use), in every `secrets.mode`.
    Issue {
        ca: &'a str,
        request: &'a datalyptica_platform::security::CertRequest,
    },
    /// An operator or OpenShift creates it.
    Nothing,
}

pub fn provision<'a>(plan: &Plan, e: &'a SecretEntry) -> Provision<'a> {
    match &e.source {
        SecretSource::Created(_) => Provision::Nothing,
        SecretSource::Issued { ca, request } => Provision::Issue { ca, request },
        SecretSource::Copy { namespace, name } => Provision::Copy { namespace, name },
        SecretSource::User(why) => Provision::User(why),
        // ODF's bucket claims hold the keys; the inventory cannot tell they must be copied.
        SecretSource::Platform
            if e.name == plan.object_store_secret && !plan.object_store_generated =>
        {
            Provision::User(ODF_OBJECT_STORE_WHY)
        }
        SecretSource::Platform if plan.secrets_generated => Provision::Generate,
        SecretSource::Platform => Provision::Wait,
    }
}

/// The failure of a step whose user-provided Secret is absent: what it is for, the keys it
/// needs (never values) and how to create it.
pub fn missing_user_secret(e: &SecretEntry, why: &str) -> String {
    let literals = if e.keys.is_empty() {
        "--from-literal=<key>=<value> (or --from-file=<key>=<path>)".to_string()
    } else {
        e.keys
            .iter()
            .map(|k| format!("--from-literal={k}=<value>"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "Secret {}/{} must be provided by you: {why}. Deploy never generates it; create it (`oc create secret generic {} -n {} {literals}`), then run deploy again",
        e.namespace, e.name, e.name, e.namespace
    )
}

/// Random printable token from the OS's CSPRNG.
pub fn random_token(len: usize) -> Result<String, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    // 256 % 62 bias is irrelevant at this length for secrets of this kind, but reject anyway.
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 1];
    for b in bytes {
        let mut b = b;
        while b >= 248 {
            getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the OS: {e}"))?;
            b = buf[0];
        }
        out.push(ALPHABET[(b % 62) as usize] as char);
    }
    Ok(out)
}

pub fn fernet_key() -> Result<String, String> {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(b))
}

/// Values shared by every Secret that holds the object store's credentials, so MinIO's root
/// user, pgBackRest and every consumer agree.
pub struct ObjectStoreKeys {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for ObjectStoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObjectStoreKeys(<redacted>)")
    }
}

impl ObjectStoreKeys {
    pub fn generate() -> Result<Self, String> {
        Ok(ObjectStoreKeys {
            access_key: random_token(20)?,
            secret_key: random_token(40)?,
        })
    }
}

/// The `stringData` of a generated Secret: well-known layouts by name, else one random value per
/// referenced key (or `password` when the Secret is mounted whole).
pub fn generated_data(
    r: &SecretEntry,
    object_store_secret: &str,
    keys: &ObjectStoreKeys,
) -> Result<BTreeMap<String, String>, String> {
    let mut d = BTreeMap::new();
    if r.name == object_store_secret {
        d.insert("AWS_ACCESS_KEY_ID".into(), keys.access_key.clone());
        d.insert("AWS_SECRET_ACCESS_KEY".into(), keys.secret_key.clone());
    } else if r.name.ends_with("-env-configuration") {
        d.insert(
            "config.env".into(),
            format!(
                "export MINIO_ROOT_USER=\"{}\"\nexport MINIO_ROOT_PASSWORD=\"{}\"\n",
                keys.access_key, keys.secret_key
            ),
        );
    } else if r.name.ends_with("-pgbackrest-s3") {
        d.insert(
            "s3.conf".into(),
            format!(
                "[global]\nrepo1-s3-key={}\nrepo1-s3-key-secret={}\n",
                keys.access_key, keys.secret_key
            ),
        );
    }
    for k in &r.keys {
        if !d.contains_key(k) {
            let v = match k.as_str() {
                "AWS_ACCESS_KEY_ID" => keys.access_key.clone(),
                "AWS_SECRET_ACCESS_KEY" => keys.secret_key.clone(),
                // Airflow refuses anything but a Fernet key: url-safe base64 of 32 random bytes.
                "fernet-key" => fernet_key()?,
                _ => random_token(32)?,
            };
            d.insert(k.clone(), v);
        }
    }
    if d.is_empty() {
        d.insert("password".into(), random_token(32)?);
    }
    Ok(d)
}

/// A Secret object; the caller sends it to the API and drops it.
pub fn secret_object(
    namespace: &str,
    name: &str,
    platform: &str,
    string_data: BTreeMap<String, String>,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "datalyptica",
                "app.kubernetes.io/part-of": "datalyptica",
                "app.kubernetes.io/instance": platform,
            },
        },
        "type": "Opaque",
        "stringData": string_data,
    })
}

/// A copy of a source Secret under another name and namespace, carrying `data` (base64, as
/// [`copied_data`] selects it).
pub fn copy_object(data: Value, namespace: &str, name: &str, platform: &str) -> Value {
    let mut s = secret_object(namespace, name, platform, BTreeMap::new());
    if let Some(o) = s.as_object_mut() {
        o.remove("stringData");
        o.insert("data".into(), data);
    }
    s
}

/// The `data` a copy carries: only the keys the tree reads (`keys`; all when it reads the
/// Secret whole). PGO's root CA Secret also holds the CA's private key, which must never
/// leave PGO's namespace.
pub fn copied_data(source: &Value, keys: &std::collections::BTreeSet<String>) -> Value {
    match source["data"].as_object() {
        Some(d) if !keys.is_empty() => Value::Object(
            d.iter()
                .filter(|(k, _)| keys.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => source["data"].clone(),
    }
}

/// Redact a Secret for bundles and logs: keys stay, values go.
pub fn redact(o: &Value) -> Value {
    let mut o = o.clone();
    for field in ["data", "stringData"] {
        if let Some(m) = o.get_mut(field).and_then(Value::as_object_mut) {
            for v in m.values_mut() {
                *v = Value::String("<redacted>".into());
            }
        }
    }
    if let Some(a) = o["metadata"]["annotations"].as_object_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    if let Some(m) = o["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalyptica_platform::model::Model;
    use datalyptica_platform::spec::{
        KafkaDrTarget, ObjectStoreBackend, ReplicationTarget, SecretStoreRef, SecretsMode,
    };
    use datalyptica_platform::{Platform, render};

    fn plan_of(p: &Platform) -> Plan {
        let issues = datalyptica_platform::validate::validate(p);
        assert!(issues.is_empty(), "{issues:?}");
        crate::plan::build(&Model::new(p), &render(p)).expect("plan")
    }

    /// Every (namespace, name) the plan's components reference, with what deploy does about it.
    fn provisions(plan: &Plan) -> Vec<(String, String, Provision<'_>)> {
        plan.components()
            .flat_map(|c| &c.secrets)
            .map(|e| (e.namespace.clone(), e.name.clone(), provision(plan, e)))
            .collect()
    }

    fn find<'a>(v: &'a [(String, String, Provision<'a>)], name: &str) -> Vec<&'a Provision<'a>> {
        v.iter()
            .filter(|(_, n, _)| n == name)
            .map(|(_, _, p)| p)
            .collect()
    }

    /// A spec with every Secret only the user can provide: both DR targets and a private DAG
    /// repository.
    fn with_user_secrets() -> Platform {
        let mut p = Platform::default_ha();
        p.spec.backup.kafka.target = Some(KafkaDrTarget {
            bootstrap_servers: "kafka-dr.example.com:9093".into(),
            trust_secret: "kafka-dr-ca".into(),
            trust_certificate: None,
            client_certificate_secret: Some("kafka-dr-client".into()),
        });
        p.spec.backup.minio.replication_target = Some(ReplicationTarget {
            endpoint: "https://s3.dr.example.com:9000".into(),
            credentials_secret: "minio-dr-keys".into(),
        });
        let airflow = &mut p.spec.components.airflow.config;
        airflow.dags_repo = Some("https://git.example.com/dags.git".into());
        airflow.dags_repo_secret = Some("dags-git".into());
        p
    }

    #[test]
    fn the_plan_provisions_the_known_secrets() {
        let plan = plan_of(&Platform::default_ha());
        let v = provisions(&plan);
        assert_eq!(find(&v, "postgresql-pgbackrest-s3"), [&Provision::Generate]);
        assert_eq!(find(&v, "minio-env-configuration"), [&Provision::Generate]);
        let store = find(&v, "datalyptica-object-store");
        assert!(!store.is_empty() && store.iter().all(|p| **p == Provision::Generate));
        let p = Platform::default_ha();
        let pg_ns = datalyptica_platform::model::Model::new(&p)
            .get(datalyptica_platform::component::ComponentId::Postgresql)
            .namespace
            .clone();
        assert_eq!(
            find(&v, "nessie-postgresql"),
            [&Provision::Copy {
                namespace: &pg_ns,
                name: "postgresql-pguser-nessie"
            }]
        );
        for (ns, n, p) in &v {
            if n.contains("-pguser-") {
                assert_eq!(*p, Provision::Nothing, "{ns}/{n}");
            }
        }
        // generated_data gives these keys the shared object-store values, so every consumer's
        // copy must ask for them.
        for e in plan.components().flat_map(|c| &c.secrets) {
            if e.name == plan.object_store_secret {
                assert!(e.keys.contains("AWS_ACCESS_KEY_ID"), "{e:?}");
            }
        }
    }

    #[test]
    fn user_secrets_are_never_generated_in_any_mode() {
        let generated = with_user_secrets();
        let mut eso = generated.clone();
        eso.spec.secrets.mode = SecretsMode::ExternalSecrets;
        eso.spec.secrets.store_ref = Some(SecretStoreRef {
            name: "vault".into(),
            kind: None,
        });
        let mut sealed = generated.clone();
        sealed.spec.secrets.mode = SecretsMode::SealedSecrets;
        for p in [generated, eso, sealed] {
            let plan = plan_of(&p);
            let v = provisions(&plan);
            for name in [
                "minio-dr-keys",
                "kafka-dr-ca",
                "kafka-dr-client",
                "dags-git",
            ] {
                let ps = find(&v, name);
                assert!(!ps.is_empty(), "{name} is referenced");
                assert!(
                    ps.iter()
                        .all(|p| matches!(p, Provision::User(why) if !why.is_empty())),
                    "{name}: {ps:?}"
                );
            }
            // MirrorMaker's KafkaUser: the Strimzi User Operator makes its Secret.
            assert_eq!(find(&v, "kafka-mirror-maker"), [&Provision::Nothing]);
        }
    }

    #[test]
    fn the_object_store_secret_is_never_generated_without_minio() {
        for backend in [ObjectStoreBackend::External, ObjectStoreBackend::Odf] {
            let mut p = Platform::default_ha();
            p.spec.object_store.backend = Some(backend);
            if backend == ObjectStoreBackend::External {
                p.spec.object_store.endpoint = Some("https://s3.example.com".into());
                p.spec.object_store.credentials_secret = Some("s3-credentials".into());
            }
            let plan = plan_of(&p);
            let v = provisions(&plan);
            let ps = find(&v, &plan.object_store_secret);
            assert!(!ps.is_empty());
            assert!(
                ps.iter().all(|p| matches!(p, Provision::User(_))),
                "{backend:?}: {ps:?}"
            );
        }
    }

    #[test]
    fn a_missing_user_secret_says_what_and_how_without_values() {
        let e = SecretEntry {
            namespace: "ns".into(),
            name: "dags-git".into(),
            keys: ["password".to_string(), "username".to_string()].into(),
            source: SecretSource::User("credentials of the DAG repository"),
        };
        let m = missing_user_secret(&e, "credentials of the DAG repository");
        assert!(
            m.contains(
                "Secret ns/dags-git must be provided by you: credentials of the DAG repository"
            ),
            "{m}"
        );
        assert!(
            m.contains("--from-literal=password=<value> --from-literal=username=<value>"),
            "{m}"
        );
    }

    fn entry(name: &str, keys: &[&str]) -> SecretEntry {
        SecretEntry {
            namespace: "a".into(),
            name: name.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            source: SecretSource::Platform,
        }
    }

    #[test]
    fn generated_values_are_random_and_shared_for_the_object_store() {
        let keys = ObjectStoreKeys::generate().expect("rng");
        let r = entry("minio-env-configuration", &[]);
        let d = generated_data(&r, "datalyptica-object-store", &keys).expect("data");
        assert!(d["config.env"].contains(&keys.access_key));
        let a = random_token(32).expect("rng");
        let b = random_token(32).expect("rng");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(format!("{keys:?}"), "ObjectStoreKeys(<redacted>)");
        let airflow = entry("airflow-secrets", &["fernet-key", "jwt-secret"]);
        let d2 = generated_data(&airflow, "datalyptica-object-store", &keys).expect("data");
        assert_eq!(d2["fernet-key"].len(), 44);
        assert!(d2["fernet-key"].ends_with('='));
        assert_eq!(d2["jwt-secret"].len(), 32);
        let s = secret_object("a", "x", "p", d);
        let red = redact(&s);
        assert!(!red.to_string().contains(&keys.secret_key));
    }
}
