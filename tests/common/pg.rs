//! A throwaway PostgreSQL on 127.0.0.1 for the live tests (fixtures/capture/pg_cluster.sh;
//! `.ci/run` makes sure the server binaries exist). PERFLEDGER_SKIP_LIVE_PG=1 skips them.

use std::path::PathBuf;
use std::process::Command;

pub struct Cluster {
    script: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    /// A cluster, or None (said on stderr) when PERFLEDGER_SKIP_LIVE_PG=1.
    pub fn unless_skipped() -> Option<Cluster> {
        if std::env::var("PERFLEDGER_SKIP_LIVE_PG").is_ok_and(|v| v == "1") {
            eprintln!("SKIPPED: PERFLEDGER_SKIP_LIVE_PG=1 (no live PostgreSQL test ran)");
            return None;
        }
        Some(Cluster::start())
    }

    pub fn start() -> Cluster {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/capture/pg_cluster.sh");
        let dir = tempfile::Builder::new()
            .prefix("perfledger-pg")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let port = free_port();
        let status = Command::new("bash")
            .arg(&script)
            .args([
                "start",
                dir.path().join("data").to_str().unwrap(),
                &port.to_string(),
            ])
            .status()
            .expect("run pg_cluster.sh");
        assert!(
            status.success(),
            "could not start PostgreSQL (is it installed? .ci/run installs it)"
        );
        Cluster { script, dir, port }
    }

    pub fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Cluster {
    /// A client of the cluster, after running `setup` (the extension, tables of a test).
    pub fn client(&self, setup: &str) -> postgres::Client {
        let mut c = postgres::Client::connect(&self.dsn(), postgres::NoTls).expect("connect");
        c.batch_execute(setup).expect("setup SQL");
        c
    }

    /// Restarts the server (settings that need it: logging_collector).
    pub fn restart(&self) {
        let status = Command::new("bash")
            .arg(&self.script)
            .args(["restart", self.dir.path().join("data").to_str().unwrap()])
            .status()
            .expect("run pg_cluster.sh restart");
        assert!(
            status.success(),
            "could not restart 127.0.0.1:{}",
            self.port
        );
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`) and starts it again:
    /// its cumulative statistics are gone.
    pub fn crash_restart(&self) {
        let status = Command::new("bash")
            .arg(&self.script)
            .args(["crash", self.dir.path().join("data").to_str().unwrap()])
            .status()
            .expect("run pg_cluster.sh crash");
        assert!(
            status.success(),
            "could not crash-restart 127.0.0.1:{}",
            self.port
        );
    }

    /// Turns the statement log on (jsonlog of every statement, the collector needs a restart)
    /// and restarts: the log file.
    pub fn log_statements(&self) -> PathBuf {
        let mut admin = self.client("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        // one statement each: ALTER SYSTEM refuses a transaction block
        for set in [
            "logging_collector = on",
            "log_destination = 'jsonlog'",
            "log_min_duration_statement = 0",
            "log_directory = 'log'",
            "log_filename = 'run'",
        ] {
            admin
                .batch_execute(&format!("ALTER SYSTEM SET {set}"))
                .unwrap();
        }
        drop(admin);
        self.restart();
        let log = self.data_dir().join("log/run.json");
        assert!(log.exists(), "the server writes {}", log.display());
        log
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// pgbench's (and psql's) connection arguments for this cluster.
    pub fn conn_args(&self) -> Vec<String> {
        [
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]
        .map(String::from)
        .to_vec()
    }

    /// A streaming standby of this cluster on the next port, started (pg_basebackup -R).
    pub fn standby(&self) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("perfledger-pg-standby")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let port = free_port();
        let status = Command::new("bash")
            .arg(&self.script)
            .args([
                "standby",
                dir.path().join("data").to_str().unwrap(),
                &port.to_string(),
                &self.port.to_string(),
            ])
            .status()
            .expect("run pg_cluster.sh standby");
        assert!(
            status.success(),
            "could not start a standby of 127.0.0.1:{}",
            self.port
        );
        Cluster {
            script: self.script.clone(),
            dir,
            port,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .args(["stop", self.dir.path().join("data").to_str().unwrap()])
            .status();
    }
}

/// A port nothing listens on now (a server of another test or of the machine may hold any
/// fixed one).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}

/// A PostgreSQL client program of the newest installed server (pgbench, psql).
pub fn bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql (.ci/run installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join(name).exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|d| d.join(name))
        .unwrap_or_else(|| panic!("{name} is not installed under /usr/lib/postgresql/*/bin"))
}
