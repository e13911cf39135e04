//! Preflight's snapshot: the cluster objects the pure checks of `preflight` read, gathered
//! over any [`ClusterApi`].

use std::collections::BTreeSet;

use serde_json::json;

use crate::api::{ClusterApi, TypeRef};
use crate::preflight::{Access, NEEDED_ACCESS, Requirements, Snapshot};

/// Read what preflight needs. Errors other than "unreachable" become empty sections, so one
/// missing permission does not hide every other check.
pub async fn snapshot<A: ClusterApi>(api: &A, r: &Requirements) -> Snapshot {
    let mut s = Snapshot::default();
    match api.version().await {
        Ok(v) => s.version = Some(v),
        Err(e) => {
            s.api_error = Some(e.to_string());
            return s;
        }
    }
    s.cluster_version = api
        .get(
            &TypeRef::new("config.openshift.io/v1", "ClusterVersion"),
            None,
            "version",
        )
        .await
        .ok()
        .flatten();
    for (verb, group, resource) in NEEDED_ACCESS {
        let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {},
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}});
        let allowed = match api.create(&review).await {
            Ok(v) => v["status"]["allowed"] == true,
            Err(e) => {
                s.api_error
                    .get_or_insert(format!("SelfSubjectAccessReview failed: {e}"));
                return s;
            }
        };
        s.access.push(Access {
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            allowed,
        });
    }
    let list = async |av: &str, kind: &str, ns: Option<&str>| {
        api.list(&TypeRef::new(av, kind), ns, None)
            .await
            .unwrap_or_default()
    };
    s.nodes = list("v1", "Node", None).await;
    s.storage_classes = list("storage.k8s.io/v1", "StorageClass", None).await;
    s.catalog_sources = list("operators.coreos.com/v1alpha1", "CatalogSource", None).await;
    let sources: BTreeSet<&str> = r.operators.iter().map(|o| o.3.as_str()).collect();
    for ns in sources {
        s.package_manifests.extend(
            list(
                "packages.operators.coreos.com/v1",
                "PackageManifest",
                Some(ns),
            )
            .await,
        );
    }
    s.subscriptions = list("operators.coreos.com/v1alpha1", "Subscription", None).await;
    let mut served = Vec::new();
    for (k, _) in &r.preinstalled_kinds {
        let Some((av, kind)) = k.rsplit_once('/') else {
            continue;
        };
        if let Ok(true) = api.served(&TypeRef::new(av, kind)).await {
            served.push(k.clone());
        }
    }
    s.served_kinds = Some(served);
    let secret_t = TypeRef::new("v1", "Secret");
    let mut present = Vec::new();
    for (k, _) in &r.user_secrets {
        let Some((ns, name)) = k.split_once('/') else {
            continue;
        };
        // Existence only: the value is dropped here and never enters the snapshot.
        if let Ok(Some(_)) = api.get(&secret_t, Some(ns), name).await {
            present.push(k.clone());
        }
    }
    s.user_secrets_present = Some(present);
    let ns_t = TypeRef::new("v1", "Namespace");
    for n in &r.namespaces {
        if let Ok(Some(o)) = api.get(&ns_t, None, n).await {
            s.namespaces.push(o);
        }
    }
    s
}

// ---------------------------------------------------------------- troubleshoot
