//! The CI gate on real captures (issue 11): no false alarms on repeated runs of an unchanged
//! server, the slowdowns found, mistakes refused. fixtures/aa: 16 k6 and 16 wrk runs of one
//! unchanged server, 8 + 8 against it made 5% slower and 8 + 8 at 20% slower, captured
//! interleaved (capture/capture_aa.sh, ORDER.txt).

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::{fixture, Workdir};
use serde_json::Value;

fn aa(tool: &str, cond: &str) -> Vec<String> {
    let n = if cond == "base" { 16 } else { 8 };
    (1..=n)
        .map(|i| {
            let f = match tool {
                "k6" => format!("aa/k6_{cond}_{i:02}.points.json.gz"),
                _ => format!("aa/wrk_{cond}_{i:02}.json"),
            };
            fixture(&f).display().to_string()
        })
        .collect()
}

/// One warehouse with every A/A capture of a tool, labelled with its condition.
fn warehouse(tool: &str) -> Workdir {
    let w = Workdir::new();
    for cond in ["base", "slow05", "slow20"] {
        // each condition its own series, as CI history is of one regime: the noise of a
        // single-run comparison comes from the baseline's series
        let label = format!("cond={cond}");
        let scenario = format!("aa-{cond}");
        let mut args = vec!["import", "--label", &label, "--scenario", &scenario];
        let files = aa(tool, cond);
        args.extend(files.iter().map(String::as_str));
        w.ok(&args, 0);
    }
    w
}

fn ids(w: &Workdir, cond: &str) -> Vec<i64> {
    let rows = w.json(&[
        "sql",
        &format!(
            "SELECT run_id FROM run_label WHERE key = 'cond' AND value = '{cond}' ORDER BY run_id"
        ),
    ]);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_i64().unwrap())
        .collect()
}

