//! Mann-Whitney U test (H. B. Mann and D. R. Whitney, Ann. Math. Statist. 1947) on weighted
//! samples, so two latency histograms are compared without expanding them: ties (values in the
//! same histogram bucket) get their average rank and the variance gets the tie correction.
//! Normal approximation with continuity correction, two-sided; equals
//! `scipy.stats.mannwhitneyu(x, y, method='asymptotic')` (statistic = U of x).

use statrs::distribution::{ContinuousCDF, Normal};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    pub u: f64,
    pub z: f64,
    pub p_value: f64,
}

/// `x` and `y` are (value, count) pairs, in any order.
pub fn mann_whitney(x: &[(f64, u64)], y: &[(f64, u64)]) -> Option<MannWhitney> {
    if x.iter().chain(y).any(|(v, _)| !v.is_finite()) {
        return None;
    }
    let n1: f64 = x.iter().map(|(_, c)| *c as f64).sum();
    let n2: f64 = y.iter().map(|(_, c)| *c as f64).sum();
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let mut all: Vec<(f64, f64, bool)> = x
        .iter()
        .map(|(v, c)| (*v, *c as f64, true))
        .chain(y.iter().map(|(v, c)| (*v, *c as f64, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut r1, mut tie_sum, mut next_rank) = (0.0, 0.0, 1.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        let (mut group, mut group_x) = (0.0, 0.0);
        while j < all.len() && all[j].0 == all[i].0 {
            group += all[j].1;
            if all[j].2 {
                group_x += all[j].1;
            }
            j += 1;
        }
        let avg_rank = next_rank + (group - 1.0) / 2.0;
        r1 += avg_rank * group_x;
        tie_sum += group.powi(3) - group;
        next_rank += group;
        i = j;
    }
    let n = n1 + n2;
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let mu = n1 * n2 / 2.0;
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_sum / (n * (n - 1.0)))).sqrt();
    if sigma == 0.0 || !sigma.is_finite() {
        return Some(MannWhitney {
            u: u1,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let u = u1.max(n1 * n2 - u1);
    let z = (u - mu - 0.5) / sigma;
    let p = (2.0 * Normal::new(0.0, 1.0).ok()?.sf(z)).min(1.0);
    Some(MannWhitney {
        u: u1,
        z,
        p_value: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_with_ties() {
        // scipy.stats.mannwhitneyu([1,2,2,3,5,7,7,7], [3,4,5,6,8,8,9], method='asymptotic')
        // -> statistic=15.0, pvalue=0.14510568048514996
        let x = [(1.0, 1), (2.0, 2), (3.0, 1), (5.0, 1), (7.0, 3)];
        let y = [(3.0, 1), (4.0, 1), (5.0, 1), (6.0, 1), (8.0, 2), (9.0, 1)];
        let r = mann_whitney(&x, &y).unwrap();
        assert_eq!(r.u, 15.0);
        assert!(
            ((r.p_value - 0.14510568048514996) / 0.14510568048514996).abs() < 1e-6,
            "{r:?}"
        );
        assert_eq!(mann_whitney(&[(f64::NAN, 1)], &y), None);
    }
}
