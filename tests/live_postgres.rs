//! Live pg_stat_statements: starts a throwaway PostgreSQL on 127.0.0.1 (fixtures/capture/
//! pg_cluster.sh; `.ci/run` makes sure the server binaries exist), runs a workload between two
//! `perfledger snapshot postgres` calls and checks the interval the warehouse derives.
//! Set PERFLEDGER_SKIP_LIVE_PG=1 to skip it on a machine without PostgreSQL.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::Workdir;
#[path = "common/pg.rs"]
mod pg;
use pg::Cluster;

#[test]
fn two_live_snapshots_give_the_workload_interval() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut client = postgres::Client::connect(&pg.dsn(), postgres::NoTls).expect("connect");
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE live_t (x int); SELECT pg_stat_statements_reset();").unwrap();
    let w = Workdir::new();
    let first = snapshot(&w, &pg);
    assert_eq!(first["status"], "imported");
    repeat(&mut client, 50, "INSERT INTO live_t (x) VALUES (1)");
    repeat(&mut client, 7, "SELECT count(*) FROM live_t WHERE x > 10");
    let second = snapshot(&w, &pg);
    assert_eq!(second["status"], "imported");
    let calls = |q: &str| calls_at(&w, 2, q);
    assert_eq!(calls("INSERT INTO live_t"), 50);
    assert_eq!(calls("SELECT count(*) FROM live_t"), 7);
    assert_eq!(
        w.scalar("SELECT reset FROM pg_snapshot_reset WHERE snapshot_id = 2"),
        false
    );
    // a reset between snapshots is seen through pg_stat_statements_info.stats_reset
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .unwrap();
    client
        .execute("INSERT INTO live_t (x) VALUES ($1)", &[&1])
        .unwrap();
    snapshot(&w, &pg);
    assert_eq!(
        w.scalar("SELECT reset FROM pg_snapshot_reset WHERE snapshot_id = 3"),
        true
    );
    assert_eq!(calls_at(&w, 3, "INSERT INTO live_t"), 1);
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_statement_delta WHERE calls < 0"),
        0
    );
}

/// Runs `sql` `n` times, each its own transaction (autocommit).
fn repeat(client: &mut postgres::Client, n: usize, sql: &str) {
    for _ in 0..n {
        client.batch_execute(sql).unwrap();
    }
}

/// The durations (ms) the server's jsonlog gives the statements `texts`, once `n` are logged.
fn interval_durations(log: &std::path::Path, texts: &[&str], n: usize) -> Vec<f64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found: Vec<f64> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|e| {
                let m = e["message"].as_str()?.to_string();
                let (d, stmt) = m
                    .strip_prefix("duration: ")?
                    .split_once(" ms  statement: ")?;
                texts.contains(&stmt).then(|| d.parse::<f64>().ok())?
            })
            .collect();
        if found.len() >= n || std::time::Instant::now() > deadline {
            assert_eq!(found.len(), n, "logged durations of {texts:?}");
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn snapshot(w: &Workdir, pg: &Cluster) -> serde_json::Value {
    w.json(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "live",
    ])
}

fn calls_at(w: &Workdir, snap: i64, q: &str) -> serde_json::Value {
    w.scalar(&format!(
        "SELECT calls FROM pg_statement_delta WHERE snapshot_id = {snap} AND query LIKE '{q}%'"
    ))
}

