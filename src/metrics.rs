//! The metric registry: every stable metric name perfledger gives meaning to, with its unit,
//! the direction that is better, and the quantile a latency percentile stands for. Importers
//! write these names; analysis, goals, reports and outputs read them from here, so a name is
//! spelled once. A metric that is not registered (a k6 custom metric, a generic series) is
//! still stored and compared; it reads as lower-is-better unless its last dot-segment is a
//! registered higher-is-better name.

/// The run-wide target every run has.
pub const TOTAL: &str = "TOTAL";

pub const REQUESTS: &str = "requests";
pub const FAILURES: &str = "failures";
pub const ERROR_RATE: &str = "error_rate";
pub const SUCCESS_RATE: &str = "success_rate";
pub const THROUGHPUT: &str = "throughput_rps";
pub const LATENCY_MEAN: &str = "latency_mean_ms";
pub const LATENCY_P50: &str = "latency_p50_ms";
pub const LATENCY_P90: &str = "latency_p90_ms";
pub const LATENCY_P95: &str = "latency_p95_ms";
pub const LATENCY_P99: &str = "latency_p99_ms";
pub const LATENCY_MAX: &str = "latency_max_ms";
pub const BYTES_RECEIVED: &str = "bytes_received";
pub const MEAN_EXEC_TIME: &str = "mean_exec_time_ms";
pub const CACHE_HIT_RATIO: &str = "cache_hit_ratio";
/// System resources (`import prometheus`): the mean over the run's window; `_p95` and
/// `_max` of the same series beside it.
pub const CPU_BUSY: &str = "cpu_busy_ratio";
pub const MEM_USED: &str = "mem_used_ratio";

/// Whether a smaller value of the metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
}

impl Direction {
    /// Whether a relative change (after / before - 1) is for the worse.
    pub fn is_worse(self, relative_change: f64) -> bool {
        match self {
            Direction::LowerIsBetter => relative_change > 0.0,
            Direction::HigherIsBetter => relative_change < 0.0,
        }
    }
}

/// One registered metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub direction: Direction,
    /// The quantile a latency percentile stands for.
    pub quantile: Option<f64>,
}

const fn lower(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        direction: Direction::LowerIsBetter,
        quantile: None,
    }
}

const fn higher(name: &'static str, unit: &'static str) -> Metric {
    Metric {
        name,
        unit,
        direction: Direction::HigherIsBetter,
        quantile: None,
    }
}

const fn pct(name: &'static str, q: f64) -> Metric {
    Metric {
        name,
        unit: "ms",
        direction: Direction::LowerIsBetter,
        quantile: Some(q),
    }
}

/// Every metric with a meaning of its own.
pub const REGISTRY: &[Metric] = &[
    higher(REQUESTS, "requests"),
    lower(FAILURES, "requests"),
    lower(ERROR_RATE, "ratio"),
    higher(SUCCESS_RATE, "ratio"),
    higher(THROUGHPUT, "req/s"),
    lower(LATENCY_MEAN, "ms"),
    pct(LATENCY_P50, 0.50),
    pct(LATENCY_P90, 0.90),
    pct(LATENCY_P95, 0.95),
    pct(LATENCY_P99, 0.99),
    pct("latency_p999_ms", 0.999),
    lower(LATENCY_MAX, "ms"),
    lower(BYTES_RECEIVED, "bytes"),
    higher("calls", "calls"),
    lower("total_exec_time_ms", "ms"),
    lower(MEAN_EXEC_TIME, "ms"),
    lower("stddev_exec_time_ms", "ms"),
    lower("rows", "rows"),
    higher(CACHE_HIT_RATIO, "ratio"),
    higher("rate", "ratio"),
    higher("passes", "checks"),
    higher("db_cache_hit_ratio", "ratio"),
    lower("db_rollback_ratio", "ratio"),
    lower("db_deadlocks", "count"),
    lower("db_temp_bytes", "bytes"),
    higher("db_transactions_per_s", "tx/s"),
    lower("db_connections", "connections"),
    lower("db_connections_busy", "connections"),
    lower("db_pool_utilisation", "ratio"),
    higher("db_replicas", "replicas"),
    lower("db_replication_lag_ms", "ms"),
    lower("db_replication_lag_bytes", "bytes"),
    lower(CPU_BUSY, "ratio"),
    lower("cpu_core_busy_ratio", "ratio"),
    lower(MEM_USED, "ratio"),
    lower("disk_read_bps", "bytes/s"),
    lower("disk_write_bps", "bytes/s"),
    lower("disk_read_iops", "ops/s"),
    lower("disk_write_iops", "ops/s"),
    lower("net_rx_bps", "bytes/s"),
    lower("net_tx_bps", "bytes/s"),
    lower("process_cpu_cores", "cores"),
    lower("process_rss_bytes", "bytes"),
    lower("cgroup_cpu_cores", "cores"),
    lower("cgroup_mem_bytes", "bytes"),
];

/// Database health of the server a run's snapshot was taken of (the `pg_health_metric`
/// view; target = the server): the interval ending at the snapshot, and its connections.
pub const DB_HEALTH_METRICS: [&str; 11] = [
    "db_cache_hit_ratio",
    "db_rollback_ratio",
    "db_deadlocks",
    "db_temp_bytes",
    "db_transactions_per_s",
    "db_connections",
    "db_connections_busy",
    "db_pool_utilisation",
    "db_replicas",
    "db_replication_lag_ms",
    "db_replication_lag_bytes",
];

/// Where a metric stands in [`REGISTRY`] (unregistered names last): the order a reader
/// expects them in (requests before latency, CPU before memory before disk before network).
pub fn rank(name: &str) -> usize {
    REGISTRY
        .iter()
        .position(|r| r.name == name)
        .unwrap_or(usize::MAX)
}

