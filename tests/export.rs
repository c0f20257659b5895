//! `export`, read back by the real consumers: OpenMetrics into Prometheus (promtool's backfill,
//! then PromQL over HTTP on 127.0.0.1), Parquet/CSV/JSON into DuckDB and polars (Python).
//! Prometheus comes from Debian (`.ci/run` installs it), DuckDB/polars from
//! `scripts/lake-tools.sh`.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, free_port, python_engines, Workdir};

/// Real runs with per-request histograms (k6 points, wrk's Lua report, ab -g) and one
/// without (an ab summary), two of them labelled.
fn history() -> Workdir {
    let w = Workdir::new();
    for (f, labels) in [
        (
            "k6/shop_points.json",
            vec!["--label", "branch=main", "--label", "commit=c1"],
        ),
        ("wrk/users_lua_report.json", vec!["--label", "branch=main"]),
        ("ab/users_gnuplot_run.txt", vec![]),
        ("ab/orders_timelimit_t2.txt", vec![]),
    ] {
        let mut args = vec!["import"];
        args.extend(labels);
        let p = fixture(f);
        args.push(p.to_str().unwrap());
        w.ok(&args, 0);
    }
    w
}

struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn need(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{tool} is needed to read the OpenMetrics export back: apt-get install prometheus (as .ci/run does)"
    );
}

impl Prometheus {
    /// Prometheus on 127.0.0.1 over a TSDB folder, keeping old blocks (runs are months old).
    fn start(data: &Path) -> Prometheus {
        Prometheus::start_with(data, &[])
    }

    fn start_with(data: &Path, extra: &[&str]) -> Prometheus {
        std::fs::create_dir_all(data).unwrap();
        let config = data.join("prometheus.yml");
        std::fs::write(&config, "global: {}\n").unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .args(extra)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = Command::new("curl")
                .args(["-sf", &format!("http://127.0.0.1:{port}/-/ready")])
                .output()
                .is_ok_and(|o| o.status.success());
            if ready {
                return p;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready on 127.0.0.1:{port}");
    }

    /// The `data` of a PromQL query over the HTTP API, at `time` or now.
    fn api(&self, q: &str, time: Option<f64>) -> serde_json::Value {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sf",
            &format!("http://127.0.0.1:{}/api/v1/query", self.port),
        ])
        .args(["--data-urlencode", &format!("query={q}")]);
        if let Some(t) = time {
            cmd.args(["--data-urlencode", &format!("time={t:.3}")]);
        }
        let out = cmd.output().expect("curl");
        assert!(out.status.success(), "query {q} failed");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"], "success", "{q}: {v}");
        v["data"].clone()
    }

    /// The values of an instant PromQL query, by the `run` and `target` labels, evaluated a
    /// day from now: a run imported from a file written just now ends in the future (it starts
    /// at the file's time), and a query at "now" would not see it yet.
    fn query(&self, q: &str) -> Vec<(String, String, f64)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        vector(&self.api(q, Some(now + 86_400.0)))
    }

    /// An instant query at a given time (native histograms are read at their sample's time).
    fn query_at(&self, q: &str, t: f64) -> Vec<(String, String, f64)> {
        vector(&self.api(q, Some(t)))
    }

    /// The sample times of a range-vector query, by the `run` label.
    fn raw(&self, q: &str) -> Vec<(String, Vec<f64>)> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let data = self.api(q, Some(now + 86_400.0));
        assert_eq!(data["resultType"], "matrix", "{q}: {data}");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let times = r["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p[0].as_f64().unwrap())
                    .collect();
                (r["metric"]["run"].as_str().unwrap().to_string(), times)
            })
            .collect()
    }
}

