//! The Recommendations section of the monthly and quarterly reports: each rule fires on the
//! real captures made to show it and stays silent on the A/A captures (fixtures/aa, cp/flat).

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use common::{fixture, Workdir};

/// The rules that fired, in rank order, read from the page (`class="rec rec-<rule>"`).
fn rules(html: &str) -> Vec<String> {
    html.match_indices("class=\"rec rec-")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The text of the Recommendations section, tags removed.
fn section_text(html: &str) -> String {
    let i = html.find("id=\"recommendations\"").expect("section");
    let j = i + html[i..].find("</section>").unwrap();
    let mut out = String::new();
    let mut tag = false;
    for c in html[i..j].chars() {
        match c {
            '<' => tag = true,
            '>' => {
                tag = false;
                out.push(' ');
            }
            _ if !tag => out.push(c),
            _ => {}
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    // minijinja's HTML escapes, undone
    [
        ("&#x2f;", "/"),
        ("&#x27;", "'"),
        ("&quot;", "\""),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(out, |s, (e, c)| s.replace(e, c))
}

fn monthly(w: &Workdir, month: &str, extra: &[&str]) -> String {
    let out = w.dir.path().join(format!("m{}", extra.len()));
    let mut args = vec![
        "report",
        "monthly",
        "--month",
        month,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    w.ok(&args, 0);
    std::fs::read_to_string(out.join("index.html")).unwrap()
}

fn files(dir: &str, prefix: &str, ext: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(fixture(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(ext)
        })
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir}/{prefix}*{ext}");
    files
}

/// Imports files in one call: a k6 summary and the points of the same run become one run.
fn import(w: &Workdir, files: &[String]) {
    let mut args = vec!["import", "--quiet"];
    args.extend(files.iter().map(String::as_str));
    w.ok(&args, 0);
}

/// Imports `dir/prefix*ext` one file at a time, each at the start time `dir/ORDER.txt` gives
/// for it: wrk's JSON report carries no time, and a fresh clone gives every file the same
/// modification time.
fn import_glob(w: &Workdir, dir: &str, prefix: &str, ext: &str) {
    let order = std::fs::read_to_string(fixture(&format!("{dir}/ORDER.txt"))).unwrap();
    for f in files(dir, prefix, ext) {
        let name = std::path::Path::new(&f)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let at = order
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find(|l| {
                l.split_whitespace()
                    .last()
                    .is_some_and(|fs| fs.split(',').any(|x| x == name))
            })
            .and_then(|l| l.split_whitespace().find(|x| x.starts_with("2026-")))
            .unwrap_or_else(|| panic!("{name} in {dir}/ORDER.txt"))
            .to_string();
        w.ok(&["import", "--quiet", "--at", &at, &f], 0);
    }
}

/// Imports pg_stat_statements snapshot files, each at its time (the CSVs carry none).
fn import_snapshots(w: &Workdir, snaps: &[(&str, &str)]) {
    for (f, at) in snaps {
        let path = fixture(f).display().to_string();
        w.ok(&["import", "--quiet", "--at", at, &path], 0);
    }
}

/// fixtures/pgss, at the times tests/cli.rs gives them (taken 10 s apart).
const PGSS: [(&str, &str); 3] = [
    ("pgss/snapshot1_after_tpcb.csv", "2026-11-27T06:39:10Z"),
    (
        "pgss/snapshot2_after_select_only.csv",
        "2026-11-27T06:39:20Z",
    ),
    ("pgss/snapshot3_after_reset.csv", "2026-11-27T06:39:30Z"),
];

/// fixtures/reco pgss_*: taken right before the first pgbench run, between the two and after
/// the second (the runs' start times in reco/CAPTURE_LOG.txt, each 10 s long).
const RECO_PGSS: [(&str, &str); 3] = [
    ("reco/pgss_before.csv", "2026-12-01T22:50:21Z"),
    ("reco/pgss_mid.csv", "2026-12-01T22:50:31Z"),
    ("reco/pgss_after.csv", "2026-12-01T22:50:42Z"),
];

/// The k6 A/A runs, summary and points of each run together.
fn k6_base(w: &Workdir) {
    let mut f = files("aa", "k6_base_", ".summary.json");
    f.extend(files("aa", "k6_base_", ".points.json.gz"));
    import(w, &f);
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE tool = 'k6'")
            .as_i64(),
        Some(16)
    );
}

#[test]
fn the_aa_captures_fire_no_rule() {
    // 16 k6 and 16 wrk runs of an unchanged server (fixtures/aa/*base*): their p99/p50 is at
    // most 2.0 (k6) and 3.2 (wrk, run 32: p50 5.369, p99 17.202 ms), k6's errors are 2 x 500
    // of 658 requests (0.3%, under the 1% alert), k6's load is one level (constant arrival rate)
    let w = Workdir::new();
    k6_base(&w);
    import_glob(&w, "aa", "wrk_base_", ".json");
    let html = monthly(&w, "2026-12", &[]);
    assert_eq!(
        rules(&html),
        Vec::<String>::new(),
        "{}",
        section_text(&html)
    );
    let text = section_text(&html);
    assert!(text.contains("No rule fired"), "{text}");
    // the latest-runs table the per-run rules link to, with the figures they read
    assert!(text.contains("4398 0 5.369 17.202"), "{text}");
}

/// The start times of the imported runs, oldest first.
fn start_times(w: &Workdir) -> Vec<String> {
    let v = w.json(&[
        "sql",
        "SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S') AS t FROM run ORDER BY started_at",
    ]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["t"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_regression_right_after_an_annotated_deploy_is_the_first_recommendation() {
    // fixtures/cp step: x1.00 for runs 1-20, x1.15 from run 21 (cp/TRUTH.txt)
    let w = Workdir::new();
    import_glob(&w, "cp", "wrk_step_", ".json");
    let times = start_times(&w);
    assert_eq!(times.len(), 60);
    // a deploy between run 20 and run 21
    let at = &times[20];
    w.ok(&["annotate", "--at", at, "--quiet", "v2.3 rollout"], 0);
    let html = monthly(&w, "2026-12", &[]);
    let text = section_text(&html);
    let fired = rules(&html);
    assert_eq!(
        fired.first().map(String::as_str),
        Some("deploy_regression"),
        "{text}"
    );
    assert!(text.contains("came with deploy: v2.3 rollout"), "{text}");
    assert!(
        html.contains("href=\"#series-"),
        "links to the series chart"
    );

    // the same history with the note ten runs before the change: no deploy rule
    let w = Workdir::new();
    import_glob(&w, "cp", "wrk_step_", ".json");
    w.ok(
        &["annotate", "--at", &times[10], "--quiet", "v2.2 rollout"],
        0,
    );
    let html = monthly(&w, "2026-12", &[]);
    assert!(
        !rules(&html).contains(&"deploy_regression".to_string()),
        "{}",
        section_text(&html)
    );
}

fn goals_file(w: &Workdir, max: f64) -> String {
    let p = w.dir.path().join("goals.toml");
    std::fs::write(
        &p,
        format!(
            "[[goal]]\nname = \"orders p95\"\ntool = \"wrk\"\nmetric = \"latency_p95_ms\"\nmax = 50\nmilestones = [\n  {{ from = \"2026-12-01\", max = 50 }},\n  {{ from = \"2027-01-01\", max = {max} }},\n]\n"
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn a_goal_whose_next_milestone_the_trend_misses() {
    // fixtures/cp stairs: p50 5.49 ms (runs 1-25), 5.83 (26-45), 6.79 (46-60), p95 rising
    // with it, so a 5 ms p95 milestone on 2027-01-01 moves further away at every run
    let w = Workdir::new();
    import_glob(&w, "cp", "wrk_stairs_", ".json");
    let goals = goals_file(&w, 5.0);
    let html = monthly(&w, "2026-12", &["--goals", &goals]);
    let text = section_text(&html);
    assert!(
        rules(&html).contains(&"goal_projection".to_string()),
        "{text}"
    );
    assert!(
        text.contains("orders p95: the next milestone is out of reach"),
        "{text}"
    );
    // a milestone the series already meets (p50 under 50 ms): silent
    let goals = goals_file(&w, 50.0);
    let html = monthly(&w, "2026-12", &["--goals", &goals, "--quiet"]);
    assert!(
        !rules(&html).contains(&"goal_projection".to_string()),
        "{}",
        section_text(&html)
    );
}

#[test]
fn errors_concentrated_in_one_endpoint_and_status() {
    // fixtures/k6/shop_summary_export.json + shop_points.json (one run, 176 requests): every
    // failed request is a 500 of POST checkout (server.py fails every 25th checkout)
    let w = Workdir::new();
    let a = fixture("k6/shop_summary_export.json").display().to_string();
    let b = fixture("k6/shop_points.json").display().to_string();
    w.ok(&["import", "--quiet", &a, &b], 0);
    let month = w.scalar("SELECT strftime(max(started_at), '%Y-%m') FROM run");
    let html = monthly(&w, month.as_str().unwrap(), &[]);
    let text = section_text(&html);
    assert!(
        rules(&html).contains(&"error_concentration".to_string()),
        "{text}"
    );
    // k6 printed "http_req_failed ...: 1.13%  2 out of 176" (fixtures/k6/shop_stdout.txt)
    assert!(text.contains("are status 500 on POST checkout"), "{text}");
    assert!(
        text.contains("2 errors in 176 requests (1.1%, alert above 1.0%)"),
        "{text}"
    );
}

#[test]
fn the_overview_has_a_panel_for_every_endpoint_and_statement() {
    // fixtures/aa base: k6 runs (summary + points) with TOTAL, three endpoints and k6's
    // expected_response:true total; wrk runs on one URL (its endpoint is its TOTAL: one panel)
    let w = Workdir::new();
    k6_base(&w);
    import_glob(&w, "aa", "wrk_base_", ".json");
    // pg_stat_statements snapshots of the same month (fixtures/reco)
    import_snapshots(&w, &RECO_PGSS);
    let expected = w.scalar(
        "SELECT count(*) FROM (SELECT r.tool, m.target FROM measurement m JOIN run r ON r.id = m.run_id
         WHERE m.metric = 'latency_p95_ms' GROUP BY ALL HAVING count(*) >= 3)
         WHERE NOT (tool = 'wrk' AND target <> 'TOTAL')",
    );
    assert_eq!(expected.as_i64(), Some(6));
    let statements = w.scalar(
        "SELECT count(*) FROM (SELECT server, query FROM pg_statement_delta WHERE mean_exec_time_ms IS NOT NULL GROUP BY ALL HAVING count(*) >= 2)",
    );
    let n = statements.as_i64().unwrap();
    assert!(n > 0);
    let html = monthly(&w, "2026-12", &[]);
    assert!(html.contains("endpoints 1-6 of 6:"), "{html}");
    assert!(
        html.contains(&format!("statements 1-{n} of {n}:")),
        "{html}"
    );
    let dir = w.dir.path().join("m0");
    for png in ["overview_endpoints_0.png", "overview_statements_0.png"] {
        let bytes = std::fs::read(dir.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 5000, "{png}");
    }
}

/// The Recommendations section of a run report of files imported together.
fn run_report(files: &[&str]) -> (String, String) {
    let w = Workdir::new();
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixture(&format!("reco/{f}")).display().to_string())
        .collect();
    import(&w, &paths);
    let out = w.dir.path().join("run");
    w.ok(&["report", "run", "1", "--out", out.to_str().unwrap()], 0);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let text = if html.contains("id=\"recommendations\"") {
        section_text(&html)
    } else {
        String::new()
    };
    (html, text)
}

#[test]
fn saturation_from_the_per_second_series_of_k6_and_locust() {
    // fixtures/reco: /api/report behind 2 slots of ~10 ms (capacity ~200 req/s), VUs ramped
    // 1 -> 16. k6's points per second (reco/k6_saturation.per_second.txt): 7 VUs 190 and 191
    // requests, 16 VUs 190 and 191; the per-second mean latency 38.8 ms -> 83.3 ms.
    let (html, text) = run_report(&["k6_saturation.summary.json", "k6_saturation.points.json.gz"]);
    assert_eq!(rules(&html), ["saturation"], "{text}");
    assert!(
        text.contains(
            "7 users: 190.50 req/s at 38.8 ms; 16 users: 190 req/s (-0%) at 83.3 ms (+115%)"
        ),
        "{text}"
    );
    // Locust's history: its Requests/s column is a 10 s rolling mean (132 at 8 users while the
    // counts grew by 194 that second); throughput comes from the Total Request Count
    let (html, text) = run_report(&[
        "locust_saturation_stats.csv",
        "locust_saturation_stats_history.csv",
    ]);
    assert_eq!(rules(&html), ["saturation"], "{text}");
    assert!(
        text.contains("8 users: 194 req/s at 23 ms; 16 users: 192.50 req/s (-1%) at 71 ms (+209%)"),
        "{text}"
    );
    // the control: the same ramp on /api/users with 0.2 s of think time; throughput follows
    // the users (5.2 req/s at 1 VU, 78.5 at 16 as the capture's per-second counts say)
    let (html, text) = run_report(&["k6_ramp_ok.summary.json", "k6_ramp_ok.points.json.gz"]);
    assert_eq!(rules(&html), Vec::<String>::new(), "{text}");
}

#[test]
fn a_heavy_tail_fires_with_enough_requests_only() {
    // wrk printed "4802 requests in 3.00s", "50% 2.62ms", "99% 86.44ms" (reco/wrk_tail.txt):
    // every 30th request of /api/tail sleeps 80 ms. One rule for the run's one URL.
    let (html, text) = run_report(&["wrk_tail.json", "wrk_tail.txt"]);
    assert_eq!(rules(&html), ["tail_latency"], "{text}");
    assert!(
        text.contains("p50 2.622 ms, p99 86.44 ms over 4802 requests"),
        "{text}"
    );
    // k6 on the same endpoint: med 3.07 ms, p(99) 88.82 ms, but 501 requests: its p99 rests
    // on 5 requests, under the rule's 1000
    let (html, text) = run_report(&["k6_tail.summary.json", "k6_tail.points.json.gz"]);
    assert!(html.contains("501"), "the run's requests");
    assert_eq!(rules(&html), Vec::<String>::new(), "{text}");
}

#[test]
fn a_statement_holding_most_database_time_that_got_slower() {
    // reco/pgss_*: pgbench on an indexed lookup (6160.88 tps), the index dropped, the same
    // pgbench again (61.55 tps). Between the last two snapshots the lookup ran 616 times at
    // 30.49 ms (pg_stat_statements' cumulative mean says 0.3192 ms: the delta is what counts).
    let w = Workdir::new();
    import_snapshots(&w, &RECO_PGSS);
    let html = monthly(&w, "2026-12", &[]);
    let text = section_text(&html);
    assert_eq!(rules(&html), ["db_hotspot"], "{text}");
    assert!(
        text.contains("one statement holds 95.5% of the database time"),
        "{text}"
    );
    assert!(
        text.contains("mean 0.0172 ms in the first interval, 30.49 ms in the last"),
        "{text}"
    );
    assert!(html.contains("href=\"#db\""));
    // fixtures/pgss (TPC-B, select-only, reset then TPC-B): no statement both dominates and
    // slows down
    let w = Workdir::new();
    import_snapshots(&w, &PGSS);
    let html = monthly(&w, "2026-11", &[]);
    assert!(
        !rules(&html).contains(&"db_hotspot".to_string()),
        "{}",
        section_text(&html)
    );
}

/// A pgbench run of fixtures/resources with the Prometheus answers saved with it, as run 1.
fn resources_report(run: &str) -> (Workdir, String, String) {
    let w = Workdir::new();
    let dir = fixture(&format!("resources/{run}"));
    let start = std::fs::read_to_string(dir.join("START")).unwrap();
    let pgbench = dir.join("pgbench.txt").display().to_string();
    w.ok(&["import", "--quiet", "--at", start.trim(), &pgbench], 0);
    // bound to the run its window overlaps
    let saved = dir.join("prometheus").display().to_string();
    let got = w.json(&["import", &saved]);
    assert!(
        got.as_array().unwrap().iter().all(|f| f["run_id"] == 1),
        "{got}"
    );
    let out = w.dir.path().join("run");
    w.ok(&["report", "run", "1", "--out", out.to_str().unwrap()], 0);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for chart in [
        "cpu_busy_ratio",
        "mem_used_ratio",
        "disk_read_bps",
        "net_rx_bps",
    ] {
        assert!(out.join(format!("run1_{chart}.png")).exists(), "{chart}");
    }
    let text = if html.contains("id=\"recommendations\"") {
        section_text(&html)
    } else {
        String::new()
    };
    (w, html, text)
}

#[test]
fn cpu_saturation_from_the_resources_of_a_run() {
    // fixtures/resources/busy: pgbench -S -c 2 -j 2 on this 2-core machine; at capture,
    // `import prometheus` printed cpu_busy_ratio mean 99.9%, p95 100.0%, max 100.0%
    // (busy/perfledger.txt)
    let (_, html, text) = resources_report("busy");
    assert!(
        html.contains("id=\"resources\""),
        "the section the rule links to"
    );
    assert_eq!(rules(&html), ["cpu_saturation"], "{text}");
    assert!(
        text.contains("CPU busy 99.9% on average over the run, p95 100.0%, max 100.0%"),
        "{text}"
    );
    assert!(
        html.contains("href=\"#resources\""),
        "the item links to the section"
    );
    // fixtures/resources/light: 20 transactions/s; printed mean 3.1%, p95 3.5%, max 3.7%
    let (w, html, text) = resources_report("light");
    assert_eq!(rules(&html), Vec::<String>::new(), "{text}");
    assert!(html.contains("id=\"resources\""));
    let cpu = w.scalar(
        "SELECT round(value * 1000) FROM metrics WHERE run_id = 1 AND metric = 'cpu_busy_ratio'",
    );
    assert_eq!(cpu.as_f64(), Some(31.0));
}
