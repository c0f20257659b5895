//! Recommendations: the guide's "identify bottlenecks" and "improvement recommendations" as
//! rules that can be tested. Each rule is a small pure function over figures the report has
//! already read; each recommendation carries its evidence (the numbers it rests on) and the
//! anchor of the chart or table that shows them. Rules and thresholds:
//!
//! - **Goal projection**: the next milestone of a goal is missed at the current Theil-Sen
//!   slope (or the slope moves away from it).
//! - **Regression after a deploy**: a change point for the worse whose window (after the run
//!   before it, up to its own run) holds an annotation.
//! - **Database hotspot**: one statement holds at least [`HOTSPOT_SHARE`] of a server's
//!   execution time in the period and its mean time rose by at least [`HOTSPOT_RISE`] from the
//!   first to the last interval.
//! - **Saturation** (Little's law: for a closed load, throughput = users / (response time +
//!   think time); once a resource is saturated, more users only add queueing): between a load
//!   level and the highest level with at least twice its users, throughput grew by less than
//!   [`SATURATION_GAIN`] while the response time rose by at least [`SATURATION_SLOWDOWN`].
//! - **Error concentration**: the run's error rate is above the guide's alert threshold
//!   ([`ERROR_ALERT`]) and one endpoint and kind of error hold at least [`ERROR_SHARE`] of the
//!   errors.
//! - **Pool saturation**: at the run's database snapshot, client connections held at least
//!   [`POOL_ALERT`] of `max_connections` (the guide's connection-pool target: < 80%).
//! - **CPU saturation**: over the run's window the host's CPU was busy at least
//!   [`CPU_TARGET`] of the time on average, or its p95 reached [`CPU_ALERT`] (the guide's
//!   system targets: CPU < 70% average, alert at > 90%). A saturated host makes every other
//!   figure of the run a measure of the host, not of the service.
//! - **Tail latency**: p99 at least [`TAIL_RATIO`] times p50 on an endpoint with at least
//!   [`TAIL_MIN_REQUESTS`] requests (so p99 rests on at least 10 requests beyond it).
//!   On this project's A/A captures the ratio is at most 3.3 (wrk) and 2.9 (k6).

use serde::Serialize;

use crate::grid::fmt_float;

pub const HOTSPOT_SHARE: f64 = 0.3;
pub const HOTSPOT_RISE: f64 = 0.2;
pub const SATURATION_GAIN: f64 = 0.1;
pub const SATURATION_SLOWDOWN: f64 = 0.5;
pub const ERROR_ALERT: f64 = 0.01;
pub const ERROR_SHARE: f64 = 0.8;
pub const POOL_ALERT: f64 = 0.8;
pub const TAIL_RATIO: f64 = 5.0;
pub const CPU_TARGET: f64 = 0.7;
pub const CPU_ALERT: f64 = 0.9;
pub const TAIL_MIN_REQUESTS: f64 = 1000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    GoalProjection,
    DeployRegression,
    DbHotspot,
    Saturation,
    ErrorConcentration,
    PoolSaturation,
    CpuSaturation,
    TailLatency,
}

impl Rule {
    /// Rank: what needs a decision first. A missed milestone and a regression a deploy
    /// brought outrank a standing property of the system.
    fn weight(self) -> f64 {
        match self {
            Rule::GoalProjection => 6.0,
            Rule::DeployRegression => 5.0,
            Rule::ErrorConcentration => 4.0,
            Rule::Saturation | Rule::DbHotspot | Rule::PoolSaturation | Rule::CpuSaturation => 3.0,
            Rule::TailLatency => 2.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub rule: Rule,
    pub title: String,
    pub evidence: String,
    pub action: String,
    /// The id of the chart or table behind it (`#...` in the page).
    pub anchor: String,
    /// Ranking key: the rule's weight plus a bounded measure of how far past the threshold.
    pub score: f64,
}

/// Highest score first; ties by title so the order is stable.
pub fn rank(mut v: Vec<Recommendation>) -> Vec<Recommendation> {
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.title.cmp(&b.title)));
    v
}

