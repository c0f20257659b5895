//! Two-sample location tests on run-level values.
//!
//! - Welch's t-test (B. L. Welch, "The generalization of Student's problem when several
//!   different population variances are involved", Biometrika 1947): unequal variances,
//!   Welch-Satterthwaite degrees of freedom; equals `scipy.stats.ttest_ind(a, b, equal_var=False)`.
//! - Prediction-interval test for one new observation against a sample of n (e.g. Montgomery,
//!   *Introduction to Statistical Quality Control*): t = (x - mean) / (s * sqrt(1 + 1/n)),
//!   n - 1 degrees of freedom. Used when the candidate is a single run.
//! - Wilson score interval for a binomial proportion (E. B. Wilson, JASA 1927).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::{finite, mean, variance};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub df: f64,
    pub p_value: f64,
    /// Difference candidate - baseline and its 95% interval.
    pub diff: f64,
    pub ci: (f64, f64),
}

fn t_quantile(df: f64, p: f64) -> Option<f64> {
    StudentsT::new(0.0, 1.0, df).ok().map(|t| t.inverse_cdf(p))
}

fn two_sided_t(t: f64, df: f64) -> Option<f64> {
    let d = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * d.cdf(-t.abs())).min(1.0))
}

/// Welch's t-test of candidate against baseline. Needs two values on each side.
pub fn welch(baseline: &[f64], candidate: &[f64]) -> Option<TestResult> {
    let (b, c) = (finite(baseline)?, finite(candidate)?);
    if b.len() < 2 || c.len() < 2 {
        return None;
    }
    let (mb, mc) = (mean(b)?, mean(c)?);
    let (vb, vc) = (variance(b)? / b.len() as f64, variance(c)? / c.len() as f64);
    let se = (vb + vc).sqrt();
    let diff = mc - mb;
    if se == 0.0 {
        return Some(TestResult {
            statistic: 0.0,
            df: f64::INFINITY,
            p_value: if diff == 0.0 { 1.0 } else { 0.0 },
            diff,
            ci: (diff, diff),
        });
    }
    let df =
        (vb + vc).powi(2) / (vb.powi(2) / (b.len() - 1) as f64 + vc.powi(2) / (c.len() - 1) as f64);
    let t = diff / se;
    let q = t_quantile(df, 0.975)?;
    Some(TestResult {
        statistic: t,
        df,
        p_value: two_sided_t(t, df)?,
        diff,
        ci: (diff - q * se, diff + q * se),
    })
}

/// One new value against a baseline sample (n >= 3 so that s has some footing).
pub fn prediction(baseline: &[f64], x: f64) -> Option<TestResult> {
    let b = finite(baseline)?;
    if b.len() < 3 || !x.is_finite() {
        return None;
    }
    let n = b.len() as f64;
    let (m, s) = (mean(b)?, variance(b)?.sqrt());
    let se = s * (1.0 + 1.0 / n).sqrt();
    let diff = x - m;
    if se == 0.0 {
        return Some(TestResult {
            statistic: 0.0,
            df: n - 1.0,
            p_value: if diff == 0.0 { 1.0 } else { 0.0 },
            diff,
            ci: (diff, diff),
        });
    }
    let t = diff / se;
    let q = t_quantile(n - 1.0, 0.975)?;
    Some(TestResult {
        statistic: t,
        df: n - 1.0,
        p_value: two_sided_t(t, n - 1.0)?,
        diff,
        ci: (diff - q * se, diff + q * se),
    })
}

