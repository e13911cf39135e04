//! Health of the custom resources the tree applies, for the GitOps engines: one Lua script per
//! kind for Argo CD (gopher-lua, Lua 5.1, run by Argo CD with only the base, table and package
//! libraries: no `string` or `math`) and one CEL expression pair for Flux's
//! `healthCheckExprs`. Each says what the deploy gate of that kind says
//! (crates/cluster/src/gates.rs): the gate's Ready is Healthy / current, Waiting is Progressing /
//! in progress, Failed is Degraded / failed. A gate's Waiting is never Degraded here: Argo CD
//! fails a sync at once on a Degraded resource, while deploy keeps waiting for these states
//! (an operator retrying a reconcile, pods still starting).
//!
//! What an object-only check cannot see: the PostgreSQL gate counts pods labelled
//! `role=master`; the Lua check requires every instance ready (PGO's readiness probe is
//! Patroni's `/readiness`, which answers 200 only on the leader or a running member) and the
//! system identifier Patroni reports once a leader bootstrapped the cluster. The Redis gate
//! watches the StatefulSets the operator makes and counts `redis-role=master` pods; the check
//! reads the master the operator records in `status.masterNode`. `RedisSentinel` has an empty
//! status upstream (`RedisSentinelStatus struct{}`), so no check exists for it: Flux waits for
//! its StatefulSet `<name>-sentinel` directly (a gate target); Argo CD cannot (it only assesses
//! the objects it applies).

use crate::crs::PodOwner;

/// A health rule for one custom resource kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindHealth {
    pub owner: PodOwner,
    /// Argo CD health script (`hs.status`, `hs.message`).
    pub lua: &'static str,
    /// Flux `healthCheckExprs`: current and failed (CEL over the object).
    pub cel_current: &'static str,
    pub cel_failed: Option<&'static str>,
}

impl KindHealth {
    pub fn api_version(&self) -> &'static str {
        self.owner.type_ref().0
    }
    pub fn group(&self) -> &'static str {
        self.api_version().split('/').next().unwrap_or_default()
    }
    pub fn kind(&self) -> &'static str {
        self.owner.type_ref().1
    }
    /// The `argocd-cm` key of the check.
    pub fn argocd_cm_key(&self) -> String {
        format!(
            "resource.customizations.health.{}_{}",
            self.group(),
            self.kind()
        )
    }
}

const POSTGRES_CLUSTER: &str = r#"-- datalyptica: ready like the deploy gate of PostgresCluster
local hs = {}
local st = obj.status or {}
local want = 0
if obj.spec ~= nil and obj.spec.instances ~= nil then
  for _, set in ipairs(obj.spec.instances) do
    want = want + (set.replicas or 1)
  end
else
  want = 1
end
local ready = 0
if st.instances ~= nil then
  for _, set in ipairs(st.instances) do
    ready = ready + (set.readyReplicas or 0)
  end
end
if ready < want then
  hs.status = "Progressing"
  hs.message = ready .. "/" .. want .. " instances ready"
  return hs
end
local system = st.patroni and st.patroni.systemIdentifier
if system == nil or system == "" then
  hs.status = "Progressing"
  hs.message = ready .. "/" .. want .. " instances ready, no Patroni leader has bootstrapped the cluster yet"
  return hs
end
hs.status = "Healthy"
hs.message = ready .. "/" .. want .. " instances ready, Patroni system " .. system
return hs
"#;

const TENANT: &str = r#"-- datalyptica: ready like the deploy gate of Tenant
local hs = {}
local st = obj.status or {}
local state = st.currentState or "unknown"
local health = st.healthStatus or "unknown"
if state == "Initialized" and health == "green" then
  hs.status = "Healthy"
  hs.message = "Initialized, health green"
else
  hs.status = "Progressing"
  hs.message = "state " .. state .. ", health " .. health
end
return hs
"#;

