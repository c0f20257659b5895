//! Benjamini-Hochberg false discovery rate control (Y. Benjamini and Y. Hochberg, "Controlling
//! the false discovery rate", JRSS B 1995): adjusted p-values p_(i) * m / i, made monotone from
//! the largest down and capped at 1. Equals `scipy.stats.false_discovery_control(p, method='bh')`.

/// BH-adjusted p-values in input order; `None` if any p is not in [0, 1].
pub fn bh_adjust(p: &[f64]) -> Option<Vec<f64>> {
    if p.iter().any(|x| !x.is_finite() || !(0.0..=1.0).contains(x)) {
        return None;
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adj = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        adj[i] = running.min(1.0);
    }
    Some(adj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_scipy() {
        // scipy.stats.false_discovery_control([0.01, 0.04, 0.03, 0.20, 0.001], method='bh')
        // -> [0.025, 0.05, 0.05, 0.2, 0.005]
        let a = bh_adjust(&[0.01, 0.04, 0.03, 0.20, 0.001]).unwrap();
        let want = [0.025, 0.05, 0.05, 0.2, 0.005];
        for (x, w) in a.iter().zip(want) {
            assert!((x - w).abs() < 1e-12, "{a:?}");
        }
        assert_eq!(bh_adjust(&[f64::NAN]), None);
    }

    proptest! {
        // Laws: adjusted >= raw, <= 1, and order-preserving.
        #[test]
        fn bh_laws(p in proptest::collection::vec(0.0f64..=1.0, 1..40)) {
            let a = bh_adjust(&p).unwrap();
            for i in 0..p.len() {
                prop_assert!(a[i] >= p[i] - 1e-15 && a[i] <= 1.0);
                for j in 0..p.len() {
                    if p[i] <= p[j] { prop_assert!(a[i] <= a[j] + 1e-15); }
                }
            }
        }
    }
}