/// An instant vector as (run, target, value).
fn vector(data: &serde_json::Value) -> Vec<(String, String, f64)> {
    data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"]["run"].as_str().unwrap_or_default().to_string(),
                r["metric"]["target"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect()
}

/// The q-quantile of every stored histogram by the nearest rank, Prometheus's definition for
/// `histogram_quantile` (a k6 run's stored percentiles follow k6's own rule, linear between
/// ranks, and differ from it at a gap): (short key, target, ms), read through the library.
/// Request-latency histograms only: a custom metric's (a k6 Trend's values) is not exported.
fn nearest_rank(w: &Workdir, q: f64) -> Vec<(String, String, f64)> {
    let rows = w.json(&[
        "sql",
        "SELECT h.run_id AS id, 'blake3:' || substr(r.content_key, 8, 12) AS run, h.target
         FROM histogram h JOIN run r ON r.id = h.run_id
         JOIN target t ON t.run_id = h.run_id AND t.target = h.target AND t.kind <> 'metric' ORDER BY 2, 3",
    ]);
    let wh = perfledger::store::Warehouse::open_ro(&w.db()).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let target = r["target"].as_str().unwrap().to_string();
            let h = wh
                .histogram(r["id"].as_i64().unwrap(), &target)
                .unwrap()
                .unwrap();
            let v = perfledger::model::PercentileRule::NearestRank.quantile_us(&h, q) / 1000.0;
            (r["run"].as_str().unwrap().to_string(), target, v)
        })
        .collect()
}

