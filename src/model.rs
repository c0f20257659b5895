//! What an importer produces: a tool-neutral description of one run (or one
//! pg_stat_statements snapshot), written to the warehouse in one transaction.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use hdrhistogram::Histogram;

pub use crate::metrics::TOTAL;

/// A `KEY=VALUE` label (trimmed; the key must not be empty).
pub fn parse_label(s: &str) -> crate::error::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(crate::error::Error::Usage(format!(
            "label '{s}' must be KEY=VALUE, e.g. branch=main"
        ))),
    }
}

/// Largest latency a histogram records: one hour in microseconds. Longer values saturate.
pub const HIST_MAX_US: u64 = 3_600_000_000;
/// Two significant digits: every recorded value is kept within 1% relative error.
pub const HIST_SIGFIG: u8 = 2;

/// A new, empty latency histogram (microseconds).
#[expect(clippy::expect_used, reason = "constant bounds, valid by construction")]
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, HIST_SIGFIG)
        .expect("static histogram bounds are valid")
}

/// Records a latency given in milliseconds; sub-microsecond values count as 1 us.
pub fn record_ms(h: &mut Histogram<u64>, ms: f64, count: u64) {
    if ms.is_finite() && ms >= 0.0 {
        let us = (ms * 1000.0).round().max(1.0) as u64;
        h.saturating_record_n(us, count);
    }
}

/// How a tool turns its samples into a percentile. perfledger computes percentiles from a
/// run's histogram with the rule of the tool that wrote the samples, so that a run gives the
/// same percentile (within the histogram's 1%) whichever of its files was imported: at a gap
/// in the distribution (a fast and a slow endpoint under one TOTAL) the rules differ by the
/// whole gap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PercentileRule {
    /// The smallest value with at least q of the samples at or below it (HdrHistogram's
    /// `value_at_quantile`): wrk, Locust, pgbench.
    #[default]
    NearestRank,
    /// ab (`ab.c`, its percentile table): the sample at 0-based index floor(n q) of the sorted
    /// samples, one rank above the nearest rank when n q is whole.
    FloorIndex,
    /// hey (`requester/report.go`, `latencies`): the sample at 0-based index ceil(n q) of the
    /// sorted samples (the first index i with floor(100 i / n) >= 100 q), capped at the last;
    /// one rank above the nearest rank unless n q is whole.
    CeilIndex,
    /// JMeter's Aggregate Report (`StatCalculator.getPercentPoint`): the value of 1-based rank
    /// round(n q) (Java's `Math.round`, halves up; rank 0 reads as the first value, q >= 1 as
    /// the maximum).
    RoundedRank,
    /// k6 (`TrendSink.P`): rank i = q (n - 1), linear interpolation between the values at
    /// floor(i) and ceil(i) of the sorted samples (numpy's "linear").
    LinearBetweenRanks,
}

impl PercentileRule {
    /// The q-quantile of `h` in microseconds.
    pub fn quantile_us(self, h: &Histogram<u64>, q: f64) -> f64 {
        match self {
            PercentileRule::NearestRank => h.value_at_quantile(q) as f64,
            PercentileRule::FloorIndex => {
                let n = h.len();
                let r = ((q.clamp(0.0, 1.0) * n as f64).floor() as u64).min(n.saturating_sub(1));
                value_at_rank(h, r)
            }
            PercentileRule::CeilIndex => {
                let n = h.len();
                let r = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).min(n.saturating_sub(1));
                value_at_rank(h, r)
            }
            PercentileRule::RoundedRank => {
                let n = h.len();
                if q >= 1.0 {
                    return h.max() as f64;
                }
                let rank = (q.max(0.0) * n as f64 + 0.5).floor() as u64;
                value_at_rank(h, rank.clamp(1, n.max(1)) - 1)
            }
            PercentileRule::LinearBetweenRanks => {
                let n = h.len();
                if n <= 1 {
                    return h.value_at_quantile(q) as f64;
                }
                let i = q.clamp(0.0, 1.0) * (n - 1) as f64;
                let (lo, hi) = (i.floor() as u64, i.ceil() as u64);
                let (a, b) = (value_at_rank(h, lo), value_at_rank(h, hi));
                a + (b - a) * (i - i.floor())
            }
        }
    }
}

