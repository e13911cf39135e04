//! Objects of the tree and the cross-object indexes rules need.

use std::collections::HashMap;

use datalyptica_yaml::escape_segment;
use serde_json::{Map, Value};

pub(crate) const WAIVE_ANNOTATION: &str = "lint.datalyptica.io/waive";

/// One Kubernetes object: a document, or an item of a `List`.
pub(crate) struct Obj<'a> {
    pub src: usize,
    /// Index of the document in its file (positions are looked up afterwards, per document).
    pub doc: usize,
    /// Pointer of the object inside its document (`""`, or `/items/N` in a `List`).
    pub base: String,
    pub value: &'a Value,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    /// Computed once: most rules look at the pod template.
    pub pod: Option<PodSpec<'a>>,
    pub containers: Vec<Container<'a>>,
    pub images: Vec<(String, &'a str)>,
}

/// A container of the pod template, with its pointer relative to the object.
pub(crate) struct Container<'a> {
    pub ptr: String,
    pub value: &'a Value,
    /// A regular (long-running) container, not an init or ephemeral one.
    pub regular: bool,
}

impl<'a> Container<'a> {
    pub fn tuple(&self) -> (&str, &'a Value, bool) {
        (&self.ptr, self.value, self.regular)
    }
}

impl<'a> Obj<'a> {
    pub fn get(&self, path: &[&str]) -> Option<&'a Value> {
        get(self.value, path)
    }

    /// Namespace used to relate objects; objects without one share the unnamed namespace.
    pub fn ns(&self) -> &'a str {
        self.namespace.unwrap_or("")
    }

    pub fn object_ref(&self) -> crate::ObjectRef {
        crate::ObjectRef {
            kind: self.kind.to_string(),
            namespace: self.namespace.map(str::to_string),
            name: self.name.to_string(),
        }
    }

    pub fn labels(&self) -> Option<&'a Map<String, Value>> {
        self.get(&["metadata", "labels"]).and_then(Value::as_object)
    }
}

pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get(*p)?,
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Build a JSON pointer from segments, escaping keys such as `kubernetes.io/hostname`.
pub(crate) fn ptr(base: &str, segs: &[&str]) -> String {
    let mut s = base.to_string();
    for seg in segs {
        s.push('/');
        s.push_str(&escape_segment(seg));
    }
    s
}

/// Integers written as numbers or numeric strings (Kafka configs, Sentinel quorum).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An int-or-string budget value resolved against a replica count; percentages round up,
/// as the disruption controller does.
pub(crate) fn scaled(v: &Value, n: i64) -> Option<i64> {
    match v {
        Value::Number(x) => x.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                let p: i64 = p.trim().parse().ok()?;
                // Checked: budgets are user input and may be absurd.
                Some(n.checked_mul(p)?.checked_add(99)? / 100)
            } else {
                s.parse().ok()
            }
        }
        _ => None,
    }
}

/// `metav1.LabelSelector` semantics; an empty selector matches everything.
pub(crate) fn selector_matches(sel: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let labels = labels.unwrap_or(&empty);
    let Value::Object(sel) = sel else {
        return false;
    };
    if let Some(Value::Object(ml)) = sel.get("matchLabels") {
        for (k, v) in ml {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
    }
    if let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let have = labels.get(key).and_then(Value::as_str);
            let ok = match op {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

pub(crate) fn selector_is_empty(sel: Option<&Value>) -> bool {
    match sel {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => {
            let empty = |k: &str| match m.get(k) {
                None | Some(Value::Null) => true,
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            empty("matchLabels") && empty("matchExpressions")
        }
        _ => false,
    }
}

/// Kinds whose pods a controller keeps at `spec.replicas`.
pub(crate) const REPLICATED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "DeploymentConfig",
];

/// A pod spec inside a workload.
#[derive(Clone, Copy)]
pub(crate) struct PodSpec<'a> {
    pub spec: &'a Value,
    /// Pointer to the pod spec (relative to the object).
    pub ptr: &'static str,
    pub labels: Option<&'a Map<String, Value>>,
}

pub(crate) fn pod_spec<'a>(o: &Obj<'a>) -> Option<PodSpec<'a>> {
    o.pod
}