/// pg_stat_database of the test's own session, forced to be current (PostgreSQL 15 flushes a
/// backend's counters at most once a second otherwise).
fn db_counters(client: &mut postgres::Client) -> (i64, i64, i64, i64) {
    client
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .unwrap();
    client
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .unwrap();
    let r = client
        .query_one(
            "SELECT xact_commit, xact_rollback, blks_hit, blks_read FROM pg_stat_database WHERE datname = 'postgres'",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

#[test]
fn database_health_binds_to_the_run() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut client =
        pg.client("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE h_t (x int)");
    let w = Workdir::new();
    let wrk = common::fixture("wrk/users_t2_c8_d3s.txt")
        .display()
        .to_string();
    w.ok(&["import", "--quiet", &wrk], 0);
    let before = db_counters(&mut client);
    snapshot(&w, &pg);
    // the workload: 40 commits, 3 rollbacks; connections: 2 idle, 1 idle in transaction
    repeat(&mut client, 40, "INSERT INTO h_t VALUES (1)");
    repeat(
        &mut client,
        3,
        "BEGIN; INSERT INTO h_t VALUES (0); ROLLBACK",
    );
    let mut others: Vec<postgres::Client> = (0..3)
        .map(|_| postgres::Client::connect(&pg.dsn(), postgres::NoTls).unwrap())
        .collect();
    others[2].batch_execute("BEGIN; SELECT 1").unwrap();
    let mid = db_counters(&mut client);
    let max: i64 = client
        .query_one(
            "SELECT setting::bigint FROM pg_settings WHERE name = 'max_connections'",
            &[],
        )
        .unwrap()
        .get(0);
    let out = w.json(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "live",
        "--run",
        "1",
    ]);
    assert_eq!(out["status"], "imported", "{out}");
    let metric = |m: &str| {
        w.scalar(&format!(
            "SELECT value FROM metrics WHERE run_id = 1 AND target = 'live' AND metric = '{m}'"
        ))
        .as_f64()
        .unwrap_or(f64::NAN)
    };
    // connections at the snapshot, perfledger's own session left out: the test's client and
    // the two idle ones are idle, one is idle in transaction
    assert_eq!(
        w.scalar("SELECT string_agg(state || '=' || count, ',' ORDER BY state) FROM pg_connection WHERE snapshot_id = 2")
            .as_str()
            .unwrap(),
        "idle=3,idle in transaction=1"
    );
    assert_eq!(metric("db_connections"), 4.0);
    assert_eq!(metric("db_connections_busy"), 1.0);
    assert!((metric("db_pool_utilisation") - 4.0 / max as f64).abs() < 1e-12);
    // the interval's rollbacks are the workload's 3 exactly (nothing else rolls back); commits
    // at least its 40 and at most what pg_stat_database says passed between the two
    // readings around the snapshots (the snapshot sessions and these readings commit too)
    let rollbacks = w.scalar(
        "SELECT rollbacks FROM pg_database_delta WHERE snapshot_id = 2 AND datname = 'postgres'",
    );
    assert_eq!(rollbacks.as_i64(), Some(3));
    let commits = w
        .scalar(
            "SELECT commits FROM pg_database_delta WHERE snapshot_id = 2 AND datname = 'postgres'",
        )
        .as_i64()
        .unwrap();
    let after = db_counters(&mut client);
    assert!(
        commits >= 40 && commits <= after.0 - before.0,
        "{commits} {before:?} {after:?}"
    );
    assert_eq!(
        mid.1 - before.1,
        3,
        "pg_stat_database itself counted 3 rollbacks"
    );
    let hit = metric("db_cache_hit_ratio");
    assert!(hit > 0.5 && hit <= 1.0, "{hit}");
    assert!((metric("db_rollback_ratio") - 3.0 / (3.0 + commits as f64)).abs() < 0.05);
    // a goal on the guide's pool target (< 80%), judged on the run
    let goals = w.dir.path().join("g.toml");
    std::fs::write(
        &goals,
        "[[goal]]\nname = \"pool\"\ntarget = \"live\"\nmetric = \"db_pool_utilisation\"\nmax = 0.8\n",
    )
    .unwrap();
    let check = w.ok(
        &[
            "check",
            "1",
            "--goals",
            goals.to_str().unwrap(),
            "--format",
            "json",
        ],
        0,
    );
    let check: serde_json::Value = serde_json::from_str(&check).unwrap();
    let row = &check["goals"][0];
    assert_eq!(
        (row["metric"].as_str(), row["status"].as_str()),
        (Some("db_pool_utilisation"), Some("pass"))
    );
    assert_eq!(
        row["value"].as_f64(),
        Some(4.0 / max as f64),
        "4 connections of max_connections"
    );
    // the guide's pool target (< 80%): a run whose snapshot saw 82 of 100 connections gets
    // the pool recommendation in its report; run 1 (4 of 100) does not
    let report = |run: &str| {
        let out = w.dir.path().join(format!("report-{run}"));
        w.ok(&["report", "run", run, "--out", out.to_str().unwrap()], 0);
        std::fs::read_to_string(out.join("index.html")).unwrap()
    };
    assert!(!report("1").contains("rec-pool_saturation"));
    let ab = common::fixture("ab/users_n2000_c10.txt")
        .display()
        .to_string();
    w.ok(&["import", "--quiet", &ab], 0);
    let crowd: Vec<postgres::Client> = (0..(max as usize * 82 / 100 - 4))
        .map(|_| postgres::Client::connect(&pg.dsn(), postgres::NoTls).unwrap())
        .collect();
    w.json(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "live",
        "--run",
        "2",
    ]);
    let html = report("2");
    assert!(html.contains("rec-pool_saturation"), "{html}");
    assert!(
        html.contains("connections at 82.0% of max_connections"),
        "{html}"
    );
    drop(crowd);
    // pg_stat_reset() between snapshots: counters go down, the interval restarts from zero
    client.batch_execute("SELECT pg_stat_reset()").unwrap();
    drop(others);
    let after = snapshot(&w, &pg);
    let notes = after["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("pg_stat_database of postgres was reset since the previous snapshot")),
        "{after}"
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_database_delta WHERE commits < 0 OR rollbacks < 0 OR blks_hit < 0 OR blks_read < 0"),
        0
    );
    assert_eq!(
        w.scalar(
            "SELECT reset FROM pg_database_delta WHERE snapshot_id = 4 AND datname = 'postgres'"
        ),
        true
    );
}

