//! End to end through the binary: import, idempotency, bad input, exit codes, read-only SQL.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::{fixture, Workdir};

fn p(rel: &str) -> String {
    fixture(rel).display().to_string()
}

#[test]
fn import_show_runs_and_reimport_is_a_no_op() {
    let w = Workdir::new();
    let out = w.json(&[
        "import",
        "--label",
        "branch=main",
        "--label",
        "commit=abc123",
        &p("ab/users_n2000_c10.txt"),
        &p("k6/shop_summary_export.json"),
    ]);
    let rows = out.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "imported"));
    let ab_id = rows[0]["run_id"].as_i64().unwrap();
    let before = w.state();
    let again = w.json(&[
        "import",
        &p("ab/users_n2000_c10.txt"),
        &p("k6/shop_summary_export.json"),
    ]);
    assert!(again
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "already imported"));
    assert_eq!(again[0]["run_id"].as_i64(), Some(ab_id));
    let text = w.ok(&["import", &p("ab/users_n2000_c10.txt")], 0);
    assert!(
        text.contains(&format!("already imported as run {ab_id}")),
        "{text}"
    );
    assert_eq!(w.state(), before, "re-import changed nothing");

    let show = w.json(&["show", &ab_id.to_string()]);
    assert_eq!(show["run"]["tool"], "ab");
    let total = show["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "TOTAL")
        .unwrap();
    assert_eq!(total["requests"], 2000.0);
    assert_eq!(total["throughput_rps"], 851.14);
    let runs = w.json(&["runs", "--tool", "k6", "--label", "branch=main"]);
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["requests"], 176.0);
    let m = w.json(&["sql", "SELECT value FROM metrics WHERE target = 'TOTAL' AND metric = 'latency_p95_ms' AND run_id = 1"]);
    assert_eq!(m[0]["value"], 23.0);
}

#[test]
fn every_broken_input_fails_cleanly_and_leaves_the_warehouse_as_it_was() {
    let w = Workdir::new();
    w.ok(&["import", &p("wrk/users_t2_c8_d3s.txt")], 0);
    let before = w.state();
    for f in std::fs::read_dir(fixture("broken")).unwrap() {
        let f = f.unwrap().path();
        let out = w.run(&["import", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{}: {err}", f.display());
        assert!(
            err.contains(f.file_name().unwrap().to_str().unwrap()),
            "error names the file: {err}"
        );
        assert_eq!(w.state(), before, "{} changed the warehouse", f.display());
    }
    for f in [
        "ab/refused_no_results.txt",
        "wrk/refused_no_results.txt",
        "pgbench/refused_no_results.txt",
    ] {
        let out = w.run(&["import", &p(f)]);
        assert_eq!(out.status.code(), Some(3));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("produced no results"),
            "{f}"
        );
    }
    assert_eq!(w.state(), before);
}

#[test]
fn a_folder_imports_what_it_recognises_and_reports_the_rest() {
    let w = Workdir::new();
    // the whole fixture tree: good files import, broken and no-result ones are reported, exit 3
    let out = w.run(&["import", "--format", "json", fixture("").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let imported = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "imported")
        .count();
    assert!(imported >= 25, "imported {imported}");
    let state = w.state();
    let again = w.run(&["import", "--format", "json", fixture("").to_str().unwrap()]);
    let rows: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "imported")
            .count(),
        0
    );
    assert_eq!(w.state(), state);
}

#[test]
fn dry_run_writes_nothing() {
    let w = Workdir::new();
    let out = w.json(&["import", "--dry-run", &p("wrk/users_lua_report.json")]);
    assert_eq!(out[0]["status"], "parsed (dry run)");
    assert_eq!(out[0]["requests"], 8040.0);
    assert!(!w.db().exists());
}

