//! Human and machine output: status, drill table, SVG timeline, Markdown report.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::analysis::{Outcome, TrialLog};
use crate::drill::{DrillSummary, TrialReport};
use crate::health::{self, EtcdView, PgView, RedisView};
use crate::lab::{Lab, ProcStatus};
use crate::topology::{Datastore, Proc};

#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub dir: PathBuf,
    pub processes: Vec<ProcStatus>,
    pub etcd: EtcdView,
    pub postgresql: Option<PgView>,
    pub redis: RedisView,
    pub healthy: bool,
}

pub async fn lab_status(lab: &Lab) -> LabStatus {
    let processes = lab.status_procs();
    let etcd = health::etcd_view().await;
    let postgresql = health::pg_view().await.ok();
    let redis = health::redis_view().await;
    // Only components the lab started count, so `up --only etcd` can be healthy.
    let started = |c: Datastore| {
        let names: Vec<String> = Proc::all(c).iter().map(|p| p.name()).collect();
        processes
            .iter()
            .any(|p| names.contains(&p.name) && p.state != "stopped")
    };
    let any = Datastore::ALL.into_iter().any(started);
    let healthy = any
        && processes.iter().all(|p| p.state != "crashed")
        && (!started(Datastore::Etcd) || etcd.healthy())
        && (!started(Datastore::Postgresql)
            || postgresql
                .as_ref()
                .is_some_and(|v| v.healthy(lab.settings.postgres.synchronous_mode)))
        && (!started(Datastore::Redis) || redis.healthy());
    LabStatus {
        dir: lab.dir.clone(),
        processes,
        etcd,
        postgresql,
        redis,
        healthy,
    }
}

pub fn lab_status_text(s: &LabStatus) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "lab {} — {}",
        s.dir.display(),
        if s.healthy { "HEALTHY" } else { "NOT HEALTHY" }
    );
    for p in &s.processes {
        let _ = writeln!(
            o,
            "  {:<10} {:<8} {}",
            p.name,
            p.state,
            p.pid.map(|p| p.to_string()).unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "etcd: leader {} ({}/3 up)",
        s.etcd.leader.as_deref().unwrap_or("none"),
        s.etcd.members.iter().filter(|m| m.up).count()
    );
    match &s.postgresql {
        Some(v) => {
            let ms: Vec<String> = v
                .members
                .iter()
                .map(|m| format!("{} {} {}", m.name, m.role, m.state))
                .collect();
            let _ = writeln!(o, "postgresql: {}", ms.join(", "));
        }
        None => {
            let _ = writeln!(o, "postgresql: no Patroni answers");
        }
    }
    let rs: Vec<String> = s
        .redis
        .nodes
        .iter()
        .map(|n| {
            if n.up {
                format!("{} {}", n.name, n.role)
            } else {
                format!("{} down", n.name)
            }
        })
        .collect();
    let sen = s.redis.sentinels.iter().filter(|x| x.up).count();
    let _ = writeln!(
        o,
        "redis: master {} ({}), sentinels up {sen}/3",
        s.redis.master.as_deref().unwrap_or("none"),
        rs.join(", ")
    );
    o
}

fn secs(d: Option<std::time::Duration>) -> String {
    d.map(|d| format!("{:.2}", d.as_secs_f64()))
        .unwrap_or_else(|| "none".into())
}

