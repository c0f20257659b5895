//! `report monthly --month YYYY-MM` and `report quarterly --quarter YYYYQn`: goal status against
//! the milestone in force, compliance (quarterly), change points in the period, key series
//! with trend, slope and projection to the next milestone, the database section, provenance.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::charts::{multiples, timeline};
use super::recommend_section;
use super::run_page::goal_table;
use super::{provenance, Card, Cell, Chart, Common, Out, Table};
use crate::analysis::goals::{self, GoalsFile, Status};
use crate::analysis::trend::Commits;
use crate::analysis::{plans, recommend, trend};
use crate::error::{Error, Result};
use crate::grid::{fmt_float, Datum, Grid};
use crate::metrics::{self, direction, TOTAL};
use crate::stats::changepoint::Params;
use crate::store::statements::StatementPeriod;
use crate::store::{RunFilter, Warehouse};
use crate::time::{display, epoch_secs, parse_time};

#[derive(Serialize, Default)]
pub struct DbSection {
    pub present: bool,
    pub top_total: Table,
    pub regressions: Table,
    pub new: Table,
    /// Each statement's plan shapes over the period, one row per span of one shape.
    pub plans: Table,
    pub charts: Vec<Chart>,
}

#[derive(Serialize)]
pub struct SeriesSection {
    /// The section's id in the page, for links from recommendations.
    pub anchor: String,
    pub name: String,
    pub summary: String,
    pub projection: Option<String>,
    pub chart: Chart,
}

#[derive(Serialize)]
pub struct PeriodPage {
    #[serde(flatten)]
    pub common: Common,
    pub cards: Vec<Card>,
    pub goals: Table,
    pub compliance: Table,
    pub milestones: Table,
    pub changes: Table,
    pub baseline: Option<String>,
    pub series: Vec<SeriesSection>,
    pub db: DbSection,
    pub resources: super::resources_section::Section,
    pub recommendations: recommend_section::Section,
    /// Small multiples of every endpoint and statement with runs in the period.
    pub overview: Vec<Chart>,
}

/// [start, end) of a month "2026-11" or a quarter "2026Q4".
pub fn period(spec: &str) -> Result<(NaiveDateTime, NaiveDateTime, String)> {
    let bad = || {
        Error::Usage(format!(
            "'{spec}': expected a month like 2026-11 or a quarter like 2026Q4"
        ))
    };
    let (start, months, name) = if let Some((y, q)) = spec.split_once(['Q', 'q']) {
        let (y, q): (i32, u32) = (y.parse().map_err(|_| bad())?, q.parse().map_err(|_| bad())?);
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        (
            NaiveDate::from_ymd_opt(y, 3 * q - 2, 1).ok_or_else(bad)?,
            3,
            format!("{y} Q{q}"),
        )
    } else {
        let d = NaiveDate::parse_from_str(&format!("{spec}-01"), "%Y-%m-%d").map_err(|_| bad())?;
        (d, 1, d.format("%B %Y").to_string())
    };
    let end = start
        .checked_add_months(chrono::Months::new(months))
        .ok_or_else(bad)?;
    Ok((
        start.and_time(chrono::NaiveTime::MIN),
        end.and_time(chrono::NaiveTime::MIN),
        name,
    ))
}

struct Group {
    tool: String,
    scenario: Option<String>,
}

type Groups = (Vec<(Group, Vec<i64>)>, HashMap<i64, NaiveDateTime>);

/// How a goal row names the run it judges: `#12 k6 orders-api 2026-11-30 02:00`.
fn judged_run(
    run: i64,
    groups: &[(Group, Vec<i64>)],
    started: &HashMap<i64, NaiveDateTime>,
) -> String {
    let group = groups
        .iter()
        .find(|(_, ids)| ids.contains(&run))
        .map(|(g, _)| g);
    let mut s = format!("#{run}");
    if let Some(g) = group {
        s.push(' ');
        s.push_str(&g.tool);
        if let Some(sc) = &g.scenario {
            s.push(' ');
            s.push_str(sc);
        }
    }
    if let Some(t) = started.get(&run) {
        s.push_str(&format!(" {}", minute(*t)));
    }
    s
}

