//! `perfledger compare --baseline SEL --candidate SEL`.

use crate::analysis::compare::{self, Settings};
use crate::analysis::selection::{self, Selector};
use crate::cli::{CompareArgs, StatArgs};
use crate::error::{Error, Result};
use crate::output::{emit, gate, Format};
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Request {
    pub baseline: Selector,
    pub candidate: Selector,
    pub filter: RunFilter,
    pub settings: Settings,
    pub format: Format,
}

impl TryFrom<&StatArgs> for Settings {
    type Error = Error;
    fn try_from(a: &StatArgs) -> Result<Self> {
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
            let v: f64 = v.parse().map_err(|_| {
                Error::Usage(format!("--min-effect-for '{m}': '{v}' is not a number"))
            })?;
            s.min_effect_per_metric
                .insert(k.to_string(), frac("--min-effect-for", v)?);
        }
        for m in &a.min_abs_effect {
            let (k, v) = m.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--min-abs-effect '{m}': expected METRIC=VALUE, e.g. latency=0.5ms"
                ))
            })?;
            if v.trim() == "none" {
                s.min_abs_effect.remove(k.trim());
                continue;
            }
            let num = v.trim().trim_end_matches("ms");
            let v: f64 = num
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "--min-abs-effect '{m}': '{v}' is not a non-negative number"
                    ))
                })?;
            s.min_abs_effect.insert(k.trim().to_string(), v);
        }
        if !a.metrics.is_empty() {
            s.metrics = a.metrics.clone();
        }
        if !a.targets.is_empty() {
            s.targets = Some(a.targets.clone());
        }
        Ok(s)
    }
}

impl TryFrom<&CompareArgs> for Request {
    type Error = Error;
    fn try_from(a: &CompareArgs) -> Result<Self> {
        Ok(Request {
            baseline: selection::parse(&a.baseline)?,
            candidate: selection::parse(&a.candidate)?,
            filter: (&a.filter).try_into()?,
            settings: (&a.stats).try_into()?,
            format: super::gate_format(a.format),
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    let (base, cand, why) = selection::resolve_pair(&wh, &r.filter, &r.baseline, &r.candidate)?;
    let mut c = compare::compare(&wh, &base, &cand, &r.settings)?;
    c.baseline_reason = why;
    let header = match cand.first() {
        Some(id) if r.format.gate_only() => Some(wh.run_header(*id)?),
        _ => None,
    };
    let subject = header.as_ref().map(|h| super::subject(h, None, None));
    emit(&gate::render_comparison(&c, subject.as_ref(), r.format))?;
    if c.regressions() > 0 {
        return Err(Error::Gate(format!(
            "{} regression(s) found",
            c.regressions()
        )));
    }
    Ok(())
}
