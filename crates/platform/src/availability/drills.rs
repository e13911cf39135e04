//! Reading the reports `datalyptica drill --json` writes (`<lab>/reports/<component>-<fault>.json`):
//! `{"component": "postgresql", "fault": "kill-primary", "rto_s": {"n": 10, "p95": 15.9, …},
//! "skipped": null, …}`. Only the fields used here are read; the rest may change freely.

use std::time::Duration;

use serde::Deserialize;

use crate::component::ComponentId;
use crate::validate::component_ids;

/// One drill's p95 recovery time.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub component: ComponentId,
    /// `kill-primary`, `stop-primary`, `freeze-primary`, `partition-primary`.
    pub fault: String,
    pub p95: Duration,
    pub trials: usize,
    /// Where the report came from (for the output's sources).
    pub file: String,
}

impl Drill {
    /// A clean stop is what a drain does to the primary: a switchover, not a failover.
    pub fn planned(&self) -> bool {
        self.fault == "stop-primary"
    }
}

#[derive(Deserialize)]
struct Raw {
    component: String,
    fault: String,
    rto_s: Option<RawStats>,
    #[serde(default)]
    skipped: Option<String>,
}

#[derive(Deserialize)]
struct RawStats {
    n: usize,
    p95: f64,
}

/// What a report holds: a drill, or the reason it has nothing to offer.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Drill(Drill),
    /// Skipped on the machine it ran on, or no trial recovered.
    NoMeasurement(String),
}

/// Parse one report. `file` names it in messages and sources.
pub fn parse(file: &str, text: &str) -> Result<Parsed, String> {
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        format!(
            "{file}:{}:{}: not a drill report: {e} (expected the JSON `datalyptica drill --json` writes)",
            e.line(),
            e.column()
        )
    })?;
    let component = component_ids()
        .find(|c| c.name() == raw.component)
        .ok_or_else(|| {
            format!(
                "{file}: component `{}` is not a platform component",
                raw.component
            )
        })?;
    if let Some(reason) = raw.skipped {
        return Ok(Parsed::NoMeasurement(format!(
            "{file}: drill {component} {} was skipped: {reason}",
            raw.fault
        )));
    }
    let Some(stats) = raw.rto_s else {
        return Ok(Parsed::NoMeasurement(format!(
            "{file}: drill {component} {}: no trial recovered, no RTO to use",
            raw.fault
        )));
    };
    if !(stats.p95.is_finite() && stats.p95 >= 0.0) {
        return Err(format!(
            "{file}: rto_s.p95 is {} (expected a non-negative number of seconds)",
            stats.p95
        ));
    }
    Ok(Parsed::Drill(Drill {
        component,
        fault: raw.fault,
        p95: Duration::from_secs_f64(stats.p95),
        trials: stats.n,
        file: file.to_string(),
    }))
}
