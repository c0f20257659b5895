//! Small parsers shared by the text-output importers: numbers with unit suffixes and
//! `Label:   value` lines.

use std::path::Path;

pub use crate::time::{epoch, mtime, parse_time, rfc3339, shift};

use crate::error::{Error, Result};

/// A duration such as `2.78ms`, `976.96us`, `1.00s`, `1.5m`, `2h` in milliseconds.
pub fn duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ')?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.trim().parse().ok()?;
    let factor = match unit {
        "us" | "µs" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(v * factor)
}

/// A count such as `1.48k`, `2.5M`, `345.12`.
pub fn count(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'G' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

/// A size such as `6.12MB`, `383.46KB`, `120B` in bytes (wrk uses powers of 1024).
pub fn bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let factor = match unit {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0f64.powi(4),
        _ => return None,
    };
    Some(v * factor)
}

/// The value after `label` on the first line that starts with it (after trimming).
pub fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(str::trim)
}

/// The first whitespace-separated token of a field, parsed as a number.
pub fn field_num(text: &str, label: &str) -> Option<f64> {
    field(text, label)?.split_whitespace().next()?.parse().ok()
}

/// Line number (1-based) of the first line containing `needle`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// A required field, or an error naming the file, the line where it was expected and the label.
pub fn require<T>(path: &Path, text: &str, value: Option<T>, what: &str) -> Result<T> {
    value.ok_or_else(|| {
        let lines = text.lines().count();
        Error::input(
            path,
            Some(lines.max(1)),
            format!("expected {what}, which is missing or malformed (the output may be truncated)"),
        )
    })
}

/// A text output must reach its last line: a file cut short would otherwise import as a run
/// with the wrong numbers (a pgbench summary cut inside "processed: 87058" reads 870).
pub fn require_end(path: &Path, text: &str, last: impl Fn(&str) -> bool, what: &str) -> Result<()> {
    if text.lines().any(last) {
        return Ok(());
    }
    Err(truncated(path, text, what))
}

/// "truncated: expected WHAT after line N", N the text's last line.
pub fn truncated(path: &Path, text: &str, what: &str) -> Error {
    let n = text.lines().count();
    Error::input(
        path,
        Some(n.max(1)),
        format!("truncated: expected {what} after line {n}"),
    )
}

/// "1.586 ms" (number, space, unit) in milliseconds.
pub fn duration_ms_spaced(s: &str) -> Option<f64> {
    let mut it = s.split_whitespace();
    let v = it.next()?;
    let unit = it.next().unwrap_or("ms");
    duration_ms(&format!("{v}{unit}"))
}

/// Line numbers (1-based) of byte offsets in a text, for offsets visited in increasing order
/// (CSV records): each call counts only the newlines since the previous one, so numbering a
/// file's records stays linear in its size.
pub struct Lines<'a> {
    text: &'a str,
    byte: usize,
    newlines: usize,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        Lines {
            text,
            byte: 0,
            newlines: 0,
        }
    }

    /// The line of `byte`; an offset on a line terminator (where the CSV reader places the
    /// start of the next record) belongs to the next line.
    pub fn at(&mut self, byte: u64) -> usize {
        let byte = (byte as usize).min(self.text.len());
        if byte < self.byte {
            (self.byte, self.newlines) = (0, 0);
        }
        self.newlines += memchr::memchr_iter(b'\n', &self.text.as_bytes()[self.byte..byte]).count();
        self.byte = byte;
        let rest = &self.text.as_bytes()[byte..];
        let on_terminator = rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
        self.newlines + 1 + usize::from(on_terminator)
    }

    /// The line of a CSV position.
    pub fn of(&mut self, pos: Option<&csv::Position>) -> Option<usize> {
        pos.map(|p| self.at(p.byte()))
    }

    /// A CSV record with its line, or an error naming the line where it broke.
    pub fn record(
        &mut self,
        path: &std::path::Path,
        rec: Result<csv::StringRecord, csv::Error>,
    ) -> Result<(csv::StringRecord, Option<usize>)> {
        match rec {
            Ok(r) => {
                let line = self.of(r.position());
                Ok((r, line))
            }
            Err(e) => Err(Error::input(
                path,
                self.of(e.position()),
                format!("malformed CSV row: {e}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(duration_ms("2.78ms"), Some(2.78));
        assert_eq!(duration_ms("976.96us"), Some(0.97696));
        assert_eq!(duration_ms("1.00s"), Some(1000.0));
        assert_eq!(duration_ms("1.5m"), Some(90_000.0));
        assert_eq!(duration_ms("12"), None);
        assert_eq!(count("1.48k"), Some(1480.0));
        assert_eq!(count("89.46"), Some(89.46));
        assert_eq!(bytes("1.00KB"), Some(1024.0));
        assert_eq!(bytes("2MB"), Some(2.0 * 1024.0 * 1024.0));
        assert_eq!(bytes("2XB"), None);
    }
}