/// The period's runs by tool and scenario, and their start times.
fn groups(wh: &Warehouse, from: NaiveDateTime, to: NaiveDateTime) -> Result<Groups> {
    let runs = wh.runs_between(from, to)?;
    let started: HashMap<i64, NaiveDateTime> = runs
        .iter()
        .filter_map(|r| Some((r.id, r.started_at?)))
        .collect();
    let mut m: BTreeMap<(String, Option<String>), Vec<i64>> = BTreeMap::new();
    for r in runs {
        m.entry((r.tool, r.scenario)).or_default().push(r.id);
    }
    Ok((
        m.into_iter()
            .map(|((tool, scenario), ids)| (Group { tool, scenario }, ids))
            .collect(),
        started,
    ))
}

pub struct Options<'a> {
    pub spec: &'a str,
    pub quarterly: bool,
    pub goals: Option<&'a GoalsFile>,
    pub baseline: Option<String>,
    pub params: Params,
    pub max_series: usize,
}

pub fn build(wh: &Warehouse, o: &Options, out: &Out) -> Result<PeriodPage> {
    let (from, to, name) = period(o.spec)?;
    let (groups, started) = groups(wh, from, to)?;
    let all_runs: Vec<i64> = groups.iter().flat_map(|(_, r)| r.clone()).collect();
    let mut series = Vec::new();
    let mut changes = Vec::new();
    let (mut regressions, mut improvements) = (0, 0);
    let mut recs = Vec::new();
    for (g, runs) in &groups {
        if runs.len() < 3 {
            continue;
        }
        let filter = RunFilter {
            tool: Some(g.tool.clone()),
            scenario: g.scenario.clone(),
            since: Some(from),
            until: Some(to),
            ..Default::default()
        };
        for metric in metrics::REVIEW_METRICS {
            let unit = metrics::unit(metric);
            if series.len() >= o.max_series {
                break;
            }
            let Ok(t) = trend::analyse(wh, &filter, TOTAL, metric, &o.params, Commits::Latest(0))
            else {
                continue;
            };
            if t.points.len() < 3 {
                continue;
            }
            let label = format!(
                "{} {} · {TOTAL} · {metric}",
                g.tool,
                g.scenario.clone().unwrap_or_default()
            );
            let anchor = format!("series-{}", series.len() + 1);
            for c in &t.change_points {
                let worse = direction(metric).is_worse(c.relative_change);
                if worse {
                    regressions += 1;
                    let notes = annotations_before(&t, c.index);
                    recs.extend(recommend::deploy_regression(&recommend::Regression {
                        series: &label,
                        run: c.run_id,
                        relative_change: c.relative_change,
                        before: c.before,
                        after: c.after,
                        annotations: &notes,
                        anchor: &anchor,
                    }));
                } else {
                    improvements += 1;
                }
                changes.push(vec![
                    Cell::text(&label),
                    Cell::text(display(c.time)),
                    Cell::text(c.run_id.to_string()),
                    Cell::text(c.commit.clone().unwrap_or_default()),
                    Cell::num(Some(c.before)),
                    Cell::num(Some(c.after)),
                    Cell::text(format!("{:+.1}%", c.relative_change * 100.0)),
                    Cell::text(format!("{:.1e}", c.p_value)),
                    Cell::status(if worse { "regressed" } else { "improved" }),
                ]);
            }
            let projection = o
                .goals
                .and_then(|gf| projection(gf, &g.tool, g.scenario.as_deref(), metric, &t, to));
            if let Some(p) = &projection {
                recs.extend(recommend::goal_projection(&recommend::Projection {
                    goal: &p.goal,
                    series: &label,
                    misses: p.misses,
                    text: &p.text,
                    anchor: &anchor,
                }));
            }
            let chart = series_chart(out, &t, &label, unit, o.goals, &g.tool, to)?;
            series.push(SeriesSection {
                anchor,
                name: label,
                summary: format!(
                    "{} runs; Mann-Kendall tau {} (p {}); Theil-Sen slope {} {unit} per month; {} change point(s).",
                    t.points.len(),
                    t.mann_kendall_tau.map_or("n/a".into(), |v| format!("{v:.3}")),
                    t.mann_kendall_p.map_or("n/a".into(), |v| format!("{v:.4}")),
                    t.theil_sen_slope_per_month.map_or("n/a".into(), fmt_float),
                    t.change_points.len()
                ),
                projection: projection.map(|p| p.text),
                chart,
            });
        }
    }
    let (goal_rows, compliance, milestones) = goal_sections(wh, o, &groups, &started, from, to)?;
    let mut latest = Vec::new();
    for (_, runs) in &groups {
        let Some(run) = runs.iter().max_by_key(|r| (started.get(r), **r)) else {
            continue;
        };
        let (r, row) = recommend_section::run_rules(
            wh,
            &wh.run_view(*run)?,
            &wh.interval_points(*run)?,
            &judged_run(*run, &groups, &started),
            recommend_section::LATEST,
        )?;
        recs.extend(r);
        latest.push(row);
    }
    let statements = wh.statement_period(from, to)?;
    recs.extend(recommend_section::db_rules(&statements));
    let resources = wh.resource_stats(&all_runs)?;
    recs.extend(recommend_section::cpu_rules(&resources, &|r| {
        judged_run(r, &groups, &started)
    }));
    let failing = goal_rows
        .iter()
        .filter(|g| g.status == Status::Fail)
        .count();
    let cards = vec![
        Card {
            label: "runs covered".into(),
            value: all_runs.len().to_string(),
            class: String::new(),
        },
        Card {
            label: "regressions".into(),
            value: regressions.to_string(),
            class: if regressions > 0 {
                "fail".into()
            } else {
                "pass".into()
            },
        },
        Card {
            label: "improvements".into(),
            value: improvements.to_string(),
            class: "improved".into(),
        },
        Card {
            label: "goals failing".into(),
            value: failing.to_string(),
            class: if failing > 0 {
                "fail".into()
            } else {
                "pass".into()
            },
        },
    ];
    let p = o.params;
    let mut methods = vec![
        format!("Period: {} to {} (UTC), {} runs in {} tool/scenario groups; series need at least 3 runs.", crate::time::display_micros(from), crate::time::display_micros(to), all_runs.len(), groups.len()),
        "Trend: Mann-Kendall (Kendall's tau between time and value, asymptotic p) and Theil-Sen slope per 30.4375 days; rolling median over 5 runs.".into(),
        format!("Change points: PELT on log values, robust sigma (MAD of differences), spikes clipped at rolling median ± 3 sigma, penalty {} x ln(n), minimum segment {} runs, each change kept if Welch p < {} and at least {}%.", p.penalty, p.min_size, p.alpha, p.min_shift * 100.0),
        "Goals: each row judges the latest run of the period the goal applies to (its tool and scenario; column 'run judged'); limit in force = latest milestone started by the run's date; evidence = one-sided 95% bound where per-request data exist (order-statistic bound of a percentile, Wilson for error rates), else the point estimate.".into(),
        "Projection: latest rolling median moved along the Theil-Sen slope to the next milestone's limit.".into(),
        super::run_page::RESOURCES_METHOD.into(),
    ];
    if o.quarterly {
        methods.push("Compliance: share of the period's runs whose goal status is pass or warn (the point estimate meets the limit in force).".into());
    }
    Ok(PeriodPage {
        common: Common::new(
            if o.quarterly {
                format!("Quarterly audit: {name}")
            } else {
                format!("Monthly benchmark review: {name}")
            },
            format!(
                "{} runs from {} to {}",
                all_runs.len(),
                from.date(),
                (to - chrono::Duration::days(1)).date()
            ),
            methods,
            provenance(wh, &all_runs)?,
        ),
        cards,
        goals: goal_table(&goal_rows, Some(&|run| judged_run(run, &groups, &started))),
        compliance: if o.quarterly {
            compliance
        } else {
            Table::default()
        },
        milestones: if o.quarterly {
            milestones
        } else {
            Table::default()
        },
        changes: Table::new(
            &[
                "series", "time", "run", "commit", "before", "after", "change", "p", "verdict",
            ],
            changes,
        ),
        baseline: o.baseline.clone(),
        series,
        overview: overview(wh, out, &groups, from, to, &o.params)?,
        db: db_section(out, &statements, &plans::history(&wh.plans_of(&all_runs)?))?,
        resources: super::resources_section::for_period(
            out,
            &resources,
            &started.iter().map(|(r, t)| (*r, epoch_secs(*t))).collect(),
        )?,
        recommendations: recommend_section::section(recs, recommend_section::latest_table(latest)),
    })
}

