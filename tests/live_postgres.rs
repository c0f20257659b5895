//! Live pg_stat_statements: starts a throwaway PostgreSQL on 127.0.0.1 (fixtures/capture/
//! pg_cluster.sh; `.ci/run` makes sure the server binaries exist), runs a workload between two
//! `perfledger snapshot postgres` calls and checks the interval the warehouse derives.
//! Set PERFLEDGER_SKIP_LIVE_PG=1 to skip it on a machine without PostgreSQL.

#[expect(dead_code, reason = "this test uses a part of the shared helpers")]
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Workdir;

struct Cluster {
    script: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start() -> Cluster {
        let script = common::fixture("capture/pg_cluster.sh");
        let dir = tempfile::Builder::new()
            .prefix("perfledger-pg")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let port = 40000 + (std::process::id() % 20000) as u16;
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

    fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
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

#[test]
fn two_live_snapshots_give_the_workload_interval() {
    if std::env::var("PERFLEDGER_SKIP_LIVE_PG").is_ok_and(|v| v == "1") {
        eprintln!("skipped: PERFLEDGER_SKIP_LIVE_PG=1");
        return;
    }
    let pg = Cluster::start();
    let mut client = postgres::Client::connect(&pg.dsn(), postgres::NoTls).expect("connect");
    client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE live_t (x int); SELECT pg_stat_statements_reset();").unwrap();
    let w = Workdir::new();
    let first = snapshot(&w, &pg);
    assert_eq!(first["status"], "imported");
    for i in 0..50 {
        client
            .execute("INSERT INTO live_t (x) VALUES ($1)", &[&i])
            .unwrap();
    }
    for _ in 0..7 {
        client
            .query("SELECT count(*) FROM live_t WHERE x > $1", &[&10])
            .unwrap();
    }
    let second = snapshot(&w, &pg);
    assert_eq!(second["status"], "imported");
    let calls = |q: &str| calls_at(&w, 2, q);
    assert_eq!(calls("INSERT INTO live_t"), 50);
    assert_eq!(calls("SELECT count(*) FROM live_t"), 7);
    assert_eq!(
        w.scalar("SELECT reset FROM pg_snapshot_reset WHERE snapshot_id = 2"),
        false
    );
    // a reset between snapshots is seen through pg_stat_statements_info.stats_reset
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .unwrap();
    client
        .execute("INSERT INTO live_t (x) VALUES ($1)", &[&1])
        .unwrap();
    snapshot(&w, &pg);
    assert_eq!(
        w.scalar("SELECT reset FROM pg_snapshot_reset WHERE snapshot_id = 3"),
        true
    );
    assert_eq!(calls_at(&w, 3, "INSERT INTO live_t"), 1);
    assert_eq!(
        w.scalar("SELECT count(*) FROM pg_statement_delta WHERE calls < 0"),
        0
    );
}

fn snapshot(w: &Workdir, pg: &Cluster) -> serde_json::Value {
    w.json(&[
        "snapshot",
        "postgres",
        "--dsn",
        &pg.dsn(),
        "--server",
        "live",
    ])
}

fn calls_at(w: &Workdir, snap: i64, q: &str) -> serde_json::Value {
    w.scalar(&format!(
        "SELECT calls FROM pg_statement_delta WHERE snapshot_id = {snap} AND query LIKE '{q}%'"
    ))
}
