//! `00-prerequisites/`: projects, storage classes, operator subscriptions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::component::{Component, Content, File};
use crate::crs::{Cr, obc, olm};
use crate::k8s;
use crate::model::Model;
use crate::spec::{InstallPlanApproval, ObjectStoreBackend};

pub const DIR: &str = "00-prerequisites";

pub(crate) fn platform_labels(m: &Model) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = m.platform.metadata.labels.clone();
    l.extend(m.platform.spec.namespaces.labels.clone());
    l.insert("app.kubernetes.io/part-of".into(), k8s::PART_OF.into());
    l.insert("app.kubernetes.io/instance".into(), m.name.clone());
    l.insert("app.kubernetes.io/managed-by".into(), "datalyptica".into());
    l
}

pub fn namespaces(m: &Model) -> Vec<Value> {
    owned_namespaces(m)
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

/// Namespaces whose objects the platform owns (the operators' one too, unless it is the
/// cluster's shared `openshift-operators`).
pub(crate) fn owned_namespaces(m: &Model) -> Vec<String> {
    let mut names = m.namespaces();
    if !names.contains(&m.operators_namespace) && m.operators_namespace != "openshift-operators" {
        names.push(m.operators_namespace.clone());
    }
    names.sort();
    names
}

/// Default deny (ingress and egress) in every platform namespace, then only the flows the
/// dependency graph and the components' declared ports need (see [`crate::security`]).
pub fn network_policies(m: &Model) -> Vec<Value> {
    crate::security::network_policies(m)
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

/// Directory of the object store when it is not MinIO (MinIO renders `04-minio-ha/` itself).
pub const OBJECT_STORE_DIR: &str = "04-object-store";

/// Buckets of the enabled components, each with the first consumer (phase order) that uses it:
/// that consumer's namespace holds the claim.
pub fn bucket_owners(m: &Model) -> Vec<(String, crate::component::ComponentId)> {
    let mut out: Vec<(String, crate::component::ComponentId)> = Vec::new();
    for c in m.enabled_components() {
        for b in c.buckets() {
            let name = m.object_store.bucket(b);
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, c.id()));
            }
        }
    }
    out
}

