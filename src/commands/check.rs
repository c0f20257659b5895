//! `perfledger check [--goals FILE] [--baseline SEL] [RUN]`: the CI gate.

use std::path::PathBuf;

use crate::analysis::compare::{self, Settings};
use crate::analysis::goals::{self, GoalsFile};
use crate::analysis::selection::{self, Selector};
use crate::cli::CheckArgs;
use crate::error::{Error, Result};
use crate::output::{emit, gate, Format};
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Request {
    pub run: String,
    pub goals: Option<(PathBuf, GoalsFile)>,
    pub baseline: Option<Selector>,
    pub filter: RunFilter,
    pub settings: Settings,
    pub format: Format,
    pub report_url: Option<String>,
}

impl TryFrom<&CheckArgs> for Request {
    type Error = Error;
    fn try_from(a: &CheckArgs) -> Result<Self> {
        if a.goals.is_none() && a.baseline.is_none() {
            return Err(Error::Usage(
                "check needs --goals FILE, --baseline SEL, or both".into(),
            ));
        }
        Ok(Request {
            run: a.run.clone(),
            goals: a
                .goals
                .as_ref()
                .map(|p| Ok::<_, Error>((p.clone(), goals::load(p)?)))
                .transpose()?,
            baseline: a.baseline.as_deref().map(selection::parse).transpose()?,
            filter: (&a.filter).try_into()?,
            settings: (&a.stats).try_into()?,
            format: super::gate_format(a.format),
            report_url: a.report_url.clone(),
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    let run_id = selection::resolve_run(&wh, &r.run, &r.filter)?;
    let results = match &r.goals {
        Some((_, gf)) => goals::evaluate_run(&wh, gf, run_id)?,
        None => Vec::new(),
    };
    let cmp = match &r.baseline {
        Some(sel) => {
            let (base, why) = selection::resolve_why(&wh, sel, &r.filter, &[run_id])?;
            let mut c = compare::compare(&wh, &base, &[run_id], &r.settings)?;
            c.baseline_reason = why;
            Some(c)
        }
        None => None,
    };
    let failed_goals = results
        .iter()
        .filter(|g| g.status == goals::Status::Fail)
        .count();
    let regressions = cmp.as_ref().map_or(0, compare::Comparison::regressions);
    let passed = failed_goals == 0 && regressions == 0;
    let header = wh.run_header(run_id)?;
    let subject = super::subject(
        &header,
        r.goals.as_ref().map(|g| g.0.as_path()),
        r.report_url.as_deref(),
    );
    emit(&gate::render_check(
        &subject,
        passed,
        &results,
        cmp.as_ref(),
        r.format,
    ))?;
    if passed {
        Ok(())
    } else {
        Err(Error::Gate(format!(
            "run {run_id}: {failed_goals} goal(s) failed, {regressions} regression(s)"
        )))
    }
}