fn series_chart(
    out: &Out,
    t: &trend::Trend,
    label: &str,
    unit: &str,
    goals: Option<&GoalsFile>,
    tool: &str,
    to: NaiveDateTime,
) -> Result<Chart> {
    let x = epoch_secs;
    let pts: Vec<(f64, f64)> = t.points.iter().map(|p| (x(p.time), p.value)).collect();
    let limit = goals
        .and_then(|gf| {
            gf.goals.iter().find(|g| {
                g.metric == t.metric
                    && g.target == TOTAL
                    && g.tool.as_deref().is_none_or(|x| x == tool)
            })
        })
        .and_then(|g| {
            let (max, min, _) = goals::limit_at(g, to - chrono::Duration::seconds(1));
            max.or(min)
        });
    let tl = timeline::Timeline {
        title: label.to_string(),
        y_label: unit.to_string(),
        lines: vec![timeline::Line {
            name: t.metric.clone(),
            points: pts,
        }],
        median: Some(
            t.points
                .iter()
                .map(|p| (x(p.time), p.rolling_median))
                .collect(),
        ),
        change_points: t.change_points.iter().map(|c| x(c.time)).collect(),
        annotations: t
            .annotations
            .iter()
            .filter_map(|a| {
                a.happened_at.map(x).or_else(|| {
                    a.run_id
                        .and_then(|r| t.points.iter().find(|p| p.run_id == r))
                        .map(|p| x(p.time))
                })
            })
            .collect(),
        band: None,
        limit,
    };
    out.chart(&format!("series_{label}"), label, "values per run, rolling median, change points (red), annotations (blue), goal in force (orange)", |p| timeline::draw(&tl, p))
}