/// The value of the sample at 0-based rank `r` of the sorted samples (the highest value of
/// its histogram bucket, as `value_at_quantile` gives it).
fn value_at_rank(h: &Histogram<u64>, r: u64) -> f64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen > r {
            return h.highest_equivalent(v.value_iterated_to()) as f64;
        }
    }
    h.max() as f64
}

/// The load a run was asked to generate. `None` means the output does not say.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LoadProfile {
    pub users: Option<i64>,
    pub spawn_rate: Option<f64>,
    pub threads: Option<i64>,
    pub connections: Option<i64>,
    pub requests_planned: Option<i64>,
    pub target_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Http,
    Transaction,
    Metric,
    Total,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Http => "http",
            TargetKind::Transaction => "transaction",
            TargetKind::Metric => "metric",
            TargetKind::Total => "total",
        }
    }
}

/// One endpoint / request name / tag set, with the numbers the tool reported for it.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    pub method: Option<String>,
    pub url: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    /// metric name -> (value, unit); only what the tool reported or what its samples give.
    pub metrics: BTreeMap<String, (f64, &'static str)>,
    pub histogram: Option<Histogram<u64>>,
}

impl Target {
    pub fn new(name: impl Into<String>, kind: TargetKind) -> Self {
        Target {
            name: name.into(),
            kind,
            method: None,
            url: None,
            tags: None,
            metrics: BTreeMap::new(),
            histogram: None,
        }
    }

    pub fn total() -> Self {
        Target::new(TOTAL, TargetKind::Total)
    }

    /// Sets a metric when the value is present and finite; NaN or None leaves it unreported.
    pub fn set(&mut self, metric: &str, value: Option<f64>, unit: &'static str) -> &mut Self {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.metrics.insert(metric.to_string(), (v, unit));
        }
        self
    }

    pub fn get(&self, metric: &str) -> Option<f64> {
        self.metrics.get(metric).map(|(v, _)| *v)
    }

    /// Requests and failures give the error rate, when the tool reported both.
    pub fn derive_error_rate(&mut self) {
        if self.get("error_rate").is_none() {
            if let (Some(r), Some(f)) = (self.get("requests"), self.get("failures")) {
                if r > 0.0 {
                    self.set("error_rate", Some(f / r), "ratio");
                }
            }
        }
    }

    /// Fills latency metrics from the histogram where the tool did not report them itself,
    /// with the percentile definition of the tool that wrote the samples.
    pub fn derive_from_histogram(&mut self, rule: PercentileRule) {
        // a custom metric's histogram holds its values (a k6 Trend), not request latencies
        if self.kind == TargetKind::Metric {
            return;
        }
        let Some(h) = self.histogram.as_ref() else {
            return;
        };
        if h.is_empty() {
            return;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        let pairs = [
            ("latency_min_ms", ms(h.min())),
            ("latency_max_ms", ms(h.max())),
            ("latency_mean_ms", h.mean() / 1000.0),
            ("latency_stddev_ms", h.stdev() / 1000.0),
            ("latency_p50_ms", rule.quantile_us(h, 0.50) / 1000.0),
            ("latency_p90_ms", rule.quantile_us(h, 0.90) / 1000.0),
            ("latency_p95_ms", rule.quantile_us(h, 0.95) / 1000.0),
            ("latency_p99_ms", rule.quantile_us(h, 0.99) / 1000.0),
            ("latency_p999_ms", rule.quantile_us(h, 0.999) / 1000.0),
        ];
        for (name, v) in pairs {
            if self.get(name).is_none() {
                self.set(name, Some(v), "ms");
            }
        }
    }
}

/// One point of the tool's interval data.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    /// shared by a target's points: a long run has millions of them
    pub target: std::sync::Arc<str>,
    pub ts: NaiveDateTime,
    pub metric: &'static str,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorCount {
    pub target: String,
    pub kind: &'static str,
    pub message: String,
    pub count: i64,
}