#[test]
fn a_standby_and_its_lag_bind_to_the_run_and_its_loss_is_said() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut client =
        pg.client("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE r_t (x int)");
    let standby = pg.standby();
    // streaming, and caught up with a little WAL of our own
    repeat(&mut client, 20, "INSERT INTO r_t VALUES (1)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let direct = loop {
        let rows = client
            .query(
                "SELECT application_name::text, state::text, pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint FROM pg_stat_replication",
                &[],
            )
            .unwrap();
        let v: Vec<(String, Option<String>, Option<i64>)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        if v.len() == 1 && v[0].1.as_deref() == Some("streaming") && v[0].2 == Some(0) {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the standby did not catch up: {v:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let w = Workdir::new();
    let wrk = common::fixture("wrk/users_t2_c8_d3s.txt")
        .display()
        .to_string();
    w.ok(&["import", "--quiet", &wrk], 0);
    let out = w.json(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "primary",
        "--run",
        "1",
    ]);
    assert_eq!(out["replicas"], 1, "{out}");
    let stored = w.json(&[
        "sql",
        "SELECT application_name, state, lag_bytes FROM pg_replication",
    ]);
    assert_eq!(
        stored[0]["application_name"],
        direct[0].0.as_str(),
        "{stored}"
    );
    assert_eq!(stored[0]["state"], "streaming");
    let metric = |m: &str| {
        w.scalar(&format!(
            "SELECT value FROM metrics WHERE run_id = 1 AND target = 'primary' AND metric = '{m}'"
        ))
        .as_f64()
    };
    assert_eq!(metric("db_replicas"), Some(1.0));
    // the lag at the snapshot's moment, as the stored row has it: a few WAL records at most
    let row = w.json(&["sql", "SELECT replay_lag_ms, lag_bytes FROM pg_replication"]);
    let bytes = row[0]["lag_bytes"].as_f64().unwrap();
    assert!((0.0..1_048_576.0).contains(&bytes), "{row}");
    assert_eq!(metric("db_replication_lag_bytes"), Some(bytes));
    // replay_lag is NULL once caught up with no new WAL (PostgreSQL's rule): then no lag if
    // nothing is left to replay, and unknown otherwise
    let want = match (row[0]["replay_lag_ms"].as_f64(), bytes) {
        (Some(ms), _) => Some(ms),
        (None, 0.0) => Some(0.0),
        (None, _) => None,
    };
    assert_eq!(metric("db_replication_lag_ms"), want, "{row}");
    // the standby stops: the next snapshot has none, and says which one is gone
    drop(standby);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client
        .query_one("SELECT count(*) FROM pg_stat_replication", &[])
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the standby is still listed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    w.ok(
        &[
            "import",
            "--quiet",
            &common::fixture("wrk/orders_latency_t2_c8_d3s.txt")
                .display()
                .to_string(),
        ],
        0,
    );
    let out = w.run(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "primary",
        "--run",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("standby 'perfledger-standby'") && note.contains("is gone"),
        "{note}"
    );
    let gone = w.scalar("SELECT value FROM metrics WHERE run_id = 2 AND metric = 'db_replicas'");
    assert_eq!(gone.as_f64(), Some(0.0));
    // a lake carries the standbys too
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_replication").as_i64(),
        Some(1)
    );
}

