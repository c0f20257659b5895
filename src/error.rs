//! Errors and the exit codes they map to. Every input error names the file, and the line or
//! byte offset where that applies, and says what was expected.

use std::path::{Path, PathBuf};

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// An unexpected internal failure.
    pub const INTERNAL: u8 = 1;
    /// The command line was wrong (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// An input file was unreadable, malformed, of an unknown format, or held no results.
    pub const BAD_INPUT: u8 = 3;
    /// The warehouse or the lake could not be opened or written (locked, newer schema or
    /// layout, read-only, full disk, lake unreachable or refused).
    pub const WAREHOUSE: u8 = 4;
    /// `check` / `compare`: a regression was found or a goal failed.
    pub const GATE_FAILED: u8 = 5;
    /// An output (a report folder or file, the demo folder) could not be written.
    pub const OUTPUT: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("{}: {msg}", location(path, *line, *offset))]
    Input {
        path: PathBuf,
        line: Option<usize>,
        offset: Option<u64>,
        msg: String,
    },

    #[error("{}: the run produced no results: {reason}", path.display())]
    NoResults { path: PathBuf, reason: String },

    #[error("{}: not a format perfledger recognises{}", path.display(), hint(tried))]
    Unrecognized { path: PathBuf, tried: Vec<String> },

    #[error("warehouse {}: {msg}", path.display())]
    Warehouse { path: PathBuf, msg: String },

    /// The shared lake (`--lake`) could not be reached, read or written.
    #[error("lake {url}: {msg}")]
    Lake { url: String, msg: String },

    /// The user's own SQL (`perfledger sql`) was refused or failed.
    #[error("{0}")]
    Query(String),

    /// A live source (a PostgreSQL server) could not be read.
    #[error("{what}: {msg}")]
    Source { what: String, msg: String },

    /// Some inputs of an import failed; the others were imported.
    #[error("{failed} of {total} inputs failed to import; the others were imported")]
    Partial { failed: usize, total: usize },

    /// A statement of perfledger's own failed on the warehouse: a defect, not bad input.
    #[error("warehouse statement failed: {0}")]
    Store(String),

    /// An output could not be written where the user asked.
    #[error("cannot write {}: {msg}", path.display())]
    Output { path: PathBuf, msg: String },

    /// A defect in perfledger (a template that does not render, ...).
    #[error("internal error: {0}")]
    Internal(String),

    /// `check` / `compare` found a regression or a failed goal (not an error of the tool).
    #[error("{0}")]
    Gate(String),

    /// `exec`: the load tool's own exit code, passed through (what it left was stored).
    #[error("{tool} exited with code {code}{note}")]
    ToolExit {
        tool: String,
        code: u8,
        note: String,
    },

    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn location(path: &Path, line: Option<usize>, offset: Option<u64>) -> String {
    match (line, offset) {
        (Some(l), _) => format!("{}:{l}", path.display()),
        (None, Some(o)) => format!("{} (byte {o})", path.display()),
        (None, None) => path.display().to_string(),
    }
}

fn hint(tried: &[String]) -> String {
    if tried.is_empty() {
        String::new()
    } else {
        format!("\n  {}", tried.join("\n  "))
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Input { .. }
            | Error::NoResults { .. }
            | Error::Unrecognized { .. }
            | Error::Query(_)
            | Error::Source { .. }
            | Error::Partial { .. } => exit::BAD_INPUT,
            Error::Warehouse { .. } | Error::Lake { .. } => exit::WAREHOUSE,
            Error::Gate(_) => exit::GATE_FAILED,
            Error::Output { .. } => exit::OUTPUT,
            Error::ToolExit { code, .. } => *code,
            Error::Store(_) | Error::Internal(_) | Error::Other(_) => exit::INTERNAL,
        }
    }

    pub fn input(path: &Path, line: Option<usize>, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            line,
            offset: None,
            msg: msg.into(),
        }
    }

    pub fn at_offset(path: &Path, offset: u64, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.to_path_buf(),
            line: None,
            offset: Some(offset),
            msg: msg.into(),
        }
    }

    /// The same error placed at another line of its file (input errors only).
    pub fn at_line(self, at: usize) -> Self {
        match self {
            Error::Input {
                path, offset, msg, ..
            } => Error::Input {
                path,
                line: Some(at),
                offset,
                msg,
            },
            e => e,
        }
    }

    /// An output path that could not be written, with the I/O error.
    pub fn output(path: &Path, e: impl std::fmt::Display) -> Self {
        Error::Output {
            path: path.to_path_buf(),
            msg: e.to_string(),
        }
    }

    pub fn no_results(path: &Path, reason: impl Into<String>) -> Self {
        Error::NoResults {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