impl ErrorCount {
    /// `n` responses of a non-2xx HTTP status, as hey and oha count them.
    pub fn http_status(target: &str, code: impl std::fmt::Display, n: i64) -> Self {
        ErrorCount {
            target: target.to_string(),
            kind: "status",
            message: format!("HTTP {code}"),
            count: n,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    pub metric: String,
    pub expression: String,
    pub passed: bool,
}

/// A source file and its role in the run.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub role: &'static str,
    /// BLAKE3 of the file's bytes, hex
    pub blake3: String,
    pub bytes: u64,
}

/// The most metric columns a [`SeriesBatch`] row carries (`series_wide` has this many).
pub const SERIES_COLUMNS: usize = 12;

/// A batch of series points as rows: each row one target at one time with a value per metric
/// column (a Locust history line: ten metrics of one endpoint at one second). A NaN cell is a
/// metric the row does not have. Stored as rows of `series_wide` (schema/013), a point per
/// cell in `series_point`.
#[derive(Debug, Default)]
pub struct SeriesBatch {
    /// `target[r]` indexes this
    pub targets: Vec<std::sync::Arc<str>>,
    /// the metric of each value column, at most [`SERIES_COLUMNS`]
    pub metrics: Vec<&'static str>,
    pub target: Vec<u32>,
    /// microseconds since the epoch, per row
    pub ts_us: Vec<i64>,
    /// per metric column, per row
    pub columns: Vec<Vec<f64>>,
}

impl SeriesBatch {
    pub fn new(metrics: Vec<&'static str>) -> Self {
        debug_assert!(metrics.len() <= SERIES_COLUMNS);
        SeriesBatch {
            columns: vec![Vec::new(); metrics.len()],
            metrics,
            ..Default::default()
        }
    }
    /// Rows (not points).
    pub fn len(&self) -> usize {
        self.ts_us.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ts_us.is_empty()
    }
    /// Every point, rows in order and each row's metrics in column order: the order they are
    /// stored and published in.
    pub fn points(&self) -> impl Iterator<Item = (&str, &'static str, i64, f64)> + '_ {
        (0..self.len()).flat_map(move |r| {
            self.metrics
                .iter()
                .zip(&self.columns)
                .filter(move |(_, c)| !c[r].is_nan())
                .map(move |(m, c)| {
                    (
                        &*self.targets[self.target[r] as usize],
                        *m,
                        self.ts_us[r],
                        c[r],
                    )
                })
        })
    }
}

/// Reads a run's series again from their file and hands them over in batches; memory stays at
/// one batch whatever the file's length.
pub type FeedFn = dyn Fn(&mut dyn FnMut(SeriesBatch) -> crate::error::Result<()>) -> crate::error::Result<()>
    + Send
    + Sync;

/// A series source that is read when the run is stored (see [`FeedFn`]), with a time shift
/// (`import --at` moves a run timed from its file's modification time).
#[derive(Clone)]
pub struct SeriesFeed {
    pub read: std::sync::Arc<FeedFn>,
    pub shift_us: i64,
}

impl std::fmt::Debug for SeriesFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeriesFeed(shift {} us)", self.shift_us)
    }
}

impl SeriesFeed {
    pub fn new(read: std::sync::Arc<FeedFn>) -> Self {
        SeriesFeed { read, shift_us: 0 }
    }

    /// Every batch, shifted.
    pub fn each(
        &self,
        sink: &mut dyn FnMut(SeriesBatch) -> crate::error::Result<()>,
    ) -> crate::error::Result<()> {
        let shift = self.shift_us;
        (self.read)(&mut |mut b: SeriesBatch| {
            if shift != 0 {
                b.ts_us.iter_mut().for_each(|t| *t += shift);
            }
            sink(b)
        })
    }
}

#[derive(Debug, Clone)]
pub struct ParsedRun {
    pub tool: &'static str,
    /// The importer(s) that read it, e.g. `k6-ndjson` or `k6-ndjson+k6-summary-export`.
    pub format: std::borrow::Cow<'static, str>,
    pub tool_version: Option<String>,
    pub scenario: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub ended_at: Option<NaiveDateTime>,
    pub duration_s: Option<f64>,
    pub url: Option<String>,
    pub load: LoadProfile,
    pub labels: BTreeMap<String, String>,
    pub targets: Vec<Target>,
    pub series: Vec<SeriesPoint>,
    /// Series too long to hold in memory (a day-long Locust history): read again from their
    /// file, in batches, while the run is stored.
    pub series_feed: Option<SeriesFeed>,
    pub errors: Vec<ErrorCount>,
    pub thresholds: Vec<ThresholdResult>,
    pub sources: Vec<SourceFile>,
    /// Distinguishes several runs cut from one file (generic series rows).
    pub key_suffix: Option<String>,
    /// What the importer skipped and the user should know (shown by `import`, not stored).
    pub warnings: Vec<String>,
    /// The tool's percentile definition, for percentiles computed from histograms.
    pub percentile_rule: PercentileRule,
}

