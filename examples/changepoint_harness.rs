//! Change point accuracy harness: `cargo run --release --example changepoint_harness [-- SERIES SEED]`.
//!
//! Generates realistic synthetic benchmark histories (multiplicative noise of 1-15%, single-run
//! spikes that must not count, steps of 2-40%, slow drifts, series with no change), runs
//! perfledger's detector with its default parameters and a binary-segmentation baseline, and
//! prints F1 (margin 5) and segmentation cover as defined by TCPDBench (van den Burg and
//! Williams, "An evaluation of change point detection algorithms", 2020): 0 is added to both
//! the true and the predicted sets, each true point matches at most one prediction.
//!
//! Then the same on real histories (fixtures/cp, capture/capture_aa.sh): wrk runs of
//! capture/server.py whose delay factor the script changed at recorded runs (TRUTH.txt), and a
//! series with no change, read from the wrk report JSON (p50 and p95 latency, throughput).

use perfledger::stats::changepoint::{self, Params};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

struct Series {
    values: Vec<f64>,
    truth: Vec<usize>,
    kind: &'static str,
    min_ratio: f64,
}

fn generate(rng: &mut rand::rngs::StdRng) -> Series {
    let n = rng.gen_range(60..=200);
    let level = 10f64.powf(rng.gen_range(0.5..2.7));
    let noise = (rng.gen_range(0.01f64.ln()..0.15f64.ln())).exp();
    let kind = match rng.gen_range(0..100) {
        0..=24 => "no change",
        25..=39 => "drift",
        40..=84 => "steps",
        _ => "steps+drift",
    };
    let mut truth = Vec::new();
    if kind.starts_with("steps") {
        let k = rng.gen_range(1..=3);
        let mut tries = 0;
        while truth.len() < k {
            let c = rng.gen_range(10..n - 10);
            if truth.iter().all(|t: &usize| t.abs_diff(c) >= 15) {
                truth.push(c);
            }
            tries += 1;
            if tries % 100 == 0 {
                truth.clear(); // the steps placed so far leave no room: start again
            }
        }
        truth.sort();
    }
    let steps: Vec<f64> = truth
        .iter()
        .map(|_| rng.gen_range(0.02..0.40) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 })
        .collect();
    let drift = if kind.contains("drift") {
        rng.gen_range(0.10..0.30) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 }
    } else {
        0.0
    };
    let eps = Normal::new(0.0, 1.0).expect("valid normal");
    let values = (0..n)
        .map(|i| {
            let mut l = level * (1.0 + drift * i as f64 / n as f64);
            for (t, s) in truth.iter().zip(&steps) {
                if i >= *t {
                    l *= 1.0 + s;
                }
            }
            let mut v = l * (noise * eps.sample(rng)).exp();
            if rng.gen_bool(0.03) {
                v *= rng.gen_range(1.5..3.0);
            }
            v
        })
        .collect();
    let min_ratio = steps
        .iter()
        .map(|s| s.abs() / noise)
        .fold(f64::INFINITY, f64::min);
    Series {
        values,
        truth,
        kind,
        min_ratio,
    }
}

fn true_positives(truth: &[usize], pred: &[usize], margin: usize) -> usize {
    let mut left: Vec<usize> = pred.to_vec();
    let mut tp = 0;
    for &t in truth {
        let best = left
            .iter()
            .enumerate()
            .filter(|(_, &x)| x.abs_diff(t) <= margin)
            .min_by_key(|(_, &x)| x.abs_diff(t))
            .map(|(i, _)| i);
        if let Some(i) = best {
            left.remove(i);
            tp += 1;
        }
    }
    tp
}

