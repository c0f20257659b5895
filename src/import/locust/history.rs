//! Locust `stats_history.csv`, streamed: a first pass for the run's span and users, and the
//! points read again when the run is stored, in blocks of whole lines parsed on every core
//! while the store appends the blocks before. Nothing of the file is held beyond a few blocks.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc::sync_channel;

use chrono::NaiveDateTime;

use super::{is_total, target_name, Columns, PERCENTILE_COLS};
use crate::error::{Error, Result};
use crate::import::mapped::{Window, Windows};
use crate::model::{SeriesBatch, SourceFile, TOTAL};
use crate::time;

/// What the first pass finds.
pub struct Scan {
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    pub max_users: Option<f64>,
    /// every line is a row of its own (no quoted line break): the points can be read in blocks
    pub lines_are_rows: bool,
    /// the file's digest, taken while it was scanned in blocks (None when the CSV reader read it)
    pub source: Option<SourceFile>,
}

impl Scan {
    fn empty(lines_are_rows: bool) -> Self {
        Scan {
            first: None,
            last: None,
            max_users: None,
            lines_are_rows,
            source: None,
        }
    }
}

/// The file the feed reads must be the one that was scanned (and digested).
pub use crate::import::mapped::Stamp;

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
    drop(r);
    let h = header.trim_start_matches('\u{feff}');
    if h.starts_with("Timestamp,User Count,") {
        if let Some(s) = scan_leading(path, header.len())? {
            return Ok(s);
        }
    }
    scan_csv(path)
}

/// Every line's first two fields, in blocks on every core; None when a line does not start
/// with two numbers (a quoted name spanning lines, another layout): the CSV reader then reads
/// the file.
fn scan_leading(path: &Path, start: usize) -> Result<Option<Scan>> {
    let mut s = Some(Scan::empty(true));
    let source = in_blocks(
        path,
        start,
        BLOCK_BYTES,
        true,
        &|b| scan_block(path, b),
        &mut |part| {
            match (&mut s, part) {
                (Some(s), Some(p)) => {
                    s.first = s.first.or(p.first);
                    s.last = p.last.or(s.last);
                    s.max_users = match (s.max_users, p.max_users) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                }
                (whole, _) => *whole = None,
            }
            Ok(())
        },
    )?;
    Ok(s.map(|s| Scan { source, ..s }))
}

fn scan_block(path: &Path, block: &Block) -> Result<Option<Scan>> {
    let mut s = Scan::empty(true);
    let mut from = 0;
    let bytes = block.bytes();
    for (i, end) in memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .enumerate()
    {
        let l = bytes[from..end].trim_ascii();
        from = end + 1;
        if l.is_empty() {
            continue;
        }
        let Some(c1) = memchr::memchr(b',', l) else {
            return Ok(None);
        };
        let rest = &l[c1 + 1..];
        let (ts, users) = (
            &l[..c1],
            &rest[..memchr::memchr(b',', rest).unwrap_or(rest.len())],
        );
        if users.len() == rest.len() {
            return Ok(None);
        }
        let Some(secs) = number(ts) else {
            return Ok(None);
        };
        let ts = time::epoch(secs)
            .ok_or_else(|| Error::input(path, Some(block.line + i), "timestamp out of range"))?;
        observe(&mut s, ts, number(users));
    }
    Ok(Some(s))
}

fn observe(s: &mut Scan, ts: NaiveDateTime, users: Option<f64>) {
    s.first = s.first.or(Some(ts));
    s.last = Some(ts);
    if let Some(u) = users {
        s.max_users = Some(s.max_users.map_or(u, |m| m.max(u)));
    }
}

/// A finite number, parsed from the cell's bytes (lexical-core, which arrow already builds:
/// the double `str::parse` gives, without checking UTF-8 first; tested against it).
fn number(b: &[u8]) -> Option<f64> {
    let b = b.trim_ascii();
    short_decimal(b).or_else(|| lexical_core::parse::<f64>(b).ok().filter(|v| v.is_finite()))
}

