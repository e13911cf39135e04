//! The `--svg` chart: one bar per component and per journey on a "nines" scale
//! (-log10 of the unavailability), the target as a tick. Hand-written SVG, no fonts embedded.

use std::fmt::Write as _;

use super::{Report, fmt_percent, math};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Availability as nines, for the bar length (1 = 90 %, 3 = 99.9 %).
fn target_nines(percent: f64) -> f64 {
    math::nines(percent / 100.0)
}

pub fn chart(r: &Report) -> String {
    let rows: Vec<(String, f64, Option<f64>, bool)> = r
        .components
        .iter()
        .map(|c| {
            (
                c.component.name().to_string(),
                c.availability,
                Some(c.target_percent),
                c.met,
            )
        })
        .chain(
            r.journeys
                .iter()
                .map(|j| (format!("journey: {}", j.name), j.availability, None, true)),
        )
        .collect();
    let max_nines = rows
        .iter()
        .map(|(_, a, t, _)| math::nines(*a).max(t.map_or(0.0, target_nines)))
        .fold(5.0_f64, f64::max)
        .ceil()
        .min(12.0);
    let (left, right, top, row_h) = (170.0_f64, 150.0_f64, 50.0_f64, 24.0_f64);
    let plot_w = 560.0_f64;
    let w = left + plot_w + right;
    let h = top + row_h * rows.len() as f64 + 50.0;
    let x = |n: f64| left + plot_w * (n.clamp(0.0, max_nines) / max_nines);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        o,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="22" font-size="14" font-weight="bold">Modelled availability (nines: 2 = 99 %, 3 = 99.9 %, 4 = 99.99 %); tick = target</text>"#
    );
    for n in 0..=(max_nines as u32) {
        let xn = x(f64::from(n));
        let _ = writeln!(
            o,
            r##"<line x1="{xn:.1}" y1="{:.1}" x2="{xn:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xn:.1}" y="{:.1}" text-anchor="middle" fill="#555">{n}</text>"##,
            top - 6.0,
            top + row_h * rows.len() as f64,
            top + row_h * rows.len() as f64 + 16.0
        );
    }
    for (i, (label, a, target, met)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let colour = if label.starts_with("journey") {
            "#4a6fa5"
        } else if *met {
            "#3a9a5b"
        } else {
            "#c0392b"
        };
        let bar = x(math::nines(*a)) - left;
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
            left - 8.0,
            y + row_h * 0.65,
            esc(label),
            y + 4.0,
            row_h - 8.0,
            esc(label),
            esc(&fmt_percent(*a)),
            left + plot_w + 8.0,
            y + row_h * 0.65,
            esc(&fmt_percent(*a)),
        );
        if let Some(t) = target {
            let xt = x(target_nines(*t));
            let _ = writeln!(
                o,
                r##"<line x1="{xt:.1}" y1="{:.1}" x2="{xt:.1}" y2="{:.1}" stroke="#000" stroke-width="2"><title>target {t} %</title></line>"##,
                y + 1.0,
                y + row_h - 1.0
            );
        }
    }
    o.push_str("</svg>\n");
    o
}
