//! Every fixture (real tool output captured by fixtures/capture/*.sh) parses to the numbers
//! the tool itself printed.

use std::path::{Path, PathBuf};

use perfledger::error::Error;
use perfledger::import::{collect_units, detect, parse_unit, ImportOptions};
use perfledger::model::{Parsed, ParsedRun, ParsedSnapshot, TOTAL};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn parse_any(rel: &str) -> Result<(&'static str, Parsed), Error> {
    let units = collect_units(&[fixture(rel)])?;
    assert_eq!(units.len(), 1, "{rel} should be one import unit");
    let imp = detect(&units[0].0, None)?;
    Ok((
        imp.name(),
        parse_unit(&units[0].0, imp, &ImportOptions::default())?,
    ))
}

/// Detects and parses a file outside fixtures/ (a hand-made broken input).
fn parse_file(path: &Path) -> Result<Parsed, Error> {
    let units = collect_units(&[path.to_path_buf()])?;
    let imp = detect(&units[0].0, None)?;
    parse_unit(&units[0].0, imp, &ImportOptions::default())
}

fn run(rel: &str, format: &str) -> ParsedRun {
    let (name, parsed) = parse_any(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(name, format, "{rel} detected as {name}");
    match parsed {
        Parsed::Runs(mut r) => r.remove(0),
        Parsed::Snapshot(_) | Parsed::Resources(_) => panic!("{rel}: expected a run"),
    }
}

fn snapshot(rel: &str) -> ParsedSnapshot {
    match parse_any(rel).unwrap_or_else(|e| panic!("{rel}: {e}")).1 {
        Parsed::Snapshot(s) => s,
        Parsed::Runs(_) | Parsed::Resources(_) => panic!("{rel}: expected a snapshot"),
    }
}

fn metric(r: &ParsedRun, target: &str, m: &str) -> f64 {
    r.target(target)
        .unwrap_or_else(|| panic!("no target {target}"))
        .get(m)
        .unwrap_or_else(|| panic!("{target} has no {m}"))
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[test]
fn ab_text() {
    // ab -n 2000 -c 10: "Complete requests: 2000", "Requests per second: 851.14",
    // "Total: 3 12 6.1 10 33", percentiles 50% 10, 90% 21, 95% 23, 99% 28, 100% 33
    let r = run("ab/users_n2000_c10.txt", "ab-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 2000.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 851.14);
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    assert_eq!(metric(&r, "/api/users", "latency_p50_ms"), 10.0);
    assert_eq!(metric(&r, TOTAL, "latency_p90_ms"), 21.0);
    assert_eq!(metric(&r, TOTAL, "latency_p95_ms"), 23.0);
    assert_eq!(metric(&r, TOTAL, "latency_p99_ms"), 28.0);
    assert_eq!(metric(&r, TOTAL, "latency_max_ms"), 33.0);
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms"), 12.0);
    assert_eq!(metric(&r, TOTAL, "latency_stddev_ms"), 6.1);
    assert_eq!(metric(&r, TOTAL, "bytes_received"), 1_450_000.0);
    assert_eq!(r.load.connections, Some(10));
    assert_eq!(r.duration_s, Some(2.350));
    assert_eq!(r.url.as_deref(), Some("http://127.0.0.1:18080/api/users"));
}

#[test]
fn ab_failures_length_and_non2xx() {
    // "Failed requests: 480 (Connect: 0, Receive: 0, Length: 480, Exceptions: 0)", "Non-2xx responses: 20"
    let r = run("ab/checkout_post_non2xx.txt", "ab-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 500.0);
    assert_eq!(metric(&r, TOTAL, "ab_failed_requests"), 480.0);
    assert_eq!(
        metric(&r, TOTAL, "failures"),
        20.0,
        "length mismatches are not failures; non-2xx are"
    );
    assert_eq!(metric(&r, TOTAL, "error_rate"), 20.0 / 500.0);
    assert!(r
        .errors
        .iter()
        .any(|e| e.kind == "ab" && e.message == "Length failures" && e.count == 480));
    assert!(r.errors.iter().any(|e| e.kind == "status" && e.count == 20));
    let s = run("ab/search_length_failures.txt", "ab-text");
    assert_eq!(metric(&s, TOTAL, "failures"), 0.0);
    assert_eq!(metric(&s, TOTAL, "throughput_rps"), 607.14);
}

#[test]
fn ab_gnuplot_and_percentiles() {
    // ab -n 500 -g: 500 request rows; ab -e: "50,5.554", "95,..." "100,17.074"
    let g = run("ab/users_gnuplot.tsv", "ab-gnuplot");
    assert_eq!(metric(&g, TOTAL, "requests"), 500.0);
    assert!(g
        .target(TOTAL)
        .unwrap()
        .histogram
        .as_ref()
        .is_some_and(|h| h.len() == 500));
    let p = run("ab/users_percentiles.csv", "ab-percentiles");
    assert_eq!(metric(&p, TOTAL, "latency_p50_ms"), 5.554);
    assert_eq!(metric(&p, TOTAL, "latency_max_ms"), 17.074);
    assert_eq!(metric(&p, TOTAL, "latency_min_ms"), 2.110);
}

#[test]
fn ab_no_results_are_errors_not_runs() {
    for (f, needle) in [
        ("ab/refused_no_results.txt", "Connection refused"),
        ("ab/timeout_no_results.txt", "timeout"),
        ("ab/usage_error.txt", "concurrency level greater"),
    ] {
        match parse_any(f) {
            Err(Error::NoResults { reason, .. }) => {
                assert!(reason.contains(needle), "{f}: {reason}");
            }
            other => panic!("{f}: expected NoResults, got {:?}", other.map(|p| p.0)),
        }
    }
}

#[test]
fn wrk_text() {
    // "8852 requests in 3.00s, 6.12MB read", "Requests/sec: 2946.53", "Latency 2.78ms 1.13ms 14.29ms"
    let r = run("wrk/users_t2_c8_d3s.txt", "wrk-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 8852.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 2946.53);
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms"), 2.78);
    assert_eq!(metric(&r, TOTAL, "latency_stddev_ms"), 1.13);
    assert_eq!(metric(&r, TOTAL, "latency_max_ms"), 14.29);
    assert!(close(
        metric(&r, TOTAL, "bytes_received"),
        6.12 * 1024.0 * 1024.0,
        1e-9
    ));
    assert_eq!((r.load.threads, r.load.connections), (Some(2), Some(8)));
    // --latency: "50% 5.48ms 90% 6.60ms 99% 11.40ms", "4243 requests", "Requests/sec: 1410.61"
    let l = run("wrk/orders_latency_t2_c8_d3s.txt", "wrk-text");
    assert_eq!(metric(&l, "/api/orders/7", "latency_p50_ms"), 5.48);
    assert_eq!(metric(&l, TOTAL, "latency_p90_ms"), 6.60);
    assert_eq!(metric(&l, TOTAL, "latency_p99_ms"), 11.40);
    assert_eq!(metric(&l, TOTAL, "requests"), 4243.0);
}

#[test]
fn wrk_errors() {
    // "Socket errors: connect 0, read 0, write 0, timeout 57", "13934 requests in 3.05s"
    let r = run("wrk/users_c400_socket_errors.txt", "wrk-text");
    assert_eq!(metric(&r, TOTAL, "failures"), 57.0);
    assert!(close(
        metric(&r, TOTAL, "error_rate"),
        57.0 / (13934.0 + 57.0),
        1e-12
    ));
    // "Non-2xx or 3xx responses: 10849" of "10849 requests": a run whose requests all failed is a run
    let n = run("wrk/notfound_non2xx.txt", "wrk-text");
    assert_eq!(metric(&n, TOTAL, "failures"), 10849.0);
    assert_eq!(metric(&n, TOTAL, "error_rate"), 1.0);
    assert!(matches!(
        parse_any("wrk/refused_no_results.txt"),
        Err(Error::NoResults { .. })
    ));
}

#[test]
fn wrk_lua_report_has_the_full_distribution() {
    // same run's stdout: "8040 requests in 3.00s", "50% 2.62ms", "99% 8.53ms", "Latency 3.07ms 1.37ms 17.13ms"
    let r = run("wrk/users_lua_report.json", "wrk-lua-report");
    assert_eq!(metric(&r, TOTAL, "requests"), 8040.0);
    assert!(close(metric(&r, TOTAL, "latency_p50_ms"), 2.62, 0.005));
    assert!(close(metric(&r, TOTAL, "latency_p99_ms"), 8.53, 0.005));
    assert!(close(metric(&r, TOTAL, "latency_mean_ms"), 3.07, 0.005));
    assert!(close(metric(&r, TOTAL, "latency_max_ms"), 17.13, 0.005));
    // wrk's latency record holds more samples than its request count (8468 vs 8040 here):
    // the histogram keeps every sample wrk recorded, `requests` is what wrk printed.
    let h = r.target(TOTAL).unwrap().histogram.as_ref().unwrap();
    assert_eq!(h.len(), 8468);
    // the stored histogram reproduces wrk's own percentiles within its 1% precision
    assert!(close(h.value_at_quantile(0.99) as f64 / 1000.0, 8.53, 0.01));
}

#[test]
fn k6_summary_export() {
    // stdout: "http_reqs: 176 56.989618/s", "http_req_failed: 1.13% 2 out of 176",
    // "http_req_duration: avg=6.08ms min=2.31ms med=6.09ms max=12.76ms p(90)=9.7ms p(95)=10.18ms"
    let r = run("k6/shop_summary_export.json", "k6-summary-export");
    assert_eq!(metric(&r, TOTAL, "requests"), 176.0);
    assert!(close(metric(&r, TOTAL, "throughput_rps"), 56.989618, 1e-6));
    assert_eq!(metric(&r, TOTAL, "failures"), 2.0);
    assert!(close(metric(&r, TOTAL, "latency_p95_ms"), 10.18, 0.001));
    assert!(close(metric(&r, TOTAL, "latency_p50_ms"), 6.09, 0.001));
    assert!(close(
        metric(&r, "name:checkout", "latency_p95_ms"),
        10.87,
        0.001
    ));
    // thresholds as printed: checks ✓, p(95)<500 ✓, {name:checkout} p(99)<5 ✗, rate<0.10 ✓, payment_ok ✗
    let th = |m: &str| r.thresholds.iter().find(|t| t.metric == m).unwrap().passed;
    assert!(th("checks") && th("http_req_duration") && th("http_req_failed"));
    assert!(!th("http_req_duration{name:checkout}") && !th("payment_ok"));
    // custom metrics: "orders_placed: 56", "payment_ok: 96.42% 54 out of 56", "cart_size: 3", checkout_time trend
    assert_eq!(metric(&r, "orders_placed", "count"), 56.0);
    assert_eq!(metric(&r, "payment_ok", "passes"), 54.0);
    assert_eq!(metric(&r, "cart_size", "value"), 3.0);
    assert!(close(
        metric(&r, "checkout_time", "value_p95"),
        10.87,
        0.001
    ));
    // "✗ paid ↳ 96% — ✓ 54 / ✗ 2"
    assert!(r
        .errors
        .iter()
        .any(|e| e.kind == "check" && e.message == "::checkout::paid" && e.count == 2));
}

#[test]
fn k6_handle_summary() {
    let r = run("k6/shop_handle_summary.json", "k6-handle-summary");
    assert_eq!(metric(&r, TOTAL, "requests"), 176.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 2.0);
    assert!(r
        .thresholds
        .iter()
        .any(|t| t.metric == "payment_ok" && !t.passed));
    assert!(close(r.duration_s.unwrap(), 3.090121964, 1e-9));
}

#[test]
fn k6_points_ndjson_csv_gz() {
    // shop_points.json and .csv come from the run whose stdout printed "http_reqs: 176", "2 out of 176"
    for (f, format) in [
        ("k6/shop_points.json", "k6-ndjson"),
        ("k6/shop_points.csv", "k6-csv"),
    ] {
        let r = run(f, format);
        assert_eq!(metric(&r, TOTAL, "requests"), 176.0, "{f}");
        assert_eq!(metric(&r, TOTAL, "failures"), 2.0, "{f}");
        assert_eq!(
            r.target(TOTAL).unwrap().histogram.as_ref().unwrap().len(),
            176,
            "{f}"
        );
        // p(95)=10.18ms in the summary; the histogram keeps 1% precision
        assert!(
            close(metric(&r, TOTAL, "latency_p95_ms"), 10.18, 0.02),
            "{f}: {}",
            metric(&r, TOTAL, "latency_p95_ms")
        );
        assert!(
            r.errors
                .iter()
                .any(|e| e.kind == "status" && e.message == "status 500" && e.count == 2),
            "{f}"
        );
    }
    // gzip: its run printed "http_reqs: 178", "3 out of 178"
    let g = run("k6/shop_points_gz.json.gz", "k6-ndjson");
    assert_eq!(metric(&g, TOTAL, "requests"), 178.0);
    assert_eq!(metric(&g, TOTAL, "failures"), 3.0);
}

#[test]
fn k6_all_requests_failed_is_a_real_run() {
    // "http_req_failed: 100.00% 120 out of 120", "http_reqs: 120"
    let r = run("k6/refused_all_failed_summary.json", "k6-summary-export");
    assert_eq!(metric(&r, TOTAL, "requests"), 120.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
}

#[test]
fn locust_csv_sets_of_two_versions() {
    // the CSV's Aggregated row (Locust writes the CSV on a timer, so it can trail the printed table)
    let r = run("locust/shop_v2_47_stats.csv", "locust-csv");
    assert_eq!(metric(&r, TOTAL, "requests"), 466.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 44.0);
    assert!(close(
        metric(&r, TOTAL, "throughput_rps"),
        155.19556439286325,
        1e-12
    ));
    assert_eq!(metric(&r, TOTAL, "latency_p95_ms"), 15.0);
    assert_eq!(metric(&r, "GET users", "requests"), 214.0);
    assert_eq!(metric(&r, "GET <legacy & \"quoted\">", "failures"), 41.0);
    assert_eq!(r.load.users, Some(8));
    // the history's points come from its feed (read again when the run is stored)
    let mut users = Vec::new();
    r.series_feed
        .as_ref()
        .expect("the history is fed")
        .each(&mut |b| {
            for (target, metric, _, value) in b.points() {
                if target == TOTAL && metric == "users" {
                    users.push(value);
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(users.contains(&8.0), "{users:?}");
    assert!(r
        .errors
        .iter()
        .any(|e| e.kind == "exception" && e.message == "cart total mismatch" && e.count == 15));
    assert!(r
        .errors
        .iter()
        .any(|e| e.kind == "failure" && e.target == "POST checkout" && e.count == 3));
    assert_eq!(r.sources.len(), 4, "the four files of the set are one run");
    let old = run("locust/shop_v1_6_stats_history.csv", "locust-csv");
    assert_eq!(metric(&old, TOTAL, "requests"), 408.0);
    assert_eq!(metric(&old, TOTAL, "failures"), 42.0);
}

#[test]
fn locust_json_and_html() {
    // --json run printed "Aggregated 336 39(11.61%)"
    let j = run("locust/shop_v2_47_json_stdout.json", "locust-json");
    assert_eq!(metric(&j, TOTAL, "requests"), 336.0);
    assert_eq!(metric(&j, TOTAL, "failures"), 39.0);
    assert!(j
        .target(TOTAL)
        .unwrap()
        .histogram
        .as_ref()
        .is_some_and(|h| h.len() == 336));
    let jf = run("locust/shop_v2_47_jsonfile.json", "locust-json");
    assert_eq!(metric(&jf, TOTAL, "requests"), 134.0);
    // HTML report of the CSV run: its final table printed "Aggregated 501 49(9.78%)"
    let h = run("locust/shop_v2_47_report.html", "locust-html");
    assert_eq!(metric(&h, TOTAL, "requests"), 501.0);
    assert_eq!(metric(&h, TOTAL, "failures"), 49.0);
    assert_eq!(metric(&h, TOTAL, "latency_p95_ms"), 16.0);
    // HTML reports that render tables instead of embedding JSON: Locust 1.6 printed
    // "Aggregated 532 57(10.71%) | 7 0 39 7 | 144.87" and percentiles "... 95% 15 ... 99% 23";
    // Locust 2.15.1 "Aggregated 577 63(10.92%) | 9 1 68 9 | 160.68", 90% 14, 95% 15, 99% 19
    let v1 = run("locust/shop_v1_6_report.html", "locust-html");
    assert_eq!(v1.format, "locust-html-tables");
    assert_eq!(metric(&v1, TOTAL, "requests"), 532.0);
    assert_eq!(metric(&v1, TOTAL, "failures"), 57.0);
    assert_eq!(metric(&v1, TOTAL, "latency_p95_ms"), 15.0);
    assert_eq!(metric(&v1, TOTAL, "latency_p99_ms"), 23.0);
    assert_eq!(metric(&v1, TOTAL, "latency_max_ms"), 39.0);
    let v215 = run("locust/shop_v2_15_report.html", "locust-html");
    assert_eq!(metric(&v215, TOTAL, "requests"), 577.0);
    assert_eq!(metric(&v215, TOTAL, "failures"), 63.0);
    assert_eq!(metric(&v215, TOTAL, "latency_p90_ms"), 14.0);
    assert_eq!(metric(&v215, TOTAL, "latency_p95_ms"), 15.0);
    assert_eq!(metric(&v215, TOTAL, "latency_p99_ms"), 19.0);
    assert_eq!(metric(&v215, "GET <legacy & \"quoted\">", "failures"), 59.0);
    assert_eq!(v215.url.as_deref(), Some("http://127.0.0.1:18080"));
    assert_eq!(
        v215.started_at.map(|t| t.to_string()).as_deref(),
        Some("2026-12-01 16:41:29")
    );
    let kinds: Vec<(&str, i64)> = v215.errors.iter().map(|e| (e.kind, e.count)).collect();
    assert_eq!(
        kinds,
        vec![("failure", 4), ("failure", 59), ("exception", 31)]
    );
    // a report cut before </html> is refused, not read as a run
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("locust/shop_v2_15_report.html")).unwrap();
    let cut = dir.path().join("cut.html");
    std::fs::write(
        &cut,
        &text[..text.find("Response Time Statistics").unwrap()],
    )
    .unwrap();
    let units = collect_units(&[cut]).unwrap();
    let imp = detect(&units[0].0, None).unwrap();
    assert!(matches!(
        parse_unit(&units[0].0, imp, &ImportOptions::default()),
        Err(Error::Input { .. })
    ));
}

#[test]
fn pgbench_outputs() {
    // "number of transactions actually processed: 9714", "tps = 2432.068452", "latency average = 1.586 ms"
    let r = run("pgbench/tpcb_c4_j2_T4_progress.txt", "pgbench-stdout");
    assert_eq!(metric(&r, TOTAL, "requests"), 9714.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 2432.068452);
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms"), 1.586);
    assert_eq!(metric(&r, TOTAL, "latency_stddev_ms"), 2.611);
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    assert_eq!((r.load.connections, r.load.threads), (Some(4), Some(2)));
    // four "progress:" lines: 2286.0, 2074.4, 2542.2, 2796.8 tps
    let tps: Vec<f64> = r
        .series
        .iter()
        .filter(|p| p.metric == "throughput_rps")
        .map(|p| p.value)
        .collect();
    assert_eq!(tps, vec![2286.0, 2074.4, 2542.2, 2796.8]);
    // -t 50 with 2 clients: "processed: 100/100"
    let t = run("pgbench/tpcb_c2_t50.txt", "pgbench-stdout");
    assert_eq!(metric(&t, TOTAL, "requests"), 100.0);
    assert_eq!(t.load.requests_planned, Some(100));
    // -l log of the run that printed "processed: 300/300"
    let l = run("pgbench/tpcb_c2_t150_txlog.log", "pgbench-log");
    assert_eq!(metric(&l, TOTAL, "requests"), 300.0);
    assert_eq!(l.load.connections, Some(2));
    // aggregate log: the intervals it holds (606 + 1592 + 2351 + 2206 transactions)
    let a = run("pgbench/tpcb_c2_T4_aggregate.log", "pgbench-aggregate-log");
    assert_eq!(metric(&a, TOTAL, "requests"), 6755.0);
    assert!(close(metric(&a, TOTAL, "latency_max_ms"), 45.140, 1e-12));
    assert!(matches!(
        parse_any("pgbench/refused_no_results.txt"),
        Err(Error::NoResults { .. })
    ));
}

#[test]
fn pg_stat_statements_csv_and_json_agree() {
    // the JSON export ran right after the CSV one, so it also sees the CSV's own COPY statement
    let c = snapshot("pgss/snapshot1_after_tpcb.csv");
    let j = snapshot("pgss/snapshot1_after_tpcb.json");
    assert_eq!((c.statements.len(), j.statements.len()), (13, 15));
    let find = |s: &ParsedSnapshot| {
        s.statements
            .iter()
            .find(|x| x.query.starts_with("UPDATE pgbench_accounts"))
            .cloned()
            .unwrap()
    };
    let (a, b) = (find(&c), find(&j));
    assert_eq!(a.calls, b.calls);
    assert_eq!(
        a.calls, 9714,
        "one UPDATE per TPC-B transaction of the 9714 pgbench processed"
    );
    assert!(close(a.total_exec_time_ms, b.total_exec_time_ms, 1e-9));
    assert_eq!(a.queryid, b.queryid);
}

#[test]
fn broken_inputs_name_the_file_and_place() {
    for (f, needle) in [
        ("broken/empty.txt", "empty"),
        ("broken/binary.bin", "binary"),
        (
            "broken/unknown_format.txt",
            "not a format perfledger recognises",
        ),
        ("broken/truncated_k6_summary.json", "line"),
        ("broken/truncated_wrk.txt", "truncated"),
        ("broken/bad_row_locust_stats.csv", ":3"),
        ("broken/truncated_points.json.gz", "gzip"),
    ] {
        let err = parse_any(f)
            .err()
            .unwrap_or_else(|| panic!("{f} should fail"));
        let msg = err.to_string();
        assert!(
            msg.contains(f.rsplit('/').next().unwrap()),
            "{f}: message names the file: {msg}"
        );
        assert!(msg.contains(needle), "{f}: {msg}");
        assert_eq!(err.exit_code(), perfledger::error::exit::BAD_INPUT, "{f}");
    }
}

#[test]
fn artillery_report() {
    // stdout: "http.requests: 120", "http.codes.500: 2", response_time p95 10.9, "/api/users" p95 7
    let r = run("artillery/shop_report.json", "artillery-report");
    assert_eq!(metric(&r, TOTAL, "requests"), 120.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 2.0);
    assert_eq!(metric(&r, TOTAL, "latency_p95_ms"), 10.9);
    assert_eq!(metric(&r, "/api/users", "latency_p95_ms"), 7.0);
    assert_eq!(metric(&r, "/api/checkout", "requests"), 40.0);
    assert!(r
        .errors
        .iter()
        .any(|e| e.message == "status 500" && e.count == 2));
}

#[test]
fn hey_text_and_csv() {
    // hey -n 2000 -c 10: "Total: 1.1442 secs", "Slowest: 0.0269", "Fastest: 0.0019",
    // "Average: 0.0056", "Requests/sec: 1747.9981", "Total data: 1160000 bytes",
    // "50% in 0.0046 secs" ... "99% in 0.0163 secs", "[200] 2000 responses"
    let r = run("hey/users_n2000_c10.txt", "hey-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 2000.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    assert!(metric(&r, TOTAL, "failures").is_sign_positive());
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 1747.9981);
    assert_eq!(metric(&r, TOTAL, "bytes_received"), 1_160_000.0);
    assert!(close(metric(&r, TOTAL, "latency_p50_ms"), 4.6, 1e-9));
    assert!(close(metric(&r, TOTAL, "latency_p99_ms"), 16.3, 1e-9));
    assert!(close(metric(&r, TOTAL, "latency_p10_ms"), 2.9, 1e-9));
    assert!(close(metric(&r, TOTAL, "latency_max_ms"), 26.9, 1e-9));
    assert!(close(metric(&r, TOTAL, "latency_min_ms"), 1.9, 1e-9));
    assert!(close(metric(&r, TOTAL, "latency_mean_ms"), 5.6, 1e-9));
    assert_eq!(r.duration_s, Some(1.1442));
    // -z 3s -q 50 POST /api/checkout: "[200] 1152 responses", "[500] 48 responses"
    let r = run("hey/checkout_z3s_q50_non2xx.txt", "hey-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 1200.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 48.0);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].message.as_str(), r.errors[0].count),
        ("HTTP 500", 48)
    );
    // every request refused: "[20] Get "http://127.0.0.1:1/": dial tcp ...: connection refused"
    let r = run("hey/refused_errors.txt", "hey-text");
    assert_eq!(metric(&r, TOTAL, "requests"), 20.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
    assert!(
        r.target(TOTAL).unwrap().get("latency_mean_ms").is_none(),
        "NaN stays unreported"
    );
    assert!(r.errors[0].message.contains("connection refused"));
    // -o csv: 500 rows, all 200; hey prints no summary with -o csv, so the check is the rows
    let r = run("hey/orders_n500_c5.csv", "hey-csv");
    assert_eq!(metric(&r, TOTAL, "requests"), 500.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    let csv = std::fs::read_to_string(fixture("hey/orders_n500_c5.csv")).unwrap();
    let max = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(
        close(metric(&r, TOTAL, "latency_max_ms"), max * 1000.0, 0.01),
        "{max}"
    );
    assert!(r.target(TOTAL).unwrap().histogram.is_some());
    assert!(!r.series.is_empty());
}

#[test]
fn ab_html_tables_of_w() {
    // ab -w -n 500 -c 5: "Complete requests: 500", "Requests per second: 360.88",
    // "Total transferred: 362500 bytes", Connection Times Total: min 4, avg 13, max 60
    let r = run("ab/users_html_w.html", "ab-html");
    assert_eq!(metric(&r, TOTAL, "requests"), 500.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 360.88);
    assert_eq!(metric(&r, TOTAL, "bytes_received"), 362_500.0);
    assert_eq!(metric(&r, TOTAL, "latency_min_ms"), 4.0);
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms"), 13.0);
    assert_eq!(metric(&r, TOTAL, "latency_max_ms"), 60.0);
    assert_eq!(r.tool_version.as_deref(), Some("2.3"));
    assert_eq!(r.load.connections, Some(5));
    assert_eq!(metric(&r, "/api/users", "requests"), 500.0);
    // "Failed requests: 257" "(Connect: 0, Length: 257, Exceptions: 0)": Length failures only
    let r = run("ab/search_html_w_length_failures.html", "ab-html");
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    assert_eq!(metric(&r, TOTAL, "ab_failed_requests"), 257.0);
    // "Non-2xx responses: 100"
    let r = run("ab/notfound_html_w_non2xx.html", "ab-html");
    assert_eq!(metric(&r, TOTAL, "failures"), 100.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
}

#[test]
fn oha_json() {
    // oha -n 2000 -c 10 --output-format json: "requestsPerSec": 3223.050769197584,
    // "totalData": 1160000, latencyPercentiles p50 0.002920827, p99.9 0.013964195 (seconds),
    // "statusCodeDistribution": {"200": 2000}
    let r = run("oha/users_n2000_c10.json", "oha-json");
    assert_eq!(metric(&r, TOTAL, "requests"), 2000.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 0.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 3223.050769197584);
    assert_eq!(metric(&r, TOTAL, "bytes_received"), 1_160_000.0);
    assert!(close(metric(&r, TOTAL, "latency_p50_ms"), 2.920827, 1e-12));
    assert!(close(
        metric(&r, TOTAL, "latency_p999_ms"),
        13.964195,
        1e-12
    ));
    assert!(close(metric(&r, TOTAL, "latency_max_ms"), 14.547108, 1e-12));
    assert_eq!(r.duration_s, Some(0.620530095));
    // -z 3s POST /api/checkout: {"200": 1149, "500": 48}, {"aborted due to deadline": 4}
    let r = run("oha/checkout_z3s_q400_non2xx.json", "oha-json");
    assert_eq!(metric(&r, TOTAL, "requests"), 1197.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 48.0);
    let kinds: Vec<(&str, i64)> = r.errors.iter().map(|e| (e.kind, e.count)).collect();
    assert_eq!(kinds, vec![("status", 48), ("aborted", 4)]);
    // every connection refused: 20 errors, no latency (oha wrote null)
    let r = run("oha/refused_errors.json", "oha-json");
    assert_eq!(metric(&r, TOTAL, "requests"), 20.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
    assert!(r.target(TOTAL).unwrap().get("latency_mean_ms").is_none());
}

#[test]
fn artillery_1x_report() {
    // Artillery 1.7.9 (fixtures/artillery/v1_shop_stdout.txt): "Requests completed: 288",
    // "Mean response/sec: 23.28", min 2, max 12, median 6, p95 10, p99 11, codes 200: 284, 500: 4
    let r = run("artillery/v1_shop_report.json", "artillery-report");
    assert_eq!(r.format, "artillery-report-v1");
    assert_eq!(metric(&r, TOTAL, "requests"), 288.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 4.0);
    assert_eq!(metric(&r, TOTAL, "throughput_rps"), 23.28);
    assert_eq!(metric(&r, TOTAL, "latency_p50_ms"), 6.0);
    assert_eq!(metric(&r, TOTAL, "latency_p95_ms"), 10.0);
    assert_eq!(metric(&r, TOTAL, "latency_p99_ms"), 11.0);
    assert_eq!(metric(&r, TOTAL, "latency_max_ms"), 12.0);
    // every request's latency from the two 10-s periods
    let h = r.target(TOTAL).unwrap().histogram.as_ref().unwrap();
    assert_eq!(h.len(), 288);
    assert_eq!(metric(&r, "browse and buy", "scenarios_launched"), 96.0);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        (r.errors[0].message.as_str(), r.errors[0].count),
        ("status 500", 4)
    );
    assert!(r
        .series
        .iter()
        .any(|p| p.metric == "requests" && p.value == 237.0));
    assert_eq!(r.duration_s, Some(12.0));
    // every connection refused: "Errors: ECONNREFUSED: 16"
    let r = run("artillery/v1_refused_report.json", "artillery-report");
    assert_eq!(metric(&r, TOTAL, "requests"), 16.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
    assert_eq!(r.errors[0].message, "ECONNREFUSED");
}

#[test]
fn k6_percentiles_from_points_follow_k6s_rule_at_a_gap() {
    // One run, two files: --summary-export (k6's own percentiles) and --out json (every
    // request). TOTAL is bimodal (100 x ~3-5 ms, 100 x ~8-11 ms): k6 printed med=6.52ms, in the
    // gap. From the points, perfledger uses k6's rule (linear between the closest ranks) on the
    // histogram and agrees within the histogram's 1%; the nearest rank would give ~5.45 ms.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("k6/bimodal_summary_export.json")).unwrap(),
    )
    .unwrap();
    let k6 = &summary["metrics"]["http_req_duration"];
    let r = run("k6/bimodal_points.json", "k6-ndjson");
    for (key, m) in [
        ("med", "latency_p50_ms"),
        ("p(90)", "latency_p90_ms"),
        ("p(95)", "latency_p95_ms"),
        ("p(99)", "latency_p99_ms"),
    ] {
        let want = k6[key].as_f64().unwrap();
        let got = metric(&r, TOTAL, m);
        assert!(
            close(got, want, 0.01),
            "{m}: {got} from the points, k6 printed {want}"
        );
    }
    let h = r.target(TOTAL).unwrap().histogram.as_ref().unwrap();
    let nearest = perfledger::model::PercentileRule::NearestRank.quantile_us(h, 0.5) / 1000.0;
    let med = k6["med"].as_f64().unwrap();
    assert!(
        (nearest - med).abs() / med > 0.1,
        "the fixture has its gap at the median: nearest rank {nearest} vs {med}"
    );
}

#[test]
fn k6_custom_trends_from_points_get_k6s_percentiles() {
    // The custom Trend `checkout_time` of the shop run: --summary-export says med, p(90), p(95)
    // (k6's own numbers); the --out json and --out csv points of the same run give them back
    // within the histogram's 1% (they had count, mean, min and max only).
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("k6/shop_summary_export.json")).unwrap(),
    )
    .unwrap();
    let k6 = &summary["metrics"]["checkout_time"];
    for (file, format) in [
        ("k6/shop_points.json", "k6-ndjson"),
        ("k6/shop_points.csv", "k6-csv"),
    ] {
        let r = run(file, format);
        for (key, m) in [
            ("med", "value_p50"),
            ("p(90)", "value_p90"),
            ("p(95)", "value_p95"),
        ] {
            let want = k6[key].as_f64().unwrap();
            let got = metric(&r, "checkout_time", m);
            assert!(
                close(got, want, 0.01),
                "{file} {m}: {got}, k6 printed {want}"
            );
        }
        assert_eq!(metric(&r, "checkout_time", "count"), 56.0);
        // a Counter keeps no percentiles (the NDJSON names each metric's kind; k6's CSV does not)
        if format == "k6-ndjson" {
            assert!(r
                .target("orders_placed")
                .unwrap()
                .get("value_p50")
                .is_none());
        }
    }
}

#[test]
fn k6_custom_trend_tags_stay_separate_series_in_every_output() {
    // k6/steps_*: one Trend `step_time` fed by two steps, tagged step=browse (~2 ms) and
    // step=order (~5 ms), 150 values each, thresholds on both submetrics. k6 printed
    // "{ step:browse } avg=2.71ms med=2.71ms p(90)=3.06ms p(95)=3.23ms p(99)=3.94ms" and
    // "{ step:order } avg=5.8ms med=5.76ms p(90)=6.7ms p(95)=6.93ms p(99)=7.1ms"; the
    // summary export holds the same numbers unrounded. Each output gives the two series (and
    // the whole metric) under the same target names, within the histogram's 1%.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("k6/steps_summary_export.json")).unwrap(),
    )
    .unwrap();
    let from_summary = run("k6/steps_summary_export.json", "k6-summary-export");
    for (file, format) in [
        ("k6/steps_points.json", "k6-ndjson"),
        ("k6/steps_points.csv", "k6-csv"),
    ] {
        let r = run(file, format);
        for (target, count) in [
            ("step_time", 300.0),
            ("step_time{step:browse}", 150.0),
            ("step_time{step:order}", 150.0),
        ] {
            let k6 = &summary["metrics"][target];
            for (key, m) in [
                ("avg", "value_mean"),
                ("min", "value_min"),
                ("max", "value_max"),
                ("med", "value_p50"),
                ("p(90)", "value_p90"),
                ("p(95)", "value_p95"),
                ("p(99)", "value_p99"),
            ] {
                let want = k6[key].as_f64().unwrap();
                let got = metric(&r, target, m);
                assert!(
                    close(got, want, 0.01),
                    "{file} {target} {m}: {got}, k6 printed {want}"
                );
                assert_eq!(metric(&from_summary, target, m), want, "{target} {m}");
            }
            assert_eq!(metric(&r, target, "count"), count, "{file} {target}");
        }
        let browse = r.target("step_time{step:browse}").unwrap();
        // kept as a histogram per tag set, like http_req_duration (and no latency_* figures
        // derived from it: it holds a custom metric's values)
        assert_eq!(
            browse.histogram.as_ref().map(hdrhistogram::Histogram::len),
            Some(150),
            "{file}"
        );
        assert!(browse.get("latency_p50_ms").is_none(), "{file}");
        let tags = browse.tags.as_ref().unwrap();
        assert_eq!(
            tags.get("step").map(String::as_str),
            Some("browse"),
            "{file}"
        );
        // the system tags (scenario, group) do not split a series
        assert_eq!(
            r.targets
                .iter()
                .filter(|t| t.name.starts_with("step_time"))
                .count(),
            3,
            "{file}"
        );
    }
}

#[test]
fn hey_csv_percentiles_follow_heys_rule_at_a_gap() {
    // hey -n 200 -c 1 against /api/cache (every other request a ~12 ms miss), once as the
    // summary (it printed "50% in 0.0105 secs", "90% in 0.0143 secs") and once with -o csv.
    // hey's rule is the sample at index ceil(n q); on the CSV's 200 sorted response times
    // (python3: v = sorted(col 0); v[ceil(200*p/100)]) that is 10.7 ms at 50% and 14.1 ms at
    // 90%; the nearest rank (v[ceil(n q) - 1]) gives 6.0 ms at 50%, in the gap.
    let r = run("hey/cache_bimodal_n200_c1.csv", "hey-csv");
    let printed = run("hey/cache_bimodal_n200_c1.txt", "hey-text");
    for (m, want) in [("latency_p50_ms", 10.7), ("latency_p90_ms", 14.1)] {
        let got = metric(&r, TOTAL, m);
        assert!(
            close(got, want, 0.01),
            "{m}: {got}, hey's rule gives {want}"
        );
        // the summary of the same alternating sequence: the same side of the gap
        let summary = metric(&printed, TOTAL, m);
        assert!(
            close(got, summary, 0.05),
            "{m}: {got} vs hey's summary {summary}"
        );
    }
    let h = r.target(TOTAL).unwrap().histogram.as_ref().unwrap();
    let nearest = perfledger::model::PercentileRule::NearestRank.quantile_us(h, 0.5) / 1000.0;
    assert!(
        close(nearest, 6.0, 0.01),
        "the nearest rank is in the gap: {nearest}"
    );
}

#[test]
fn ab_percentiles_from_gnuplot_follow_abs_rule_at_a_gap() {
    // ab -n 200 -c 1 -g against /api/cache (every other request a miss, ~1 ms vs ~12 ms):
    // ab printed "50% 11", "66% 12", "90% 15", "99% 16"; its rule is the sample at index
    // floor(n p). The nearest rank gives the last fast request (4 ms) for the median.
    let printed = run("ab/cache_bimodal_run.txt", "ab-text");
    let r = run("ab/cache_bimodal_gnuplot.tsv", "ab-gnuplot");
    for m in [
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ] {
        let want = metric(&printed, TOTAL, m);
        let got = metric(&r, TOTAL, m);
        assert!(
            close(got, want, 0.01),
            "{m}: {got} from -g, ab printed {want}"
        );
    }
    let h = r.target(TOTAL).unwrap().histogram.as_ref().unwrap();
    let nearest = perfledger::model::PercentileRule::NearestRank.quantile_us(h, 0.5) / 1000.0;
    assert!(
        nearest < 6.0,
        "the fixture's median sits at the gap: nearest rank {nearest}"
    );
}

/// The figures `capture/jtl_stats.py` computed from each JTL with JMeter's Aggregate Report
/// rule (StatCalculator: the value of rank round(n q)), fixtures/MANIFEST.md "jmeter/":
/// (label, n, errors, mean, min, max, p50, p90, p95, p99, throughput/s).
type JtlRow = (&'static str, f64, f64, f64, f64, f64, [f64; 4], Option<f64>);

fn assert_jtl(r: &ParsedRun, rows: &[JtlRow]) {
    for (label, n, err, mean, min, max, pct, rate) in rows {
        assert_eq!(metric(r, label, "requests"), *n, "{label}");
        assert_eq!(metric(r, label, "failures"), *err, "{label}");
        // the script printed means to 2 decimals
        let got = metric(r, label, "latency_mean_ms");
        assert!((got - mean).abs() <= 0.005, "{label} mean {got} vs {mean}");
        assert_eq!(metric(r, label, "latency_min_ms"), *min, "{label} min");
        assert_eq!(metric(r, label, "latency_max_ms"), *max, "{label} max");
        for (m, want) in [
            "latency_p50_ms",
            "latency_p90_ms",
            "latency_p95_ms",
            "latency_p99_ms",
        ]
        .iter()
        .zip(pct)
        {
            let got = metric(r, label, m);
            assert!(close(got, *want, 0.01), "{label} {m}: {got} vs {want}");
        }
        if let Some(rate) = rate {
            let got = metric(r, label, "throughput_rps");
            assert!(
                (got - rate).abs() < 0.05,
                "{label} throughput {got} vs {rate}"
            );
        }
    }
}

#[test]
fn jmeter_jtl_csv_per_label_as_jmeter_counts() {
    // JMeter 2.13 printed "summary = 2400 in 7s = 353.8/s Avg: 9 Min: 0 Max: 371 Err: 624
    // (26.00%)" (its summariser's wall time includes the 1 s ramp-up; Avg is truncated ms).
    let r = run("jmeter/shop_csv.jtl", "jmeter-csv");
    assert_eq!(r.tool, "jmeter");
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms").trunc(), 9.0);
    assert_eq!(r.load.threads, Some(4));
    assert_jtl(
        &r,
        &[
            (
                "GET /api/users",
                600.0,
                0.0,
                7.73,
                2.0,
                371.0,
                [5.0, 12.0, 16.0, 38.0],
                Some(100.6),
            ),
            (
                "GET /api/cache",
                600.0,
                0.0,
                11.03,
                1.0,
                82.0,
                [11.0, 20.0, 24.0, 40.0],
                Some(102.4),
            ),
            (
                "POST /api/checkout",
                600.0,
                24.0,
                13.64,
                7.0,
                283.0,
                [11.0, 18.0, 23.0, 48.0],
                Some(102.5),
            ),
            (
                "GET /nowhere",
                600.0,
                600.0,
                3.88,
                0.0,
                70.0,
                [2.0, 9.0, 12.0, 21.0],
                Some(102.9),
            ),
            (
                TOTAL,
                2400.0,
                624.0,
                9.07,
                0.0,
                371.0,
                [7.0, 17.0, 21.0, 38.0],
                Some(400.9),
            ),
        ],
    );
    let status = |target: &str, msg: &str| {
        r.errors
            .iter()
            .find(|e| e.target == target && e.message == msg)
            .map(|e| e.count)
    };
    assert_eq!(status("GET /nowhere", "HTTP 404"), Some(600));
    assert_eq!(status("POST /api/checkout", "HTTP 500"), Some(24));
    // per-second series of TOTAL: every sample counted once
    let per_sec: f64 = r
        .series
        .iter()
        .filter(|p| &*p.target == TOTAL && p.metric == "requests")
        .map(|p| p.value)
        .sum();
    assert_eq!(per_sec, 2400.0);
}

#[test]
fn jmeter_jtl_csv_without_header_and_with_every_field() {
    // Headerless (2.13's defaults): "summary = 160 ... Avg: 13 Min: 1 Max: 83 Err: 41"; its
    // TOTAL p99 by JMeter's rule is 80 (the nearest rank would say 81).
    let r = run("jmeter/shop_csv_noheader.jtl", "jmeter-csv");
    assert_jtl(
        &r,
        &[
            (
                "GET /api/users",
                40.0,
                0.0,
                18.10,
                3.0,
                83.0,
                [8.0, 59.0, 80.0, 83.0],
                None,
            ),
            (
                "POST /api/checkout",
                40.0,
                1.0,
                15.50,
                9.0,
                29.0,
                [14.0, 23.0, 24.0, 29.0],
                None,
            ),
            (
                TOTAL,
                160.0,
                41.0,
                13.86,
                1.0,
                83.0,
                [11.0, 25.0, 30.0, 80.0],
                Some(215.9),
            ),
        ],
    );
    // every optional column on: "summary = 160 ... Max: 163 Err: 42"; TOTAL p99 147 (nearest: 157)
    let r = run("jmeter/shop_csv_allfields.jtl", "jmeter-csv");
    assert_jtl(
        &r,
        &[
            (
                "GET /api/users",
                40.0,
                0.0,
                22.30,
                2.0,
                163.0,
                [8.0, 13.0, 147.0, 163.0],
                None,
            ),
            (
                TOTAL,
                160.0,
                42.0,
                13.69,
                0.0,
                163.0,
                [10.0, 18.0, 22.0, 147.0],
                Some(261.9),
            ),
        ],
    );
}

#[test]
fn jmeter_jtl_xml_as_jmeter_counts() {
    // "summary = 960 in 3.3s = 290.4/s Avg: 9 Min: 0 Max: 148 Err: 249 (25.94%)"
    let r = run("jmeter/shop_xml.jtl", "jmeter-xml");
    assert_jtl(
        &r,
        &[
            (
                "GET /api/users",
                240.0,
                0.0,
                9.10,
                3.0,
                148.0,
                [6.0, 12.0, 14.0, 141.0],
                Some(98.1),
            ),
            (
                "GET /api/cache",
                240.0,
                0.0,
                11.36,
                1.0,
                30.0,
                [12.0, 20.0, 21.0, 27.0],
                Some(103.9),
            ),
            (
                "POST /api/checkout",
                240.0,
                9.0,
                13.35,
                8.0,
                39.0,
                [12.0, 18.0, 20.0, 24.0],
                Some(103.9),
            ),
            (
                "GET /nowhere",
                240.0,
                240.0,
                4.02,
                0.0,
                16.0,
                [3.0, 8.0, 11.0, 14.0],
                Some(105.0),
            ),
            (
                TOTAL,
                960.0,
                249.0,
                9.46,
                0.0,
                148.0,
                [8.0, 17.0, 19.0, 26.0],
                Some(386.9),
            ),
        ],
    );
}

#[test]
fn jmeter_broken_jtls_say_file_line_and_what_was_expected() {
    // hand-made broken inputs: the real CSV with one row's success column damaged, and the
    // real XML cut before </testResults>
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(fixture("jmeter/shop_csv.jtl")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[5] = lines[5].replace(",true,", ",maybe,");
    let bad = dir.path().join("broken-success.jtl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let err = parse_file(&bad).unwrap_err().to_string();
    assert!(err.contains("broken-success.jtl:6:"), "{err}");
    assert!(
        err.contains("expected success true or false, found 'maybe'"),
        "{err}"
    );
    let xml = std::fs::read_to_string(fixture("jmeter/shop_xml.jtl")).unwrap();
    let cut = dir.path().join("cut.jtl");
    // cut inside a sample's tag, and cut after a whole line
    let line_end = xml[..xml.len() / 2].rfind('\n').unwrap() + 1;
    for at in [xml.len() / 2, line_end] {
        std::fs::write(&cut, &xml[..at]).unwrap();
        let err = parse_file(&cut).unwrap_err().to_string();
        assert!(err.contains("truncated: expected </testResults>"), "{err}");
    }
}

#[test]
fn hdr_interval_logs_sum_each_tag_exactly_as_histogram_log_processor() {
    // HistogramLogProcessor -outputValueUnitRatio 1000 (values in ms), fixtures/hlog/*.hgrm:
    // untagged T:3642 (3.635 13.383 17.551 29.327 44.895), Mean 5.445;
    // -tag users T:2487 (3.565 5.331 10.967 19.407 44.895), Mean 3.982;
    // -tag cache T:1155 (10.951 15.359 20.047 29.615 40.863), Mean 8.594.
    let untagged = run("hlog/shop_untagged.hlog", "hdr-interval-log");
    let tagged = run("hlog/shop_tagged.hlog", "hdr-interval-log");
    assert_eq!(
        untagged.labels.get("hlog_value_unit").map(String::as_str),
        Some("us")
    );
    for (r, target, n, mean, [p50, p90, p99, p999, max]) in [
        (
            &untagged,
            TOTAL,
            3642.0,
            5.445,
            [3.635, 13.383, 17.551, 29.327, 44.895],
        ),
        (
            &tagged,
            TOTAL,
            3642.0,
            5.445,
            [3.635, 13.383, 17.551, 29.327, 44.895],
        ),
        (
            &tagged,
            "users",
            2487.0,
            3.982,
            [3.565, 5.331, 10.967, 19.407, 44.895],
        ),
        (
            &tagged,
            "cache",
            1155.0,
            8.594,
            [10.951, 15.359, 20.047, 29.615, 40.863],
        ),
    ] {
        assert_eq!(metric(r, target, "requests"), n, "{target}");
        assert!(
            (metric(r, target, "latency_mean_ms") - mean).abs() < 0.0005,
            "{target}"
        );
        for (m, want) in [
            ("latency_p50_ms", p50),
            ("latency_p90_ms", p90),
            ("latency_p99_ms", p99),
            ("latency_p999_ms", p999),
            ("latency_max_ms", max),
        ] {
            let got = metric(r, target, m);
            assert!((got - want).abs() < 1e-9, "{target} {m}: {got} vs {want}");
        }
    }
    // five 1 s intervals per tag, each a series point
    let points = |r: &ParsedRun, t: &str| {
        r.series
            .iter()
            .filter(|p| &*p.target == t && p.metric == "requests")
            .map(|p| p.value)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        points(&untagged, TOTAL),
        vec![647.0, 630.0, 789.0, 823.0, 753.0]
    );
    assert_eq!(points(&tagged, "users").len(), 5);
    assert_eq!(
        untagged.started_at.unwrap().to_string(),
        "2026-12-01 18:48:22.292"
    );
}

#[test]
fn hdr_interval_log_without_a_unit_takes_value_unit_or_nanoseconds() {
    // the real log with its comment lines (which name microseconds) removed
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("hlog/shop_untagged.hlog")).unwrap();
    let bare: String = text
        .lines()
        .filter(|l| !l.starts_with("#[Histogram log produced"))
        .map(|l| format!("{l}\n"))
        .collect();
    let f = dir.path().join("bare.hlog");
    std::fs::write(&f, bare).unwrap();
    let units = collect_units(std::slice::from_ref(&f)).unwrap();
    let imp = detect(&units[0].0, None).unwrap();
    let p50 = |opts: &ImportOptions| match parse_unit(&units[0].0, imp, opts).unwrap() {
        Parsed::Runs(r) => (
            metric(&r[0], TOTAL, "latency_p50_ms"),
            r[0].labels["hlog_value_unit"].clone(),
        ),
        Parsed::Snapshot(_) | Parsed::Resources(_) => unreachable!(),
    };
    let (ns, unit) = p50(&ImportOptions::default());
    assert_eq!(unit, "ns");
    assert!((ns - 0.003635).abs() < 1e-12, "{ns}");
    let us = ImportOptions {
        value_unit: Some((1e-3, "us")),
        ..Default::default()
    };
    let (v, unit) = p50(&us);
    assert_eq!(unit, "us");
    assert!((v - 3.635).abs() < 1e-9, "{v}");
}

#[test]
fn jmeter_samples_without_a_response_count_by_jmeters_error_text() {
    // Nothing listened (-Jport=1): JMeter printed "summary = 48 in 1s = 51.4/s Avg: 5 Min: 0
    // Max: 45 Err: 48 (100.00%)"; its response code is "Non HTTP response code: ..."
    let r = run("jmeter/refused_csv.jtl", "jmeter-csv");
    assert_eq!(metric(&r, TOTAL, "requests"), 48.0);
    assert_eq!(metric(&r, TOTAL, "failures"), 48.0);
    assert_eq!(metric(&r, TOTAL, "error_rate"), 1.0);
    assert_eq!(metric(&r, TOTAL, "latency_max_ms"), 45.0);
    assert_eq!(metric(&r, TOTAL, "latency_mean_ms").trunc(), 5.0);
    let refused: i64 = r
        .errors
        .iter()
        .filter(|e| {
            e.kind == "error" && e.message == "Non HTTP response code: java.net.ConnectException"
        })
        .map(|e| e.count)
        .sum();
    assert_eq!(refused, 48);
}
