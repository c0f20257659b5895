//! The output layer: everything perfledger prints goes through here. Renderers turn analysis
//! results and store rows into text (aligned table, JSON, CSV, Markdown, JUnit XML); `emit`
//! writes it to stdout. Commands and reports use it; it never reads the warehouse.

pub mod ci;
pub mod exec;
pub mod gate;
pub mod import;
pub mod lake;
pub mod lists;
pub mod openmetrics;
pub mod remote_write;
pub mod resources;
pub mod show;
pub mod trend;

use crate::error::{Error, Result};
use crate::grid::Grid;

pub use crate::grid::fmt_float;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
    /// JUnit XML: only `check` and `compare` have this form.
    Junit,
    /// The forms of code review, `check` and `compare` only: a pull-request comment,
    /// GitLab's metrics report and its Code Quality report.
    Comment,
    GitlabMetrics,
    CodeQuality,
}

impl Format {
    /// Whether only the gate commands (`check`, `compare`) have this form.
    pub fn gate_only(self) -> bool {
        matches!(
            self,
            Format::Junit | Format::Comment | Format::GitlabMetrics | Format::CodeQuality
        )
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: no progress bars and no notes on stderr (errors are still written).
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// The progress of long work, on stderr only: hidden under `--quiet`, by indicatif itself
/// when stderr is not a terminal (CI logs get no bar), and until the work has taken half a
/// second (a quick command never flashes a bar).
pub struct Activity {
    bar: indicatif::ProgressBar,
    start: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
}

static ACTIVITY: std::sync::OnceLock<Activity> = std::sync::OnceLock::new();

fn activity() -> &'static Activity {
    ACTIVITY.get_or_init(|| {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
        {
            bar.set_style(style);
        }
        Activity {
            bar,
            start: std::time::Instant::now(),
            shown: std::sync::atomic::AtomicBool::new(false),
        }
    })
}

impl Activity {
    fn show_if_long(&self) {
        use std::sync::atomic::Ordering;
        if quiet() || self.shown.load(Ordering::Relaxed) || self.start.elapsed() < show_after() {
            return;
        }
        if !self.shown.swap(true, Ordering::Relaxed) {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.bar
                .enable_steady_tick(std::time::Duration::from_millis(200));
        }
    }
}

/// How long work runs before its bar appears: `PERFLEDGER_PROGRESS_AFTER` milliseconds,
/// default 500.
fn show_after() -> std::time::Duration {
    static AFTER: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *AFTER.get_or_init(|| {
        let ms = std::env::var("PERFLEDGER_PROGRESS_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        std::time::Duration::from_millis(ms)
    })
}

/// The sink the lower layers report progress to (`crate::progress`).
pub struct BarSink;

impl crate::progress::Sink for BarSink {
    fn stage(&self, msg: &str) {
        let a = activity();
        a.bar.set_message(msg.to_string());
        a.show_if_long();
    }

    fn bytes(&self, n: u64) {
        let a = activity();
        a.bar.inc(n);
        a.show_if_long();
    }
}

/// Makes the activity a bar over `total` bytes of input (an import).
pub fn progress_bytes(total: u64) {
    let a = activity();
    a.bar.set_length(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {wide_msg}",
    ) {
        a.bar.set_style(style);
    }
}

/// Where a bytes bar stands: the input read so far.
pub fn progress_at(pos: u64) {
    activity().bar.set_position(pos);
}

/// Runs `f` with the bar (if one is shown) off the screen, so text never mixes with it.
fn without_bar<T>(f: impl FnOnce() -> T) -> T {
    match ACTIVITY.get() {
        Some(a) => a.bar.suspend(f),
        None => f(),
    }
}

/// Clears the bar (if one was shown) before the command's result is printed.
pub fn progress_done() {
    if let Some(a) = ACTIVITY.get() {
        a.bar.finish_and_clear();
    }
}

/// Writes to stdout; a closed pipe (`perfledger runs | head`) is not an error.
pub fn emit(s: &str) -> Result<()> {
    use std::io::Write;
    let write = || {
        let mut out = std::io::stdout().lock();
        out.write_all(s.as_bytes()).and_then(|()| out.flush())
    };
    match without_bar(write) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Other(e.into())),
        _ => Ok(()),
    }
}

