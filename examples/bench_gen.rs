//! Deterministic generators of large benchmark inputs (see BENCHMARKS.md):
//!
//! ```text
//! cargo run --release --example bench_gen -- k6 SIZE_MB OUT.json       k6 --out json points
//! cargo run --release --example bench_gen -- locust SECONDS OUT_PREFIX  Locust --csv files
//! cargo run --release --example bench_gen -- warehouse RUNS TARGETS OUT.duckdb
//! ```
//!
//! The k6 file has the shape k6 1.1 writes (see fixtures/k6/shop_points.json): Metric
//! declarations before a metric's first point, nine `http_req_*` points plus `http_reqs` and
//! `http_req_failed` per request with k6's default tags, a `checks` point per request, the
//! iteration metrics per iteration, custom metrics and `vus` once a second. 50 endpoints across 3
//! scenarios, log-normal latencies, 1% failures, ~3,000 requests/s. Same arguments, same bytes.

use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

const SEED: u64 = 2026;
const START_EPOCH: i64 = 1_795_000_000; // 2026-11-18T11:06:40Z
const RATE: f64 = 3000.0;

struct Endpoint {
    method: &'static str,
    name: String,
    scenario: &'static str,
    group: &'static str,
    latency: LogNormal<f64>,
}

fn endpoints(n: usize) -> Vec<Endpoint> {
    let scenarios = [
        ("browse", "::catalog"),
        ("buy", "::checkout"),
        ("admin", "::back office"),
    ];
    let resources = [
        "users", "orders", "items", "carts", "search", "prices", "stock", "reviews", "coupons",
        "reports",
    ];
    (0..n)
        .map(|i| {
            let (scenario, group) = scenarios[i % scenarios.len()];
            let method = ["GET", "GET", "GET", "POST", "PUT"][i % 5];
            let median_ms = 2.0 + (i as f64 * 7.3) % 60.0;
            Endpoint {
                method,
                name: format!(
                    "https://shop.example.test/api/v2/{}/{{id}}/{}",
                    resources[i % resources.len()],
                    i
                ),
                scenario,
                group,
                latency: LogNormal::new(median_ms.ln(), 0.45).expect("valid"),
            }
        })
        .collect()
}

/// k6's RFC 3339 time with nanoseconds and trailing zeros trimmed, as Go's RFC3339Nano.
fn k6_time(ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp(ns.div_euclid(1_000_000_000), 0)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%S");
    let frac = ns.rem_euclid(1_000_000_000);
    if frac == 0 {
        format!("{t}Z")
    } else {
        let f = format!("{frac:09}");
        format!("{t}.{}Z", f.trim_end_matches('0'))
    }
}

const HTTP_METRICS: [(&str, &str); 11] = [
    ("http_reqs", "counter"),
    ("http_req_duration", "trend"),
    ("http_req_blocked", "trend"),
    ("http_req_connecting", "trend"),
    ("http_req_tls_handshaking", "trend"),
    ("http_req_sending", "trend"),
    ("http_req_waiting", "trend"),
    ("http_req_receiving", "trend"),
    ("http_req_failed", "rate"),
    ("checks", "rate"),
    ("vus", "gauge"),
];

const ITERATION_METRICS: [(&str, &str); 6] = [
    ("iterations", "counter"),
    ("iteration_duration", "trend"),
    ("data_sent", "counter"),
    ("data_received", "counter"),
    ("orders_placed", "counter"),
    ("checkout_time", "trend"),
];

fn declare(w: &mut impl Write, name: &str, kind: &str) -> std::io::Result<()> {
    let contains = match kind {
        "trend" if name != "checkout_time" => "time",
        "counter" if name.starts_with("data_") => "data",
        _ => "default",
    };
    writeln!(
        w,
        r#"{{"type":"Metric","data":{{"name":"{name}","type":"{kind}","contains":"{contains}","thresholds":[],"submetrics":null}},"metric":"{name}"}}"#
    )
}

