//! The shared lake (`--lake`), end to end, against a folder lake and a real S3-protocol server
//! (s3s-fs, started here on 127.0.0.1; `scripts/lake-tools.sh` installs it): many writers at
//! once, SIGKILL and a server stopped mid-upload, other engines reading the files, bad lakes.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, python_engines};

const KEY: &str = "perfledger-test";
const SECRET: &str = "perfledger-test-secret";
const BUCKET: &str = "perf";

fn s3s_bin() -> PathBuf {
    let p = std::env::var_os("PERFLEDGER_S3S")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/perfledger-tools/bin/s3s-fs")
        });
    assert!(
        p.exists(),
        "{}: the S3 test server is not installed; run scripts/lake-tools.sh (as .ci/run does)",
        p.display()
    );
    p
}

/// A real S3-protocol server (s3s-fs) on 127.0.0.1, storing objects under `root`.
struct S3Server {
    child: Option<Child>,
    root: PathBuf,
    port: u16,
}

impl S3Server {
    fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = S3Server {
            child: None,
            root: root.to_path_buf(),
            port,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new(s3s_bin())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(&self.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A lake under test: a folder, or a prefix of the S3 server's bucket.
struct Lake {
    url: String,
    /// The S3 server's port (None for a folder lake).
    port: Option<u16>,
    /// Where the objects end up on disk (the folder, or the server's root).
    disk: PathBuf,
}

impl Lake {
    fn folder(dir: &Path) -> Lake {
        Lake {
            url: dir.join("lake").display().to_string(),
            port: None,
            disk: dir.join("lake"),
        }
    }

    fn s3(server: &S3Server) -> Lake {
        Lake {
            url: format!("s3://{BUCKET}/team-a"),
            port: Some(server.port),
            disk: server.root.clone(),
        }
    }

    /// A folder lake and an S3 lake (with its server, which must outlive the lake).
    fn both(dir: &Path) -> (Vec<Lake>, S3Server) {
        let server = S3Server::start(&dir.join("s3root"));
        (vec![Lake::folder(dir), Lake::s3(&server)], server)
    }

    /// Another lake beside this one (another folder, another prefix of the bucket).
    fn beside(&self, suffix: &str) -> Lake {
        Lake {
            url: format!("{}-{suffix}", self.url),
            port: self.port,
            disk: PathBuf::new(),
        }
    }

    fn kind(&self) -> &'static str {
        if self.port.is_some() {
            "s3"
        } else {
            "folder"
        }
    }

    /// A perfledger command against this lake with the index `db`.
    fn cmd(&self, db: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_perfledger"));
        c.arg("--db")
            .arg(db)
            .arg("--lake")
            .arg(&self.url)
            .args(args);
        c.env("PERFLEDGER_LOCK_TIMEOUT", "60");
        if let Some(port) = self.port {
            c.env("AWS_ACCESS_KEY_ID", KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
                .env("AWS_ALLOW_HTTP", "true")
                // generous: the machine is shared with the other lake tests' writers
                .env("PERFLEDGER_LAKE_TIMEOUT", "20");
        }
        c
    }

    fn run(&self, db: &Path, args: &[&str]) -> Output {
        self.cmd(db, args).output().unwrap()
    }

    fn ok(&self, db: &Path, args: &[&str]) -> String {
        let out = self.run(db, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{}] perfledger {args:?}\nstdout: {}\nstderr: {}",
            self.kind(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, db: &Path, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(db, &a)).unwrap()
    }

    /// The files of the lake as they are on disk (s3s-fs keeps one file per object, and
    /// metadata files beside them).
    fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![self.disk.clone()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".bucket-")
                {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }
}

/// `perfledger sql` on an index (no lake), as JSON rows.
fn sql(db: &Path, query: &str) -> serde_json::Value {
    json_of(
        Command::new(env!("CARGO_BIN_EXE_perfledger"))
            .arg("--db")
            .arg(db)
            .args(["sql", query, "--format", "json"]),
    )
}

/// Runs a command that must succeed and print JSON.
fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (runs, distinct run keys, targets, measurements, sum of measurement values) of an index.
fn counts(db: &Path) -> (i64, i64, i64, i64, f64) {
    let v = sql(
        db,
        "SELECT (SELECT count(*) FROM run) AS r, (SELECT count(DISTINCT content_key) FROM run) AS k,
                (SELECT count(*) FROM target) AS t, (SELECT count(*) FROM measurement) AS m,
                (SELECT coalesce(sum(value), 0) FROM measurement) AS v",
    );
    let i = |k: &str| v[0][k].as_i64().unwrap();
    (i("r"), i("k"), i("t"), i("m"), v[0]["v"].as_f64().unwrap())
}

/// Copies of the real wrk captures of the A/A experiment (fixtures/aa), each with its
/// Requests/sec figure changed in the last digits, so that every copy is a distinct run:
/// `per` files in each of `groups` folders.
fn wrk_variants(dir: &Path, groups: usize, per: usize) -> Vec<PathBuf> {
    let mut real: Vec<PathBuf> = std::fs::read_dir(fixture("aa"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("wrk_") && n.ends_with(".txt")
        })
        .collect();
    real.sort();
    assert!(real.len() >= 32, "fixtures/aa holds the wrk A/A captures");
    let mut folders = Vec::new();
    for g in 0..groups {
        let folder = dir.join(format!("writer{g:02}"));
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..per {
            let src = std::fs::read_to_string(&real[(g * per + i) % real.len()]).unwrap();
            let n = g * per + i;
            let text: String = src
                .lines()
                .map(|l| match l.strip_prefix("Requests/sec:") {
                    Some(v) => {
                        let rps: f64 = v.trim().parse().unwrap();
                        format!(
                            "Requests/sec: {:>10.2}",
                            rps.floor() + (n % 100) as f64 / 100.0 + (n / 100) as f64
                        )
                    }
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(folder.join(format!("run{i:02}.txt")), text + "\n").unwrap();
        }
        folders.push(folder);
    }
    folders
}

fn spawn_all(lake: &Lake, dir: &Path, folders: &[PathBuf], tag: &str) -> Vec<Child> {
    folders
        .iter()
        .enumerate()
        .map(|(i, f)| {
            lake.cmd(
                &dir.join(format!("{tag}{i:02}.duckdb")),
                &["import", "--quiet", f.to_str().unwrap()],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect()
}

fn wait_all(children: Vec<Child>, what: &str) {
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{what}: an import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn sixteen_writers_at_once_each_run_stored_once_and_a_second_wave_adds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let folders = wrk_variants(&tmp.path().join("in"), 16, 50);
    let (lakes, _server) = Lake::both(tmp.path());
    for lake in lakes {
        let dir = tmp.path().join(format!("dbs-{}", lake.kind()));
        std::fs::create_dir_all(&dir).unwrap();
        wait_all(spawn_all(&lake, &dir, &folders, "a"), "first wave");
        // what the writers' own indexes hold, together
        let mut expect = (0, 0, 0, 0.0);
        for i in 0..16 {
            let (r, _, t, m, v) = counts(&dir.join(format!("a{i:02}.duckdb")));
            expect = (expect.0 + r, expect.1 + t, expect.2 + m, expect.3 + v);
        }
        assert_eq!(expect.0, 800, "[{}]", lake.kind());
        let fresh = dir.join("fresh.duckdb");
        let s = lake.json(&fresh, &["sync"]);
        assert_eq!(s["runs"], 800, "[{}] {s}", lake.kind());
        assert_eq!(s["pending"], 0);
        let (r, k, t, m, v) = counts(&fresh);
        assert_eq!(
            (r, k, t, m),
            (800, 800, expect.1, expect.2),
            "[{}]",
            lake.kind()
        );
        assert!(
            (v - expect.3).abs() < 1e-6 * expect.3.abs(),
            "{v} vs {}",
            expect.3
        );
        // the same files again, from 16 other machines: the lake does not change
        let before = lake.files();
        let sizes: Vec<u64> = before.iter().map(|p| p.metadata().unwrap().len()).collect();
        wait_all(spawn_all(&lake, &dir, &folders, "b"), "second wave");
        let after = lake.files();
        assert_eq!(
            before,
            after,
            "[{}] the second wave wrote new files",
            lake.kind()
        );
        let sizes2: Vec<u64> = after.iter().map(|p| p.metadata().unwrap().len()).collect();
        assert_eq!(sizes, sizes2);
        let s = lake.json(&fresh, &["sync"]);
        assert_eq!(
            (s["runs"].as_i64(), s["files"].as_i64()),
            (Some(0), Some(0)),
            "{s}"
        );
        assert_eq!(counts(&fresh).0, 800);
    }
}

/// A k6 NDJSON file of 176 x `repeats` requests made of the real fixture's lines.
fn big_points(dir: &Path, repeats: usize) -> PathBuf {
    let src = std::fs::read_to_string(fixture("k6/shop_points.json")).unwrap();
    let path = dir.join("big_points.json");
    std::fs::write(&path, src.repeat(repeats)).unwrap();
    path
}

#[test]
fn sigkill_at_thirty_points_leaves_no_partial_run_and_the_retry_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let big = big_points(tmp.path(), 30);
    let big = big.to_str().unwrap();
    let (lakes, _server) = Lake::both(tmp.path());
    for lake in lakes {
        let dir = tmp.path().join(format!("k-{}", lake.kind()));
        std::fs::create_dir_all(&dir).unwrap();
        // the reference: the run imported without interruption into a lake of its own
        let reference_lake = lake.beside("reference");
        let started = Instant::now();
        reference_lake.ok(&dir.join("ref.duckdb"), &["import", big]);
        let import_ms = started.elapsed().as_millis() as u64;
        let reference = counts(&dir.join("ref.duckdb"));
        reference_lake.ok(&dir.join("ref2.duckdb"), &["sync"]);
        assert_eq!(counts(&dir.join("ref2.duckdb")), reference);
        let mut killed = 0;
        for i in 0..30u64 {
            let sub = lake.beside(&format!("kill{i:02}"));
            let writer = dir.join(format!("w{i}.duckdb"));
            let mut child = sub
                .cmd(&writer, &["import", big])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // points spread over the whole import, parsing and uploading alike
            std::thread::sleep(Duration::from_millis(
                20 + (i * 7919) % (import_ms * 4 / 5).max(100),
            ));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                killed += 1;
            }
            child.wait().unwrap();
            let check = dir.join(format!("c{i}.duckdb"));
            sub.ok(&check, &["sync", "--quiet"]);
            let c = counts(&check);
            assert!(
                c.0 == 0 || c == reference,
                "[{}] kill {i}: a partial run is visible: {c:?}",
                lake.kind()
            );
            // the retry (same machine, same index) completes the run
            sub.ok(&writer, &["import", big]);
            sub.ok(&check, &["sync", "--quiet"]);
            assert_eq!(
                counts(&check),
                reference,
                "[{}] after the retry of kill {i}",
                lake.kind()
            );
        }
        assert!(
            killed >= 10,
            "[{}] only {killed} of 30 imports were interrupted",
            lake.kind()
        );
    }
}

/// Per run key: (targets, measurements) of an index.
fn per_run(db: &Path) -> std::collections::BTreeMap<String, (i64, i64)> {
    let v = sql(
        db,
        "SELECT r.content_key AS k, (SELECT count(*) FROM target t WHERE t.run_id = r.id) AS t,
                (SELECT count(*) FROM measurement m WHERE m.run_id = r.id) AS m FROM run r",
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["k"].as_str().unwrap().to_string(),
                (r["t"].as_i64().unwrap(), r["m"].as_i64().unwrap()),
            )
        })
        .collect()
}

type PerRun = std::collections::BTreeMap<String, (i64, i64)>;

/// Two indexes hold the same runs with the same row counts; the message lists the differences.
fn same_runs(got: &PerRun, want: &PerRun, what: &str) {
    let diff: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: want {v:?}, got {:?}", got.get(k)))
        .chain(
            got.keys()
                .filter(|k| !want.contains_key(*k))
                .map(|k| format!("{k}: not expected")),
        )
        .collect();
    assert!(
        diff.is_empty(),
        "{what}: {} of {} runs differ: {:?}",
        diff.len(),
        want.len(),
        &diff[..diff.len().min(5)]
    );
}

#[test]
fn s3_server_stopped_mid_upload_is_a_clear_error_leaves_whole_runs_and_the_retry_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let folders = wrk_variants(&tmp.path().join("in"), 1, 50);
    let mut server = S3Server::start(&tmp.path().join("s3root"));
    let lake = Lake::s3(&server);
    let writer = tmp.path().join("writer.duckdb");
    let child = lake
        .cmd(
            &writer,
            &["import", "--quiet", folders[0].to_str().unwrap()],
        )
        // a stopped server is given up on after 3 s
        .env("PERFLEDGER_LAKE_TIMEOUT", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stop the server once some runs are in and the import is still writing
    let deadline = Instant::now() + Duration::from_secs(60);
    while lake.files().len() < 40 {
        assert!(Instant::now() < deadline, "the import wrote nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.stop();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("lake s3://perf/team-a"), "{err}");
    assert!(err.contains("could not be reached"), "{err}");
    server.spawn();
    // what a fresh index sees: exactly the runs the writer's index committed, each whole
    let fresh = tmp.path().join("fresh.duckdb");
    lake.ok(&fresh, &["sync"]);
    let seen = per_run(&fresh);
    assert!(!seen.is_empty() && seen.len() < 50, "{} runs", seen.len());
    same_runs(&seen, &per_run(&writer), "after the stop");
    // the retry completes the import
    lake.ok(
        &writer,
        &["import", "--quiet", folders[0].to_str().unwrap()],
    );
    lake.ok(&fresh, &["sync"]);
    let all = per_run(&fresh);
    assert_eq!(all.len(), 50);
    same_runs(&all, &per_run(&writer), "after the retry");
}

/// Counts of the lake as DuckDB's read_parquet and polars see it, deduplicated by run key
/// as the README shows.
fn engine_counts(lake: &Path) -> serde_json::Value {
    let script = r#"
import sys, json, duckdb, polars as pl
lake = sys.argv[1]
c = duckdb.connect()
def dk(table, cols):
    return c.execute(f"""SELECT count(*) FROM (SELECT DISTINCT run_key, {cols} FROM read_parquet('{lake}/v1/{table}/**/*.parquet', hive_partitioning = true))""").fetchone()[0]
runs = c.execute(f"SELECT count(DISTINCT run_key) FROM read_parquet('{lake}/v1/run/**/*.parquet', hive_partitioning = true)").fetchone()[0]
m = c.execute(f"""SELECT count(*) FROM (SELECT *, min(filename) OVER (PARTITION BY run_key) AS f0
                   FROM read_parquet('{lake}/v1/measurement/**/*.parquet', hive_partitioning = true, filename = true)) WHERE filename = f0""").fetchone()[0]
pm = (pl.scan_parquet(f"{lake}/v1/measurement/**/*.parquet", hive_partitioning=True, include_file_paths="file")
        .filter(pl.col("file") == pl.col("file").min().over("run_key")).select(pl.len()).collect().item())
pr = pl.scan_parquet(f"{lake}/v1/run/**/*.parquet", hive_partitioning=True).select(pl.col("run_key").n_unique()).collect().item()
pt = pl.scan_parquet(f"{lake}/v1/target/**/*.parquet", hive_partitioning=True).select(["run_key", "target"]).unique().select(pl.len()).collect().item()
print(json.dumps({"duckdb": [runs, dk("target", "target"), m], "polars": [pr, pt, pm]}))
"#;
    json_of(Command::new("python3").args(["-c", script]).arg(lake))
}

#[test]
fn duckdb_and_polars_read_the_lake_with_the_index_counts_before_and_after_compaction() {
    python_engines();
    let tmp = tempfile::tempdir().unwrap();
    let lake = Lake::folder(tmp.path());
    let db = tmp.path().join("w.duckdb");
    // a folder of mixed real outputs: every tool's fixtures
    for tool in ["k6", "wrk", "ab", "locust", "pgbench", "aa"] {
        let out = lake.run(&db, &["import", "--quiet", fixture(tool).to_str().unwrap()]);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (r, _, t, m, _) = counts(&db);
    assert!(r > 50, "{r} runs");
    let want = serde_json::json!([r, t, m]);
    let got = engine_counts(&lake.disk);
    assert_eq!(got["duckdb"], want, "{got}");
    assert_eq!(got["polars"], want, "{got}");
    let before = lake.files().len();
    let months: std::collections::BTreeSet<String> = lake
        .files()
        .iter()
        .filter_map(|p| {
            p.to_string_lossy()
                .split('/')
                .find_map(|s| s.strip_prefix("month=").map(str::to_string))
        })
        .collect();
    for month in &months {
        lake.ok(&db, &["lake", "compact", "--month", month]);
    }
    let after = lake.files().len();
    assert!(
        after * 5 < before,
        "{before} files before compaction, {after} after"
    );
    let got = engine_counts(&lake.disk);
    assert_eq!(got["duckdb"], want, "{got}");
    assert_eq!(got["polars"], want, "{got}");
    let fresh = tmp.path().join("fresh.duckdb");
    lake.ok(&fresh, &["sync"]);
    let (a, b) = (counts(&fresh), counts(&db));
    assert_eq!((a.0, a.1, a.2, a.3), (b.0, b.1, b.2, b.3));
    assert!((a.4 - b.4).abs() <= 1e-9 * b.4.abs(), "{a:?} {b:?}");
    // compacting again changes nothing
    for month in &months {
        let v = lake.json(&db, &["lake", "compact", "--month", month]);
        assert_eq!(v["files_written"], 0, "{v}");
    }
}

fn fails_with(out: &Output, code: i32, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

#[test]
fn bad_lakes_are_clear_errors_with_exit_4_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let k6 = fixture("k6/shop_summary_export.json");
    let k6 = k6.to_str().unwrap();
    let db = tmp.path().join("w.duckdb");
    // an S3 endpoint where nothing listens
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = Lake {
        url: "s3://perf/x".into(),
        port: Some(closed),
        disk: PathBuf::new(),
    };
    fails_with(
        &nowhere.run(&db, &["import", k6]),
        4,
        &["lake s3://perf/x", "could not be reached"],
    );
    assert_eq!(counts(&db).0, 0, "the index took a run the lake did not");
    fails_with(
        &nowhere.run(&db, &["sync"]),
        4,
        &["lake s3://perf/x", "could not be reached"],
    );
    // missing and wrong credentials
    let server = S3Server::start(&tmp.path().join("s3root"));
    let s3 = Lake::s3(&server);
    let out = s3
        .cmd(&db, &["import", k6])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    fails_with(
        &out,
        4,
        &[
            "lake s3://perf/team-a",
            "missing credentials",
            "AWS_ACCESS_KEY_ID",
        ],
    );
    let out = s3
        .cmd(&db, &["import", k6])
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .output()
        .unwrap();
    fails_with(
        &out,
        4,
        &["lake s3://perf/team-a", "credentials were refused"],
    );
    let out = s3
        .cmd(&db, &["sync"])
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .output()
        .unwrap();
    fails_with(&out, 4, &["credentials were refused"]);
    assert!(s3.files().is_empty(), "{:?}", s3.files());
    assert_eq!(counts(&db).0, 0);
    // a bucket that does not exist
    let nobucket = Lake {
        url: "s3://nosuchbucket/p".into(),
        port: s3.port,
        disk: PathBuf::new(),
    };
    fails_with(
        &nobucket.run(&tmp.path().join("n.duckdb"), &["sync"]),
        4,
        &["lake s3://nosuchbucket/p"],
    );
    // a folder lake that cannot be created
    std::fs::write(tmp.path().join("plain-file"), "x").unwrap();
    let blocked = Lake {
        url: tmp.path().join("plain-file/lake").display().to_string(),
        port: None,
        disk: PathBuf::new(),
    };
    fails_with(
        &blocked.run(&db, &["import", k6]),
        4,
        &["cannot create the lake folder"],
    );
    // a foreign file inside the lake
    let lake = Lake::folder(tmp.path());
    let db2 = tmp.path().join("w2.duckdb");
    lake.ok(&db2, &["import", k6]);
    let stray = lake.disk.join("v1/measurement/notes.txt");
    std::fs::write(&stray, "not ours").unwrap();
    let fresh = tmp.path().join("fresh.duckdb");
    fails_with(
        &lake.run(&fresh, &["sync"]),
        4,
        &["v1/measurement/notes.txt", "not part of a perfledger lake"],
    );
    assert!(!fresh.exists() || counts(&fresh).0 == 0);
    std::fs::remove_file(&stray).unwrap();
    lake.ok(&fresh, &["sync"]);
    assert_eq!(counts(&fresh).0, 1);
    // a lake of a newer layout: refused for reading and writing, nothing written
    std::fs::write(lake.disk.join("perfledger-lake.json"), r#"{"layout": 2}"#).unwrap();
    let files = lake.files();
    let k6b = fixture("k6/shop_handle_summary.json");
    fails_with(
        &lake.run(&db2, &["import", k6b.to_str().unwrap()]),
        4,
        &["newer perfledger", "upgrade"],
    );
    fails_with(&lake.run(&fresh, &["sync"]), 4, &["newer perfledger"]);
    assert_eq!(lake.files(), files);
    assert_eq!(counts(&db2).0, 1);
    std::fs::write(lake.disk.join("perfledger-lake.json"), r#"{"layout": 1}"#).unwrap();
    std::fs::create_dir_all(lake.disk.join("v2/run")).unwrap();
    std::fs::write(lake.disk.join("v2/run/x.parquet"), "").unwrap();
    fails_with(&lake.run(&fresh, &["sync"]), 4, &["newer perfledger"]);
    // an index follows one lake
    let other = lake.beside("other");
    fails_with(
        &other.run(&fresh, &["sync"]),
        4,
        &["follows the lake", "another --db"],
    );
}

#[test]
fn baselines_and_annotations_are_shared_last_writer_wins_with_tombstones() {
    let tmp = tempfile::tempdir().unwrap();
    let (lakes, _server) = Lake::both(tmp.path());
    for lake in lakes {
        let a = tmp.path().join(format!("a-{}.duckdb", lake.kind()));
        let b = tmp.path().join(format!("b-{}.duckdb", lake.kind()));
        lake.ok(&a, &["import", "--quiet", fixture("aa").to_str().unwrap()]);
        lake.ok(&a, &["baseline", "set", "main", "last:2", "--tool", "k6"]);
        lake.ok(&b, &["baseline", "set", "main", "last:5", "--tool", "k6"]);
        let list = |db: &Path| lake.json(db, &["baseline", "list"]);
        for db in [&a, &b] {
            let v = list(db);
            assert_eq!(v[0]["name"], "main", "{v}");
            assert_eq!(v[0]["runs"], 5, "the later write wins everywhere: {v}");
        }
        lake.ok(&a, &["baseline", "delete", "main"]);
        assert_eq!(list(&b), serde_json::json!([]));
        lake.ok(&b, &["baseline", "set", "main", "last:3", "--tool", "wrk"]);
        assert_eq!(list(&a)[0]["runs"], 3);
        lake.ok(
            &a,
            &[
                "annotate",
                "--at",
                "2026-11-20",
                "--kind",
                "deploy",
                "v2 rollout",
            ],
        );
        let v = lake.json(&b, &["sql", "SELECT kind, text FROM annotation"]);
        assert_eq!(
            v,
            serde_json::json!([{"kind": "deploy", "text": "v2 rollout"}])
        );
        // a fresh index from the lake alone has the same state
        let c = tmp.path().join(format!("c-{}.duckdb", lake.kind()));
        lake.ok(&c, &["lake", "rebuild"]);
        assert_eq!(list(&c), list(&a));
        assert_eq!(counts(&c).0, counts(&a).0);
    }
}

#[test]
fn compaction_while_others_write_and_read_loses_and_doubles_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let folders = wrk_variants(&tmp.path().join("in"), 4, 50);
    let (lakes, _server) = Lake::both(tmp.path());
    for lake in lakes {
        let dir = tmp.path().join(format!("c-{}", lake.kind()));
        std::fs::create_dir_all(&dir).unwrap();
        let writers = spawn_all(&lake, &dir, &folders, "w");
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let reader = dir.join("reader.duckdb");
        let mut rounds = 0;
        loop {
            lake.ok(
                &dir.join("compactor.duckdb"),
                &["lake", "compact", "--month", &month],
            );
            lake.ok(&reader, &["sync", "--quiet"]);
            let (r, k, ..) = counts(&reader);
            assert_eq!(r, k, "[{}] a run indexed twice", lake.kind());
            rounds += 1;
            if r == 200 || rounds > 200 {
                break;
            }
        }
        wait_all(writers, "writers");
        lake.ok(
            &dir.join("compactor.duckdb"),
            &["lake", "compact", "--month", &month],
        );
        lake.ok(&reader, &["sync", "--quiet"]);
        let fresh = dir.join("fresh.duckdb");
        lake.ok(&fresh, &["sync", "--quiet"]);
        let mut expect = std::collections::BTreeMap::new();
        for i in 0..4 {
            expect.extend(per_run(&dir.join(format!("w{i:02}.duckdb"))));
        }
        assert_eq!(expect.len(), 200);
        same_runs(
            &per_run(&fresh),
            &expect,
            &format!("[{}] fresh index", lake.kind()),
        );
        same_runs(
            &per_run(&reader),
            &expect,
            &format!("[{}] the reader", lake.kind()),
        );
        assert!(
            rounds > 1,
            "the compactor never ran while the writers wrote"
        );
        // nothing left for vacuum but what compaction already removed
        let v = lake.json(&fresh, &["lake", "vacuum", "--older-than", "0s"]);
        assert_eq!(v["orphans"], serde_json::json!([]), "{v}");
    }
}

/// A hand-made Locust set (the real header and stats.csv; values drawn at random so the
/// points' Parquet file does not compress below S3's 5 MiB part): `lines` lines of one
/// endpoint and Aggregated.
fn handmade_random_locust(dir: &Path, lines: usize) -> (PathBuf, PathBuf) {
    let real =
        std::fs::read_to_string(fixture("reco/locust_saturation_stats_history.csv")).unwrap();
    let header = real.lines().next().unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64 * 100.0
    };
    let mut text = format!("{header}\n");
    for i in 0..lines {
        let (kind, name) = if i % 2 == 0 {
            ("GET", "/api/report")
        } else {
            ("", "Aggregated")
        };
        let mut row = vec![
            format!("{}", 1_796_165_383 + i / 2),
            "10".into(),
            kind.into(),
            name.into(),
        ];
        row.extend((0..20).map(|_| format!("{}", next())));
        text.push_str(&row.join(","));
        text.push('\n');
    }
    let history = dir.join("handmade_random_stats_history.csv");
    std::fs::write(&history, text).unwrap();
    let stats = dir.join("handmade_random_stats.csv");
    std::fs::copy(fixture("reco/locust_saturation_stats.csv"), &stats).unwrap();
    (stats, history)
}

#[test]
fn a_file_above_the_part_size_goes_up_in_parts_and_arrives_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (stats, history) = handmade_random_locust(tmp.path(), 80_000);
    let (lakes, _server) = Lake::both(tmp.path());
    let mut points = Vec::new();
    for lake in &lakes {
        let db = tmp.path().join(format!("{}.duckdb", lake.kind()));
        let out = lake
            .cmd(
                &db,
                &["import", stats.to_str().unwrap(), history.to_str().unwrap()],
            )
            .env("PERFLEDGER_LAKE_PART_BYTES", (5u64 << 20).to_string())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "[{}] {err}", lake.kind());
        let file = lake
            .files()
            .into_iter()
            .find(|f| f.to_string_lossy().contains("/series_point/"))
            .expect("the points' file");
        let bytes = std::fs::read(&file).unwrap();
        // above one part: the S3 lake uploaded it as a multipart upload of two parts
        assert!(bytes.len() > 5 << 20, "{} bytes", bytes.len());
        points.push(bytes);
        // the file holds the index's points in the order they were stored (written from a
        // scan of each point table, not from the joined view sorted by rowid)
        let order = |q: String| {
            sql(
                &db,
                &format!("SELECT sum(hash(n, target, ts, metric, value))::VARCHAR AS h FROM ({q})"),
            )[0]["h"]
                .clone()
        };
        let in_file = order(format!(
            "SELECT row_number() OVER () AS n, * FROM read_parquet('{}')",
            file.display()
        ));
        let in_index =
            order("SELECT row_number() OVER (ORDER BY rowid) AS n, * FROM series_point".into());
        assert_eq!(in_file, in_index, "[{}] the file's order", lake.kind());
        // a fresh index synced from the lake has every point
        let fresh = tmp.path().join(format!("{}-fresh.duckdb", lake.kind()));
        lake.ok(&fresh, &["sync"]);
        let n = |db: &Path| {
            sql(db, "SELECT count(*) AS n FROM series_point")[0]["n"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(n(&fresh), n(&db), "[{}]", lake.kind());
        assert_eq!(n(&db), 80_000 * 10 + 40_000, "[{}]", lake.kind());
    }
    // the parts make the same bytes the folder lake wrote in one piece
    assert!(
        points[0] == points[1],
        "the S3 object differs from the folder lake's file"
    );
}

/// Per table of the lake: its row count in the index `db` and a sum of row hashes with each
/// row's unit key in place of local ids (which differ between two indexes of one lake).
fn fingerprint(db: &Path, tables: &[String]) -> std::collections::BTreeMap<String, String> {
    let local = [
        "id",
        "run_id",
        "snapshot_id",
        "capture_id",
        "imported_at",
        "content_key",
        "rowid",
    ];
    tables
        .iter()
        .map(|t| {
            let cols: Vec<String> = sql(
                db,
                &format!(
                    "SELECT column_name AS c FROM duckdb_columns() WHERE table_name = '{t}' ORDER BY column_index"
                ),
            )
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["c"].as_str().unwrap().to_string())
            .collect();
            let has = |c: &str| cols.iter().any(|x| x == c);
            let (key, join) = if ["run", "pg_snapshot", "resource_capture"].contains(&t.as_str()) {
                ("t.content_key", String::new())
            } else if has("snapshot_id") {
                ("o.content_key", "JOIN pg_snapshot o ON o.id = t.snapshot_id".into())
            } else if has("capture_id") {
                ("o.content_key", "JOIN resource_capture o ON o.id = t.capture_id".into())
            } else {
                ("o.content_key", "JOIN run o ON o.id = t.run_id".to_string())
            };
            let data: Vec<String> = cols
                .iter()
                .filter(|c| !local.contains(&c.as_str()))
                .map(|c| format!("t.\"{c}\""))
                .collect();
            let v = sql(
                db,
                &format!(
                    "SELECT count(*) AS n, coalesce(sum(hash({key}, {}) % 1000000007), 0)::BIGINT AS h FROM {t} t {join}",
                    data.join(", ")
                ),
            );
            (t.clone(), format!("{} rows, hash {}", v[0]["n"], v[0]["h"]))
        })
        .collect()
}

#[test]
fn a_lake_of_small_files_syncs_into_a_fresh_index_with_every_row_of_every_table() {
    let tmp = tempfile::tempdir().unwrap();
    let (lakes, _server) = Lake::both(&tmp.path().join("lakes"));
    for lake in &lakes {
        let dir = tmp.path().join(lake.kind());
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("w.duckdb");
        // a folder of mixed real outputs: runs with every part table, and pg snapshots
        for tool in ["k6", "wrk", "locust", "artillery", "jmeter", "pgss", "hey"] {
            let out = lake.run(&db, &["import", "--quiet", fixture(tool).to_str().unwrap()]);
            assert!(
                matches!(out.status.code(), Some(0 | 3)),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let tables: Vec<String> = lake
            .files()
            .iter()
            .filter_map(|p| {
                let p = p.to_string_lossy();
                let t = p.split("/v1/").nth(1)?.split('/').next()?.to_string();
                (t != "event" && !t.contains('.')).then_some(t)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for t in [
            "run",
            "measurement",
            "histogram",
            "series_point",
            "pg_statement",
            "threshold",
        ] {
            assert!(
                tables.iter().any(|x| x == t),
                "[{}] no {t} in {tables:?}",
                lake.kind()
            );
        }
        let want = fingerprint(&db, &tables);
        let fresh = dir.join("fresh.duckdb");
        let v = lake.json(&fresh, &["sync"]);
        let runs = sql(&db, "SELECT count(*) AS n FROM run")[0]["n"]
            .as_i64()
            .unwrap();
        assert!(runs > 30, "{runs} runs");
        assert_eq!(v["runs"].as_i64(), Some(runs), "{v}");
        assert_eq!(fingerprint(&fresh, &tables), want, "[{}]", lake.kind());
    }
}