/// A series' projection to the next milestone of its goal.
struct Projected {
    goal: String,
    text: String,
    /// The milestone is reached after its date, or never, at the current slope.
    misses: bool,
}

fn projection(
    gf: &GoalsFile,
    tool: &str,
    scenario: Option<&str>,
    metric: &str,
    t: &trend::Trend,
    after: NaiveDateTime,
) -> Option<Projected> {
    let g = gf
        .goals
        .iter()
        .find(|g| g.metric == metric && g.target == TOTAL && goals::applies(g, tool, scenario))?;
    let next = g
        .milestones
        .iter()
        .filter_map(|m| Some((parse_time(&m.from)?, m)))
        .filter(|(d, _)| *d >= after)
        .min_by_key(|(d, _)| *d)?;
    let limit = next.1.max.or(next.1.min)?;
    let slope = t.theil_sen_slope_per_month?;
    let now = t.points.last()?;
    let gap = limit - now.rolling_median;
    let date = next.0.date();
    let out = |text: String, misses: bool| Projected {
        goal: g.name.clone(),
        text,
        misses,
    };
    if gap.abs() < f64::EPSILON
        || (next.1.max.is_some() && gap >= 0.0)
        || (next.1.min.is_some() && gap <= 0.0)
    {
        return Some(out(
            format!(
                "{metric} {} already meets the next milestone ({limit} from {date}).",
                fmt_float(now.rolling_median)
            ),
            false,
        ));
    }
    if slope == 0.0 || gap.signum() != slope.signum() {
        return Some(out(format!("at the current slope ({} per month) {metric} moves away from the next milestone ({limit} from {date}).", fmt_float(slope)), true));
    }
    let months = gap / slope;
    let reach = now
        .time
        .checked_add_signed(chrono::Duration::days((months * 30.4375).round() as i64))?;
    let late = reach.date() > date;
    Some(out(
        format!(
            "at {} per month, {metric} reaches {limit} around {} ({:.1} months): {} the milestone of {date}.",
            fmt_float(slope),
            reach.date(),
            months,
            if late { "after" } else { "before" }
        ),
        late,
    ))
}