#[test]
fn each_interval_gets_its_own_spread_and_every_column_is_kept() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    // the statement log times every call: the interval's true mean and spread
    let log = pg.log_statements();
    let mut client = pg.client(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
    );
    let w = Workdir::new();
    let sleep = |c: &mut postgres::Client, ms: u32| {
        c.batch_execute(&format!("SELECT pg_sleep({})", f64::from(ms) / 1000.0))
            .unwrap();
    };
    // interval 1: five sleeps of 10 ms; interval 2: 20 and 40 ms, three each (mean 30 ms,
    // population stddev 10 ms); the lifetime figures mix both
    for _ in 0..5 {
        sleep(&mut client, 10);
    }
    snapshot(&w, &pg);
    for _ in 0..3 {
        sleep(&mut client, 20);
        sleep(&mut client, 40);
    }
    snapshot(&w, &pg);
    let q = "SELECT pg_sleep($1)";
    let row = w.json(&[
        "sql",
        &format!("SELECT calls, mean_exec_time_ms, stddev_exec_time_ms FROM pg_statement_delta WHERE query = '{q}' AND snapshot_id = 2"),
    ]);
    let (calls, mean, sd) = (
        row[0]["calls"].as_i64().unwrap(),
        row[0]["mean_exec_time_ms"].as_f64().unwrap(),
        row[0]["stddev_exec_time_ms"].as_f64().unwrap(),
    );
    assert_eq!(calls, 6, "{row}");
    // 20 and 40 ms three times each (a loaded machine wakes a sleep late: seen +22 ms): the
    // log's durations of those six calls, their mean and population stddev
    let logged = interval_durations(&log, &["SELECT pg_sleep(0.02)", "SELECT pg_sleep(0.04)"], 6);
    let n = logged.len() as f64;
    let log_mean = logged.iter().sum::<f64>() / n;
    let log_sd = (logged.iter().map(|d| (d - log_mean).powi(2)).sum::<f64>() / n).sqrt();
    // the log's duration holds parsing and planning too (a fraction of a millisecond here)
    assert!(
        (mean - log_mean).abs() < 0.5,
        "interval mean {mean}, log {log_mean}"
    );
    assert!(
        (sd - log_sd).abs() < 0.5 && log_sd > 8.0,
        "interval stddev {sd}, log {log_sd}: the interval's, not the lifetime's"
    );
    // the server's lifetime figure, kept as it was read: over all 11 sleeps
    let lifetime = w
        .scalar(&format!(
            "SELECT stddev_exec_time_ms FROM pg_statement WHERE snapshot_id = 2 AND query = '{q}'"
        ))
        .as_f64()
        .unwrap();
    assert!(lifetime > 11.0, "lifetime stddev {lifetime}");
    // every other column of the server's view, as JSON
    let extra = w.scalar(&format!(
        "SELECT extra FROM pg_statement WHERE snapshot_id = 2 AND query = '{q}'"
    ));
    let extra: serde_json::Value = serde_json::from_str(extra.as_str().unwrap()).unwrap();
    for col in [
        "min_exec_time",
        "max_exec_time",
        "plans",
        "wal_bytes",
        "temp_blks_written",
    ] {
        assert!(extra.get(col).is_some(), "{col} in {extra}");
    }
    // kept as the server has it (no call since the snapshot); a 40 ms sleep is the longest,
    // however late a loaded machine wakes it
    let max = extra["max_exec_time"].as_f64().unwrap();
    let server: f64 = client
        .query_one(
            "SELECT max_exec_time FROM pg_stat_statements WHERE query = 'SELECT pg_sleep($1)'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        max >= 40.0 && (max - server).abs() < 1e-9,
        "max_exec_time {max}, server {server}"
    );
}

