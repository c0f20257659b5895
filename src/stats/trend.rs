//! Monotonic trend over a series of runs.
//!
//! - Mann-Kendall test (H. B. Mann 1945, M. G. Kendall 1975) in its Kendall's-tau form between
//!   time and value: tau-b with tie correction and the asymptotic normal p-value, as
//!   `scipy.stats.kendalltau(t, y, method='asymptotic')` computes it.
//! - Theil-Sen slope (H. Theil 1950, P. K. Sen 1968): the median of all pairwise slopes, as
//!   `scipy.stats.theilslopes(y, t)[0]`.

use statrs::distribution::{ContinuousCDF, Normal};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    pub tau: f64,
    pub z: f64,
    pub p_value: f64,
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn tie_terms(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let (mut t0, mut t1, mut t2) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < v.len() {
        let j = (i..v.len()).find(|&j| v[j] != v[i]).unwrap_or(v.len());
        let t = (j - i) as f64;
        t0 += t * (t - 1.0) / 2.0;
        t1 += t * (t - 1.0) * (t - 2.0);
        t2 += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }
    (t0, t1, t2)
}

/// Kendall's tau-b between `t` and `y` with its asymptotic two-sided p-value.
pub fn mann_kendall(t: &[f64], y: &[f64]) -> Option<MannKendall> {
    if t.len() != y.len() || t.len() < 3 || t.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let n = t.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += sign(t[j] - t[i]) * sign(y[j] - y[i]);
        }
    }
    let n0 = (n * (n - 1)) as f64 / 2.0;
    let (xt0, xt1, xt2) = tie_terms(t);
    let (yt0, yt1, yt2) = tie_terms(y);
    let denom = ((n0 - xt0) * (n0 - yt0)).sqrt();
    if denom == 0.0 {
        return None;
    }
    let tau = s / denom;
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - xt2 - yt2) / 18.0
        + xt1 * yt1 / (9.0 * nf * (nf - 1.0) * (nf - 2.0))
        + 2.0 * xt0 * yt0 / (nf * (nf - 1.0));
    let z = s / var_s.sqrt();
    let p = (2.0 * Normal::new(0.0, 1.0).ok()?.sf(z.abs())).min(1.0);
    Some(MannKendall { tau, z, p_value: p })
}

/// Median of pairwise slopes (y_j - y_i) / (t_j - t_i) over pairs with t_j != t_i.
pub fn theil_sen(t: &[f64], y: &[f64]) -> Option<f64> {
    if t.len() != y.len() || t.len() < 2 || t.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mut slopes = Vec::with_capacity(t.len() * (t.len() - 1) / 2);
    for i in 0..t.len() {
        for j in i + 1..t.len() {
            if t[j] != t[i] {
                slopes.push((y[j] - y[i]) / (t[j] - t[i]));
            }
        }
    }
    super::median(&slopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: [f64; 10] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    const Y: [f64; 10] = [10.0, 10.4, 10.1, 10.9, 11.3, 11.0, 11.8, 12.1, 12.0, 12.6];

    #[test]
    fn kendall_matches_scipy() {
        // scipy.stats.kendalltau(T, Y, method='asymptotic') -> 0.8666666666666666 0.00048616407497926886
        let r = mann_kendall(&T, &Y).unwrap();
        assert!(
            ((r.tau - 0.8666666666666666) / 0.8666666666666666).abs() < 1e-6,
            "{r:?}"
        );
        assert!(
            ((r.p_value - 0.00048616407497926886) / 0.00048616407497926886).abs() < 1e-6,
            "{r:?}"
        );
        // with ties: Y2 = [10.0, 10.4, 10.4, 10.9, 11.3, 11.0, 11.0, 12.1, 12.0, 12.0]
        // scipy.stats.kendalltau(T, Y2, method='asymptotic') -> 0.7820743005880014 0.002082443580837364
        let y2 = [10.0, 10.4, 10.4, 10.9, 11.3, 11.0, 11.0, 12.1, 12.0, 12.0];
        let r = mann_kendall(&T, &y2).unwrap();
        assert!(
            ((r.tau - 0.7820743005880014) / 0.7820743005880014).abs() < 1e-6,
            "{r:?}"
        );
        assert!(
            ((r.p_value - 0.002082443580837364) / 0.002082443580837364).abs() < 1e-6,
            "{r:?}"
        );
    }

    #[test]
    fn theil_sen_matches_scipy() {
        // scipy.stats.theilslopes(Y, T)[0] -> 0.28888888888888886
        let s = theil_sen(&T, &Y).unwrap();
        assert!(
            ((s - 0.28888888888888886) / 0.28888888888888886).abs() < 1e-6,
            "{s}"
        );
    }
}
