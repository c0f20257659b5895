//! `perfledger compare --baseline SEL --candidate SEL`.

use super::select::RunFilter;
use crate::analysis::compare::{self, Settings};
use crate::analysis::selector;
use crate::cli::{CompareArgs, StatArgs};
use crate::db::Warehouse;
use crate::error::{Error, Result};

pub fn settings(a: &StatArgs) -> Result<Settings> {
    let frac = |name: &str, v: f64| {
        if v.is_finite() && (0.0..=10.0).contains(&v) {
            Ok(v)
        } else {
            Err(Error::Usage(format!(
                "{name} {v}: expected a fraction such as 0.05"
            )))
        }
    };
    let mut s = Settings {
        fdr_q: frac("--fdr-q", a.fdr_q)?,
        min_effect: frac("--min-effect", a.min_effect)?,
        threshold: frac("--threshold", a.threshold)?,
        allow_different_load: a.allow_different_load,
        ..Settings::default()
    };
    for m in &a.min_effect_for {
        let (k, v) = m.split_once('=').ok_or_else(|| {
            Error::Usage(format!("--min-effect-for '{m}': expected METRIC=FRACTION"))
        })?;
        let v: f64 = v
            .parse()
            .map_err(|_| Error::Usage(format!("--min-effect-for '{m}': '{v}' is not a number")))?;
        s.min_effect_per_metric
            .insert(k.to_string(), frac("--min-effect-for", v)?);
    }
    if !a.metrics.is_empty() {
        s.metrics = a.metrics.clone();
    }
    if !a.targets.is_empty() {
        s.targets = Some(a.targets.clone());
    }
    Ok(s)
}

/// Candidate runs first, then the baseline without them.
pub fn resolve_pair(
    wh: &Warehouse,
    filter: &RunFilter,
    baseline: &str,
    candidate: &str,
) -> Result<(Vec<i64>, Vec<i64>)> {
    let cand = selector::resolve(wh, &selector::parse(candidate)?, filter, &[])?;
    let base = selector::resolve(wh, &selector::parse(baseline)?, filter, &cand)?;
    Ok((base, cand))
}

pub fn run(db: &std::path::Path, a: &CompareArgs) -> Result<()> {
    let wh = Warehouse::open_ro(db)?;
    let filter = RunFilter::try_from(&a.filter)?;
    let (base, cand) = resolve_pair(&wh, &filter, &a.baseline, &a.candidate)?;
    let c = compare::compare(&wh, &base, &cand, &settings(&a.stats)?)?;
    crate::emit(&super::output::render_comparison(&c, a.format))?;
    if c.regressions() > 0 {
        return Err(Error::Gate(format!(
            "{} regression(s) found",
            c.regressions()
        )));
    }
    Ok(())
}
