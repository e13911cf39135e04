//! Storage rules.

use std::collections::HashMap;

use serde_json::Value;

use super::ha::workload_replicas;
use super::{Ctx, Hit};
use crate::model::{Obj, REPLICATED_KINDS, pod_spec};

const BLOCK_PROVISIONERS: &[&str] = &[
    "ebs.csi.aws.com",
    "kubernetes.io/aws-ebs",
    "rbd.csi.ceph.com",
    "kubernetes.io/rbd",
    "pd.csi.storage.gke.io",
    "kubernetes.io/gce-pd",
    "disk.csi.azure.com",
    "kubernetes.io/azure-disk",
    "cinder.csi.openstack.org",
    "kubernetes.io/cinder",
    "topolvm.io",
    "topolvm.cybozu.com",
    "lvms.topolvm.io",
    "kubernetes.io/no-provisioner",
    "local.csi",
];

/// Whether a storage class is known to be block-only: by its provisioner when the tree
/// defines it, else by common naming.
fn block_class(ctx: &Ctx, name: &str) -> bool {
    if let Some(sc) = ctx.of_kind("", "StorageClass").find(|s| s.name == name) {
        let prov = sc
            .get(&["provisioner"])
            .and_then(Value::as_str)
            .unwrap_or("");
        return BLOCK_PROVISIONERS.iter().any(|p| prov.contains(p));
    }
    let n = name.to_ascii_lowercase();
    let file = ["cephfs", "nfs", "efs", "file", "rwx", "shared"];
    if file.iter().any(|f| n.contains(f)) {
        return false;
    }
    [
        "rbd", "ebs", "gp2", "gp3", "io1", "io2", "block", "disk", "lvm", "local", "rwo",
    ]
    .iter()
    .any(|b| n.contains(b))
}

fn rwx(spec: &Value) -> bool {
    spec.get("accessModes")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|m| m.as_str() == Some("ReadWriteMany")))
}

/// Pods (by replica count) that mount each claim, by (namespace, claim name); built once per
/// run so that checking a claim does not scan the namespace's workloads.
pub(crate) fn claim_users<'a>(ctx: &Ctx<'a>) -> HashMap<(&'a str, &'a str), i64> {
    let mut m: HashMap<(&str, &str), i64> = HashMap::new();
    let kinds = REPLICATED_KINDS
        .iter()
        .chain(["DaemonSet", "Job", "CronJob", "Pod"].iter());
    for o in ctx
        .objs
        .iter()
        .filter(|o| kinds.clone().any(|k| *k == o.kind))
    {
        let Some(ps) = pod_spec(o) else { continue };
        let mut claims: Vec<&str> = ps
            .spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                v.get("persistentVolumeClaim")
                    .and_then(|p| p.get("claimName"))
                    .and_then(Value::as_str)
            })
            .collect();
        claims.sort_unstable();
        claims.dedup();
        if claims.is_empty() {
            continue;
        }
        // DaemonSets and Jobs may run many pods: count them as shared.
        let n = match workload_replicas(ctx, o) {
            Some((n, _)) => n,
            None if o.kind == "Pod" => 1,
            None => 2,
        };
        for c in claims {
            let t = m.entry((o.ns(), c)).or_insert(0);
            *t = i64::saturating_add(*t, n);
        }
    }
    m
}

/// Pods (by replica count) in the namespace that mount the claim; None if nothing mounts it.
fn claim_pods<'a>(ctx: &Ctx<'a>, ns: &'a str, claim: &str) -> Option<i64> {
    ctx.claim_users.get(&(ns, claim)).copied()
}

pub(crate) fn rwx_check(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    match o.kind {
        "PersistentVolumeClaim" => {
            let Some(spec) = o.get(&["spec"]) else { return };
            if !rwx(spec) {
                return;
            }
            let pointer = "/spec/accessModes".to_string();
            if let Some(sc) = spec.get("storageClassName").and_then(Value::as_str)
                && block_class(ctx, sc)
            {
                out.push(Hit {
                    obj: i,
                    pointer,
                    message: format!("ReadWriteMany on block storage class `{sc}` never binds"),
                });
                return;
            }
            if let Some(n) = claim_pods(ctx, o.ns(), o.name)
                && n <= 1
            {
                out.push(Hit {
                    obj: i,
                    pointer,
                    message: "ReadWriteMany claim is mounted by a single pod: use ReadWriteOnce"
                        .into(),
                });
            }
        }
        "StatefulSet" => {
            let vcts = o
                .get(&["spec", "volumeClaimTemplates"])
                .and_then(Value::as_array);
            for (j, v) in vcts.into_iter().flatten().enumerate() {
                if v.get("spec").is_some_and(rwx) {
                    out.push(Hit {
                        obj: i,
                        pointer: format!("/spec/volumeClaimTemplates/{j}/spec/accessModes"),
                        message: "volumeClaimTemplate asks for ReadWriteMany, but each replica gets its own volume".into(),
                    });
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn sts_vct(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "StatefulSet" {
        return;
    }
    let has = o
        .get(&["spec", "volumeClaimTemplates"])
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has {
        out.push(Hit {
            obj: i,
            pointer: "/spec/volumeClaimTemplates".into(),
            message: "StatefulSet has no volumeClaimTemplates: its data does not survive the pod"
                .into(),
        });
    }
}

pub(crate) fn storage_class(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let mut claims: Vec<(String, Option<&Value>, &str)> = Vec::new();
    let arr = |path: &[&str]| o.get(path).and_then(Value::as_array);
    match o.kind {
        "PersistentVolumeClaim" => {
            claims.push(("/spec".into(), o.get(&["spec"]), "storageClassName"))
        }
        "StatefulSet" => {
            for (j, v) in arr(&["spec", "volumeClaimTemplates"])
                .into_iter()
                .flatten()
                .enumerate()
            {
                claims.push((
                    format!("/spec/volumeClaimTemplates/{j}/spec"),
                    v.get("spec"),
                    "storageClassName",
                ));
            }
        }
        "PostgresCluster" => {
            for (j, v) in arr(&["spec", "instances"])
                .into_iter()
                .flatten()
                .enumerate()
            {
                for k in ["dataVolumeClaimSpec", "walVolumeClaimSpec"] {
                    if let Some(s) = v.get(k) {
                        claims.push((
                            format!("/spec/instances/{j}/{k}"),
                            Some(s),
                            "storageClassName",
                        ));
                    }
                }
            }
        }
        "Tenant" => {
            for (j, v) in arr(&["spec", "pools"]).into_iter().flatten().enumerate() {
                claims.push((
                    format!("/spec/pools/{j}/volumeClaimTemplate/spec"),
                    v.get("volumeClaimTemplate").and_then(|t| t.get("spec")),
                    "storageClassName",
                ));
            }
        }
        "KafkaNodePool" => {
            let storage = o.get(&["spec", "storage"]);
            match storage.and_then(|s| s.get("type")).and_then(Value::as_str) {
                Some("persistent-claim") => claims.push(("/spec/storage".into(), storage, "class")),
                Some("jbod") => {
                    for (j, v) in arr(&["spec", "storage", "volumes"])
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        if v.get("type").and_then(Value::as_str) == Some("persistent-claim") {
                            claims.push((format!("/spec/storage/volumes/{j}"), Some(v), "class"));
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
    for (at, spec, field) in claims {
        if spec.and_then(|s| s.get(field)).is_none_or(Value::is_null) {
            out.push(Hit {
                obj: i,
                pointer: format!("{at}/{field}"),
                message: format!(
                    "claim has no {field}: it gets whatever default class the cluster has"
                ),
            });
        }
    }
}
