//! Reports: every HTML and PNG file written parses, user strings are escaped, and
//! --self-contained inlines the charts. (scripts/render_reports.sh renders them in Chromium.)

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::path::Path;

use common::{fixture, Workdir};

/// PNG structure: signature, IHDR first with a non-zero size, chunks that add up, IEND last.
fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let mut i = 8;
    let mut kinds = Vec::new();
    while i + 8 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&b[i + 4..i + 8]).to_string());
        if kinds.len() == 1 {
            let (w, h) = (
                u32::from_be_bytes(b[i + 8..i + 12].try_into().unwrap()),
                u32::from_be_bytes(b[i + 12..i + 16].try_into().unwrap()),
            );
            assert!(w > 100 && h > 100, "{}: {w}x{h}", path.display());
        }
        i += 12 + len;
    }
    assert_eq!(i, b.len(), "{}: chunks do not add up", path.display());
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    assert!(kinds.iter().any(|k| k == "IDAT"));
}

/// HTML: a whole document whose tags balance and whose images exist.
fn assert_html(dir: &Path) -> String {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for tag in ["table", "section", "tr", "ul", "figure", "main"] {
        assert_eq!(
            html.matches(&format!("<{tag}")).count(),
            html.matches(&format!("</{tag}>")).count(),
            "<{tag}> balance"
        );
    }
    for src in html
        .split("src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
    {
        if !src.starts_with("data:image/png;base64,") {
            assert_png(&dir.join(src));
        }
    }
    html
}

#[test]
fn run_compare_monthly_and_quarterly_reports_parse_and_escape() {
    let w = Workdir::new();
    let locust = fixture("locust/shop_v2_47_stats.csv").display().to_string();
    w.ok(
        &[
            "import",
            "--label",
            "note=<script>alert(1)</script> & \"x\"",
            &locust,
        ],
        0,
    );
    for i in 1..=8 {
        for (kind, day) in [("base", i), ("slow20", 10 + i)] {
            let f = fixture(&format!("history/wrk_{kind}_{i}.json"))
                .display()
                .to_string();
            w.ok(
                &[
                    "import",
                    "--scenario",
                    "orders",
                    "--label",
                    &format!("group={kind}"),
                    "--at",
                    &format!("2026-11-{day:02}T02:00:00Z"),
                    &f,
                ],
                0,
            );
        }
    }
    let out = w.dir.path();
    let run = out.join("run");
    w.ok(&["report", "run", "1", "--out", run.to_str().unwrap()], 0);
    let html = assert_html(&run);
    assert!(
        !html.contains("<script>alert"),
        "a label with HTML is shown as text"
    );
    assert!(html.contains("&lt;script&gt;alert(1)"));
    assert!(
        html.contains("&lt;legacy &amp; &quot;quoted&quot;&gt;"),
        "endpoint names are escaped"
    );
    assert!(
        html.matches("<img").count() >= 3,
        "interval charts of the Locust history"
    );

    let cmp = out.join("cmp");
    w.ok(
        &[
            "report",
            "compare",
            "--baseline",
            "group=base",
            "--candidate",
            "group=slow20",
            "--out",
            cmp.to_str().unwrap(),
        ],
        0,
    );
    let html = assert_html(&cmp);
    assert!(html.contains("regressed") && html.contains("Benjamini-Hochberg"));

    let goals = fixture("demo_goals.toml").display().to_string();
    let month = out.join("month");
    w.ok(
        &[
            "report",
            "monthly",
            "--month",
            "2026-11",
            "--goals",
            &goals,
            "--out",
            month.to_str().unwrap(),
        ],
        0,
    );
    let html = assert_html(&month);
    assert!(html.contains("Monthly benchmark review: November 2026"));
    assert!(html.contains("change point") && html.contains("Projection"));
    // each goal row names the run it judges: the month's latest wrk "orders" run (run 17, the
    // eighth slow20 import, dated 2026-11-18), not the Locust run beside it
    assert!(
        html.contains("<th>run judged</th>"),
        "goal rows name their run"
    );
    assert!(html.contains("#17 wrk orders 2026-11-18 02:00"));

    let q = out.join("quarter");
    w.ok(
        &[
            "report",
            "quarterly",
            "--quarter",
            "2026Q4",
            "--goals",
            &goals,
            "--baseline",
            "2026-10",
            "--self-contained",
            "--out",
            q.to_str().unwrap(),
        ],
        0,
    );
    let html = assert_html(&q);
    assert!(html.contains("Goal compliance") && html.contains("Baseline in force"));
    assert!(html.contains("data:image/png;base64,"));
    assert_eq!(
        std::fs::read_dir(&q).unwrap().count(),
        1,
        "self-contained: one file"
    );
}

#[test]
fn a_run_without_per_request_data_charts_the_percentiles_the_tool_printed() {
    // ab's text output keeps no per-request data: its table "50% 8, 66% 9, 75% 10, 80% 10,
    // 90% 12, 95% 13, 98% 15, 99% 16" (fixtures/ab/orders_timelimit_t2.txt) is the chart, and
    // every row of it is stored, 66%, 75%, 80% and 98% included.
    let w = Workdir::new();
    let ab = fixture("ab/orders_timelimit_t2.txt").display().to_string();
    w.ok(&["import", &ab], 0);
    let out = w.dir.path().join("ab");
    w.ok(&["report", "run", "1", "--out", out.to_str().unwrap()], 0);
    let html = assert_html(&out);
    assert!(html.contains("alt=\"Latency percentiles\""), "{html}");
    assert_png(&out.join("run1_percentiles.png"));
    assert!(
        html.contains("class=\"table-wrap\""),
        "tables scroll in their own box"
    );
    let stored = w.scalar(
        "SELECT string_agg(metric, ',' ORDER BY metric) FROM measurement WHERE run_id = 1 AND target = 'TOTAL' AND metric LIKE 'latency_p%'",
    );
    assert_eq!(
        stored.as_str().unwrap(),
        "latency_p50_ms,latency_p66_ms,latency_p75_ms,latency_p80_ms,latency_p90_ms,latency_p95_ms,latency_p98_ms,latency_p99_ms"
    );
    let p66 =
        w.scalar("SELECT value FROM measurement WHERE run_id = 1 AND target = 'TOTAL' AND metric = 'latency_p66_ms'");
    assert_eq!(p66.as_f64(), Some(9.0));
}
