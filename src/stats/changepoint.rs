//! Change points in a benchmark history: PELT (R. Killick, P. Fearnhead, I. A. Eckley,
//! "Optimal detection of changepoints with a linear computational cost", JASA 2012) with a
//! Gaussian mean-shift cost on log values, made robust for noisy CI runners:
//!
//! 1. log transform, so a step is a relative change whatever the level;
//! 2. noise sigma from the MAD of first differences / sqrt(2), which steps barely move;
//! 3. single-run spikes clipped to a rolling median (window 5) +- 3 sigma before segmenting,
//!    and a minimum segment length (default 5 runs), so a spike never makes a change point;
//! 4. penalty = `penalty` x ln(n) per change (in sigma^2 units; default 3, a BIC-like choice);
//! 5. each change is then tested (Welch's t on the unclipped log values of the neighbouring
//!    segments) and kept only if p < `alpha` (default 0.001) and the shift is at least
//!    `min_shift` (default 2%);
//! 6. a slow drift is not a change: over the two neighbouring segments a step must explain the
//!    values better than a straight line by the BIC margin of its extra parameter,
//!    n ln(SSE_line / SSE_step) > ln n (G. Schwarz, Ann. Statist. 1978).
//!
//! `penalty` is the sensitivity knob: lower finds smaller changes, at more false alarms.

use super::{mad_sigma, median, rolling_median, tests::welch};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Params {
    pub penalty: f64,
    pub min_size: usize,
    pub alpha: f64,
    pub min_shift: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            penalty: 3.0,
            min_size: 5,
            alpha: 0.001,
            min_shift: 0.02,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChangePoint {
    /// Index of the first value of the new segment.
    pub index: usize,
    pub before: f64,
    pub after: f64,
    /// after / before - 1 (segment medians).
    pub relative_change: f64,
    pub p_value: f64,
}

fn prefix_sums(y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut s1 = vec![0.0; y.len() + 1];
    let mut s2 = vec![0.0; y.len() + 1];
    for (i, v) in y.iter().enumerate() {
        s1[i + 1] = s1[i] + v;
        s2[i + 1] = s2[i] + v * v;
    }
    (s1, s2)
}

/// PELT on squared-error cost (already scaled to unit noise). Returns segment starts > 0.
pub fn pelt(y: &[f64], penalty: f64, min_size: usize) -> Vec<usize> {
    let n = y.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    let (s1, s2) = prefix_sums(y);
    let cost = |s: usize, t: usize| {
        let len = (t - s) as f64;
        let sum = s1[t] - s1[s];
        (s2[t] - s2[s]) - sum * sum / len
    };
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    f[0] = -penalty;
    let mut candidates: Vec<usize> = Vec::new();
    for t in min_size..=n {
        candidates.push(t - min_size);
        let mut best = (f64::INFINITY, 0usize);
        let mut values = Vec::with_capacity(candidates.len());
        for &s in &candidates {
            let v = if f[s].is_finite() && (s == 0 || s >= min_size) {
                f[s] + cost(s, t) + penalty
            } else {
                f64::INFINITY
            };
            values.push(v);
            if v < best.0 {
                best = (v, s);
            }
        }
        f[t] = best.0;
        last[t] = best.1;
        let keep: Vec<usize> = candidates
            .iter()
            .zip(&values)
            .filter(|(_, v)| **v - penalty <= f[t] || !v.is_finite())
            .map(|(s, _)| *s)
            .collect();
        candidates = keep;
    }
    let mut cps = Vec::new();
    let mut t = n;
    while t > 0 {
        let s = last[t];
        if s > 0 {
            cps.push(s);
        }
        t = s;
    }
    cps.reverse();
    cps
}

fn sse_mean(y: &[f64]) -> f64 {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    y.iter().map(|v| (v - m).powi(2)).sum()
}

/// Residual sum of squares of the least-squares line through (i, y_i).
fn sse_line(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        sxy += (i as f64 - mx) * (v - my);
        sxx += (i as f64 - mx).powi(2);
    }
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    y.iter()
        .enumerate()
        .map(|(i, v)| (v - my - b * (i as f64 - mx)).powi(2))
        .sum()
}