/// Powers of ten a double holds exactly.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Most of Locust's cells (`44`, `0.000000`, `2.5087924305435627` is not one): digits with at
/// most one point and 15 digits in all. Their value is m / 10^k with m and 10^k exact doubles,
/// so one correctly rounded division is the correctly rounded parse (Clinger's fast path,
/// "How to read floating point numbers accurately", PLDI 1990); None for anything else.
fn short_decimal(b: &[u8]) -> Option<f64> {
    let (mut m, mut digits, mut scale, mut dot) = (0u64, 0usize, 0usize, false);
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(c - b'0');
                digits += 1;
                scale += usize::from(dot);
            }
            b'.' if !dot && i > 0 => dot = true,
            _ => return None,
        }
        if digits > 15 {
            return None;
        }
    }
    (digits > 0).then(|| m as f64 / POW10[scale])
}

fn scan_csv(path: &Path) -> Result<Scan> {
    let (mut rdr, cols) = reader(path)?;
    let mut s = Scan::empty(false);
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

/// Rows per batch of the sequential reader: about 2 MB of columns.
const BATCH_ROWS: usize = 1 << 14;
/// Bytes of whole lines per block of the parallel reader, and blocks in flight at most (read,
/// being parsed, parsed and waiting for the store): memory stays at a few blocks.
const BLOCK_BYTES: usize = 2 << 20;
const IN_FLIGHT: usize = 6;
/// Longest line accepted: a file without line breaks must not be mapped whole.
const MAX_LINE: usize = 64 << 20;

/// The second pass: every point, in batches of rows, to `sink`, in file order. A file whose
/// lines are its rows (what `scan` found: no quoted line breaks) is cut into blocks of whole
/// lines parsed on every core while the store appends; any other goes through one CSV reader
/// in a thread of its own. Both give the same batches' points (tested).
pub fn feed(
    path: &Path,
    stamp: &Stamp,
    lines_are_rows: bool,
    sink: &mut dyn FnMut(SeriesBatch) -> Result<()>,
) -> Result<()> {
    if Stamp::of(path)? != *stamp {
        return Err(Error::input(
            path,
            None,
            "the file changed while it was being imported: import it again",
        ));
    }
    if lines_are_rows {
        feed_blocks(path, BLOCK_BYTES, sink)
    } else {
        feed_sequential(path, sink)
    }
}

/// Where a history's fields are, and the metric of each value column.
struct Layout {
    ts: Option<usize>,
    kind: Option<usize>,
    name: Option<usize>,
    /// (column, metric); `users` (first, when present) is kept for the Aggregated row only
    values: Vec<(usize, &'static str)>,
    users: bool,
}

impl Layout {
    fn new(cols: &Columns) -> Self {
        let users = cols.0.get("users").map(|i| (*i, "users"));
        let values: Vec<(usize, &'static str)> = users
            .into_iter()
            .chain(
                ROW_METRICS
                    .iter()
                    .chain(PERCENTILE_COLS.iter())
                    .filter_map(|(c, m)| cols.0.get(*c).map(|i| (*i, *m))),
            )
            .collect();
        Layout {
            ts: cols.0.get("timestamp").copied(),
            kind: cols.0.get("type").copied(),
            name: cols.0.get("name").copied(),
            values,
            users: users.is_some(),
        }
    }

    fn metrics(&self) -> Vec<&'static str> {
        self.values.iter().map(|(_, m)| *m).collect()
    }
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

/// Rows into a batch: one row per line, a column per metric.
struct Rows<'l> {
    layout: &'l Layout,
    /// the last line's Timestamp cell and its microseconds (Locust writes one per endpoint)
    last_ts: (Vec<u8>, i64),
    ids: TargetIds,
    total: Vec<bool>,
    batch: SeriesBatch,
}

impl<'l> Rows<'l> {
    fn new(layout: &'l Layout) -> Self {
        Rows {
            layout,
            last_ts: (Vec::new(), 0),
            ids: TargetIds::default(),
            total: Vec::new(),
            batch: SeriesBatch::new(layout.metrics()),
        }
    }

    fn row(&mut self, path: &Path, line: usize, rec: &csv::ByteRecord) -> Result<()> {
        self.cells(path, line, |i| rec.get(i))
    }

    /// One row from its cells by column (`cell(i)`, None past the last one).
    fn cells<'c>(
        &mut self,
        path: &Path,
        line: usize,
        cell_at: impl Fn(usize) -> Option<&'c [u8]>,
    ) -> Result<()> {
        let l = self.layout;
        let field = |col: Option<usize>| col.and_then(&cell_at).map(<[u8]>::trim_ascii);
        let cell = field(l.ts).unwrap_or(b"");
        if cell.is_empty() || cell != self.last_ts.0.as_slice() {
            let secs = number(cell).ok_or_else(|| {
                Error::input(path, Some(line), "expected a Unix timestamp in Timestamp")
            })?;
            let ts = time::epoch(secs)
                .ok_or_else(|| Error::input(path, Some(line), "timestamp out of range"))?;
            self.last_ts = (cell.to_vec(), time::micros(ts));
        }
        let kind = field(l.kind).unwrap_or(b"");
        let name = field(l.name).unwrap_or(b"Aggregated");
        let id = match self.ids.get(kind, name) {
            Some(id) => id,
            None => {
                let (k, n) = (String::from_utf8_lossy(kind), String::from_utf8_lossy(name));
                let total = is_total(&n, &k);
                let t = if total {
                    TOTAL.to_string()
                } else {
                    target_name(&k, &n)
                };
                self.batch.targets.push(t.into());
                self.total.push(total);
                self.ids.add(kind, name)
            }
        };
        let b = &mut self.batch;
        b.target.push(id);
        b.ts_us.push(self.last_ts.1);
        let skip_users = l.users && !self.total[id as usize];
        for (j, ((col, _), out)) in l.values.iter().zip(b.columns.iter_mut()).enumerate() {
            let v = if j == 0 && skip_users {
                None
            } else {
                cell_at(*col).and_then(number)
            };
            out.push(v.unwrap_or(f64::NAN));
        }
        Ok(())
    }

    /// The rows so far; the targets stay known for the next batch.
    fn take(&mut self) -> SeriesBatch {
        let mut next = SeriesBatch::new(self.layout.metrics());
        next.targets = self.batch.targets.clone();
        std::mem::replace(&mut self.batch, next)
    }
}

/// One CSV reader over the whole file, in a thread that overlaps with the store.
fn feed_sequential(path: &Path, sink: &mut dyn FnMut(SeriesBatch) -> Result<()>) -> Result<()> {
    let (tx, rx) = sync_channel::<Result<SeriesBatch>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let send = |b| {
                tx.send(b)
                    .map_err(|_| Error::Internal("the store stopped reading the series".into()))
            };
            if let Err(e) = parse_sequential(path, &mut |b| send(Ok(b))) {
                // the receiver may be gone already (the store failed first)
                let _ = send(Err(e));
            }
        });
        for b in rx {
            sink(b?)?;
        }
        Ok(())
    })
}

