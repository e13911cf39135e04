//! What the platform's topology can deliver: per-component and end-to-end availability from
//! what every component declares ([`crate::component::Component::redundancy`]), node failure
//! and repair rates, failover times (the spec's timing or measured drills) and planned drains.
//!
//! Pure: the CLI reads drill reports and writes the output; everything here is arithmetic.
//!
//! The model, per tier of a component (a group of interchangeable members on distinct nodes):
//! - each member is down `r / (MTBF + r)` of the time, `r` being the node repair time for
//!   members bound to their node (StatefulSets) or the reschedule time for Deployment pods;
//! - the tier is up while at least `needed` of its `members` are (k-of-n, independent);
//! - every loss of an active member (a primary, a leader) costs its failover time, and every
//!   drain of its node costs its switchover time;
//! - a drain costs a restart per member when the members it leaves (the PodDisruptionBudget
//!   bounds how many it may evict at once) are too few.
//!
//! A component is the series of its tiers; a journey is the series of the components it
//! crosses along the dependency graph. Software faults, operator bugs and human error are not
//! in the model: the figures are what the topology allows, an upper bound.

pub mod drills;
pub mod math;
pub mod svg;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use crate::component::{Component, ComponentId};
use crate::components::{self, spec_pointer};
use crate::model::Model;
use crate::spec::{ObjectStoreBackend, Platform};
use crate::units::{format_duration, parse_duration};
use crate::validate::Issue;

pub use drills::Drill;

/// How a member comes back after its node fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// Bound to its node (a StatefulSet pod, a pod with a node-attached volume): back when the
    /// node is repaired or replaced.
    NodeRepair,
    /// A Deployment pod: recreated on another node once the failed node's pods are evicted.
    Reschedule,
}

/// The outage while another member takes over the active role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failover {
    /// Members whose loss interrupts service until the takeover (1 for a primary or leader).
    pub active: u32,
    /// Takeover after an unplanned loss (node failure).
    #[serde(rename = "unplanned_s", serialize_with = "secs")]
    pub unplanned: Duration,
    /// Takeover when a drain evicts the active member (switchover).
    #[serde(rename = "planned_s", serialize_with = "secs")]
    pub planned: Duration,
    /// Where the two durations come from.
    pub source: String,
}

/// A group of interchangeable members, each on its own node (required anti-affinity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    pub name: String,
    pub members: u32,
    /// Members that must be up for the component to serve.
    pub needed: u32,
    /// Why `needed` is what it is (quorum, erasure-coding parity, min ISR …).
    pub rule: String,
    pub recovery: Recovery,
    pub failover: Option<Failover>,
    /// Members a drain may evict at once (the PodDisruptionBudget); `None` without a budget.
    pub drain_budget: Option<u32>,
}

impl Tier {
    pub fn new(
        name: impl Into<String>,
        members: u32,
        needed: u32,
        recovery: Recovery,
        rule: impl Into<String>,
    ) -> Self {
        Tier {
            name: name.into(),
            members,
            needed: needed.min(members.max(1)),
            rule: rule.into(),
            recovery,
            failover: None,
            drain_budget: None,
        }
    }

    /// Stateless replicas behind a Service: any one serves.
    pub fn replicated(name: impl Into<String>, members: u32, recovery: Recovery) -> Self {
        let rule = if members <= 1 {
            "a single member: a single point of failure".to_string()
        } else {
            "any one member serves".to_string()
        };
        Tier::new(name, members, 1, recovery, rule)
    }

    /// A majority quorum (Raft, ZAB).
    pub fn quorum(name: impl Into<String>, members: u32) -> Self {
        let k = crate::k8s::majority(members);
        Tier::new(
            name,
            members,
            k,
            Recovery::NodeRepair,
            format!("majority quorum: {k} of {members}"),
        )
    }

    pub fn with_failover(mut self, f: Failover) -> Self {
        self.failover = Some(f);
        self
    }

    /// The rendered PodDisruptionBudget as `minAvailable`.
    pub fn with_min_available(mut self, min_available: u32) -> Self {
        self.drain_budget = (self.members > 1).then(|| self.members.saturating_sub(min_available));
        self
    }

