//! Times, in one place. Inside perfledger a time is a `NaiveDateTime` in UTC (or, where
//! millions of them travel, `i64` microseconds since the Unix epoch); text appears only at
//! the edges: parsing what a user or a tool wrote, and formatting what a person reads.

use chrono::{DateTime, NaiveDateTime};

/// How a person reads a time: `2026-11-27 06:38:00`.
pub const DISPLAY: &str = "%Y-%m-%d %H:%M:%S";

/// Seconds since the Unix epoch (fractional allowed) as a UTC timestamp.
pub fn epoch(secs: f64) -> Option<NaiveDateTime> {
    if !secs.is_finite() {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().min(999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos).map(|d| d.naive_utc())
}

/// Microseconds since the Unix epoch as a UTC timestamp.
pub fn from_micros(us: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
}

/// A UTC timestamp as microseconds since the Unix epoch.
pub fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// A UTC timestamp as (fractional) seconds since the Unix epoch, for chart axes.
pub fn epoch_secs(t: NaiveDateTime) -> f64 {
    micros(t) as f64 / 1e6
}

/// `t` moved by `secs` seconds; None beyond the calendar or for NaN.
pub fn shift(t: NaiveDateTime, secs: f64) -> Option<NaiveDateTime> {
    if !secs.is_finite() || secs.abs() > 1e11 {
        return None;
    }
    t.checked_add_signed(chrono::Duration::microseconds((secs * 1e6).round() as i64))
}

/// An RFC 3339 timestamp (k6, Locust) as UTC.
pub fn rfc3339(s: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.naive_utc())
}

/// The file's modification time, for outputs that carry no time of their own.
pub fn mtime(path: &std::path::Path) -> Option<NaiveDateTime> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(DateTime::<chrono::Utc>::from(t).naive_utc())
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]`, `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DD` or Unix seconds.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    rfc3339(s)
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .or_else(|| s.parse::<f64>().ok().filter(|v| *v > 1e8).and_then(epoch))
}

/// `2026-11-27 06:38:00`.
pub fn display(t: NaiveDateTime) -> String {
    t.format(DISPLAY).to_string()
}

/// An optional time for display; empty when absent.
pub fn display_opt(t: Option<NaiveDateTime>) -> String {
    t.map(display).unwrap_or_default()
}

/// `2026-11-27 06:38:00.123456`: full precision, as the trend and JSON outputs show it.
pub fn display_micros(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form_to_the_same_instant() {
        let want = parse_time("2026-11-27T14:00:00Z").unwrap();
        for s in [
            "2026-11-27 14:00:00",
            "2026-11-27T14:00:00",
            "2026-11-27 14:00:00.000000",
            "1795788000",
        ] {
            assert_eq!(parse_time(s), Some(want), "{s}");
        }
        assert_eq!(display(want), "2026-11-27 14:00:00");
        assert_eq!(from_micros(micros(want)), Some(want));
        assert!(parse_time("soon").is_none());
    }
}

/// Serde: a time as `2026-11-27 06:38:00.123456` (the JSON outputs' spelling).
pub mod as_micros_text {
    use chrono::NaiveDateTime;

    pub fn serialize<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::display_micros(*t))
    }
}

/// Serde: an optional time as `2026-11-27 06:38:00` or null.
pub mod as_display_opt {
    use chrono::NaiveDateTime;

    pub fn serialize<S: serde::Serializer>(
        t: &Option<NaiveDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::display(*t)),
            None => s.serialize_none(),
        }
    }
}