fn point(
    w: &mut impl Write,
    metric: &str,
    time: &str,
    value: f64,
    tags: &str,
) -> std::io::Result<()> {
    writeln!(
        w,
        r#"{{"metric":"{metric}","type":"Point","data":{{"time":"{time}","value":{value},"tags":{{{tags}}}}}}}"#
    )
}

/// Writes k6 points until the file reaches `size_mb` megabytes (10^6 bytes).
fn k6(size_mb: u64, out: &Path) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let eps = endpoints(50);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let limit = size_mb * 1_000_000;
    let mut written = 0u64;
    let mut ns = START_EPOCH * 1_000_000_000;
    let mut next_second = ns;
    let mut vus = 10;
    for (name, kind) in HTTP_METRICS.iter().chain(&ITERATION_METRICS) {
        let mut line = Vec::new();
        declare(&mut line, name, kind)?;
        written += line.len() as u64;
        w.write_all(&line)?;
    }
    let mut buf = Vec::with_capacity(8192);
    let mut requests = 0u64;
    while written < limit {
        buf.clear();
        ns += (rng.gen::<f64>() * 2.0 * 1e9 / RATE) as i64 + 1;
        let time = k6_time(ns);
        if ns >= next_second {
            vus = (vus + rng.gen_range(-2i64..=3)).clamp(10, 200);
            point(&mut buf, "vus", &time, vus as f64, "")?;
            next_second += 1_000_000_000;
        }
        let ep = &eps[rng.gen_range(0..eps.len())];
        let failed = rng.gen::<f64>() < 0.01;
        let status = if failed { "503" } else { "200" };
        let tags = format!(
            r#""expected_response":"{}","group":"{}","method":"{}","name":"{}","proto":"HTTP/1.1","scenario":"{}","status":"{status}","tls_version":"tls1.3","url":"{}""#,
            !failed, ep.group, ep.method, ep.name, ep.scenario, ep.name
        );
        let duration: f64 = ep.latency.sample(&mut rng);
        let r = |x: f64| (x * 1e6).round() / 1e6;
        point(&mut buf, "http_reqs", &time, 1.0, &tags)?;
        point(&mut buf, "http_req_duration", &time, r(duration), &tags)?;
        for (m, share) in [
            ("http_req_blocked", 0.002),
            ("http_req_connecting", 0.001),
            ("http_req_tls_handshaking", 0.0),
            ("http_req_sending", 0.01),
            ("http_req_waiting", 0.95),
            ("http_req_receiving", 0.04),
        ] {
            point(&mut buf, m, &time, r(duration * share), &tags)?;
        }
        point(
            &mut buf,
            "http_req_failed",
            &time,
            failed as u8 as f64,
            &tags,
        )?;
        let check_tags = format!(
            r#""check":"status is 200","group":"{}","scenario":"{}""#,
            ep.group, ep.scenario
        );
        point(
            &mut buf,
            "checks",
            &time,
            (!failed) as u8 as f64,
            &check_tags,
        )?;
        requests += 1;
        if requests.is_multiple_of(4) {
            let it_tags = format!(r#""group":"","scenario":"{}""#, ep.scenario);
            point(&mut buf, "iterations", &time, 1.0, &it_tags)?;
            point(
                &mut buf,
                "iteration_duration",
                &time,
                r(duration * 4.2),
                &it_tags,
            )?;
            point(
                &mut buf,
                "data_sent",
                &time,
                rng.gen_range(300..900) as f64,
                &it_tags,
            )?;
            point(
                &mut buf,
                "data_received",
                &time,
                rng.gen_range(2000..9000) as f64,
                &it_tags,
            )?;
            if ep.scenario == "buy" {
                point(&mut buf, "orders_placed", &time, 1.0, &it_tags)?;
                point(
                    &mut buf,
                    "checkout_time",
                    &time,
                    r(duration * 1.5),
                    &it_tags,
                )?;
            }
        }
        written += buf.len() as u64;
        w.write_all(&buf)?;
    }
    w.flush()?;
    eprintln!("{}: {requests} requests, {written} bytes", out.display());
    Ok(())
}

