//! Command-line types (clap derive), nothing else: each command validates its arguments
//! into a request of its own (`commands/`). The only name taken from elsewhere is the
//! default warehouse file (`store::DEFAULT_FILE`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `--format`: JUnit exists only for `check` and `compare`; elsewhere it is a usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
    Markdown,
    /// JUnit XML (check, compare)
    Junit,
    /// a short pull-request comment, stable for a bot to update in place (check, compare)
    Comment,
    /// GitLab's metrics report, metrics.txt (check, compare)
    GitlabMetrics,
    /// GitLab's Code Quality report, JSON (check, compare)
    Codequality,
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  internal error
  2  usage error (bad arguments)
  3  bad input: unreadable, malformed or unrecognised file, or a run with no results
  4  warehouse error: locked too long, newer schema, read-only or full disk
  5  check/compare: a regression was found or a goal failed
  6  an output (report folder, demo folder) could not be written

Examples:
  perfledger import results/                      # everything recognised in a folder
  perfledger import --label branch=main --label commit=abc123 k6-summary.json
  perfledger runs --tool k6 --label branch=main --limit 10
  perfledger show latest
  perfledger sql \"SELECT * FROM metrics WHERE metric = 'latency_p95_ms'\"
  perfledger demo";

#[derive(Parser, Debug)]
#[command(name = "perfledger", version, about = "A warehouse for performance-test results and a regression analyst on top of it", after_help = AFTER_HELP)]
pub struct Cli {
    /// The warehouse file (DuckDB).
    #[arg(
        long,
        global = true,
        env = "PERFLEDGER_DB",
        default_value = crate::store::DEFAULT_FILE
    )]
    pub db: PathBuf,

    /// No progress bars or notes on stderr (errors still are).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// A shared history for many machines: a folder (/mnt/perf, file:///mnt/perf) or
    /// s3://bucket/prefix (AWS_* variables for credentials, region and endpoint). Imports
    /// are written there first; the --db file becomes its local index.
    #[arg(long, global = true, env = "PERFLEDGER_LAKE", value_name = "URL")]
    pub lake: Option<String>,

    /// With --lake: read the local index as it is, without syncing it with the lake first.
    #[arg(long, global = true)]
    pub offline: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import tool output (files or folders); the format is detected from the content.
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// List runs, newest first.
    Runs(RunsArgs),
    /// One run: its summary and a per-target table.
    Show(ShowArgs),
    /// Run a read-only SQL query against the warehouse.
    #[command(after_help = SQL_HELP)]
    Sql(SqlArgs),
    /// Take a live pg_stat_statements snapshot.
    Snapshot(SnapshotArgs),
    /// Run a load tool and record everything as one run: its output, git labels, the host's
    /// resources while it ran and database snapshots before and after.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Compare a candidate against a baseline, per target and metric, with a verdict.
    #[command(after_help = COMPARE_HELP)]
    Compare(CompareArgs),
    /// The CI gate: a run against the goals in force on its date and against a baseline.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// A metric over runs: rolling median, Mann-Kendall trend, Theil-Sen slope, change points.
    #[command(after_help = TREND_HELP)]
    Trend(TrendArgs),
    /// Named baselines: set, list, show, delete.
    #[command(subcommand)]
    Baseline(BaselineCmd),
    /// Mark a known change (deploy, config) or acknowledge a regression so it stops alerting.
    Annotate(AnnotateArgs),
    /// HTML reports with PNG charts: a run, a comparison, a month, a quarter.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Bring the local index up to date with the lake (--lake): reads only files it has not seen.
    #[command(after_help = SYNC_HELP)]
    Sync(SyncArgs),
    /// Housekeeping of the shared lake: compact, vacuum, rebuild the index.
    #[command(subcommand, after_help = LAKE_HELP)]
    Lake(LakeCmd),
    /// Selected runs for other tools: OpenMetrics for Prometheus, or Parquet/CSV/JSON tables.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// Import the bundled real-tool fixtures into a fresh warehouse and show what perfledger does.
    Demo(DemoArgs),
    /// Shell completions on stdout, e.g. `perfledger completions bash > /etc/bash_completion.d/perfledger`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// The man page (roff) on stdout, e.g. `perfledger man > /usr/local/share/man/man1/perfledger.1`.
    Man,
}

