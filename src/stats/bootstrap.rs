//! Percentile bootstrap (B. Efron, "Bootstrap methods", Ann. Statist. 1979) of the ratio of a
//! statistic (a quantile, or the mean) between two histograms. Each resample draws n values from a histogram's buckets,
//! done exactly as one multinomial draw over the buckets (sequential conditional binomials,
//! rand_distr's BTPE sampler), so a resample costs O(buckets), not O(requests). Seeded: the
//! same inputs give the same interval.

use rand::SeedableRng;
use rand_distr::{Binomial, Distribution};

/// Quantile q of (value, count) pairs sorted by value: the smallest value whose cumulative
/// count reaches ceil(q * n) (HdrHistogram's definition).
pub fn quantile_sorted(pairs: &[(f64, u64)], q: f64) -> Option<f64> {
    let n: u64 = pairs.iter().map(|(_, c)| c).sum();
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let target = ((q * n as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (v, c) in pairs {
        seen += c;
        if seen >= target {
            return Some(*v);
        }
    }
    pairs.last().map(|(v, _)| *v)
}

fn resample(pairs: &[(f64, u64)], n: u64, rng: &mut rand::rngs::StdRng, out: &mut Vec<(f64, u64)>) {
    out.clear();
    let mut left = n;
    let mut mass: f64 = n as f64;
    for (v, c) in pairs {
        if left == 0 {
            break;
        }
        let p = (*c as f64 / mass).clamp(0.0, 1.0);
        let k = if p >= 1.0 {
            left
        } else {
            Binomial::new(left, p).map_or(0, |b| b.sample(rng))
        };
        if k > 0 {
            out.push((*v, k));
        }
        left -= k;
        mass -= *c as f64;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioCi {
    /// candidate quantile / baseline quantile
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

/// 95% (or 1 - alpha) percentile-bootstrap interval of q-quantile(candidate) / q-quantile(baseline).
pub fn quantile_ratio(
    baseline: &[(f64, u64)],
    candidate: &[(f64, u64)],
    q: f64,
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Option<RatioCi> {
    statistic_ratio(
        baseline,
        candidate,
        |h| quantile_sorted(h, q),
        resamples,
        alpha,
        seed,
    )
}

/// The count-weighted mean of (value, count) pairs.
pub fn mean_of(pairs: &[(f64, u64)]) -> Option<f64> {
    let n: u64 = pairs.iter().map(|(_, c)| c).sum();
    (n > 0).then(|| pairs.iter().map(|(v, c)| v * *c as f64).sum::<f64>() / n as f64)
}

/// 95% (or 1 - alpha) percentile-bootstrap interval of mean(candidate) / mean(baseline).
pub fn mean_ratio(
    baseline: &[(f64, u64)],
    candidate: &[(f64, u64)],
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Option<RatioCi> {
    statistic_ratio(baseline, candidate, mean_of, resamples, alpha, seed)
}

/// Percentile-bootstrap interval of stat(candidate) / stat(baseline), each side resampled
/// with its own count.
fn statistic_ratio(
    baseline: &[(f64, u64)],
    candidate: &[(f64, u64)],
    stat: impl Fn(&[(f64, u64)]) -> Option<f64>,
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Option<RatioCi> {
    if baseline
        .iter()
        .chain(candidate)
        .any(|(v, _)| !v.is_finite() || *v <= 0.0)
        || resamples < 100
        || !(0.0..1.0).contains(&alpha)
    {
        return None;
    }
    let mut b = baseline.to_vec();
    let mut c = candidate.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    c.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (nb, nc) = (
        b.iter().map(|x| x.1).sum::<u64>(),
        c.iter().map(|x| x.1).sum::<u64>(),
    );
    let ratio = stat(&c)? / stat(&b)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut rb, mut rc) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            resample(&b, nb, &mut rng, &mut rb);
            resample(&c, nc, &mut rng, &mut rc);
            Some(stat(&rc)? / stat(&rb)?)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let at =
        |p: f64| ratios[((p * (ratios.len() - 1) as f64).round() as usize).min(ratios.len() - 1)];
    Some(RatioCi {
        ratio,
        low: at(alpha / 2.0),
        high: at(1.0 - alpha / 2.0),
    })
}

/// Distribution-free one-sided (1 - alpha) bounds of the q-quantile from order statistics
/// (Conover 1999, section 3.2): lower = X_(l), upper = X_(u) with u = Binomial(n, q).ppf(1 - alpha) + 1
/// and l = Binomial(n, q).ppf(alpha), clamped to [1, n].
pub fn quantile_bounds(pairs: &[(f64, u64)], q: f64, alpha: f64) -> Option<(f64, f64)> {
    use statrs::distribution::{Binomial as Bin, DiscreteCDF};
    if pairs.iter().any(|(v, _)| !v.is_finite())
        || !(0.0..=1.0).contains(&q)
        || !(0.0..0.5).contains(&alpha)
    {
        return None;
    }
    let mut p = pairs.to_vec();
    p.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n: u64 = p.iter().map(|x| x.1).sum();
    if n == 0 {
        return None;
    }
    let b = Bin::new(q, n).ok()?;
    // scipy's ppf: the smallest k with cdf(k) >= p, found by bisection (statrs searches linearly)
    let ppf = |prob: f64| {
        let (mut lo, mut hi) = (0u64, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if b.cdf(mid) >= prob {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let upper_rank = (ppf(1.0 - alpha) + 1).clamp(1, n);
    let lower_rank = ppf(alpha).clamp(1, n);
    let at_rank = |k: u64| {
        let mut seen = 0;
        p.iter()
            .find(|(_, c)| {
                seen += c;
                seen >= k
            })
            .map(|(v, _)| *v)
    };
    Some((at_rank(lower_rank)?, at_rank(upper_rank)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistic_bounds_match_scipy() {
        // n = 1000 values 1..=1000, q = 0.95, alpha = 0.05:
        // scipy.stats.binom(1000, 0.95).ppf(0.95) + 1 -> 962.0 ; scipy.stats.binom(1000, 0.95).ppf(0.05) -> 938.0
        let h: Vec<(f64, u64)> = (1..=1000).map(|i| (i as f64, 1)).collect();
        assert_eq!(quantile_bounds(&h, 0.95, 0.05), Some((938.0, 962.0)));
    }

    #[test]
    fn quantile_definition() {
        let h = [(1.0, 50), (2.0, 45), (10.0, 5)];
        assert_eq!(quantile_sorted(&h, 0.5), Some(1.0));
        assert_eq!(quantile_sorted(&h, 0.95), Some(2.0));
        assert_eq!(quantile_sorted(&h, 0.96), Some(10.0));
    }

    #[test]
    fn identical_histograms_give_an_interval_around_one() {
        let h: Vec<(f64, u64)> = (1..=200).map(|i| (i as f64, 10)).collect();
        let r = quantile_ratio(&h, &h, 0.95, 500, 0.05, 1).unwrap();
        assert_eq!(r.ratio, 1.0);
        assert!(r.low < 1.0 && r.high > 1.0, "{r:?}");
    }

    #[test]
    fn a_20_percent_shift_is_outside_the_interval() {
        let b: Vec<(f64, u64)> = (1..=200).map(|i| (i as f64, 10)).collect();
        let c: Vec<(f64, u64)> = (1..=200).map(|i| (i as f64 * 1.2, 10)).collect();
        let r = quantile_ratio(&b, &c, 0.95, 500, 0.05, 1).unwrap();
        assert!((r.ratio - 1.2).abs() < 0.01 && r.low > 1.1, "{r:?}");
    }
}
