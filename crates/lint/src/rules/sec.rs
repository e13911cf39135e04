//! Security rules, aligned with OpenShift's restricted-v2 SCC.

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;
use serde_json::Value;

use super::{Ctx, Hit};
use crate::model::{
    Container, Obj, PodSpec, as_bool, as_int, container_name, get, pod_spec, ptr,
    selector_is_empty, selector_matches,
};

/// A securityContext field that may be set on the pod and overridden per container. Reports
/// once on the pod when no container fixes it, else on each offending container.
fn pod_or_containers<'a>(
    o: &Obj<'a>,
    ps: &PodSpec<'a>,
    i: usize,
    field: &[&str],
    ok: fn(Option<&Value>) -> bool,
    msg: &dyn Fn(Option<&str>) -> String,
    out: &mut Vec<Hit>,
) {
    let pod_val = ps.spec.get("securityContext").and_then(|s| get(s, field));
    let cs = o
        .containers
        .iter()
        .map(Container::tuple)
        .collect::<Vec<_>>();
    let eff = |c: &'a Value| -> Option<&'a Value> {
        c.get("securityContext")
            .and_then(|s| get(s, field))
            .or(pod_val)
    };
    let bad: Vec<&(&str, &Value, bool)> = cs.iter().filter(|(_, c, _)| !ok(eff(c))).collect();
    if bad.is_empty() {
        return;
    }
    let any_container_sets = cs.iter().any(|(_, c, _)| {
        c.get("securityContext")
            .and_then(|s| get(s, field))
            .is_some()
    });
    if !any_container_sets && !ok(pod_val) {
        out.push(Hit {
            obj: i,
            pointer: format!("{}/securityContext/{}", ps.ptr, field.join("/")),
            message: msg(None),
        });
        return;
    }
    for (p, c, _) in bad {
        out.push(Hit {
            obj: i,
            pointer: format!("{p}/securityContext/{}", field.join("/")),
            message: msg(Some(container_name(c))),
        });
    }
}

fn who(c: Option<&str>) -> String {
    match c {
        Some(c) => format!("container `{c}`"),
        None => "pod".into(),
    }
}

pub(crate) fn run_as_non_root(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    let pod_sc = ps.spec.get("securityContext");
    // A container's own field wins over the pod's. The process is not root when the kubelet
    // is told to refuse root (runAsNonRoot: true) or is given a non-zero UID to run as.
    fn field<'v>(c: &'v Value, pod_sc: Option<&'v Value>, f: &str) -> Option<&'v Value> {
        c.get("securityContext")
            .and_then(|s| s.get(f))
            .filter(|v| !v.is_null())
            .or_else(|| pod_sc.and_then(|s| s.get(f)).filter(|v| !v.is_null()))
    }
    let non_root = |c: Option<&Value>| {
        let (nr, uid) = match c {
            Some(c) => (
                field(c, pod_sc, "runAsNonRoot"),
                field(c, pod_sc, "runAsUser"),
            ),
            None => (
                pod_sc.and_then(|s| s.get("runAsNonRoot")),
                pod_sc.and_then(|s| s.get("runAsUser")),
            ),
        };
        nr.and_then(as_bool) == Some(true) || uid.and_then(as_int).is_some_and(|u| u > 0)
    };
    let bad: Vec<&Container> = o
        .containers
        .iter()
        .filter(|c| !non_root(Some(c.value)))
        .collect();
    if bad.is_empty() {
        return;
    }
    let any_container_sets = o.containers.iter().any(|c| {
        c.value
            .get("securityContext")
            .is_some_and(|s| s.get("runAsNonRoot").is_some() || s.get("runAsUser").is_some())
    });
    if !any_container_sets && !non_root(None) {
        out.push(Hit {
            obj: i,
            pointer: format!("{}/securityContext/runAsNonRoot", ps.ptr),
            message: "pod sets neither runAsNonRoot: true nor a non-zero runAsUser".into(),
        });
        return;
    }
    for c in bad {
        out.push(Hit {
            obj: i,
            pointer: format!("{}/securityContext/runAsNonRoot", c.ptr),
            message: format!(
                "container `{}` sets neither runAsNonRoot: true nor a non-zero runAsUser",
                container_name(c.value)
            ),
        });
    }
}

