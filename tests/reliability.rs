//! Reliability: concurrent writers, SIGKILL during imports, schema upgrades, hostile input.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{fixture, Workdir};
use proptest::prelude::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_perfledger"))
}

#[test]
fn eight_concurrent_writers_all_succeed_and_store_each_run_once() {
    let w = Workdir::new();
    w.ok(
        &[
            "import",
            &fixture("ab/users_n2000_c10.txt").display().to_string(),
        ],
        0,
    );
    let files: Vec<String> = (1..=8)
        .map(|i| {
            fixture(&format!("history/wrk_base_{i}.json"))
                .display()
                .to_string()
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            bin()
                .arg("--db")
                .arg(w.db())
                .args(["import", f])
                .env("PERFLEDGER_LOCK_TIMEOUT", "120")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 9);
    assert_eq!(w.scalar("SELECT count(DISTINCT content_key) FROM run"), 9);
    assert_eq!(
        w.scalar("SELECT count(*) FROM histogram WHERE target = 'TOTAL'"),
        8
    );
}

/// A k6 NDJSON file of `n` requests built from the real fixture's lines (same metrics, tags).
fn big_points(dir: &std::path::Path, repeats: usize) -> std::path::PathBuf {
    let src = std::fs::read_to_string(fixture("k6/shop_points.json")).unwrap();
    let path = dir.join("big_points.json");
    let mut out = String::with_capacity(src.len() * repeats);
    for _ in 0..repeats {
        out.push_str(&src);
    }
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn sigkill_during_imports_leaves_no_partial_run() {
    let w = Workdir::new();
    let big = big_points(w.dir.path(), 40);
    let mut killed = 0;
    for i in 0..50u64 {
        let mut child = bin()
            .arg("--db")
            .arg(w.db())
            .args(["import", big.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + (i * 37) % 400));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        if !w.db().exists() {
            // killed before the warehouse file was created: nothing to check yet
            continue;
        }
        // the warehouse opens and holds whole runs only
        let runs = w.scalar("SELECT count(*) FROM run").as_i64().unwrap();
        assert!(runs <= 1);
        let orphans = w.scalar("SELECT (SELECT count(*) FROM measurement WHERE run_id NOT IN (SELECT id FROM run)) + (SELECT count(*) FROM target WHERE run_id NOT IN (SELECT id FROM run)) + (SELECT count(*) FROM series_point WHERE run_id NOT IN (SELECT id FROM run))");
        assert_eq!(orphans, 0, "iteration {i}");
        if runs == 1 {
            assert_eq!(
                w.scalar("SELECT count(*) FROM target WHERE target = 'TOTAL'"),
                1
            );
            assert_eq!(
                w.scalar(
                    "SELECT value FROM measurement WHERE target = 'TOTAL' AND metric = 'requests'"
                ),
                176.0 * 40.0
            );
            break;
        }
    }
    assert!(
        killed > 0,
        "no import was interrupted: make the input larger"
    );
    let out = w.json(&["import", big.to_str().unwrap()]);
    assert!(out[0]["status"] == "imported" || out[0]["status"] == "already imported");
    assert_eq!(
        w.scalar("SELECT value FROM measurement WHERE target = 'TOTAL' AND metric = 'requests'"),
        176.0 * 40.0
    );
}

#[test]
fn an_older_warehouse_is_upgraded_and_a_newer_one_refused() {
    let w = Workdir::new();
    // a version-1 warehouse holding a run keyed the old way (SHA-256) from a real file
    let f = fixture("ab/users_n2000_c10.txt");
    let units = perfledger::import::collect_units(std::slice::from_ref(&f)).unwrap();
    let imp = perfledger::import::detect(&units[0].0, None).unwrap();
    let perfledger::model::Parsed::Runs(runs) =
        perfledger::import::parse_unit(&units[0].0, imp, &Default::default()).unwrap()
    else {
        panic!("ab output is a run")
    };
    let old_key =
        perfledger::import::legacy_content_key(&runs[0].sources, runs[0].key_suffix.as_deref())
            .unwrap();
    assert!(!old_key.starts_with("blake3:"));
    {
        drop(perfledger::store::Warehouse::open_at_version(&w.db(), 1).unwrap());
        let conn = duckdb::Connection::open(w.db()).unwrap();
        conn.execute(
            "INSERT INTO run (tool, format, content_key, imported_at) VALUES ('ab', 'ab-text', ?, now())",
            [&old_key],
        )
        .unwrap();
        conn.execute_batch("INSERT INTO source_file VALUES (1, 'users.txt', 'output', 'abc', 10)")
            .unwrap();
    }
    assert_eq!(
        w.scalar("SELECT max(version) FROM perfledger_schema"),
        perfledger::store::migrate::latest_version(),
        "opened and upgraded"
    );
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 1, "no loss");
    assert_eq!(
        w.scalar("SELECT sha256 FROM source_file"),
        "abc",
        "old digests kept"
    );
    // the file an older perfledger imported is recognised, though keys are BLAKE3 now
    let out = w.json(&["import", f.to_str().unwrap()]);
    assert_eq!(out[0]["status"], "already imported", "{out}");
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 1);
    let out = w.json(&[
        "import",
        fixture("wrk/users_lua_report.json").to_str().unwrap(),
    ]);
    assert_eq!(out[0]["status"], "imported", "{out}");
    assert_eq!(
        w.scalar("SELECT count(*) FROM run WHERE content_key LIKE 'blake3:%'"),
        1
    );
    assert_eq!(
        w.scalar("SELECT count(*) FROM baseline"),
        0,
        "version 2 tables exist"
    );
    {
        let conn = duckdb::Connection::open(w.db()).unwrap();
        conn.execute_batch("INSERT INTO perfledger_schema VALUES (99, now())")
            .unwrap();
    }
    let out = w.run(&["runs"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer perfledger"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_older_warehouse_gets_blake3_keys_once_at_migration() {
    // schema 4 re-reads a schema-1 run's files once (they are still there, with the recorded
    // SHA-256), so later imports compare BLAKE3 keys and never hash a file twice
    let w = Workdir::new();
    let f = w.dir.path().join("users_t2_c8_d3s.txt");
    std::fs::copy(fixture("wrk/users_t2_c8_d3s.txt"), &f).unwrap();
    let units = perfledger::import::collect_units(std::slice::from_ref(&f)).unwrap();
    let imp = perfledger::import::detect(&units[0].0, None).unwrap();
    let perfledger::model::Parsed::Runs(runs) =
        perfledger::import::parse_unit(&units[0].0, imp, &Default::default()).unwrap()
    else {
        panic!("wrk output is a run")
    };
    let old_key = perfledger::import::legacy_content_key(&runs[0].sources, None).unwrap();
    let (sha, bytes) = perfledger::import::sha256_file(&f).unwrap();
    {
        drop(perfledger::store::Warehouse::open_at_version(&w.db(), 1).unwrap());
        let conn = duckdb::Connection::open(w.db()).unwrap();
        conn.execute(
            "INSERT INTO run (tool, format, content_key, imported_at) VALUES ('wrk', 'wrk-text', ?, now())",
            [&old_key],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO source_file VALUES (1, ?, 'output', ?, ?)",
            duckdb::params![f.to_str().unwrap(), sha, bytes as i64],
        )
        .unwrap();
    }
    assert_eq!(
        w.scalar("SELECT count(*) FROM run"),
        1,
        "opened, upgraded, nothing lost"
    );
    let key = w.scalar("SELECT content_key FROM run WHERE id = 1");
    assert!(key.as_str().unwrap().starts_with("blake3:"), "{key}");
    assert_eq!(
        w.scalar("SELECT legacy_key FROM run WHERE id = 1"),
        old_key.as_str()
    );
    assert_eq!(
        w.scalar("SELECT blake3 IS NOT NULL FROM source_file WHERE run_id = 1"),
        true
    );
    let out = w.json(&["import", f.to_str().unwrap()]);
    assert_eq!(out[0]["status"], "already imported", "{out}");
    assert_eq!(w.scalar("SELECT count(*) FROM run"), 1);
}

/// Every importer on mangled real inputs: errors are fine, panics are not.
fn parse_bytes(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let units = perfledger::import::collect_units(std::slice::from_ref(&p)).unwrap();
    for (u, _) in units {
        for imp in perfledger::import::importers() {
            let _ = perfledger::import::parse_unit(&u, imp, &Default::default());
        }
        let _ = perfledger::import::detect(&u, None);
    }
}

const SEEDS: [&str; 12] = [
    "ab/users_n2000_c10.txt",
    "ab/users_gnuplot.tsv",
    "wrk/users_lua_report.json",
    "wrk/orders_latency_t2_c8_d3s.txt",
    "k6/shop_summary_export.json",
    "k6/shop_handle_summary.json",
    "locust/shop_v2_47_stats.csv",
    "locust/shop_v2_47_json_stdout.json",
    "pgbench/tpcb_c4_j2_T4_progress.txt",
    "pgbench/tpcb_c2_T4_aggregate.log",
    "pgss/snapshot1_after_tpcb.csv",
    "artillery/shop_report.json",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn importers_never_panic_on_mangled_input(seed in 0usize..SEEDS.len(), cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..8)) {
        let mut bytes = std::fs::read(fixture(SEEDS[seed])).unwrap();
        bytes.truncate((bytes.len() as f64 * cut) as usize + 1);
        for (at, b) in flips {
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] = b;
        }
        parse_bytes(SEEDS[seed].rsplit('/').next().unwrap(), &bytes);
    }
}

