//! RTO and loss computed from a recorded attempt log. Pure: no clocks, no I/O.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server acknowledged the write (for Redis: including the `WAIT` quorum).
    Ok,
    /// Refused before anything was sent (no primary reachable, connect refused, read-only node).
    Refused,
    /// The server answered with an error after the request was sent.
    Error,
    /// No answer in time or the connection broke mid-request: may or may not have been applied.
    Unknown,
}

/// One write attempt; times are microseconds since the probe started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub seq: u64,
    pub start_us: u64,
    pub end_us: u64,
    pub outcome: Outcome,
    /// Which server took the write, when known.
    pub node: Option<String>,
}

/// What one trial recorded, before analysis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrialLog {
    pub attempts: Vec<Attempt>,
    pub fault_us: u64,
    /// When a timed fault (freeze, partition) was lifted.
    pub fault_end_us: Option<u64>,
    /// When the drill first saw another node as primary.
    pub promoted_us: Option<u64>,
    /// Sequence numbers read back after recovery, duplicates included.
    pub read_back: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialAnalysis {
    /// Fault → acknowledgement of the first write that began after the fault. None: never recovered.
    #[serde(rename = "rto_s", serialize_with = "secs::opt")]
    pub rto: Option<Duration>,
    pub attempts: usize,
    pub acknowledged: usize,
    /// Attempts in flight when the fault hit, plus failures whose effect is unknown.
    pub indeterminate: usize,
    pub failed: usize,
    /// Acknowledged writes missing from the read-back.
    pub lost: Vec<u64>,
    /// From the start of the first lost write to the acknowledgement of the last one.
    #[serde(rename = "lost_span_s", serialize_with = "secs::one")]
    pub lost_span: Duration,
    /// Extra copies of sequence numbers in the read-back.
    pub duplicates: usize,
    /// Writes that reported failure yet are present (the client could not know): informational.
    pub failed_but_present: usize,
    /// Read-back values that no attempt wrote: corruption or a foreign writer.
    pub unexpected: usize,
}

/// Durations as seconds in JSON: `{"secs":…,"nanos":…}` is no use to a reader or a dashboard.
pub mod secs {
    use std::time::Duration;

