//! One test, one run: the outputs a tool wrote for one test (k6's `--summary-export` JSON and
//! its `--out json` points, Locust's CSV set and HTML report, ...) become one run with several
//! source files instead of several runs that `compare` would count as independent.
//!
//! Two parsed runs are outputs of one test when they come from different files of the same
//! tool in different formats (two files of one format are two tests), in the same folder or
//! in one `--run-group`, report the same TOTAL request count (within 0.5%) and the same
//! TOTAL mean and maximum latency where both have them (within 1.5%: a histogram is exact to
//! 1%; two runs of one constant-rate script have the same count but not the same latencies),
//! and, where both carry times of their own (not a file's modification time), overlap in time. The run with
//! per-request histograms (else the one with more numbers) is the primary: its numbers win,
//! the others fill what it lacks, and a target the others name by a k6 tag set (`name:X`) is
//! the primary's endpoint of that name, so one endpoint has one name whichever file it came
//! from.

use std::path::Path;

use crate::metrics::{LATENCY_MAX, LATENCY_MEAN, REQUESTS, TOTAL};
use crate::model::{ParsedRun, TargetKind};

/// A parsed run and the input (unit) it came from.
pub struct Output {
    pub unit: usize,
    pub run: ParsedRun,
}

/// Runs after grouping, each with the units it was made of, in input order.
pub struct Grouped {
    pub units: Vec<usize>,
    pub run: ParsedRun,
}

fn folder(r: &ParsedRun) -> Option<&Path> {
    r.sources.first().and_then(|s| Path::new(&s.path).parent())
}

/// Whether the run's start comes from the tool itself (not a file time or `--at`).
fn tool_timed(r: &ParsedRun) -> bool {
    r.started_at.is_some() && !r.labels.contains_key("time_source")
}

fn window(r: &ParsedRun) -> Option<(chrono::NaiveDateTime, chrono::NaiveDateTime)> {
    let start = r.started_at?;
    let end = r
        .ended_at
        .or_else(|| r.duration_s.and_then(|d| crate::time::shift(start, d)))
        .unwrap_or(start);
    Some((start, end))
}

fn requests(r: &ParsedRun) -> Option<f64> {
    r.target(TOTAL).and_then(|t| t.get(REQUESTS))
}

/// Formats one run of a tool never writes both of: siege's `-j` (`json_output`) replaces its
/// text summary, so a siege text and a siege JSON are two runs however alike their numbers
/// (a `-r` run's count is fixed; a refused run's numbers are all zero).
const NEVER_TOGETHER: [(&str, &str); 1] = [("siege-text", "siege-json")];

/// Whether the formats (`a+b` when already grouped) include a pair one run never writes.
fn exclusive(x: &str, y: &str) -> bool {
    x.split('+').any(|f| {
        y.split('+').any(|g| {
            NEVER_TOGETHER
                .iter()
                .any(|&(p, q)| (f, g) == (p, q) || (f, g) == (q, p))
        })
    })
}

/// Whether `a` and `b` are outputs of one test (see the module docs).
pub fn same_test(a: &Output, b: &Output, run_group: bool) -> bool {
    let (x, y) = (&a.run, &b.run);
    if a.unit == b.unit || x.tool != y.tool || x.format == y.format {
        return false;
    }
    if exclusive(&x.format, &y.format) {
        return false;
    }
    if !run_group && folder(x) != folder(y) {
        return false;
    }
    let counts = match (requests(x), requests(y)) {
        (Some(p), Some(q)) => (p - q).abs() <= (0.005 * p.max(q)).max(1.0),
        _ => false,
    };
    let overlap = match (tool_timed(x) && tool_timed(y), window(x), window(y)) {
        (true, Some((s1, e1)), Some((s2, e2))) => {
            let slack = chrono::Duration::seconds(2);
            s1 <= e2 + slack && s2 <= e1 + slack
        }
        _ => true,
    };
    let close = |m: &str| match (
        x.target(TOTAL).and_then(|t| t.get(m)),
        y.target(TOTAL).and_then(|t| t.get(m)),
    ) {
        (Some(p), Some(q)) => (p - q).abs() <= 0.015 * p.abs().max(q.abs()),
        _ => true,
    };
    counts && overlap && close(LATENCY_MEAN) && close(LATENCY_MAX)
}