fn parse_sequential(path: &Path, out: &mut dyn FnMut(SeriesBatch) -> Result<()>) -> Result<()> {
    let (mut rdr, cols) = reader(path)?;
    let layout = Layout::new(&cols);
    let mut rows = Rows::new(&layout);
    let mut rec = csv::ByteRecord::new();
    while read(path, &mut rdr, &mut rec)? {
        rows.row(path, line_of(&rec), &rec)?;
        if rows.batch.len() >= BATCH_ROWS {
            out(rows.take())?;
        }
    }
    if !rows.batch.is_empty() {
        out(rows.take())?;
    }
    Ok(())
}

/// A block of whole lines: its place in the file and its first line's number.
struct Block {
    seq: usize,
    line: usize,
    lines: Window,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        self.lines.bytes()
    }
}

/// Points in blocks: see [`in_blocks`].
fn feed_blocks(
    path: &Path,
    block_bytes: usize,
    sink: &mut dyn FnMut(SeriesBatch) -> Result<()>,
) -> Result<()> {
    let (rdr, cols) = reader(path)?;
    let layout = Layout::new(&cols);
    let header_end = rdr.position().byte() as usize;
    drop(rdr);
    in_blocks(
        path,
        header_end,
        block_bytes,
        false,
        &|b| parse_block(path, &layout, b),
        sink,
    )
    .map(|_| ())
}