    /// The rendered PodDisruptionBudget as `maxUnavailable`.
    pub fn with_max_unavailable(mut self, max_unavailable: u32) -> Self {
        self.drain_budget = (self.members > 1).then_some(max_unavailable);
        self
    }

    /// No member can be lost: every member is a single point of failure.
    pub fn no_spare(&self) -> bool {
        self.members <= self.needed
    }
}

/// What a component declares about its availability.
#[derive(Debug, Clone, PartialEq)]
pub struct Redundancy {
    pub tiers: Vec<Tier>,
    /// The user journey this component is the entry point of (e.g. "dashboards").
    pub journey: Option<&'static str>,
}

/// Failure and repair rates (resolved from `spec.availabilityModel`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    #[serde(rename = "node_mtbf_s", serialize_with = "secs")]
    pub node_mtbf: Duration,
    #[serde(rename = "node_repair_s", serialize_with = "secs")]
    pub node_repair: Duration,
    #[serde(rename = "pod_reschedule_s", serialize_with = "secs")]
    pub pod_reschedule: Duration,
    #[serde(rename = "pod_restart_s", serialize_with = "secs")]
    pub pod_restart: Duration,
    pub drains_per_year: u32,
    pub zones: u32,
}

impl Rates {
    /// The documented defaults (README, "Availability"; sources in [`DEFAULT_SOURCES`]).
    pub const DEFAULT: Rates = Rates {
        node_mtbf: Duration::from_secs(8760 * 3600),
        node_repair: Duration::from_secs(3600),
        pod_reschedule: Duration::from_secs(360),
        pod_restart: Duration::from_secs(60),
        drains_per_year: 12,
        zones: 3,
    };

    /// The spec's rates; unparsable values fall back to the default ([`validate`] reports them).
    pub fn from_spec(p: &Platform) -> Rates {
        let s = &p.spec.availability_model;
        let d = Rates::DEFAULT;
        let dur = |v: &Option<String>, dflt: Duration| {
            v.as_deref()
                .and_then(|v| parse_duration(v).ok())
                .unwrap_or(dflt)
        };
        Rates {
            node_mtbf: dur(&s.node_mtbf, d.node_mtbf),
            node_repair: dur(&s.node_repair, d.node_repair),
            pod_reschedule: dur(&s.pod_reschedule, d.pod_reschedule),
            pod_restart: dur(&s.pod_restart, d.pod_restart),
            drains_per_year: s.drains_per_year.unwrap_or(d.drains_per_year),
            zones: s.zones.unwrap_or(d.zones),
        }
    }

    fn mttr(&self, r: Recovery) -> Duration {
        match r {
            Recovery::NodeRepair => self.node_repair,
            Recovery::Reschedule => self.pod_reschedule,
        }
    }

    /// One line for messages: "node MTBF 365d, repair 1h, …".
    pub fn summary(&self) -> String {
        format!(
            "node MTBF {}, node repair {}, pod reschedule {}, {} drains a year",
            format_duration(self.node_mtbf),
            format_duration(self.node_repair),
            format_duration(self.pod_reschedule),
            self.drains_per_year
        )
    }
}

