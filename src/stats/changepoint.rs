//! Change points in a benchmark history: PELT (R. Killick, P. Fearnhead, I. A. Eckley,
//! "Optimal detection of changepoints with a linear computational cost", JASA 2012) with a
//! Gaussian mean-shift cost on log values, made robust for noisy CI runners:
//!
//! 1. log transform, so a step is a relative change whatever the level;
//! 2. noise sigma from the MAD of first differences / sqrt(2), which steps barely move; when
//!    a fifth or more of the differences are exactly zero (quantised counters, plateaus) the
//!    MAD collapses towards zero, so sigma is then at least 1.4826 x the median absolute
//!    non-zero difference / sqrt(2) (unbiased when a value either repeats or is drawn anew,
//!    and conservative for rounded values);
//! 3. single-run spikes clipped to a rolling median (window 5) +- 3 sigma before segmenting,
//!    and a minimum segment length (default 5 runs), so a spike never makes a change point;
//! 4. candidates: PELT at a low fixed penalty (1 x ln n, in sigma^2 units);
//! 5. backward elimination: while some candidate fails, the weakest is removed and its two
//!    segments merge. A candidate fails when its gain (the cost it saves over merging its
//!    neighbouring segments) is below `penalty` x ln(n) (default 3, a BIC-like choice), when
//!    Welch's t on the clipped log values of its neighbouring segments (what PELT saw) has
//!    p >= `alpha` (default 0.001), when the shift is below `min_shift` (default 2%), or when
//!    over the two segments a straight line explains the values as well as the step, by the
//!    BIC margin of its extra parameter, n ln(SSE_line / SSE_step) > ln n (G. Schwarz, Ann.
//!    Statist. 1978): a slow drift is not a change. Failing tests are removed first, then the
//!    smallest gain. The order of removals does not depend on `penalty`, only where it stops,
//!    so a higher penalty finds a subset of what a lower one finds.
//!
//! `penalty` is the sensitivity knob: lower finds smaller changes, at more false alarms;
//! penalties below 1 act as 1 (the candidates' own penalty).

use super::{hypothesis::welch, mad_sigma, median, rolling_median};

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
    pelt_with(&Cost::new(y), y.len(), penalty, min_size)
}

