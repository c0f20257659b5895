//! siege and h2load: every fixture (fixtures/siege, fixtures/h2load, captured by
//! fixtures/capture/capture_siege.sh and capture_h2load.sh) parses to the numbers the tool
//! printed (quoted from fixtures/MANIFEST.md and the files), and a text output cut short
//! imports its full numbers or fails.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::path::{Path, PathBuf};

use perfledger::error::Error;
use perfledger::import::{collect_units, detect, parse_unit, ImportOptions};
use perfledger::model::{Parsed, ParsedRun, TOTAL};

const MB: f64 = 1024.0 * 1024.0;

fn fixture(rel: &str) -> PathBuf {
    common::fixture(rel)
}

fn parse_path(path: &Path) -> Result<(&'static str, Parsed), Error> {
    let units = collect_units(&[path.to_path_buf()])?;
    let imp = detect(&units[0].0, None)?;
    Ok((
        imp.name(),
        parse_unit(&units[0].0, imp, &ImportOptions::default())?,
    ))
}

fn run(rel: &str, format: &str) -> ParsedRun {
    let (name, parsed) = parse_path(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(name, format, "{rel} detected as {name}");
    match parsed {
        Parsed::Runs(mut r) => r.remove(0),
        Parsed::Snapshot(_) | Parsed::Resources(_) => panic!("{rel}: expected a run"),
    }
}

fn metric(r: &ParsedRun, m: &str) -> f64 {
    r.target(TOTAL)
        .unwrap_or_else(|| panic!("no TOTAL"))
        .get(m)
        .unwrap_or_else(|| panic!("TOTAL has no {m}"))
}

fn has(r: &ParsedRun, m: &str) -> bool {
    r.target(TOTAL).is_some_and(|t| t.get(m).is_some())
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

fn error_count(r: &ParsedRun, message: &str) -> Option<i64> {
    r.errors
        .iter()
        .find(|e| e.message == message)
        .map(|e| e.count)
}

#[test]
fn siege_text_users() {
    // siege -R siegerc -c 4 -t 5S .../api/users: "Transactions: 4383 hits", "Elapsed time: 4.78
    // secs", "Data transferred: 2.42 MB", "Response time: 0.00 secs", "Transaction rate: 916.95
    // trans/sec", "Concurrency: 3.94", "Successful transactions: 4383", "Failed transactions:
    // 0", "Longest transaction: 0.02", "Shortest transaction: 0.00"
    let r = run("siege/users_c4_t5s.txt", "siege-text");
    assert_eq!(r.tool, "siege");
    assert_eq!(r.tool_version.as_deref(), Some("4.0.7"));
    assert_eq!(r.load.users, Some(4));
    assert_eq!(r.duration_s, Some(4.78));
    assert_eq!(metric(&r, "requests"), 4383.0);
    assert_eq!(metric(&r, "failures"), 0.0);
    assert_eq!(metric(&r, "error_rate"), 0.0);
    assert_eq!(metric(&r, "throughput_rps"), 916.95);
    assert!(close(metric(&r, "bytes_received"), 2.42 * MB, 1e-12));
    assert_eq!(metric(&r, "latency_mean_ms"), 0.0);
    assert_eq!(metric(&r, "latency_min_ms"), 0.0);
    assert!(close(metric(&r, "latency_max_ms"), 20.0, 1e-12));
    assert_eq!(metric(&r, "siege_concurrency"), 3.94);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.targets.len(), 1, "siege names no URL: TOTAL only");
    assert_eq!(
        r.labels.get("time_source").map(String::as_str),
        Some("file-mtime")
    );
}

#[test]
fn siege_text_reps_and_url_file() {
    // -c 4 -r 100 .../api/orders/7: "400 hits", "0.68 secs", "Response time: 0.01 secs",
    // "588.24 trans/sec", "Concurrency: 3.90", longest 0.02 (no "Lifting the server siege...")
    let r = run("siege/orders_c4_r100.txt", "siege-text");
    assert_eq!(metric(&r, "requests"), 400.0);
    assert_eq!(metric(&r, "throughput_rps"), 588.24);
    assert!(close(metric(&r, "latency_mean_ms"), 10.0, 1e-12));
    assert_eq!(r.duration_s, Some(0.68));
    assert_eq!(metric(&r, "siege_concurrency"), 3.90);
    // -c 4 -t 5S -f siege_urls.txt: "2711 hits", "Successful transactions: 2165", "Failed
    // transactions: 21": siege's counting (MANIFEST): 5xx are failed and not hits, 4xx are
    // hits but not successful: 2711 + 21 = 2732 requests, 21 + 546 failures
    let r = run("siege/urls_c4_t5s.txt", "siege-text");
    assert_eq!(metric(&r, "requests"), 2732.0);
    assert_eq!(metric(&r, "failures"), 21.0 + 546.0);
    assert!(close(metric(&r, "error_rate"), 567.0 / 2732.0, 1e-12));
    assert_eq!(metric(&r, "throughput_rps"), 631.93);
    assert!(close(metric(&r, "bytes_received"), 0.34 * MB, 1e-12));
    assert_eq!(r.duration_s, Some(4.29));
    assert_eq!(
        error_count(&r, "failed transactions (HTTP 5xx or connection errors)"),
        Some(21)
    );
    assert_eq!(error_count(&r, "unsuccessful hits (HTTP 4xx)"), Some(546));
    // -c 2 -r 5 -v: the summary on stderr: "10 hits", successful 8, failed 0
    let r = run("siege/urls_c2_r5_verbose_stderr.txt", "siege-text");
    assert_eq!(metric(&r, "requests"), 10.0);
    assert_eq!(metric(&r, "failures"), 2.0);
    assert_eq!(metric(&r, "throughput_rps"), 200.00);
    assert_eq!(r.load.users, Some(2));
}

#[test]
fn siege_text_refused() {
    // -c 2 -r 3 http://127.0.0.1:1/: six "[error] socket: unable to connect sock.c:282:
    // Connection refused" lines (ANSI-coloured), "0 hits", "Failed transactions: 6": a run
    // whose every request failed (as hey's refused file), with no latency
    let r = run("siege/refused_errors.txt", "siege-text");
    assert_eq!(metric(&r, "requests"), 6.0);
    assert_eq!(metric(&r, "failures"), 6.0);
    assert_eq!(metric(&r, "error_rate"), 1.0);
    assert!(!has(&r, "latency_mean_ms") && !has(&r, "latency_max_ms"));
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].kind, "error");
    assert_eq!(
        r.errors[0].message,
        "socket: unable to connect sock.c:282: Connection refused"
    );
    assert_eq!(r.errors[0].count, 6);
}