/// A grid in any format but JUnit (which the caller has refused already).
pub fn render_grid(g: &Grid, format: Format) -> String {
    match format {
        Format::Json | Format::Junit => pretty(&g.to_json()),
        f => {
            let cells: Vec<Vec<String>> = g
                .rows
                .iter()
                .map(|r| r.iter().map(crate::grid::Datum::text).collect())
                .collect();
            render_rows(&g.columns, &cells, f)
        }
    }
}

/// A serialisable value as pretty JSON with a final newline.
#[expect(
    clippy::expect_used,
    reason = "perfledger's output types have string keys and no failing Serialize"
)]
pub fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).expect("perfledger's output types serialise") + "\n"
}

/// Header and rows as CSV, Markdown or an aligned table (JSON callers serialise their own shape).
pub fn render_rows(header: &[String], rows: &[Vec<String>], format: Format) -> String {
    match format {
        Format::Csv => csv(header, rows),
        Format::Markdown => markdown(header, rows),
        _ => table(header, rows),
    }
}

#[expect(clippy::expect_used, reason = "writes into memory, which cannot fail")]
fn csv(header: &[String], rows: &[Vec<String>]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("in-memory write");
    for r in rows {
        w.write_record(r).expect("in-memory write");
    }
    String::from_utf8(w.into_inner().expect("in-memory flush")).expect("UTF-8 in, UTF-8 out")
}

/// A plain aligned text table; numbers right-aligned.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // one buffer for the whole table: a trend prints 100,000 rows
    let mut out =
        String::with_capacity((widths.iter().sum::<usize>() + 2 * widths.len()) * (rows.len() + 2));
    let line = |out: &mut String, cells: &[String]| {
        let start = out.len();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = w.saturating_sub(c.chars().count());
            let numeric = !c.is_empty() && c.parse::<f64>().is_ok();
            if numeric {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let end = out.trim_end().len().max(start);
        out.truncate(end);
        out.push('\n');
    };
    line(&mut out, header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for r in rows {
        line(&mut out, r);
    }
    out
}

pub fn markdown(header: &[String], rows: &[Vec<String>]) -> String {
    use std::fmt::Write;
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let join = |cells: &[String]| cells.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ");
    let mut out = format!("| {} |\n", join(header));
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", join(r));
    }
    out
}

pub fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `+12.3%`; empty when absent.
pub fn pct(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{:+.1}%", v * 100.0))
}

/// A number as people read it; empty when absent.
pub fn num(x: Option<f64>) -> String {
    x.map(fmt_float).unwrap_or_default()
}

/// Text written by `report` and `demo` to say where their files went.
pub fn wrote(what: &str, path: &std::path::Path) -> Result<()> {
    emit(&format!("{what} written to {}\n", path.display()))
}

/// Writes a message to stderr (errors, warnings): never mixed into stdout's result.
pub fn emit_err(s: &str) {
    use std::io::Write;
    // nothing sensible is left to do when stderr itself is closed
    let _ = without_bar(|| {
        let mut err = std::io::stderr().lock();
        err.write_all(s.as_bytes()).and_then(|()| err.flush())
    });
}

/// `error: ...` on stderr.
pub fn error(e: &Error) {
    emit_err(&format!("error: {e}\n"));
}

/// Writes a file the user asked for: beside its place first, then renamed into it, so a
/// reader (or a second export) never sees half of it.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map_or_else(
        || std::ffi::OsString::from("export"),
        std::ffi::OsStr::to_os_string,
    );
    let mut part = name.clone();
    part.push(".partial");
    let tmp = path.with_file_name(part);
    std::fs::write(&tmp, bytes).map_err(|e| Error::output(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

/// Copies a child's console to ours (stdout, or stderr when stdout carries a result) and to
/// `file`, as it comes; the file's bytes are what the child wrote.
pub fn tee(mut from: impl std::io::Read, file: &std::path::Path, to_stderr: bool) -> Result<()> {
    use std::io::Write;
    let mut out = std::fs::File::create(file).map_err(|e| Error::output(file, e))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::output(file, e)),
        };
        out.write_all(&buf[..n])
            .map_err(|e| Error::output(file, e))?;
        let shown = without_bar(|| {
            if to_stderr {
                let mut s = std::io::stderr().lock();
                s.write_all(&buf[..n]).and_then(|()| s.flush())
            } else {
                let mut s = std::io::stdout().lock();
                s.write_all(&buf[..n]).and_then(|()| s.flush())
            }
        });
        // a closed console does not stop the copy to the file
        let _ = shown;
    }
}