#[test]
fn a_changed_plan_and_where_its_time_went_are_said_by_compare() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut client = pg.client(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
             CREATE TABLE items (id int, code int, price int);
             INSERT INTO items SELECT g, g % 5000, g FROM generate_series(1, 100000) g;
             CREATE INDEX items_code ON items (code); ANALYZE items",
    );
    let w = Workdir::new();
    for f in [
        "wrk/users_t2_c8_d3s.txt",
        "wrk/orders_latency_t2_c8_d3s.txt",
    ] {
        w.ok(
            &[
                "import",
                "--quiet",
                &common::fixture(f).display().to_string(),
            ],
            0,
        );
    }
    let q = "SELECT price FROM items WHERE code = 42";
    let snap = |run: &str| {
        w.json(&[
            "snapshot",
            "postgres",
            "--dsn",
            &pg.dsn(),
            "--run",
            run,
            "--explain",
            q,
        ])
    };
    let first = snap("1");
    assert_eq!(
        first["plans"][0]["shape"], "Bitmap Heap Scan on items(Bitmap Index Scan using items_code)",
        "{first}"
    );
    client.batch_execute("DROP INDEX items_code").unwrap();
    let second = snap("2");
    let shape = second["plans"][0]["shape"].as_str().unwrap();
    assert!(shape.contains("Seq Scan on items"), "{second}");
    // EXPLAIN ANALYZE ran in a transaction that was rolled back: the statement's rows stay
    let n: i64 = client
        .query_one("SELECT count(*) FROM items", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 100_000);
    // two wrk runs of other endpoints: the metrics may differ (exit 5); the plans are the point
    let compare = |b: &str, c: &str, json: bool| {
        let mut a = vec![
            "compare",
            "--baseline",
            b,
            "--candidate",
            c,
            "--allow-different-load",
        ];
        if json {
            a.extend(["--format", "json"]);
        }
        let out = w.run(&a);
        assert!(
            matches!(out.status.code(), Some(0 | 5)),
            "{a:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let cmp: serde_json::Value = serde_json::from_str(&compare("1", "2", true)).unwrap();
    let p = &cmp["plans"][0];
    assert_eq!(
        p["statement"], "SELECT price FROM items WHERE code = $1",
        "{cmp}"
    );
    assert_eq!(p["changed"], true);
    assert!(
        p["candidate_top_node"]
            .as_str()
            .unwrap()
            .contains("Seq Scan on items"),
        "{p}"
    );
    // the hottest node's exclusive time is no more than the whole execution
    let (top, exec) = (
        p["candidate_top_node_ms"].as_f64().unwrap(),
        p["candidate_execution_ms"].as_f64().unwrap(),
    );
    assert!(top > 0.0 && top <= exec, "{p}");
    let table = compare("1", "2", false);
    assert!(
        table.contains("note: the plan of SELECT price FROM items WHERE code = $1 changed"),
        "{table}"
    );
    // the baseline run explained again, now without the index: the same plan on both sides
    let third = snap("1");
    assert!(third["plans"][0]["shape"]
        .as_str()
        .unwrap()
        .contains("Seq Scan"));
    let same: serde_json::Value = serde_json::from_str(&compare("1", "2", true)).unwrap();
    assert_eq!(same["plans"][0]["changed"], false, "{same}");
}

#[test]
fn a_role_without_pg_read_all_stats_gets_a_snapshot_and_is_told_what_it_misses() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut admin = pg.client(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE ROLE mon LOGIN; CREATE TABLE p_t (x int)",
    );
    repeat(&mut admin, 5, "INSERT INTO p_t VALUES (1)");
    let w = Workdir::new();
    let dsn = format!("host=127.0.0.1 port={} user=mon dbname=postgres", pg.port);
    let out = w.run(&["snapshot", "postgres", "--dsn", &dsn, "--server", "s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("hidden from this role") && e.contains("GRANT pg_read_all_stats"),
        "{e}"
    );
    assert!(e.contains("connections are hidden"), "{e}");
    // the admin's session still counts toward the pool, its state unknown
    let conns = w.json(&[
        "sql",
        "SELECT state, count FROM pg_connection WHERE snapshot_id = 1",
    ]);
    assert_eq!(
        conns[0]["state"], "unknown (no pg_read_all_stats)",
        "{conns}"
    );
    assert_eq!(conns[0]["count"], 1, "{conns}");
    // what the role may not see is left out, not stored as one "<insufficient privilege>" row
    let hidden =
        w.scalar("SELECT count(*) FROM pg_statement WHERE query = '<insufficient privilege>'");
    assert_eq!(hidden.as_i64(), Some(0));
    admin
        .batch_execute("GRANT pg_read_all_stats TO mon")
        .unwrap();
    let out = w.run(&["snapshot", "postgres", "--dsn", &dsn, "--server", "s"]);
    assert_eq!(out.status.code(), Some(0));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!e.contains("hidden"), "{e}");
    let seen = w.scalar(
        "SELECT count(*) FROM pg_statement WHERE snapshot_id = 2 AND query LIKE 'INSERT INTO p_t%'",
    );
    assert_eq!(seen.as_i64(), Some(1));
}

