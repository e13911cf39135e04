//! Closed forms of steady-state availability. Pure functions over probabilities in [0, 1].
//!
//! Unavailabilities are computed directly (not as `1 - availability`): with members up
//! 99.99 % of the time, `1 - a` would lose the digits that matter.

/// Fraction of time a repairable unit is up: MTBF / (MTBF + MTTR).
pub fn steady_state(mtbf_s: f64, mttr_s: f64) -> f64 {
    if mtbf_s + mttr_s <= 0.0 {
        return 1.0;
    }
    mtbf_s / (mtbf_s + mttr_s)
}

/// Binomial coefficient C(n, i) as a float (exact for the sizes used here).
pub fn binomial(n: u32, i: u32) -> f64 {
    if i > n {
        return 0.0;
    }
    let i = i.min(n - i);
    (0..i).fold(1.0, |acc, j| acc * f64::from(n - j) / f64::from(j + 1))
}

/// Probability that fewer than `k` of `n` independent members, each down with probability
/// `u`, are up: the unavailability of a k-of-n group.
pub fn k_of_n_unavailability(k: u32, n: u32, u: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return 1.0;
    }
    let a = 1.0 - u;
    // Fewer than k up = i up for i in 0..k.
    (0..k)
        .map(|i| binomial(n, i) * a.powi(i as i32) * u.powi((n - i) as i32))
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

/// Availability of a k-of-n group of identical independent members.
pub fn k_of_n(k: u32, n: u32, a: f64) -> f64 {
    1.0 - k_of_n_unavailability(k, n, 1.0 - a)
}

/// Everything must be up (serial composition).
pub fn series(parts: &[f64]) -> f64 {
    parts.iter().product()
}

/// One of the parts suffices (parallel composition).
pub fn parallel(parts: &[f64]) -> f64 {
    1.0 - parts.iter().map(|a| 1.0 - a).product::<f64>()
}

/// Fraction of time lost to outages of `duration_s` happening `per_year` times a year.
pub fn outage_fraction(per_year: f64, duration_s: f64) -> f64 {
    (per_year * duration_s / SECONDS_PER_YEAR).clamp(0.0, 1.0)
}

/// 365.25 days.
pub const SECONDS_PER_YEAR: f64 = 365.25 * 86_400.0;

/// "Nines": -log10(unavailability), capped for display (an unavailability of 0 is 12 nines).
pub fn nines(availability: f64) -> f64 {
    let u = (1.0 - availability).max(1e-12);
    -u.log10()
}