#[test]
fn siege_json() {
    // -j: "transactions": 4676, "elapsed_time": 4.98, "data_transferred": 2.59,
    // "response_time": 0.00, "transaction_rate": 938.96, "concurrency": 3.93,
    // "successful_transactions": 4676, "failed_transactions": 0, "longest_transaction": 0.04
    let r = run("siege/users_c4_t5s_json.json", "siege-json");
    assert_eq!(metric(&r, "requests"), 4676.0);
    assert_eq!(metric(&r, "failures"), 0.0);
    assert_eq!(metric(&r, "throughput_rps"), 938.96);
    assert!(close(metric(&r, "bytes_received"), 2.59 * MB, 1e-12));
    assert!(close(metric(&r, "latency_max_ms"), 40.0, 1e-12));
    assert_eq!(r.duration_s, Some(4.98));
    assert_eq!(r.tool_version, None, "siege's JSON states no version");
    assert_eq!(r.load.users, None, "nor the concurrent users");
    // transactions 2594, successful 2072, failed 20: 2614 requests, 20 + 522 failures
    let r = run("siege/urls_c4_t5s_json.json", "siege-json");
    assert_eq!(metric(&r, "requests"), 2614.0);
    assert_eq!(metric(&r, "failures"), 542.0);
    assert_eq!(metric(&r, "throughput_rps"), 521.93);
    assert!(close(metric(&r, "latency_mean_ms"), 10.0, 1e-12));
    // every connection refused: transactions 0, failed 6
    let r = run("siege/refused_errors_json.json", "siege-json");
    assert_eq!(metric(&r, "requests"), 6.0);
    assert_eq!(metric(&r, "error_rate"), 1.0);
    assert!(!has(&r, "latency_mean_ms"));
}

#[test]
fn siege_side_files_are_not_runs() {
    // the -j runs' stderr is one newline; the -v stdout is per-transaction lines (no summary)
    for rel in [
        "siege/users_c4_t5s_json_stderr.txt",
        "siege/urls_c2_r5_verbose_stdout.txt",
    ] {
        assert!(parse_path(&fixture(rel)).is_err(), "{rel}");
    }
    // the refused -j run's stderr: the [error] lines only, no summary: not a run either
    let err = parse_path(&fixture("siege/refused_errors_json_stderr.txt")).unwrap_err();
    assert!(err.to_string().contains("not a format"), "{err}");
}

