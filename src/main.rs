#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::expect_used,
    clippy::unwrap_used
)]

use std::process::ExitCode;

use clap::Parser;
use perfledger::error::{exit, Error};

fn main() -> ExitCode {
    let cli = match perfledger::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match perfledger::run(&cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Error::Other(e)) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            perfledger::output::error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