/// Locust 2.x `--csv` files of a run of `seconds` seconds: one stats_history row per second
/// per endpoint plus the Aggregated row, and the final stats table.
fn locust(seconds: u64, prefix: &str) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let eps = endpoints(50);
    let pct = [
        "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
    ];
    let qs = [
        0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
    ];
    let mut w = BufWriter::new(std::fs::File::create(format!(
        "{prefix}_stats_history.csv"
    ))?);
    writeln!(w, "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{},Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size", pct.join(","))?;
    let mut totals = vec![(0u64, 0u64, 0.0f64); eps.len()];
    let normal = statrs::distribution::Normal::new(0.0, 1.0).expect("valid");
    let z = |q: f64| statrs::distribution::ContinuousCDF::inverse_cdf(&normal, q.min(0.99999));
    for s in 0..seconds {
        let ts = START_EPOCH + s as i64;
        let users = 100 + (s % 600) as i64 / 6;
        let mut agg = (0u64, 0u64);
        for (i, ep) in eps.iter().enumerate() {
            let n = rng.gen_range(40..80u64);
            let f = (rng.gen::<f64>() * n as f64 * 0.02) as u64;
            let t = &mut totals[i];
            t.0 += n;
            t.1 += f;
            let median = ep.latency.sample(&mut rng) * 0.3 + ep.latency.sample(&mut rng) * 0.7;
            t.2 += median * n as f64;
            let cols: Vec<String> = qs
                .iter()
                .map(|q| format!("{:.0}", median * (0.45 * z(*q)).exp()))
                .collect();
            let name = if ep.name.contains(',') {
                format!("\"{}\"", ep.name)
            } else {
                ep.name.clone()
            };
            writeln!(
                w,
                "{ts},{users},{},{name},{:.6},{:.6},{},{},{},{:.0},{},{},{},{}",
                ep.method,
                n as f64,
                f as f64,
                cols.join(","),
                t.0,
                t.1,
                median,
                t.2 / t.0 as f64,
                median * 0.2,
                median * 8.0,
                512.0
            )?;
            agg.0 += n;
            agg.1 += f;
        }
        let (n, f): (u64, u64) = totals.iter().fold((0, 0), |a, t| (a.0 + t.0, a.1 + t.1));
        writeln!(
            w,
            "{ts},{users},,Aggregated,{:.6},{:.6},{},{n},{f},12,15.5,0.4,900.0,512.0",
            agg.0 as f64,
            agg.1 as f64,
            vec!["12"; pct.len()].join(",")
        )?;
    }
    w.flush()?;
    let mut st = BufWriter::new(std::fs::File::create(format!("{prefix}_stats.csv"))?);
    writeln!(st, "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{}", pct.join(","))?;
    let mut all = (0u64, 0u64, 0.0f64);
    for (ep, t) in eps.iter().zip(&totals) {
        let mean = t.2 / t.0 as f64;
        let cols: Vec<String> = qs
            .iter()
            .map(|q| format!("{:.0}", mean * (0.45 * z(*q)).exp()))
            .collect();
        writeln!(
            st,
            "{},{},{},{},{:.0},{mean},{},{},512.0,{},{},{}",
            ep.method,
            ep.name,
            t.0,
            t.1,
            mean,
            mean * 0.2,
            mean * 8.0,
            t.0 as f64 / seconds as f64,
            t.1 as f64 / seconds as f64,
            cols.join(",")
        )?;
        all = (all.0 + t.0, all.1 + t.1, all.2 + t.2);
    }
    let mean = all.2 / all.0 as f64;
    writeln!(
        st,
        ",Aggregated,{},{},{mean:.0},{mean},{},{},512.0,{},{},{}",
        all.0,
        all.1,
        mean * 0.2,
        mean * 8.0,
        all.0 as f64 / seconds as f64,
        all.1 as f64 / seconds as f64,
        vec![format!("{mean:.0}"); pct.len()].join(",")
    )?;
    st.flush()?;
    eprintln!(
        "{prefix}_stats.csv, {prefix}_stats_history.csv: {seconds} s x {} endpoints",
        eps.len()
    );
    Ok(())
}

