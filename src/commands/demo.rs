//! `perfledger demo`: writes the bundled real-tool fixtures (embedded in the binary) to a
//! folder, imports them into a fresh warehouse there, and runs the main jobs on them: a
//! 24-night history (real wrk runs; the last 8 against the same server made 20% slower),
//! a named baseline, a deploy annotation, a comparison, a CI check against goals, a trend
//! with its change point, and the monthly report; the quarterly audit adds December's database
//! snapshots (a statement that lost its index), a Locust ramp into a saturated endpoint, and
//! two pgbench runs with the system resources Prometheus recorded of them (one saturating the
//! CPUs).

use std::path::{Path, PathBuf};

use crate::analysis::{compare, goals, selection, trend};
use crate::cli::DemoArgs;
use crate::error::{Error, Result};
use crate::import::ImportOptions;
use crate::metrics::{self, TOTAL};
use crate::output::{emit, gate, lists, render_grid, Format};
use crate::report::{period_page, run_page, Out};
use crate::stats::changepoint::Params;
use crate::store::meta::AnnotationKind;
use crate::store::{RunFilter, Warehouse};

/// (path under fixtures/, bytes)
macro_rules! fixtures {
    ($($p:literal),* $(,)?) => { &[$(($p, include_bytes!(concat!("../../fixtures/", $p)) as &[u8])),*] };
}

/// One output of each kind of tool, imported as they are.
pub const SAMPLES: &[(&str, &[u8])] = fixtures![
    "locust/shop_v2_47_stats.csv",
    "locust/shop_v2_47_stats_history.csv",
    "locust/shop_v2_47_failures.csv",
    "locust/shop_v2_47_exceptions.csv",
    "k6/shop_summary_export.json",
    "k6/shop_points.json",
    "wrk/users_t2_c8_d3s.txt",
    "ab/users_n2000_c10.txt",
    "pgbench/tpcb_c4_j2_T4_progress.txt",
    "pgbench/tpcb_c2_t150_txlog.log",
    // December 1st (the quarter's last month): a Locust ramp into a saturated endpoint
    "reco/locust_saturation_stats.csv",
    "reco/locust_saturation_stats_history.csv",
];

/// The nightly history, in night order: 16 runs against the normal server, then 8 against
/// the same server with --slowdown 1.2 (captured interleaved by capture/capture_history.sh).
pub const HISTORY: &[(&str, &[u8])] = fixtures![
    "history/wrk_base_1.json",
    "history/wrk_again_1.json",
    "history/wrk_base_2.json",
    "history/wrk_again_2.json",
    "history/wrk_base_3.json",
    "history/wrk_again_3.json",
    "history/wrk_base_4.json",
    "history/wrk_again_4.json",
    "history/wrk_base_5.json",
    "history/wrk_again_5.json",
    "history/wrk_base_6.json",
    "history/wrk_again_6.json",
    "history/wrk_base_7.json",
    "history/wrk_again_7.json",
    "history/wrk_base_8.json",
    "history/wrk_again_8.json",
    "history/wrk_slow20_1.json",
    "history/wrk_slow20_2.json",
    "history/wrk_slow20_3.json",
    "history/wrk_slow20_4.json",
    "history/wrk_slow20_5.json",
    "history/wrk_slow20_6.json",
    "history/wrk_slow20_7.json",
    "history/wrk_slow20_8.json",
];

/// pg_stat_statements before, between and after two pgbench runs, the index of the lookup
/// dropped in between (fixtures/reco); the CSVs carry no time: each gets its capture time.
pub const SNAPSHOTS: &[(&str, &[u8])] = fixtures![
    "reco/pgss_before.csv",
    "reco/pgss_mid.csv",
    "reco/pgss_after.csv",
];
const SNAPSHOT_TIMES: [&str; 3] = [
    "2026-12-01T22:50:21Z",
    "2026-12-01T22:50:31Z",
    "2026-12-01T22:50:42Z",
];
const _: () = assert!(
    SNAPSHOTS.len() == SNAPSHOT_TIMES.len(),
    "a time per snapshot"
);