pub(crate) fn seccomp(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    pod_or_containers(
        o,
        &ps,
        i,
        &["seccompProfile", "type"],
        |v| {
            matches!(
                v.and_then(Value::as_str),
                Some("RuntimeDefault" | "Localhost")
            )
        },
        &|c| format!("{} has no RuntimeDefault seccomp profile", who(c)),
        out,
    );
}

pub(crate) fn fixed_uid(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    let describe = |field: &str, v: &Value, whom: String| {
        if field == "runAsUser" && v.as_i64() == Some(0) {
            format!("{whom} runs as root (runAsUser: 0)")
        } else {
            format!("{whom} pins {field}: {v}; OpenShift assigns it from the namespace range")
        }
    };
    if let Some(sc) = ps.spec.get("securityContext") {
        for f in ["runAsUser", "fsGroup"] {
            if let Some(v) = sc.get(f).filter(|v| !v.is_null()) {
                out.push(Hit {
                    obj: i,
                    pointer: format!("{}/securityContext/{f}", ps.ptr),
                    message: describe(f, v, "pod".into()),
                });
            }
        }
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        if let Some(v) = c
            .get("securityContext")
            .and_then(|s| s.get("runAsUser"))
            .filter(|v| !v.is_null())
        {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/securityContext/runAsUser"),
                message: describe("runAsUser", v, format!("container `{}`", container_name(c))),
            });
        }
    }
}

/// A hit for every container of a pod-bearing object whose `securityContext.<field>` is not
/// `want` (absent counts as not set).
fn container_flag(
    i: usize,
    o: &Obj,
    field: &str,
    want: bool,
    message: impl Fn(&str) -> String,
    out: &mut Vec<Hit>,
) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        if get(c, &["securityContext", field]).and_then(as_bool) != Some(want) {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/securityContext/{field}"),
                message: message(container_name(c)),
            });
        }
    }
}

pub(crate) fn privilege_escalation(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    container_flag(
        i,
        o,
        "allowPrivilegeEscalation",
        false,
        |c| format!("container `{c}` does not set allowPrivilegeEscalation: false"),
        out,
    );
}

pub(crate) fn read_only_root(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    container_flag(
        i,
        o,
        "readOnlyRootFilesystem",
        true,
        |c| format!("container `{c}` can write to its root filesystem"),
        out,
    );
}

pub(crate) fn capabilities(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        let caps = get(c, &["securityContext", "capabilities"]);
        let list = |k: &str| -> Vec<String> {
            caps.and_then(|x| x.get(k))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|s| s.to_ascii_uppercase())
                        .collect()
                })
                .unwrap_or_default()
        };
        let name = container_name(c);
        if !list("drop").iter().any(|d| d == "ALL") {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/securityContext/capabilities/drop"),
                message: format!("container `{name}` does not drop ALL capabilities"),
            });
        }
        let extra: Vec<String> = list("add")
            .into_iter()
            .filter(|a| a != "NET_BIND_SERVICE" && a != "CAP_NET_BIND_SERVICE")
            .collect();
        if !extra.is_empty() {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/securityContext/capabilities/add"),
                message: format!(
                    "container `{name}` adds capabilities {} (only NET_BIND_SERVICE is allowed)",
                    extra.join(", ")
                ),
            });
        }
    }
}

pub(crate) fn host_namespaces(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        if ps.spec.get(f).and_then(as_bool) == Some(true) {
            out.push(Hit {
                obj: i,
                pointer: format!("{}/{f}", ps.ptr),
                message: format!("pod sets {f}: true"),
            });
        }
    }
}

pub(crate) fn host_ports(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        let ports = c.get("ports").and_then(Value::as_array);
        for (j, port) in ports.into_iter().flatten().enumerate() {
            if let Some(hp) = port
                .get("hostPort")
                .and_then(Value::as_i64)
                .filter(|h| *h != 0)
            {
                out.push(Hit {
                    obj: i,
                    pointer: format!("{p}/ports/{j}/hostPort"),
                    message: format!("container `{}` binds host port {hp}", container_name(c)),
                });
            }
        }
    }
}

