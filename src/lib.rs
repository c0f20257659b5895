//! perfledger: a warehouse for performance-test results (Locust, k6, wrk, ab, pgbench,
//! pg_stat_statements, Artillery) in one DuckDB file, and a regression analyst on top of it.

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod db;
pub mod error;
pub mod frame;
pub mod import;
pub mod model;
pub mod report;
pub mod stats;

use cli::{Cli, Command};
use error::Result;

/// Writes to stdout; a closed pipe (`perfledger runs | head`) is not an error.
pub fn emit(s: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(error::Error::Other(e.into())),
        _ => Ok(()),
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Import(a) => commands::import::run(&cli.db, a),
        Command::Runs(a) => commands::runs::run(&cli.db, a),
        Command::Show(a) => commands::show::run(&cli.db, a),
        Command::Sql(a) => commands::sql::run(&cli.db, a),
        Command::Snapshot(a) => commands::snapshot::run(&cli.db, &a.source),
        Command::Compare(a) => commands::compare::run(&cli.db, a),
        Command::Check(a) => commands::check::run(&cli.db, a),
        Command::Trend(a) => commands::trend::run(&cli.db, a),
        Command::Baseline(a) => commands::baseline::run(&cli.db, a),
        Command::Annotate(a) => commands::annotate::run(&cli.db, a),
        Command::Report(a) => {
            commands::report::run(&cli.db, a).map(|p| println!("report written to {}", p.display()))
        }
        Command::Demo(a) => commands::demo::run(a),
    }
}