/// December 2nd: two real pgbench runs with the system resources Prometheus saved of them
/// (fixtures/resources): one saturating the CPUs, one at 20 tx/s. pgbench prints no time:
/// each run starts at its capture's START.
/// (path under fixtures/, bytes) of one embedded set.
type Files = &'static [(&'static str, &'static [u8])];

pub const RESOURCE_RUNS: [(&str, Files); 2] = [
    (
        "1796175063",
        fixtures![
            "resources/busy/pgbench.txt",
            "resources/busy/prometheus/cpu_busy_ratio.json",
            "resources/busy/prometheus/cpu_core_busy_ratio.json",
            "resources/busy/prometheus/mem_used_ratio.json",
            "resources/busy/prometheus/disk_read_bps.json",
            "resources/busy/prometheus/disk_write_bps.json",
            "resources/busy/prometheus/disk_read_iops.json",
            "resources/busy/prometheus/disk_write_iops.json",
            "resources/busy/prometheus/net_rx_bps.json",
            "resources/busy/prometheus/net_tx_bps.json",
        ],
    ),
    (
        "1796175092",
        fixtures![
            "resources/light/pgbench.txt",
            "resources/light/prometheus/cpu_busy_ratio.json",
            "resources/light/prometheus/cpu_core_busy_ratio.json",
            "resources/light/prometheus/mem_used_ratio.json",
            "resources/light/prometheus/disk_read_bps.json",
            "resources/light/prometheus/disk_write_bps.json",
            "resources/light/prometheus/disk_read_iops.json",
            "resources/light/prometheus/disk_write_iops.json",
            "resources/light/prometheus/net_rx_bps.json",
            "resources/light/prometheus/net_tx_bps.json",
        ],
    ),
];

const GOALS: &str = include_str!("../../fixtures/demo_goals.toml");
const QUARTER_GOALS: &str = include_str!("../../fixtures/quarter_goals.toml");
const FIRST_NIGHT: &str = "2026-10-26T02:00:00Z";

fn write(dir: &Path, set: &[(&str, &[u8])]) -> Result<Vec<PathBuf>> {
    set.iter()
        .map(|(rel, bytes)| {
            let p = dir.join(rel);
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
            }
            std::fs::write(&p, bytes).map_err(|e| Error::output(&p, e))?;
            Ok(p)
        })
        .collect()
}

fn section(title: &str) -> Result<()> {
    emit(&format!("\n== {title} ==\n"))
}

/// Imports the nightly history: one run per night at 02:00 UTC, labelled like a CI job would.
pub fn import_history(wh: &mut Warehouse, files: &[PathBuf]) -> Result<Vec<i64>> {
    #[expect(
        clippy::expect_used,
        reason = "a constant of this file, checked by the demo test"
    )]
    let first = crate::time::parse_time(FIRST_NIGHT).expect("valid constant");
    let mut ids = Vec::new();
    for (night, f) in files.iter().enumerate() {
        let mut opts = ImportOptions {
            scenario: Some("orders-api".into()),
            at: Some(first + chrono::Duration::days(night as i64)),
            ..Default::default()
        };
        opts.labels.insert("branch".into(), "main".into());
        opts.labels
            .insert("commit".into(), format!("c{:03}", night + 1));
        opts.labels.insert("env".into(), "ci".into());
        let report = super::import::import_paths(Some(wh), std::slice::from_ref(f), None, &opts)?;
        if let Some(e) = report.failed.into_iter().next() {
            return Err(e);
        }
        ids.extend(report.results.iter().filter_map(|r| r.run_id));
    }
    Ok(ids)
}

/// Each pgbench run at its start, then the Prometheus answers saved with it, bound to it.
fn import_resource_runs(wh: &mut Warehouse, inputs: &Path) -> Result<()> {
    for (start, files) in RESOURCE_RUNS {
        let paths = write(inputs, files)?;
        let at = crate::time::parse_time(start);
        let (run, answers) = paths
            .split_first()
            .ok_or_else(|| Error::Internal("empty resource run".into()))?;
        let opts = ImportOptions {
            at,
            ..Default::default()
        };
        let report =
            super::import::import_paths(Some(&mut *wh), std::slice::from_ref(run), None, &opts)?;
        if let Some(e) = report.failed.into_iter().next() {
            return Err(e);
        }
        let run_id = report.results.first().and_then(|r| r.run_id);
        let opts = ImportOptions {
            run: run_id,
            ..Default::default()
        };
        let report = super::import::import_paths(Some(&mut *wh), answers, None, &opts)?;
        if let Some(e) = report.failed.into_iter().next() {
            return Err(e);
        }
    }
    Ok(())
}

