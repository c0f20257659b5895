//! `perfledger demo`'s quarter of the shop service (fixtures/quarter, real k6, Locust, database
//! exports and Prometheus answers captured by fixtures/capture/capture_quarter.sh): every night
//! imported, the deploy that changed the search's plan caught by the gate, its fix passing, and
//! the plans, figures and reports as the captures say.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::process::Command;

use common::fixture;
use serde_json::Value;

/// NIGHTS.tsv: (night directory, story date, version) in night order.
fn nights() -> Vec<(String, String, String)> {
    std::fs::read_to_string(fixture("quarter/NIGHTS.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                format!("n{:02}", f[0].parse::<u32>().unwrap()),
                f[1].to_string(),
                f[2].to_string(),
            )
        })
        .collect()
}

fn sql(db: &std::path::Path, q: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .arg("--db")
        .arg(db)
        .args(["sql", "--format", "json", q])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_demo_quarter_catches_the_deploy_that_changed_the_plan_and_passes_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_perfledger"))
        .args(["demo", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    let db = out.join("demo.duckdb");
    let nights = nights();
    let versions: Vec<&str> = nights.iter().map(|(_, _, v)| v.as_str()).collect();
    assert!(versions.contains(&"v3.0") && versions.contains(&"v3.1") && versions.contains(&"v3.2"));
    // every night twice: a k6 run and a Locust run of scenario shop
    let runs = sql(
        &db,
        "SELECT tool, count(*) AS n FROM run WHERE scenario = 'shop' GROUP BY tool ORDER BY tool",
    );
    assert_eq!(runs[0]["tool"], "k6");
    assert_eq!(runs[0]["n"].as_u64(), Some(nights.len() as u64), "{runs}");
    assert_eq!(runs[1]["tool"], "locust");
    assert_eq!(runs[1]["n"].as_u64(), Some(nights.len() as u64), "{runs}");
    // the search's p95 of the first v3.1 night is what k6 wrote, and the gate fails on it
    let (first31, date31, _) = nights.iter().find(|(_, _, v)| v == "v3.1").unwrap();
    let summary: Value = serde_json::from_slice(
        &std::fs::read(fixture(&format!("quarter/{first31}/k6_summary.json"))).unwrap(),
    )
    .unwrap();
    let k6_p95 = summary["metrics"]["http_req_duration{name:GET /api/search}"]["p(95)"]
        .as_f64()
        .unwrap();
    let stored = sql(&db, &format!(
        "SELECT value FROM metrics m JOIN run r ON r.id = m.run_id WHERE r.tool = 'k6' AND r.scenario = 'shop' AND m.target = 'name:GET /api/search' AND m.metric = 'latency_p95_ms' AND r.started_at::DATE = DATE '{date31}'"
    ));
    assert!(
        (stored[0]["value"].as_f64().unwrap() - k6_p95).abs() < 1e-9,
        "{stored} vs {k6_p95}"
    );
    let checks: Vec<&str> = said.split("-- check: ").skip(1).collect();
    assert_eq!(checks.len(), 2, "{said}");
    assert!(
        checks[0].contains(date31.as_str())
            && checks[0].contains("v3.1")
            && checks[0].contains("FAIL"),
        "{}",
        checks[0]
    );
    assert!(checks[0].contains("search p95 latency"), "{}", checks[0]);
    let fix = checks[1];
    let search_line = fix
        .lines()
        .find(|l| l.contains("search p95 latency"))
        .unwrap_or("");
    assert!(
        fix.contains("v3.2") && fix.contains("PASS") && search_line.contains("pass"),
        "{fix}"
    );
    // Prometheus' points, re-dated with their night, lie in their k6 run's window
    let inside = sql(&db, "SELECT count(*) FILTER (WHERE p.ts BETWEEN r.started_at AND r.ended_at + INTERVAL 3 SECOND) AS inside, count(*) AS n, count(DISTINCT r.id) AS runs FROM resource_point p JOIN resource_capture c ON c.id = p.capture_id JOIN run r ON r.id = c.run_id WHERE r.tool = 'k6' AND r.scenario = 'shop'");
    let n = inside[0]["n"].as_u64().unwrap();
    assert!(n >= nights.len() as u64, "{inside}");
    assert_eq!(inside[0]["inside"].as_u64(), Some(n), "{inside}");
    assert_eq!(
        inside[0]["runs"].as_u64(),
        Some(nights.len() as u64),
        "{inside}"
    );
    // the plan of each version, as the night's export took it
    let plans = sql(&db, "SELECT l.value AS version, string_agg(DISTINCT p.shape, ' | ') AS shapes FROM pg_plan p JOIN pg_snapshot s ON s.id = p.snapshot_id JOIN run_label l ON l.run_id = s.run_id AND l.key = 'version' GROUP BY 1 ORDER BY 1");
    let shapes = |v: &str| {
        plans
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["version"] == v)
            .unwrap()["shapes"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        shapes("v3.0").contains("Index Scan using items_code on items"),
        "{plans}"
    );
    assert!(shapes("v3.1").contains("Seq Scan on items"), "{plans}");
    assert!(shapes("v3.2").contains("items_code_lower"), "{plans}");
    // the reviews: August's and the quarter's, with the deploy, the plan and the database
    let q3 = std::fs::read_to_string(out.join("report-shop-2026Q3/index.html")).unwrap();
    assert!(
        q3.contains("deploy v3.1"),
        "the deploy annotation in the quarterly audit"
    );
    // the plan table: the lower() statement's Seq Scan span, then its index span marked changed
    let plans_at = q3.find("id=\"db-plans\"").expect("a query-plan table");
    let table = &q3[plans_at..q3[plans_at..].find("</table>").unwrap() + plans_at];
    let seq = table
        .find("Gather(Seq Scan on items)")
        .expect("the v3.1 plan");
    let fixed = table
        .find("Index Scan using items_code_lower on items")
        .expect("the v3.2 plan");
    assert!(seq < fixed, "{table}");
    assert!(table[fixed..].contains("changed"), "{table}");
    let aug = std::fs::read_to_string(out.join("report-shop-2026-08/index.html")).unwrap();
    assert!(aug.contains("Database") && aug.contains("System resources"));
}