#[test]
fn exec_binds_the_statement_log_of_the_run_to_it() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let log = pg.log_statements();
    let mut base = vec![pg::bin("pgbench").display().to_string()];
    base.extend(pg.conn_args());
    let init = std::process::Command::new(&base[0])
        .args(&base[1..])
        .args(["-i", "-s", "1", "-q", "postgres"])
        .output()
        .unwrap();
    assert!(init.status.success());
    let w = Workdir::new();
    let keep = w.dir.path().join("out");
    let mut args = vec![
        "exec".to_string(),
        "--no-sample".into(),
        "--keep".into(),
        keep.display().to_string(),
        "--pg".into(),
        pg.dsn(),
        "--pg-log".into(),
        log.display().to_string(),
        "--".into(),
    ];
    args.extend(base.iter().cloned());
    args.extend(["-S", "-c", "2", "-T", "3", "postgres"].map(String::from));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    w.ok(&a, 0);
    let console = std::fs::read_to_string(keep.join("output.txt")).unwrap();
    let processed: f64 = console
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("pgbench's count");
    let q = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
    let metric = |m: &str| {
        w.scalar(&format!(
            "SELECT value FROM metrics WHERE run_id = 1 AND target = '{q}' AND metric = '{m}'"
        ))
        .as_f64()
    };
    // one run: pgbench's total, and its statement's executions from the log, each counted
    assert_eq!(w.scalar("SELECT count(*) FROM run").as_i64(), Some(1));
    assert_eq!(
        w.scalar("SELECT format FROM run").as_str(),
        Some("pgbench-stdout+postgres-jsonlog")
    );
    // the log's executions are the transactions pgbench counted, and pg_stat_statements' calls
    assert_eq!(metric("requests"), Some(processed));
    let calls = w.scalar(&format!(
        "SELECT calls FROM pg_statement_delta WHERE run_id = 1 AND query = '{q}'"
    ));
    assert_eq!(calls.as_f64(), Some(processed));
    let (p50, p95) = (
        metric("latency_p50_ms").unwrap(),
        metric("latency_p95_ms").unwrap(),
    );
    assert!(p50 > 0.0 && p95 >= p50, "{p50} {p95}");
    assert!(keep.join("postgresql-during-run.json").exists());
}