#[test]
fn exit_codes_and_read_only_sql() {
    let w = Workdir::new();
    assert_eq!(w.run(&["runs"]).status.code(), Some(4), "no warehouse yet");
    w.ok(&["import", &p("ab/users_n2000_c10.txt")], 0);
    assert_eq!(
        w.run(&["import", "--label", "nokey", &p("ab/users_n2000_c10.txt")])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(w.run(&["show", "99"]).status.code(), Some(2));
    let own = w.run(&["compare", "--baseline", "1", "--candidate", "1"]);
    assert_eq!(own.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&own.stderr).contains("matches only the candidate run(s) 1"),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    assert_eq!(
        w.run(&["import", "--tool", "nope", &p("ab/users_n2000_c10.txt")])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(w.run(&["frobnicate"]).status.code(), Some(2));
    let del = w.run(&["sql", "DELETE FROM run"]);
    assert_eq!(del.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&del.stderr)
            .to_lowercase()
            .contains("read-only"),
        "{}",
        String::from_utf8_lossy(&del.stderr)
    );
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 1);
    let csv = w.ok(&["sql", "--format", "csv", "SELECT 1 AS a, 'x,y' AS b"], 0);
    assert_eq!(csv, "a,b\n1,\"x,y\"\n");
}

#[test]
fn pg_stat_statements_reset_never_gives_negative_deltas() {
    let w = Workdir::new();
    for (f, at) in [
        ("pgss/snapshot1_after_tpcb.csv", "2026-11-27T06:39:10Z"),
        (
            "pgss/snapshot2_after_select_only.json",
            "2026-11-27T06:39:20Z",
        ),
        ("pgss/snapshot3_after_reset.csv", "2026-11-27T06:39:30Z"),
    ] {
        w.ok(&["import", "--server", "capture", "--at", at, &p(f)], 0);
    }
    let reset = w.json(&[
        "sql",
        "SELECT snapshot_id, reset FROM pg_snapshot_reset ORDER BY snapshot_id",
    ]);
    assert_eq!(reset[0]["reset"], false);
    assert_eq!(reset[1]["reset"], false);
    assert_eq!(
        reset[2]["reset"], true,
        "snapshot 3 follows pg_stat_statements_reset()"
    );
    assert_eq!(
        w.scalar(
            "SELECT count(*) FROM pg_statement_delta WHERE calls < 0 OR total_exec_time_ms < 0"
        ),
        0
    );
    let upd = "query LIKE 'UPDATE pgbench_accounts%'";
    // snapshot 1 has no previous snapshot: no interval
    assert_eq!(
        w.scalar(&format!(
            "SELECT calls FROM pg_statement_delta WHERE snapshot_id = 1 AND {upd}"
        )),
        serde_json::Value::Null
    );
    // the select-only run between 1 and 2 updated nothing
    assert_eq!(
        w.scalar(&format!(
            "SELECT calls FROM pg_statement_delta WHERE snapshot_id = 2 AND {upd}"
        )),
        0
    );
    // after the reset, the 100 transactions of `pgbench -c 2 -t 50` ("processed: 100/100")
    assert_eq!(
        w.scalar(&format!(
            "SELECT calls FROM pg_statement_delta WHERE snapshot_id = 3 AND {upd}"
        )),
        100
    );
    let ratio = w
        .scalar(&format!(
            "SELECT cache_hit_ratio FROM pg_statement_delta WHERE snapshot_id = 3 AND {upd}"
        ))
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&ratio));
}

