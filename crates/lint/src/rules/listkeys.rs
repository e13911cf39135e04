//! DL0010: duplicate keys in the list maps of a pod spec.
//!
//! Kubernetes declares several pod-spec lists as maps keyed by some of their fields
//! (`x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys`, `+listMapKey` in the Go
//! types): containers by `name`, a container's `env` by `name`, its `ports` by `containerPort` and
//! `protocol`, its `volumeMounts` by `mountPath`, and the pod's `volumes` by `name`. Server-side
//! apply refuses an object whose list map holds one key twice ("duplicate entries for key"), even
//! where a client-side apply would have let the last entry win; container port names must be
//! unique in a container as well. The rule looks at every pod spec of an object, the pod
//! templates inside custom resources included, and also at the ports an operator adds to the
//! pods it builds from a template (Flink's JobManager and TaskManager ports), which clash with
//! the same ports declared in the template.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Ctx, Hit};
use crate::model::{as_int, get};
use datalyptica_yaml::escape_segment as escape;

/// Kinds with no pod specs (their `containers` keys are schemas or data).
const SKIP_KINDS: &[&str] = &["CustomResourceDefinition", "ConfigMap", "Secret"];

/// A port an operator adds to a container of the pods it builds from a template.
struct Added {
    /// Who adds it, for the message.
    by: &'static str,
    container: &'static str,
    name: &'static str,
    port: i64,
}

