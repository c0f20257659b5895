//! Shared helpers for the end-to-end tests: a temporary warehouse and the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A port nothing listens on now, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("w.duckdb")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_perfledger"))
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env("PERFLEDGER_LOCK_TIMEOUT", "30")
            .output()
            .expect("run perfledger")
    }

    /// Runs and returns stdout, asserting the exit code.
    pub fn ok(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "perfledger {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&a, 0)).expect("JSON output")
    }

    pub fn scalar(&self, sql: &str) -> serde_json::Value {
        let v = self.json(&["sql", sql]);
        v[0].as_object()
            .and_then(|o| o.values().next().cloned())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Row counts of every table: the warehouse's observable state.
    pub fn state(&self) -> Vec<i64> {
        [
            "run",
            "run_label",
            "source_file",
            "target",
            "measurement",
            "histogram",
            "series_point",
            "error",
            "threshold",
            "pg_snapshot",
            "pg_statement",
            "annotation",
            "baseline",
        ]
        .iter()
        .map(|t| {
            self.scalar(&format!("SELECT count(*) FROM {t}"))
                .as_i64()
                .unwrap()
        })
        .collect()
    }
}

/// Python 3 with DuckDB and polars, the other engines that read what perfledger writes
/// (`scripts/lake-tools.sh` installs them, as `.ci/run` does).
pub fn python_engines() {
    let ok = Command::new("python3")
        .args(["-c", "import duckdb, polars"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with duckdb and polars is needed to read perfledger's files as other engines do: run scripts/lake-tools.sh (as .ci/run does)"
    );
}