fn score(rule: Rule, excess: f64) -> f64 {
    // excess >= 0 is how many times the threshold was passed, minus one; at most +1
    rule.weight() + (excess.max(0.0) / (1.0 + excess.max(0.0)))
}

/// Evidence is read, not recomputed (the tables hold every digit): four significant digits.
fn num(v: f64) -> String {
    fmt_float(crate::grid::round_sig(v, 4))
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// A goal's projection to its next milestone.
pub struct Projection<'a> {
    pub goal: &'a str,
    pub series: &'a str,
    /// True when the slope reaches the limit only after the milestone's date, or never.
    pub misses: bool,
    pub text: &'a str,
    pub anchor: &'a str,
}

pub fn goal_projection(p: &Projection) -> Option<Recommendation> {
    p.misses.then(|| Recommendation {
        rule: Rule::GoalProjection,
        title: format!("{}: the next milestone is out of reach at the current trend", p.goal),
        evidence: format!("{}: {}", p.series, p.text),
        action: "Plan the work the milestone needs now, or move the milestone: the trend alone will not meet it.".into(),
        anchor: p.anchor.to_string(),
        score: score(Rule::GoalProjection, 0.0),
    })
}

/// A change point for the worse and the annotations in its window.
pub struct Regression<'a> {
    pub series: &'a str,
    pub run: i64,
    pub relative_change: f64,
    pub before: f64,
    pub after: f64,
    /// Annotations (kind: text) made after the run before the change and up to its run.
    pub annotations: &'a [String],
    pub anchor: &'a str,
}

pub fn deploy_regression(r: &Regression) -> Option<Recommendation> {
    if r.annotations.is_empty() {
        return None;
    }
    Some(Recommendation {
        rule: Rule::DeployRegression,
        title: format!("{}: a regression of {:+.1}% came with {}", r.series, r.relative_change * 100.0, r.annotations.join("; ")),
        evidence: format!(
            "change point at run #{}: segment median {} before, {} after; annotated in the window since the run before it: {}",
            r.run,
            num(r.before),
            num(r.after),
            r.annotations.join("; ")
        ),
        action: "Review what that change shipped (the diff between the two runs' commits) and fix or revert it.".into(),
        anchor: r.anchor.to_string(),
        score: score(Rule::DeployRegression, r.relative_change.abs()),
    })
}

/// One statement's share of its server's time and its first/last interval means.
pub struct Statement<'a> {
    pub server: &'a str,
    pub statement: &'a str,
    pub total_ms: f64,
    pub server_total_ms: f64,
    pub first_mean_ms: f64,
    pub last_mean_ms: f64,
}

pub fn db_hotspot(s: &Statement) -> Option<Recommendation> {
    if s.server_total_ms <= 0.0 || s.first_mean_ms <= 0.0 {
        return None;
    }
    let share = s.total_ms / s.server_total_ms;
    let rise = s.last_mean_ms / s.first_mean_ms - 1.0;
    if share < HOTSPOT_SHARE || rise < HOTSPOT_RISE {
        return None;
    }
    Some(Recommendation {
        rule: Rule::DbHotspot,
        title: format!("{}: one statement holds {} of the database time and got slower", s.server, pct(share)),
        evidence: format!(
            "`{}`: {} ms of {} ms; mean {} ms in the first interval, {} ms in the last ({:+.0}%)",
            s.statement,
            num(s.total_ms),
            num(s.server_total_ms),
            num(s.first_mean_ms),
            num(s.last_mean_ms),
            rise * 100.0
        ),
        action: "EXPLAIN (ANALYZE, BUFFERS) it: a lost index, a changed plan or a growing table; it is where database time goes.".into(),
        anchor: "db".into(),
        score: score(Rule::DbHotspot, rise / HOTSPOT_RISE - 1.0),
    })
}

/// One second of a run under load: users (or VUs), requests per second, response time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadPoint {
    pub load: f64,
    pub throughput: f64,
    pub latency_ms: f64,
}

