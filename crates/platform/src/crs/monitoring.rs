//! Prometheus Operator (`monitoring.coreos.com`) kinds the tree builds as types:
//! AlertmanagerConfig, the routing of every platform namespace's alerts.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// `monitoring.coreos.com/v1alpha1` AlertmanagerConfig (no CRD among the shared schemas, hence
/// typed here).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfig {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: AmSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmSpec {
    pub route: AmRoute,
    pub receivers: Vec<AmReceiver>,
    pub inhibit_rules: Vec<AmInhibitRule>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmRoute {
    pub receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<AmMatcher>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    pub continue_: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<AmRoute>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmMatcher {
    pub name: String,
    pub value: String,
    pub match_type: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmReceiver {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<AmPagerDuty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<AmEmail>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmSecretRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmPagerDuty {
    pub routing_key: AmSecretRef,
    pub send_resolved: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmEmail {
    pub to: String,
    pub from: String,
    pub smarthost: String,
    pub auth_username: String,
    pub auth_password: AmSecretRef,
    /// The operator's field is `requireTLS`, not the camelCase `requireTls`.
    #[serde(rename = "requireTLS")]
    pub require_tls: bool,
    pub send_resolved: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmInhibitRule {
    pub source_match: Vec<AmMatcher>,
    pub target_match: Vec<AmMatcher>,
    pub equal: Vec<String>,
}