/// A full disk, then a read-only one, under the warehouse: clear errors, nothing lost. Runs in
/// a private mount namespace (`unshare -rm`) with a small tmpfs, so no root and no real disk
/// is needed; where user namespaces are disabled the test says so and stops.
#[test]
fn full_and_read_only_disk_give_clear_errors_and_keep_the_warehouse() {
    let host = tempfile::tempdir().unwrap();
    let disk = host.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let script = r#"
        D="$1"; P="$2"; SMALL="$3"; BIG="$4"; OUT="$5"
        mount -t tmpfs -o size=16m tmpfs "$D" || exit 90
        run() { name=$1; shift; "$P" --db "$D/w.duckdb" "$@" >"$OUT/$name.out" 2>&1; echo $? >"$OUT/$name.rc"; }
        run first import "$SMALL"
        dd if=/dev/zero of="$D/fill" bs=16k >/dev/null 2>&1
        run full import "$BIG"
        run full_runs sql "SELECT count(*) AS runs FROM run"
        rm -f "$D/fill"
        run retry import "$BIG"
        mount -o remount,ro "$D" || exit 91
        run ro import "$SMALL" --label again=yes
        run ro_runs sql "SELECT count(*) AS runs FROM run"
    "#;
    let status = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&disk)
        .arg(env!("CARGO_BIN_EXE_perfledger"))
        .arg(fixture("ab/users_n2000_c10.txt"))
        .arg(fixture("k6/shop_points.json"))
        .arg(host.path())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => {}
        other => {
            eprintln!("SKIPPED: no private mount namespace here (unshare -rm: {other:?})");
            return;
        }
    }
    let read = |name: &str| {
        let out = std::fs::read_to_string(host.path().join(format!("{name}.out"))).unwrap();
        let rc: i32 = std::fs::read_to_string(host.path().join(format!("{name}.rc")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (rc, out)
    };
    assert_eq!(read("first").0, 0, "{}", read("first").1);
    let (rc, out) = read("full");
    assert_eq!(rc, 4, "{out}");
    assert!(out.contains("disk is full"), "{out}");
    let (rc, out) = read("full_runs");
    assert_eq!(rc, 0, "{out}");
    assert!(out.lines().any(|l| l.trim() == "1"), "one run kept: {out}");
    let (rc, out) = read("retry");
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = read("ro");
    assert_eq!(rc, 4, "{out}");
    assert!(out.contains("read-only"), "{out}");
    let (rc, out) = read("ro_runs");
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.lines().any(|l| l.trim() == "2"),
        "both runs readable: {out}"
    );
}