/// How detailed a run is: per-request histograms first, then the count of numbers.
fn detail(r: &ParsedRun) -> (usize, usize) {
    (
        r.targets.iter().filter(|t| t.histogram.is_some()).count(),
        r.targets.iter().map(|t| t.metrics.len()).sum(),
    )
}

/// Groups outputs of one test into one run each; everything else passes through unchanged.
pub fn group(outputs: Vec<Output>, run_group: bool) -> Vec<Grouped> {
    let mut groups: Vec<Vec<Output>> = Vec::new();
    for o in outputs {
        let home = groups
            .iter_mut()
            .find(|g| g.iter().all(|m| same_test(m, &o, run_group)));
        match home {
            Some(g) => g.push(o),
            None => groups.push(vec![o]),
        }
    }
    groups.into_iter().filter_map(merge).collect()
}

/// One run of a group's outputs (None only for an empty group, which `group` never makes).
fn merge(mut members: Vec<Output>) -> Option<Grouped> {
    let mut units: Vec<usize> = members.iter().map(|m| m.unit).collect();
    units.sort_unstable();
    // the most detailed first; ties keep input order
    members.sort_by_key(|m| std::cmp::Reverse(detail(&m.run)));
    let mut it = members.into_iter();
    let mut run = it.next()?.run;
    for other in it {
        absorb(&mut run, other.run);
    }
    Some(Grouped { units, run })
}

/// The primary's target that a tag-set target of another output (`name:checkout`) means.
fn endpoint_of<'a>(primary: &'a ParsedRun, name: &str) -> Option<&'a str> {
    let (key, value) = name.split_once(':')?;
    if key != "name" {
        return None;
    }
    let mut hits = primary.targets.iter().filter(|t| {
        t.kind == TargetKind::Http
            && (t.name == value || t.name.rsplit_once(' ').is_some_and(|(_, n)| n == value))
    });
    let hit = hits.next()?;
    hits.next().is_none().then_some(hit.name.as_str())
}

/// Fills `run` with what `other` has and it lacks.
fn absorb(run: &mut ParsedRun, other: ParsedRun) {
    if !run.format.split('+').any(|f| f == other.format) {
        run.format = format!("{}+{}", run.format, other.format).into();
    }
    if !tool_timed(run) && tool_timed(&other) {
        run.started_at = other.started_at;
        run.ended_at = other.ended_at;
        run.labels.remove("time_source");
    }
    run.tool_version = run.tool_version.take().or(other.tool_version);
    run.scenario = run.scenario.take().or(other.scenario);
    run.duration_s = run.duration_s.or(other.duration_s);
    run.url = run.url.take().or(other.url);
    let (l, o) = (&mut run.load, &other.load);
    l.users = l.users.or(o.users);
    l.spawn_rate = l.spawn_rate.or(o.spawn_rate);
    l.threads = l.threads.or(o.threads);
    l.connections = l.connections.or(o.connections);
    l.requests_planned = l.requests_planned.or(o.requests_planned);
    l.target_rate = l.target_rate.or(o.target_rate);
    for (k, v) in other.labels {
        if k != "time_source" {
            run.labels.entry(k).or_insert(v);
        }
    }
    for t in other.targets {
        let name = endpoint_of(run, &t.name).map_or_else(|| t.name.clone(), str::to_string);
        match run.target_mut(&name) {
            Some(mine) => {
                for (m, v) in t.metrics {
                    mine.metrics.entry(m).or_insert(v);
                }
                if mine.histogram.is_none() {
                    mine.histogram = t.histogram;
                }
            }
            None => run.targets.push(t),
        }
    }
    if run.series.is_empty() && run.series_feed.is_none() {
        run.series = other.series;
        run.series_feed = other.series_feed;
    }
    if run.errors.is_empty() {
        run.errors = other.errors;
    }
    run.thresholds.extend(other.thresholds);
    run.sources.extend(other.sources);
    run.warnings.extend(other.warnings);
}
