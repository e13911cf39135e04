//! Parse sources, build the object set, run the rules in parallel, turn hits into findings.

use std::collections::{HashMap, HashSet};

use datalyptica_yaml::{Document, NodePos, Pos};
use rayon::prelude::*;
use serde_json::Value;

use crate::model::{Obj, WAIVE_ANNOTATION, find_containers, find_images, find_pod_spec, ptr};
use crate::rules::{
    self, BAD_WAIVER, Check, Ctx, Hit, NOT_OBJECT, RULES, Rule, SKIPPED, UNKNOWN_KIND, YAML_ERROR,
};
use crate::{Config, Finding, Report, Severity, Source};

/// Kinds the linter understands: core Kubernetes, OpenShift, OLM, monitoring and the
/// platform's operators. Anything else is reported once as DL0003 (info).
const KNOWN_KINDS: &[&str] = &[
    // core / apps / batch / policy / networking / rbac / storage / autoscaling
    "Namespace",
    "Pod",
    "PodTemplate",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "VolumeSnapshot",
    "VolumeSnapshotClass",
    "CSIDriver",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
    "IngressClass",
    "LimitRange",
    "ResourceQuota",
    "PriorityClass",
    "RuntimeClass",
    "Lease",
    "CustomResourceDefinition",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "List",
    "Kustomization",
    // OpenShift
    "Route",
    "SecurityContextConstraints",
    "Project",
    "ProjectRequest",
    "ImageStream",
    "ImageStreamTag",
    "BuildConfig",
    "DeploymentConfig",
    "Template",
    "ClusterVersion",
    "ConsoleLink",
    "ConsolePlugin",
    "EgressFirewall",
    "AdminNetworkPolicy",
    // OLM
    "Subscription",
    "OperatorGroup",
    "CatalogSource",
    "ClusterServiceVersion",
    "InstallPlan",
    // monitoring
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "Prometheus",
    "Alertmanager",
    "AlertmanagerConfig",
    "Probe",
    // cert-manager
    "Certificate",
    "Issuer",
    "ClusterIssuer",
    // Crunchy PGO
    "PostgresCluster",
    "PGAdmin",
    "PGUpgrade",
    // OT redis-operator
    "RedisReplication",
    "RedisSentinel",
    "Redis",
    "RedisCluster",
    // Strimzi
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "KafkaConnect",
    "KafkaConnector",
    "KafkaMirrorMaker2",
    "KafkaRebalance",
    "KafkaBridge",
    // MinIO
    "Tenant",
    "PolicyBinding",
    // Flink
    "FlinkDeployment",
    "FlinkSessionJob",
    "FlinkStateSnapshot",
    // Spark
    "SparkApplication",
    "ScheduledSparkApplication",
    // Altinity ClickHouse
    "ClickHouseInstallation",
    "ClickHouseKeeperInstallation",
    "ClickHouseInstallationTemplate",
    "ClickHouseOperatorConfiguration",
    // datalyptica's own platform spec (rule DL1022)
    "Platform",
    // etcd operators
    "EtcdCluster",
    "EtcdBackup",
    "EtcdRestore",
];

/// One parsed file: its documents, or the input findings that replaced some of them.
struct Parsed {
    docs: Vec<Document>,
    errors: Vec<(Pos, String)>,
}

