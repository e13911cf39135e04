//! OLM: `operators.coreos.com` OperatorGroup (v1) and Subscription (v1alpha1).

use serde::Serialize;

pub const OPERATOR_GROUP: (&str, &str) = ("operators.coreos.com/v1", "OperatorGroup");
pub const SUBSCRIPTION: (&str, &str) = ("operators.coreos.com/v1alpha1", "Subscription");

/// An empty spec selects AllNamespaces: one group for every platform namespace.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OperatorGroupSpec {
    /// A plain string in the served CRD (`Default` or `TechPreviewUnsafeFailForward`).
    pub upgrade_strategy: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSpec {
    pub name: String,
    pub channel: String,
    pub source: String,
    pub source_namespace: String,
    pub install_plan_approval: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_csv: Option<String>,
}
