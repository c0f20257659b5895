//! Query-time percentiles from PostgreSQL's own statement log (fixtures/pglog, see MANIFEST):
//! jsonlog and csvlog of one pgbench run with log_min_duration_statement = 0, beside the
//! pg_stat_statements snapshots taken before and after it.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::{fixture, Workdir};

const LOOKUP: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
const SCAN: &str = "SELECT count(*) FROM pgbench_accounts WHERE abalance > $1";

fn value(w: &Workdir, target: &str, metric: &str) -> f64 {
    w.scalar(&format!(
        "SELECT value FROM metrics WHERE run_id = 1 AND target = '{}' AND metric = '{metric}'",
        target.replace('\'', "''")
    ))
    .as_f64()
    .unwrap_or_else(|| panic!("{target} {metric}"))
}

fn log_run(file: &str) -> Workdir {
    let w = Workdir::new();
    let f = fixture(&format!("pglog/{file}"));
    let out = w.json(&["import", f.to_str().unwrap()]);
    assert_eq!(out[0]["status"], "imported", "{out}");
    w
}

#[test]
fn query_times_from_the_log_are_numpys_percentiles_and_pg_stat_statements_counts() {
    // python3 -c "import json, numpy as np; d = {}
    //   for l in open('fixtures/pglog/postgresql.json'):
    //     v = json.loads(l); m = v.get('message', '')
    //     if m.startswith('duration: ') and ' statement: ' in m:
    //       d.setdefault(v['query_id'], []).append(float(m.split()[1]))
    //   for k, x in d.items(): print(k, len(x), [float(np.percentile(x, p)) for p in (50, 95, 99)])"
    // numpy 2.4.6: lookup 915 [0.322, 0.454, 0.9519], scan 94 [6.6095, 10.13, 14.9823]
    let json = log_run("postgresql.json");
    let csv = log_run("postgresql.csv");
    for (target, n, want) in [
        (LOOKUP, 915.0, [0.322, 0.454, 0.9519]),
        (SCAN, 94.0, [6.6095, 10.13, 14.9823]),
    ] {
        for w in [&json, &csv] {
            assert_eq!(value(w, target, "requests"), n, "{target}");
            for (m, x) in ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
                .iter()
                .zip(want)
            {
                let got = value(w, target, m);
                // the histogram keeps 2 significant digits: <= 1% (and one 1 us bucket)
                assert!(
                    (got - x).abs() <= 0.01 * x + 0.002,
                    "{target} {m}: {got} vs numpy {x}"
                );
            }
        }
        // both files of the log give the same numbers
        assert_eq!(
            value(&json, target, "latency_p95_ms"),
            value(&csv, target, "latency_p95_ms")
        );
    }
    // pg_stat_statements counted the same executions (calls between the snapshots)
    let w = &json;
    for (f, at) in [
        ("pgss_before.csv", "2026-12-02T01:56:10Z"),
        ("pgss_after.csv", "2026-12-02T01:56:21Z"),
    ] {
        let p = fixture(&format!("pglog/{f}"));
        w.ok(
            &[
                "import",
                "--quiet",
                "--server",
                "pglog",
                "--at",
                at,
                "--run",
                "1",
                p.to_str().unwrap(),
            ],
            0,
        );
    }
    for (q, n) in [(LOOKUP, 915), (SCAN, 94)] {
        let calls = w.scalar(&format!(
            "SELECT calls FROM pg_statement_delta WHERE query = '{q}' AND run_id = 1"
        ));
        assert_eq!(calls.as_i64(), Some(n), "{q}");
    }
    // the query id is pg_stat_statements' queryid
    let id = w.scalar(&format!(
        "SELECT tags FROM target WHERE run_id = 1 AND target = '{LOOKUP}'"
    ));
    assert!(
        id.as_str().unwrap().contains("-2578237145400211294"),
        "{id}"
    );
}

#[test]
fn the_guides_query_time_goal_is_judged_on_the_log() {
    let w = log_run("postgresql.json");
    let goals = w.dir.path().join("g.toml");
    let goal = |max: f64| {
        format!("[[goal]]\nname = \"p95 query time\"\ntool = \"postgres\"\nmetric = \"latency_p95_ms\"\ntarget = \"{SCAN}\"\nmax = {max}\n")
    };
    // the scan's p95 is 10.2 ms: within the guide's 50 ms and its later 25 ms, not within 10
    std::fs::write(&goals, goal(25.0)).unwrap();
    w.ok(&["check", "--goals", goals.to_str().unwrap(), "1"], 0);
    std::fs::write(&goals, goal(10.0)).unwrap();
    w.ok(&["check", "--goals", goals.to_str().unwrap(), "1"], 5);
}

#[test]
fn a_log_without_durations_or_with_local_times_says_what_to_set() {
    let w = Workdir::new();
    let dir = w.dir.path();
    // hand-made broken inputs: a jsonlog of a server without log_min_duration_statement, and
    // one whose log_timezone is not UTC
    let quiet = dir.join("quiet.json");
    std::fs::write(&quiet, "{\"timestamp\":\"2026-12-02 01:56:10.863 UTC\",\"pid\":1,\"error_severity\":\"LOG\",\"message\":\"checkpoint starting: time\"}\n").unwrap();
    let e =
        String::from_utf8_lossy(&w.run(&["import", quiet.to_str().unwrap()]).stderr).to_string();
    assert!(e.contains("log_min_duration_statement = 0"), "{e}");
    let local = dir.join("local.json");
    std::fs::write(&local, "{\"timestamp\":\"2026-12-02 02:56:10.863 CET\",\"pid\":1,\"error_severity\":\"LOG\",\"message\":\"duration: 1.000 ms  statement: SELECT 1\"}\n").unwrap();
    let out = w.run(&["import", local.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("local.json:1") && e.contains("log_timezone = 'UTC'"),
        "{e}"
    );
}