#[test]
fn a_version_5_warehouse_keeps_its_series_points_through_the_series_migration() {
    // schema 6 moves series_point (a name per point) into series + series_value behind a view
    // of the same name and columns: points written under version 5 read back unchanged
    let w = Workdir::new();
    {
        drop(perfledger::store::Warehouse::open_at_version(&w.db(), 5).unwrap());
        let conn = duckdb::Connection::open(w.db()).unwrap();
        conn.execute_batch(
            "INSERT INTO run (tool, format, content_key, imported_at) VALUES ('k6', 'k6-ndjson', 'blake3:x', now());
             INSERT INTO series_point VALUES
               (1, 'TOTAL', '2026-11-01 10:00:00', 'requests', 10), (1, 'TOTAL', '2026-11-01 10:00:01', 'requests', 12),
               (1, 'GET a', '2026-11-01 10:00:00', 'latency_mean_ms', 2.5), (1, 'TOTAL', '2026-11-01 10:00:00', 'vus', 4);",
        )
        .unwrap();
    }
    assert_eq!(
        w.scalar("SELECT max(version) FROM perfledger_schema"),
        perfledger::store::migrate::latest_version()
    );
    assert_eq!(
        w.scalar(
            "SELECT string_agg(concat_ws(':', target, metric, strftime(ts, '%S'), value), ' ' ORDER BY rowid) FROM series_point"
        ),
        "TOTAL:requests:00:10.0 TOTAL:requests:01:12.0 GET a:latency_mean_ms:00:2.5 TOTAL:vus:00:4.0",
        "every point, in its order"
    );
    assert_eq!(w.scalar("SELECT count(*) FROM series"), 3);
}

