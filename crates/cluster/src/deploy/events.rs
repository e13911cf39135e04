//! What a deploy reports: one event per step, object, Secret and gate, for humans and `--json`.

use serde::Serialize;

use crate::diagnose::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyOutcome {
    Created,
    Configured,
    Unchanged,
}

/// Progress events; `--json` prints one per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Resume {
        done: Vec<String>,
    },
    StepStarted {
        step: String,
        phase: u8,
    },
    Applied {
        step: String,
        object: String,
        outcome: ApplyOutcome,
    },
    DryRun {
        step: String,
        object: String,
        diff: Vec<String>,
    },
    /// The Secret's name only: values are never reported.
    Secret {
        step: String,
        namespace: String,
        name: String,
        action: String,
    },
    /// A read or write of `object` failed transiently (dropped connection, 503 outlasting the
    /// client's own retries) and is tried again.
    Retrying {
        step: String,
        object: String,
        detail: String,
    },
    GateWaiting {
        step: String,
        gate: String,
        detail: String,
    },
    GatePassed {
        step: String,
        gate: String,
        detail: String,
    },
    GateFailed {
        step: String,
        gate: String,
        detail: String,
        findings: Vec<Finding>,
        resume: String,
    },
    StepDone {
        step: String,
        changed: usize,
    },
    Finished {
        ok: bool,
        changed: usize,
        unchanged: usize,
        message: String,
    },
}

/// Human rendering of one event (the table-ish default output).
pub fn render_event(e: &Event) -> String {
    match e {
        Event::Resume { done } => format!(
            "resuming: {} step(s) recorded as done ({})",
            done.len(),
            done.join(", ")
        ),
        Event::StepStarted { step, phase } => format!("== {step} (phase {phase})"),
        Event::Applied {
            object, outcome, ..
        } => format!(
            "   {object}: {}",
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Event::DryRun { object, diff, .. } => {
            if diff.is_empty() {
                format!("   {object}: no change")
            } else {
                format!(
                    "   {object}:\n{}",
                    diff.iter()
                        .map(|l| format!("      {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            }
        }
        Event::Secret {
            namespace,
            name,
            action,
            ..
        } => format!("   Secret/{name} -n {namespace}: {action} (value not shown)"),
        Event::GateWaiting { gate, detail, .. } => format!("   waiting: {gate}: {detail}"),
        Event::Retrying { object, detail, .. } => format!("   retrying {object}: {detail}"),
        Event::GatePassed { gate, detail, .. } => format!("   ready:   {gate}: {detail}"),
        Event::GateFailed {
            gate,
            detail,
            findings,
            resume,
            ..
        } => {
            let mut s = format!("   FAILED:  {gate}: {detail}");
            for f in findings {
                s.push_str(&format!(
                    "\n      {} — {}\n        fix: {}",
                    f.subject, f.message, f.fix
                ));
            }
            s.push_str(&format!("\n   {resume}"));
            s
        }
        Event::StepDone { step, changed } => format!("   {step} done ({changed} changed)"),
        Event::Finished { message, .. } => message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_render_for_humans_and_json() {
        let e = Event::GateFailed {
            step: "component.kafka".into(),
            gate: "Kafka/k".into(),
            detail: "timed out".into(),
            findings: vec![],
            resume: "run again".into(),
        };
        assert!(render_event(&e).contains("FAILED:  Kafka/k: timed out"));
        let j = serde_json::to_value(&e).expect("json");
        assert_eq!(j["event"], "gate-failed");
        let a = Event::Applied {
            step: "s".into(),
            object: "Namespace/x".into(),
            outcome: ApplyOutcome::Unchanged,
        };
        assert_eq!(render_event(&a), "   Namespace/x: unchanged");
    }
}
