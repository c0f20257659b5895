//! `perfledger sync` and `perfledger lake compact|vacuum|rebuild`: the shared lake's index
//! and housekeeping (see `store::lake`).

use crate::cli::{LakeCmd, SyncArgs};
use crate::error::{Error, Result};
use crate::output::lake::{render_compact, render_sync, render_vacuum};
use crate::output::{emit, Format};
use crate::store::lake::{compact, Lake};
use crate::store::{Location, Warehouse};

pub enum Request {
    Sync(Format),
    Compact {
        month: String,
        format: Format,
    },
    Vacuum {
        grace: chrono::Duration,
        dry_run: bool,
        format: Format,
    },
    Rebuild(Format),
    Push(Format),
}

impl TryFrom<&SyncArgs> for Request {
    type Error = Error;
    fn try_from(a: &SyncArgs) -> Result<Self> {
        Ok(Request::Sync(super::format(a.format)?))
    }
}

impl TryFrom<&LakeCmd> for Request {
    type Error = Error;
    fn try_from(c: &LakeCmd) -> Result<Self> {
        Ok(match c {
            LakeCmd::Compact { month, format } => {
                let ok = month == "none"
                    || chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
                        .is_ok()
                        && month.len() == 7;
                if !ok {
                    return Err(Error::Usage(format!(
                        "--month {month}: expected a month such as 2026-11 (or `none`)"
                    )));
                }
                Request::Compact {
                    month: month.clone(),
                    format: super::format(*format)?,
                }
            }
            LakeCmd::Vacuum {
                older_than,
                dry_run,
                format,
            } => Request::Vacuum {
                grace: parse_age(older_than)?,
                dry_run: *dry_run,
                format: super::format(*format)?,
            },
            LakeCmd::Rebuild { format } => Request::Rebuild(super::format(*format)?),
            LakeCmd::Push { format } => Request::Push(super::format(*format)?),
        })
    }
}

/// `30m`, `1h`, `2d`, `90s`, `0s`.
fn parse_age(s: &str) -> Result<chrono::Duration> {
    let bad = || {
        Error::Usage(format!(
            "--older-than {s}: expected an age such as 30m, 1h or 2d"
        ))
    };
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = n.parse().map_err(|_| bad())?;
    match unit {
        "s" => Ok(chrono::Duration::seconds(n)),
        "m" => Ok(chrono::Duration::minutes(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "d" => Ok(chrono::Duration::days(n)),
        _ => Err(bad()),
    }
}

fn lake_url(loc: &Location) -> Result<&str> {
    loc.lake.as_deref().ok_or_else(crate::store::lake::no_lake)
}

pub fn run(loc: &Location, r: &Request) -> Result<()> {
    let url = lake_url(loc)?;
    match r {
        Request::Sync(format) => {
            let mut wh = Warehouse::open_write(loc)?;
            let report = wh.sync()?;
            emit(&render_sync(&report, *format))
        }
        Request::Compact { month, format } => {
            let report = compact::compact(&Lake::open(url)?, month)?;
            emit(&render_compact(&report, *format))
        }
        Request::Vacuum {
            grace,
            dry_run,
            format,
        } => {
            let report = compact::vacuum(&Lake::open(url)?, *grace, *dry_run)?;
            emit(&render_vacuum(&report, *format))
        }
        Request::Push(format) => {
            let mut wh = Warehouse::open_write(loc)?;
            let n = wh.push()?;
            emit(&crate::output::lake::render_push(url, n, *format))
        }
        Request::Rebuild(format) => {
            let report = Warehouse::rebuild(loc)?;
            emit(&render_sync(&report, *format))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages() {
        assert_eq!(parse_age("90m").unwrap(), chrono::Duration::minutes(90));
        assert_eq!(parse_age("0s").unwrap(), chrono::Duration::zero());
        assert!(parse_age("1w").is_err());
        assert!(parse_age("h").is_err());
    }
}