/// Runs generated per statement by `warehouse`.
const GEN_BLOCK: i64 = 20_000;

/// Runs `lo..=hi` of a warehouse of `runs`: a run every 20 minutes from 2023-01-01 (100,000
/// runs reach 2026-10), labelled with a commit, in 17 scenarios (a quarter holds ~6,500 runs and
/// 51 key series); latency per target drifts slowly and steps up by 15% for the last 10% of runs.
fn warehouse_block(
    exec: &dyn Fn(&str) -> perfledger::error::Result<()>,
    lo: i64,
    hi: i64,
    runs: i64,
) -> perfledger::error::Result<()> {
    exec(&format!(
        "INSERT INTO run (id, tool, format, scenario, started_at, ended_at, duration_s, url, threads, connections, content_key, imported_at)
         SELECT i, 'wrk', 'wrk-lua-json', 'suite-' || lpad((i % 17)::VARCHAR, 2, '0'), TIMESTAMP '2023-01-01' + INTERVAL 20 MINUTE * i,
                TIMESTAMP '2023-01-01' + INTERVAL 20 MINUTE * i + INTERVAL 30 SECOND, 30.0,
                'http://127.0.0.1:8080/', 2, 50, 'synthetic-' || i, TIMESTAMP '2026-11-27'
         FROM range({lo}, {hi} + 1) r(i);
         INSERT INTO run_label SELECT i, 'commit', printf('%07x', hash(i) % 268435456) FROM range({lo}, {hi} + 1) r(i);
         INSERT INTO run_label SELECT i, 'branch', 'main' FROM range({lo}, {hi} + 1) r(i);
         INSERT INTO target SELECT i, t.target, CASE WHEN j = 0 THEN 'total' ELSE 'http' END, CASE WHEN j = 0 THEN NULL ELSE 'GET' END, NULL, NULL
         FROM range({lo}, {hi} + 1) r(i), t;
         CREATE OR REPLACE TEMP TABLE base AS
         SELECT i AS run_id, t.target, j,
                (5 + j) * (1 + 0.0000005 * i) * CASE WHEN i > {runs} * 0.9 THEN 1.15 ELSE 1 END
                  * exp(0.05 * sqrt(-2 * ln(((hash(i, j, 'u') % 1000000) + 0.5) / 1e6))
                        * cos(2 * pi() * ((hash(i, j, 'v') % 1000000) + 0.5) / 1e6)) AS p50
         FROM range({lo}, {hi} + 1) r(i), t;
         INSERT INTO measurement
         SELECT run_id, target, metric, value, unit FROM (
         SELECT run_id, target, m.metric, p50 * m.f AS value, m.unit FROM base,
           (VALUES ('latency_p50_ms', 1.0, 'ms'), ('latency_p90_ms', 1.8, 'ms'), ('latency_p95_ms', 2.2, 'ms'),
                   ('latency_p99_ms', 3.5, 'ms'), ('latency_mean_ms', 1.2, 'ms'), ('latency_max_ms', 9.0, 'ms'),
                   ('latency_stdev_ms', 0.6, 'ms')) m(metric, f, unit)
         UNION ALL
         SELECT run_id, target, m.metric, m.f / p50, m.unit FROM base,
           (VALUES ('throughput_rps', 50000.0, 'req/s'), ('requests', 1500000.0, 'count')) m(metric, f, unit)
         UNION ALL
         SELECT run_id, target, 'error_rate', 0.001 * (hash(run_id, j, 'e') % 1000) / 1000, 'ratio' FROM base)
         ORDER BY run_id, target, metric;
         INSERT INTO histogram SELECT b.run_id, b.target, p.count, p.hdr
         FROM base b JOIN hdr_pool p ON p.slot = (hash(b.run_id, b.j) % 64) ORDER BY b.run_id, b.target;"
    ))
}