pub fn summary_table(s: &DrillSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "drill {} {} — {}",
        s.component,
        s.fault.name(),
        s.settings.join(" ")
    );
    if let Some(r) = &s.skipped {
        let _ = writeln!(o, "SKIPPED: {r}");
        return o;
    }
    let _ = writeln!(
        o,
        "{:>5} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>9} {:>9}",
        "trial", "old", "new", "RTO s", "acked", "lost", "indet", "dup", "promo s", "rejoin s"
    );
    for t in &s.trials {
        let promo = t
            .log
            .promoted_us
            .map(|p| format!("{:.2}", (p.saturating_sub(t.log.fault_us)) as f64 / 1e6));
        let _ = writeln!(
            o,
            "{:>5} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>9} {:>9}",
            t.trial,
            t.old_primary,
            t.new_primary.as_deref().unwrap_or("-"),
            secs(t.analysis.rto),
            t.analysis.acknowledged,
            t.analysis.lost.len(),
            t.analysis.indeterminate,
            t.analysis.duplicates,
            promo.unwrap_or_else(|| "-".into()),
            t.rejoin_s
                .map(|r| format!("{r:.1}"))
                .unwrap_or_else(|| "NO".into()),
        );
    }
    if let Some(st) = &s.rto_s {
        let _ = writeln!(
            o,
            "RTO s: min {:.2}  p50 {:.2}  p95 {:.2}  max {:.2}  (n={}, SLO {:.1})",
            st.min,
            st.p50,
            st.p95,
            st.max,
            st.n,
            s.slo.rto.as_secs_f64()
        );
    }
    let _ = writeln!(
        o,
        "acknowledged writes lost: {} (max span {:.3} s, RPO {:.1} s)",
        s.lost_total,
        s.lost_span_max_s,
        s.slo.rpo.as_secs_f64()
    );
    if s.breaches.is_empty() {
        let _ = writeln!(o, "SLO: met");
    } else {
        for b in &s.breaches {
            let _ = writeln!(o, "SLO BREACH: {b}");
        }
    }
    o
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Timeline of one trial: each attempt as a tick (green ok, red failed, grey indeterminate),
/// with the fault, its end and the observed promotion marked.
pub fn svg_timeline(title: &str, log: &TrialLog) -> String {
    let (w, h, left, right) = (900.0_f64, 220.0_f64, 50.0_f64, 20.0_f64);
    let end = log
        .attempts
        .iter()
        .map(|a| a.end_us)
        .max()
        .unwrap_or(1)
        .max(log.fault_us + 1) as f64;
    let x = |us: u64| left + (us as f64 / end) * (w - left - right);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{left}" y="16" font-size="13">{}</text>"#,
        esc(title)
    );
    let lanes = [
        ("ok", 50.0, "#2e7d32"),
        ("failed", 90.0, "#c62828"),
        ("unknown", 130.0, "#9e9e9e"),
    ];
    for (name, y, _) in lanes {
        let _ = writeln!(o, r#"<text x="4" y="{}">{name}</text>"#, y + 12.0);
    }
    for a in &log.attempts {
        let in_flight = a.start_us <= log.fault_us && a.end_us >= log.fault_us;
        let (y, color) = match (a.outcome, in_flight) {
            (_, true) | (Outcome::Unknown, _) => (lanes[2].1, lanes[2].2),
            (Outcome::Ok, _) => (lanes[0].1, lanes[0].2),
            _ => (lanes[1].1, lanes[1].2),
        };
        let (x0, x1) = (x(a.start_us), x(a.end_us));
        let _ = writeln!(
            o,
            r#"<rect x="{x0:.1}" y="{y}" width="{:.1}" height="16" fill="{color}"/>"#,
            (x1 - x0).max(0.8)
        );
    }
    if let Some(rec) = crate::analysis::recovered_at(&log.attempts, log.fault_us) {
        let (x0, x1) = (x(log.fault_us), x(rec));
        let _ = writeln!(
            o,
            r##"<line x1="{x0:.1}" y1="160" x2="{x1:.1}" y2="160" stroke="#000" stroke-dasharray="4 2"/><text x="{:.1}" y="156" text-anchor="middle">RTO {:.2} s</text>"##,
            (x0 + x1) / 2.0,
            (rec - log.fault_us) as f64 / 1e6
        );
    }
    let mut mark = |us: u64, label: &str, color: &str, dy: f64| {
        let xx = x(us);
        let _ = writeln!(
            o,
            r#"<line x1="{xx:.1}" y1="30" x2="{xx:.1}" y2="170" stroke="{color}" stroke-width="2"/>"#
        );
        // Labels near the right edge grow leftwards so they stay inside the picture.
        let (tx, anchor) = if xx > w - 160.0 {
            (xx - 3.0, "end")
        } else {
            (xx + 3.0, "start")
        };
        let _ = writeln!(
            o,
            r#"<text x="{tx:.1}" y="{}" fill="{color}" text-anchor="{anchor}">{}</text>"#,
            180.0 + dy,
            esc(label)
        );
    };
    mark(log.fault_us, "fault", "#000", 0.0);
    if let Some(e) = log.fault_end_us {
        mark(e, "fault lifted", "#6a1b9a", 12.0);
    }
    if let Some(p) = log.promoted_us {
        mark(p, "new primary seen", "#1565c0", 24.0);
    }
    // Axis with whole seconds.
    let total_s = (end / 1e6).ceil() as u64;
    let step = (total_s / 15).max(1);
    for s in (0..=total_s).step_by(step as usize) {
        let xx = x(s * 1_000_000);
        let _ = writeln!(
            o,
            r##"<text x="{xx:.1}" y="{}" fill="#555">{s}s</text>"##,
            h - 4.0
        );
    }
    let _ = writeln!(o, "</svg>");
    o
}