/// Runs a series needs to be in the overview (as for the detailed series).
const OVERVIEW_MIN_RUNS: usize = 3;
/// Statements in the overview: the ones with the most execution time.
const OVERVIEW_STATEMENTS: usize = 48;

/// Small multiples: p95 of every endpoint of every tool/scenario group with runs in the
/// period, then the mean time of the statements holding the most database time.
fn overview(
    wh: &Warehouse,
    out: &Out,
    groups: &[(Group, Vec<i64>)],
    from: NaiveDateTime,
    to: NaiveDateTime,
    params: &Params,
) -> Result<Vec<Chart>> {
    let endpoints = endpoint_panels(wh, groups, params)?;
    let statements = statement_panels(wh, from, to, params)?;
    let mut images = Vec::new();
    for (what, unit, panels) in [
        ("endpoints", "p95 latency per run (ms)", &endpoints),
        (
            "statements",
            "mean execution time per snapshot interval (ms)",
            &statements,
        ),
    ] {
        let n = panels.len();
        for (i, chunk) in panels.chunks(multiples::PER_IMAGE).enumerate() {
            let (first, last) = (
                i * multiples::PER_IMAGE + 1,
                i * multiples::PER_IMAGE + chunk.len(),
            );
            images.push(Image {
                name: format!("overview_{what}_{i}"),
                alt: format!("Overview of {what} {first}-{last}"),
                caption: format!("{what} {first}-{last} of {n}: {unit}, each panel on its own scale, last value in the title; red: a change point for the worse"),
                panels: chunk,
            });
        }
    }
    draw_all(out, &images)
}

fn endpoint_panels(
    wh: &Warehouse,
    groups: &[(Group, Vec<i64>)],
    params: &Params,
) -> Result<Vec<multiples::Panel>> {
    let mut panels = Vec::new();
    let runs: Vec<&[i64]> = groups.iter().map(|(_, runs)| runs.as_slice()).collect();
    let lines = wh.metric_by_target(&runs, metrics::LATENCY_P95)?;
    for ((g, _), series) in groups.iter().zip(lines) {
        let total = series
            .iter()
            .find(|(t, _)| t == TOTAL)
            .map(|(_, p)| p.clone());
        for (target, pts) in series {
            // one endpoint is its own total (wrk on one URL): one panel for both
            if pts.len() < OVERVIEW_MIN_RUNS || (target != TOTAL && total.as_ref() == Some(&pts)) {
                continue;
            }
            let values: Vec<f64> = pts.iter().map(|p| p.1).collect();
            panels.push(multiples::Panel {
                title: match &g.scenario {
                    Some(s) => format!("{} {s} · {target}", g.tool),
                    None => format!("{} · {target}", g.tool),
                },
                regressed: trend::has_regression(&values, metrics::LATENCY_P95, params),
                values,
            });
        }
    }
    Ok(panels)
}

fn statement_panels(
    wh: &Warehouse,
    from: NaiveDateTime,
    to: NaiveDateTime,
    params: &Params,
) -> Result<Vec<multiples::Panel>> {
    Ok(wh
        .statement_lines(from, to, OVERVIEW_STATEMENTS)?
        .into_iter()
        .filter(|l| l.points.len() >= 2)
        .map(|l| {
            let values: Vec<f64> = l.points.iter().map(|p| p.1).collect();
            multiples::Panel {
                title: format!("{} · {}", l.server, l.statement),
                regressed: trend::has_regression(&values, metrics::MEAN_EXEC_TIME, params),
                values,
            }
        })
        .collect())
}

/// One overview image: up to [`multiples::PER_IMAGE`] panels.
struct Image<'a> {
    name: String,
    alt: String,
    caption: String,
    panels: &'a [multiples::Panel],
}

