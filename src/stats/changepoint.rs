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

/// Up to this many values PELT considers every split; longer series use a grid.
const EXACT_MAX: usize = 2000;

/// PELT on squared-error cost (already scaled to unit noise). Returns segment starts > 0.
///
/// PELT's pruning keeps almost every candidate in a long series without change, which makes
/// it quadratic there (5e9 cost evaluations for 100,000 runs). Longer series than
/// `EXACT_MAX` are segmented with changes allowed only every `ceil(n / 1000)` values (costs
/// still from every value), then each change moves to its best split within one grid step.
pub fn pelt(y: &[f64], penalty: f64, min_size: usize) -> Vec<usize> {
    let n = y.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    let grid = if n > EXACT_MAX { n.div_ceil(1000) } else { 1 };
    let positions: Vec<usize> = (0..n).step_by(grid).chain(std::iter::once(n)).collect();
    let cost = Cost::new(y);
    let cps = pelt_positions(&cost, &positions, penalty, min_size);
    if grid == 1 {
        cps
    } else {
        let moved = refine(&cost, &cps, n, min_size, grid);
        let kept = drop_unpaid(&cost, &moved, n, penalty);
        refine(&cost, &kept, n, min_size, grid)
    }
}

/// Squared error around the mean of y[s..t], from prefix sums.
struct Cost {
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl Cost {
    fn new(y: &[f64]) -> Self {
        let (s1, s2) = prefix_sums(y);
        Cost { s1, s2 }
    }

    fn of(&self, s: usize, t: usize) -> f64 {
        let len = (t - s) as f64;
        let sum = self.s1[t] - self.s1[s];
        (self.s2[t] - self.s2[s]) - sum * sum / len
    }
}

/// PELT with changes allowed at `pos` (ascending, from 0 to n).
fn pelt_positions(cost: &Cost, pos: &[usize], penalty: f64, min_size: usize) -> Vec<usize> {
    let m = pos.len();
    let mut f = vec![f64::INFINITY; m];
    let mut last = vec![0usize; m];
    f[0] = -penalty;
    let mut candidates: Vec<usize> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut next = 0;
    for j in 1..m {
        while next < j && pos[j] - pos[next] >= min_size {
            candidates.push(next);
            next += 1;
        }
        values.clear();
        let mut best = (f64::INFINITY, 0usize);
        for &s in &candidates {
            let v = if f[s].is_finite() {
                f[s] + cost.of(pos[s], pos[j]) + penalty
            } else {
                f64::INFINITY
            };
            values.push(v);
            if v < best.0 {
                best = (v, s);
            }
        }
        f[j] = best.0;
        last[j] = best.1;
        let mut k = 0;
        candidates.retain(|_| {
            let v = values[k];
            k += 1;
            v - penalty <= f[j] || !v.is_finite()
        });
    }
    let mut cps = Vec::new();
    let mut j = m - 1;
    while j > 0 {
        let s = last[j];
        if s > 0 {
            cps.push(pos[s]);
        }
        j = s;
    }
    cps.reverse();
    cps
}

/// Drops changes that do not pay their penalty once their neighbours are fixed: a change off
/// the grid can make PELT add a short extra segment to reach it.
fn drop_unpaid(cost: &Cost, cps: &[usize], n: usize, penalty: f64) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(cps.len());
    for (k, &cp) in cps.iter().enumerate() {
        let prev = out.last().copied().unwrap_or(0);
        let next = cps.get(k + 1).copied().unwrap_or(n);
        if cost.of(prev, cp) + cost.of(cp, next) + penalty < cost.of(prev, next) {
            out.push(cp);
        }
    }
    out
}

/// Moves each change to the best split between its neighbours within `reach` of where it is.
fn refine(cost: &Cost, cps: &[usize], n: usize, min_size: usize, reach: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(cps.len());
    for (k, &cp) in cps.iter().enumerate() {
        let prev = out.last().copied().unwrap_or(0);
        let next = cps.get(k + 1).copied().unwrap_or(n);
        let lo = cp.saturating_sub(reach).max(prev + min_size);
        let hi = (cp + reach).min(next.saturating_sub(min_size));
        let best = (lo..=hi)
            .map(|x| (cost.of(prev, x) + cost.of(x, next), x))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(cp, |(_, x)| x);
        out.push(best);
    }
    out
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
    fn long_series_grid_finds_what_exact_pelt_finds() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut v = Vec::new();
        for (len, level) in [(700, 100.0), (1100, 112.0), (433, 95.0), (900, 130.0)] {
            v.extend(noisy(len, level, 0.05, &mut rng));
        }
        let y: Vec<f64> = v.iter().map(|x| x.ln() / 0.03).collect();
        let penalty = 3.0 * (y.len() as f64).ln();
        let grid = pelt(&y, penalty, 5);
        let every: Vec<usize> = (0..=y.len()).collect();
        let exact = pelt_positions(&Cost::new(&y), &every, penalty, 5);
        assert_eq!(grid, vec![700, 1800, 2233], "grid");
        assert_eq!(grid, exact);
        let found = detect(&v, &Params::default()).unwrap();
        assert_eq!(
            found.iter().map(|c| c.index).collect::<Vec<_>>(),
            vec![700, 1800, 2233]
        );
    }

    #[test]
    fn rejects_nan() {
        assert_eq!(detect(&[1.0, f64::NAN], &Params::default()), None);
    }
}