const EXPORT_HELP: &str = "\
Formats:
  openmetrics  OpenMetrics text (stdout, or --out FILE): one gauge sample per run, target and
               metric at the run's end time (perfledger_<metric>, labels run, tool, scenario,
               target and the run's labels); latency histograms as classic buckets
               (perfledger_latency_ms_bucket) on a 0.5% grid. Ends with # EOF.
  remote-write Prometheus remote write 1.0 to --url (Prometheus with
               --web.enable-remote-write-receiver, Mimir, Thanos, Grafana Cloud...): the same
               gauges, and latency histograms as native histograms (schema 8, 0.27% buckets);
               Prometheus needs --enable-feature=native-histograms and accepts runs older than
               its newest sample only on a fresh TSDB (series are sent oldest first).
  parquet      one file per table in --out DIR (run, run_label, source_file, target,
  csv          measurement, histogram, series_point, error, threshold, pg_snapshot,
  json         pg_statement), rows named by run_key as in the lake; json is one object per
               line (.ndjson); histograms' HDR bytes are base64 in csv/json.

Examples:
  perfledger export openmetrics --out runs.om && promtool tsdb create-blocks-from openmetrics runs.om data/
  perfledger export openmetrics last:20 --tool k6 --label branch=main
  perfledger export remote-write --url http://127.0.0.1:9090/api/v1/write
  perfledger export parquet --since 2026-10-01 --out export/
  python -c \"import polars as pl; print(pl.read_parquet('export/measurement.parquet'))\"";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Openmetrics,
    /// Prometheus remote write (with native histograms) to --url
    RemoteWrite,
    Parquet,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(value_enum)]
    pub format: ExportFormat,
    /// Which runs: ids, latest, last:N, KEY=VALUE labels, a baseline name (default: every run
    /// of the filter).
    pub runs: Option<String>,
    #[command(flatten)]
    pub filter: RunFilterArgs,
    /// openmetrics: the file to write (default stdout); parquet/csv/json: the folder (required).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// remote-write: the receiver, e.g. http://127.0.0.1:9090/api/v1/write.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Subcommand, Debug)]