fn f1(truth: &[usize], pred: &[usize]) -> f64 {
    let t: Vec<usize> = std::iter::once(0).chain(truth.iter().copied()).collect();
    let x: Vec<usize> = std::iter::once(0).chain(pred.iter().copied()).collect();
    let tp = true_positives(&t, &x, 5) as f64;
    let (p, r) = (tp / x.len() as f64, tp / t.len() as f64);
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn segments(cps: &[usize], n: usize) -> Vec<(usize, usize)> {
    let mut b: Vec<usize> = std::iter::once(0)
        .chain(cps.iter().copied().filter(|c| *c > 0 && *c < n))
        .chain(std::iter::once(n))
        .collect();
    b.dedup();
    b.windows(2).map(|w| (w[0], w[1])).collect()
}

fn cover(truth: &[usize], pred: &[usize], n: usize) -> f64 {
    let (s, sp) = (segments(truth, n), segments(pred, n));
    let jaccard = |a: (usize, usize), b: (usize, usize)| {
        let inter = a.1.min(b.1).saturating_sub(a.0.max(b.0)) as f64;
        inter / ((a.1 - a.0) as f64 + (b.1 - b.0) as f64 - inter)
    };
    s.iter()
        .map(|&r| (r.1 - r.0) as f64 * sp.iter().map(|&q| jaccard(r, q)).fold(0.0, f64::max))
        .sum::<f64>()
        / n as f64
}

/// Binary segmentation baseline: L2 cost on data scaled by its overall standard deviation,
/// penalty 3 ln n (MBIC-like), at most 5 changes, minimum segment 2.
fn binseg(values: &[f64]) -> Vec<usize> {
    let n = values.len();
    let m = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64)
        .sqrt()
        .max(1e-12);
    let y: Vec<f64> = values.iter().map(|v| v / sd).collect();
    let (mut s1, mut s2) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    for (i, v) in y.iter().enumerate() {
        s1[i + 1] = s1[i] + v;
        s2[i + 1] = s2[i] + v * v;
    }
    let cost = |a: usize, b: usize| (s2[b] - s2[a]) - (s1[b] - s1[a]).powi(2) / (b - a) as f64;
    let pen = 3.0 * (n as f64).ln();
    let mut cps: Vec<usize> = Vec::new();
    while cps.len() < 5 {
        let mut bounds = vec![0];
        bounds.extend(&cps);
        bounds.push(n);
        let mut best: Option<(f64, usize)> = None;
        for w in bounds.windows(2) {
            for c in w[0] + 2..w[1].saturating_sub(1) {
                let gain = cost(w[0], w[1]) - cost(w[0], c) - cost(c, w[1]);
                if best.is_none_or(|(g, _)| gain > g) {
                    best = Some((gain, c));
                }
            }
        }
        match best {
            Some((g, c)) if g > pen => {
                cps.push(c);
                cps.sort();
            }
            _ => break,
        }
    }
    cps
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2026);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let params = Params::default();
    let series: Vec<Series> = (0..count).map(|_| generate(&mut rng)).collect();
    let mut by_kind: std::collections::BTreeMap<&str, (f64, f64, f64, f64, usize)> =
        Default::default();
    let (mut f, mut c, mut fb, mut cb) = (0.0, 0.0, 0.0, 0.0);
    let mut detectable = (0.0, 0usize);
    for s in &series {
        let pred: Vec<usize> = changepoint::detect(&s.values, &params)
            .expect("finite")
            .iter()
            .map(|c| c.index)
            .collect();
        let base = binseg(&s.values);
        let (pf, pc) = (f1(&s.truth, &pred), cover(&s.truth, &pred, s.values.len()));
        let (bf, bc) = (f1(&s.truth, &base), cover(&s.truth, &base, s.values.len()));
        f += pf;
        c += pc;
        fb += bf;
        cb += bc;
        let e = by_kind.entry(s.kind).or_default();
        *e = (e.0 + pf, e.1 + pc, e.2 + bf, e.3 + bc, e.4 + 1);
        if s.truth.is_empty() || s.min_ratio >= 1.0 {
            detectable.0 += pf;
            detectable.1 += 1;
        }
    }
    let n = count as f64;
    println!(
        "change point accuracy on {count} synthetic histories (seed {seed}), parameters {params:?}"
    );
    println!(
        "{:<28} {:>8} {:>8} {:>12} {:>12}",
        "series", "F1", "cover", "binseg F1", "binseg cover"
    );
    for (k, (pf, pc, bf, bc, m)) in &by_kind {
        let m = *m as f64;
        println!(
            "{:<28} {:>8.3} {:>8.3} {:>12.3} {:>12.3}",
            format!("{k} ({m})"),
            pf / m,
            pc / m,
            bf / m,
            bc / m
        );
    }
    println!(
        "{:<28} {:>8.3} {:>8.3} {:>12.3} {:>12.3}",
        "all",
        f / n,
        c / n,
        fb / n,
        cb / n
    );
    println!(
        "F1 where every step is at least the noise sigma ({} series): {:.3}",
        detectable.1,
        detectable.0 / detectable.1 as f64
    );
    let (false_cps, runs) =
        series
            .iter()
            .filter(|s| s.kind == "no change")
            .fold((0usize, 0usize), |(f, r), s| {
                let found = changepoint::detect(&s.values, &params).map_or(0, |c| c.len());
                (f + found, r + s.values.len())
            });
    println!(
        "false change points on series without change: {false_cps} in {runs} runs ({:.3} per 100 runs)",
        100.0 * false_cps as f64 / runs as f64
    );
    real_histories(&params);
}

/// (series, runs, true change indices, 0-based) of fixtures/cp.
const REAL: [(&str, usize, &[usize]); 3] = [
    ("step", 60, &[20, 40]),
    ("stairs", 60, &[25, 45]),
    ("flat", 40, &[]),
];

fn real_histories(params: &Params) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cp");
    println!("\nreal histories (fixtures/cp, wrk against capture/server.py, factor changed at recorded runs)");
    println!(
        "{:<8} {:<16} {:>6} {:>8} {:>8}  found",
        "series", "metric", "truth", "F1", "cover"
    );
    for (name, n, truth) in REAL {
        let reports: Vec<serde_json::Value> = (1..=n)
            .map(|i| {
                let p = dir.join(format!("wrk_{name}_{i:02}.json"));
                let text = std::fs::read_to_string(&p).expect("fixture exists");
                serde_json::from_str(&text).expect("wrk report JSON")
            })
            .collect();
        let pick = |f: &dyn Fn(&serde_json::Value) -> Option<f64>| -> Vec<f64> {
            reports
                .iter()
                .map(|r| f(r).expect("field present"))
                .collect()
        };
        let metrics: [(&str, Vec<f64>); 3] = [
            (
                "latency_p50_ms",
                pick(&|r| r["latency_us"]["percentiles"]["50"].as_f64()),
            ),
            (
                "latency_p95_ms",
                pick(&|r| r["latency_us"]["percentiles"]["95"].as_f64()),
            ),
            (
                "throughput_rps",
                pick(&|r| Some(r["requests"].as_f64()? / r["duration_us"].as_f64()? * 1e6)),
            ),
        ];
        for (metric, values) in metrics {
            let pred: Vec<usize> = changepoint::detect(&values, params)
                .expect("finite")
                .iter()
                .map(|c| c.index)
                .collect();
            println!(
                "{:<8} {:<16} {:>6} {:>8.3} {:>8.3}  {:?}",
                name,
                metric,
                format!("{:?}", truth.len()),
                f1(truth, &pred),
                cover(truth, &pred, values.len()),
                pred
            );
        }
    }
}