/// One point per load level, lowest load first: the level's users with the medians of its
/// seconds' throughput and latency.
pub fn load_levels(points: &[LoadPoint]) -> Vec<LoadPoint> {
    let mut pts: Vec<LoadPoint> = points
        .iter()
        .copied()
        // a second with no finished request yet (a tool's first window) says nothing
        .filter(|p| {
            [p.load, p.throughput, p.latency_ms]
                .iter()
                .all(|v| v.is_finite() && *v > 0.0)
        })
        .collect();
    pts.sort_by(|a, b| a.load.total_cmp(&b.load));
    let mut out = Vec::new();
    for level in pts.chunk_by(|a, b| a.load == b.load) {
        let x: Vec<f64> = level.iter().map(|p| p.throughput).collect();
        let r: Vec<f64> = level.iter().map(|p| p.latency_ms).collect();
        if let (Some(throughput), Some(latency_ms)) =
            (crate::stats::median(&x), crate::stats::median(&r))
        {
            out.push(LoadPoint {
                load: level[0].load,
                throughput,
                latency_ms,
            });
        }
    }
    out
}

/// The rule over a run's [`load_levels`] (all positive and finite).
pub fn saturation(scope: &str, levels: &[LoadPoint], anchor: &str) -> Option<Recommendation> {
    let hi = levels.last()?;
    // the highest level with at most half the users of the highest
    let lo = levels.iter().rev().find(|l| l.load * 2.0 <= hi.load)?;
    let (lo_load, lo_x, lo_r) = (lo.load, lo.throughput, lo.latency_ms);
    let (hi_load, hi_x, hi_r) = (hi.load, hi.throughput, hi.latency_ms);
    let gain = hi_x / lo_x - 1.0;
    let slowdown = hi_r / lo_r - 1.0;
    if gain >= SATURATION_GAIN || slowdown < SATURATION_SLOWDOWN {
        return None;
    }
    Some(Recommendation {
        rule: Rule::Saturation,
        title: format!("{scope}: saturated: more users brought no more throughput, only waiting"),
        evidence: format!(
            "{} users: {} req/s at {} ms; {} users: {} req/s ({:+.0}%) at {} ms ({:+.0}%)",
            num(lo_load),
            num(lo_x),
            num(lo_r),
            num(hi_load),
            num(hi_x),
            gain * 100.0,
            num(hi_r),
            slowdown * 100.0
        ),
        action: format!(
            "Capacity is about {} req/s: find the resource that is full (CPU, a pool, a lock) before adding load.",
            num(hi_x.max(lo_x))
        ),
        anchor: anchor.to_string(),
        score: score(Rule::Saturation, slowdown / SATURATION_SLOWDOWN - 1.0),
    })
}

/// Errors of one run: (endpoint, kind or status, count), and its request count.
pub fn error_concentration(
    scope: &str,
    errors: &[(String, String, i64)],
    requests: f64,
    anchor: &str,
) -> Option<Recommendation> {
    let total: i64 = errors.iter().map(|e| e.2).sum();
    if requests <= 0.0 || total <= 0 {
        return None;
    }
    let rate = total as f64 / requests;
    let top = errors.iter().max_by_key(|e| e.2)?;
    let share = top.2 as f64 / total as f64;
    if rate <= ERROR_ALERT || share < ERROR_SHARE {
        return None;
    }
    Some(Recommendation {
        rule: Rule::ErrorConcentration,
        title: format!(
            "{scope}: {} of the errors are {} on {}",
            pct(share),
            top.1,
            top.0
        ),
        evidence: format!(
            "{} errors in {} requests ({}, alert above {}); {} of them {} on {}",
            total,
            num(requests),
            pct(rate),
            pct(ERROR_ALERT),
            top.2,
            top.1,
            top.0
        ),
        action: format!(
            "One cause: look at {}'s {} responses in the service's log first.",
            top.0, top.1
        ),
        anchor: anchor.to_string(),
        score: score(Rule::ErrorConcentration, rate / ERROR_ALERT - 1.0),
    })
}