/// Whether a step at `at` fits `y` better than a line, by the BIC margin of one parameter.
fn step_beats_line(y: &[f64], at: usize) -> bool {
    let n = y.len() as f64;
    let step = (sse_mean(&y[..at]) + sse_mean(&y[at..])).max(1e-12);
    let line = sse_line(y).max(1e-12);
    n * (line / step).ln() > n.ln()
}

/// Change points of a series of positive values (latencies, throughputs...).
pub fn detect(values: &[f64], p: &Params) -> Option<Vec<ChangePoint>> {
    if values.iter().any(|v| !v.is_finite()) || !p.penalty.is_finite() || p.penalty < 0.0 {
        return None;
    }
    let n = values.len();
    if n < 2 * p.min_size {
        return Some(Vec::new());
    }
    let positive = values.iter().all(|v| *v > 0.0);
    let y: Vec<f64> = if positive {
        values.iter().map(|v| v.ln()).collect()
    } else {
        values.to_vec()
    };
    let diffs: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let scale = if positive {
        1.0
    } else {
        median(&y.iter().map(|v| v.abs()).collect::<Vec<_>>())?.max(1e-12)
    };
    let sigma = (mad_sigma(&diffs)? / std::f64::consts::SQRT_2).max(1e-4 * scale);
    let med = rolling_median(&y, 5)?;
    let clipped: Vec<f64> = y
        .iter()
        .zip(&med)
        .map(|(v, m)| v.clamp(m - 3.0 * sigma, m + 3.0 * sigma) / sigma)
        .collect();
    let cps = pelt(&clipped, p.penalty * (n as f64).ln(), p.min_size);
    let mut bounds = vec![0];
    bounds.extend(&cps);
    bounds.push(n);
    let mut out = Vec::new();
    for (k, &cp) in cps.iter().enumerate() {
        let (a, b) = (&y[bounds[k]..cp], &y[cp..bounds[k + 2]]);
        let (Some(before), Some(after)) = (
            median(&values[bounds[k]..cp]),
            median(&values[cp..bounds[k + 2]]),
        ) else {
            continue;
        };
        let rel = if before != 0.0 {
            after / before - 1.0
        } else {
            0.0
        };
        let pval = welch(a, b).map_or(1.0, |r| r.p_value);
        let window = &clipped[bounds[k]..bounds[k + 2]];
        if pval < p.alpha && rel.abs() >= p.min_shift && step_beats_line(window, cp - bounds[k]) {
            out.push(ChangePoint {
                index: cp,
                before,
                after,
                relative_change: rel,
                p_value: pval,
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn noisy(n: usize, level: f64, noise: f64, rng: &mut rand::rngs::StdRng) -> Vec<f64> {
        (0..n)
            .map(|_| level * (1.0 + noise * (rng.gen::<f64>() - 0.5) * 2.0))
            .collect()
    }

    #[test]
    fn finds_a_step_and_ignores_a_spike() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut v = noisy(40, 100.0, 0.03, &mut rng);
        v.extend(noisy(40, 125.0, 0.03, &mut rng));
        v[15] = 300.0; // one noisy run
        let cps = detect(&v, &Params::default()).unwrap();
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert!((38..=42).contains(&cps[0].index), "{cps:?}");
        assert!((cps[0].relative_change - 0.25).abs() < 0.05, "{cps:?}");
    }

    #[test]
    fn flat_noise_has_no_change() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let v = noisy(120, 50.0, 0.10, &mut rng);
        assert!(detect(&v, &Params::default()).unwrap().is_empty());
    }

    #[test]
    fn rejects_nan() {
        assert_eq!(detect(&[1.0, f64::NAN], &Params::default()), None);
    }
}
