//! Statistics as small pure functions. Every function rejects NaN and infinite input by
//! returning `None`, and says which method it implements and where it comes from.

pub mod bootstrap;
pub mod changepoint;
pub mod fdr;
pub mod hypothesis;
pub mod rank;
pub mod trend;

/// The values, if all are finite.
pub fn finite(xs: &[f64]) -> Option<&[f64]> {
    xs.iter().all(|x| x.is_finite()).then_some(xs)
}

pub fn mean(xs: &[f64]) -> Option<f64> {
    let xs = finite(xs)?;
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample variance (n - 1 denominator).
pub fn variance(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    (xs.len() >= 2).then(|| xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64)
}

/// Median (mean of the two middle values for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    let xs = finite(xs)?;
    if xs.is_empty() {
        return None;
    }
    Some(median_in_place(&mut xs.to_vec()))
}

/// The median of finite, non-empty `v`, reordering it.
fn median_in_place(v: &mut [f64]) -> f64 {
    // selection, not a sort: O(n), which the change-point search needs on long histories
    let n = v.len();
    let (left, mid, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *mid;
    if n % 2 == 1 {
        upper
    } else {
        let lower = left.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
        (lower + upper) / 2.0
    }
}

/// The `q` quantile by linear interpolation between the order statistics at ranks
/// `(n - 1) q` (Hyndman & Fan's definition 7, numpy's default `linear`); `q` in [0, 1].
pub fn quantile_linear(xs: &[f64], q: f64) -> Option<f64> {
    let xs = finite(xs)?;
    if xs.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// Median absolute deviation scaled to estimate a normal standard deviation (x 1.4826).
pub fn mad_sigma(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    median(&dev).map(|d| d * 1.482_602_218_505_602)
}

/// Rolling median over a centred window of `w` points (shorter at the edges).
pub fn rolling_median(xs: &[f64], w: usize) -> Option<Vec<f64>> {
    finite(xs)?;
    let half = w.max(1) / 2;
    // one buffer for every window: a million windows were a million allocations
    let mut buf = Vec::with_capacity(2 * half + 1);
    Some(
        (0..xs.len())
            .map(|i| {
                buf.clear();
                buf.extend_from_slice(&xs[i.saturating_sub(half)..(i + half + 1).min(xs.len())]);
                median_in_place(&mut buf)
            })
            .collect(),
    )
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn rejects_non_finite() {
        assert_eq!(mean(&[1.0, f64::NAN]), None);
        assert_eq!(median(&[f64::INFINITY]), None);
        assert_eq!(variance(&[1.0]), None);
    }

    #[test]
    fn linear_quantile_is_numpys() {
        // python3 -c "import numpy as np; x=[0.12,0.5,0.31,0.97,0.44,0.08,0.66];
        //   print(float(np.percentile(x,95)), float(np.percentile(x,50)))"
        // numpy 2.4.6: 0.8769999999999998 0.44
        let x = [0.12, 0.5, 0.31, 0.97, 0.44, 0.08, 0.66];
        assert!((quantile_linear(&x, 0.95).unwrap() - 0.877).abs() < 1e-12);
        assert_eq!(quantile_linear(&x, 0.5), Some(0.44));
        assert_eq!(quantile_linear(&x, 1.0), Some(0.97));
        assert_eq!(quantile_linear(&[2.0], 0.95), Some(2.0));
        assert_eq!(quantile_linear(&x, 1.5), None);
        assert_eq!(quantile_linear(&[f64::NAN], 0.5), None);
    }

    #[test]
    fn basics() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(variance(&[1.0, 2.0, 3.0, 4.0]), Some(5.0 / 3.0));
        assert_eq!(
            rolling_median(&[1.0, 100.0, 1.0, 1.0], 3),
            Some(vec![50.5, 1.0, 1.0, 1.0])
        );
    }
}