#[test]
fn a_locust_history_fed_while_stored_gives_the_points_the_held_path_gave() {
    // The figures of the series_point table perfledger fbdd3b3 (which held every point of the
    // history in memory) stored for each Locust CSV set, queried with
    // SELECT count(*), round(sum(value), 2), count(DISTINCT target), count(DISTINCT metric),
    //        min(ts), max(ts), sum(epoch_us(ts) % 1000003) FROM series_point
    // The history is now read twice (span and users, then the points while the run is stored).
    for (set, want) in [
        (
            "v1_6",
            "6|1.0|1|6|2026-11-27 06:40:13|2026-11-27 06:40:13|4387950",
        ),
        (
            "v2_15",
            "6|0.0|1|6|2026-12-01 16:41:29|2026-12-01 16:41:29|3517800",
        ),
        (
            "v2_47",
            "159|2720.58|5|11|2026-11-27 06:38:50|2026-11-27 06:38:53|116319348",
        ),
    ] {
        let w = Workdir::new();
        w.ok(
            &[
                "import",
                &p(&format!("locust/shop_{set}_stats.csv")),
                &p(&format!("locust/shop_{set}_stats_history.csv")),
            ],
            0,
        );
        let got = w.scalar(
            "SELECT concat_ws('|', count(*), round(sum(value), 2), count(DISTINCT target), count(DISTINCT metric),
                    strftime(min(ts), '%Y-%m-%d %H:%M:%S'), strftime(max(ts), '%Y-%m-%d %H:%M:%S'),
                    sum(epoch_us(ts) % 1000003)) FROM series_point",
        );
        assert_eq!(got.as_str(), Some(want), "{set}");
        // each (target, metric) once in `series`, the points under its id
        let series = w.scalar("SELECT count(*) FROM series").as_i64().unwrap();
        let distinct = w
            .scalar("SELECT count(*) FROM (SELECT DISTINCT target, metric FROM series_point)")
            .as_i64()
            .unwrap();
        assert_eq!(series, distinct, "{set}");
        // in the file's order, each line's metrics in column order: the order the lake writes
        // them in, so the same run always gives the same file bytes
        let stored = w.json(&[
            "sql",
            "SELECT metric, epoch_us(ts) AS t FROM series_point ORDER BY rowid",
        ]);
        let stored: Vec<(String, i64)> = stored
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"].as_str().unwrap().to_string(),
                    r["t"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            stored,
            file_order(&fixture(&format!("locust/shop_{set}_stats_history.csv"))),
            "{set}"
        );
    }
}

/// A Locust history's points as the file has them: per line, users (of the Aggregated line),
/// then the columns perfledger keeps, those with a number.
fn file_order(path: &std::path::Path) -> Vec<(String, i64)> {
    let cols = [
        ("Requests/s", "throughput_rps"),
        ("Failures/s", "failures_per_s"),
        ("Total Request Count", "requests"),
        ("Total Failure Count", "failures"),
        ("Total Average Response Time", "latency_mean_ms"),
        ("50%", "latency_p50_ms"),
        ("90%", "latency_p90_ms"),
        ("95%", "latency_p95_ms"),
        ("99%", "latency_p99_ms"),
        ("99.9%", "latency_p999_ms"),
    ];
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|c| c == n);
    let mut out = Vec::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let t = r[at("Timestamp").unwrap()].parse::<i64>().unwrap() * 1_000_000;
        if &r[at("Name").unwrap()] == "Aggregated" {
            out.push(("users".to_string(), t));
        }
        for (c, m) in cols {
            if at(c).is_some_and(|i| r[i].parse::<f64>().is_ok()) {
                out.push((m.to_string(), t));
            }
        }
    }
    out
}