/// Connections of one server at a run's snapshot.
pub struct Pool<'a> {
    pub server: &'a str,
    pub utilisation: f64,
    pub connections: f64,
    pub busy: Option<f64>,
}

pub fn pool_saturation(scope: &str, p: &Pool, anchor: &str) -> Option<Recommendation> {
    if !p.utilisation.is_finite() || p.utilisation < POOL_ALERT {
        return None;
    }
    Some(Recommendation {
        rule: Rule::PoolSaturation,
        title: format!("{scope} · {}: connections at {} of max_connections", p.server, pct(p.utilisation)),
        evidence: format!(
            "{} client connections at the run's snapshot ({} busy), {} of max_connections (goal < {})",
            num(p.connections),
            p.busy.map_or("?".into(), num),
            pct(p.utilisation),
            pct(POOL_ALERT)
        ),
        action: "A pool (PgBouncer or the application's) in front of the server, or fewer idle sessions: new connections will soon be refused.".into(),
        anchor: anchor.to_string(),
        score: score(Rule::PoolSaturation, p.utilisation / POOL_ALERT - 1.0),
    })
}

/// CPU busy share of one host over a run's window.
pub struct Cpu<'a> {
    pub host: &'a str,
    pub mean: f64,
    pub p95: f64,
    pub max: f64,
}

pub fn cpu_saturation(scope: &str, c: &Cpu, anchor: &str) -> Option<Recommendation> {
    if !c.mean.is_finite() || !c.p95.is_finite() || (c.mean < CPU_TARGET && c.p95 < CPU_ALERT) {
        return None;
    }
    let excess = (c.mean / CPU_TARGET).max(c.p95 / CPU_ALERT) - 1.0;
    Some(Recommendation {
        rule: Rule::CpuSaturation,
        title: format!("{scope} · {}: CPU busy {} on average", c.host, pct(c.mean)),
        evidence: format!(
            "CPU busy {} on average over the run, p95 {}, max {} (goal < {} average, alert > {})",
            pct(c.mean),
            pct(c.p95),
            pct(c.max),
            pct(CPU_TARGET),
            pct(CPU_ALERT)
        ),
        action: "The host under test is saturated: latencies measured now include queueing for CPU. Profile the service (or the load generator, if it shares the host), or give it more cores before reading the run's latency as the service's.".into(),
        anchor: anchor.to_string(),
        score: score(Rule::CpuSaturation, excess),
    })
}