/// `04-object-store/` for the `odf` backend (one ObjectBucketClaim per bucket) and a README for
/// `external` (nothing to create: consumers use the endpoint and the credentials Secret).
pub fn object_store_files(m: &Model) -> Vec<File> {
    let os = &m.object_store;
    let owners = bucket_owners(m);
    let secret = &os.credentials_secret;
    let mut files = Vec::new();
    let mut readme = String::new();
    match os.backend {
        ObjectStoreBackend::Minio => return files,
        ObjectStoreBackend::Odf => {
            let objects: Vec<Value> = owners
                .iter()
                .map(|(bucket, owner)| {
                    k8s::to_value(&Cr {
                        api_version: obc::OBJECT_BUCKET_CLAIM.0,
                        kind: obc::OBJECT_BUCKET_CLAIM.1,
                        metadata: k8s::meta(m, *owner, bucket, "object-store"),
                        spec: obc::ObjectBucketClaimSpec {
                            bucket_name: bucket.clone(),
                            storage_class_name: os.odf_storage_class.clone(),
                        },
                    })
                })
                .collect();
            files.push(File {
                path: format!("{OBJECT_STORE_DIR}/object-buckets.yaml"),
                content: Content::Objects {
                    header: format!(
                        "OpenShift Data Foundation buckets: one ObjectBucketClaim per bucket (class {}), in the namespace of its first consumer.\nEach claim yields a Secret and a ConfigMap of the same name; copy the Secret's keys into `{secret}` in every consumer namespace.",
                        os.odf_storage_class
                    ),
                    objects,
                },
            });
            readme.push_str(&format!(
                "# object store — OpenShift Data Foundation\n\nBackend `odf`: buckets are claimed from ODF's Multicloud Object Gateway (storage class `{}`); no MinIO is deployed. Endpoint for consumers: `{}` (region `{}`).\n\n## Buckets\n\n| Bucket | Claimed in | Consumers |\n|---|---|---|\n",
                os.odf_storage_class, os.endpoint, os.region
            ));
        }
        ObjectStoreBackend::External => {
            readme.push_str(&format!(
                "# object store — external S3\n\nBackend `external`: nothing is created. Consumers use `{}` (region `{}`); the buckets below must exist and the credentials Secret `{secret}` (keys `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) must exist in every consumer namespace.\n\n## Buckets\n\n| Bucket | Namespace | Consumers |\n|---|---|---|\n",
                os.endpoint, os.region
            ));
        }
    }
    for (bucket, owner) in &owners {
        let consumers: Vec<String> = m
            .enabled_components()
            .filter(|c| c.buckets().iter().any(|b| os.bucket(b) == *bucket))
            .map(|c| format!("{} (`{}`)", c.id(), m.get(c.id()).namespace))
            .collect();
        readme.push_str(&format!(
            "| `{bucket}` | `{}` | {} |\n",
            m.get(*owner).namespace,
            consumers.join(", ")
        ));
    }
    readme.push_str(&format!(
        "\n## Credentials\n\nEvery consumer reads `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from the Secret `{secret}` in its own namespace; no key is in this tree.{}\n",
        if os.backend == ObjectStoreBackend::Odf {
            " With ODF, `datalyptica deploy` copies each claim's generated Secret into it; by hand: `oc extract secret/<bucket> -n <claim namespace> --to=- | …`."
        } else {
            ""
        }
    ));
    files.push(File {
        path: format!("{OBJECT_STORE_DIR}/README.md"),
        content: Content::Markdown(readme),
    });
    files
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
    let mut out = vec![
        File {
            path: format!("{DIR}/namespaces.yaml"),
            content: Content::Objects {
                header: "Platform projects, labelled for Pod Security Admission (restricted) and ownership.".into(),
                objects: namespaces(m),
            },
        },
        File {
            path: format!("{DIR}/network-policies.yaml"),
            content: Content::Objects {
                header: "Default deny (ingress and egress) in every platform namespace, then one allow rule per flow: dependency edges on the provider's client ports, peers, monitoring scrapes, operators, DNS, the API server, the object store, the router for Routes.\nPorts per component: see 00-prerequisites/network-exposure.md.".into(),
                objects: network_policies(m),
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
    ];
    out.extend(object_store_files(m));
    out
}

/// Ports, TLS per hop and pod security. Rendered after the components, whose writable-root
/// containers (`writable`, from [`crate::security::writable_containers`]) it lists.
pub fn network_exposure(
    m: &Model,
    writable: &[(crate::component::ComponentId, Vec<String>)],
) -> File {
    File {
        path: format!("{DIR}/network-exposure.md"),
        content: Content::Markdown(format!(
            "# Network exposure, TLS and pod security\n\nEvery platform namespace denies all ingress and egress by default (`default-deny`) and allows DNS to `openshift-dns`. Each row below becomes allow rules in `network-policies.yaml`: clients (components that depend on another, and object-store users) reach only the provider's client ports; peers reach each other on the peer ports; Prometheus in `openshift-monitoring`/`openshift-user-workload-monitoring` reaches the metrics ports; the operators' namespace `{}` reaches the operator ports; pods marked *API server* may open connections to port {} (the kube-apiserver endpoints); the router reaches only a Route's target port.\n\n{}\nApplications outside the platform namespaces (producers, BI tools, DAG tasks' targets) are not admitted: add a NetworkPolicy in the provider's namespace that selects your namespace and the port above. {}\n\n## TLS per hop\n\n{}\nBackup jobs: S3 uploads are https; `etcd-backup` verifies etcd with the service CA; `redis-backup` speaks TLS to Sentinel and the master, verified with the service CA. Routes are `reencrypt` or `edge` with `insecureEdgeTerminationPolicy: Redirect`.\n\n{}",
            m.operators_namespace,
            crate::security::API_SERVER_PORT,
            crate::security::exposure_table(m),
            crate::security::egress_note(m),
            crate::security::tls_table(m),
            crate::security::pod_security_section(writable)
        )),
    }
}
