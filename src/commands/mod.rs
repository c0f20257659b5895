//! One module per subcommand.

pub mod annotate;
pub mod baseline;
pub mod check;
pub mod compare;
pub mod demo;
pub mod import;
pub mod output;
pub mod report;
pub mod runs;
pub mod select;
pub mod show;
pub mod snapshot;
pub mod sql;
pub mod trend;