/// p50 and p99 of one endpoint of a run.
pub struct Tail<'a> {
    pub target: &'a str,
    pub requests: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn tail_latency(scope: &str, t: &Tail, anchor: &str) -> Option<Recommendation> {
    if t.requests < TAIL_MIN_REQUESTS || t.p50_ms <= 0.0 || !t.p99_ms.is_finite() {
        return None;
    }
    let ratio = t.p99_ms / t.p50_ms;
    if ratio < TAIL_RATIO {
        return None;
    }
    Some(Recommendation {
        rule: Rule::TailLatency,
        title: format!("{scope} · {}: p99 is {ratio:.1}x the median", t.target),
        evidence: format!(
            "p50 {} ms, p99 {} ms over {} requests (rule: p99 >= {TAIL_RATIO}x p50)",
            num(t.p50_ms),
            num(t.p99_ms),
            num(t.requests)
        ),
        action: "The slowest 1% are another population: look for what only some requests hit (a cache miss, a lock, a pool wait, GC).".into(),
        anchor: anchor.to_string(),
        score: score(Rule::TailLatency, ratio / TAIL_RATIO - 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_saturation_fires_on_the_average_or_the_p95() {
        let c = |mean, p95| Cpu {
            host: "h",
            mean,
            p95,
            max: p95,
        };
        assert!(cpu_saturation("r", &c(0.5, 0.8), "a").is_none());
        assert!(cpu_saturation("r", &c(0.72, 0.8), "a").is_some());
        assert!(cpu_saturation("r", &c(0.5, 0.95), "a").is_some());
        assert!(cpu_saturation("r", &c(f64::NAN, 0.95), "a").is_none());
    }

    fn lp(load: f64, throughput: f64, latency_ms: f64) -> LoadPoint {
        LoadPoint {
            load,
            throughput,
            latency_ms,
        }
    }

    #[test]
    fn saturation_needs_flat_throughput_and_rising_latency() {
        let sat = [
            lp(2.0, 190.0, 10.0),
            lp(4.0, 198.0, 20.0),
            lp(8.0, 200.0, 40.0),
        ];
        let r = saturation("k6", &load_levels(&sat), "x").expect("fires");
        assert!(
            r.evidence.starts_with("4 users: 198 req/s"),
            "{}",
            r.evidence
        );
        // throughput following the users: no saturation
        let ok = [lp(2.0, 10.0, 5.0), lp(4.0, 20.0, 5.0), lp(8.0, 40.0, 5.1)];
        assert!(saturation("k6", &load_levels(&ok), "x").is_none());
        // less than twice the users between levels: nothing to compare
        assert!(saturation(
            "k6",
            &load_levels(&[lp(4.0, 200.0, 10.0), lp(6.0, 200.0, 30.0)]),
            "x"
        )
        .is_none());
        // NaN and zero-load seconds are left out
        assert_eq!(
            load_levels(&[lp(0.0, 1.0, 1.0), lp(1.0, f64::NAN, 1.0)]),
            vec![]
        );
    }

    #[test]
    fn error_rule_needs_rate_and_concentration() {
        let e = |t: &str, k: &str, n| (t.to_string(), k.to_string(), n);
        let r = error_concentration(
            "k6",
            &[e("checkout", "500", 24), e("users", "timeout", 1)],
            600.0,
            "x",
        )
        .unwrap();
        assert!(
            r.title.contains("96.0% of the errors are 500 on checkout"),
            "{}",
            r.title
        );
        // spread over endpoints
        assert!(
            error_concentration("k6", &[e("a", "500", 5), e("b", "500", 5)], 600.0, "x").is_none()
        );
        // under the alert rate
        assert!(error_concentration("k6", &[e("a", "500", 5)], 600.0, "x").is_none());
    }

    #[test]
    fn pool_rule_fires_from_the_guide_threshold_on() {
        let p = |u| Pool {
            server: "db",
            utilisation: u,
            connections: 80.0,
            busy: Some(3.0),
        };
        assert!(pool_saturation("run 1", &p(0.8), "x").is_some());
        assert!(pool_saturation("run 1", &p(0.79), "x").is_none());
        assert!(pool_saturation("run 1", &p(f64::NAN), "x").is_none());
    }

    #[test]
    fn tail_rule_needs_requests_and_ratio() {
        let t = |req, p50, p99| Tail {
            target: "GET /",
            requests: req,
            p50_ms: p50,
            p99_ms: p99,
        };
        assert!(tail_latency("wrk", &t(5000.0, 2.0, 81.0), "x").is_some());
        assert!(tail_latency("wrk", &t(500.0, 2.0, 81.0), "x").is_none());
        assert!(tail_latency("wrk", &t(5000.0, 2.0, 9.0), "x").is_none());
    }

    #[test]
    fn ranking_puts_goals_first_and_is_stable() {
        let t = Tail {
            target: "GET /",
            requests: 5000.0,
            p50_ms: 2.0,
            p99_ms: 1000.0,
        };
        let tail = tail_latency("wrk", &t, "x").unwrap();
        let goal = goal_projection(&Projection {
            goal: "p95",
            series: "s",
            misses: true,
            text: "t",
            anchor: "a",
        })
        .unwrap();
        let ranked = rank(vec![tail.clone(), goal.clone()]);
        assert_eq!(ranked, vec![goal, tail.clone()]);
        // the bonus for excess never lifts a rule over the next weight
        assert!(tail.score < Rule::Saturation.weight());
    }
}