impl ParsedRun {
    pub fn new(tool: &'static str, format: &'static str) -> Self {
        ParsedRun {
            tool,
            format: format.into(),
            tool_version: None,
            scenario: None,
            started_at: None,
            ended_at: None,
            duration_s: None,
            url: None,
            load: LoadProfile::default(),
            labels: BTreeMap::new(),
            targets: Vec::new(),
            series: Vec::new(),
            series_feed: None,
            errors: Vec::new(),
            thresholds: Vec::new(),
            sources: Vec::new(),
            key_suffix: None,
            warnings: Vec::new(),
            percentile_rule: PercentileRule::default(),
        }
    }

    pub fn target_mut(&mut self, name: &str) -> Option<&mut Target> {
        self.targets.iter_mut().find(|t| t.name == name)
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// A single-URL tool's run: its one target, and the same figures as TOTAL.
    pub fn set_single_target(&mut self, t: Target) {
        let mut total = t.clone();
        total.name = TOTAL.into();
        total.kind = TargetKind::Total;
        self.targets = vec![total, t];
    }

    /// TOTAL's per-second requests and mean latency from (second, (requests, latency sum ms)).
    pub fn push_per_second(&mut self, per_second: std::collections::BTreeMap<i64, (u64, f64)>) {
        for (sec, (n, sum)) in per_second {
            let Some(ts) = chrono::DateTime::from_timestamp(sec, 0).map(|d| d.naive_utc()) else {
                continue;
            };
            self.series.push(SeriesPoint {
                target: TOTAL.into(),
                ts,
                metric: "requests",
                value: n as f64,
            });
            if n > 0 {
                self.series.push(SeriesPoint {
                    target: TOTAL.into(),
                    ts,
                    metric: "latency_mean_ms",
                    value: sum / n as f64,
                });
            }
        }
    }

    /// Derived values every run gets the same way (error rate, histogram percentiles).
    pub fn finish(&mut self) {
        for t in &mut self.targets {
            t.derive_from_histogram(self.percentile_rule);
            t.derive_error_rate();
        }
        if self.duration_s.is_none() {
            if let (Some(a), Some(b)) = (self.started_at, self.ended_at) {
                self.duration_s = Some((b - a).num_milliseconds() as f64 / 1000.0);
            }
        }
    }
}

/// One row of pg_stat_statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub queryid: String,
    pub userid: String,
    pub dbid: String,
    pub toplevel: Option<bool>,
    pub query: String,
    pub calls: i64,
    pub total_exec_time_ms: f64,
    pub rows: Option<i64>,
    pub shared_blks_hit: Option<i64>,
    pub shared_blks_read: Option<i64>,
    /// The server's population standard deviation of the execution time since its reset
    /// (`stddev_exec_time`, 12: `stddev_time`): with calls and the total it gives the sum of
    /// squares, so an interval's own spread can be recovered from two snapshots.
    pub stddev_exec_time_ms: Option<f64>,
    /// Every other column the server has (planning, WAL, temp, JIT ...), as a JSON object.
    pub extra: Option<String>,
}

/// The columns a [`Statement`] has fields for; the others go to its `extra`.
pub const STATEMENT_COLUMNS: [&str; 13] = [
    "queryid",
    "userid",
    "dbid",
    "toplevel",
    "query",
    "calls",
    "total_exec_time",
    "total_time",
    "rows",
    "shared_blks_hit",
    "shared_blks_read",
    "stddev_exec_time",
    "stddev_time",
];

/// The columns of a row not in [`STATEMENT_COLUMNS`] as a JSON object (numbers as numbers),
/// or None when there are none.
pub fn statement_extra<'a>(
    cols: impl Iterator<Item = (&'a str, serde_json::Value)>,
) -> Option<String> {
    let m: serde_json::Map<String, serde_json::Value> = cols
        .filter(|(k, _)| !STATEMENT_COLUMNS.contains(k))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    (!m.is_empty()).then(|| serde_json::Value::Object(m).to_string())
}