/// `pelt` on the costs of n values.
fn pelt_with(cost: &Cost, n: usize, penalty: f64, min_size: usize) -> Vec<usize> {
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return Vec::new();
    }
    let grid = if n > EXACT_MAX { n.div_ceil(1000) } else { 1 };
    let positions: Vec<usize> = (0..n).step_by(grid).chain(std::iter::once(n)).collect();
    let cps = pelt_positions(cost, &positions, penalty, min_size);
    if grid == 1 {
        cps
    } else {
        let moved = refine(cost, &cps, n, min_size, grid);
        let kept = drop_unpaid(cost, &moved, n, penalty);
        refine(cost, &kept, n, min_size, grid)
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

/// Noise of log values from their first differences (see the module docs, step 2).
fn noise_sigma(diffs: &[f64]) -> Option<f64> {
    let mad = mad_sigma(diffs)? / std::f64::consts::SQRT_2;
    let zeros = diffs.iter().filter(|d| **d == 0.0).count();
    if 5 * zeros < diffs.len() {
        return Some(mad);
    }
    // differences of a series without change centre on zero: their absolute median (not the
    // MAD around their median, which collapses again when they take two values, +-1 unit)
    let moved: Vec<f64> = diffs
        .iter()
        .filter(|d| **d != 0.0)
        .map(|d| d.abs())
        .collect();
    let mad_moved =
        median(&moved).unwrap_or(0.0) * 1.482_602_218_505_602 / std::f64::consts::SQRT_2;
    Some(mad.max(mad_moved))
}

/// The candidates' own penalty, in units of ln(n).
const CANDIDATE_PENALTY: f64 = 1.0;

/// A kept candidate and how it fares between its current neighbours.
struct Judged {
    gain: f64,
    passes: bool,
    /// The change point as it would be reported, between the current neighbours.
    found: ChangePoint,
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
    let sigma = noise_sigma(&diffs)?.max(1e-4 * scale);
    drop(diffs);
    let med = rolling_median(&y, 5)?;
    let clipped: Vec<f64> = y
        .iter()
        .zip(&med)
        .map(|(v, m)| v.clamp(m - 3.0 * sigma, m + 3.0 * sigma) / sigma)
        .collect();
    // a million values are 8 MB per copy: only the clipped ones are needed from here
    drop((y, med));
    let ln_n = (n as f64).ln();
    let cost = Cost::new(&clipped);
    let mut cps = pelt_with(&cost, n, CANDIDATE_PENALTY * ln_n, p.min_size);
    let threshold = p.penalty * ln_n;
    let judge = |cps: &[usize], k: usize| -> Judged {
        let (prev, cp) = (if k == 0 { 0 } else { cps[k - 1] }, cps[k]);
        let next = cps.get(k + 1).copied().unwrap_or(n);
        let gain = cost.of(prev, next) - cost.of(prev, cp) - cost.of(cp, next);
        let window = &clipped[prev..next];
        let p_value = welch(&clipped[prev..cp], &clipped[cp..next]).map_or(1.0, |r| r.p_value);
        // segments are at least min_size >= 1 long, so both medians exist
        let before = median(&values[prev..cp]).unwrap_or(f64::NAN);
        let after = median(&values[cp..next]).unwrap_or(f64::NAN);
        let rel = if before != 0.0 {
            after / before - 1.0
        } else {
            0.0
        };
        Judged {
            gain,
            passes: p_value < p.alpha
                && rel.abs() >= p.min_shift
                && step_beats_line(window, cp - prev),
            found: ChangePoint {
                index: cp,
                before,
                after,
                relative_change: rel,
                p_value,
            },
        }
    };
    // Only the neighbours of a removed candidate change their verdict: judge them again.
    let mut judged: Vec<Judged> = (0..cps.len()).map(|k| judge(&cps, k)).collect();
    let order = |j: &Judged| (j.passes, j.gain);
    while let Some(k) = judged
        .iter()
        .enumerate()
        .filter(|(_, j)| !j.passes || j.gain < threshold)
        .min_by(|a, b| {
            order(a.1)
                .partial_cmp(&order(b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(k, _)| k)
    {
        cps.remove(k);
        judged.remove(k);
        for i in [k.wrapping_sub(1), k] {
            if i < cps.len() {
                judged[i] = judge(&cps, i);
            }
        }
    }
    // every candidate left passes, judged between the neighbours it has now
    let out = judged.into_iter().map(|j| j.found).collect();
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

    /// Gaussian noise (Box-Muller) of relative sd `sd` around `level`.
    fn gauss(n: usize, level: f64, sd: f64, rng: &mut rand::rngs::StdRng) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let (u, v): (f64, f64) = (rng.gen(), rng.gen());
                let z = (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                level * (1.0 + sd * z)
            })
            .collect()
    }

    #[test]
    fn a_spike_after_a_step_does_not_veto_it() {
        // issue 11, defect 5: a 6.5% step at SNR 4.8 with one outlier two runs after it; the
        // post-test used to run on the unclipped values, where the outlier hides the step
        let mut hits = 0;
        for seed in 0..20 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut v = gauss(40, 100.0, 0.065 / 4.8, &mut rng);
            v.extend(gauss(40, 106.5, 0.065 / 4.8, &mut rng));
            v[42] = 400.0;
            let cps = detect(&v, &Params::default()).unwrap();
            hits += usize::from(cps.iter().any(|c| (38..=42).contains(&c.index)));
            assert!(cps.len() <= 1, "seed {seed}: {cps:?}");
        }
        assert!(hits >= 18, "the step found in {hits} of 20 series");
    }

    #[test]
    fn plateaus_do_not_collapse_the_noise_estimate() {
        // issue 11, defect 6: a quantised counter (whole units around 50, noise 0.45 units)
        // that never changes level: half or more of its differences are exactly zero, where
        // the MAD of the differences is 0 and every wiggle looked like a change
        let mut false_changes = 0;
        for seed in 0..20 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(100 + seed);
            let v: Vec<f64> = gauss(200, 50.0, 0.45 / 50.0, &mut rng)
                .iter()
                .map(|x| x.round())
                .collect();
            let logs: Vec<f64> = v.iter().map(|x| x.ln()).collect();
            let diffs: Vec<f64> = logs.windows(2).map(|w| w[1] - w[0]).collect();
            let zeros = diffs.iter().filter(|d| **d == 0.0).count();
            assert!(
                zeros * 5 >= diffs.len() * 2,
                "seed {seed}: {zeros} zero differences"
            );
            assert!(noise_sigma(&diffs).unwrap() > 0.005, "seed {seed}");
            false_changes += detect(&v, &Params::default()).unwrap().len();
        }
        assert_eq!(false_changes, 0);
    }

    proptest::proptest! {
        /// issue 11, defect 4: a lower penalty finds at least what a higher one finds.
        #[test]
        fn lower_penalty_finds_a_superset(seed in 0u64..10_000, steps in 0usize..4, lo in 0.5f64..4.0, factor in 1.0f64..4.0) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut v = Vec::new();
            let mut level = 100.0;
            for _ in 0..=steps {
                let len = rng.gen_range(6..40);
                v.extend(gauss(len, level, 0.04, &mut rng));
                level *= 1.0 + rng.gen_range(-0.12..0.12);
            }
            let at = |penalty: f64| -> Vec<usize> {
                detect(&v, &Params { penalty, ..Params::default() })
                    .unwrap()
                    .iter()
                    .map(|c| c.index)
                    .collect()
            };
            let (low, high) = (at(lo), at(lo * factor));
            proptest::prop_assert!(high.iter().all(|i| low.contains(i)), "penalty {} found {:?}, {} found {:?}", lo, low, lo * factor, high);
        }
    }

    #[test]
    fn rejects_nan() {
        assert_eq!(detect(&[1.0, f64::NAN], &Params::default()), None);
    }
}