pub(crate) fn host_path(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    let vols = ps.spec.get("volumes").and_then(Value::as_array);
    for (j, v) in vols.into_iter().flatten().enumerate() {
        if let Some(hp) = v.get("hostPath") {
            let path = hp.get("path").and_then(Value::as_str).unwrap_or("?");
            out.push(Hit {
                obj: i,
                pointer: format!("{}/volumes/{j}/hostPath", ps.ptr),
                message: format!(
                    "volume `{}` mounts host path {path}",
                    v.get("name").and_then(Value::as_str).unwrap_or("?")
                ),
            });
        }
    }
}

pub(crate) fn privileged(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        if get(c, &["securityContext", "privileged"]).and_then(as_bool) == Some(true) {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/securityContext/privileged"),
                message: format!("container `{}` is privileged", container_name(c)),
            });
        }
    }
}

/// (tag, has digest) of an image reference; templates are skipped.
fn image_ref(s: &str) -> Option<(Option<&str>, bool)> {
    let s = s.trim();
    if s.is_empty() || s.contains("${") || s.contains("{{") || s.contains(' ') {
        return None;
    }
    let (name, digest) = match s.split_once('@') {
        Some((n, _)) => (n, true),
        None => (s, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    Some((last.split_once(':').map(|x| x.1), digest))
}

pub(crate) fn image_tag(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    for (p, img) in &o.images {
        let (p, img) = (p.clone(), *img);
        match image_ref(img) {
            Some((None, false)) => out.push(Hit {
                obj: i,
                pointer: p,
                message: format!("image `{img}` has no tag (pulls latest)"),
            }),
            Some((Some("latest"), false)) => out.push(Hit {
                obj: i,
                pointer: p,
                message: format!("image `{img}` uses the mutable tag latest"),
            }),
            _ => {}
        }
    }
}

pub(crate) fn image_digest(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    for (p, img) in &o.images {
        let (p, img) = (p.clone(), *img);
        if let Some((Some(tag), false)) = image_ref(img)
            && tag != "latest"
        {
            out.push(Hit {
                obj: i,
                pointer: p,
                message: format!("image `{img}` is pinned by tag only; add @sha256:<digest>"),
            });
        }
    }
}

pub(crate) fn resources(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        if p.contains("/ephemeralContainers/") {
            continue;
        }
        let missing: Vec<&str> = [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "memory"),
        ]
        .into_iter()
        .filter(|(a, b)| get(c, &["resources", a, b]).is_none_or(Value::is_null))
        .map(|(a, b)| {
            if a == "requests" {
                if b == "cpu" {
                    "requests.cpu"
                } else {
                    "requests.memory"
                }
            } else {
                "limits.memory"
            }
        })
        .collect();
        if !missing.is_empty() {
            let first = missing[0].replace('.', "/");
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/resources/{first}"),
                message: format!(
                    "container `{}` has no resources {}",
                    container_name(c),
                    missing.join(", ")
                ),
            });
        }
    }
}

/// Names that hold credentials. A name says what it holds by its last words: after the
/// credential word, a qualifier (`DB_PASSWORD_FILE`, `OIDC_TOKEN_ENDPOINT_AUTH_METHOD`,
/// `ID_TOKEN_SIGNING_ALG`, `TOKEN_TTL`) makes it a setting about the credential, not the
/// credential. `TOKEN` counts as a whole word only (`MAX_TOKENS`, `TOKENIZER` are not).
fn sensitive_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let n = n.trim_matches('_');
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "SECRET_KEY",
    ];
    // End of the last credential word in the name.
    let mut end = None;
    for w in WORDS {
        for (at, _) in n.match_indices(w) {
            let after = &n[at + w.len()..];
            let whole = *w != "TOKEN" || after.is_empty() || after.starts_with('_');
            if whole {
                end = end.max(Some(at + w.len()));
            }
        }
    }
    let Some(end) = end else {
        return false;
    };
    const QUALIFIERS: &[&str] = &[
        "FILE",
        "FILES",
        "PATH",
        "NAME",
        "REF",
        "LOCATION",
        "DIR",
        "ENABLED",
        "ENABLE",
        "DISABLED",
        "TTL",
        "TIMEOUT",
        "TYPE",
        "MODE",
        "HEADER",
        "URL",
        "URI",
        "ENDPOINT",
        "ALGORITHM",
        "ALG",
        "LENGTH",
        "EXPIRY",
        "EXPIRATION",
        "EXPIRE",
        "EXPIRES",
        "LIFESPAN",
        "LIFETIME",
        "DURATION",
        "PERIOD",
        "SIZE",
        "COUNT",
        "PORT",
        "HOST",
        "USER",
        "USERNAME",
        "ISSUER",
        "AUDIENCE",
        "SCOPE",
        "SCOPES",
        "PROVIDER",
        "CLASS",
        "FORMAT",
        "ENCODING",
        "KIND",
        "INTERVAL",
        "METHOD",
        "VERSION",
        "ROTATION",
        "LOOKUP",
        "SOURCE",
        "STORE",
        "MOUNT",
        "NAMESPACE",
        "FIELD",
        "PREFIX",
        // A command that prints the credential (Airflow's `…_CMD`): see `echoed_secret`.
        "CMD",
        "COMMAND",
    ];
    !n[end..].split('_').any(|seg| QUALIFIERS.contains(&seg))
}

