//! `perfledger report run|compare|monthly|quarterly`.

use std::path::PathBuf;

use super::select::{resolve_run, RunFilter};
use crate::analysis::{compare, goals};
use crate::cli::ReportCmd;
use crate::db::Warehouse;
use crate::error::Result;
use crate::report::{compare_page, period_page, run_page, Out};
use crate::stats::changepoint::Params;

/// Writes the report and returns the path of its index.html.
pub fn run(db: &std::path::Path, cmd: &ReportCmd) -> Result<PathBuf> {
    let wh = Warehouse::open_ro(db)?;
    match cmd {
        ReportCmd::Run { run, out } => {
            let o = Out::new(&out.out, out.self_contained)?;
            let id = resolve_run(&wh, run)?;
            let page = run_page::build(&wh, id, out.goals.as_ref(), &o)?;
            o.write_page("run.html", &page)
        }
        ReportCmd::Compare {
            baseline,
            candidate,
            filter,
            stats,
            out,
        } => {
            let o = Out::new(&out.out, out.self_contained)?;
            let (base, cand) = super::compare::resolve_pair(
                &wh,
                &RunFilter::try_from(filter)?,
                baseline,
                candidate,
            )?;
            let c = compare::compare(&wh, &base, &cand, &super::compare::settings(stats)?)?;
            o.write_page("compare.html", &compare_page::build(&wh, &c, &o)?)
        }
        ReportCmd::Monthly {
            month,
            baseline,
            out,
        } => period(&wh, month, false, baseline.clone(), out),
        ReportCmd::Quarterly {
            quarter,
            baseline,
            out,
        } => period(&wh, quarter, true, baseline.clone(), out),
    }
}

fn period(
    wh: &Warehouse,
    spec: &str,
    quarterly: bool,
    baseline: Option<String>,
    out: &crate::cli::ReportOut,
) -> Result<PathBuf> {
    let o = Out::new(&out.out, out.self_contained)?;
    let gf = out.goals.as_ref().map(|p| goals::load(p)).transpose()?;
    let opts = period_page::Options {
        spec,
        quarterly,
        goals: gf.as_ref(),
        baseline,
        params: Params::default(),
        max_series: 50,
    };
    o.write_page("period.html", &period_page::build(wh, &opts, &o)?)
}
