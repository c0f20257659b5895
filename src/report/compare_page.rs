//! `report compare --baseline SEL --candidate SEL`: the comparison table with verdicts and
//! the latency distributions of both sides.

use serde::Serialize;

use super::charts::distribution;
use super::{provenance, Card, Cell, Chart, Common, Out, Table};
use crate::analysis::buckets_ms;
use crate::analysis::compare::{Comparison, Verdict};
use crate::error::Result;
use crate::metrics::TOTAL;
use crate::output::gate::comparison_rows;
use crate::store::Warehouse;

#[derive(Serialize)]
pub struct ComparePage {
    #[serde(flatten)]
    pub common: Common,
    pub cards: Vec<Card>,
    pub summary: String,
    pub notes: Vec<String>,
    pub results: Table,
    pub charts: Vec<Chart>,
}

pub fn methods(c: &Comparison) -> Vec<String> {
    let s = &c.settings;
    vec![
        format!("Across runs (baseline >= 3 runs): Welch t-test, or the prediction-interval test for a single candidate run; 95% intervals of the relative change."),
        format!("Histograms (one run a side, per-request data): percentile bootstrap of the quantile ratio ({} resamples, seeded) and Mann-Whitney U p-value.", s.bootstrap_resamples),
        "Error rate: two-proportion z-test on summed failures and requests.".to_string(),
        format!("Threshold (one run a side, no samples): relative change beyond {}%, no p-value.", s.threshold * 100.0),
        format!("False discovery rate: Benjamini-Hochberg across all tests of the comparison, q = {}; minimum practical effect {}%{}.", s.fdr_q, s.min_effect * 100.0,
            if s.min_effect_per_metric.is_empty() { String::new() } else { format!(" (per metric: {:?})", s.min_effect_per_metric) }),
        format!("Absolute floors (a smaller change is never a regression): {:?}. A significant change below a floor is below_min_effect; a non-significant one is unchanged, and its MDE (two-sided 5%, power 80%) says what the test could have seen.", s.min_abs_effect),
        "Tests within single runs (histograms, per-second counts) are widened by the run-to-run noise of the baseline's series (robust CV of its 30 most recent runs, or a prior with fewer than 5): the CV column.".to_string(),
    ]
}

pub fn build(wh: &Warehouse, c: &Comparison, out: &Out) -> Result<ComparePage> {
    let (header, rows) = comparison_rows(c);
    let rows = rows
        .into_iter()
        .map(|r| {
            let n = r.len();
            r.into_iter()
                .enumerate()
                .map(|(i, t)| {
                    if i == n - 1 {
                        Cell::status(&t)
                    } else if (2..=3).contains(&i) {
                        Cell {
                            numeric: true,
                            ..Cell::text(t)
                        }
                    } else {
                        Cell::text(t)
                    }
                })
                .collect()
        })
        .collect();
    let count = |v: Verdict| c.results.iter().filter(|r| r.verdict == v).count();
    let cards = vec![
        Card {
            label: "regressed".into(),
            value: c.regressions().to_string(),
            class: if c.regressions() > 0 {
                "fail".into()
            } else {
                "pass".into()
            },
        },
        Card {
            label: "improved".into(),
            value: count(Verdict::Improved).to_string(),
            class: "improved".into(),
        },
        Card {
            label: "unchanged".into(),
            value: count(Verdict::Unchanged).to_string(),
            class: String::new(),
        },
        Card {
            label: Verdict::BelowMinEffect.as_str().into(),
            value: count(Verdict::BelowMinEffect).to_string(),
            class: "muted".into(),
        },
        Card {
            label: Verdict::InsufficientData.as_str().into(),
            value: count(Verdict::InsufficientData).to_string(),
            class: "muted".into(),
        },
    ];
    let mut charts = Vec::new();
    if let (Some(b), Some(x)) = (
        wh.merged_histogram(&c.baseline_runs, TOTAL)?,
        wh.merged_histogram(&c.candidate_runs, TOTAL)?,
    ) {
        let sets = vec![
            ("baseline".to_string(), buckets_ms(&b)),
            ("candidate".to_string(), buckets_ms(&x)),
        ];
        charts.push(out.chart(
            "compare_cdf",
            "Latency CDF, baseline vs candidate",
            "TOTAL latency of all baseline runs merged vs all candidate runs merged",
            |p| distribution::draw("Latency distribution: baseline vs candidate", &sets, p),
        )?);
    }
    let mut runs = c.baseline_runs.clone();
    runs.extend(&c.candidate_runs);
    Ok(ComparePage {
        common: Common::new("Comparison".into(), format!("baseline runs {:?} vs candidate runs {:?}", c.baseline_runs, c.candidate_runs), methods(c), provenance(wh, &runs)?),
        cards,
        summary: format!("{} tests; a regression is significant after BH adjustment, in the bad direction and at least the minimum effect.", c.results.len()),
        notes: c
            .baseline_reason
            .iter()
            .map(|w| format!("baseline: {w}"))
            .chain(c.notes.iter().cloned())
            .collect(),
        results: Table { header, rows },
        charts,
    })
}