/// `scripts/pg_health_export.sql` run by psql as `user`, written to `out`.
fn export(
    pg: &Cluster,
    user: &str,
    explain: Option<&str>,
    out: &std::path::Path,
) -> serde_json::Value {
    let script = common::fixture("../scripts/pg_health_export.sql");
    let mut cmd = std::process::Command::new(pg::bin("psql"));
    cmd.args([
        "-XAtq",
        "-h",
        "127.0.0.1",
        "-p",
        &pg.port.to_string(),
        "-U",
        user,
        "-d",
        "postgres",
    ]);
    if let Some(q) = explain {
        cmd.args(["-v", &format!("explain={q}")]);
    }
    let o = cmd.arg("-f").arg(&script).output().expect("run psql");
    assert!(
        o.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(out, &o.stdout).unwrap();
    serde_json::from_slice(&o.stdout).expect("the export is one JSON object")
}

#[test]
fn health_exported_by_psql_imports_as_a_snapshot_and_chains_with_live_ones() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut admin = pg.client(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE ROLE mon2 LOGIN; CREATE TABLE f_t (x int)",
    );
    let w = Workdir::new();
    let wrk = common::fixture("wrk/users_t2_c8_d3s.txt")
        .display()
        .to_string();
    w.ok(&["import", "--quiet", &wrk], 0);
    let dir = w.dir.path();
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    let ja = export(&pg, "postgres", None, &a);
    // the workload between the two exports: 40 commits, 3 rollbacks, one idle session
    repeat(&mut admin, 40, "INSERT INTO f_t VALUES (1)");
    repeat(&mut admin, 3, "BEGIN; INSERT INTO f_t VALUES (0); ROLLBACK");
    let _idle = postgres::Client::connect(&pg.dsn(), postgres::NoTls).unwrap();
    admin
        .batch_execute("SELECT pg_stat_force_next_flush()")
        .unwrap();
    let jb = export(
        &pg,
        "postgres",
        Some("SELECT count(*) FROM f_t WHERE x = 1"),
        &b,
    );
    let imported = w.json(&["import", a.to_str().unwrap()]);
    assert_eq!(imported[0]["format"], "pg-health-json", "{imported}");
    w.ok(&["import", "--quiet", "--run", "1", b.to_str().unwrap()], 0);
    // stored as the file says: the server's name and clock, its databases and connections
    let server = jb["server"].as_str().unwrap();
    assert_eq!(server, format!("127.0.0.1:{}/postgres", pg.port));
    assert_eq!(
        w.scalar("SELECT count(DISTINCT server) FROM pg_snapshot")
            .as_i64(),
        Some(1)
    );
    let taken = w
        .scalar("SELECT epoch(taken_at) FROM pg_snapshot WHERE id = 2")
        .as_f64()
        .unwrap();
    assert!(
        (taken - jb["taken_at"].as_f64().unwrap()).abs() < 1e-5,
        "{taken} {}",
        jb["taken_at"]
    );
    let file_db = |j: &serde_json::Value, k: &str| {
        j["pg_stat_database"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["datname"] == "postgres")
            .unwrap()[k]
            .as_i64()
            .unwrap()
    };
    let delta = |k: &str| {
        w.scalar(&format!(
            "SELECT {k} FROM pg_database_delta WHERE snapshot_id = 2 AND datname = 'postgres'"
        ))
        .as_i64()
        .unwrap()
    };
    assert_eq!(
        delta("commits"),
        file_db(&jb, "xact_commit") - file_db(&ja, "xact_commit")
    );
    assert_eq!(
        delta("blks_hit"),
        file_db(&jb, "blks_hit") - file_db(&ja, "blks_hit")
    );
    let commits = delta("commits");
    assert!((40..60).contains(&commits), "{commits}");
    assert_eq!(delta("rollbacks"), 3);
    let conns = w.scalar(
        "SELECT string_agg(state || '=' || count, ',' ORDER BY state) FROM pg_connection WHERE snapshot_id = 2",
    );
    // the admin and the idle session; psql's own session is left out, as live
    assert_eq!(conns.as_str(), Some("idle=2"), "{}", jb["connections"]);
    let util =
        w.scalar("SELECT value FROM metrics WHERE run_id = 1 AND metric = 'db_pool_utilisation'");
    assert!(
        (util.as_f64().unwrap() - 2.0 / jb["max_connections"].as_f64().unwrap()).abs() < 1e-12,
        "{util}"
    );
    // the statements of the interval, and the plan the export took
    assert_eq!(calls_at(&w, 2, "INSERT INTO f_t"), 40 + 3);
    assert_eq!(
        w.scalar("SELECT shape FROM pg_plan WHERE snapshot_id = 2")
            .as_str(),
        Some("Aggregate(Seq Scan on f_t)")
    );
    // a live snapshot of the same server continues the chain of the file ones
    repeat(&mut admin, 5, "INSERT INTO f_t VALUES (2)");
    w.ok(&["snapshot", "postgres", "--dsn", &pg.dsn()], 0);
    assert_eq!(
        w.scalar("SELECT prev_snapshot_id FROM pg_database_delta WHERE snapshot_id = 3 AND datname = 'postgres'")
            .as_i64(),
        Some(2)
    );
    assert_eq!(calls_at(&w, 3, "INSERT INTO f_t"), 5);
    // exported by a role without pg_read_all_stats: imported, and told what it misses
    let c = dir.join("c.json");
    export(&pg, "mon2", None, &c);
    let out = w.run(&["import", c.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("hidden from this role") && said.contains("GRANT pg_read_all_stats"),
        "{said}"
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_statement WHERE query = '<insufficient privilege>'")
            .as_i64(),
        Some(0)
    );
    // a layout this version does not know is refused, naming the file and the layout
    let future = dir.join("future.json");
    std::fs::write(
        &future,
        r#"{"perfledger_export" : "pg-health/9", "taken_at": 1}"#,
    )
    .unwrap();
    let out = w.run(&["import", future.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("future.json") && e.contains("pg-health/9"),
        "{e}"
    );
}

/// A crash between two snapshots (an immediate stop: the server starts without its cumulative
/// database statistics): no negative delta anywhere, the interval counts from the restart, and
/// the snapshot says so.
#[test]
fn a_crash_between_snapshots_gives_no_negative_delta_and_is_said() {
    let Some(pg) = Cluster::unless_skipped() else {
        return;
    };
    let mut client = pg
        .client("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE crash_t (x int)");
    repeat(&mut client, 200, "INSERT INTO crash_t VALUES (1)");
    let w = Workdir::new();
    let first = snapshot(&w, &pg);
    assert!(first["notes"].as_array().unwrap().is_empty(), "{first}");
    repeat(&mut client, 20, "INSERT INTO crash_t VALUES (1)");
    let calm = snapshot(&w, &pg);
    assert!(calm["notes"].as_array().unwrap().is_empty(), "{calm}");
    drop(client);
    pg.crash_restart();
    let mut client = pg.client("SELECT 1");
    repeat(&mut client, 5, "INSERT INTO crash_t VALUES (1)");
    let after = snapshot(&w, &pg);
    let notes: Vec<&str> = after["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("pg_stat_database of ")
            && n.contains("postgres")
            && n.contains("was reset since the previous snapshot")),
        "{notes:?}"
    );
    // pg_stat_statements kept its counters through the crash here (PostgreSQL 15): no reset,
    // and the interval after it is the five inserts
    assert!(
        !notes.iter().any(|n| n.starts_with("pg_stat_statements")),
        "{notes:?}"
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_database_delta WHERE commits < 0 OR blks_hit < 0 OR blks_read < 0"),
        0
    );
    assert_eq!(
        w.scalar(
            "SELECT count(*) FROM pg_statement_delta WHERE calls < 0 OR total_exec_time_ms < 0"
        ),
        0
    );
    // the calm interval before the crash counted the 20 inserts, the one after it the 5
    assert_eq!(calls_at(&w, 2, "INSERT INTO crash_t"), 20);
    assert_eq!(calls_at(&w, 3, "INSERT INTO crash_t"), 5);
}
