//! `perfledger check [--goals FILE] [--baseline SEL] [RUN]`: the CI gate.

use super::select::{resolve_run, RunFilter};
use crate::analysis::goals::{self, Status};
use crate::analysis::{compare, selector};
use crate::cli::CheckArgs;
use crate::db::{parse_ts, Warehouse};
use crate::error::{Error, Result};

pub fn run(db: &std::path::Path, a: &CheckArgs) -> Result<()> {
    if a.goals.is_none() && a.baseline.is_none() {
        return Err(Error::Usage(
            "check needs --goals FILE, --baseline SEL, or both".into(),
        ));
    }
    let wh = Warehouse::open_ro(db)?;
    let filter = RunFilter::try_from(&a.filter)?;
    let run_id = if a.run == "latest" {
        *selector::resolve(&wh, &selector::parse("latest")?, &filter, &[])?
            .first()
            .expect("resolve returns at least one")
    } else {
        resolve_run(&wh, &a.run)?
    };
    let (tool, scenario, started): (String, Option<String>, Option<String>) = wh
        .conn
        .query_row("SELECT tool, scenario, strftime(started_at, '%Y-%m-%d %H:%M:%S') FROM run WHERE id = ?", [run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| Error::Data(e.to_string()))?;
    let at = started
        .as_deref()
        .and_then(|s| parse_ts(&format!("{s}.0")))
        .unwrap_or_else(|| chrono::Utc::now().naive_utc());
    let mut results = Vec::new();
    if let Some(path) = &a.goals {
        let file = goals::load(path)?;
        for g in file
            .goals
            .iter()
            .filter(|g| goals::applies(g, &tool, scenario.as_deref()))
        {
            results.push(goals::evaluate(&wh, run_id, at, g)?);
        }
    }
    let cmp = match &a.baseline {
        Some(sel) => {
            let base = selector::resolve(&wh, &selector::parse(sel)?, &filter, &[run_id])?;
            Some(compare::compare(
                &wh,
                &base,
                &[run_id],
                &super::compare::settings(&a.stats)?,
            )?)
        }
        None => None,
    };
    let failed_goals = results.iter().filter(|g| g.status == Status::Fail).count();
    let regressions = cmp.as_ref().map_or(0, |c| c.regressions());
    let passed = failed_goals == 0 && regressions == 0;
    crate::emit(&super::output::render_check(
        run_id,
        passed,
        &results,
        cmp.as_ref(),
        a.format,
    ))?;
    if passed {
        Ok(())
    } else {
        Err(Error::Gate(format!(
            "run {run_id}: {failed_goals} goal(s) failed, {regressions} regression(s)"
        )))
    }
}