pub fn run(a: &DemoArgs) -> Result<()> {
    let out = &a.out;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::output(out, e))?;
    }
    let inputs = out.join("inputs");
    let samples = write(&inputs, SAMPLES)?;
    let history = write(&inputs, HISTORY)?;
    let goals_path = out.join("goals.toml");
    std::fs::write(&goals_path, GOALS).map_err(|e| Error::output(&goals_path, e))?;
    let db = out.join(crate::store::DEMO_FILE);
    let mut wh = Warehouse::open_rw(&db)?;

    section("1. import: one output of each tool (format detected from content)")?;
    let report =
        super::import::import_paths(Some(&mut wh), &samples, None, &ImportOptions::default())?;
    if let Some(e) = report.failed.into_iter().next() {
        return Err(e);
    }
    emit(&crate::output::import::render(
        &report.results,
        Format::Table,
    ))?;
    for (path, at) in write(&inputs, SNAPSHOTS)?.iter().zip(SNAPSHOT_TIMES) {
        let opts = ImportOptions {
            at: crate::time::parse_time(at),
            ..Default::default()
        };
        let report =
            super::import::import_paths(Some(&mut wh), std::slice::from_ref(path), None, &opts)?;
        if let Some(e) = report.failed.into_iter().next() {
            return Err(e);
        }
    }

    import_resource_runs(&mut wh, &inputs)?;

    section("2. a nightly history: 24 wrk runs of scenario orders-api (nights 17-24 ran against a 20% slower server)")?;
    let ids = import_history(&mut wh, &history)?;
    wh.annotate(
        crate::time::parse_time("2026-11-11T01:00:00Z"),
        None,
        AnnotationKind::Deploy,
        "deploy v2.3 (new payment client)",
    )?;
    let filter = RunFilter {
        scenario: Some("orders-api".into()),
        ..Default::default()
    };
    emit(&render_grid(
        &lists::runs_grid(&wh.run_list(&filter, 30)?),
        Format::Table,
    ))?;

    section("3. baseline '2026-10' = the 6 October nights; compare the latest night against it")?;
    let base = ids[..6].to_vec();
    wh.set_baseline("2026-10", "demo: October nights", &base)?;
    let latest = selection::resolve(&wh, &selection::parse("latest")?, &filter, &[])?;
    let settings = settings_of(&[
        metrics::LATENCY_P50,
        metrics::LATENCY_P95,
        metrics::LATENCY_P99,
        metrics::THROUGHPUT,
        metrics::ERROR_RATE,
    ]);
    let cmp = compare::compare(&wh, &base, &latest, &settings)?;
    emit(&gate::render_comparison(&cmp, None, Format::Table))?;

    section("4. check: the latest night against the goals in force on its date and the baseline")?;
    let gf = goals::load(&goals_path)?;
    let passed = show_check(&wh, &gf, &goals_path, &cmp, latest[0])?;
    emit(&format!(
        "(as `perfledger check` this would exit {})\n",
        if passed {
            0
        } else {
            crate::error::exit::GATE_FAILED
        }
    ))?;

    section("5. trend of p95 over the 24 nights, with its change point")?;
    let t = trend::analyse(
        &wh,
        &filter,
        TOTAL,
        metrics::LATENCY_P95,
        &Params::default(),
        trend::Commits::All,
    )?;
    emit(&crate::output::trend::render(&t, Format::Table, None))?;

    section("6. reports")?;
    let (month_path, quarter_path) = period_reports(
        &wh,
        &gf,
        "2026-10",
        ("2026-11", "2026Q4"),
        &out.join("report-"),
    )?;
    let run_out = Out::new(&out.join("report-run"), false)?;
    let run_path = run_out.write_page(
        "run.html",
        &run_page::build(&wh, latest[0], Some(&gf), &run_out)?,
    )?;
    let (q_month, q_quarter) = shop_quarter(&mut wh, &inputs, out)?;
    emit(&format!(
        "monthly review:  {}\nquarterly audit: {} (self-contained)\nlatest run:      {}\nshop service, August review: {}\nshop service, Q3 audit:      {}\n\nwarehouse: {} (try: perfledger --db {} runs)\n",
        month_path.display(),
        quarter_path.display(),
        run_path.display(),
        q_month.display(),
        q_quarter.display(),
        db.display(),
        db.display()
    ))
}