/// The registered metric of this name.
pub fn get(name: &str) -> Option<&'static Metric> {
    REGISTRY.iter().find(|m| m.name == name)
}

/// Which way is better; unregistered names by their last dot-segment (`checks.rate`).
pub fn direction(name: &str) -> Direction {
    let last = name.rsplit('.').next().unwrap_or(name);
    get(name)
        .or_else(|| get(last))
        .map_or(Direction::LowerIsBetter, |m| m.direction)
}

/// The quantile a latency metric name stands for.
pub fn quantile(name: &str) -> Option<f64> {
    get(name).and_then(|m| m.quantile)
}

/// The percent a `latency_p<digits>_ms` name stands for, registered or not: `p50` 50,
/// `p66` 66, `p999` 99.9, `p9999` 99.99 (digits after a leading 99 are decimals).
pub fn percent_of(name: &str) -> Option<f64> {
    let d = name.strip_prefix("latency_p")?.strip_suffix("_ms")?;
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = match d.strip_prefix("99") {
        Some(rest) if !rest.is_empty() => format!("99.{rest}"),
        _ => d.to_string(),
    };
    text.parse().ok().filter(|p: &f64| *p > 0.0 && *p < 100.0)
}

/// The unit a chart or table shows for a metric.
pub fn unit(name: &str) -> &'static str {
    get(name).map_or("", |m| m.unit)
}

/// The group a metric belongs to for settings such as `--min-abs-effect latency=0.5ms`:
/// `latency` for every `latency_*` metric.
pub fn group(name: &str) -> Option<&'static str> {
    name.starts_with("latency_").then_some("latency")
}

/// Absolute floors by default (metric or group, in the metric's unit): a change smaller than
/// this is never a regression, whatever its relative size. 0.25 ms keeps a 0.33 ms endpoint
/// that got 0.17 ms slower from failing a build on CI noise; 0.001 is 0.1 percentage point
/// of error rate (1 request in 1,000).
pub const DEFAULT_ABS_FLOORS: [(&str, f64); 2] = [("latency", 0.25), (ERROR_RATE, 0.001)];

/// Run-to-run noise (coefficient of variation) assumed for a single-run comparison when the
/// warehouse holds fewer than 5 runs of the series: about the largest seen on the A/A
/// captures of fixtures/aa (16 runs each of k6 per endpoint and TOTAL, and wrk TOTAL): p50,
/// mean and throughput 0.3-4.4%, p90 0.7-7.5%, p95 1.6-17.5%, p99 3.4-33.6%.
pub fn run_noise_prior(name: &str) -> f64 {
    match name {
        LATENCY_P50 | LATENCY_MEAN | THROUGHPUT => 0.05,
        LATENCY_P90 | LATENCY_P95 => 0.15,
        _ => 0.30,
    }
}

/// The least run-to-run noise a single-run comparison assumes, whatever a quiet history
/// says: runs on one machine an hour apart differ by at least this much.
pub fn run_noise_floor(name: &str) -> f64 {
    match name {
        LATENCY_P50 | LATENCY_MEAN | THROUGHPUT => 0.01,
        _ => 0.02,
    }
}

/// The metrics compare and check look at by default, in display order. p99 is compared when
/// asked for (`--metric latency_p99_ms`) but does not gate by default: on 16 runs of one
/// unchanged server (fixtures/aa) one run's p99 was 2.7x the others'.
pub const KEY_METRICS: [&str; 7] = [
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_MEAN,
    THROUGHPUT,
    ERROR_RATE,
    MEAN_EXEC_TIME,
    CACHE_HIT_RATIO,
];

/// Metrics that come from pg_stat_statements snapshots attached to runs (columns of the
/// `pg_statement_delta` view).
pub const STATEMENT_METRICS: [&str; 6] = [
    "calls",
    "total_exec_time_ms",
    MEAN_EXEC_TIME,
    "stddev_exec_time_ms",
    "rows",
    CACHE_HIT_RATIO,
];

/// Per-target columns of `show` and the run report, in the order a reader scans them.
pub const TARGET_METRICS: [&str; 11] = [
    REQUESTS,
    FAILURES,
    ERROR_RATE,
    THROUGHPUT,
    LATENCY_MEAN,
    LATENCY_P50,
    LATENCY_P90,
    LATENCY_P95,
    LATENCY_P99,
    LATENCY_MAX,
    BYTES_RECEIVED,
];

/// The series a period report reviews for each tool and scenario (units from `unit`).
pub const REVIEW_METRICS: [&str; 3] = [LATENCY_P95, THROUGHPUT, ERROR_RATE];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_quantiles() {
        assert_eq!(direction(THROUGHPUT), Direction::HigherIsBetter);
        assert_eq!(direction("checks.rate"), Direction::HigherIsBetter);
        assert_eq!(direction("my_custom_trend"), Direction::LowerIsBetter);
        assert_eq!(quantile(LATENCY_P95), Some(0.95));
        assert_eq!(quantile(LATENCY_MEAN), None);
        let mut names: Vec<_> = REGISTRY.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len(), "a name is registered once");
    }

    #[test]
    fn percent_names() {
        assert_eq!(percent_of("latency_p50_ms"), Some(50.0));
        assert_eq!(percent_of("latency_p66_ms"), Some(66.0));
        assert_eq!(percent_of("latency_p99_ms"), Some(99.0));
        assert_eq!(percent_of("latency_p999_ms"), Some(99.9));
        assert_eq!(percent_of("latency_p9999_ms"), Some(99.99));
        assert_eq!(percent_of("latency_mean_ms"), None);
        assert_eq!(percent_of("latency_p_ms"), None);
    }
}
