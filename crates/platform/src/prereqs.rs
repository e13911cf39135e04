//! `00-prerequisites/`: projects, storage classes, operator subscriptions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::component::{Component, Content, File};
use crate::crs::{Cr, olm};
use crate::k8s;
use crate::model::Model;
use crate::spec::InstallPlanApproval;

pub const DIR: &str = "00-prerequisites";

fn platform_labels(m: &Model) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = m.platform.metadata.labels.clone();
    l.extend(m.platform.spec.namespaces.labels.clone());
    l.insert("app.kubernetes.io/part-of".into(), k8s::PART_OF.into());
    l.insert("app.kubernetes.io/instance".into(), m.name.clone());
    l.insert("app.kubernetes.io/managed-by".into(), "datalyptica".into());
    l
}

pub fn namespaces(m: &Model) -> Vec<Value> {
    let mut names = m.namespaces();
    if !names.contains(&m.operators_namespace) && m.operators_namespace != "openshift-operators" {
        names.push(m.operators_namespace.clone());
    }
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let mut labels = platform_labels(m);
            // Warn and audit against Pod Security "restricted"; enforcement stays with the SCCs
            // (OpenShift's label syncer owns `enforce`, and operator-made pods are admitted by SCC).
            labels.insert(
                "pod-security.kubernetes.io/audit".into(),
                "restricted".into(),
            );
            labels.insert(
                "pod-security.kubernetes.io/warn".into(),
                "restricted".into(),
            );
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(n.clone()),
                    labels: Some(labels),
                    annotations: Some(BTreeMap::from([
                        (
                            "openshift.io/display-name".to_string(),
                            format!("Datalyptica {n}"),
                        ),
                        (
                            "openshift.io/description".to_string(),
                            format!("Datalyptica platform `{}`", m.name),
                        ),
                    ])),
                    ..Default::default()
                },
                ..Default::default()
            };
            k8s::to_value(&ns)
        })
        .collect()
}

pub fn storage_classes(m: &Model) -> Vec<Value> {
    if !m.create_odf_classes {
        return vec![];
    }
    let class = |name: &str, provisioner: &str, params: &[(&str, &str)]| {
        let ns = "openshift-storage";
        let mut p: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.insert("clusterID".into(), ns.into());
        for (key, secret) in [
            ("csi.storage.k8s.io/provisioner-secret", "provisioner"),
            ("csi.storage.k8s.io/node-stage-secret", "node"),
            ("csi.storage.k8s.io/controller-expand-secret", "provisioner"),
        ] {
            let kind = if provisioner.contains("rbd") {
                "rbd"
            } else {
                "cephfs"
            };
            p.insert(format!("{key}-name"), format!("rook-csi-{kind}-{secret}"));
            p.insert(format!("{key}-namespace"), ns.into());
        }
        k8s::to_value(&StorageClass {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(platform_labels(m)),
                ..Default::default()
            },
            provisioner: provisioner.into(),
            parameters: Some(p),
            reclaim_policy: Some("Retain".into()),
            allow_volume_expansion: Some(true),
            volume_binding_mode: Some("WaitForFirstConsumer".into()),
            ..Default::default()
        })
    };
    vec![
        class(
            &m.rwo_class,
            "openshift-storage.rbd.csi.ceph.com",
            &[
                ("pool", "ocs-storagecluster-cephblockpool"),
                (
                    "imageFeatures",
                    "layering,deep-flatten,exclusive-lock,object-map,fast-diff",
                ),
                ("csi.storage.k8s.io/fstype", "ext4"),
            ],
        ),
        class(
            &m.rwx_class,
            "openshift-storage.cephfs.csi.ceph.com",
            &[("fsName", "ocs-storagecluster-cephfilesystem")],
        ),
    ]
}

pub fn subscription(m: &Model, c: &dyn Component) -> Option<Value> {
    let r = m.get(c.id());
    let op = r.operator.as_ref()?;
    let cr = Cr {
        api_version: olm::SUBSCRIPTION.0,
        kind: olm::SUBSCRIPTION.1,
        metadata: ObjectMeta {
            name: Some(op.package.clone()),
            namespace: Some(m.operators_namespace.clone()),
            labels: Some(platform_labels(m)),
            ..Default::default()
        },
        spec: olm::SubscriptionSpec {
            name: op.package.clone(),
            channel: op.channel.clone(),
            source: op.source.clone(),
            source_namespace: op.source_namespace.clone(),
            install_plan_approval: match m.install_plan_approval {
                InstallPlanApproval::Automatic => "Automatic",
                InstallPlanApproval::Manual => "Manual",
            },
            starting_csv: op.starting_csv.clone(),
        },
    };
    Some(k8s::to_value(&cr))
}

pub fn operator_group(m: &Model) -> Option<Value> {
    // openshift-operators already holds the cluster's global OperatorGroup; a second one there
    // would make OLM refuse every install in the namespace.
    if m.operators_namespace == "openshift-operators" {
        return None;
    }
    let cr = Cr {
        api_version: olm::OPERATOR_GROUP.0,
        kind: olm::OPERATOR_GROUP.1,
        metadata: ObjectMeta {
            name: Some("datalyptica-operators".into()),
            namespace: Some(m.operators_namespace.clone()),
            labels: Some(platform_labels(m)),
            ..Default::default()
        },
        spec: olm::OperatorGroupSpec {
            upgrade_strategy: "Default",
        },
    };
    Some(k8s::to_value(&cr))
}

pub fn files(m: &Model) -> Vec<File> {
    let mut subs: Vec<Value> = operator_group(m).into_iter().collect();
    subs.extend(m.enabled_components().filter_map(|c| subscription(m, c)));
    let classes_header = if m.create_odf_classes {
        format!(
            "ODF-backed storage classes: {} (RWO, Ceph RBD) and {} (RWX, CephFS).",
            m.rwo_class, m.rwx_class
        )
    } else {
        format!(
            "No objects: the platform uses the existing classes {} (RWO) and {} (RWX).\nSet spec.storage.createOdfClasses: true to render them for OpenShift Data Foundation.\nVerify: oc get sc {} {}",
            m.rwo_class, m.rwx_class, m.rwo_class, m.rwx_class
        )
    };
    vec![
        File {
            path: format!("{DIR}/namespaces.yaml"),
            content: Content::Objects {
                header: "Platform projects, labelled for Pod Security Admission (restricted) and ownership.".into(),
                objects: namespaces(m),
            },
        },
        File {
            path: format!("{DIR}/storage-classes.yaml"),
            content: Content::Objects {
                header: classes_header,
                objects: storage_classes(m),
            },
        },
        File {
            path: format!("{DIR}/operator-subscriptions.yaml"),
            content: Content::Objects {
                header: format!(
                    "OLM subscriptions of every operator the platform uses, in {}.\nInstall plans are {:?}: approve them with `oc patch installplan … --type merge -p '{{\"spec\":{{\"approved\":true}}}}'`.",
                    m.operators_namespace, m.install_plan_approval
                ),
                objects: subs,
            },
        },
    ]
}