/// One row of pg_stat_database: counters since its `stats_reset`.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseStat {
    pub datname: String,
    pub xact_commit: i64,
    pub xact_rollback: i64,
    pub blks_read: i64,
    pub blks_hit: i64,
    pub temp_files: i64,
    pub temp_bytes: i64,
    pub deadlocks: i64,
    pub stats_reset: Option<NaiveDateTime>,
}

/// Client connections of pg_stat_activity in one state, and the server's max_connections.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionCount {
    pub state: String,
    pub count: i64,
    pub max_connections: i64,
}

/// One standby of pg_stat_replication: its lags (NULL while it has nothing to catch up on, or
/// without pg_read_all_stats) and the WAL bytes it has yet to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaStat {
    pub application_name: String,
    pub client_addr: Option<String>,
    /// None: the role may not see it (no pg_read_all_stats).
    pub state: Option<String>,
    pub sync_state: Option<String>,
    pub write_lag_ms: Option<f64>,
    pub flush_lag_ms: Option<f64>,
    pub replay_lag_ms: Option<f64>,
    pub lag_bytes: Option<i64>,
}

/// One query plan (`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`), as stored with a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    /// The statement, normalised as pg_stat_statements writes it.
    pub statement: String,
    /// As it was explained.
    pub query: String,
    pub shape: String,
    /// The hottest node and its exclusive time in ms.
    pub top_node: String,
    pub top_node_ms: f64,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
    /// The plan as PostgreSQL wrote it.
    pub json: String,
}

#[derive(Debug, Clone)]
pub struct ParsedSnapshot {
    pub server: String,
    pub taken_at: NaiveDateTime,
    pub stats_reset: Option<NaiveDateTime>,
    pub statements: Vec<Statement>,
    /// Live snapshots only: pg_stat_database rows (files of pg_stat_statements hold none).
    pub databases: Vec<DatabaseStat>,
    pub connections: Vec<ConnectionCount>,
    /// Live snapshots of a primary with standbys: pg_stat_replication.
    pub replicas: Vec<ReplicaStat>,
    /// `snapshot postgres --explain SQL`: the plans taken with it.
    pub plans: Vec<QueryPlan>,
    /// What the reader should know (statements the role may not see, ...): said, not stored.
    pub notes: Vec<String>,
    pub sources: Vec<SourceFile>,
}

/// One resource series of a capture: a metric of one target (a host, a core, a device)
/// at each step of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSeries {
    /// The instance (`127.0.0.1:9100`), with the labels that tell its series apart
    /// (`127.0.0.1:9100 cpu=0`).
    pub target: String,
    pub metric: String,
    pub unit: String,
    /// The query it came from (PromQL), for the report's provenance.
    pub query: String,
    /// (microseconds since the epoch, value), in time order; NaN and inf are left out.
    pub points: Vec<(i64, f64)>,
}

/// System resources over a window (`import prometheus`, a saved `query_range` response),
/// to be bound to the run of that window.
#[derive(Debug, Clone)]
pub struct ResourceCapture {
    /// The Prometheus URL or the file it was read from.
    pub source: String,
    pub started_at: NaiveDateTime,
    pub ended_at: NaiveDateTime,
    pub step_s: f64,
    pub series: Vec<ResourceSeries>,
    /// The files read (empty for a live query: its points are its content).
    pub sources: Vec<SourceFile>,
    /// What the reader should know (counters that went down and gave no point): said, not stored.
    pub notes: Vec<String>,
}

/// What one import unit (a file, or a Locust CSV set) yields.
#[derive(Debug, Clone)]
pub enum Parsed {
    Runs(Vec<ParsedRun>),
    Snapshot(ParsedSnapshot),
    Resources(ResourceCapture),
}

/// An endpoint's target name: method and name (`GET /api/users`), the method once when the
/// name already starts with it (k6 `tags: {name: 'GET /api/search'}`, a Locust request named
/// so), not "GET GET /api/search".
pub fn endpoint_name(method: &str, name: &str) -> String {
    let named = name
        .strip_prefix(method)
        .is_some_and(|rest| rest.starts_with(' '));
    if method.is_empty() || named {
        name.to_string()
    } else {
        format!("{method} {name}")
    }
}