/// Each default of [`Rates::DEFAULT`]: spec field, value, source.
pub const DEFAULT_SOURCES: &[(&str, &str, &str)] = &[
    (
        "nodeMtbf",
        "8760h (365d, one year)",
        "J. Dean (Google), Google I/O 2008 and LADIS 2009: a new cluster sees ~1,000 individual machine failures in its first year; for clusters of 1,000–2,000 machines a node fails every 1–2 years; the default takes the low end",
    ),
    (
        "nodeRepair",
        "1h",
        "StatefulSet pods stay bound to an unreachable node until it is deleted (Kubernetes, \"Force Delete StatefulSet Pods\"); OpenShift's MachineHealthCheck replaces an unhealthy machine after its condition timeout (300 s in the documented example) and waits up to nodeStartupTimeout (10 min) for the new node; 1 h adds the volume re-attach (6 min force-detach) and the resync. Without machine remediation (bare metal) set your hardware repair time",
    ),
    (
        "podReschedule",
        "6m",
        "Kubernetes marks a silent node NotReady after node-monitor-grace-period (40 s; 50 s since Kubernetes 1.32) and evicts its pods after the default 300 s unreachable toleration (DefaultTolerationSeconds admission plugin); 20 s for the replacement to start",
    ),
    (
        "podRestart",
        "1m",
        "an evicted pod stopping, being scheduled elsewhere and passing its readiness probe; measure yours with `oc rollout restart`",
    ),
    (
        "drainsPerYear",
        "12",
        "one cluster update a month: the Machine Config Operator drains and reboots every node of a pool, one at a time (maxUnavailable 1)",
    ),
    (
        "zones",
        "3",
        "OpenShift's multi-zone installs span three zones; members are spread by topology spread constraints (maxSkew 1)",
    ),
];

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Downtime of a tier by cause, in seconds a year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Downtime {
    /// Too few members up (node failures).
    pub failures_s: f64,
    /// Failovers after the loss of an active member.
    pub failover_s: f64,
    /// Drains: switchovers and restarts without a spare.
    pub maintenance_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierResult {
    #[serde(flatten)]
    pub tier: Tier,
    /// Fraction of time one member is up.
    pub member_availability: f64,
    pub availability: f64,
    pub downtime_per_year: Downtime,
}

/// Steady-state availability of one tier and its downtime by cause.
///
/// - members: each is down `u = r / (MTBF + r)`; the tier lacks members with probability
///   `P(fewer than needed up)`;
/// - failover: each loss of an active member opens a window of `min(failover, r)` (the member
///   may come back before the standby takes over), which costs only when the other members
///   could otherwise serve: `active × min(failover, r) / (MTBF + r) × P(others suffice)`;
/// - drains: each evicts every member once; the evicted active member costs
///   `min(switchover, restart)`, and when the members left by a drain (at most the PDB's
///   budget away, one without a PDB: nodes are drained one at a time) are too few, every
///   eviction costs a restart.
pub fn evaluate_tier(t: &Tier, rates: &Rates) -> TierResult {
    let mtbf = rates.node_mtbf.as_secs_f64();
    let mttr = rates.mttr(t.recovery).as_secs_f64();
    let cycle = (mtbf + mttr).max(1.0);
    let u = mttr / cycle;
    let u_members = math::k_of_n_unavailability(t.needed, t.members, u);
    let restart = rates.pod_restart.as_secs_f64();
    // Without a standby there is nothing to fail over to: the member's own recovery counts.
    let failover = t.failover.as_ref().filter(|_| !t.no_spare());
    let (u_failover, switchover_s) = match failover {
        Some(f) => {
            let active = f64::from(f.active);
            let window = (active * f.unplanned.as_secs_f64().min(mttr) / cycle).min(1.0);
            let others = 1.0 - math::k_of_n_unavailability(t.needed, t.members - 1, u);
            (
                window * others,
                active * f.planned.as_secs_f64().min(restart),
            )
        }
        None => (0.0, 0.0),
    };
    let u_unplanned = (u_members + u_failover).min(1.0);
    let away = t.drain_budget.unwrap_or(1).max(1);
    let restarts = if t.members.saturating_sub(away) < t.needed {
        f64::from(t.members)
    } else {
        0.0
    };
    let f_planned = math::outage_fraction(
        f64::from(rates.drains_per_year),
        restarts * restart + switchover_s,
    );
    let availability = (1.0 - u_unplanned) * (1.0 - f_planned);
    TierResult {
        tier: t.clone(),
        member_availability: 1.0 - u,
        availability,
        downtime_per_year: Downtime {
            failures_s: u_members * math::SECONDS_PER_YEAR,
            failover_s: u_failover * math::SECONDS_PER_YEAR,
            maintenance_s: f_planned * math::SECONDS_PER_YEAR,
        },
    }
}

/// What a zone outage does to a tier or a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ZoneVerdict {
    Survives,
    /// Serves again once the active member's failover completes.
    AfterFailover,
    /// Down until its pods run in the surviving zones (reschedule time).
    AfterReschedule,
    /// Down until the zone returns.
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneOutcome {
    pub verdict: ZoneVerdict,
    pub detail: String,
}

fn zone_outcome(t: &Tier, rates: &Rates) -> ZoneOutcome {
    let zones = rates.zones.max(1);
    // Spread with maxSkew 1: the fullest zone holds ceil(n / zones) members.
    let lost = t.members.div_ceil(zones);
    let left = t.members - lost;
    if left >= t.needed {
        if let Some(f) = t.failover.as_ref().filter(|_| !t.no_spare()) {
            return ZoneOutcome {
                verdict: ZoneVerdict::AfterFailover,
                detail: format!(
                    "{}: {left} of {} left (needs {}); a failover of {} if the active member was there",
                    t.name,
                    t.members,
                    t.needed,
                    fmt_secs(f.unplanned.as_secs_f64())
                ),
            };
        }
        return ZoneOutcome {
            verdict: ZoneVerdict::Survives,
            detail: format!(
                "{}: {left} of {} left (needs {})",
                t.name, t.members, t.needed
            ),
        };
    }
    match t.recovery {
        Recovery::Reschedule => ZoneOutcome {
            verdict: ZoneVerdict::AfterReschedule,
            detail: format!(
                "{}: {left} of {} left (needs {}); back after a reschedule into the other zones ({})",
                t.name,
                t.members,
                t.needed,
                format_duration(rates.pod_reschedule)
            ),
        },
        Recovery::NodeRepair => ZoneOutcome {
            verdict: ZoneVerdict::Down,
            detail: format!(
                "{}: {left} of {} left (needs {}); down until the zone returns",
                t.name, t.members, t.needed
            ),
        },
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentResult {
    #[serde(serialize_with = "id_name")]
    pub component: ComponentId,
    /// One line: the tiers and their rules.
    pub model: String,
    pub tiers: Vec<TierResult>,
    pub availability: f64,
    pub downtime_per_year_s: f64,
    /// `slo.availability` in percent.
    pub target_percent: f64,
    pub met: bool,
    /// Tiers without a spare member, named `component/tier`.
    pub single_points_of_failure: Vec<String>,
    pub zone_outage: ZoneOutcome,
    /// Where the failover times come from (spec timing or drill reports).
    pub failover_source: Option<String>,
}

fn id_name<S: serde::Serializer>(id: &ComponentId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.name())
}

fn id_names<S: serde::Serializer>(ids: &[ComponentId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|i| i.name()))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JourneyResult {
    pub name: &'static str,
    #[serde(serialize_with = "id_name")]
    pub entry: ComponentId,
    /// Every component the journey crosses (the entry and its transitive dependencies).
    #[serde(serialize_with = "id_names")]
    pub components: Vec<ComponentId>,
    /// Serial composition: the product of the components' availabilities.
    pub availability: f64,
    pub downtime_per_year_s: f64,
    /// The component with the lowest availability.
    #[serde(serialize_with = "id_name")]
    pub weakest: ComponentId,
    pub zone_outage: ZoneVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub rates: Rates,
    pub components: Vec<ComponentResult>,
    pub journeys: Vec<JourneyResult>,
    /// What a zone outage does, in one sentence.
    pub zone_statement: String,
    /// What the figures leave out.
    pub not_modelled: Vec<String>,
}

/// Drill measurements replace a component's failover times.
fn apply_drills(id: ComponentId, tiers: &mut [Tier], drills: &[Drill]) {
    let Some(t) = tiers.iter_mut().find(|t| t.failover.is_some()) else {
        return;
    };
    let Some(f) = t.failover.as_mut() else {
        return;
    };
    let mine: Vec<&Drill> = drills.iter().filter(|d| d.component == id).collect();
    let pick = |planned: bool| {
        mine.iter()
            .filter(|d| d.planned() == planned)
            .max_by(|a, b| a.p95.cmp(&b.p95))
            .copied()
    };
    let mut sources = Vec::new();
    if let Some(d) = pick(false) {
        f.unplanned = d.p95;
        sources.push(format!(
            "unplanned {}: drill {} p95 over {} trials ({})",
            fmt_secs(d.p95.as_secs_f64()),
            d.fault,
            d.trials,
            d.file
        ));
    }
    if let Some(d) = pick(true) {
        f.planned = d.p95;
        sources.push(format!(
            "planned {}: drill {} p95 over {} trials ({})",
            fmt_secs(d.p95.as_secs_f64()),
            d.fault,
            d.trials,
            d.file
        ));
    }
    if !sources.is_empty() {
        if sources.len() == 1 {
            sources.push(format!("otherwise {}", f.source));
        }
        f.source = sources.join("; ");
    }
}

/// Evaluate one component.
pub fn evaluate_component(
    m: &Model,
    c: &dyn Component,
    rates: &Rates,
    drills: &[Drill],
) -> ComponentResult {
    let id = c.id();
    let mut red = c.redundancy(m);
    apply_drills(id, &mut red.tiers, drills);
    let tiers: Vec<TierResult> = red.tiers.iter().map(|t| evaluate_tier(t, rates)).collect();
    let availability = math::series(&tiers.iter().map(|t| t.availability).collect::<Vec<_>>());
    let target = m.get(id).slo.availability;
    let model = red
        .tiers
        .iter()
        .map(|t| {
            let mut s = format!("{} {}-of-{}", t.name, t.needed, t.members);
            if let Some(f) = t.failover.as_ref().filter(|_| !t.no_spare()) {
                s.push_str(&format!(
                    " + failover {}",
                    fmt_secs(f.unplanned.as_secs_f64())
                ));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    let zone_outage = red
        .tiers
        .iter()
        .map(|t| zone_outcome(t, rates))
        .max_by(|a, b| a.verdict.cmp(&b.verdict))
        .unwrap_or(ZoneOutcome {
            verdict: ZoneVerdict::Survives,
            detail: String::new(),
        });
    ComponentResult {
        component: id,
        model,
        single_points_of_failure: red
            .tiers
            .iter()
            .filter(|t| t.no_spare())
            .map(|t| format!("{id}/{}", t.name))
            .collect(),
        failover_source: red
            .tiers
            .iter()
            .filter(|t| !t.no_spare())
            .find_map(|t| t.failover.as_ref().map(|f| f.source.clone())),
        tiers,
        availability,
        downtime_per_year_s: (1.0 - availability) * math::SECONDS_PER_YEAR,
        target_percent: target,
        met: availability * 100.0 >= target,
        zone_outage,
    }
}

/// The entry component and everything it depends on, transitively (enabled only), in
/// registry order.
pub fn closure(m: &Model, entry: ComponentId) -> Vec<ComponentId> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![entry];
    while let Some(id) = stack.pop() {
        if !m.enabled(id) || !seen.insert(id) {
            continue;
        }
        if let Some(c) = components::by_name(id.name()) {
            stack.extend(m.deps_of(c));
        }
    }
    components::ALL
        .iter()
        .map(|c| c.id())
        .filter(|id| seen.contains(id))
        .collect()
}

/// The full report: every enabled component, every journey whose entry is enabled.
pub fn evaluate(m: &Model, rates: &Rates, drills: &[Drill]) -> Report {
    let comps: Vec<ComponentResult> = m
        .enabled_components()
        .map(|c| evaluate_component(m, c, rates, drills))
        .collect();
    let get = |id: ComponentId| comps.iter().find(|r| r.component == id);
    let mut journeys = Vec::new();
    for c in m.enabled_components() {
        let Some(name) = c.redundancy(m).journey else {
            continue;
        };
        let members = closure(m, c.id());
        let results: Vec<&ComponentResult> = members.iter().filter_map(|id| get(*id)).collect();
        let availability =
            math::series(&results.iter().map(|r| r.availability).collect::<Vec<_>>());
        let weakest = results
            .iter()
            .min_by(|a, b| a.availability.total_cmp(&b.availability))
            .map_or(c.id(), |r| r.component);
        journeys.push(JourneyResult {
            name,
            entry: c.id(),
            components: members,
            availability,
            downtime_per_year_s: (1.0 - availability) * math::SECONDS_PER_YEAR,
            weakest,
            zone_outage: results
                .iter()
                .map(|r| r.zone_outage.verdict)
                .max()
                .unwrap_or(ZoneVerdict::Survives),
        });
    }
    let mut not_modelled = vec![
        "software faults, operator bugs, bad changes and human error: the figures are what the topology allows, an upper bound".to_string(),
        "the Kubernetes control plane, the network and the storage layer under the volumes".to_string(),
    ];
    if m.object_store.backend != ObjectStoreBackend::Minio {
        not_modelled.push(format!(
            "the object store ({}): outside the platform, counted as always up",
            match m.object_store.backend {
                ObjectStoreBackend::Odf => "OpenShift Data Foundation",
                _ => "external S3 endpoint",
            }
        ));
    }
    Report {
        zone_statement: zone_statement(&comps, rates),
        rates: *rates,
        components: comps,
        journeys,
        not_modelled,
    }
}

fn zone_statement(comps: &[ComponentResult], rates: &Rates) -> String {
    if rates.zones <= 1 {
        return "one zone: a zone outage takes the whole platform down".into();
    }
    let names = |v: ZoneVerdict| {
        comps
            .iter()
            .filter(|c| c.zone_outage.verdict == v)
            .map(|c| c.component.name())
            .collect::<Vec<_>>()
    };
    let mut parts = Vec::new();
    for (v, what) in [
        (ZoneVerdict::Survives, "keep serving"),
        (ZoneVerdict::AfterFailover, "serve again after one failover"),
        (
            ZoneVerdict::AfterReschedule,
            "down until their pods run in the other zones",
        ),
        (ZoneVerdict::Down, "down until the zone returns"),
    ] {
        let n = names(v);
        if !n.is_empty() {
            parts.push(format!("{what}: {}", n.join(", ")));
        }
    }
    format!(
        "losing one of {} zones (members spread evenly, maxSkew 1): {}",
        rates.zones,
        parts.join("; ")
    )
}

/// `slo.availability` targets the topology cannot reach under the spec's failure rates
/// (the defaults unless `spec.availabilityModel` overrides them). Drills are not consulted:
/// this is a property of the spec. `render` prints these as warnings, `lint` reports them.
pub fn target_issues(p: &Platform) -> Vec<Issue> {
    let m = Model::new(p);
    let rates = Rates::from_spec(p);
    let mut out = Vec::new();
    for c in m.enabled_components() {
        let r = evaluate_component(&m, c, &rates, &[]);
        if r.met {
            continue;
        }
        let id = c.id();
        let explicit = components::common_spec(&p.spec.components, id)
            .slo
            .is_some_and(|s| s.availability.is_some());
        let pointer = if explicit {
            format!("{}/slo/availability", spec_pointer(id))
        } else {
            spec_pointer(id)
        };
        let worst = r
            .tiers
            .iter()
            .min_by(|a, b| a.availability.total_cmp(&b.availability))
            .map(|t| {
                let spof = if t.tier.no_spare() {
                    ", a single point of failure"
                } else {
                    ""
                };
                format!(
                    "{} ({}-of-{}{spof})",
                    t.tier.name, t.tier.needed, t.tier.members
                )
            })
            .unwrap_or_default();
        out.push(Issue::new(
            pointer,
            format!(
                "availability target {} % is out of reach: the topology gives {} ({} down a year) with {}; weakest: {worst} (expected a target ≤ {} or more redundancy; `datalyptica availability` shows the details)",
                r.target_percent,
                fmt_percent(r.availability),
                fmt_secs(r.downtime_per_year_s),
                rates.summary(),
                fmt_percent_floor(r.availability),
            ),
        ));
    }
    out
}

/// [`target_issues`] of a platform spec given as a parsed document (what `lint` sees), or
/// `None` when the document is not a valid spec (`render` reports why).
pub fn target_issues_of_document(v: &serde_json::Value) -> Option<Vec<Issue>> {
    let p: Platform = serde_json::from_value(crate::load::without_nulls(v.clone())).ok()?;
    crate::validate::validate(&p)
        .is_empty()
        .then(|| target_issues(&p))
}

/// Checks of `spec.availabilityModel`.
pub fn validate(p: &Platform, out: &mut Vec<Issue>) {
    let s = &p.spec.availability_model;
    let base = "/spec/availabilityModel";
    for (field, v) in [
        ("nodeMtbf", &s.node_mtbf),
        ("nodeRepair", &s.node_repair),
        ("podReschedule", &s.pod_reschedule),
        ("podRestart", &s.pod_restart),
    ] {
        let Some(v) = v else { continue };
        match parse_duration(v) {
            Err(e) => out.push(Issue::new(format!("{base}/{field}"), e)),
            Ok(d) if field == "nodeMtbf" && d.is_zero() => out.push(Issue::new(
                format!("{base}/{field}"),
                "a node MTBF of 0 means nodes never run (expected a positive duration, e.g. 8760h)",
            )),
            Ok(_) => {}
        }
    }
    if s.zones == Some(0) {
        out.push(Issue::new(
            format!("{base}/zones"),
            "0 zones (expected ≥ 1; 1 for a single-zone cluster)",
        ));
    }
}

/// `99.9937 %`: enough digits to tell the nines apart.
pub fn fmt_percent(a: f64) -> String {
    if a >= 1.0 - 1e-9 {
        // More nines than any figure here deserves: say so instead of rounding to 100 %.
        return "> 99.9999999 %".into();
    }
    let digits = (math::nines(a).ceil() as usize).clamp(2, 8);
    format!("{:.*} %", digits.saturating_sub(1), a * 100.0)
}

/// The largest target the availability meets, for "expected a target ≤ …".
fn fmt_percent_floor(a: f64) -> String {
    let digits = (math::nines(a).ceil() as i32).clamp(2, 8) - 1;
    let scale = 10f64.powi(digits);
    format!(
        "{:.*}",
        digits as usize,
        ((a * 100.0) * scale).floor() / scale
    )
}

/// Seconds as `0.4 s`, `12 min`, `3.1 h`, `2.0 d`.
pub fn fmt_secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// The plain-text table of `datalyptica availability`.
pub fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<11} {:>14} {:>10} {:>9}  {:<4} model",
        "component", "availability", "down/year", "target", "met"
    );
    for c in &r.components {
        let _ = writeln!(
            o,
            "{:<11} {:>14} {:>10} {:>7} %  {:<4} {}",
            c.component.name(),
            fmt_percent(c.availability),
            fmt_secs(c.downtime_per_year_s),
            c.target_percent,
            if c.met { "yes" } else { "NO" },
            c.model,
        );
    }
    let spofs: Vec<&str> = r
        .components
        .iter()
        .flat_map(|c| c.single_points_of_failure.iter().map(String::as_str))
        .collect();
    let _ = writeln!(
        o,
        "\nsingle points of failure: {}",
        if spofs.is_empty() {
            "none".to_string()
        } else {
            spofs.join(", ")
        }
    );
    let sources: Vec<String> = r
        .components
        .iter()
        .filter_map(|c| {
            c.failover_source
                .as_ref()
                .map(|s| format!("  {}: {s}", c.component))
        })
        .collect();
    if !sources.is_empty() {
        let _ = writeln!(o, "failover times:\n{}", sources.join("\n"));
    }
    let _ = writeln!(o, "\njourneys (serial along the dependency graph):");
    for j in &r.journeys {
        let path: Vec<&str> = j.components.iter().map(|c| c.name()).collect();
        let _ = writeln!(
            o,
            "  {:<14} {:>14} {:>10}  weakest {:<11} via {}",
            j.name,
            fmt_percent(j.availability),
            fmt_secs(j.downtime_per_year_s),
            j.weakest.name(),
            path.join(" × ")
        );
    }
    let _ = writeln!(o, "\nzone outage: {}", r.zone_statement);
    for c in &r.components {
        if c.zone_outage.verdict != ZoneVerdict::Survives {
            let _ = writeln!(o, "  {}: {}", c.component, c.zone_outage.detail);
        }
    }
    let _ = writeln!(o, "\nrates: {}", r.rates.summary());
    let _ = writeln!(o, "not modelled:");
    for n in &r.not_modelled {
        let _ = writeln!(o, "  - {n}");
    }
    o
}

#[cfg(test)]
mod tests;