pub enum LakeCmd {
    /// Merge a month's small files into one per table and partition (safe while others write and read).
    Compact {
        /// The month, e.g. 2026-11 (`none` for runs without a start time).
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// Remove what killed imports and interrupted compactions left behind.
    Vacuum {
        /// Leave files younger than this alone (an import may still be writing them): 30m, 1h, 2d.
        #[arg(long, default_value = "1h")]
        older_than: String,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// Write the runs of the local index (--db) that the lake lacks: a warehouse joins a lake.
    Push {
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// Recreate the local index (--db) from the lake alone.
    Rebuild {
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
}

const SYNC_HELP: &str = "\
Analysis and report commands sync by themselves when --lake is given (unless --offline); sync
is for warming an index, or for seeing what a sync brings.

Examples:
  perfledger --lake s3://perf-history/team-a sync
  PERFLEDGER_LAKE=/mnt/perf perfledger sync --format json";

const LAKE_HELP: &str = "\
Layout: <lake>/v1/<table>/tool=<tool>/month=<YYYY-MM>/<id>.parquet, hive-partitioned Parquet that
DuckDB, polars, Spark and Trino read as it is (see the README, \"Team history\").

Examples:
  perfledger --lake s3://perf-history/team-a lake compact --month 2026-11
  perfledger --lake /mnt/perf lake vacuum --older-than 2h --dry-run
  perfledger --lake /mnt/perf --db /tmp/perf-index lake rebuild";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug, Clone)]
pub struct ReportOut {
    /// Output folder (index.html and PNG charts).
    #[arg(long, default_value = "perfledger-report")]
    pub out: PathBuf,
    /// One HTML file with the images embedded.
    #[arg(long)]
    pub self_contained: bool,
    /// Goals file for the goal sections.
    #[arg(long)]
    pub goals: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only obscure the clap types"
)]
pub enum ReportCmd {
    /// One run: summary, per-target table, interval charts, latency distribution.
    Run {
        #[arg(default_value = "latest")]
        run: String,
        #[command(flatten)]
        out: ReportOut,
    },
    /// A comparison with verdicts and the two latency distributions.
    Compare {
        #[arg(long, value_name = "SEL")]
        baseline: String,
        #[arg(long, value_name = "SEL", default_value = "latest")]
        candidate: String,
        #[command(flatten)]
        filter: RunFilterArgs,
        #[command(flatten)]
        stats: StatArgs,
        #[command(flatten)]
        out: ReportOut,
    },
    /// The monthly benchmark review, e.g. --month 2026-11.
    Monthly {
        #[arg(long)]
        month: String,
        /// Name of the baseline in force, shown in the summary.
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        out: ReportOut,
    },
    /// The quarterly audit, e.g. --quarter 2026Q4.
    Quarterly {
        #[arg(long)]
        quarter: String,
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        out: ReportOut,
    },
}

const COMPARE_HELP: &str = "\
Method per target x metric, by the data available:
  across runs   baseline has >= 3 runs: Welch t-test (>= 2 candidate runs) or prediction interval (1 run)
  histograms    per-request histograms on both sides: bootstrap CI of the percentile ratio + Mann-Whitney U
  error rate    two-proportion z-test on summed failures / requests
  threshold     one run each side and no samples: plain relative threshold (--threshold), labelled as such
p-values are adjusted together (Benjamini-Hochberg, --fdr-q); a regression must also exceed --min-effect.

Selectors (SEL): 42 | 41,42,43 | latest | last:N | since-change:N | KEY=VALUE[,KEY=VALUE] | last:N,KEY=VALUE | NAME (a baseline)
  since-change:N  the newest N runs since the last change point (TOTAL p50) or deploy/config
                  annotation: the current regime (the default baseline of compare)

Every row says how it was judged: method, runs (baseline/candidate), CV (run-to-run noise of the
baseline), MDE (the smallest change the test could detect: 5% two-sided, 80% power) and floor
(the minimum relative effect and the absolute floor, --min-abs-effect). Verdicts: regressed,
improved, unchanged (not significant), below_min_effect (significant but smaller than a floor),
insufficient_data.

Examples:
  perfledger compare --baseline last:10,branch=main --candidate latest --tool k6
  perfledger compare --baseline 2025-12 --candidate 57 --format markdown >> $GITHUB_STEP_SUMMARY";

const CHECK_HELP: &str = "\
Exit code 0 when every goal passes (or warns) and nothing regressed, 5 otherwise.

Examples:
  perfledger check --goals goals.toml --baseline last:10,branch=main latest
  perfledger check --goals goals.toml --format junit > perf-junit.xml";

const TREND_HELP: &str = "\
Change points: PELT on log values with a robust noise estimate, spike clipping, a minimum segment of
--min-size runs and a penalty of --penalty x ln(n); each kept change is significant (Welch, p < 0.001)
and at least 2%. Lower --penalty finds smaller changes at more false alarms.

Examples:
  perfledger trend latency_p95_ms --tool wrk --label branch=main
  perfledger trend throughput_rps --target 'GET users' --since 2026-10-01 --format json";

#[derive(Args, Debug, Clone)]
pub struct StatArgs {
    /// False discovery rate across the tests of one comparison (Benjamini-Hochberg).
    #[arg(long, default_value_t = 0.05)]
    pub fdr_q: f64,
    /// Minimum practical effect, as a fraction (0.05 = 5%).
    #[arg(long, default_value_t = 0.05)]
    pub min_effect: f64,
    /// Minimum effect for one metric, METRIC=FRACTION (repeatable), e.g. error_rate=0.5.
    #[arg(long = "min-effect-for", value_name = "METRIC=FRACTION")]
    pub min_effect_for: Vec<String>,
    /// Absolute floor, METRIC=VALUE or latency=VALUE (repeatable; `ms` suffix allowed, `none`
    /// removes a floor): a change smaller than this is never a regression. Defaults:
    /// latency=0.25ms, error_rate=0.001.
    #[arg(long = "min-abs-effect", value_name = "METRIC=VALUE")]
    pub min_abs_effect: Vec<String>,
    /// Threshold of the plain-threshold method (one run each side, no samples).
    #[arg(long, default_value_t = 0.10)]
    pub threshold: f64,
    /// Metrics to compare (repeatable; default: the key latency, throughput, error and query metrics).
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Targets to compare (repeatable; default: all).
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// Compare even when the load profiles differ.
    #[arg(long)]
    pub allow_different_load: bool,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The baseline runs; by default the current regime: the newest 20 runs since the last
    /// change point or deploy annotation.
    #[arg(long, value_name = "SEL", default_value = "since-change:20")]
    pub baseline: String,
    #[arg(long, value_name = "SEL", default_value = "latest")]
    pub candidate: String,
    #[command(flatten)]
    pub filter: RunFilterArgs,
    #[command(flatten)]
    pub stats: StatArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The run to check (id or latest).
    #[arg(default_value = "latest")]
    pub run: String,
    /// Goals file (TOML, see goals.example.toml).
    #[arg(long)]
    pub goals: Option<PathBuf>,
    /// Baseline to compare against (a selector; the checked run is left out of it).
    #[arg(long, value_name = "SEL")]
    pub baseline: Option<String>,
    /// Where the full report is, for `--format comment` (e.g. the CI job's URL).
    #[arg(long, value_name = "URL")]
    pub report_url: Option<String>,
    #[command(flatten)]
    pub filter: RunFilterArgs,
    #[command(flatten)]
    pub stats: StatArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct TrendArgs {
    /// Metric name, e.g. latency_p95_ms.
    pub metric: String,
    /// Target (endpoint, tag set, statement).
    #[arg(long, default_value = "TOTAL")]
    pub target: String,
    #[command(flatten)]
    pub filter: RunFilterArgs,
    /// Change point penalty multiplier (sensitivity; lower finds more).
    #[arg(long, default_value_t = 3.0)]
    pub penalty: f64,
    /// Minimum runs per segment (a spike shorter than this never makes a change point).
    #[arg(long, default_value_t = 5)]
    pub min_size: usize,
    /// Rows the table lists: the latest N points and every change point, or `all`
    /// (csv and json always hold every point).
    #[arg(long, default_value = "100", value_name = "N|all")]
    pub points: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Subcommand, Debug)]
pub enum BaselineCmd {
    /// Name the runs a selector matches now, e.g. `baseline set 2025-12 last:20,branch=main`.
    Set {
        name: String,
        #[arg(value_name = "SEL")]
        selector: String,
        #[command(flatten)]
        filter: RunFilterArgs,
    },
    /// List baselines.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// The runs of a baseline.
    Show {
        name: String,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
    /// Delete a baseline (its runs stay).
    Delete { name: String },
}

#[derive(Args, Debug)]
pub struct AnnotateArgs {
    /// When the change happened.
    #[arg(long, conflicts_with = "run", required_unless_present = "run")]
    pub at: Option<String>,
    /// The run it concerns.
    #[arg(long)]
    pub run: Option<i64>,
    #[arg(long, value_enum, default_value = "deploy")]
    pub kind: AnnotationKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AnnotationKind {
    Deploy,
    Config,
    Ack,
}

const IMPORT_HELP: &str = "\
Formats (detected from content; --tool restricts the choice):
  locust     --csv set (X_stats.csv, X_stats_history.csv, X_failures.csv, X_exceptions.csv = one run),
             --json / --json-file output, 2.x HTML report
  k6         --summary-export JSON, handleSummary data JSON, --out json NDJSON (.gz too), --out csv
  wrk        text output (with or without --latency), JSON of scripts/wrk_report.lua
  ab         text output, -g gnuplot TSV, -e percentile CSV
  pgbench    printed summary (with --progress), -l per-transaction log, --aggregate-interval log
  postgres   pg_stat_statements CSV (with header) or json_agg JSON
  artillery  run --output JSON report
  series     generic CSV/JSON rows: timestamp,series,value[,unit][,labels]
  prometheus a saved query_range JSON answer (system resources, bound to a run: --run, or the
             run whose window it overlaps most); its series are named by __name__ or the
             file's name (cpu_busy_ratio.json)

System resources of a run, from Prometheus (node_exporter's CPU, memory, disk, network; a
--queries TOML file adds PromQL of its own or replaces the defaults):
  perfledger import prometheus --url http://127.0.0.1:9090 --run latest
  perfledger import prometheus --url http://prom:9090 --run 42 --step 5s --queries app.toml --save res/

Examples:
  perfledger import --label branch=main --label commit=$GIT_SHA out/k6-summary.json
  perfledger import --tool ab --at 2026-11-01T02:00:00Z ab.txt
  perfledger import --tool postgres --server prod-db --at 2026-11-27T10:00:00Z pgss.csv
  perfledger import --dry-run --format json results/
  perfledger import --value-unit us wrk2-latency.hlog";

const SQL_HELP: &str = "\
Tables: run, run_label, source_file, target, measurement, histogram, series_point, error, threshold,
        pg_snapshot, pg_statement, pg_database_stat, pg_connection, resource_capture,
        resource_query, resource_point, resource_summary, baseline, annotation
Views:  metrics(run_id, target, metric, value, unit), one view per source under it:
        statement_metric, pg_health_metric (pg_database_metric + replication), resource_metric;
        pg_statement_delta, pg_database_delta

Example:
  perfledger sql \"SELECT run_id, value FROM metrics WHERE target = 'TOTAL' AND metric = 'latency_p95_ms'\"";

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files or folders to import.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Only consider this tool's formats.
    #[arg(long)]
    pub tool: Option<String>,
    /// A label for the run, KEY=VALUE (repeatable): commit, branch, env, host, build...
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Scenario name (default: none).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Start time for outputs that carry none (default: the file's modification time).
    #[arg(long, value_name = "TIMESTAMP")]
    pub at: Option<String>,
    /// pg_stat_statements: the server the export came from (snapshots of one server are chained).
    #[arg(long)]
    pub server: Option<String>,
    /// pg_stat_statements and resources: attach the snapshot or capture to this run (an id,
    /// latest, key:PREFIX or KEY=VALUE labels; `import prometheus` defaults to latest).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// `import prometheus`: the Prometheus server to query over the run's window.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// `import prometheus`: a TOML file of [[query]] tables (metric, promql, unit) added to the
    /// node_exporter defaults; `defaults = false` keeps only its own.
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// `import prometheus`: the step of the series (default: the shortest scrape interval of
    /// Prometheus' targets), e.g. 1s, 15s.
    #[arg(long, value_name = "DURATION")]
    pub step: Option<String>,
    /// `import prometheus`: also write each query's answer to DIR/<metric>.json (importable
    /// later as files).
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// The given outputs are all of one test run: store them as one run even across folders
    /// (outputs of one test in one folder are grouped anyway; see README "One test, one run").
    #[arg(long)]
    pub run_group: bool,
    /// HdrHistogram interval logs: the unit of the recorded values, for a log whose comment
    /// line does not state it (default: ns, as HistogramLogProcessor assumes).
    #[arg(long, value_enum, value_name = "UNIT")]
    pub value_unit: Option<ValueUnitArg>,
    /// Parse and print, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

/// The unit of values a format does not name (HdrHistogram logs).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ValueUnitArg {
    Ns,
    Us,
    Ms,
    S,
}

impl ValueUnitArg {
    /// Milliseconds per value, and the unit's name.
    pub fn unit(self) -> (f64, &'static str) {
        match self {
            ValueUnitArg::Ns => (1e-6, "ns"),
            ValueUnitArg::Us => (1e-3, "us"),
            ValueUnitArg::Ms => (1.0, "ms"),
            ValueUnitArg::S => (1e3, "s"),
        }
    }
}

#[derive(Args, Debug, Default, Clone)]
pub struct RunFilterArgs {
    /// Only runs of this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only runs with this label, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Only runs of this scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Only runs started at or after this time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only runs started before this time.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(flatten)]
    pub filter: RunFilterArgs,
    /// At most this many runs.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Run id, or `latest`.
    pub run: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    pub query: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
}

const EXEC_HELP: &str = "\
The tool's outputs go to --keep DIR (default perfledger-exec/<UTC time>/): perfledger adds the
flags that make the tool write its results there where you did not give them (k6 run:
--summary-export and --out json=...gz; locust: --csv --csv-full-history; artillery run: --output;
jmeter: -l) and keeps the console output of the others (wrk, ab, hey, oha, h2load, pgbench, siege).
Labels commit, branch and dirty come from git when the working directory is a repository (a
--label of the same key wins). Resources: the host is sampled from /proc every --step (off with
--no-sample); --prometheus URL adds node_exporter's view of the run's window. --pg DSN takes a
database snapshot before and after (the after one bound to the run); --pg-log FILE adds what the
server's statement log gained during the run (query-time percentiles per statement). The tool's exit code is
perfledger's; a health source that fails is reported and skipped, the run is stored anyway.

Examples:
  perfledger exec --scenario checkout -- k6 run script.js
  perfledger exec --pg \"host=127.0.0.1 dbname=app user=app\" --prometheus http://127.0.0.1:9090 -- \\
      locust -f locustfile.py --headless -u 50 -r 10 -t 5m -H http://127.0.0.1:8080
  perfledger exec --label env=staging -- wrk -t2 -c32 -d30s --latency http://127.0.0.1:8080/api";

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// A label for the run, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Scenario name.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Take database snapshots (pg_stat_statements, health) before and after the run.
    #[arg(long, value_name = "DSN", env = "PERFLEDGER_PG_DSN")]
    pub pg: Option<String>,
    /// The database's statement log (jsonlog or csvlog, log_min_duration_statement = 0): what
    /// it gains during the run becomes the run's statements, with their query-time percentiles.
    #[arg(long, value_name = "FILE")]
    pub pg_log: Option<PathBuf>,
    /// With --pg: also store the plan of this statement after the run (repeatable).
    #[arg(long, value_name = "SQL", requires = "pg")]
    pub explain: Vec<String>,
    /// Also store Prometheus' view of the run's window (node_exporter defaults).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Do not sample the host from /proc.
    #[arg(long)]
    pub no_sample: bool,
    /// Also sample this process (the service under test): its CPU in cores and resident
    /// memory (repeatable).
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    /// Also sample this control group (a service and every process it starts, e.g.
    /// /system.slice/postgresql.service as /proc/<pid>/cgroup shows it): its CPU in cores and
    /// memory, cgroup v2 or v1 (repeatable).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,
    /// How often the host is sampled.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub step: String,
    /// Where the tool's outputs are kept (default: perfledger-exec/<UTC time>).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// The load tool and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub source: SnapshotSource,
}

#[derive(Subcommand, Debug)]
pub enum SnapshotSource {
    /// Read pg_stat_statements from a live server.
    Postgres {
        /// Connection string, e.g. "host=127.0.0.1 port=5432 user=postgres dbname=app".
        #[arg(long, env = "PERFLEDGER_PG_DSN")]
        dsn: String,
        /// Name of the server (default: host:port/dbname from the DSN).
        #[arg(long)]
        server: Option<String>,
        /// Attach the snapshot to this run.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<i64>,
        /// Also store the plan of this statement: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), in a
        /// transaction rolled back after it (repeatable). `compare` says when a plan changed.
        #[arg(long, value_name = "SQL")]
        explain: Vec<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
    },
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo warehouse and outputs (recreated).
    #[arg(long, default_value = "perfledger-demo")]
    pub out: PathBuf,
}