/// The catalog as text: every column, view, index, sequence and constraint of perfledger's.
fn catalog_of(db: &std::path::Path) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let queries = [
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') FROM duckdb_columns() WHERE NOT internal ORDER BY table_name, column_index",
        "SELECT view_name || ': ' || sql FROM duckdb_views() WHERE NOT internal ORDER BY view_name",
        "SELECT index_name || ': ' || sql FROM duckdb_indexes() ORDER BY index_name",
        "SELECT sequence_name || ' ' || start_value FROM duckdb_sequences() ORDER BY sequence_name",
        "SELECT table_name || ' ' || constraint_type || ' ' || constraint_text FROM duckdb_constraints() ORDER BY ALL",
        "SELECT 'version ' || version FROM perfledger_schema ORDER BY version",
    ];
    let mut out = Vec::new();
    for q in queries {
        let mut st = conn.prepare(q).unwrap();
        let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn a_new_warehouse_has_the_schema_its_migrations_build_one_by_one() {
    let w = Workdir::new();
    let fresh = w.dir.path().join("fresh.duckdb");
    drop(perfledger::store::Warehouse::open_rw(&fresh).unwrap());
    // one version at a time, each committed on its own, as successive releases upgrade
    let stepped = w.dir.path().join("stepped.duckdb");
    for v in 1..=perfledger::store::migrate::latest_version() {
        drop(perfledger::store::Warehouse::open_at_version(&stepped, v).unwrap());
    }
    let (a, b) = (catalog_of(&fresh), catalog_of(&stepped));
    assert!(a.len() > 100, "{} catalog lines", a.len());
    assert!(
        a.iter().any(|l| l.starts_with("series_point: ")),
        "views listed"
    );
    assert_eq!(a, b);
}