/// perfledger's own figures: (short key, target, value) of a metric.
fn stored(w: &Workdir, metric: &str) -> Vec<(String, String, f64)> {
    let rows = w.json(&[
        "sql",
        &format!(
            "SELECT 'blake3:' || substr(r.content_key, 8, 12) AS run, m.target, m.value
             FROM measurement m JOIN run r ON r.id = m.run_id WHERE m.metric = '{metric}'
             ORDER BY 1, 2"
        ),
    ]);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["run"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn openmetrics_export_loads_into_prometheus_with_the_same_numbers() {
    need("promtool");
    need("prometheus");
    let w = history();
    let om = w.dir.path().join("runs.om");
    let out = w.ok(&["export", "openmetrics", "--out", om.to_str().unwrap()], 0);
    assert!(out.contains("4 run(s) as OpenMetrics"), "{out}");
    let text = std::fs::read_to_string(&om).unwrap();
    assert!(text.ends_with("# EOF\n"));
    // the same text on stdout
    assert_eq!(w.ok(&["export", "openmetrics"], 0), text);

    let data = w.dir.path().join("tsdb");
    let backfill = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        backfill.status.success(),
        "promtool refused the export: {}",
        String::from_utf8_lossy(&backfill.stderr)
    );
    let prom = Prometheus::start(&data);
    // one sample per run: the newest over ten years is that sample
    let last = |m: &str| format!("last_over_time({m}[10y])");

    // every stored request count, exactly
    let mut requests = prom.query(&last("perfledger_requests"));
    requests.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let expected = stored(&w, "requests");
    assert_eq!(requests, expected);
    assert_eq!(
        requests
            .iter()
            .map(|r| &r.0)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4,
        "every run is its own series"
    );

    // percentiles from the classic buckets against the same HdrHistogram's by the nearest rank
    // (Prometheus's definition): within its 1% resolution
    let histograms: Vec<(String, String)> = w
        .json(&[
            "sql",
            "SELECT 'blake3:' || substr(r.content_key, 8, 12) AS run, h.target
             FROM histogram h JOIN run r ON r.id = h.run_id
         JOIN target t ON t.run_id = h.run_id AND t.target = h.target AND t.kind <> 'metric' ORDER BY 1, 2",
        ])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["run"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(histograms.len() >= 6, "{histograms:?}");
    for (q, metric) in [
        (0.5, "latency_p50_ms"),
        (0.95, "latency_p95_ms"),
        (0.99, "latency_p99_ms"),
    ] {
        let got = prom.query(&format!(
            "histogram_quantile({q}, {})",
            last("perfledger_latency_ms_bucket")
        ));
        let want = nearest_rank(&w, q);
        for key in &histograms {
            let g = got.iter().find(|r| (&r.0, &r.1) == (&key.0, &key.1));
            let s = want.iter().find(|r| (&r.0, &r.1) == (&key.0, &key.1));
            let (Some(g), Some(s)) = (g, s) else {
                panic!("{metric} of {key:?}: promql {g:?}, stored {s:?}");
            };
            let rel = (g.2 - s.2).abs() / s.2;
            assert!(
                rel <= 0.01,
                "{metric} of {key:?}: PromQL {} vs stored {} ({:.3}%)",
                g.2,
                s.2,
                rel * 100.0
            );
        }
    }
    // the count of each histogram (wrk's Lua report holds more latency samples than the
    // requests its summary counts: the histogram's own count is the one to match)
    let counts = prom.query(&last("perfledger_latency_ms_count"));
    let stored_counts = w.json(&[
        "sql",
        "SELECT 'blake3:' || substr(r.content_key, 8, 12) AS run, h.target, h.count
         FROM histogram h JOIN run r ON r.id = h.run_id
         JOIN target t ON t.run_id = h.run_id AND t.target = h.target AND t.kind <> 'metric'",
    ]);
    assert_eq!(counts.len(), histograms.len());
    for (run, target, n) in &counts {
        let s = stored_counts
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run"] == run.as_str() && r["target"] == target.as_str())
            .and_then(|r| r["count"].as_f64());
        assert_eq!(Some(*n), s, "histogram count of {run} {target}");
    }

    // samples sit at the run's end
    let ends = w.json(&[
        "sql",
        "SELECT 'blake3:' || substr(content_key, 8, 12) AS run,
                epoch_ms(coalesce(ended_at, started_at + to_microseconds(CAST(duration_s * 1e6 AS BIGINT)), started_at)) / 1000.0 AS t
         FROM run ORDER BY 1",
    ]);
    // a range selector returns the raw samples with their own times
    let raw = prom.raw("perfledger_requests{target=\"TOTAL\"}[10y]");
    assert_eq!(raw.len(), 4);
    for e in ends.as_array().unwrap() {
        let run = e["run"].as_str().unwrap();
        let (_, samples) = raw.iter().find(|r| r.0 == run).unwrap();
        assert_eq!(samples.len(), 1, "{run}: one sample per run");
        let t = samples[0];
        assert!(
            (t - e["t"].as_f64().unwrap()).abs() < 0.002,
            "{run}: {t} vs {e}"
        );
    }
    // labels: the run's own, and a selection narrows the export
    let main = prom.query(&last(
        "perfledger_requests{branch=\"main\",target=\"TOTAL\"}",
    ));
    assert_eq!(main.len(), 2);
    let one = w.ok(&["export", "openmetrics", "--label", "commit=c1"], 0);
    assert!(one.contains("commit=\"c1\""));
    assert!(!one.contains("tool=\"ab\""));
}

#[test]
fn table_exports_read_back_by_duckdb_and_polars_with_perfledgers_counts() {
    python_engines();
    let w = history();
    let tables = [
        "run",
        "run_label",
        "source_file",
        "target",
        "measurement",
        "histogram",
        "series_point",
        "error",
        "threshold",
    ];
    let count = |t: &str| {
        w.scalar(&format!("SELECT count(*) FROM {t}"))
            .as_i64()
            .unwrap()
    };
    let want: Vec<i64> = tables.iter().map(|t| count(t)).collect();
    assert!(want[4] > 50 && want[5] >= 6, "{want:?}");
    let sum = w
        .scalar("SELECT round(sum(value), 6) FROM measurement")
        .as_f64()
        .unwrap();
    let script = r#"
import sys, json, duckdb, polars as pl
d, ext, tables = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
c = duckdb.connect()
reader = {"parquet": "read_parquet", "csv": "read_csv", "ndjson": "read_json"}[ext]
dk = [c.execute(f"SELECT count(*) FROM {reader}('{d}/{t}.{ext}')").fetchone()[0] for t in tables]
read = {"parquet": pl.read_parquet, "csv": pl.read_csv, "ndjson": pl.read_ndjson}[ext]
pm = read(f"{d}/measurement.{ext}")
print(json.dumps({"duckdb": dk, "polars_rows": pm.height, "polars_sum": round(pm["value"].sum(), 6),
                  "keys": pm["run_key"].n_unique()}))
"#;
    for (fmt, ext) in [("parquet", "parquet"), ("csv", "csv"), ("json", "ndjson")] {
        let dir = w.dir.path().join(format!("out-{fmt}"));
        let out = w.ok(&["export", fmt, "--out", dir.to_str().unwrap()], 0);
        assert!(out.contains("measurement"), "{out}");
        let got = Command::new("python3")
            .args(["-c", script])
            .arg(&dir)
            .arg(ext)
            .arg(tables.join(","))
            .output()
            .unwrap();
        assert!(
            got.status.success(),
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
        let dk: Vec<i64> = serde_json::from_value(v["duckdb"].clone()).unwrap();
        assert_eq!(dk, want, "{fmt}: DuckDB row counts per table {tables:?}");
        assert_eq!(v["polars_rows"].as_i64(), Some(want[4]), "{fmt}");
        assert!(
            (v["polars_sum"].as_f64().unwrap() - sum).abs() < 1e-3,
            "{fmt}: {v}"
        );
        assert_eq!(v["keys"].as_i64(), Some(4), "{fmt}");
        assert!(!std::fs::read_dir(&dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")));
    }
    // a selection: the newest run only
    let dir = w.dir.path().join("latest");
    w.ok(
        &[
            "export",
            "parquet",
            "latest",
            "--out",
            dir.to_str().unwrap(),
        ],
        0,
    );
    let rows = w.json(&[
        "sql",
        &format!(
            "SELECT count(*) AS n FROM read_parquet('{}/run.parquet')",
            dir.display()
        ),
    ]);
    assert_eq!(rows[0]["n"], 1);
}

#[test]
fn export_refuses_what_it_cannot_do() {
    let w = history();
    let err = |args: &[&str], code: i32| {
        let out = w.run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(err(&["export", "parquet"], 2).contains("--out DIR"));
    assert!(err(&["export", "csv", "--tool", "locust", "--out", "x"], 2).contains("no run matches"));
    let file = w.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let sub = file.join("sub");
    assert!(err(&["export", "json", "--out", sub.to_str().unwrap()], 6).contains("cannot write"));
    assert!(err(
        &["export", "openmetrics", "--out", sub.to_str().unwrap()],
        6
    )
    .contains("cannot write"));
}

/// Prometheus with the remote-write receiver and native histograms on 127.0.0.1, fresh TSDB.
fn prometheus_receiver(data: &Path) -> Prometheus {
    Prometheus::start_with(
        data,
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
        ],
    )
}

#[test]
fn remote_write_sends_native_histograms_prometheus_reads_back() {
    need("prometheus");
    let w = history();
    let prom = prometheus_receiver(&w.dir.path().join("rw"));
    let url = format!("http://127.0.0.1:{}/api/v1/write", prom.port);
    let out = w.ok(&["export", "remote-write", "--url", &url], 0);
    assert!(out.contains("4 run(s)"), "{out}");

    // each histogram at its run's time: count and percentiles against perfledger's own
    let rows = w.json(&[
        "sql",
        "SELECT 'blake3:' || substr(r.content_key, 8, 12) AS run, h.target, h.count,
                epoch_ms(coalesce(r.ended_at, r.started_at + to_microseconds(CAST(r.duration_s * 1e6 AS BIGINT)), r.started_at)) / 1000.0 AS t
         FROM histogram h JOIN run r ON r.id = h.run_id
         JOIN target t ON t.run_id = h.run_id AND t.target = h.target AND t.kind <> 'metric' ORDER BY 1, 2",
    ]);
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 6);
    let p95 = nearest_rank(&w, 0.95);
    let p50 = nearest_rank(&w, 0.5);
    for r in rows {
        let (run, target) = (r["run"].as_str().unwrap(), r["target"].as_str().unwrap());
        let t = r["t"].as_f64().unwrap();
        let sel = format!(
            "perfledger_latency_ms{{run=\"{run}\",target=\"{}\"}}",
            target.replace('"', "\\\"")
        );
        let count = prom.query_at(&format!("histogram_count({sel})"), t);
        assert_eq!(count.len(), 1, "{sel} at {t}");
        assert_eq!(Some(count[0].2), r["count"].as_f64(), "{sel}");
        for (q, want) in [(0.95, &p95), (0.5, &p50)] {
            let got = prom.query_at(&format!("histogram_quantile({q}, {sel})"), t)[0].2;
            let s = want.iter().find(|x| x.0 == run && x.1 == target).unwrap().2;
            let rel = (got - s).abs() / s;
            assert!(
                rel <= 0.01,
                "{sel} q{q}: PromQL {got} vs the histogram's {s} ({:.3}%)",
                rel * 100.0
            );
        }
    }
    // the gauges came along, one sample per run, at the same times as the text export
    let mut requests = prom.query("last_over_time(perfledger_requests[10y])");
    requests.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(requests, stored(&w, "requests"));

    // a receiver that is not there: a clear error naming it, exit 3
    let dead = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let o = w.run(&["export", "remote-write", "--url", &dead]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&dead));
    let o = w.run(&["export", "remote-write"]);
    assert_eq!(o.status.code(), Some(2));
}
