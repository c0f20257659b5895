//! `perfledger completions bash|zsh|fish` and `perfledger man`: generated from the clap
//! definitions, so they never drift from the real options.

use clap::CommandFactory;

use crate::cli::{Cli, Shell};
use crate::error::{Error, Result};
use crate::output::emit;

pub fn completions(shell: Shell) -> Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    let sh = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(sh, &mut cmd, "perfledger", &mut buf);
    emit(&String::from_utf8_lossy(&buf))
}

pub fn man() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::Internal(format!("man page: {e}")))?;
    emit(&String::from_utf8_lossy(&buf))
}