/// Section 7: the shop service's quarter (fixtures/quarter): July as the baseline, the gate on
/// the first night after each deploy, and the August review and Q3 audit of it.
fn shop_quarter(wh: &mut Warehouse, inputs: &Path, out: &Path) -> Result<(PathBuf, PathBuf)> {
    use chrono::Datelike;
    section("7. a quarter of nightly k6 and Locust runs of a shop service on PostgreSQL, deploys v3.1 (Aug 12) and v3.2 (Sep 9)")?;
    let q = super::demo_quarter::import(wh, inputs)?;
    let july: Vec<i64> =
        q.k6.iter()
            .filter(|(d, _, _)| d.month() == 7)
            .map(|(_, _, id)| *id)
            .collect();
    wh.set_baseline("shop-2026-07", "demo: July's k6 nights (v3.0)", &july)?;
    let goals_path = out.join("quarter_goals.toml");
    std::fs::write(&goals_path, QUARTER_GOALS).map_err(|e| Error::output(&goals_path, e))?;
    let gf = goals::load(&goals_path)?;
    let settings = settings_of(&[
        metrics::LATENCY_P95,
        metrics::THROUGHPUT,
        metrics::ERROR_RATE,
    ]);
    for version in ["v3.1", "v3.2"] {
        let Some((date, _, id)) = q.k6.iter().find(|(_, v, _)| v == version) else {
            continue;
        };
        emit(&format!(
            "\n-- check: the k6 night of {date}, the first of {version}, against July\n"
        ))?;
        let cmp = compare::compare(wh, &july, &[*id], &settings)?;
        show_check(wh, &gf, &goals_path, &cmp, *id)?;
    }
    period_reports(
        wh,
        &gf,
        "shop-2026-07",
        ("2026-08", "2026Q3"),
        &out.join("report-shop-"),
    )
}

/// The monthly review of `month` and the quarterly audit (self-contained) of `quarter`, with
/// `baseline` in force, in the folders `PREFIX<month>` and `PREFIX<quarter>`: their pages.
fn period_reports(
    wh: &Warehouse,
    gf: &goals::GoalsFile,
    baseline: &str,
    (month, quarter): (&str, &str),
    prefix: &Path,
) -> Result<(PathBuf, PathBuf)> {
    let write = |spec: &str, quarterly: bool| -> Result<PathBuf> {
        let mut dir = prefix.as_os_str().to_owned();
        dir.push(spec);
        let page = Out::new(Path::new(&dir), quarterly)?;
        let opts = period_page::Options {
            spec,
            quarterly,
            goals: Some(gf),
            baseline: Some(baseline.into()),
            params: Params::default(),
            max_series: 50,
        };
        page.write_page("period.html", &period_page::build(wh, &opts, &page)?)
    };
    Ok((write(month, false)?, write(quarter, true)?))
}

/// Comparison settings of the demo's checks: these metrics, the rest as the CLI's defaults.
fn settings_of(names: &[&str]) -> compare::Settings {
    compare::Settings {
        metrics: names.iter().map(|m| (*m).to_string()).collect(),
        ..Default::default()
    }
}

/// `check`'s verdict on `run`, as the command prints it: the goals in force on its date and the
/// comparison. Returns whether it passed.
fn show_check(
    wh: &Warehouse,
    gf: &goals::GoalsFile,
    goals_path: &Path,
    cmp: &compare::Comparison,
    run: i64,
) -> Result<bool> {
    let results = goals::evaluate_run(wh, gf, run)?;
    let passed = !goals::any_failed(&results) && cmp.regressions() == 0;
    let header = wh.run_header(run)?;
    emit(&gate::render_check(
        &super::subject(&header, Some(goals_path), None),
        passed,
        &results,
        Some(cmp),
        Format::Table,
    ))?;
    Ok(passed)
}
