//! siege (<https://github.com/JoeDog/siege>, 4.x; the fixtures are SIEGE 4.0.7): the text
//! summary siege writes to stderr, and the `-j` JSON object it writes to stdout.
//!
//! Neither names the URL (a URL file may hold many), and the JSON states no version and no
//! load profile: the run has one target, TOTAL, and the time of the file (label
//! `time_source=file-mtime`). The text's banner gives the version (`** SIEGE 4.0.7`) and the
//! concurrent users (`** Preparing 4 concurrent users for battle.`) when siege printed it.
//!
//! How siege counts (`main.c`, `data.c`): a response of HTTP 5xx and a connection error are
//! *failed* transactions and are not in `Transactions` (hits); an HTTP 4xx is a hit but not a
//! successful transaction. So `requests` = hits + failed, and `failures` = failed + (hits -
//! successful). siege's figures are stored as it printed them: `Response time` (the mean),
//! `Longest` and `Shortest transaction` are seconds with two decimals (a 2 ms request prints as
//! `0.00`), stored in ms; `Data transferred` is MB of 1024 x 1024 bytes (`data_get_megabytes`),
//! stored in bytes (so within 5 KiB); `Transaction rate` (hits per elapsed second) is
//! `throughput_rps`; `Concurrency` (total transaction time / elapsed) is `siege_concurrency`.
//! `Availability` and `Throughput` (MB/sec) follow from these and are not stored. A run with no
//! hits has no latency (siege prints `0.00` for it).
//!
//! Errors: the `[error] ...` lines siege printed (text only; ANSI colours removed), one entry
//! per message with its count, then the failed transactions they do not account for (HTTP 5xx
//! among them) and the 4xx hits.
//!
//! Where the text ends: its last line is `Shortest transaction:`, ended by a newline (siege
//! then prints ` \n`). A file that stops before it is refused as truncated.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::text::{self, field};
use super::{read_json, read_text, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{ErrorCount, Parsed, ParsedRun, Target};

pub struct SiegeText;
pub struct SiegeJson;

const LAST: &str = "Shortest transaction:";

/// siege's summary figures, in its units (seconds, MB).
#[derive(Debug, Default)]
struct Summary {
    hits: f64,
    elapsed_s: f64,
    data_mb: f64,
    response_s: f64,
    rate: f64,
    concurrency: f64,
    successful: f64,
    failed: f64,
    longest_s: f64,
    shortest_s: f64,
}

/// Where a figure goes in [`Summary`].
type Slot = fn(&mut Summary) -> &mut f64;

/// The text's labels and the JSON's keys, in siege's order, with where each goes.
const FIELDS: [(&str, &str, Slot); 10] = [
    ("Transactions:", "transactions", |s| &mut s.hits),
    ("Elapsed time:", "elapsed_time", |s| &mut s.elapsed_s),
    ("Data transferred:", "data_transferred", |s| &mut s.data_mb),
    ("Response time:", "response_time", |s| &mut s.response_s),
    ("Transaction rate:", "transaction_rate", |s| &mut s.rate),
    ("Concurrency:", "concurrency", |s| &mut s.concurrency),
    ("Successful transactions:", "successful_transactions", |s| {
        &mut s.successful
    }),
    ("Failed transactions:", "failed_transactions", |s| {
        &mut s.failed
    }),
    ("Longest transaction:", "longest_transaction", |s| {
        &mut s.longest_s
    }),
    (LAST, "shortest_transaction", |s| &mut s.shortest_s),
];

impl Importer for SiegeText {
    fn name(&self) -> &'static str {
        "siege-text"
    }
    fn tool(&self) -> &'static str {
        "siege"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let siege_line = |l: &str| {
            l.starts_with("** SIEGE ")
                || (l.starts_with("Transactions:") && l.trim_end().ends_with(" hits"))
        };
        if p.head.lines().any(siege_line) {
            Ok(())
        } else {
            Err("no siege '** SIEGE' banner or 'Transactions: N hits' line".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let text = read_text(path)?;
        parse_text(path, &text).map(|r| Parsed::Runs(vec![r]))
    }
}

fn parse_text(path: &Path, text: &str) -> Result<ParsedRun> {
    // the last line must be whole: a cut inside "0.15" would read 0.1
    let last_whole = text
        .find(&format!("\n{LAST}"))
        .is_some_and(|at| text[at + 1..].contains('\n'));
    if !last_whole {
        return Err(text::truncated(
            path,
            text,
            "siege's summary down to its last line 'Shortest transaction:'",
        ));
    }
    let mut s = Summary::default();
    for (label, _, slot) in FIELDS {
        let v = field(text, label)
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0);
        *slot(&mut s) = text::require(path, text, v, &format!("a number after '{label}'"))?;
    }
    let mut run = build(path, "siege-text", &s)?;
    run.tool_version = field(text, "** SIEGE").map(str::to_string);
    run.load.users =
        field(text, "** Preparing").and_then(|v| v.split_whitespace().next()?.parse().ok());
    let logged = error_lines(text);
    push_errors(&mut run, &s, logged);
    Ok(run)
}

