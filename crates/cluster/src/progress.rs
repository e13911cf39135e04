//! Human output of `deploy`: one progress bar per step (prerequisites, operators, each
//! component) showing what it is doing and the gate it waits for, above the event log. Hidden
//! when stdout is not a terminal, where the plain event lines are printed as before (tests, CI
//! logs); `--json` does not use this.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::deploy::{Event, render_event};

pub struct DeployProgress {
    multi: MultiProgress,
    bars: RefCell<HashMap<String, ProgressBar>>,
    /// Whether the bars are drawn (stdout is a terminal).
    visible: bool,
}

impl DeployProgress {
    /// Bars on stdout when it is a terminal, hidden otherwise.
    pub fn for_stdout() -> Self {
        Self::new(std::io::stdout().is_terminal())
    }

    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        };
        DeployProgress {
            multi: MultiProgress::with_draw_target(target),
            bars: RefCell::new(HashMap::new()),
            visible,
        }
    }

    fn bar(&self, step: &str) -> ProgressBar {
        let mut bars = self.bars.borrow_mut();
        bars.entry(step.to_string())
            .or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new_spinner());
                b.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<28} {elapsed:>4} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b.set_prefix(step.to_string());
                if self.visible {
                    b.enable_steady_tick(Duration::from_millis(120));
                }
                b
            })
            .clone()
    }

    /// The current message of a step's bar (what it is doing or waiting for).
    pub fn message(&self, step: &str) -> Option<String> {
        self.bars.borrow().get(step).map(|b| b.message())
    }

    /// Whether a step's bar is finished.
    pub fn finished(&self, step: &str) -> Option<bool> {
        self.bars.borrow().get(step).map(|b| b.is_finished())
    }

    /// Update the bars and print the event's line (above the bars when they are drawn).
    pub fn handle(&self, e: &Event) {
        match e {
            Event::StepStarted { step, phase } => {
                self.bar(step)
                    .set_message(format!("phase {phase}: applying"));
            }
            Event::Applied { step, object, .. } | Event::DryRun { step, object, .. } => {
                self.bar(step).set_message(format!("applied {object}"));
            }
            Event::Secret { step, name, .. } => {
                self.bar(step).set_message(format!("Secret/{name}"));
            }
            Event::Retrying {
                step,
                object,
                detail,
            } => {
                self.bar(step)
                    .set_message(format!("retrying {object}: {detail}"));
            }
            Event::GateWaiting { step, gate, detail } => {
                self.bar(step)
                    .set_message(format!("waiting for {gate}: {detail}"));
            }
            Event::GatePassed { step, gate, .. } => {
                self.bar(step).set_message(format!("{gate} ready"));
            }
            Event::GateFailed {
                step, gate, detail, ..
            } => {
                self.bar(step)
                    .abandon_with_message(format!("FAILED {gate}: {detail}"));
            }
            Event::StepDone { step, changed } => {
                self.bar(step)
                    .finish_with_message(format!("done ({changed} changed)"));
            }
            Event::Finished { .. } => {
                for b in self.bars.borrow().values() {
                    if !b.is_finished() {
                        b.abandon();
                    }
                }
            }
            Event::Resume { .. } => {}
        }
        let line = render_event(e);
        if !self.visible {
            println!("{line}");
        } else if !matches!(e, Event::GateWaiting { .. }) {
            // Repeated waits live in the bar only; the rest is the log above the bars.
            let _ = self.multi.println(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_follow_steps_and_gates() {
        let p = DeployProgress::new(false);
        let step = "phase-2/kafka".to_string();
        p.handle(&Event::StepStarted {
            step: step.clone(),
            phase: 2,
        });
        assert_eq!(p.message(&step).as_deref(), Some("phase 2: applying"));
        p.handle(&Event::GateWaiting {
            step: step.clone(),
            gate: "Kafka/kafka".into(),
            detail: "2/3 brokers ready".into(),
        });
        assert_eq!(
            p.message(&step).as_deref(),
            Some("waiting for Kafka/kafka: 2/3 brokers ready")
        );
        assert_eq!(p.finished(&step), Some(false));
        p.handle(&Event::StepDone {
            step: step.clone(),
            changed: 4,
        });
        assert_eq!(p.finished(&step), Some(true));
        assert_eq!(p.message(&step).as_deref(), Some("done (4 changed)"));
        p.handle(&Event::StepStarted {
            step: "operators".into(),
            phase: 0,
        });
        p.handle(&Event::Finished {
            ok: false,
            changed: 4,
            unchanged: 0,
            message: "stopped".into(),
        });
        assert_eq!(p.finished("operators"), Some(true));
        assert_eq!(p.message("nope"), None);
    }
}