/// A warehouse of `runs` runs x `targets` targets, written with DuckDB's own bulk
/// SQL after perfledger's migrations: every run has the measurements wrk's importer writes and
/// a latency histogram per target (drawn from a pool of 64 real-sized HDR histograms); then the
/// history index, as imports would leave it.
fn warehouse(runs: i64, targets: i64, out: &Path) -> perfledger::error::Result<()> {
    use hdrhistogram::serialization::{Serializer, V2Serializer};
    if out.exists() {
        std::fs::remove_file(out).map_err(|e| perfledger::error::Error::output(out, e))?;
    }
    // perfledger's migrations make the schema; the bulk rows go in through DuckDB directly
    drop(perfledger::store::Warehouse::open_rw(out)?);
    let conn = duckdb::Connection::open(out)
        .map_err(|e| perfledger::error::Error::Store(e.to_string()))?;
    let c = &conn;
    let exec = |sql: &str| {
        c.execute_batch(sql)
            .map_err(|e| perfledger::error::Error::Store(format!("{e}: {sql}")))
    };
    // DuckDB's buffer pool would grow towards 80% of RAM over a long generation; a block's
    // sort needs about a gigabyte
    exec("SET memory_limit = '2GB'")?;
    let mut rng = StdRng::seed_from_u64(SEED);
    exec("CREATE TEMP TABLE hdr_pool (slot INTEGER, count BIGINT, hdr BLOB)")?;
    {
        let mut app = c
            .appender("hdr_pool")
            .map_err(|e| perfledger::error::Error::Store(e.to_string()))?;
        for slot in 0..64 {
            let mut h = perfledger::model::new_histogram();
            let ln = LogNormal::new((8.0f64 + slot as f64 * 0.1).ln(), 0.4).expect("valid");
            for _ in 0..5000 {
                perfledger::model::record_ms(&mut h, ln.sample(&mut rng), 1);
            }
            let mut blob = Vec::new();
            V2Serializer::new()
                .serialize(&h, &mut blob)
                .expect("serialise");
            app.append_row(duckdb::params![slot, h.len() as i64, blob])
                .map_err(|e| perfledger::error::Error::Store(e.to_string()))?;
        }
    }
    exec(&format!(
        "CREATE TEMP TABLE t AS SELECT j, CASE WHEN j = 0 THEN 'TOTAL' ELSE 'GET /api/endpoint-' || j END AS target FROM range(0, {targets}) r(j);
         SELECT setval('run_id_seq', {runs});"
    ))?;
    // In blocks of runs, so memory stays flat in the number of runs (one block's rows are
    // sorted at a time); the same rows in the same order as one statement would write.
    let started = std::time::Instant::now();
    let mut lo = 1;
    while lo <= runs {
        let hi = (lo + GEN_BLOCK - 1).min(runs);
        warehouse_block(&exec, lo, hi, runs)?;
        lo = hi + 1;
    }
    exec("CHECKPOINT")?;
    drop(conn);
    eprintln!("rows written in {:.1} s", started.elapsed().as_secs_f64());
    let indexed = std::time::Instant::now();
    let c = perfledger::store::Warehouse::open_rw(out)?
        .index_history(perfledger::store::history_index::IndexStep::BLOCKS)?;
    eprintln!(
        "history index up to run {} ({} rows above it, as imports leave it) in {:.1} s",
        c.covered_run,
        c.tail_rows,
        indexed.elapsed().as_secs_f64()
    );
    eprintln!("{}: {runs} runs x {targets} targets", out.display());
    Ok(())
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_gen k6 SIZE_MB OUT.json | locust SECONDS OUT_PREFIX | warehouse RUNS TARGETS OUT.duckdb";
    let num = |i: usize| -> u64 {
        a.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{usage}"))
    };
    let r = match a.first().map(String::as_str) {
        Some("k6") if a.len() == 3 => k6(num(1), Path::new(&a[2])).map_err(|e| e.to_string()),
        Some("locust") if a.len() == 3 => locust(num(1), &a[2]).map_err(|e| e.to_string()),
        Some("warehouse") if a.len() == 4 => {
            warehouse(num(1) as i64, num(2) as i64, Path::new(&a[3])).map_err(|e| e.to_string())
        }
        _ => Err(usage.to_string()),
    };
    if let Err(e) = r {
        eprintln!("{e}");
        std::process::exit(2);
    }
}