fn list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// (target, metric, verdict, mde) of a comparison.
fn compare(w: &Workdir, base: &[i64], cand: &[i64]) -> (i32, Vec<(String, String, String, f64)>) {
    let out = w.run(&[
        "compare",
        "--baseline",
        &list(base),
        "--candidate",
        &list(cand),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let rows = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["metric"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
                r["mde"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    (out.status.code().unwrap(), rows)
}

fn regressions(rows: &[(String, String, String, f64)]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.2 == "regressed")
        .map(|r| format!("{} {}", r.0, r.1))
        .collect()
}

/// Every shape of comparison among the unchanged runs: no regression.
fn a_a(tool: &str) {
    let w = warehouse(tool);
    let base = ids(&w, "base");
    assert_eq!(base.len(), 16);
    let mut alarms = Vec::new();
    for &a in &base {
        for &b in &base {
            if a != b {
                let (_, rows) = compare(&w, &[a], &[b]);
                alarms.extend(
                    regressions(&rows)
                        .into_iter()
                        .map(|r| format!("{a} vs {b}: {r}")),
                );
            }
        }
        let rest: Vec<i64> = base.iter().copied().filter(|x| *x != a).collect();
        let (_, rows) = compare(&w, &rest, &[a]);
        alarms.extend(
            regressions(&rows)
                .into_iter()
                .map(|r| format!("rest vs {a}: {r}")),
        );
    }
    let (_, rows) = compare(&w, &base[..8], &base[8..]);
    alarms.extend(
        regressions(&rows)
            .into_iter()
            .map(|r| format!("group vs group: {r}")),
    );
    // k6 base run 14 is an outlier of the unchanged server: k6 printed p(95)=9.34ms and
    // max=15.31ms against 8.65ms / 11.16ms for run 13 captured 13 s before it, and every
    // endpoint's p95 is 35-55% above the other 15 runs'. As a candidate it is flagged (a
    // gate cannot tell one bad run from a regression; the answer is a re-run); nothing else
    // may be.
    let outlier = (tool == "k6").then(|| base[13]);
    let (flagged_outlier, others): (Vec<String>, Vec<String>) = alarms
        .into_iter()
        .partition(|a| outlier.is_some_and(|o| a.contains(&format!("vs {o}:"))));
    assert!(
        others.is_empty(),
        "{tool} A/A false alarms:\n{}",
        others.join("\n")
    );
    if outlier.is_some() {
        assert!(
            flagged_outlier
                .iter()
                .all(|a| a.contains("latency_p95_ms") || a.contains("latency_mean_ms")),
            "{flagged_outlier:?}"
        );
    }

    // +20%: found in every shape (single vs single, single vs group, group vs group)
    let slow = ids(&w, "slow20");
    for (i, &s) in slow.iter().enumerate() {
        let (code, rows) = compare(&w, &[base[i]], &[s]);
        assert_eq!(
            code, 5,
            "{tool} +20% single run {s} vs {}: {rows:?}",
            base[i]
        );
        let (code, rows) = compare(&w, &base, &[s]);
        assert_eq!(code, 5, "{tool} +20% run {s} vs all base runs: {rows:?}");
    }
    assert_eq!(compare(&w, &base, &slow).0, 5, "{tool} +20% group");

    // +5%: found against a group baseline, or reported as below the minimum effect, or
    // unchanged with an MDE that says the test could not see 5%: never a silent "unchanged"
    let slow5 = ids(&w, "slow05");
    let (_, rows) = compare(&w, &base, &slow5);
    for r in rows
        .iter()
        .filter(|r| r.0 == "TOTAL" && r.1.starts_with("latency_p50"))
    {
        assert!(
            r.2 == "regressed" || r.2 == "below_min_effect" || (r.2 == "unchanged" && r.3 >= 0.05),
            "{tool} +5% group vs group, TOTAL p50: {r:?}"
        );
    }
}

#[test]
fn wrk_a_a_is_quiet_and_slowdowns_are_found() {
    a_a("wrk");
}

#[test]
fn k6_a_a_is_quiet_and_slowdowns_are_found() {
    a_a("k6");
}

#[test]
fn single_k6_runs_use_their_histograms_for_the_mean() {
    // issue 11, defect 2: two k6 runs of one unchanged server; GET users latency_mean_ms is
    // +10.3%, which the plain threshold called a regression (exit 5); Mann-Whitney on the
    // same histograms gives p = 0.82
    let w = Workdir::new();
    w.ok(
        &[
            "import",
            "--tool",
            "k6",
            fixture("k6/shop_points.json").to_str().unwrap(),
            fixture("k6/shop_points_gz.json.gz").to_str().unwrap(),
        ],
        0,
    );
    let out = w.run(&[
        "compare",
        "--baseline",
        "1",
        "--candidate",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mean = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target"] == "GET users" && r["metric"] == "latency_mean_ms")
        .expect("GET users latency_mean_ms is compared");
    assert_eq!(
        mean["method"],
        "bootstrap CI of the mean + Mann-Whitney U on histograms"
    );
    assert_ne!(mean["verdict"], "regressed");
    assert!(mean["p_value"].as_f64().unwrap() > 0.5, "{mean}");
}

#[test]
fn every_target_keeps_its_rows_even_when_its_values_equal_total() {
    // issue 11, defect 3: rows were dropped when a target's values equalled TOTAL's
    let w = warehouse("k6");
    let base = ids(&w, "base");
    let (_, rows) = compare(&w, &base[..4], &base[4..8]);
    let targets: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let measured = w.json(&[
        "sql",
        &format!(
            "SELECT DISTINCT target FROM measurement m JOIN target t USING (run_id, target) WHERE run_id IN ({}) AND t.kind = 'http' AND metric = 'latency_p50_ms'",
            list(&base[..8])
        ),
    ]);
    for t in measured.as_array().unwrap() {
        let t = t["target"].as_str().unwrap();
        assert!(targets.contains(t), "target {t} missing from {targets:?}");
    }
    // the slowest endpoint holds the run's maximum, so its max equals TOTAL's in both runs:
    // that row used to vanish (POST checkout in runs 1 and 2: 12.991 and 14.143 ms)
    let out = w.run(&[
        "compare",
        "--baseline",
        &base[0].to_string(),
        "--candidate",
        &base[1].to_string(),
        "--metric",
        "latency_max_ms",
        "--format",
        "json",
    ]);
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    let max_rows: Vec<&str> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert!(max_rows.contains(&"POST checkout"), "{max_rows:?}");
    assert!(max_rows.contains(&"TOTAL"), "{max_rows:?}");
    // and every row of a target has its p50, whatever TOTAL's p50 is
    for t in targets.iter().filter(|t| **t != "TOTAL") {
        assert!(
            rows.iter().any(|r| r.0 == *t && r.1 == "latency_p50_ms"),
            "{t} has no p50 row"
        );
    }
}

#[test]
fn a_goal_that_matches_nothing_is_an_error_unless_optional() {
    // issue 11, defect 7
    let w = Workdir::new();
    w.ok(
        &[
            "import",
            fixture("wrk/users_lua_report.json").to_str().unwrap(),
        ],
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let goals = dir.path().join("goals.toml");
    std::fs::write(
        &goals,
        "[[goal]]\nname = \"p95\"\nmetric = \"latency_p95_ms\"\nmax = 1000\n\n[[goal]]\nname = \"typo\"\nmetric = \"latency_p59_ms\"\nmax = 10\n",
    )
    .unwrap();
    let out = w.run(&["check", "--goals", goals.to_str().unwrap(), "latest"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("goal 'typo'") && err.contains("latency_p95_ms"),
        "{err}"
    );
    std::fs::write(
        &goals,
        "[[goal]]\nname = \"typo\"\nmetric = \"latency_p59_ms\"\nmax = 10\noptional = true\n",
    )
    .unwrap();
    let out = w.run(&[
        "check",
        "--goals",
        goals.to_str().unwrap(),
        "--format",
        "json",
        "latest",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["goals"][0]["status"], "no_data");
}

#[test]
fn an_empty_value_cell_skips_that_cell_only() {
    // issue 11, defect 10 (hand-made input)
    let w = Workdir::new();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("series_with_gap.csv");
    std::fs::write(
        &f,
        "timestamp,series,value,unit\n2026-11-01T00:00:00Z,api/latency_p95_ms,12.5,ms\n2026-11-01T00:00:00Z,api/throughput_rps,,req/s\n2026-11-02T00:00:00Z,api/latency_p95_ms,13.0,ms\n",
    )
    .unwrap();
    let out = w.json(&["import", f.to_str().unwrap()]);
    let rows = out.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r["status"] == "imported"));
    assert_eq!(rows[0]["message"], "1 empty value cell(s) skipped");
    assert_eq!(
        w.scalar("SELECT count(*) FROM measurement WHERE metric = 'throughput_rps'"),
        0
    );
}

#[test]
fn files_in_a_folder_that_are_not_results_are_skipped_and_listed() {
    // issue 11, defect 11: a k6 result folder with an empty stderr capture and a README
    let w = Workdir::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("wrk/users_lua_report.json"),
        dir.path().join("report.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("k6.stderr.txt"), "").unwrap();
    std::fs::write(dir.path().join("README.md"), "# nightly results\n").unwrap();
    let out = w.json(&["import", dir.path().to_str().unwrap()]);
    let rows = out.as_array().unwrap();
    let status = |name: &str| {
        rows.iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(name))
            .map(|r| r["status"].clone())
    };
    assert_eq!(status("report.json"), Some("imported".into()), "{out}");
    assert_eq!(status("k6.stderr.txt"), Some("skipped".into()), "{out}");
    assert_eq!(status("README.md"), Some("skipped".into()), "{out}");
}

#[test]
fn the_default_baseline_is_the_current_regime() {
    // 24 nights of fixtures/history: 16 against the normal server, then 8 against it made 20%
    // slower. A baseline of the last 10 nights would mix both regimes; since-change:20 (the
    // default) holds only the nights since the change point, and says so.
    let w = Workdir::new();
    let mut files = Vec::new();
    for i in 1..=8 {
        files.push(format!("history/wrk_base_{i}.json"));
        files.push(format!("history/wrk_again_{i}.json"));
    }
    files.extend((1..=8).map(|i| format!("history/wrk_slow20_{i}.json")));
    for (night, f) in files.iter().enumerate() {
        let at = format!("2026-10-{:02}T02:00:00Z", night + 1);
        w.ok(&["import", "--at", &at, fixture(f).to_str().unwrap()], 0);
    }
    let out = w.run(&["compare", "--candidate", "latest", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let base: Vec<i64> = v["baseline_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert!(base.iter().all(|id| (17..=23).contains(id)), "{base:?}");
    assert!(base.len() >= 5, "{base:?}");
    let why = v["baseline_reason"].as_str().unwrap();
    assert!(
        why.contains("since the change point of TOTAL latency_p50_ms at run 17"),
        "{why}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the latest slow night is like the other slow ones"
    );
    // a deploy annotation after the change point moves the start of the regime
    w.ok(
        &[
            "annotate",
            "--at",
            "2026-10-20T12:00:00Z",
            "--kind",
            "deploy",
            "v2.4",
        ],
        0,
    );
    let v = w.json(&["compare", "--candidate", "latest"]);
    let why = v["baseline_reason"].as_str().unwrap();
    assert!(
        why.contains("deploy annotation") && why.contains("v2.4"),
        "{why}"
    );
    let base = v["baseline_runs"].as_array().unwrap();
    assert!(base.iter().all(|x| x.as_i64().unwrap() >= 21), "{base:?}");
}

#[test]
fn the_outputs_of_one_test_are_one_run() {
    // issue 11, defect 1: fixtures/k6 holds one test's --summary-export, --out json and --out
    // csv (176 requests), a handleSummary file of another run with the same count (176, other
    // latencies) and a gzip points file of a third; wrk output beside it is another tool
    let w = Workdir::new();
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "shop_summary_export.json",
        "shop_points.json",
        "shop_points.csv",
        "shop_handle_summary.json",
        "shop_points_gz.json.gz",
    ] {
        std::fs::copy(fixture(&format!("k6/{f}")), dir.path().join(f)).unwrap();
    }
    std::fs::copy(
        fixture("wrk/users_lua_report.json"),
        dir.path().join("wrk.json"),
    )
    .unwrap();
    let out = w.json(&["import", dir.path().to_str().unwrap()]);
    let rows = out.as_array().unwrap();
    let merged = rows
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .unwrap()
                .contains("shop_summary_export.json")
        })
        .unwrap();
    let file = merged["file"].as_str().unwrap();
    assert!(
        file.contains("shop_points.json") && file.contains("shop_points.csv"),
        "{file}"
    );
    assert!(
        !file.contains("handle"),
        "another run with the same count: {file}"
    );
    assert_eq!(merged["requests"], 176.0);
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 4, "{out}");
    let id = merged["run_id"].as_i64().unwrap();
    // one run with three sources, the summary's thresholds, and one name per endpoint
    assert_eq!(
        w.scalar(&format!(
            "SELECT count(*) FROM source_file WHERE run_id = {id}"
        )),
        3
    );
    assert!(
        w.scalar(&format!(
            "SELECT count(*) FROM threshold WHERE run_id = {id}"
        ))
        .as_i64()
        .unwrap()
            > 0
    );
    assert_eq!(
        w.scalar(&format!(
            "SELECT count(*) FROM target WHERE run_id = {id} AND target = 'name:checkout'"
        )),
        0
    );
    assert_eq!(
        w.scalar(&format!(
            "SELECT count(*) FROM histogram WHERE run_id = {id} AND target = 'POST checkout'"
        )),
        1
    );
    // importing the folder again adds nothing
    let again = w.json(&["import", dir.path().to_str().unwrap()]);
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] != "imported"),
        "{again}"
    );
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 4);
    // --run-group joins outputs across folders
    let w = Workdir::new();
    w.ok(
        &[
            "import",
            "--run-group",
            fixture("k6/shop_summary_export.json").to_str().unwrap(),
            fixture("k6/shop_points.json").to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 1);
}
