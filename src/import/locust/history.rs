//! Locust `stats_history.csv`, streamed: a first pass for the run's span and users, and the
//! points read again (in a thread, batch by batch, while the store appends the previous
//! batch) when the run is stored. Nothing of the file is held beyond one batch.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use chrono::NaiveDateTime;

use super::{is_total, target_name, Columns, PERCENTILE_COLS};
use crate::error::{Error, Result};
use crate::model::{SeriesBatch, TOTAL};
use crate::time;

/// Points per batch handed to the store: about 1.6 MB of columns.
const BATCH: usize = 1 << 16;

/// What the first pass finds.
pub struct Scan {
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    pub max_users: Option<f64>,
}

/// Size and modification time: the file the feed reads must be the one that was scanned
/// (and digested).
#[derive(Clone, PartialEq, Eq)]
pub struct Stamp(u64, Option<std::time::SystemTime>);

impl Stamp {
    pub fn of(path: &Path) -> Result<Self> {
        let m = std::fs::metadata(path)
            .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
        Ok(Stamp(m.len(), m.modified().ok()))
    }
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

/// The first pass. Locust writes `Timestamp,User Count` first on every line, so each line is
/// read up to its second comma; a file of another shape goes through the CSV reader.
pub fn scan(path: &Path) -> Result<Scan> {
    let mut r = open(path)?;
    let mut header = String::new();
    r.read_line(&mut header)
        .map_err(|e| Error::input(path, Some(1), format!("cannot read: {e}")))?;
    let h = header.trim_start_matches('\u{feff}');
    if h.starts_with("Timestamp,User Count,") {
        if let Some(s) = scan_leading(path, r)? {
            return Ok(s);
        }
    }
    scan_csv(path)
}

/// Every line's first two fields; None when a line does not start with two numbers (a quoted
/// name spanning lines, another layout): the CSV reader then reads the file.
fn scan_leading(path: &Path, mut r: impl BufRead) -> Result<Option<Scan>> {
    let mut s = Scan {
        first: None,
        last: None,
        max_users: None,
    };
    let mut line = Vec::new();
    let mut no = 1usize;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::input(path, Some(no + 1), format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(Some(s));
        }
        no += 1;
        let l = line.trim_ascii();
        if l.is_empty() {
            continue;
        }
        let mut f = l.splitn(3, |b| *b == b',');
        let (Some(ts), Some(users)) = (f.next(), f.next()) else {
            return Ok(None);
        };
        let Some(secs) = number(ts) else {
            return Ok(None);
        };
        let ts = time::epoch(secs)
            .ok_or_else(|| Error::input(path, Some(no), "timestamp out of range"))?;
        observe(&mut s, ts, number(users));
    }
}

fn observe(s: &mut Scan, ts: NaiveDateTime, users: Option<f64>) {
    s.first = s.first.or(Some(ts));
    s.last = Some(ts);
    if let Some(u) = users {
        s.max_users = Some(s.max_users.map_or(u, |m| m.max(u)));
    }
}

fn number(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn scan_csv(path: &Path) -> Result<Scan> {
    let (mut rdr, cols) = reader(path)?;
    let mut s = Scan {
        first: None,
        last: None,
        max_users: None,
    };
    let mut rec = csv::ByteRecord::new();
    while read(path, &mut rdr, &mut rec)? {
        let line = line_of(&rec);
        let ts = row_time(path, line, &cols, &rec)?;
        observe(&mut s, ts, cols.byte_num(&rec, "users"));
    }
    Ok(s)
}

/// A row's `Timestamp` (Unix seconds).
fn row_time(
    path: &Path,
    line: usize,
    cols: &Columns,
    rec: &csv::ByteRecord,
) -> Result<NaiveDateTime> {
    let secs = cols
        .byte_num(rec, "timestamp")
        .ok_or_else(|| Error::input(path, Some(line), "expected a Unix timestamp in Timestamp"))?;
    time::epoch(secs).ok_or_else(|| Error::input(path, Some(line), "timestamp out of range"))
}

type Reader = csv::Reader<BufReader<std::fs::File>>;

fn reader(path: &Path) -> Result<(Reader, Columns)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(open(path)?);
    let headers = rdr
        .headers()
        .map_err(|e| Error::input(path, Some(1), format!("bad CSV header: {e}")))?
        .clone();
    Ok((rdr, Columns::new(&headers)))
}

fn read(path: &Path, rdr: &mut Reader, rec: &mut csv::ByteRecord) -> Result<bool> {
    rdr.read_byte_record(rec).map_err(|e| {
        let line = e.position().map(|p| p.line() as usize);
        Error::input(path, line, format!("malformed CSV row: {e}"))
    })
}