/// Draws the images on every core (PNG encoding dominates), in their order.
fn draw_all(out: &Out, images: &[Image]) -> Result<Vec<Chart>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let per = images.len().div_ceil(threads).max(1);
    let drawn: Vec<Result<Vec<Chart>>> = std::thread::scope(|s| {
        let handles: Vec<_> = images
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|im| {
                            out.chart(&im.name, &im.alt, &im.caption, |p| {
                                multiples::draw(im.panels, p)
                            })
                        })
                        .collect::<Result<Vec<Chart>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Internal("a chart thread panicked".into())))
            })
            .collect()
    });
    let mut charts = Vec::new();
    for d in drawn {
        charts.extend(d?);
    }
    Ok(charts)
}

/// Annotations made after the run before a change point and up to the change's own run:
/// "kind: text" each.
fn annotations_before(t: &trend::Trend, index: usize) -> Vec<String> {
    let Some(at) = t.points.get(index) else {
        return Vec::new();
    };
    let prev = index.checked_sub(1).and_then(|i| t.points.get(i));
    t.annotations
        .iter()
        .filter(|a| {
            a.run_id == Some(at.run_id)
                || a.happened_at
                    .is_some_and(|h| h <= at.time && prev.is_none_or(|p| h > p.time))
        })
        .map(|a| format!("{}: {}", a.kind, a.text))
        .collect()
}

type GoalSections = (Vec<goals::GoalResult>, Table, Table);