#[test]
fn exec_samples_the_process_under_test_and_keeps_a_console_tools_output() {
    // the "service": a shell burning one core (no child processes: their time is not its own),
    // killed at the end; the "load tool": a shell that
    // prints a real wrk output after 3 s (exec keeps its console as output.txt)
    let mut burner = std::process::Command::new("sh")
        .args([
            "-c",
            "end=$(( $(date +%s) + 20 )); while [ $(date +%s) -lt $end ]; do :; done",
        ])
        .spawn()
        .unwrap();
    let w = Workdir::new();
    let keep = w.dir.path().join("out");
    let wrk = fixture("wrk/users_t2_c8_d3s.txt");
    let tool = format!("sleep 3; cat {}", wrk.display());
    let pid = burner.id().to_string();
    // the burner's ticks and the host's ticks per core around the exec, read here: the cores
    // it got (other tests share these CPUs, so not necessarily one)
    let ticks = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        let host = std::fs::read_to_string("/proc/stat").unwrap();
        let cpu: u64 = host
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|x| x.parse::<u64>().unwrap())
            .sum();
        let cores = host
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count() as f64;
        // utime and stime, the line's 14th and 15th fields: the 12th and 13th after ')'
        let n = |i: usize| f[i].parse::<u64>().unwrap();
        ((n(11) + n(12)) as f64, cpu as f64 / cores)
    };
    let before = ticks();
    let out = w.run(&[
        "exec",
        "--keep",
        keep.to_str().unwrap(),
        "--pid",
        &pid,
        "--format",
        "json",
        "--",
        "sh",
        "-c",
        &tool,
    ]);
    let after = ticks();
    let _ = burner.kill();
    let _ = burner.wait();
    let got = (after.0 - before.0) / (after.1 - before.1);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.scalar("SELECT tool FROM run WHERE id = 1"), "wrk");
    assert_eq!(
        std::fs::read(keep.join("output.txt")).unwrap(),
        std::fs::read(&wrk).unwrap(),
        "the console, byte for byte"
    );
    let cores = w
        .scalar("SELECT value FROM metrics WHERE run_id = 1 AND metric = 'process_cpu_cores'")
        .as_f64()
        .unwrap();
    assert!(
        (cores - got).abs() < 0.2 && cores > 0.0,
        "stored {cores} cores, the process' own counters say {got}: {}",
        w.ok(&["sql", "SELECT target, metric, epoch_ms(ts), value FROM resource_point WHERE metric IN ('process_cpu_cores', 'cpu_busy_ratio') ORDER BY metric, ts"], 0)
    );
    let rss = w
        .scalar("SELECT value FROM metrics WHERE run_id = 1 AND metric = 'process_rss_bytes'")
        .as_f64()
        .unwrap();
    assert!(rss > 100_000.0, "{rss}");
    let target =
        w.scalar("SELECT DISTINCT target FROM resource_summary WHERE metric = 'process_cpu_cores'");
    assert!(
        target
            .as_str()
            .unwrap()
            .ends_with(&format!("pid={pid} (sh)")),
        "{target}"
    );
    // a process that is not there is refused before anything runs
    let e = w.run(&["exec", "--pid", "999999999", "--", "true"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("--pid 999999999: no such process"));
}

/// A control group of its own for a test, in every hierarchy this system mounts that the test
/// may write (cgroup v2, at the root or `unified/` on a hybrid system; v1 `cpuacct` and
/// `memory`): the directories made, or None (said) where none can be made.
fn test_cgroup(name: &str) -> Option<Vec<std::path::PathBuf>> {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let dirs: Vec<_> = ["", "unified", "cpuacct", "memory"]
        .iter()
        .map(|h| root.join(h))
        .filter(|h| h.join("cgroup.procs").exists())
        .map(|h| h.join(name))
        .filter(|d| std::fs::create_dir(d).is_ok())
        .collect();
    if dirs.is_empty() {
        eprintln!("SKIPPED: no writable cgroup hierarchy under /sys/fs/cgroup (not root?)");
        return None;
    }
    Some(dirs)
}

/// A shell spinning on one core, moved into the test's control groups; killed when dropped.
struct Burner(std::process::Child);