#[cfg(test)]
mod percentile_tests {
    use super::{new_histogram, record_ms, PercentileRule};

    #[test]
    fn linear_between_ranks_is_numpys_linear_within_the_histograms_resolution() {
        // python3 -c "import numpy as np; x=[1,2,3,4,10,20,30,40];
        //   print([float(np.percentile(x,p,method='linear')) for p in (50,90,95,99)])"
        // numpy 2.4.6: [7.0, 33.0, 36.49999999999999, 39.3]
        let mut h = new_histogram();
        for ms in [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0] {
            record_ms(&mut h, ms, 1);
        }
        for (q, want) in [(0.5, 7.0), (0.9, 33.0), (0.95, 36.5), (0.99, 39.3)] {
            let got = PercentileRule::LinearBetweenRanks.quantile_us(&h, q) / 1000.0;
            assert!(
                (got - want).abs() <= 0.01 * want,
                "q{q}: {got} vs numpy {want}"
            );
        }
        // the nearest rank sits on one side of the gap: 4, not 7
        let nearest = PercentileRule::NearestRank.quantile_us(&h, 0.5) / 1000.0;
        assert!((nearest - 4.0).abs() <= 0.04, "{nearest}");
    }

    #[test]
    fn index_rules_sit_where_ab_and_hey_put_them() {
        // 1..=10 ms. hey (report.go): the first i with i*100/n >= p: p=50 -> i=5 (6 ms),
        // p=55 -> i=6 (7 ms). ab (ab.c): index floor(n q): 6 ms for both. The nearest rank:
        // the ceil(n q)-th value: 5 ms and 6 ms.
        let mut h = new_histogram();
        for ms in 1..=10 {
            record_ms(&mut h, f64::from(ms), 1);
        }
        for (rule, want) in [
            (PercentileRule::CeilIndex, [6.0, 7.0]),
            (PercentileRule::FloorIndex, [6.0, 6.0]),
            (PercentileRule::NearestRank, [5.0, 6.0]),
            // JMeter: rank round(n q): round(5) = 5 -> 5 ms, round(5.5) = 6 -> 6 ms
            (PercentileRule::RoundedRank, [5.0, 6.0]),
        ] {
            for (q, w) in [0.5, 0.55].into_iter().zip(want) {
                let got = rule.quantile_us(&h, q) / 1000.0;
                assert!((got - w).abs() <= 0.01 * w, "{rule:?} q{q}: {got} vs {w}");
            }
        }
        // the last sample caps both index rules
        assert!((PercentileRule::CeilIndex.quantile_us(&h, 1.0) / 1000.0 - 10.0).abs() < 0.1);
    }

    proptest::proptest! {
        #[test]
        fn linear_between_ranks_matches_the_exact_rule_on_raw_samples(
            xs in proptest::collection::vec(0.05f64..5000.0, 2..200),
            q in 0.0f64..1.0,
        ) {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let i = q * (sorted.len() - 1) as f64;
            let (a, b) = (sorted[i.floor() as usize], sorted[i.ceil() as usize]);
            let exact = a + (b - a) * (i - i.floor());
            let mut h = new_histogram();
            for x in &xs {
                record_ms(&mut h, *x, 1);
            }
            let got = PercentileRule::LinearBetweenRanks.quantile_us(&h, q) / 1000.0;
            // each rank's value is its HDR bucket's highest value: at most 1% (and 1 us) above
            proptest::prop_assert!(got >= exact * 0.999 - 0.001 && got <= exact * 1.01 + 0.002,
                "q {q}: {got} vs exact {exact}");
        }
    }
}

#[cfg(test)]
mod endpoint_tests {
    use super::endpoint_name;

    #[test]
    fn the_method_once() {
        assert_eq!(endpoint_name("GET", "/api/users"), "GET /api/users");
        assert_eq!(endpoint_name("GET", "GET /api/search"), "GET /api/search");
        // a name that only begins with the method's letters keeps it
        assert_eq!(endpoint_name("GET", "GETTER /x"), "GET GETTER /x");
        assert_eq!(endpoint_name("", "checkout"), "checkout");
    }
}
