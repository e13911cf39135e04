//! Secrets of `secrets.mode: generated`: which Secrets the rendered tree references, which of
//! them deploy must create (random), copy (PGO's per-user Secrets into consumer namespaces) or
//! leave to an operator. Values exist only in memory and in the API server: never printed or
//! written to disk, and `Debug` of a generated Secret shows only key names.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::plan::{kind_of, name_of, namespace_of};

/// A reference to a Secret from a rendered object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
    /// Keys read through `secretKeyRef` (empty when the whole Secret is mounted).
    pub keys: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provision {
    /// Random values, created by deploy unless the Secret exists.
    Generate,
    /// A copy of another Secret (PGO's `<cluster>-pguser-<user>`), made once the source exists.
    Copy { namespace: String, name: String },
    /// An operator or OpenShift creates it (pguser Secrets, service-serving certificates).
    External(&'static str),
}

fn walk(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(m) => {
            f(m);
            for x in m.values() {
                walk(x, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// Every Secret the objects reference, by namespace and name.
pub fn references<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Vec<SecretRef> {
    let mut refs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for o in objects {
        let Some(ns) = namespace_of(o) else { continue };
        if kind_of(o) == "Secret" {
            continue;
        }
        let mut add = |name: &str, key: Option<&str>| {
            let e = refs.entry((ns.to_string(), name.to_string())).or_default();
            if let Some(k) = key {
                e.insert(k.to_string());
            }
        };
        walk(o, &mut |m| {
            if let Some(r) = m.get("secretKeyRef")
                && let Some(n) = r["name"].as_str()
            {
                add(n, r["key"].as_str());
            }
            if let Some(r) = m.get("secretRef")
                && let Some(n) = r["name"].as_str()
            {
                add(n, None);
            }
            if let Some(n) = m.get("secretName").and_then(Value::as_str) {
                add(n, None);
            }
            // PGO's projected configuration and MinIO's `spec.configuration`.
            if let Some(n) = m.get("secret").and_then(|s| s["name"].as_str()) {
                add(n, None);
            }
        });
        if kind_of(o) == "Tenant"
            && let Some(n) = o["spec"]["configuration"]["name"].as_str()
        {
            add(n, None);
        }
    }
    refs.into_iter()
        .map(|((namespace, name), keys)| SecretRef {
            namespace,
            name,
            keys,
        })
        .collect()
}

/// Names the tree's objects ask OpenShift or an operator to create.
fn produced(objects: &[&Value]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for o in objects {
        let Some(ns) = namespace_of(o) else { continue };
        if let Some(n) =
            o["metadata"]["annotations"]["service.beta.openshift.io/serving-cert-secret-name"]
                .as_str()
        {
            out.insert((ns.to_string(), n.to_string()));
        }
        if kind_of(o) == "Secret" {
            out.insert((ns.to_string(), name_of(o).to_string()));
        }
    }
    out
}

/// Decide how each referenced Secret comes to exist. `postgres` is (namespace, cluster name).
pub fn classify(objects: &[&Value], postgres: Option<(&str, &str)>) -> Vec<(SecretRef, Provision)> {
    let made = produced(objects);
    references(objects.iter().copied())
        .into_iter()
        .map(|r| {
            let p = if made.contains(&(r.namespace.clone(), r.name.clone())) {
                Provision::External("created by OpenShift or rendered")
            } else if r.name.contains("-pguser-") {
                Provision::External("created by PGO")
            } else if r.name.starts_with(&format!("{}-", "strimzi"))
                || r.name.ends_with("-cluster-ca-cert")
                || r.name.ends_with("-clients-ca-cert")
            {
                Provision::External("created by Strimzi")
            } else if let (Some((pg_ns, cluster)), Some(user)) =
                (postgres, r.name.strip_suffix("-postgresql"))
            {
                Provision::Copy {
                    namespace: pg_ns.to_string(),
                    name: format!("{cluster}-pguser-{user}"),
                }
            } else {
                Provision::Generate
            };
            (r, p)
        })
        .collect()
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
    r: &SecretRef,
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

/// The copy of a source Secret under another name and namespace (data as-is, base64).
pub fn copy_object(source: &Value, namespace: &str, name: &str, platform: &str) -> Value {
    let mut s = secret_object(namespace, name, platform, BTreeMap::new());
    if let Some(o) = s.as_object_mut() {
        o.remove("stringData");
        o.insert("data".into(), source["data"].clone());
    }
    s
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
    use datalyptica_platform::{Platform, render};

    #[test]
    fn the_tree_references_the_known_secrets() {
        let p = Platform::default_ha();
        let t = render(&p);
        let objs: Vec<&Value> = t.objects().map(|(_, o)| o).collect();
        let m = datalyptica_platform::model::Model::new(&p);
        let pg_ns = m
            .get(datalyptica_platform::component::ComponentId::Postgresql)
            .namespace
            .clone();
        let c = classify(&objs, Some((&pg_ns, "postgresql")));
        let find = |n: &str| c.iter().find(|(r, _)| r.name == n).map(|(_, p)| p.clone());
        assert_eq!(find("postgresql-pgbackrest-s3"), Some(Provision::Generate));
        assert_eq!(find("minio-env-configuration"), Some(Provision::Generate));
        assert_eq!(find("datalyptica-object-store"), Some(Provision::Generate));
        assert_eq!(
            find("nessie-postgresql"),
            Some(Provision::Copy {
                namespace: pg_ns.clone(),
                name: "postgresql-pguser-nessie".into()
            })
        );
        for (r, p) in &c {
            if r.name.contains("pguser") {
                assert!(matches!(p, Provision::External(_)), "{r:?}");
            }
        }
    }

    #[test]
    fn generated_values_are_random_and_shared_for_the_object_store() {
        let keys = ObjectStoreKeys::generate().expect("rng");
        let r = SecretRef {
            namespace: "a".into(),
            name: "minio-env-configuration".into(),
            keys: BTreeSet::new(),
        };
        let d = generated_data(&r, "datalyptica-object-store", &keys).expect("data");
        assert!(d["config.env"].contains(&keys.access_key));
        let a = random_token(32).expect("rng");
        let b = random_token(32).expect("rng");
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(format!("{keys:?}"), "ObjectStoreKeys(<redacted>)");
        let airflow = SecretRef {
            namespace: "a".into(),
            name: "airflow-secrets".into(),
            keys: ["fernet-key".to_string(), "jwt-secret".to_string()].into(),
        };
        let d2 = generated_data(&airflow, "datalyptica-object-store", &keys).expect("data");
        assert_eq!(d2["fernet-key"].len(), 44);
        assert!(d2["fernet-key"].ends_with('='));
        assert_eq!(d2["jwt-secret"].len(), 32);
        let s = secret_object("a", "x", "p", d);
        let red = redact(&s);
        assert!(!red.to_string().contains(&keys.secret_key));
    }
}