/// The file after `start` in blocks of whole lines mapped in one thread, each turned into a
/// `T` by `work` on a worker per core, handed to `sink` in file order. At most [`IN_FLIGHT`]
/// blocks exist at once: the reader waits for a token the sink gives back for each block.
/// With `digest`, the reader digests the whole file on the way (the scan, so the file is not
/// read once more for its content key).
fn in_blocks<T: Send>(
    path: &Path,
    start: usize,
    block_bytes: usize,
    digest: bool,
    work: &(dyn Fn(&Block) -> Result<T> + Sync),
    sink: &mut dyn FnMut(T) -> Result<()>,
) -> Result<Option<SourceFile>> {
    let mut windows = Windows::open(path, start as u64, block_bytes, MAX_LINE, digest)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let (job_tx, job_rx) = sync_channel::<Block>(IN_FLIGHT);
    let job_rx = std::sync::Mutex::new(job_rx);
    let (done_tx, done_rx) = sync_channel::<(usize, Result<T>)>(IN_FLIGHT);
    let (token_tx, token_rx) = sync_channel::<()>(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let _ = token_tx.send(());
    }
    std::thread::scope(|scope| {
        let done = done_tx.clone();
        let windows = &mut windows;
        scope.spawn(move || {
            if let Err((seq, e)) = read_blocks(path, windows, &job_tx, &token_rx) {
                let _ = done.send((seq, Err(e)));
            }
        });
        for _ in 0..workers {
            let (jobs, done) = (&job_rx, done_tx.clone());
            scope.spawn(move || loop {
                let job = match jobs.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                if done.send((job.seq, work(&job))).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let out = in_order(done_rx, &token_tx, sink);
        // the reader may wait for a token: without a sender it stops
        drop(token_tx);
        out
    })?;
    windows.finish("history")
}

/// Hands the parsed blocks to `sink` by their place in the file; returning drops the
/// receiver, which stops the workers.
fn in_order<T>(
    done: std::sync::mpsc::Receiver<(usize, Result<T>)>,
    tokens: &std::sync::mpsc::SyncSender<()>,
    sink: &mut dyn FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut waiting = std::collections::BTreeMap::new();
    let mut next = 0usize;
    for (seq, parsed) in done {
        waiting.insert(seq, parsed);
        while let Some(parsed) = waiting.remove(&next) {
            sink(parsed?)?;
            next += 1;
            let _ = tokens.send(());
        }
    }
    Ok(())
}

/// Hands the file's windows to the workers as blocks, each with its first line's number.
fn read_blocks(
    path: &Path,
    windows: &mut Windows,
    jobs: &std::sync::mpsc::SyncSender<Block>,
    tokens: &std::sync::mpsc::Receiver<()>,
) -> std::result::Result<(), (usize, Error)> {
    let (mut seq, mut line) = (0usize, 2usize);
    loop {
        if tokens.recv().is_err() {
            return Ok(()); // the store stopped
        }
        let w = windows.next_window().map_err(|e| {
            (
                seq,
                Error::input(path, Some(line), format!("cannot read: {e}")),
            )
        })?;
        let Some(w) = w else { return Ok(()) };
        let lines = memchr::memchr_iter(b'\n', w.bytes()).count();
        if jobs
            .send(Block {
                seq,
                line,
                lines: w,
            })
            .is_err()
        {
            return Ok(());
        }
        seq += 1;
        line += lines;
    }
}

/// One block's rows (line numbers in errors are the file's). Its lines are its rows (`scan`
/// checked), so a line without quotes or carriage returns inside is split at its commas
/// here, and only the others go through the CSV reader: csv-core's state machine took 15%
/// of a 2 h history's import (perf samples), and gives such a line the same cells.
fn parse_block(path: &Path, layout: &Layout, block: &Block) -> Result<SeriesBatch> {
    let mut rows = Rows::new(layout);
    let mut cuts = Vec::new();
    let bytes = block.bytes();
    let mut from = 0;
    for (i, end) in memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .enumerate()
    {
        let raw = &bytes[from..end];
        from = end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue; // as the CSV reader skips empty lines
        }
        if memchr::memchr2(b'"', b'\r', line).is_some() {
            parse_quoted(path, &mut rows, block.line + i, line)?;
            continue;
        }
        cuts.clear();
        cuts.extend(memchr::memchr_iter(b',', line));
        cuts.push(line.len());
        rows.cells(path, block.line + i, |k| {
            let end = *cuts.get(k)?;
            let start = if k == 0 { 0 } else { cuts[k - 1] + 1 };
            Some(&line[start..end])
        })?;
    }
    Ok(rows.take())
}

/// A line with quotes (a name holding a comma) or a carriage return, through the CSV reader.
fn parse_quoted(path: &Path, rows: &mut Rows<'_>, line: usize, bytes: &[u8]) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => rows.row(path, line + line_of(&rec) - 1, &rec)?,
            Err(e) => {
                let line = e.position().map(|p| line + p.line() as usize - 1);
                return Err(Error::input(path, line, format!("malformed CSV row: {e}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel)
    }

    type Point = (String, &'static str, i64, u64);

    fn points_of(
        feed: impl FnOnce(&mut dyn FnMut(SeriesBatch) -> Result<()>) -> Result<()>,
    ) -> Vec<Point> {
        let mut out = Vec::new();
        feed(&mut |b| {
            out.extend(
                b.points()
                    .map(|(t, m, ts, v)| (t.to_string(), m, ts, v.to_bits())),
            );
            Ok(())
        })
        .unwrap();
        out
    }

    /// The real histories, and one of them twelve times over (a long file of real lines):
    /// blocks of any size give the points, in the order, the one CSV reader gives.
    #[test]
    fn blocks_give_the_points_of_the_sequential_reader() {
        let dir = tempfile::tempdir().unwrap();
        let real = fixture("reco/locust_saturation_stats_history.csv");
        let text = std::fs::read_to_string(&real).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        let long = dir.path().join("long_stats_history.csv");
        std::fs::write(&long, format!("{header}\n{}", body.repeat(12))).unwrap();
        let files = [
            fixture("locust/shop_v1_6_stats_history.csv"),
            fixture("locust/shop_v2_15_stats_history.csv"),
            fixture("locust/shop_v2_47_stats_history.csv"),
            real,
            long,
        ];
        for f in &files {
            let scan = scan(f).unwrap();
            assert!(scan.lines_are_rows, "{}", f.display());
            // the digest the scan took while mapping the file is the file's
            let source = scan.source.expect("digested in the scan");
            let (blake3, bytes) = crate::import::hash_file(f).unwrap();
            assert_eq!(
                (source.blake3, source.bytes),
                (blake3, bytes),
                "{}",
                f.display()
            );
            let want = points_of(|s| feed_sequential(f, s));
            assert!(!want.is_empty(), "{}", f.display());
            for block in [1, 97, 4096, BLOCK_BYTES] {
                let got = points_of(|s| feed_blocks(f, block, s));
                assert_eq!(got, want, "{} in blocks of {block}", f.display());
            }
        }
    }

    /// The points against the file's own cells, read here with the csv crate and str::parse.
    #[test]
    fn the_points_are_the_cells_of_the_file() {
        let f = fixture("locust/shop_v2_47_stats_history.csv");
        let got = points_of(|s| feed_blocks(&f, 64, s));
        let mut rdr = csv::Reader::from_path(&f).unwrap();
        let h = rdr.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (mut n, mut rps_sum, mut p95_sum) = (0usize, 0.0, 0.0);
        for r in rdr.records() {
            let r = r.unwrap();
            let num = |c: &str| r[col(c)].parse::<f64>().ok();
            n += [
                "Requests/s",
                "Failures/s",
                "Total Request Count",
                "Total Failure Count",
                "Total Average Response Time",
                "50%",
                "90%",
                "95%",
                "99%",
                "99.9%",
            ]
            .iter()
            .filter(|c| num(c).is_some())
            .count()
                + usize::from(&r[col("Name")] == "Aggregated");
            rps_sum += num("Requests/s").unwrap_or(0.0);
            p95_sum += num("95%").unwrap_or(0.0);
        }
        let sum = |m: &str| -> f64 {
            got.iter()
                .filter(|p| p.1 == m)
                .map(|p| f64::from_bits(p.3))
                .sum()
        };
        assert_eq!(got.len(), n);
        assert_eq!(sum("throughput_rps"), rps_sum);
        assert_eq!(sum("latency_p95_ms"), p95_sum);
    }

    /// Lines the comma split must leave to the CSV reader, or split as it does (hand-made
    /// from a real 2.47 line): blocks give the one CSV reader's points, to the bit.
    #[test]
    fn split_lines_are_the_csv_readers() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::read_to_string(fixture("locust/shop_v2_47_stats_history.csv")).unwrap();
        let header = real.lines().next().unwrap();
        let row = |ts: u32, name: &str, tail: &str| {
            format!("{ts},4,GET,{name},1.500000,0.000000,3,4,5,5,7,{tail}")
        };
        let full = "9,12,15,20,25,25,40,2,7,4.01172649998216,1.43,25.7,27.6";
        let lines = [
            row(1795761531, "/plain", full) + "\n",
            row(1795761531, "/crlf", full) + "\r\n",
            "\n".to_string(),
            "\r\n".to_string(),
            row(1795761532, "\"/a,b\"", full) + "\n",
            row(1795761532, "\"<legacy & \"\"quoted\"\">\"", full) + "\n",
            "1795761533,5,GET,/short,2.5\n".to_string(),
            row(
                1795761533,
                "/spaces",
                " 9 , 12,N/A,,25,25,40,2,7, 4.5 ,1.43,25.7,27.6",
            ) + "\n",
            row(1795761534, "/cr", "9") + "\r" + &row(1795761534, "/after-cr", full) + "\n",
            row(1795761535, ",Aggregated", full) + "\n",
            row(1795761535, "Aggregated", full),
        ];
        let f = dir.path().join("handmade_split_stats_history.csv");
        std::fs::write(&f, format!("{header}\n{}", lines.concat())).unwrap();
        let want = points_of(|s| feed_sequential(&f, s));
        let names: std::collections::BTreeSet<&str> = want.iter().map(|p| p.0.as_str()).collect();
        assert!(names.iter().any(|n| n.ends_with("/a,b")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with("/after-cr")), "{names:?}");
        for block in [1, 64, BLOCK_BYTES] {
            assert_eq!(
                points_of(|s| feed_blocks(&f, block, s)),
                want,
                "blocks of {block}"
            );
        }
    }

    /// A bad cell names its file's line in both readers.
    #[test]
    fn errors_name_the_same_line_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::read_to_string(fixture("locust/shop_v2_47_stats_history.csv")).unwrap();
        let mut lines: Vec<String> = real.lines().map(str::to_string).collect();
        lines[9] = lines[9].replacen("17957", "x7957", 1); // line 10: no timestamp
        let bad = dir.path().join("handmade_bad_timestamp_stats_history.csv");
        std::fs::write(&bad, lines.join("\n")).unwrap();
        for block in [1, 300, BLOCK_BYTES] {
            let e = feed_blocks(&bad, block, &mut |_| Ok(()))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("stats_history.csv:10:") && e.contains("Timestamp"),
                "{e}"
            );
        }
        let e = feed_sequential(&bad, &mut |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("stats_history.csv:10:"), "{e}");
    }

    /// The bytes parser gives str::parse's double, and None where it gives none.
    #[test]
    fn numbers_are_str_parse() {
        let cells = [
            "0",
            "12",
            "0.000000",
            "0.533333",
            "25.17418994414525",
            "-3.5",
            "+7",
            "1.",
            ".5",
            "9007199254740993",
            "123456789012345678901",
            "1e5",
            "N/A",
            "",
            "-",
            ".",
            "1.2.3",
            "0.1",
            "0.30000000000000004",
            "4.01172649998216",
            "1795761531",
        ];
        for c in cells {
            let std = c.parse::<f64>().ok().filter(|v| v.is_finite());
            assert_eq!(
                number(c.as_bytes()).map(f64::to_bits),
                std.map(f64::to_bits),
                "{c:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn number_agrees_with_str_parse(int in 0u64..10_000_000_000, frac in "[0-9]{0,12}", neg: bool) {
            let c = format!("{}{int}.{frac}", if neg { "-" } else { "" });
            let std = c.parse::<f64>().unwrap();
            proptest::prop_assert_eq!(number(c.as_bytes()).map(f64::to_bits), Some(std.to_bits()));
        }

        /// The short path's cells, up to its 15 digits and past them (where lexical reads).
        #[test]
        fn short_decimals_agree_with_str_parse(int in "[0-9]{1,9}", frac in proptest::option::of("[0-9]{0,9}")) {
            let c = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let std = c.parse::<f64>().unwrap();
            proptest::prop_assert_eq!(number(c.as_bytes()).map(f64::to_bits), Some(std.to_bits()));
            let digits = int.len() + frac.as_ref().map_or(0, String::len);
            proptest::prop_assert_eq!(short_decimal(c.as_bytes()).is_some(), digits <= 15);
        }
    }
}