pub(crate) fn find_pod_spec<'a>(kind: &str, value: &'a Value) -> Option<PodSpec<'a>> {
    let (path, ptr, labels): (&[&str], &'static str, &[&str]) = match kind {
        "Pod" => (&["spec"], "/spec", &["metadata", "labels"]),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "DeploymentConfig" => (
            &["spec", "template", "spec"],
            "/spec/template/spec",
            &["spec", "template", "metadata", "labels"],
        ),
        "CronJob" => (
            &["spec", "jobTemplate", "spec", "template", "spec"],
            "/spec/jobTemplate/spec/template/spec",
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "metadata",
                "labels",
            ],
        ),
        _ => return None,
    };
    let spec = get(value, path).filter(|v| v.is_object())?;
    Some(PodSpec {
        spec,
        ptr,
        labels: get(value, labels).and_then(Value::as_object),
    })
}

/// Every container of a pod spec with its pointer (relative to the object).
pub(crate) fn find_containers<'a>(ps: &PodSpec<'a>) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = ps.spec.get(list) {
            for (i, c) in cs.iter().enumerate() {
                if c.is_object() {
                    out.push(Container {
                        ptr: format!("{}/{list}/{i}", ps.ptr),
                        value: c,
                        regular: list == "containers",
                    });
                }
            }
        }
    }
    out
}

pub(crate) fn container_name(c: &Value) -> &str {
    c.get("name").and_then(Value::as_str).unwrap_or("?")
}

/// Cross-object lookups, built once per run.
pub(crate) struct Index<'a> {
    by_ns_kind: HashMap<(&'a str, &'a str), Vec<usize>>,
    hpa_min: HashMap<(&'a str, &'a str, &'a str), (i64, usize)>,
}

impl<'a> Index<'a> {
    pub fn build(objs: &[Obj<'a>]) -> Self {
        let mut by_ns_kind: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut hpa_min = HashMap::new();
        for (i, o) in objs.iter().enumerate() {
            by_ns_kind.entry((o.ns(), o.kind)).or_default().push(i);
            if o.kind == "HorizontalPodAutoscaler" {
                let kind = o
                    .get(&["spec", "scaleTargetRef", "kind"])
                    .and_then(Value::as_str);
                let name = o
                    .get(&["spec", "scaleTargetRef", "name"])
                    .and_then(Value::as_str);
                if let (Some(k), Some(n)) = (kind, name) {
                    let min = o
                        .get(&["spec", "minReplicas"])
                        .and_then(as_int)
                        .unwrap_or(1);
                    hpa_min.insert((o.ns(), k, n), (min, i));
                }
            }
        }
        Index {
            by_ns_kind,
            hpa_min,
        }
    }

    pub fn of_kind(&self, ns: &'a str, kind: &'a str) -> &[usize] {
        self.by_ns_kind
            .get(&(ns, kind))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn hpa_min(&self, o: &Obj<'a>) -> Option<i64> {
        if self.hpa_min.is_empty() {
            return None;
        }
        self.hpa_min.get(&(o.ns(), o.kind, o.name)).map(|x| x.0)
    }
}

/// Kinds whose `image` keys are not container images.
const NOT_POD_KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "CustomResourceDefinition",
    "ImageStream",
    "ImageStreamTag",
    "CatalogSource",
    "ClusterServiceVersion",
];

/// Every value `pick` accepts under an object key, with its JSON pointer, in document order.
/// Picked values are not searched further; everything else is.
pub(crate) fn find_under_keys<'a, T>(
    v: &'a Value,
    pick: &dyn Fn(&str, &'a Value) -> Option<T>,
) -> Vec<(String, T)> {
    fn walk<'a, T>(
        v: &'a Value,
        at: &mut String,
        pick: &dyn Fn(&str, &'a Value) -> Option<T>,
        out: &mut Vec<(String, T)>,
    ) {
        let mut step = |seg: &str, x: &'a Value, key: Option<&str>, at: &mut String| {
            let len = at.len();
            at.push('/');
            at.push_str(seg);
            match key.and_then(|k| pick(k, x)) {
                Some(t) => out.push((at.clone(), t)),
                None if x.is_object() || x.is_array() => walk(x, at, pick, out),
                None => {}
            }
            at.truncate(len);
        };
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    step(&datalyptica_yaml::escape_segment(k), x, Some(k), at);
                }
            }
            Value::Array(a) => {
                for (j, x) in a.iter().enumerate() {
                    step(&j.to_string(), x, None, at);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut String::new(), pick, &mut out);
    out
}

/// Every container image reference in an object (any key named `image`), with its pointer.
pub(crate) fn find_images<'a>(kind: &str, value: &'a Value) -> Vec<(String, &'a str)> {
    if NOT_POD_KINDS.contains(&kind) {
        return Vec::new();
    }
    find_under_keys(value, &|k, x| if k == "image" { x.as_str() } else { None })
}
