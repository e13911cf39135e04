//! `objectbucket.io/v1alpha1` ObjectBucketClaim (lib-bucket-provisioner, served by ODF/NooBaa
//! and Rook). No upstream CRD is in the conformance set, so the shape is pinned by a unit test.

use serde::Serialize;

pub const OBJECT_BUCKET_CLAIM: (&str, &str) = ("objectbucket.io/v1alpha1", "ObjectBucketClaim");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectBucketClaimSpec {
    /// A fixed name, so that every consumer's configuration names the bucket it gets.
    pub bucket_name: String,
    pub storage_class_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Cr;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn shape_matches_the_lib_bucket_provisioner_api() {
        let cr = Cr {
            api_version: OBJECT_BUCKET_CLAIM.0,
            kind: OBJECT_BUCKET_CLAIM.1,
            metadata: ObjectMeta {
                name: Some("datalyptica-flink".into()),
                namespace: Some("datalyptica-streaming".into()),
                ..Default::default()
            },
            spec: ObjectBucketClaimSpec {
                bucket_name: "datalyptica-flink".into(),
                storage_class_name: "openshift-storage.noobaa.io".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&cr).unwrap_or_default(),
            serde_json::json!({
                "apiVersion": "objectbucket.io/v1alpha1",
                "kind": "ObjectBucketClaim",
                "metadata": {"name": "datalyptica-flink", "namespace": "datalyptica-streaming"},
                "spec": {
                    "bucketName": "datalyptica-flink",
                    "storageClassName": "openshift-storage.noobaa.io"
                }
            })
        );
    }
}