/// A command option (`AIRFLOW__CORE__FERNET_KEY_CMD`) whose command only echoes a literal
/// credential; `cat /run/secrets/x` reads one and is fine.
fn echoed_secret(name: &str, val: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let command = upper.ends_with("_CMD") || upper.ends_with("_COMMAND");
    let stem = &upper[..upper.rfind('_').unwrap_or(0)];
    if !command || !sensitive_name(stem) {
        return false;
    }
    let mut words = val.split_whitespace();
    matches!(words.next(), Some("echo" | "printf"))
        && words
            .filter(|w| !w.starts_with('-'))
            .any(|w| literal_secret(w.trim_matches(['"', '\''])))
}

/// `30s`, `5m`, `1h30m`, `720h`: a duration, never a credential.
fn duration(v: &str) -> bool {
    let mut digits = false;
    let mut unit = false;
    let mut rest = v;
    while !rest.is_empty() {
        let d = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if d == 0 {
            return false;
        }
        rest = &rest[d..];
        digits = true;
        let u = rest.len()
            - rest
                .trim_start_matches(['n', 'u', 'µ', 'm', 's', 'h', 'd'])
                .len();
        if u == 0 || u > 2 {
            return false;
        }
        rest = &rest[u..];
        unit = true;
    }
    digits && unit
}

/// A literal that is not a placeholder, reference, boolean or number.
fn literal_secret(v: &str) -> bool {
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() || v.len() < 3 {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if ["true", "false", "null", "none", "changeme-in-secret"].contains(&lower.as_str()) {
        return false;
    }
    if v.parse::<f64>().is_ok() || duration(v) || qualified_name(v) {
        return false;
    }
    // A URL without a password in it is an address (url_credentials() judges the others).
    if v.contains("://") && !url_credentials(v) {
        return false;
    }
    !(v.starts_with('$')
        || v.starts_with('{')
        || v.starts_with('%')
        || v.starts_with('<')
        || v.starts_with('/')
        || v.contains("${")
        || v.contains("$(")
        || v.contains("{{")
        || v.contains('(')
        || v.contains('[')
        || lower.starts_with("env:")
        // References to secret stores (`urn:nessie-secret:…`, `vault:…`, `arn:…`, `ref+…`).
        || lower.starts_with("urn:")
        || lower.starts_with("vault:")
        || lower.starts_with("arn:")
        || lower.starts_with("ref+")
        || lower.contains("secret:")
        || lower.starts_with("secret:")
        || lower.starts_with("file:"))
}

/// A module or class path such as `airflow.secrets.local_filesystem.LocalFilesystemBackend`:
/// three or more dot-separated identifiers (a setting that names a secrets backend is not a
/// secret).
fn qualified_name(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            let mut cs = p.chars();
            cs.next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// `scheme://user:password@host` with a literal password.
fn url_credentials(line: &str) -> bool {
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        let authority = &after[..end];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, pw)) = userinfo.split_once(':')
            && literal_secret(pw)
        {
            return true;
        }
        rest = after;
    }
    false
}