pub fn markdown(s: &DrillSummary, svgs: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Drill: {} {}\n", s.component, s.fault.name());
    let _ = writeln!(o, "Settings: `{}`\n", s.settings.join(" "));
    let _ = writeln!(
        o,
        "SLO: RTO ≤ {:.1} s, RPO ≤ {:.1} s\n",
        s.slo.rto.as_secs_f64(),
        s.slo.rpo.as_secs_f64()
    );
    if let Some(r) = &s.skipped {
        let _ = writeln!(o, "**Skipped:** {r}");
        return o;
    }
    let _ = writeln!(
        o,
        "| trial | old primary | new primary | RTO (s) | acked | lost | lost span (s) | indeterminate | duplicates | rejoin (s) |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    for t in &s.trials {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {:.3} | {} | {} | {} |",
            t.trial,
            t.old_primary,
            t.new_primary.as_deref().unwrap_or("-"),
            secs(t.analysis.rto),
            t.analysis.acknowledged,
            t.analysis.lost.len(),
            t.analysis.lost_span.as_secs_f64(),
            t.analysis.indeterminate,
            t.analysis.duplicates,
            t.rejoin_s
                .map(|r| format!("{r:.1}"))
                .unwrap_or_else(|| "did not rejoin".into())
        );
    }
    if let Some(st) = &s.rto_s {
        let _ = writeln!(
            o,
            "\nRTO over {} trials: min {:.2} s, p50 {:.2} s, p95 {:.2} s, max {:.2} s.",
            st.n, st.min, st.p50, st.p95, st.max
        );
    }
    let _ = writeln!(
        o,
        "Acknowledged writes lost: {} (max span {:.3} s).\n",
        s.lost_total, s.lost_span_max_s
    );
    if s.breaches.is_empty() {
        let _ = writeln!(o, "**SLO met.**\n");
    } else {
        let _ = writeln!(o, "**SLO breached:**\n");
        for b in &s.breaches {
            let _ = writeln!(o, "- {b}");
        }
        let _ = writeln!(o);
    }
    for (t, svg) in s.trials.iter().zip(svgs) {
        let _ = writeln!(o, "![trial {}]({svg})", t.trial);
        for n in &t.notes {
            let _ = writeln!(o, "\n> {}", n.replace('\n', "\n> "));
        }
    }
    o
}

fn trial_title(s: &DrillSummary, t: &TrialReport) -> String {
    format!(
        "{} {} trial {}: {} → {}, RTO {} s, lost {}",
        s.component,
        s.fault.name(),
        t.trial,
        t.old_primary,
        t.new_primary.as_deref().unwrap_or("-"),
        secs(t.analysis.rto),
        t.analysis.lost.len()
    )
}

/// Writes one SVG per trial, the Markdown report and the JSON summary; returns the report paths.
pub fn write_files(s: &DrillSummary, out: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(out)?;
    let stem = format!("{}-{}", s.component, s.fault.name());
    // Timelines of an earlier run with more trials would otherwise sit next to this report.
    for e in fs::read_dir(out)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{stem}-trial")) && name.ends_with(".svg") {
            let _ = fs::remove_file(e.path());
        }
    }
    let mut svgs = Vec::new();
    for t in &s.trials {
        let name = format!("{stem}-trial{}.svg", t.trial);
        fs::write(out.join(&name), svg_timeline(&trial_title(s, t), &t.log))?;
        svgs.push(name);
    }
    let md = out.join(format!("{stem}.md"));
    fs::write(&md, markdown(s, &svgs))?;
    let json = out.join(format!("{stem}.json"));
    fs::write(&json, serde_json::to_string_pretty(s)?)?;
    Ok(vec![md, json])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Attempt, analyze};
    use crate::drill::{Fault, finish};
    use crate::settings::LabSettings;
    use crate::topology::Datastore;

    fn sample() -> DrillSummary {
        let attempts = (0..100)
            .map(|i| Attempt {
                seq: i + 1,
                start_us: i * 50_000,
                end_us: i * 50_000 + 10_000,
                outcome: if (40..60).contains(&i) {
                    Outcome::Refused
                } else {
                    Outcome::Ok
                },
                node: None,
            })
            .collect();
        let log = TrialLog {
            attempts,
            fault_us: 2_000_000,
            fault_end_us: None,
            promoted_us: Some(2_900_000),
            read_back: (1..=100).collect(),
        };
        let mut s = DrillSummary {
            component: Datastore::Etcd,
            fault: Fault::KillPrimary,
            settings: vec!["heartbeat_ms=50".into()],
            slo: LabSettings::default().etcd.slo,
            trials: vec![TrialReport {
                trial: 1,
                old_primary: "etcd1".into(),
                new_primary: Some("etcd2".into()),
                analysis: analyze(&log),
                rejoin_s: Some(1.5),
                rejoined: true,
                notes: vec![],
                log,
            }],
            rto_s: None,
            lost_total: 0,
            lost_span_max_s: 0.0,
            breaches: vec![],
            skipped: None,
        };
        finish(&mut s);
        s
    }

    #[test]
    fn table_and_markdown() {
        let s = sample();
        assert!(s.slo_met(), "{:?}", s.breaches);
        let t = summary_table(&s);
        assert!(t.contains("RTO s: min 1.01"), "{t}");
        assert!(t.contains("SLO: met"));
        let md = markdown(&s, &["a.svg".into()]);
        assert!(md.contains("| 1 | etcd1 | etcd2 | 1.01 |"), "{md}");
        assert!(md.contains("![trial 1](a.svg)"));
    }

    #[test]
    fn breach_on_loss_with_zero_rpo() {
        let mut s = sample();
        s.trials[0].log.read_back.retain(|&x| x != 10);
        s.trials[0].analysis = analyze(&s.trials[0].log);
        finish(&mut s);
        assert_eq!(s.lost_total, 1);
        assert!(!s.slo_met());
    }

    #[test]
    fn svg_is_well_formed() {
        let s = sample();
        let svg = svg_timeline("a <b> & c", &s.trials[0].log);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert!(svg.contains(">fault<"));
        assert!(svg.contains("new primary seen"));
        assert_eq!(svg.matches("<rect").count(), 101);
    }
}