/// Parse a stream; when it fails, parse each `---` chunk on its own so that one broken
/// document does not hide the others of the file. Without `positions` the documents carry no
/// position index (see [`locate`]); the documents and errors are the same either way.
fn parse_source(text: &str, positions: bool) -> Parsed {
    let limits = datalyptica_yaml::Limits::default();
    let parse = |t: &str| {
        if positions {
            datalyptica_yaml::parse_with(t, &limits)
        } else {
            datalyptica_yaml::parse_values(t, &limits)
        }
    };
    // An input over the size limit is refused whole, not re-read chunk by chunk.
    if let Err(e) = limits.check_size(text) {
        return Parsed {
            docs: Vec::new(),
            errors: vec![(e.pos, e.message)],
        };
    }
    match parse(text) {
        Ok(docs) => Parsed {
            docs,
            errors: Vec::new(),
        },
        Err(first) => {
            let mut docs = Vec::new();
            let mut errors = Vec::new();
            let mut chunk_start = 0usize; // line index (0-based) of the chunk
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let mut bounds = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if i > 0
                    && (l.starts_with("---") && l[3..].trim().is_empty() || l.starts_with("--- "))
                {
                    bounds.push((chunk_start, i));
                    chunk_start = i;
                }
            }
            bounds.push((chunk_start, lines.len()));
            if bounds.len() == 1 {
                return Parsed {
                    docs: Vec::new(),
                    errors: vec![(first.pos, first.message)],
                };
            }
            for (a, b) in bounds {
                let chunk: String = lines[a..b].concat();
                let shift = |p: Pos| Pos {
                    line: p.line + a,
                    column: p.column,
                };
                match parse(&chunk) {
                    Ok(ds) => {
                        for mut d in ds {
                            d.start = shift(d.start);
                            d.positions = d
                                .positions
                                .into_iter()
                                .map(|(k, n)| {
                                    (
                                        k,
                                        NodePos {
                                            key: n.key.map(shift),
                                            value: shift(n.value),
                                        },
                                    )
                                })
                                .collect();
                            docs.push(d);
                        }
                    }
                    Err(e) => errors.push((shift(e.pos), e.message)),
                }
            }
            Parsed { docs, errors }
        }
    }
}

struct Waivers {
    /// rule id → reason
    ok: HashMap<String, String>,
    problems: Vec<String>,
}

/// `"DL1001: reason; DL2010, DL2011: reason"`.
fn parse_waivers(s: &str) -> Waivers {
    let mut w = Waivers {
        ok: HashMap::new(),
        problems: Vec::new(),
    };
    for part in s
        .split([';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (ids, reason) = match part.split_once(':') {
            Some((i, r)) => (i, r.trim()),
            None => (part, ""),
        };
        let ids: Vec<&str> = ids
            .split([',', ' '])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        for id in &ids {
            if rules::rule(id).is_none() {
                w.problems.push(format!("waiver names unknown rule `{id}`"));
            } else if reason.is_empty() {
                w.problems.push(format!("waiver for {id} gives no reason"));
            } else {
                w.ok.insert(id.to_ascii_uppercase(), reason.to_string());
            }
        }
    }
    w
}

/// An input finding before it becomes a [`Finding`].
struct InputHit {
    src: usize,
    obj: Option<usize>,
    rule: &'static str,
    /// Where: `pos` itself, or, with a document (its index in the file), `pointer` in it.
    pos: Pos,
    doc: Option<usize>,
    pointer: String,
    message: String,
}

/// A finding of a file (index), located later when it names a document (index in the file).
type Pending = (usize, Option<usize>, Finding);

/// Fill in the line and column of every finding that names a document. The first parse kept
/// no position index (a JSON pointer per node: the larger half of a parsed file's memory, held
/// for the whole tree); here each file with such findings is parsed again and each document
/// dropped as soon as its findings are located, so at most one document's index per thread is
/// alive at a time (a whole file only when it has a broken document and is read in chunks).
fn locate(sources: &[Source], parsed: &[Parsed], findings: &mut [Pending]) {
    let mut wanted: HashMap<usize, HashMap<usize, Vec<usize>>> = HashMap::new();
    for (i, (src, doc, _)) in findings.iter().enumerate() {
        if let Some(d) = doc {
            wanted
                .entry(*src)
                .or_default()
                .entry(*d)
                .or_default()
                .push(i);
        }
    }
    let all: &[Pending] = findings;
    let located: Vec<(usize, Pos)> = wanted
        .into_par_iter()
        .flat_map_iter(|(src, docs)| {
            let mut out = Vec::new();
            let mut found = |k: usize, d: &Document| {
                for &i in docs.get(&k).into_iter().flatten() {
                    out.push((i, d.locate(&all[i].2.pointer)));
                }
            };
            let text = &sources[src].text;
            // Documents without anchors, aliases or merge keys kept every node's position in
            // document order: located from their values, without reading the file again.
            let docs_of = &parsed[src].docs;
            let ordered = parsed[src].errors.is_empty()
                && docs
                    .keys()
                    .all(|&k| docs_of.get(k).is_some_and(|d| !d.order.is_empty()));
            if ordered {
                for (&k, is) in &docs {
                    let d = &docs_of[k];
                    for &i in is {
                        let pos = d.locate_by_order(&all[i].2.pointer).unwrap_or(d.start);
                        out.push((i, pos));
                    }
                }
            } else if parsed[src].errors.is_empty() {
                // Positions of the findings' nodes and their ancestors only: no pointer is built
                // for the rest of the file.
                let keep: HashMap<usize, HashSet<&str>> = docs
                    .iter()
                    .map(|(k, is)| {
                        let mut set = HashSet::from([""]);
                        for &i in is {
                            let p = all[i].2.pointer.as_str();
                            set.extend(p.match_indices('/').map(|(at, _)| &p[..at]));
                            set.insert(p);
                        }
                        (*k, set)
                    })
                    .collect();
                let wanted = |d: usize, p: &str| keep.get(&d).is_some_and(|s| s.contains(p));
                let mut k = 0;
                // Parsed before without an error: it parses again the same way.
                let _ = datalyptica_yaml::parse_each_keeping(
                    text,
                    &datalyptica_yaml::Limits::default(),
                    &wanted,
                    &mut |d| {
                        found(k, &d);
                        k += 1;
                    },
                );
            } else {
                for (k, d) in parse_source(text, true).docs.iter().enumerate() {
                    found(k, d);
                }
            }
            out
        })
        .collect();
    for (i, pos) in located {
        findings[i].2.line = pos.line;
        findings[i].2.column = pos.column;
    }
}

