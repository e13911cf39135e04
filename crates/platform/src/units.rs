//! Kubernetes quantities and human durations, parsed strictly.
//!
//! We parse rather than pass strings through because the API server rejects a bad quantity only
//! at apply time, phases into a deploy; and because preflight sums requests across the spec.

use std::time::Duration;

/// A Kubernetes resource quantity in canonical base units (bytes, cores).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(pub f64);

pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let expected = || {
        format!(
            "`{s}` is not a Kubernetes quantity (expected a number with an optional suffix such as 500m, 2, 512Mi, 100Gi)"
        )
    };
    let (num, mult) = SUFFIXES
        .iter()
        .find_map(|(suf, m)| s.strip_suffix(suf).map(|n| (n, *m)))
        .unwrap_or((s, 1.0));
    let valid_number = !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().filter(|c| *c == '.').count() <= 1
        && num != ".";
    if !valid_number {
        return Err(expected());
    }
    num.parse::<f64>()
        .map(|n| Quantity(n * mult))
        .map_err(|_| expected())
}

/// Durations written as `500ms`, `30s`, `5m`, `6h`, `30d` or a combination like `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("`{s}` is not a duration (expected e.g. 500ms, 30s, 5m, 6h, 7d)");
    if s.is_empty() {
        return Err(err());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| err())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86_400),
            _ => return Err(err()),
        };
        total += d;
    }
    Ok(total)
}

/// Render a duration the way a human would write it in the spec.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(86_400_000) && ms > 0 {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// RFC 1123 label: what Kubernetes requires of namespace and most object names.
pub fn check_dns1123_label(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a DNS-1123 label (expected at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit)"
        ))
    }
}

/// Longest gap between two runs of a cron schedule that fires every day. Only the minute and
/// hour fields are read; schedules restricted by day, month or weekday (or unreadable ones)
/// give None and the caller assumes a week, so a stopped backup is still caught.
pub fn cron_max_gap(expr: &str) -> Option<Duration> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    if f.len() != 5 || f[2..].iter().any(|x| *x != "*") {
        return None;
    }
    let minutes = cron_field(f[0], 59)?;
    let hours = cron_field(f[1], 23)?;
    let mut times: Vec<u64> = hours
        .iter()
        .flat_map(|h| minutes.iter().map(move |mi| h * 60 + mi))
        .collect();
    times.sort_unstable();
    times.dedup();
    let first = *times.first()?;
    let last = *times.last()?;
    let wrap = first + 24 * 60 - last;
    let gap = times.windows(2).map(|w| w[1] - w[0]).chain([wrap]).max()?;
    Some(Duration::from_secs(gap * 60))
}

fn cron_field(s: &str, max: u64) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, st)) => (r, st.parse::<u64>().ok().filter(|x| *x > 0)?),
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (0, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let v: u64 = range.parse().ok()?;
            // `5/15` means from 5 to the end in steps of 15.
            (v, if item.contains('/') { max } else { v })
        };
        if lo > hi || hi > max {
            return None;
        }
        out.extend((lo..=hi).step_by(usize::try_from(step).ok()?));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), Ok(Quantity(0.5)));
        assert_eq!(parse_quantity("2"), Ok(Quantity(2.0)));
        assert_eq!(parse_quantity("1Gi"), Ok(Quantity(1_073_741_824.0)));
        assert_eq!(parse_quantity("1.5k"), Ok(Quantity(1500.0)));
        for bad in ["", "Gi", "10GB", "1..2", "-1", "ten", "1 Gi", "."] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "30", "s", "5x", "1.5s", "-3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for s in ["30s", "250ms", "7d", "6h", "5m"] {
            assert_eq!(format_duration(parse_duration(s).expect("valid")), s);
        }
    }

    #[test]
    fn dns_labels() {
        assert!(check_dns1123_label("datalyptica-core").is_ok());
        for bad in ["", "Upper", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(check_dns1123_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_gaps() {
        let h = |x: u64| Some(Duration::from_secs(x * 3600));
        assert_eq!(cron_max_gap("0 */6 * * *"), h(6));
        assert_eq!(cron_max_gap("0 1 * * *"), h(24));
        assert_eq!(cron_max_gap("30 * * * *"), h(1));
        assert_eq!(cron_max_gap("0 1,7,19 * * *"), h(12));
        assert_eq!(
            cron_max_gap("*/30 * * * *"),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(cron_max_gap("0 1 * * 0"), None);
        assert_eq!(cron_max_gap("garbage"), None);
        assert_eq!(cron_max_gap("0 25 * * *"), None);
    }
}
