//! perfledger: a warehouse for performance-test results (Locust, k6, wrk, ab, pgbench,
//! pg_stat_statements, Artillery) in one DuckDB file, and a regression analyst on top of it.
//!
//! Layers look only down (see docs/architecture.md):
//! `commands` -> `report` -> `output` -> `analysis` -> `store` / `import` -> `stats`, `model`,
//! `metrics`, `grid`, `time`, `error`. `cli` holds clap types only.

// Non-test code prints only through `output` and panics only where it says why
// (`#[expect(clippy::expect_used, reason = ...)]`); see the [lints] table in Cargo.toml.
#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::expect_used,
    clippy::unwrap_used
)]

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod error;
pub mod grid;
pub mod import;
pub mod metrics;
pub mod model;
pub mod output;
pub mod progress;
pub mod report;
pub mod stats;
pub mod store;
pub mod time;

pub use commands::run;