pub fn lint_sources(sources: &[Source], config: &Config) -> Report {
    let parsed: Vec<Parsed> = sources
        .par_iter()
        .map(|s| match s.skip {
            // Nothing to parse in a file the reader already set aside.
            Some(_) => Parsed {
                docs: Vec::new(),
                errors: Vec::new(),
            },
            None => parse_source(&s.text, false),
        })
        .collect();
    let skip: Vec<Option<String>> = {
        let docs: Vec<&[Document]> = parsed.iter().map(|p| p.docs.as_slice()).collect();
        let failed: Vec<bool> = parsed.iter().map(|p| !p.errors.is_empty()).collect();
        let found = crate::classify::classify(sources, &docs, &failed);
        sources
            .iter()
            .zip(found)
            .map(|(s, f)| s.skip.clone().or(f))
            .collect()
    };

    // Objects are collected per file in parallel; object indexes are made global afterwards.
    type PerFile<'p> = (Vec<Obj<'p>>, Vec<InputHit>, Vec<Option<Waivers>>);
    let per_file: Vec<PerFile> = parsed
        .par_iter()
        .enumerate()
        .map(|(src, p)| {
            let (mut objs, mut inputs, mut waivers) = (Vec::new(), Vec::new(), Vec::new());
            if let Some(why) = &skip[src] {
                inputs.push(InputHit {
                    src,
                    obj: None,
                    rule: SKIPPED,
                    pos: Pos { line: 1, column: 1 },
                    doc: None,
                    pointer: String::new(),
                    message: format!("skipped: {why}"),
                });
                return (objs, inputs, waivers);
            }
            for (pos, message) in &p.errors {
                inputs.push(InputHit {
                    src,
                    obj: None,
                    rule: YAML_ERROR,
                    pos: *pos,
                    doc: None,
                    pointer: String::new(),
                    message: if message.trim().is_empty() {
                        "YAML does not parse (unexpected end of input or syntax error)".to_string()
                    } else {
                        format!("YAML does not parse: {message}")
                    },
                });
            }
            for (k, doc) in p.docs.iter().enumerate() {
                collect_objects(
                    src,
                    k,
                    doc,
                    &doc.value,
                    "",
                    config,
                    &mut objs,
                    &mut inputs,
                    &mut waivers,
                );
            }
            (objs, inputs, waivers)
        })
        .collect();
    let total: usize = per_file.iter().map(|f| f.0.len()).sum();
    let mut objs: Vec<Obj> = Vec::with_capacity(total);
    let mut inputs: Vec<InputHit> = Vec::new();
    let mut waivers: Vec<Option<Waivers>> = Vec::with_capacity(total);
    for (o, ins, w) in per_file {
        let offset = objs.len();
        objs.extend(o);
        waivers.extend(w);
        inputs.extend(ins.into_iter().map(|mut h| {
            h.obj = h.obj.map(|k| k + offset);
            h
        }));
    }

    let ctx = Ctx::new(objs);

    let enabled: Vec<(&'static Rule, Severity)> = RULES
        .iter()
        .filter_map(|r| config.severity(r).map(|s| (r, s)))
        .collect();
    let object_rules: Vec<(usize, rules::ObjectCheck)> = enabled
        .iter()
        .enumerate()
        .filter_map(|(k, (r, _))| match r.check {
            Check::Object(f) => Some((k, f)),
            _ => None,
        })
        .collect();
    let tree_rules: Vec<(usize, rules::TreeCheck)> = enabled
        .iter()
        .enumerate()
        .filter_map(|(k, (r, _))| match r.check {
            Check::Tree(f) => Some((k, f)),
            _ => None,
        })
        .collect();

    let mut hits: Vec<(usize, Hit)> = (0..ctx.objs.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let mut v = Vec::new();
            let mut buf = Vec::new();
            for (k, f) in &object_rules {
                f(&ctx, i, &ctx.objs[i], &mut buf);
                v.extend(buf.drain(..).map(|h| (*k, h)));
            }
            v
        })
        .collect();
    hits.par_extend(tree_rules.par_iter().flat_map_iter(|(k, f)| {
        let mut buf = Vec::new();
        f(&ctx, &mut buf);
        buf.into_iter().map(move |h| (*k, h))
    }));

    let mut findings: Vec<Pending> = hits
        .into_par_iter()
        .map(|(k, h)| {
            let (rule, sev) = enabled[k];
            let o = &ctx.objs[h.obj];
            let pointer = format!("{}{}", o.base, h.pointer);
            let waiver = waivers[h.obj]
                .as_ref()
                .and_then(|w| w.ok.get(rule.id).cloned());
            (
                o.src,
                Some(o.doc),
                Finding {
                    rule: rule.id,
                    severity: sev,
                    message: format!("{}: {}", o.object_ref(), h.message),
                    object: Some(o.object_ref()),
                    file: sources[o.src].path.clone(),
                    line: 0,
                    column: 0,
                    pointer,
                    hint: rule.hint,
                    waiver,
                },
            )
        })
        .collect();

    for ih in inputs {
        let Some(rule) = rules::rule(ih.rule) else {
            continue;
        };
        let Some(sev) = config.severity(rule) else {
            continue;
        };
        let object = ih.obj.map(|i| ctx.objs[i].object_ref());
        let waiver = match (ih.obj, ih.rule) {
            (Some(i), r) if r != BAD_WAIVER => {
                waivers[i].as_ref().and_then(|w| w.ok.get(r).cloned())
            }
            _ => None,
        };
        let message = match &object {
            Some(o) => format!("{o}: {}", ih.message),
            None => ih.message,
        };
        findings.push((
            ih.src,
            ih.doc,
            Finding {
                rule: rule.id,
                severity: sev,
                message,
                object,
                file: sources[ih.src].path.clone(),
                line: ih.pos.line,
                column: ih.pos.column,
                pointer: ih.pointer,
                hint: rule.hint,
                waiver,
            },
        ));
    }

    locate(sources, &parsed, &mut findings);
    findings.par_sort_by(|(sa, _, a), (sb, _, b)| {
        (sa, a.line, a.column, a.rule, &a.message).cmp(&(sb, b.line, b.column, b.rule, &b.message))
    });
    let (waived, counted): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .map(|(_, _, f)| f)
        .partition(|f| f.waiver.is_some());
    let objects = ctx.objs.len();
    // Freeing ~10k documents' position maps is a noticeable share of a run: do it in parallel.
    drop(ctx);
    parsed.into_par_iter().for_each(drop);
    Report {
        findings: counted,
        waived,
        files: sources.len(),
        objects,
    }
}