#[test]
fn h2load_text() {
    // h2load --h1 -n 2000 -c 8 .../api/users: "finished in 1.01s, 1980.08 req/s, 1.37MB/s",
    // "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed",
    // "traffic: 1.38MB (1450000) total", "time for request: 1.94ms 15.43ms 3.89ms 1.89ms",
    // "time for connect: 118us 576us 292us", "time to 1st byte: 4.72ms 15.56ms 10.95ms",
    // "spawning thread #0: 8 total client(s). 2000 total requests"
    let r = run("h2load/users_n2000_c8.txt", "h2load-text");
    assert_eq!(r.tool, "h2load");
    assert_eq!(r.tool_version, None, "h2load prints no version");
    assert_eq!(metric(&r, "requests"), 2000.0);
    assert_eq!(metric(&r, "failures"), 0.0);
    assert_eq!(metric(&r, "throughput_rps"), 1980.08);
    assert_eq!(metric(&r, "bytes_received"), 1_450_000.0);
    assert_eq!(r.duration_s, Some(1.01));
    for (m, want) in [
        ("latency_min_ms", 1.94),
        ("latency_max_ms", 15.43),
        ("latency_mean_ms", 3.89),
        ("latency_stddev_ms", 1.89),
        ("h2load_connect_mean_ms", 0.292),
        ("h2load_ttfb_mean_ms", 10.95),
    ] {
        assert!(close(metric(&r, m), want, 1e-12), "{m}: {}", metric(&r, m));
    }
    assert!(!has(&r, "latency_p50_ms"), "h2load prints no percentiles");
    assert_eq!(
        (r.load.threads, r.load.connections, r.load.requests_planned),
        (Some(1), Some(8), Some(2000))
    );
    assert!(r.errors.is_empty());
}

#[test]
fn h2load_text_duration_and_failures() {
    // -D 3 -c 4 -t 2: "finished in 3.00s, 641.00 req/s", "1923 total, 1927 started, 1923
    // done, 1923 succeeded", request 4.32ms / 18.18ms / 6.23ms / 1.52ms; two threads of
    // "2 total client(s). Timing-based test ..." (no planned requests)
    let r = run("h2load/orders_D3_c4_t2.txt", "h2load-text");
    assert_eq!(metric(&r, "requests"), 1923.0);
    assert_eq!(metric(&r, "throughput_rps"), 641.00);
    assert_eq!(metric(&r, "bytes_received"), 326_910.0);
    assert!(close(metric(&r, "latency_mean_ms"), 6.23, 1e-12));
    assert_eq!(
        (r.load.threads, r.load.connections, r.load.requests_planned),
        (Some(2), Some(4), None)
    );
    // POST checkout: "960 succeeded, 40 failed, 0 errored", "960 2xx, 0 3xx, 0 4xx, 40 5xx"
    let r = run("h2load/checkout_post_n1000_c4_5xx.txt", "h2load-text");
    assert_eq!(metric(&r, "requests"), 1000.0);
    assert_eq!(metric(&r, "failures"), 40.0);
    assert_eq!(metric(&r, "throughput_rps"), 437.69);
    assert_eq!(error_count(&r, "HTTP 5xx"), Some(40));
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].kind, "status");
    // /nowhere: "0 succeeded, 300 failed, 0 errored", "300 4xx", request 108us / 11.68ms / 722us
    let r = run("h2load/notfound_all_4xx.txt", "h2load-text");
    assert_eq!(metric(&r, "error_rate"), 1.0);
    assert_eq!(error_count(&r, "HTTP 4xx"), Some(300));
    assert!(close(metric(&r, "latency_min_ms"), 0.108, 1e-12));
    assert!(close(metric(&r, "latency_mean_ms"), 0.722, 1e-12));
    assert!(close(metric(&r, "latency_max_ms"), 11.68, 1e-12));
    assert_eq!(r.duration_s, Some(0.08113));
}

#[test]
fn h2load_text_refused() {
    // http://127.0.0.1:1/: "20 total, 0 started, 0 done, 0 succeeded, 20 failed, 20 errored",
    // all times "0us": every request failed, no latency
    let r = run("h2load/refused_errors.txt", "h2load-text");
    assert_eq!(metric(&r, "requests"), 20.0);
    assert_eq!(metric(&r, "failures"), 20.0);
    assert_eq!(metric(&r, "error_rate"), 1.0);
    assert!(!has(&r, "latency_mean_ms") && !has(&r, "latency_max_ms"));
    assert_eq!(
        error_count(&r, "errored (connection or stream errors)"),
        Some(20)
    );
    assert_eq!(r.duration_s, Some(0.00127));
}