fn line_of(rec: &csv::ByteRecord) -> usize {
    rec.position().map_or(0, |p| p.line() as usize)
}

/// The metrics of each row: (canonical column, metric).
const ROW_METRICS: [(&str, &str); 5] = [
    ("rps", "throughput_rps"),
    ("fps", "failures_per_s"),
    ("total_requests", "requests"),
    ("total_failures", "failures"),
    ("total_mean", "latency_mean_ms"),
];

/// The second pass: every point, in batches, to `sink`. The parsing runs in its own thread so
/// that it overlaps with the store appending the batch before.
pub fn feed(
    path: &Path,
    stamp: &Stamp,
    sink: &mut dyn FnMut(SeriesBatch) -> Result<()>,
) -> Result<()> {
    if Stamp::of(path)? != *stamp {
        return Err(Error::input(
            path,
            None,
            "the file changed while it was being imported: import it again",
        ));
    }
    let (tx, rx) = sync_channel::<Result<SeriesBatch>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            if let Err(e) = parse(path, &mut |b| {
                tx.send(Ok(b))
                    .map_err(|_| Error::Internal("the store stopped reading the series".into()))
            }) {
                // the receiver may be gone already (the store failed first)
                let _ = tx.send(Err(e));
            }
        });
        for b in rx {
            sink(b?)?;
        }
        Ok(())
    })
}

/// Target ids by the raw `Type` and `Name` cells. Locust writes the endpoints in the same order
/// every second, so the one after the last is tried first: no hashing, no allocation per row.
#[derive(Default)]
struct TargetIds {
    known: Vec<(Vec<u8>, Vec<u8>)>,
    by_name: HashMap<(Vec<u8>, Vec<u8>), u32>,
    last: usize,
}

impl TargetIds {
    fn get(&mut self, kind: &[u8], name: &[u8]) -> Option<u32> {
        let next = (self.last + 1) % self.known.len().max(1);
        let hit = self
            .known
            .get(next)
            .filter(|(k, n)| k == kind && n == name)
            .map(|_| next as u32)
            .or_else(|| self.by_name.get(&(kind.to_vec(), name.to_vec())).copied())?;
        self.last = hit as usize;
        Some(hit)
    }

    fn add(&mut self, kind: &[u8], name: &[u8]) -> u32 {
        let id = self.known.len() as u32;
        self.known.push((kind.to_vec(), name.to_vec()));
        self.by_name.insert((kind.to_vec(), name.to_vec()), id);
        self.last = id as usize;
        id
    }
}

/// Reads every row into batches of points.
fn parse(path: &Path, out: &mut dyn FnMut(SeriesBatch) -> Result<()>) -> Result<()> {
    let (mut rdr, cols) = reader(path)?;
    let metric_cols: Vec<(usize, &'static str)> = ROW_METRICS
        .iter()
        .copied()
        .chain(PERCENTILE_COLS.iter().copied())
        .filter_map(|(c, m)| cols.0.get(c).map(|i| (*i, m)))
        .collect();
    let users_col = cols.0.get("users").copied();
    let mut ids = TargetIds::default();
    let mut targets: Vec<Arc<str>> = Vec::new();
    let mut b = SeriesBatch::default();
    let mut rec = csv::ByteRecord::new();
    while read(path, &mut rdr, &mut rec)? {
        let line = line_of(&rec);
        let ts = time::micros(row_time(path, line, &cols, &rec)?);
        let kind = cols.byte_field(&rec, "type").unwrap_or(b"");
        let name = cols.byte_field(&rec, "name").unwrap_or(b"Aggregated");
        let id = ids.get(kind, name).unwrap_or_else(|| {
            let (k, n) = (String::from_utf8_lossy(kind), String::from_utf8_lossy(name));
            let t = if is_total(&n, &k) {
                TOTAL.to_string()
            } else {
                target_name(&k, &n)
            };
            targets.push(t.into());
            ids.add(kind, name)
        });
        let mut push = |metric: &'static str, value: Option<f64>| {
            if let Some(v) = value {
                b.target.push(id);
                b.ts_us.push(ts);
                b.metric.push(metric);
                b.value.push(v);
            }
        };
        if &*targets[id as usize] == TOTAL {
            push("users", users_col.and_then(|i| rec.get(i)).and_then(number));
        }
        for (i, metric) in &metric_cols {
            push(metric, rec.get(*i).and_then(number));
        }
        if b.len() >= BATCH {
            b.targets = targets.clone();
            out(std::mem::take(&mut b))?;
        }
    }
    if !b.is_empty() {
        b.targets = targets;
        out(b)?;
    }
    Ok(())
}
