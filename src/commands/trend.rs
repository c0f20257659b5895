//! `perfledger trend METRIC`.

use crate::analysis::trend;
use crate::cli::TrendArgs;
use crate::error::{Error, Result};
use crate::output::{emit, Format};
use crate::stats::changepoint::Params;
use crate::store::Location;
use crate::store::{RunFilter, Warehouse};

pub struct Request {
    pub metric: String,
    pub target: String,
    pub filter: RunFilter,
    pub params: Params,
    pub format: Format,
    /// Points the table lists (the latest, and every change point); `None`: all.
    pub listed: Option<usize>,
}

impl TryFrom<&TrendArgs> for Request {
    type Error = Error;
    fn try_from(a: &TrendArgs) -> Result<Self> {
        if !a.penalty.is_finite() || a.penalty < 0.0 || a.min_size < 2 {
            return Err(Error::Usage(
                "--penalty must be >= 0 and --min-size >= 2".into(),
            ));
        }
        let listed = match a.points.as_str() {
            "all" => None,
            n => Some(n.parse::<usize>().map_err(|_| {
                Error::Usage(format!("--points takes a number or `all`, not '{n}'"))
            })?),
        };
        Ok(Request {
            listed,
            metric: a.metric.clone(),
            target: a.target.clone(),
            filter: (&a.filter).try_into()?,
            params: Params {
                penalty: a.penalty,
                min_size: a.min_size,
                ..Params::default()
            },
            format: super::format(a.format)?,
        })
    }
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let wh = Warehouse::open_read(loc)?;
    // the commits of the points the output lists
    let commits = crate::output::trend::shown(r.format, r.listed)
        .map_or(trend::Commits::All, trend::Commits::Latest);
    let t = trend::analyse(&wh, &r.filter, &r.target, &r.metric, &r.params, commits)?;
    let out = crate::output::trend::render(&t, r.format, r.listed);
    // a million points are 32 MB of columns, no longer needed while the output is written
    drop(t);
    emit(&out)
}