const KAFKA: &str = r#"-- datalyptica: ready like the deploy gate of Kafka
local hs = {}
local st = obj.status or {}
local ready = nil
if st.conditions ~= nil then
  for _, c in ipairs(st.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
local generation = obj.metadata and obj.metadata.generation
local observed = generation == nil or st.observedGeneration == nil or st.observedGeneration >= generation
if ready ~= nil and ready.status == "True" and observed then
  hs.status = "Healthy"
  hs.message = "Ready"
  return hs
end
hs.status = "Progressing"
if ready ~= nil then
  hs.message = "Ready=" .. tostring(ready.status) .. " " .. tostring(ready.message or ready.reason or "")
else
  hs.message = "the Strimzi operator has not reported Ready yet"
end
return hs
"#;

const FLINK_DEPLOYMENT: &str = r#"-- datalyptica: ready like the deploy gate of FlinkDeployment
local hs = {}
local st = obj.status or {}
local jm = st.jobManagerDeploymentStatus or "unknown"
if jm == "READY" then
  hs.status = "Healthy"
  hs.message = "JobManager READY"
elseif jm == "ERROR" then
  hs.status = "Degraded"
  hs.message = "JobManager ERROR: " .. tostring(st.error or "see the operator log")
else
  hs.status = "Progressing"
  hs.message = "JobManager " .. jm
end
return hs
"#;

const CLICKHOUSE: &str = r#"-- datalyptica: ready like the deploy gate of ClickHouse(Keeper)Installation
local hs = {}
local st = obj.status or {}
local s = st.status or "unknown"
if s == "Completed" then
  hs.status = "Healthy"
  hs.message = "Completed"
elseif s == "Aborted" then
  hs.status = "Degraded"
  hs.message = "reconcile Aborted"
else
  hs.status = "Progressing"
  hs.message = "status " .. s
end
return hs
"#;

const REDIS_REPLICATION: &str = r#"-- datalyptica: the master the operator found (the deploy gate wants exactly one)
local hs = {}
local st = obj.status or {}
if st.masterNode ~= nil and st.masterNode ~= "" then
  hs.status = "Healthy"
  hs.message = "master " .. st.masterNode
else
  hs.status = "Progressing"
  hs.message = "the operator has not found a master yet"
end
return hs
"#;

/// Argo CD's own Application kind: the app-of-apps waits on each wave's Applications, which
/// needs a health check for them (Argo CD removed the built-in one in 1.8).
pub const APPLICATION_LUA: &str = r#"-- datalyptica: a child Application is healthy once synced and healthy
local hs = {}
local st = obj.status or {}
local health = (st.health and st.health.status) or "Unknown"
local sync = (st.sync and st.sync.status) or "Unknown"
if health == "Healthy" and sync == "Synced" then
  hs.status = "Healthy"
elseif health == "Degraded" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = "health " .. health .. ", sync " .. sync
if st.health ~= nil and st.health.message ~= nil then
  hs.message = hs.message .. ": " .. st.health.message
end
return hs
"#;

/// Every custom resource kind with a deploy gate or a readiness of its own, in the order the
/// components apply them.
pub fn kinds() -> Vec<KindHealth> {
    vec![
        KindHealth {
            owner: PodOwner::PostgresCluster,
            lua: POSTGRES_CLUSTER,
            cel_current: "spec.instances.all(s, has(status.instances) && status.instances.exists(i, i.name == s.name && has(i.readyReplicas) && i.readyReplicas >= (has(s.replicas) ? s.replicas : 1))) && has(status.patroni) && has(status.patroni.systemIdentifier) && status.patroni.systemIdentifier != ''",
            cel_failed: None,
        },
        KindHealth {
            owner: PodOwner::RedisReplication,
            lua: REDIS_REPLICATION,
            cel_current: "has(status.masterNode) && status.masterNode != ''",
            cel_failed: None,
        },
        KindHealth {
            owner: PodOwner::Tenant,
            lua: TENANT,
            cel_current: "has(status.currentState) && status.currentState == 'Initialized' && has(status.healthStatus) && status.healthStatus == 'green'",
            cel_failed: None,
        },
        KindHealth {
            owner: PodOwner::Kafka,
            lua: KAFKA,
            cel_current: "has(status.conditions) && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True') && (!has(metadata.generation) || !has(status.observedGeneration) || status.observedGeneration >= metadata.generation)",
            cel_failed: None,
        },
        KindHealth {
            owner: PodOwner::FlinkDeployment,
            lua: FLINK_DEPLOYMENT,
            cel_current: "has(status.jobManagerDeploymentStatus) && status.jobManagerDeploymentStatus == 'READY'",
            cel_failed: Some(
                "has(status.jobManagerDeploymentStatus) && status.jobManagerDeploymentStatus == 'ERROR'",
            ),
        },
        KindHealth {
            owner: PodOwner::ClickHouseKeeperInstallation,
            lua: CLICKHOUSE,
            cel_current: "has(status.status) && status.status == 'Completed'",
            cel_failed: Some("has(status.status) && status.status == 'Aborted'"),
        },
        KindHealth {
            owner: PodOwner::ClickHouseInstallation,
            lua: CLICKHOUSE,
            cel_current: "has(status.status) && status.status == 'Completed'",
            cel_failed: Some("has(status.status) && status.status == 'Aborted'"),
        },
    ]
}

/// The rule of a kind, if it has one.
pub fn of(api_version: &str, kind: &str) -> Option<KindHealth> {
    let group = api_version.split('/').next().unwrap_or_default();
    kinds()
        .into_iter()
        .find(|k| k.group() == group && k.kind() == kind)
}