pub(crate) fn inline_secrets(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind == "ConfigMap" {
        let Some(Value::Object(data)) = o.get(&["data"]) else {
            return;
        };
        for (k, v) in data {
            let Some(s) = v.as_str() else { continue };
            let at = ptr("", &["data", k]);
            if sensitive_name(k) && !s.contains('\n') && literal_secret(s) {
                out.push(Hit {
                    obj: i,
                    pointer: at,
                    message: format!("ConfigMap key `{k}` holds a credential"),
                });
                continue;
            }
            if s.contains("PRIVATE KEY-----") {
                out.push(Hit {
                    obj: i,
                    pointer: at,
                    message: format!("ConfigMap key `{k}` holds a private key"),
                });
                continue;
            }
            for (ln, line) in s.lines().enumerate() {
                let t = line.trim_start();
                if t.starts_with('#') || t.starts_with("//") || t.starts_with(';') {
                    continue;
                }
                let in_kv = t.find([':', '=']).is_some_and(|p| {
                    let (key, val) = (t[..p].trim(), &t[p + 1..]);
                    key.split_whitespace().count() == 1
                        && sensitive_name(key)
                        && !val.trim_start().starts_with("//")
                        && literal_secret(val)
                });
                if in_kv || url_credentials(t) {
                    out.push(Hit {
                        obj: i,
                        pointer: at.clone(),
                        message: format!(
                            "ConfigMap key `{k}` line {} holds a literal credential",
                            ln + 1
                        ),
                    });
                    break;
                }
            }
        }
        return;
    }
    // Secrets hold credentials by design; a CRD's schema holds no values.
    if matches!(o.kind, "Secret" | "CustomResourceDefinition") {
        return;
    }
    let envs = crate::model::find_under_keys(o.value, &|k, x| match x {
        Value::Array(a) if k == "env" => Some(a),
        _ => None,
    });
    for (at, env) in envs {
        for (j, e) in env.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            let Some(val) = e.get("value").and_then(Value::as_str) else {
                continue;
            };
            if (sensitive_name(name) && literal_secret(val))
                || url_credentials(val)
                || echoed_secret(name, val)
            {
                out.push(Hit {
                    obj: i,
                    pointer: format!("{at}/{j}/value"),
                    message: format!(
                        "env `{name}` holds a literal credential; use valueFrom.secretKeyRef"
                    ),
                });
            }
        }
    }
}

pub(crate) fn route_tls(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let mut hit = |pointer: &str, message: String| {
        out.push(Hit {
            obj: i,
            pointer: pointer.into(),
            message,
        })
    };
    match o.kind {
        "Route" => {
            let Some(tls) = o.get(&["spec", "tls"]).filter(|t| t.is_object()) else {
                hit("/spec/tls", "Route has no TLS: it serves plain HTTP".into());
                return;
            };
            if tls
                .get("termination")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                hit(
                    "/spec/tls/termination",
                    "Route TLS has no termination".into(),
                );
            }
            if let Some(p) = tls
                .get("insecureEdgeTerminationPolicy")
                .and_then(Value::as_str)
                && p.eq_ignore_ascii_case("allow")
            {
                hit(
                    "/spec/tls/insecureEdgeTerminationPolicy",
                    "Route allows insecure HTTP (insecureEdgeTerminationPolicy: Allow)".into(),
                );
            }
        }
        "Ingress" => {
            let has = o
                .get(&["spec", "tls"])
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if !has {
                hit(
                    "/spec/tls",
                    "Ingress has no TLS: it serves plain HTTP".into(),
                );
            }
        }
        _ => {}
    }
}

/// Operator custom resources that run pods in their namespace.
const POD_CRS: &[&str] = &[
    "PostgresCluster",
    "PGAdmin",
    "RedisReplication",
    "RedisSentinel",
    "Redis",
    "RedisCluster",
    "Kafka",
    "KafkaNodePool",
    "KafkaConnect",
    "KafkaMirrorMaker2",
    "KafkaBridge",
    "Tenant",
    "FlinkDeployment",
    "ClickHouseInstallation",
    "ClickHouseKeeperInstallation",
    "SparkApplication",
    "ScheduledSparkApplication",
    "EtcdCluster",
];