/// `[error] socket: unable to connect sock.c:282: Connection refused` lines (anywhere in a
/// line: siege's first one follows the banner's "...under siege..." unbroken), by message.
fn error_lines(text: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for l in text.lines() {
        let plain = strip_ansi(l);
        for part in plain.split("[error]").skip(1) {
            let msg = part.trim();
            if !msg.is_empty() {
                *out.entry(msg.to_string()).or_default() += 1;
            }
        }
    }
    out
}

/// The line without ANSI escape sequences (`ESC [ ... m`): siege colours `error` even with
/// `color = off`.
fn strip_ansi(l: &str) -> String {
    let mut out = String::with_capacity(l.len());
    let mut chars = l.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The run of a summary: TOTAL with siege's counting (see the module doc).
fn build(path: &Path, format: &'static str, s: &Summary) -> Result<ParsedRun> {
    if s.hits + s.failed == 0.0 {
        return Err(Error::no_results(
            path,
            "siege reports no transactions and no failed transactions",
        ));
    }
    let mut run = ParsedRun::new("siege", format);
    run.started_at = text::mtime(path);
    run.labels.insert("time_source".into(), "file-mtime".into());
    run.duration_s = Some(s.elapsed_s);
    let unsuccessful_hits = (s.hits - s.successful).max(0.0);
    let mut t = Target::total();
    t.set("requests", Some(s.hits + s.failed), "count")
        .set("failures", Some(s.failed + unsuccessful_hits), "count")
        .set("throughput_rps", Some(s.rate), "req/s")
        .set("bytes_received", Some(s.data_mb * 1024.0 * 1024.0), "bytes")
        .set("siege_concurrency", Some(s.concurrency), "users");
    if s.hits > 0.0 {
        t.set("latency_mean_ms", Some(s.response_s * 1000.0), "ms")
            .set("latency_min_ms", Some(s.shortest_s * 1000.0), "ms")
            .set("latency_max_ms", Some(s.longest_s * 1000.0), "ms");
    }
    run.targets.push(t);
    Ok(run)
}

/// The error table: the logged `[error]` messages, the failed transactions they leave
/// unexplained, and the unsuccessful (4xx) hits.
fn push_errors(run: &mut ParsedRun, s: &Summary, logged: BTreeMap<String, i64>) {
    let target = crate::model::TOTAL.to_string();
    let logged_n: i64 = logged.values().sum();
    for (message, count) in logged {
        run.errors.push(ErrorCount {
            target: target.clone(),
            kind: "error",
            message,
            count,
        });
    }
    let rest = s.failed as i64 - logged_n;
    if rest > 0 {
        run.errors.push(ErrorCount {
            target: target.clone(),
            kind: "siege",
            message: "failed transactions (HTTP 5xx or connection errors)".into(),
            count: rest,
        });
    }
    let unsuccessful = (s.hits - s.successful) as i64;
    if unsuccessful > 0 {
        run.errors.push(ErrorCount {
            target,
            kind: "status",
            message: "unsuccessful hits (HTTP 4xx)".into(),
            count: unsuccessful,
        });
    }
}

impl Importer for SiegeJson {
    fn name(&self) -> &'static str {
        "siege-json"
    }
    fn tool(&self) -> &'static str {
        "siege"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let h = p.head.trim_start();
        if h.starts_with('{')
            && h.contains("\"transaction_rate\"")
            && h.contains("\"successful_transactions\"")
        {
            Ok(())
        } else {
            Err("not siege's -j JSON (needs transaction_rate and successful_transactions)".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        let doc = read_json(path, "siege's -j JSON object")?;
        let mut s = Summary::default();
        for (_, key, slot) in FIELDS {
            *slot(&mut s) = doc
                .get(key)
                .and_then(Value::as_f64)
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| {
                    Error::input(path, None, format!("expected a number in \"{key}\""))
                })?;
        }
        let mut run = build(path, "siege-json", &s)?;
        push_errors(&mut run, &s, BTreeMap::new());
        Ok(Parsed::Runs(vec![run]))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_and_error_lines() {
        let l = "The server is now under siege...[\u{1b}[1;33merror\u{1b}[0m] socket: refused";
        assert_eq!(
            super::strip_ansi(l),
            "The server is now under siege...[error] socket: refused"
        );
        let errs = super::error_lines(&format!("{l}\n{l}\n"));
        assert_eq!(errs.get("socket: refused"), Some(&2));
    }
}