#[test]
fn h2load_log_percentiles_by_nearest_rank() {
    // --log-file of `h2load --h1 -n 1000 -c 4 .../api/cache`: 1000 rows, all 200; MANIFEST:
    // mean 7436.4 us, min 1084, max 29328, nearest-rank p50/p90/p99 10050/14373/17078 us:
    //   cut -f3 cache_n1000_c4_log.tsv | sort -n | awk '{a[NR]=$1} END {print a[500], a[900], a[990]}'
    //   -> 10050 14373 17078
    // h2load printed for the run "time for request: 1.08ms 29.33ms 7.44ms"
    let r = run("h2load/cache_n1000_c4_log.tsv", "h2load-log");
    assert_eq!(metric(&r, "requests"), 1000.0);
    assert_eq!(metric(&r, "failures"), 0.0);
    for (m, want) in [
        ("latency_p50_ms", 10.050),
        ("latency_p90_ms", 14.373),
        ("latency_p99_ms", 17.078),
        ("latency_min_ms", 1.084),
        ("latency_max_ms", 29.328),
        ("latency_mean_ms", 7.4364),
    ] {
        // the histogram keeps each value within 1%
        assert!(close(metric(&r, m), want, 0.01), "{m}: {}", metric(&r, m));
    }
    let printed = run("h2load/cache_n1000_c4.txt", "h2load-text");
    assert!(close(
        metric(&r, "latency_mean_ms"),
        metric(&printed, "latency_mean_ms"),
        0.01
    ));
    // the smallest start (cut -f1 ... | sort -n | head -1): 1796150802882425 us; the last
    // end (start + duration) 1796150804779262 us, 1.896837 s later (h2load: "finished in 1.90s")
    let start = r.started_at.unwrap();
    assert_eq!(start.and_utc().timestamp_micros(), 1_796_150_802_882_425);
    assert!(close(r.duration_s.unwrap(), 1.896837, 1e-9));
    assert!(!r.labels.contains_key("time_source"));
    let per_second: f64 = r
        .series
        .iter()
        .filter(|p| p.metric == "requests")
        .map(|p| p.value)
        .sum();
    assert_eq!(per_second, 1000.0);
    assert!(r.target(TOTAL).unwrap().histogram.is_some());
}

#[test]
fn h2load_log_statuses() {
    // the POST checkout log: 1000 rows, 960 x 200, 40 x 500; mean 9016.8 us, min 6781, max
    // 22704; h2load printed "960 succeeded, 40 failed", "time for request: 6.78ms 22.70ms 9.02ms"
    let r = run("h2load/checkout_post_n1000_c4_5xx_log.tsv", "h2load-log");
    assert_eq!(metric(&r, "requests"), 1000.0);
    assert_eq!(metric(&r, "failures"), 40.0);
    assert_eq!(error_count(&r, "HTTP 500"), Some(40));
    assert!(close(metric(&r, "latency_mean_ms"), 9.0168, 0.01));
    assert!(close(metric(&r, "latency_min_ms"), 6.781, 0.01));
    assert!(close(metric(&r, "latency_max_ms"), 22.704, 0.01));
}

#[test]
fn a_bad_log_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("log.tsv");
    std::fs::write(
        &f,
        "1796150802882439\t200\t9190\n1796150802882445\t200\t14528\n1796150802882432\tOK\t1\n",
    )
    .unwrap();
    let err = parse_path(&f).unwrap_err().to_string();
    assert!(err.contains("log.tsv:3"), "{err}");
    assert!(err.contains("expected h2load's --log-file row"), "{err}");
}

#[test]
fn a_cut_text_says_truncated_and_where() {
    let dir = tempfile::tempdir().unwrap();
    for (rel, before, want) in [
        (
            "siege/urls_c4_t5s.txt",
            "Longest transaction:",
            "truncated: expected siege's summary down to its last line 'Shortest transaction:' after line 15",
        ),
        (
            "h2load/users_n2000_c8.txt",
            "time to 1st byte:",
            "truncated: expected h2load's stats table down to its last row 'req/s :' after line 22",
        ),
    ] {
        let text = std::fs::read_to_string(fixture(rel)).unwrap();
        let at = text.find(before).unwrap() + 3;
        let cut = dir.path().join(Path::new(rel).file_name().unwrap());
        std::fs::write(&cut, &text[..at]).unwrap();
        let err = parse_path(&cut).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(want), "{rel}: {msg}");
        assert_eq!(err.exit_code(), perfledger::error::exit::BAD_INPUT);
    }
}

#[test]
fn importing_the_folders_keeps_each_run_once() {
    // refused_errors.txt and refused_errors_json.json are two siege runs (capture_siege.sh runs
    // `siege -c 2 -r 3` once without and once with -j) with the same numbers: never one run,
    // since -j replaces siege's text summary. Each h2load text and its --log-file are one run.
    let w = common::Workdir::new();
    let (siege, h2load) = (fixture("siege"), fixture("h2load"));
    w.ok(
        &[
            "import",
            "-q",
            siege.to_str().unwrap(),
            h2load.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE tool = 'siege'"),
        8,
        "five siege-text and three siege-json files, none grouped"
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE format LIKE '%siege-text+siege-json%' OR format LIKE '%siege-json+siege-text%'"),
        0
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE format = 'h2load-log+h2load-text'"),
        2
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE tool = 'h2load'"),
        6
    );
    assert_eq!(
        w.scalar("SELECT connections FROM run WHERE tool = 'h2load' AND requests_planned = 2000"),
        8
    );
}