/// Every pod spec below `v` (an object with a `containers` list), with its pointer.
fn pod_specs<'a>(v: &'a Value, at: &mut String, out: &mut Vec<(String, &'a Map<String, Value>)>) {
    match v {
        Value::Object(m) => {
            if m.get("containers").is_some_and(Value::is_array) {
                out.push((at.clone(), m));
            }
            for (k, x) in m {
                if x.is_object() || x.is_array() {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&escape(k));
                    pod_specs(x, at, out);
                    at.truncate(len);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if x.is_object() || x.is_array() {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    pod_specs(x, at, out);
                    at.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Flink (`InitJobManagerDecorator`/`InitTaskManagerDecorator` of flink-kubernetes, run by the
/// Flink Kubernetes Operator) appends `rest`, `jobmanager-rpc` and `blobserver` to the
/// JobManager's main container and `taskmanager-rpc` to the TaskManager's, numbered by the
/// configuration (native-mode defaults 8081, 6123, 6124, 6122). The top-level `podTemplate`
/// is merged into both roles.
fn flink_added(o: &Value, pod_ptr: &str) -> Vec<Added> {
    let conf = |key: &str, dflt: i64| {
        get(o, &["spec", "flinkConfiguration"])
            .and_then(|c| c.get(key))
            .and_then(as_int)
            .unwrap_or(dflt)
    };
    let by = "the Flink operator";
    let main = "flink-main-container";
    let jm = || {
        vec![
            Added {
                by,
                container: main,
                name: "rest",
                port: conf("rest.port", 8081),
            },
            Added {
                by,
                container: main,
                name: "jobmanager-rpc",
                port: conf("jobmanager.rpc.port", 6123),
            },
            Added {
                by,
                container: main,
                name: "blobserver",
                port: conf("blob.server.port", 6124),
            },
        ]
    };
    let tm = || {
        vec![Added {
            by,
            container: main,
            name: "taskmanager-rpc",
            port: conf("taskmanager.rpc.port", 6122),
        }]
    };
    match pod_ptr {
        "/spec/jobManager/podTemplate/spec" => jm(),
        "/spec/taskManager/podTemplate/spec" => tm(),
        "/spec/podTemplate/spec" => {
            let mut v = jm();
            v.extend(tm());
            v
        }
        _ => Vec::new(),
    }
}

fn added_ports(kind: &str, o: &Value, pod_ptr: &str) -> Vec<Added> {
    match kind {
        "FlinkDeployment" => flink_added(o, pod_ptr),
        _ => Vec::new(),
    }
}

/// Reports every entry of `list` whose key was seen before in the same list.
fn duplicates<'a>(
    list: Option<&'a Value>,
    key: impl Fn(&'a Value) -> Option<String>,
) -> Vec<(usize, String, usize)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, item) in list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(k) = key(item) else { continue };
        match seen.get(&k) {
            Some(first) => out.push((i, k, *first)),
            None => {
                seen.insert(k, i);
            }
        }
    }
    out
}

fn str_field(item: &Value, f: &str) -> Option<String> {
    item.get(f).and_then(Value::as_str).map(str::to_string)
}

fn port_key(p: &Value) -> Option<String> {
    let n = p.get("containerPort").and_then(as_int)?;
    let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
    Some(format!("{n}/{proto}"))
}

pub(crate) fn duplicate_list_keys(_: &Ctx, i: usize, o: &crate::model::Obj, out: &mut Vec<Hit>) {
    if SKIP_KINDS.contains(&o.kind) {
        return;
    }
    let mut specs = Vec::new();
    pod_specs(o.value, &mut String::new(), &mut specs);
    for (pod_ptr, spec) in specs {
        let mut hit = |pointer: String, message: String| {
            out.push(Hit {
                obj: i,
                pointer,
                message,
            })
        };
        let list_ptr = |list: &str, j: usize| format!("{pod_ptr}/{list}/{j}");
        // Container names are one key space across init and regular containers.
        let mut names: HashMap<&str, String> = HashMap::new();
        for list in ["initContainers", "containers"] {
            for (j, c) in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(n) = c.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let here = list_ptr(list, j);
                match names.get(n) {
                    Some(first) => hit(
                        format!("{here}/name"),
                        format!(
                            "container name `{n}` appears twice in one pod (first at {first}): server-side apply rejects duplicate list-map keys"
                        ),
                    ),
                    None => {
                        names.insert(n, here);
                    }
                }
            }
        }
        for (j, _, first) in duplicates(spec.get("volumes"), |v| str_field(v, "name")) {
            hit(
                format!("{}/name", list_ptr("volumes", j)),
                format!(
                    "volume `{}` is declared twice (first at {}): server-side apply rejects duplicate list-map keys",
                    spec["volumes"][j]["name"].as_str().unwrap_or("?"),
                    list_ptr("volumes", first)
                ),
            );
        }
        let added = added_ports(o.kind, o.value, &pod_ptr);
        for list in ["initContainers", "containers"] {
            for (j, c) in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let cptr = list_ptr(list, j);
                let cname = c.get("name").and_then(Value::as_str).unwrap_or("?");
                for (k, name, first) in duplicates(c.get("env"), |e| str_field(e, "name")) {
                    hit(
                        format!("{cptr}/env/{k}/name"),
                        format!(
                            "env `{name}` is set twice in container `{cname}` (first at {cptr}/env/{first}): server-side apply rejects duplicate list-map keys"
                        ),
                    );
                }
                for (k, key, first) in duplicates(c.get("ports"), port_key) {
                    hit(
                        format!("{cptr}/ports/{k}/containerPort"),
                        format!(
                            "port {key} is declared twice in container `{cname}` (first at {cptr}/ports/{first}): server-side apply rejects duplicate list-map keys (containerPort, protocol)"
                        ),
                    );
                }
                for (k, name, first) in duplicates(c.get("ports"), |p| str_field(p, "name")) {
                    hit(
                        format!("{cptr}/ports/{k}/name"),
                        format!(
                            "port name `{name}` is used twice in container `{cname}` (first at {cptr}/ports/{first}): the API server rejects duplicate port names"
                        ),
                    );
                }
                for (k, path, first) in
                    duplicates(c.get("volumeMounts"), |v| str_field(v, "mountPath"))
                {
                    hit(
                        format!("{cptr}/volumeMounts/{k}/mountPath"),
                        format!(
                            "mount path `{path}` is used twice in container `{cname}` (first at {cptr}/volumeMounts/{first}): server-side apply rejects duplicate list-map keys"
                        ),
                    );
                }
                if list != "containers" {
                    continue;
                }
                for a in added.iter().filter(|a| a.container == cname) {
                    for (k, p) in c
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        let same_name = p.get("name").and_then(Value::as_str) == Some(a.name);
                        let same_port = p.get("containerPort").and_then(as_int) == Some(a.port)
                            && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP";
                        if same_name || same_port {
                            hit(
                                format!("{cptr}/ports/{k}"),
                                format!(
                                    "{} adds port `{}` ({}/TCP) to container `{cname}` itself: declaring {} again makes a duplicate key that the API server rejects",
                                    a.by,
                                    a.name,
                                    a.port,
                                    if same_name { "the name" } else { "the number" }
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