fn is_default_deny(np: &Obj) -> bool {
    let spec = np.get(&["spec"]);
    if !selector_is_empty(spec.and_then(|s| s.get("podSelector"))) {
        return false;
    }
    let types = spec
        .and_then(|s| s.get("policyTypes"))
        .and_then(Value::as_array);
    // Without policyTypes a policy always covers Ingress.
    let ingress = types.is_none_or(|t| t.iter().any(|x| x.as_str() == Some("Ingress")));
    let rules_empty = spec
        .and_then(|s| s.get("ingress"))
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    ingress && rules_empty
}

pub(crate) fn default_deny(ctx: &Ctx, out: &mut Vec<Hit>) {
    let mut namespaces: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, o) in ctx.objs.iter().enumerate() {
        if matches!(o.kind, "Namespace" | "Project") && o.namespace.is_none() {
            namespaces.insert(o.name, (i, "/metadata/name"));
        }
    }
    for (i, o) in ctx.objs.iter().enumerate() {
        let Some(ns) = o.namespace else { continue };
        let runs_pods = pod_spec(o).is_some() || POD_CRS.contains(&o.kind);
        let system = ns.starts_with("openshift") || ns.starts_with("kube-") || ns == "default";
        if runs_pods && !system {
            namespaces.entry(ns).or_insert((i, "/metadata/namespace"));
        }
    }
    for (ns, (i, pointer)) in namespaces {
        let ok = ctx.of_kind(ns, "NetworkPolicy").any(is_default_deny);
        if !ok {
            out.push(Hit {
                obj: i,
                pointer: pointer.into(),
                message: format!("namespace `{ns}` has no default-deny ingress NetworkPolicy"),
            });
        }
    }
}

/// Objects with a pod template that some NetworkPolicy of their namespace selects. Each
/// distinct selector of a namespace is matched once, against only the pods that can match it
/// (see `ha::candidates`), so the work grows with the tree, not with policies × workloads.
pub(crate) fn compute_netpol_selected(ctx: &Ctx, pods: &super::ha::PodLabels) -> HashSet<usize> {
    // Per namespace: whether a policy selects every pod, else its distinct selectors.
    let mut per_ns: HashMap<&str, (bool, HashMap<String, &Value>)> = HashMap::new();
    for np in ctx.objs.iter().filter(|o| o.kind == "NetworkPolicy") {
        let e = per_ns.entry(np.ns()).or_default();
        if e.0 {
            continue;
        }
        match np.get(&["spec", "podSelector"]) {
            Some(sel) if !selector_is_empty(Some(sel)) => {
                e.1.entry(sel.to_string()).or_insert(sel);
            }
            _ => e.0 = true,
        }
    }
    let mut work: Vec<(&str, &Value)> = Vec::new();
    let mut out: HashSet<usize> = HashSet::new();
    for (ns, (all, sels)) in &per_ns {
        if *all {
            out.extend(pods.by_ns.get(ns).into_iter().flatten().copied());
        } else {
            work.extend(sels.values().map(|s| (*ns, *s)));
        }
    }
    let matched: Vec<Vec<usize>> = work
        .par_iter()
        .map(|(ns, sel)| {
            pods.candidates(ns, sel)
                .iter()
                .copied()
                .filter(|&k| {
                    ctx.objs[k]
                        .pod
                        .is_some_and(|ps| selector_matches(sel, ps.labels))
                })
                .collect()
        })
        .collect();
    out.extend(matched.into_iter().flatten());
    out
}

pub(crate) fn netpol_selected(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    if !ctx.netpol_selected.contains(&i) {
        out.push(Hit {
            obj: i,
            pointer: format!("{}/metadata/labels", ps.ptr.trim_end_matches("/spec")),
            message: format!("no NetworkPolicy selects the pods of {}/{}", o.kind, o.name),
        });
    }
}

pub(crate) fn sa_token(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let Some(ps) = pod_spec(o) else { return };
    if ps
        .spec
        .get("automountServiceAccountToken")
        .and_then(as_bool)
        .is_some()
    {
        return;
    }
    let sa = ps
        .spec
        .get("serviceAccountName")
        .or_else(|| ps.spec.get("serviceAccount"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let sa_off = ctx.sa_no_token.contains(&(o.ns(), sa));
    if !sa_off {
        out.push(Hit {
            obj: i,
            pointer: format!("{}/automountServiceAccountToken", ps.ptr),
            message: format!(
                "pods mount the token of service account `{sa}` without declaring they need it"
            ),
        });
    }
}
