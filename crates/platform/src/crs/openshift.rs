//! OpenShift `route.openshift.io/v1` Route.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

pub const ROUTE: (&str, &str) = ("route.openshift.io/v1", "Route");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSpec {
    pub to: RouteTarget,
    pub port: RoutePort,
    pub tls: RouteTls,
    pub wildcard_policy: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteTarget {
    pub kind: &'static str,
    pub name: String,
    pub weight: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutePort {
    pub target_port: IntOrString,
}

/// `reencrypt` keeps the hop from the router to the pod encrypted (service-CA certificate);
/// plain HTTP is redirected, never served.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTls {
    pub termination: &'static str,
    pub insecure_edge_termination_policy: &'static str,
}
