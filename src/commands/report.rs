//! `perfledger report run|compare|monthly|quarterly`.

use std::path::PathBuf;

use crate::analysis::compare::{self, Settings};
use crate::analysis::goals::{self, GoalsFile};
use crate::analysis::selection::{self, Selector};
use crate::cli::{ReportCmd, ReportOut};
use crate::error::{Error, Result};
use crate::output::wrote;
use crate::report::{compare_page, period_page, run_page, Out};
use crate::stats::changepoint::Params;
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Dest {
    pub dir: PathBuf,
    pub self_contained: bool,
    pub goals: Option<GoalsFile>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one request per process; boxing would only obscure it"
)]
pub enum Page {
    Run(String),
    Compare {
        baseline: Selector,
        candidate: Selector,
        filter: RunFilter,
        settings: Settings,
    },
    Period {
        spec: String,
        quarterly: bool,
        baseline: Option<String>,
    },
}

pub struct Request {
    pub page: Page,
    pub dest: Dest,
}

impl TryFrom<&ReportOut> for Dest {
    type Error = Error;
    fn try_from(o: &ReportOut) -> Result<Self> {
        Ok(Dest {
            dir: o.out.clone(),
            self_contained: o.self_contained,
            goals: o.goals.as_ref().map(|p| goals::load(p)).transpose()?,
        })
    }
}

impl TryFrom<&ReportCmd> for Request {
    type Error = Error;
    fn try_from(c: &ReportCmd) -> Result<Self> {
        let (page, out) = match c {
            ReportCmd::Run { run, out } => (Page::Run(run.clone()), out),
            ReportCmd::Compare {
                baseline,
                candidate,
                filter,
                stats,
                out,
            } => (
                Page::Compare {
                    baseline: selection::parse(baseline)?,
                    candidate: selection::parse(candidate)?,
                    filter: filter.try_into()?,
                    settings: stats.try_into()?,
                },
                out,
            ),
            ReportCmd::Monthly {
                month,
                baseline,
                out,
            } => (
                Page::Period {
                    spec: month.clone(),
                    quarterly: false,
                    baseline: baseline.clone(),
                },
                out,
            ),
            ReportCmd::Quarterly {
                quarter,
                baseline,
                out,
            } => (
                Page::Period {
                    spec: quarter.clone(),
                    quarterly: true,
                    baseline: baseline.clone(),
                },
                out,
            ),
        };
        if let Page::Period { spec, .. } = &page {
            period_page::period(spec)?;
        }
        Ok(Request {
            page,
            dest: out.try_into()?,
        })
    }
}

/// Writes the report and says where its index.html is.
pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let path = write(loc, r)?;
    wrote("report", &path)
}

fn write(loc: &Location, r: &Request) -> Result<PathBuf> {
    let wh = Warehouse::open_read(loc)?;
    let o = Out::new(&r.dest.dir, r.dest.self_contained)?;
    match &r.page {
        Page::Run(run) => {
            let id = selection::resolve_run(&wh, run, &RunFilter::default())?;
            let page = run_page::build(&wh, id, r.dest.goals.as_ref(), &o)?;
            o.write_page("run.html", &page)
        }
        Page::Compare {
            baseline,
            candidate,
            filter,
            settings,
        } => {
            let (base, cand, why) = selection::resolve_pair(&wh, filter, baseline, candidate)?;
            let mut c = compare::compare(&wh, &base, &cand, settings)?;
            c.baseline_reason = why;
            o.write_page("compare.html", &compare_page::build(&wh, &c, &o)?)
        }
        Page::Period {
            spec,
            quarterly,
            baseline,
        } => {
            let opts = period_page::Options {
                spec,
                quarterly: *quarterly,
                goals: r.dest.goals.as_ref(),
                baseline: baseline.clone(),
                params: Params::default(),
                max_series: 50,
            };
            o.write_page("period.html", &period_page::build(&wh, &opts, &o)?)
        }
    }
}