fn goal_sections(
    wh: &Warehouse,
    o: &Options,
    groups: &[(Group, Vec<i64>)],
    started: &HashMap<i64, NaiveDateTime>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<GoalSections> {
    let Some(gf) = o.goals else {
        return Ok((vec![], Table::default(), Table::default()));
    };
    let mut latest = Vec::new();
    let mut compliance = Vec::new();
    for g in &gf.goals {
        let runs: Vec<i64> = groups
            .iter()
            .filter(|(grp, _)| goals::applies(g, &grp.tool, grp.scenario.as_deref()))
            .flat_map(|(_, runs)| runs.iter().copied())
            .collect();
        let points = goals::points(wh, g, &runs)?;
        let at = |r: &i64| started.get(r).copied().unwrap_or(from);
        let met = points
            .iter()
            .filter(|(r, v)| goals::point_meets(g, at(r), **v))
            .count();
        let total = points.len();
        if let Some(last) = points.keys().max_by_key(|r| (at(r), **r)) {
            latest.push(goals::evaluate(wh, *last, at(last), g)?);
        }
        compliance.push(vec![
            Cell::text(&g.name),
            Cell::text(&g.metric),
            Cell::num(Some(total as f64)),
            Cell::num(Some(met as f64)),
            Cell::text(if total > 0 {
                format!("{:.1}%", 100.0 * met as f64 / total as f64)
            } else {
                "no runs".into()
            }),
        ]);
    }
    let mut ms = Vec::new();
    for g in &gf.goals {
        let (max, min, src) = goals::limit_at(g, to - chrono::Duration::seconds(1));
        let in_q: Vec<String> = g
            .milestones
            .iter()
            .filter(|m| parse_time(&m.from).is_some_and(|d| d >= from && d < to))
            .map(|m| {
                format!(
                    "{} from {}",
                    m.max.or(m.min).map(fmt_float).unwrap_or_default(),
                    m.from
                )
            })
            .collect();
        ms.push(vec![
            Cell::text(&g.name),
            Cell::text(
                max.map(|m| format!("≤ {}", fmt_float(m)))
                    .or(min.map(|m| format!("≥ {}", fmt_float(m))))
                    .unwrap_or_default(),
            ),
            Cell::text(src),
            Cell::text(in_q.join("; ")),
        ]);
    }
    Ok((
        latest,
        Table::new(
            &[
                "goal",
                "metric",
                "runs evaluated",
                "runs meeting",
                "compliance",
            ],
            compliance,
        ),
        Table::new(
            &[
                "goal",
                "limit at period end",
                "in force",
                "milestones starting in the period",
            ],
            ms,
        ),
    ))
}

/// A time to the minute, as the period page's tables show times.
fn minute(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn db_grids(p: &StatementPeriod) -> (Grid, Grid, Grid) {
    let mut top = Grid::new(&[
        "server",
        "statement",
        "calls",
        "total_ms",
        "mean_ms",
        "cache_hit_ratio",
    ]);
    for r in &p.top {
        top.push(vec![
            r.server.as_str().into(),
            r.statement.as_str().into(),
            r.calls.into(),
            r.total_ms.into(),
            r.mean_ms.into(),
            r.cache_hit_ratio.into(),
        ]);
    }
    let mut changes = Grid::new(&[
        "server",
        "statement",
        "first_mean_ms",
        "last_mean_ms",
        "change",
    ]);
    for r in &p.changes {
        changes.push(vec![
            r.server.as_str().into(),
            r.statement.as_str().into(),
            r.first_mean_ms.into(),
            r.last_mean_ms.into(),
            r.change.into(),
        ]);
    }
    let mut new = Grid::new(&["server", "statement", "first_seen"]);
    for r in &p.new {
        new.push(vec![
            r.server.as_str().into(),
            r.statement.as_str().into(),
            Datum::from(r.first_seen.map(minute)),
        ]);
    }
    (top, changes, new)
}

/// One row per span of one plan shape; a span whose shape differs from the one before it says so.
fn plan_table(spans: &[plans::Span]) -> Table {
    let rows = spans
        .iter()
        .map(|s| {
            vec![
                Cell::text(&s.statement),
                Cell::text(&s.shape),
                Cell::text(&s.top_node),
                Cell::text(s.first.map(minute).unwrap_or_default()),
                Cell::text(s.last.map(minute).unwrap_or_default()),
                Cell::text(if s.first_run == s.last_run {
                    s.first_run.to_string()
                } else {
                    format!("{}-{}", s.first_run, s.last_run)
                }),
                Cell::num(Some(s.plans as f64)),
                Cell::num(s.median_execution_ms),
                if s.changed {
                    Cell::status("changed")
                } else {
                    Cell::text("")
                },
            ]
        })
        .collect();
    Table::new(
        &[
            "statement",
            "plan shape",
            "slowest node",
            "first",
            "last",
            "runs",
            "plans",
            "median execution ms",
            "shape",
        ],
        rows,
    )
}

fn db_section(out: &Out, p: &StatementPeriod, spans: &[plans::Span]) -> Result<DbSection> {
    if p.top.is_empty() && spans.is_empty() {
        return Ok(DbSection::default());
    }
    let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for h in &p.cache_hits {
        if let (Some(a), Some(r)) = (h.at, h.ratio) {
            lines
                .entry(h.server.clone())
                .or_default()
                .push((epoch_secs(a), r));
        }
    }
    let mut charts = Vec::new();
    if lines.values().any(|l| !l.is_empty()) {
        let tl = timeline::Timeline {
            title: "Cache hit ratio per snapshot interval".into(),
            y_label: "ratio".into(),
            lines: lines
                .into_iter()
                .map(|(name, points)| timeline::Line { name, points })
                .collect(),
            ..Default::default()
        };
        charts.push(out.chart(
            "db_cache_hit",
            "Cache hit ratio",
            "shared_blks_hit / (hit + read) per interval between snapshots",
            |p| timeline::draw(&tl, p),
        )?);
    }
    let (top, changes, new) = db_grids(p);
    Ok(DbSection {
        present: true,
        top_total: Table::from_grid(&top),
        regressions: Table::from_grid(&changes),
        new: Table::from_grid(&new),
        plans: plan_table(spans),
        charts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn periods() {
        let (a, b, n) = period("2026Q4").unwrap();
        let ts = crate::time::display_micros;
        assert_eq!(
            (ts(a).as_str(), ts(b).as_str(), n.as_str()),
            (
                "2026-10-01 00:00:00.000000",
                "2027-01-01 00:00:00.000000",
                "2026 Q4"
            )
        );
        let (a, b, _) = period("2026-11").unwrap();
        assert_eq!((a.month(), b.month()), (11, 12));
        assert!(period("2026Q5").is_err() && period("nov").is_err());
    }
}