    pub fn one<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

fn us(d: u64) -> Duration {
    Duration::from_micros(d)
}

/// When writes were possible again: the acknowledgement of the first write that began after the
/// fault and after the last failure that followed it. A server that keeps accepting writes for a
/// moment after a graceful stop is not "recovered" by those writes; with a clean cut (kill) this
/// is simply the first acknowledged write that began after the fault.
pub fn recovered_at(attempts: &[Attempt], fault_us: u64) -> Option<u64> {
    let last_failure_end = attempts
        .iter()
        .filter(|a| a.outcome != Outcome::Ok && a.end_us >= fault_us)
        .map(|a| a.end_us)
        .max()
        .unwrap_or(fault_us);
    attempts
        .iter()
        .filter(|a| {
            a.outcome == Outcome::Ok && a.start_us >= fault_us && a.start_us >= last_failure_end
        })
        .map(|a| a.end_us)
        .min()
}

pub fn analyze(log: &TrialLog) -> TrialAnalysis {
    let fault = log.fault_us;
    let in_flight = |a: &Attempt| a.start_us <= fault && a.end_us >= fault;
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for &s in &log.read_back {
        *counts.entry(s).or_default() += 1;
    }
    let mut acknowledged = 0;
    let mut indeterminate = 0;
    let mut failed = 0;
    let mut lost = Vec::new();
    let mut lost_first_start = u64::MAX;
    let mut lost_last_end = 0;
    let mut failed_but_present = 0;
    let mut attempted = std::collections::HashSet::new();
    for a in &log.attempts {
        attempted.insert(a.seq);
        let present = counts.contains_key(&a.seq);
        if in_flight(a) {
            indeterminate += 1;
            continue;
        }
        match a.outcome {
            Outcome::Ok => {
                acknowledged += 1;
                if !present {
                    lost.push(a.seq);
                    lost_first_start = lost_first_start.min(a.start_us);
                    lost_last_end = lost_last_end.max(a.end_us);
                }
            }
            Outcome::Unknown => {
                indeterminate += 1;
                failed_but_present += usize::from(present);
            }
            Outcome::Refused | Outcome::Error => {
                failed += 1;
                failed_but_present += usize::from(present);
            }
        }
    }
    let rto = recovered_at(&log.attempts, fault).map(|end| us(end - fault));
    let duplicates = counts.values().map(|&n| n.saturating_sub(1)).sum();
    let unexpected = counts.keys().filter(|s| !attempted.contains(s)).count();
    let lost_span = if lost.is_empty() {
        Duration::ZERO
    } else {
        us(lost_last_end - lost_first_start)
    };
    TrialAnalysis {
        rto,
        attempts: log.attempts.len(),
        acknowledged,
        indeterminate,
        failed,
        lost,
        lost_span,
        duplicates,
        failed_but_present,
        unexpected,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// Nearest-rank percentiles: with few trials an interpolated p95 would invent values never seen.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let r = (p * v.len() as f64).ceil() as usize;
        v[r.clamp(1, v.len()) - 1]
    };
    Some(Stats {
        n: v.len(),
        min: v[0],
        p50: rank(0.50),
        p95: rank(0.95),
        max: v[v.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(seq: u64, start_ms: u64, end_ms: u64, outcome: Outcome) -> Attempt {
        Attempt {
            seq,
            start_us: start_ms * 1000,
            end_us: end_ms * 1000,
            outcome,
            node: None,
        }
    }

    #[test]
    fn rto_loss_and_in_flight() {
        let log = TrialLog {
            attempts: vec![
                a(1, 0, 10, Outcome::Ok),
                a(2, 20, 30, Outcome::Ok),
                a(3, 40, 60, Outcome::Ok), // in flight at the fault (50 ms): not counted either way
                a(4, 70, 80, Outcome::Refused),
                a(5, 90, 400, Outcome::Unknown),
                a(6, 500, 510, Outcome::Ok), // first ack after the fault
                a(7, 520, 530, Outcome::Ok),
            ],
            fault_us: 50_000,
            read_back: vec![1, 5, 6, 7, 7],
            ..Default::default()
        };
        let r = analyze(&log);
        assert_eq!(r.rto, Some(Duration::from_millis(460)));
        assert_eq!(r.lost, vec![2]);
        assert_eq!(r.lost_span, Duration::from_millis(10));
        assert_eq!(r.acknowledged, 4);
        assert_eq!(r.indeterminate, 2);
        assert_eq!(r.failed, 1);
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.failed_but_present, 1);
        assert_eq!(r.unexpected, 0);
    }

    #[test]
    fn graceful_stop_counts_the_outage_not_the_last_writes() {
        let log = TrialLog {
            attempts: vec![
                a(1, 0, 10, Outcome::Ok),
                a(2, 60, 70, Outcome::Ok), // still accepted after the (graceful) fault at 50 ms
                a(3, 80, 900, Outcome::Unknown),
                a(4, 950, 960, Outcome::Refused),
                a(5, 1000, 1010, Outcome::Ok),
            ],
            fault_us: 50_000,
            read_back: vec![1, 2, 5],
            ..Default::default()
        };
        assert_eq!(recovered_at(&log.attempts, log.fault_us), Some(1_010_000));
        assert_eq!(analyze(&log).rto, Some(Duration::from_millis(960)));
        assert_eq!(recovered_at(&log.attempts[..2], log.fault_us), Some(70_000));
    }

    #[test]
    fn never_recovered() {
        let log = TrialLog {
            attempts: vec![a(1, 0, 10, Outcome::Ok), a(2, 20, 30, Outcome::Error)],
            fault_us: 15_000,
            read_back: vec![1, 99],
            ..Default::default()
        };
        let r = analyze(&log);
        assert_eq!(r.rto, None);
        assert!(r.lost.is_empty());
        assert_eq!(r.unexpected, 1);
    }

    #[test]
    fn percentiles_nearest_rank() {
        let s = stats(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.min, s.p50, s.p95, s.max), (1.0, 3.0, 5.0, 5.0));
        let s = stats(&[2.0, 1.0]).unwrap();
        assert_eq!((s.p50, s.p95), (1.0, 2.0));
        let many: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(stats(&many).unwrap().p95, 19.0);
        assert_eq!(stats(&[]), None);
    }
}