#[allow(clippy::too_many_arguments)]
fn collect_objects<'a>(
    src: usize,
    doc_idx: usize,
    doc: &'a Document,
    value: &'a Value,
    base: &str,
    config: &Config,
    objs: &mut Vec<Obj<'a>>,
    inputs: &mut Vec<InputHit>,
    waivers: &mut Vec<Option<Waivers>>,
) {
    let mut bad = |pointer: String, message: String| {
        inputs.push(InputHit {
            src,
            obj: None,
            rule: NOT_OBJECT,
            pos: doc.start,
            doc: Some(doc_idx),
            pointer,
            message,
        })
    };
    let m = match value {
        Value::Null if base.is_empty() => return,
        Value::Object(m) => m,
        other => {
            let what = match other {
                Value::Array(_) => "a list",
                Value::Null => "empty",
                _ => "a scalar",
            };
            bad(
                base.to_string(),
                format!("document is {what}, not a Kubernetes object"),
            );
            return;
        }
    };
    let kind = m.get("kind").and_then(Value::as_str);
    let api = m.get("apiVersion").and_then(Value::as_str);
    let (Some(kind), Some(_)) = (kind, api) else {
        let missing = if kind.is_none() { "kind" } else { "apiVersion" };
        bad(base.to_string(), format!("object has no {missing}"));
        return;
    };
    if kind == "List" || (kind.ends_with("List") && m.get("items").is_some_and(Value::is_array)) {
        if let Some(Value::Array(items)) = m.get("items") {
            for (i, it) in items.iter().enumerate() {
                collect_objects(
                    src,
                    doc_idx,
                    doc,
                    it,
                    &format!("{base}/items/{i}"),
                    config,
                    objs,
                    inputs,
                    waivers,
                );
            }
        }
        return;
    }
    let meta = m.get("metadata");
    let name = meta
        .and_then(|x| x.get("name").or_else(|| x.get("generateName")))
        .and_then(Value::as_str);
    let Some(name) = name else {
        bad(
            format!("{base}/metadata"),
            format!("{kind} has no metadata.name"),
        );
        return;
    };
    let namespace = meta
        .and_then(|x| x.get("namespace"))
        .and_then(Value::as_str);
    let idx = objs.len();
    let pod = find_pod_spec(kind, value);
    let containers = pod.as_ref().map(find_containers).unwrap_or_default();
    objs.push(Obj {
        src,
        doc: doc_idx,
        base: base.to_string(),
        value,
        kind,
        name,
        namespace,
        pod,
        containers,
        images: find_images(kind, value),
    });
    let wptr = ptr(base, &["metadata", "annotations", WAIVE_ANNOTATION]);
    let w = meta
        .and_then(|x| x.get("annotations"))
        .and_then(|a| a.get(WAIVE_ANNOTATION))
        .and_then(Value::as_str)
        .map(parse_waivers);
    if let Some(w) = &w {
        for p in &w.problems {
            inputs.push(InputHit {
                src,
                obj: Some(idx),
                rule: BAD_WAIVER,
                pos: doc.start,
                doc: Some(doc_idx),
                pointer: wptr.clone(),
                message: p.clone(),
            });
        }
    }
    waivers.push(w);
    if !KNOWN_KINDS.contains(&kind) && !config.extra_kinds.contains(kind) {
        let p = format!("{base}/kind");
        inputs.push(InputHit {
            src,
            obj: Some(idx),
            rule: UNKNOWN_KIND,
            pos: doc.start,
            doc: Some(doc_idx),
            pointer: p,
            message: format!("unknown kind `{kind}`: only generic rules apply"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectRef;

    #[test]
    fn waiver_parsing() {
        let w = parse_waivers("DL1001: dev only; DL2010, DL2011: vendor image; DL9999: x; DL1003");
        assert_eq!(w.ok.get("DL1001").map(String::as_str), Some("dev only"));
        assert_eq!(w.ok.get("DL2011").map(String::as_str), Some("vendor image"));
        assert_eq!(w.problems.len(), 2, "{:?}", w.problems);
    }

    #[test]
    fn chunked_reparse_keeps_good_documents() {
        let p = parse_source("a: 1\n---\nb: [\n---\nc: 3\n", true);
        assert_eq!(p.docs.len(), 2);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.docs[1].locate("/c").line, 5);
    }

    #[test]
    fn object_ref_display() {
        let o = ObjectRef {
            kind: "Deployment".into(),
            namespace: Some("ns".into()),
            name: "x".into(),
        };
        assert_eq!(o.to_string(), "Deployment/ns/x");
    }
}