impl Burner {
    fn in_groups(dirs: &[std::path::PathBuf]) -> Burner {
        let child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        for d in dirs {
            std::fs::write(d.join("cgroup.procs"), child.id().to_string()).unwrap();
        }
        Burner(child)
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `perfledger exec --cgroup /NAME -- sh -c TOOL`, its files kept in the work dir.
fn exec_in_group(w: &Workdir, name: &str, tool: &str) -> std::process::Output {
    w.run(&[
        "exec",
        "--keep",
        w.dir.path().join("out").to_str().unwrap(),
        "--cgroup",
        &format!("/{name}"),
        "--",
        "sh",
        "-c",
        tool,
    ])
}

/// Removes the test's (now empty) control groups.
fn remove_groups(dirs: &[std::path::PathBuf]) {
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// A group removed and made again while exec samples it: its CPU counter starts again from 0.
/// That step gives no point (not a negative one) and exec says so.
#[test]
fn exec_says_when_a_control_group_is_made_anew_and_gives_that_step_no_point() {
    let name = format!("perfledger-anew-{}", std::process::id());
    let Some(dirs) = test_cgroup(&name) else {
        return;
    };
    let burner = Burner::in_groups(&dirs);
    // after 2.5 s of sampling: the burner to the parent, the group removed and made again, the
    // burner back in it; then two more seconds of sampling
    let pid = burner.0.id();
    let remake: String = dirs
        .iter()
        .map(|d| {
            let parent = d.parent().unwrap().join("cgroup.procs");
            format!(
                "echo {pid} > {p}; rmdir {d}; mkdir {d}; echo {pid} > {d}/cgroup.procs; ",
                p = parent.display(),
                d = d.display()
            )
        })
        .collect();
    let tool = format!(
        "sleep 2.5; {remake}sleep 2; cat {}",
        fixture("wrk/users_t2_c8_d3s.txt").display()
    );
    let w = Workdir::new();
    let out = exec_in_group(&w, &name, &tool);
    drop(burner);
    remove_groups(&dirs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: host sampling: cgroup /{name}: its CPU usage (the group made anew?) went down 1 time(s)"
        )),
        "{stderr}"
    );
    // every stored step is a real share of a core: none negative, none from the reset
    let points = w.json(&[
        "sql",
        "SELECT value FROM resource_point WHERE metric = 'cgroup_cpu_cores'",
    ]);
    let values: Vec<f64> = points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect();
    assert!(values.len() >= 3, "{values:?}");
    assert!(values.iter().all(|v| (0.0..=2.5).contains(v)), "{values:?}");
}

#[test]
fn exec_samples_a_control_group_against_its_own_counters() {
    let name = format!("perfledger-test-{}", std::process::id());
    let Some(dirs) = test_cgroup(&name) else {
        return;
    };
    let burner = Burner::in_groups(&dirs);
    // the group's own CPU counter around the exec, in microseconds (v2 usage_usec, else v1 ns)
    let usage = || {
        dirs.iter()
            .find_map(|d| {
                let stat = std::fs::read_to_string(d.join("cpu.stat")).ok()?;
                stat.lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .map(|v| v.trim().parse::<f64>().unwrap())
            })
            .or_else(|| {
                dirs.iter().find_map(|d| {
                    std::fs::read_to_string(d.join("cpuacct.usage"))
                        .ok()
                        .map(|v| v.trim().parse::<f64>().unwrap() / 1000.0)
                })
            })
            .expect("a CPU counter of the group")
    };
    let w = Workdir::new();
    let tool = format!(
        "sleep 3; cat {}",
        fixture("wrk/users_t2_c8_d3s.txt").display()
    );
    let (u0, t0) = (usage(), std::time::Instant::now());
    let out = exec_in_group(&w, &name, &tool);
    let got = (usage() - u0) / 1e6 / t0.elapsed().as_secs_f64();
    // memory where this system accounts it per group (v1 memory, or v2 with the controller)
    let has_memory = dirs
        .iter()
        .any(|d| d.join("memory.current").exists() || d.join("memory.usage_in_bytes").exists());
    drop(burner);
    remove_groups(&dirs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = |m: &str| {
        w.scalar(&format!(
            "SELECT value FROM metrics WHERE run_id = 1 AND metric = '{m}'"
        ))
        .as_f64()
    };
    let cores = stored("cgroup_cpu_cores").expect("cgroup_cpu_cores stored");
    assert!(
        (cores - got).abs() < 0.2 && cores > 0.3,
        "stored {cores} cores, the group's own counter says {got}"
    );
    let target =
        w.scalar("SELECT DISTINCT target FROM resource_summary WHERE metric = 'cgroup_cpu_cores'");
    assert!(
        target
            .as_str()
            .unwrap()
            .ends_with(&format!("cgroup=/{name}")),
        "{target}"
    );
    assert_eq!(stored("cgroup_mem_bytes").is_some(), has_memory);
    // a group that is not there is refused before anything runs
    let e = w.run(&["exec", "--cgroup", "/no-such-group-here", "--", "true"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr)
        .contains("--cgroup /no-such-group-here: no such control group"));
}