/// Wilson score interval for `successes` out of `n` at confidence 1 - alpha.
pub fn wilson(successes: f64, n: f64, alpha: f64) -> Option<(f64, f64)> {
    if !(successes.is_finite() && n.is_finite() && alpha.is_finite())
        || n <= 0.0
        || successes < 0.0
        || successes > n
    {
        return None;
    }
    let z = Normal::new(0.0, 1.0).ok()?.inverse_cdf(1.0 - alpha / 2.0);
    let p = successes / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Two-proportion z-test (pooled variance), two-sided: failures `fb` of `nb` vs `fc` of `nc`.
pub fn two_proportion(fb: f64, nb: f64, fc: f64, nc: f64) -> Option<f64> {
    if [fb, nb, fc, nc].iter().any(|v| !v.is_finite() || *v < 0.0)
        || nb <= 0.0
        || nc <= 0.0
        || fb > nb
        || fc > nc
    {
        return None;
    }
    let pooled = (fb + fc) / (nb + nc);
    let se = (pooled * (1.0 - pooled) * (1.0 / nb + 1.0 / nc)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (fc / nc - fb / nb) / se;
    Some((2.0 * Normal::new(0.0, 1.0).ok()?.sf(z.abs())).min(1.0))
}

#[cfg(test)]
mod reference {
    //! Reference values computed with scipy 1.18.1 / numpy 2.5; each test quotes its call.
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-6
    }

    #[test]
    fn welch_matches_scipy() {
        // r = scipy.stats.ttest_ind([11.0, 11.4, 10.9, 11.6], [10.1, 10.4, 9.8, 10.0, 10.3], equal_var=False)
        // r.statistic, r.pvalue, r.df -> 5.617635533734569 0.002009402780391455 5.331957946419028
        // r.confidence_interval(0.95) -> (0.6086848663621749, 1.601315133637826)
        let r = welch(&[10.1, 10.4, 9.8, 10.0, 10.3], &[11.0, 11.4, 10.9, 11.6]).unwrap();
        assert!(close(r.statistic, 5.617635533734569), "{r:?}");
        assert!(close(r.p_value, 0.002009402780391455), "{r:?}");
        assert!(close(r.df, 5.331957946419028), "{r:?}");
        assert!(
            close(r.ci.0, 0.6086848663621749) && close(r.ci.1, 1.601315133637826),
            "{r:?}"
        );
    }

    #[test]
    fn prediction_matches_scipy() {
        // b = [20.1, 19.8, 20.5, 20.0, 19.9, 20.3]; x = 21.2; n = 6; m = np.mean(b); s = np.std(b, ddof=1)
        // t = (x - m) / (s * np.sqrt(1 + 1/n)); 2 * scipy.stats.t.sf(abs(t), n - 1)
        //   -> 3.9053938137319846 0.011347474433226142
        // q = scipy.stats.t.ppf(0.975, n - 1); x - m -+ q * s * np.sqrt(1 + 1/n)
        //   -> 0.37596545852622654 1.824034541473769
        let r = prediction(&[20.1, 19.8, 20.5, 20.0, 19.9, 20.3], 21.2).unwrap();
        assert!(close(r.statistic, 3.9053938137319846), "{r:?}");
        assert!(close(r.p_value, 0.011347474433226142), "{r:?}");
        assert!(
            close(r.ci.0, 0.37596545852622654) && close(r.ci.1, 1.824034541473769),
            "{r:?}"
        );
    }

    #[test]
    fn two_proportion_matches_scipy_formula() {
        // p = (12 + 30) / (4000 + 4100); se = sqrt(p * (1 - p) * (1/4000 + 1/4100))
        // z = (30/4100 - 12/4000) / se; 2 * scipy.stats.norm.sf(abs(z)) -> 0.006837063105904464
        let p = two_proportion(12.0, 4000.0, 30.0, 4100.0).unwrap();
        assert!(
            ((p - 0.006837063105904464) / 0.006837063105904464).abs() < 1e-6,
            "{p}"
        );
    }

    #[test]
    fn wilson_matches_scipy() {
        // scipy.stats.binomtest(3, 1000).proportion_ci(confidence_level=0.95, method='wilson')
        // -> (0.0010207838811386186, 0.008783014053503173)
        let (lo, hi) = wilson(3.0, 1000.0, 0.05).unwrap();
        assert!(
            close(lo, 0.0010207838811386186) && close(hi, 0.008783014053503173),
            "{lo} {hi}"
        );
        assert_eq!(wilson(f64::NAN, 10.0, 0.05), None);
        assert_eq!(wilson(11.0, 10.0, 0.05), None);
    }
}
