//! k6 `--out json` points (NDJSON, plain or gzip), folded into [`PointAgg`] as they stream past.
//!
//! Files reach gigabytes (every request writes eleven points), so reading is split in two:
//! one thread reads (and decompresses) the file in blocks of whole lines, and one worker per
//! core folds blocks into its own aggregator; the aggregators are merged at the end. Memory is
//! bounded by the blocks in flight, never by the file.
//!
//! Each line first goes through a fast path that accepts exactly the shapes k6 writes
//! (`{"metric":"…","type":"Point","data":{"time":"…","value":…,"tags":{…}}}` as k6 1.1 does,
//! and `{"type":"Point","data":{…},"metric":"…"}` as k6's documentation shows). Lines of
//! metrics perfledger does not keep (the request phase timings, `vus_max`, iterations) are
//! read up to their time, which still widens the run's span. A request's points repeat the same
//! tag object, so the target it names is looked up once per distinct tag bytes. Anything else
//! (Metric declarations, escapes in names, other key orders, malformed lines) goes to
//! `serde_json`, which also words the errors.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, TrySendError};
use std::sync::Mutex;

use serde::Deserialize;

use super::k6_points::{tag_set, HttpMetric, Point, PointAgg};
use super::mapped::{Digest, Slot, Slots, Windows};
use super::text;
use super::{maybe_gz, read_up_to, Digesting, ImportOptions, Importer, Probe, Unit};
use crate::error::{Error, Result};
use crate::model::{Parsed, SourceFile};

pub struct K6Ndjson;

/// Bytes per block handed to a worker (gzip files).
const BLOCK: usize = 4 << 20;
/// Bytes per slot of a plain file (a power of two: see [`Slots`]).
const SLOT: usize = 4 << 20;
/// Longest line accepted: a hostile file without newlines must not make perfledger buffer it.
const MAX_LINE: usize = 64 << 20;

impl Importer for K6Ndjson {
    fn name(&self) -> &'static str {
        "k6-ndjson"
    }
    fn tool(&self) -> &'static str {
        "k6"
    }
    fn sniff(&self, p: &Probe) -> Result<(), String> {
        let l = p.first_line();
        let point = l.starts_with('{')
            && (l.contains("\"type\":\"Metric\"") || l.contains("\"type\":\"Point\""));
        if point {
            Ok(())
        } else {
            Err("first line is not a k6 --out json Metric or Point object".into())
        }
    }
    fn parse(&self, unit: &Unit, _opts: &ImportOptions) -> Result<Parsed> {
        let path = &unit.primary;
        // the reading thread digests every byte and helps fold when the workers are behind
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let workers = cores.saturating_sub(1).max(1);
        let (agg, source) = fold_file(path, workers)?;
        let mut run = agg.finish(path, "k6-ndjson")?;
        run.sources = vec![source];
        Ok(Parsed::Runs(vec![run]))
    }
}

/// Whole lines of a gzip file: the first `len` bytes of `data`. Buffers go back and forth
/// between the reader and the workers, so they are zeroed once, not per block.
struct Block {
    seq: u64,
    data: Vec<u8>,
    len: usize,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// How the file is read: a plain file mapped in slots of this many bytes, or read (and
/// decompressed) through buffers.
#[derive(Clone, Copy)]
enum Reading {
    Mapped(usize),
    Read,
}

/// Folds the file with `workers` threads and the calling one, digesting its bytes on the way.
pub fn fold_file(path: &Path, workers: usize) -> Result<(PointAgg, SourceFile)> {
    let reading = if Windows::is_gzip(path)? {
        Reading::Read
    } else {
        Reading::Mapped(SLOT)
    };
    fold_with(path, workers, reading)
}

fn fold_with(path: &Path, workers: usize, reading: Reading) -> Result<(PointAgg, SourceFile)> {
    match reading {
        Reading::Mapped(slot) => fold_slots(path, workers, slot),
        Reading::Read => {
            let mut digest = Digesting::open(path)?;
            let (mut reader, gz) = maybe_gz(&mut digest);
            let agg = fold_read(path, workers, gz, &mut *reader)?;
            drop(reader);
            Ok((agg, digest.finish("output")?))
        }
    }
}

/// A plain file: every thread takes the next slot, maps, digests and folds it (see
/// [`Slots`]), so no thread waits for a reader.
fn fold_slots(path: &Path, workers: usize, slot: usize) -> Result<(PointAgg, SourceFile)> {
    let slots = Slots::open(path, slot, MAX_LINE)?;
    let (next, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    let outs: Vec<SlotsDone> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..=workers)
            .map(|_| s.spawn(|| fold_some_slots(path, &slots, &next, &stop)))
            .collect();
        #[expect(
            clippy::expect_used,
            reason = "a worker's panic is a defect: re-raise it here"
        )]
        handles
            .into_iter()
            .map(|h| h.join().expect("k6 point worker panicked"))
            .collect()
    });
    let mut digests = Vec::new();
    let mut works = Vec::new();
    let mut read = Ok(());
    for (work, d, r) in outs {
        works.push(work);
        digests.extend(d);
        if let Err((seq, e)) = r {
            if read.as_ref().err().is_none_or(|(first, _)| seq < *first) {
                read = Err((seq, e));
            }
        }
    }
    let agg = merge_works(path, works, read, false)?;
    digests.sort_by_key(|(k, _)| *k);
    let digests: Vec<Digest> = digests.into_iter().map(|(_, d)| d).collect();
    Ok((agg, slots.finish(&digests, "output")?))
}

/// One thread's share of the slots: what it folded, the digests of its slots by slot number,
/// and the read error that stopped it.
type SlotsDone = (Work, Vec<(u64, Digest)>, ReadResult);

fn fold_some_slots(path: &Path, slots: &Slots, next: &AtomicU64, stop: &AtomicBool) -> SlotsDone {
    let mut work = Work::default();
    let mut digests = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= slots.count() || stop.load(Ordering::Relaxed) {
            return (work, digests, Ok(()));
        }
        let mut slot = match slots.slot(k) {
            Ok(slot) => slot,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return (work, digests, Err((k, too_long(e))));
            }
        };
        if !work.fold_slot(path, k, &mut slot, stop) {
            return (work, digests, Ok(()));
        }
        digests.push((k, slot.digest()));
    }
}

/// What reads the blocks of a gzip file: an error carries the block it interrupted.
type ReadResult = std::result::Result<(), (u64, std::io::Error)>;

/// Folds a gzip file's blocks with `workers` threads and the reading one, which folds a block
/// itself whenever the workers' queue is full, so no core idles.
fn fold_read(path: &Path, workers: usize, gz: bool, reader: &mut dyn Read) -> Result<PointAgg> {
    let (tx, rx) = sync_channel::<Block>(workers * 2);
    let rx = Mutex::new(rx);
    let (spare_tx, spare_rx) = channel::<Vec<u8>>();
    let stop = AtomicBool::new(false);
    let (outs, read) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (rx, spare_tx, stop) = (&rx, spare_tx.clone(), &stop);
                s.spawn(move || worker(path, rx, spare_tx, stop))
            })
            .collect();
        let mut helper = Work::default();
        let read = read_blocks(
            reader,
            |block| {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                match tx.try_send(block) {
                    Ok(()) => true,
                    Err(TrySendError::Full(block)) => {
                        let ok = helper.fold(path, block.seq, block.bytes(), &stop);
                        let _ = spare_tx.send(block.data);
                        ok
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                }
            },
            || spare_rx.try_recv().unwrap_or_default(),
        );
        drop(tx);
        #[expect(
            clippy::expect_used,
            reason = "a worker's panic is a defect: re-raise it here"
        )]
        let mut outs: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("k6 point worker panicked"))
            .collect();
        outs.push(helper);
        (outs, read)
    });
    merge_works(path, outs, read, gz)
}

/// The threads' aggregators as one, or the first error in file order (a read error or a line
/// that failed), with its line number in the file.
fn merge_works(path: &Path, outs: Vec<Work>, read: ReadResult, gz: bool) -> Result<PointAgg> {
    let mut lines: BTreeMap<u64, usize> = BTreeMap::new();
    let mut first_error: Option<(u64, usize, Error)> = None;
    let mut merged = PointAgg::default();
    for out in outs {
        lines.extend(out.lines);
        if let Some((seq, line, e)) = out.error {
            if first_error
                .as_ref()
                .is_none_or(|f| (seq, line) < (f.0, f.1))
            {
                first_error = Some((seq, line, e));
            }
        }
        merged.merge(out.agg)?;
    }
    // every block before a failing one was read to its end, so its lines are counted
    let line_of =
        |seq: u64, within: usize| lines.range(..seq).map(|(_, n)| n).sum::<usize>() + within;
    if let Err((seq, e)) = read {
        if first_error.as_ref().is_none_or(|f| seq <= f.0) {
            let what = if gz {
                "the gzip stream is truncated or damaged"
            } else {
                "read failed"
            };
            let line = line_of(seq, 1);
            return Err(Error::input(path, Some(line), format!("{what}: {e}")));
        }
    }
    if let Some((seq, line, e)) = first_error {
        return Err(e.at_line(line_of(seq, line)));
    }
    Ok(merged)
}

/// The error for a line over [`MAX_LINE`], in k6's words.
fn too_long(e: std::io::Error) -> std::io::Error {
    if e.to_string().contains("longer than") {
        std::io::Error::other(format!("{e}; is this really k6 --out json?"))
    } else {
        e
    }
}

/// Reads blocks of whole lines and hands them to `send` until it returns false. An error
/// carries the line it interrupted.
fn read_blocks(
    r: &mut dyn Read,
    mut send: impl FnMut(Block) -> bool,
    mut spare: impl FnMut() -> Vec<u8>,
) -> ReadResult {
    let mut carry: Vec<u8> = Vec::new();
    let mut seq = 0u64;
    loop {
        let mut buf = spare();
        if buf.len() < BLOCK.max(carry.len() * 2) {
            buf.resize(BLOCK.max(carry.len() * 2), 0);
        }
        buf[..carry.len()].copy_from_slice(&carry);
        let mut filled = carry.len();
        carry.clear();
        let eof = loop {
            filled += read_up_to(r, &mut buf[filled..]).map_err(|e| (seq, e))?;
            if filled < buf.len() {
                break true;
            }
            if memchr::memrchr(b'\n', &buf[..filled]).is_some() {
                break false;
            }
            if buf.len() >= MAX_LINE {
                return Err((
                    seq,
                    std::io::Error::other(format!(
                        "a line is longer than {} MB; is this really k6 --out json?",
                        MAX_LINE >> 20
                    )),
                ));
            }
            buf.resize(buf.len() * 2, 0);
        };
        let len = if eof {
            filled
        } else {
            #[expect(
                clippy::expect_used,
                reason = "the loop above ends only with a newline in the buffer"
            )]
            let cut = memchr::memrchr(b'\n', &buf[..filled]).expect("checked") + 1;
            carry.extend_from_slice(&buf[cut..filled]);
            cut
        };
        if len == 0 {
            return Ok(());
        }
        if !send(Block {
            seq,
            data: buf,
            len,
        }) || eof
        {
            return Ok(());
        }
        seq += 1;
    }
}

/// What a thread folded: its aggregator, the number of lines of each block it read, and the
/// first error it met as (block, line within the block, error).
#[derive(Default)]
struct Work {
    agg: PointAgg,
    folder: Folder,
    lines: Vec<(u64, usize)>,
    error: Option<(u64, usize, Error)>,
}

impl Work {
    /// Folds slot `seq` of a mapped file in pieces of whole lines, each digested right after
    /// it is folded, while it is still in the core's cache (BLAKE3 from memory cost ~0.22 s per
    /// GB on one core, from cache ~0.15 s, measured); false (and `stop` raised) on an error.
    fn fold_slot(&mut self, path: &Path, seq: u64, slot: &mut Slot, stop: &AtomicBool) -> bool {
        self.agg.begin(seq);
        let (mut at, mut lines) = (0, 0);
        let len = slot.bytes().len();
        while at < len {
            let bytes = slot.bytes();
            let end = piece_end(bytes, at);
            match self.folder.block(path, &mut self.agg, &bytes[at..end]) {
                Ok(n) => lines += n,
                Err((line, e)) => return self.failed(stop, seq, lines + line, e),
            }
            slot.digest_through(end);
            at = end;
        }
        self.lines.push((seq, lines));
        true
    }

    /// Folds block `seq` of the file; false (and `stop` raised) on an error.
    fn fold(&mut self, path: &Path, seq: u64, bytes: &[u8], stop: &AtomicBool) -> bool {
        self.agg.begin(seq);
        match self.folder.block(path, &mut self.agg, bytes) {
            Ok(n) => {
                self.lines.push((seq, n));
                true
            }
            Err((line, e)) => self.failed(stop, seq, line, e),
        }
    }

    /// Notes the error at `line` of block `seq` and raises `stop` for the other threads.
    fn failed(&mut self, stop: &AtomicBool, seq: u64, line: usize, e: Error) -> bool {
        stop.store(true, Ordering::Relaxed);
        self.error = Some((seq, line, e));
        false
    }
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the worker owns its sender: dropping it tells the reader this worker is done"
)]
fn worker(
    path: &Path,
    rx: &Mutex<Receiver<Block>>,
    spare: std::sync::mpsc::Sender<Vec<u8>>,
    stop: &AtomicBool,
) -> Work {
    let mut work = Work::default();
    loop {
        #[expect(
            clippy::expect_used,
            reason = "a poisoned lock means another worker panicked"
        )]
        let Ok(block) = rx.lock().expect("receiver lock").recv() else {
            return work;
        };
        if !work.fold(path, block.seq, block.bytes(), stop) {
            return work;
        }
        let _ = spare.send(block.data);
    }
}

/// Bytes folded between two digest steps of a slot: well inside a core's L2 cache.
const PIECE: usize = 256 << 10;

/// Where the piece of `bytes` that starts at `at` ends: after the last newline within
/// [`PIECE`] bytes, or after the first one past it when a line is longer, or at the end.
fn piece_end(bytes: &[u8], at: usize) -> usize {
    let want = (at + PIECE).min(bytes.len());
    if want == bytes.len() {
        return want;
    }
    match memchr::memrchr(b'\n', &bytes[at..want]) {
        Some(i) => at + i + 1,
        None => memchr::memchr(b'\n', &bytes[want..]).map_or(bytes.len(), |i| want + i + 1),
    }
}

/// Per-worker caches of the fast path.
#[derive(Default)]
struct Folder {
    time: TimeCache,
    /// An HTTP point's tag object -> its target and status tag.
    http_tags: Seen<(u32, Option<String>)>,
    /// A check point's tag object -> the check's name.
    check_tags: Seen<Option<String>>,
    /// A custom metric point's tag object -> its user tag set.
    custom_tags: Seen<String>,
}

/// What a worker has read from the tag objects it met, by their bytes. A run repeats few tag
/// objects (a request's points share one, and a test has few targets and checks), so most
/// points are a comparison with the last object or one hash lookup instead of a scan (the
/// scan was ~15% of the fold, measured). Emptied when full, so a file whose every request has
/// tags of its own still folds in flat memory; what is kept depends only on the bytes, so the
/// figures do not depend on what the cache holds.
struct Seen<V> {
    index: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    values: Vec<V>,
    /// The bytes last asked for and their value's place in `values`.
    last: Vec<u8>,
    last_at: Option<u32>,
    /// Tag objects kept before the cache is emptied.
    max: usize,
}

impl<V> Default for Seen<V> {
    /// 4096 tag objects: a few MB at k6's usual tag sizes.
    fn default() -> Self {
        Seen::with_max(4096)
    }
}

impl<V> Seen<V> {
    fn with_max(max: usize) -> Self {
        Seen {
            index: HashMap::default(),
            values: Vec::new(),
            last: Vec::new(),
            last_at: None,
            max,
        }
    }

    /// The value for `key`, read with `read` the first time; None when `read` declines it.
    fn get(&mut self, key: &[u8], read: impl FnOnce(&[u8]) -> Option<V>) -> Option<&V> {
        let at = match self.last_at {
            Some(at) if self.last == key => at,
            _ => {
                let at = match self.index.get(key) {
                    Some(at) => *at,
                    None => self.insert(key, read(key)?),
                };
                self.last.clear();
                self.last.extend_from_slice(key);
                self.last_at = Some(at);
                at
            }
        };
        self.values.get(at as usize)
    }

    fn insert(&mut self, key: &[u8], value: V) -> u32 {
        if self.values.len() >= self.max {
            self.index.clear();
            self.values.clear();
        }
        let at = self.values.len() as u32;
        self.values.push(value);
        self.index.insert(key.into(), at);
        at
    }
}

impl Folder {
    /// Folds whole lines; returns how many there were, or the failing line (1-based within
    /// `data`) and its error.
    fn block(
        &mut self,
        path: &Path,
        agg: &mut PointAgg,
        data: &[u8],
    ) -> std::result::Result<usize, (usize, Error)> {
        let (mut start, mut lines) = (0, 0);
        for end in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
            if start >= data.len() {
                break;
            }
            lines += 1;
            let line = data[start..end].trim_ascii_end();
            start = end + 1;
            if !line.is_empty() && !self.fast(agg, line) {
                slow(path, lines, line, agg).map_err(|e| (lines, e))?;
            }
        }
        Ok(lines)
    }

    /// Folds a line of k6's usual shape; false when the line needs the full parser.
    fn fast(&mut self, agg: &mut PointAgg, line: &[u8]) -> bool {
        let (metric, time, tail) = if let Some((m, t, rest)) = point_head(line, &mut self.time) {
            (m, t, Tail::MetricFirst(rest))
        } else if let Some((m, t, rest)) = type_first_head(line, &mut self.time) {
            (m, t, Tail::TypeFirst(rest))
        } else {
            return false;
        };
        if PointAgg::ignores(metric) {
            if line.ends_with(b"}") {
                agg.observe(time);
                return true;
            }
            return false;
        }
        let parsed = match tail {
            Tail::MetricFirst(rest) => point_tail(rest),
            Tail::TypeFirst(rest) => type_first_tail(rest),
        };
        let Some((value, tags)) = parsed else {
            return false;
        };
        if !value.is_finite() {
            return true;
        }
        let sec = time.floor() as i64;
        if let Some(m) = HttpMetric::of(metric) {
            let read = |b: &[u8]| {
                let t = Tags::scan(b)?;
                let id = agg.http_target(
                    t.method.as_deref().unwrap_or(""),
                    t.name.as_deref().or(t.url.as_deref()).unwrap_or("?"),
                    t.scenario.as_deref(),
                    t.group.as_deref(),
                );
                Some((id, t.status.map(Cow::into_owned)))
            };
            let Some((id, status)) = self.http_tags.get(tags, read) else {
                return false;
            };
            agg.observe(time);
            agg.add_http(*id, m, value, sec, || status.as_deref());
        } else if metric == "checks" {
            let read = |b: &[u8]| Some(Tags::scan(b)?.check.map(Cow::into_owned));
            let Some(check) = self.check_tags.get(tags, read) else {
                return false;
            };
            agg.observe(time);
            agg.add_other(metric, sec, value, || check.as_deref(), "");
        } else if PointAgg::is_custom(metric) {
            let Some(set) = self.custom_tags.get(tags, |b| Tags::user_set(b)) else {
                return false;
            };
            agg.observe(time);
            agg.add_other(metric, sec, value, || None, set);
        } else {
            // VUs and data volumes are not read by tag
            agg.observe(time);
            agg.add_other(metric, sec, value, || None, "");
        }
        true
    }
}

const HEAD: &[u8] = br#"{"metric":""#;
const MID: &[u8] = br#"","type":"Point","data":{"time":""#;

/// `{"metric":"M","type":"Point","data":{"time":"T"` -> (M, T in seconds, the rest after T).
fn point_head<'a>(line: &'a [u8], times: &mut TimeCache) -> Option<(&'a str, f64, &'a [u8])> {
    let rest = line.strip_prefix(HEAD)?;
    let q = memchr::memchr2(b'"', b'\\', rest)?;
    let metric = metric_name(&rest[..q])?;
    let rest = rest[q..].strip_prefix(MID)?;
    let q = memchr::memchr(b'"', rest)?;
    let time = times.seconds(&rest[..q])?;
    Some((metric, time, &rest[q + 1..]))
}

/// k6's own metrics by their bytes, so most lines' names need no UTF-8 check (that check
/// and the value's were 9% of the fold); any other name is checked.
fn metric_name(b: &[u8]) -> Option<&str> {
    Some(match b {
        b"http_reqs" => "http_reqs",
        b"http_req_duration" => "http_req_duration",
        b"http_req_failed" => "http_req_failed",
        b"http_req_blocked" => "http_req_blocked",
        b"http_req_connecting" => "http_req_connecting",
        b"http_req_tls_handshaking" => "http_req_tls_handshaking",
        b"http_req_sending" => "http_req_sending",
        b"http_req_waiting" => "http_req_waiting",
        b"http_req_receiving" => "http_req_receiving",
        b"data_sent" => "data_sent",
        b"data_received" => "data_received",
        b"iterations" => "iterations",
        b"iteration_duration" => "iteration_duration",
        b"vus" => "vus",
        b"vus_max" => "vus_max",
        b"checks" => "checks",
        _ => std::str::from_utf8(b).ok()?,
    })
}

/// A point's value from its bytes: lexical-core reads the JSON number straight from them
/// (correctly rounded, as `str::parse` is); anything it declines goes to `str::parse`.
fn number(b: &[u8]) -> Option<f64> {
    lexical_core::parse::<f64>(b)
        .ok()
        .or_else(|| std::str::from_utf8(b).ok()?.parse().ok())
}

/// What follows the time of a point, in either of k6's key orders.
enum Tail<'a> {
    MetricFirst(&'a [u8]),
    TypeFirst(&'a [u8]),
}

const TYPE_FIRST: &[u8] = br#"{"type":"Point","data":{"time":""#;

/// The key order k6's documentation shows (and other k6 versions write):
/// `{"type":"Point","data":{"time":"T",…},"metric":"M"}` -> (M, T, what lies between T and
/// the metric: `,"value":V,"tags":{TAGS}` or `…"tags":null`).
fn type_first_head<'a>(line: &'a [u8], times: &mut TimeCache) -> Option<(&'a str, f64, &'a [u8])> {
    let rest = line.strip_prefix(TYPE_FIRST)?;
    let q = memchr::memchr(b'"', rest)?;
    let time = times.seconds(&rest[..q])?;
    let body = rest[q + 1..].strip_suffix(b"\"}")?;
    let m = memchr::memrchr(b'"', body)? + 1;
    let metric = metric_name(&body[m..])?;
    if metric.contains('\\') {
        return None;
    }
    let between = body[..m].strip_suffix(br#"},"metric":""#)?;
    Some((metric, time, between))
}

/// `,"value":V,"tags":{TAGS}` (or `"tags":null`, or no tags) -> (V, TAGS).
fn type_first_tail(rest: &[u8]) -> Option<(f64, &[u8])> {
    let rest = rest.strip_prefix(br#","value":"#)?;
    let end = rest.iter().position(|b| *b == b',').unwrap_or(rest.len());
    let value = number(&rest[..end])?;
    match &rest[end..] {
        b"" | br#","tags":null"# => Some((value, b"")),
        tags => Some((
            value,
            tags.strip_prefix(br#","tags":{"#)?.strip_suffix(b"}")?,
        )),
    }
}

/// `,"value":V,"tags":{TAGS}}}` -> (V, TAGS).
fn point_tail(rest: &[u8]) -> Option<(f64, &[u8])> {
    let rest = rest.strip_prefix(br#","value":"#)?;
    let end = rest.iter().position(|b| *b == b',' || *b == b'}')?;
    let value = number(&rest[..end])?;
    let rest = &rest[end..];
    if rest == b"}}" {
        return Some((value, b""));
    }
    let tags = rest.strip_prefix(br#","tags":{"#)?.strip_suffix(b"}}}")?;
    Some((value, tags))
}

/// The tags perfledger reads from a point.
#[derive(Default)]
struct Tags<'a> {
    method: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    url: Option<Cow<'a, str>>,
    scenario: Option<Cow<'a, str>>,
    group: Option<Cow<'a, str>>,
    status: Option<Cow<'a, str>>,
    check: Option<Cow<'a, str>>,
}

impl<'a> Tags<'a> {
    /// The body of a JSON object of string values; None unless it is that shape. Only the
    /// values perfledger reads are decoded (and checked to be UTF-8).
    fn scan(body: &'a [u8]) -> Option<Self> {
        Self::scan_with(body, |_, _| {})
    }

    /// A custom metric's user tags, spelled by [`tag_set`]; None unless a tag object.
    fn user_set(body: &'a [u8]) -> Option<String> {
        let mut all: Vec<(String, String)> = Vec::new();
        Self::scan_with(body, |k, v| all.push((k.to_string(), v.to_string())))?;
        Some(tag_set(all.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    /// As [`Tags::scan`], handing every tag it does not keep to `other`.
    fn scan_with(body: &'a [u8], mut other: impl FnMut(&str, &str)) -> Option<Self> {
        let mut t = Tags::default();
        let mut i = 0;
        while i < body.len() {
            let key_at = &body[i..];
            let key = json_string(key_at)?;
            i += key.taken;
            if body.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
            let value_at = &body[i..];
            let value = json_string(value_at)?;
            i += value.taken;
            let name: Cow<'_, [u8]> = if key.escaped {
                Cow::Owned(key.decode(key_at)?.into_owned().into_bytes())
            } else {
                Cow::Borrowed(key.content(key_at))
            };
            let slot = match name.as_ref() {
                b"method" => Some(&mut t.method),
                b"name" => Some(&mut t.name),
                b"url" => Some(&mut t.url),
                b"scenario" => Some(&mut t.scenario),
                b"group" => Some(&mut t.group),
                b"status" => Some(&mut t.status),
                b"check" => Some(&mut t.check),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = Some(value.decode(value_at)?);
            } else {
                other(std::str::from_utf8(&name).ok()?, &value.decode(value_at)?);
            }
            match body.get(i) {
                None => break,
                Some(b',') if i + 1 < body.len() => i += 1,
                _ => return None,
            }
        }
        Some(t)
    }
}

/// A JSON string at the start of some bytes: how many bytes it takes (quotes included) and
/// whether it holds escapes.
struct JsonString {
    taken: usize,
    escaped: bool,
}

fn json_string(b: &[u8]) -> Option<JsonString> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let end = memchr::memchr2(b'"', b'\\', &b[1..])? + 1;
    if b[end] == b'"' {
        return Some(JsonString {
            taken: end + 1,
            escaped: false,
        });
    }
    let mut j = end;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => break,
            _ => j += 1,
        }
    }
    Some(JsonString {
        taken: j + 1,
        escaped: true,
    })
}

impl JsonString {
    /// The bytes between the quotes of the string that starts `b`.
    fn content<'b>(&self, b: &'b [u8]) -> &'b [u8] {
        &b[1..self.taken - 1]
    }

    /// The string that starts `b`, unescaped; None if it is not valid JSON text.
    fn decode<'b>(&self, b: &'b [u8]) -> Option<Cow<'b, str>> {
        if self.escaped {
            return serde_json::from_slice::<String>(&b[..self.taken])
                .ok()
                .map(Cow::Owned);
        }
        let raw = self.content(b);
        if raw.iter().any(|c| *c < 0x20) {
            return None;
        }
        std::str::from_utf8(raw).ok().map(Cow::Borrowed)
    }
}

/// RFC 3339 times as seconds since the epoch (microsecond precision), remembering the last
/// time whole and its date and time of day: a request's points share one time, and
/// consecutive points mostly share the second.
#[derive(Default)]
struct TimeCache {
    head: [u8; 19],
    secs: Option<i64>,
    last: Vec<u8>,
    last_time: f64,
}

impl TimeCache {
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; None for anything else (the full parser
    /// then decides).
    fn seconds(&mut self, b: &[u8]) -> Option<f64> {
        if b == self.last.as_slice() {
            return Some(self.last_time);
        }
        let t = self.parse(b)?;
        self.last.clear();
        self.last.extend_from_slice(b);
        self.last_time = t;
        Some(t)
    }

    fn parse(&mut self, b: &[u8]) -> Option<f64> {
        if b.len() < 20 {
            return None;
        }
        let (head, tail) = b.split_at(19);
        if self.secs.is_none() || head != self.head {
            self.secs = None;
            self.secs = Some(civil_seconds(head)?);
            self.head.copy_from_slice(head);
        }
        let mut i = 0;
        let mut nanos = 0i64;
        if tail[0] == b'.' {
            i = 1;
            let mut digits = 0;
            while let Some(d) = tail.get(i).filter(|d| d.is_ascii_digit()) {
                if digits < 9 {
                    nanos = nanos * 10 + (d - b'0') as i64;
                    digits += 1;
                }
                i += 1;
            }
            if digits == 0 {
                return None;
            }
            nanos *= 10i64.pow(9 - digits);
        }
        let offset = match &tail[i..] {
            b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = two_digits(*h1, *h2)?;
                let m = two_digits(*m1, *m2)?;
                if h > 23 || m > 59 {
                    return None;
                }
                let o = h * 3600 + m * 60;
                if *sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return None,
        };
        let secs = self.secs? - offset;
        Some((secs * 1_000_000 + nanos / 1000) as f64 / 1e6)
    }
}

fn two_digits(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| ((a - b'0') * 10 + (b - b'0')) as i64)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS` read as UTC. Called once per second of
/// the run (see `TimeCache`), so chrono's calendar does the work.
fn civil_seconds(h: &[u8]) -> Option<i64> {
    if h[4] != b'-'
        || h[7] != b'-'
        || !matches!(h[10], b'T' | b't')
        || h[13] != b':'
        || h[16] != b':'
    {
        return None;
    }
    let num = |i: usize| two_digits(h[i], h[i + 1]);
    let date = chrono::NaiveDate::from_ymd_opt(
        (num(0)? * 100 + num(2)?) as i32,
        num(5)? as u32,
        num(8)? as u32,
    )?;
    let time = date.and_hms_opt(num(11)? as u32, num(14)? as u32, num(17)? as u32)?;
    Some(time.and_utc().timestamp())
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    metric: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<LineData<'a>>,
}

#[derive(Deserialize)]
struct LineData<'a> {
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    value: Option<f64>,
    #[serde(borrow, default)]
    tags: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(rename = "type", borrow)]
    metric_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

/// The full parser: any valid k6 JSON line, and the error for anything else.
fn slow(path: &Path, no: usize, line: &[u8], agg: &mut PointAgg) -> Result<()> {
    let line =
        std::str::from_utf8(line).map_err(|_| Error::input(path, Some(no), "invalid UTF-8"))?;
    let l: Line = serde_json::from_str(line)
        .map_err(|e| Error::input(path, Some(no), format!("expected a k6 JSON point: {e}")))?;
    let Some(data) = l.data else { return Ok(()) };
    match l.kind {
        "Metric" => {
            if let (Some(name), Some(t)) = (data.name.as_deref(), data.metric_type.as_deref()) {
                agg.declare(name, t);
            }
        }
        "Point" => {
            let (Some(metric), Some(time), Some(value)) =
                (l.metric.as_deref(), data.time.as_deref(), data.value)
            else {
                return Err(Error::input(
                    path,
                    Some(no),
                    "a Point needs metric, data.time and data.value",
                ));
            };
            let t = text::rfc3339(time).ok_or_else(|| {
                Error::input(
                    path,
                    Some(no),
                    format!("expected an RFC 3339 time, found '{time}'"),
                )
            })?;
            let secs = t.and_utc().timestamp_micros() as f64 / 1e6;
            let tags = data.tags.as_ref();
            let set = match tags {
                Some(m) if PointAgg::is_custom(metric) => {
                    tag_set(m.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
                }
                _ => String::new(),
            };
            agg.add(Point {
                metric,
                time: secs,
                value,
                tag: |k: &str| tags.and_then(|m| m.get(k)).map(std::convert::AsRef::as_ref),
                set: &set,
            });
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParsedRun;
    use proptest::prelude::*;

    /// The real k6 1.1 output the fold tests compare paths on.
    const SHOP_POINTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/k6/shop_points.json");

    fn k6_fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/k6")
            .join(name)
    }

    /// The real `--out json` outputs the fold tests run on, by name and path.
    fn points_fixtures() -> impl Iterator<Item = (&'static str, std::path::PathBuf)> {
        [
            "shop_points.json",
            "steps_points.json",
            "bimodal_points.json",
        ]
        .into_iter()
        .map(|f| (f, k6_fixture(f)))
    }

    proptest! {
        /// The fast time parser agrees with chrono on every time it accepts.
        #[test]
        fn fast_times_match_chrono(
            secs in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000, digits in 0usize..10,
            offset_min in -1439i32..1440, zulu in any::<bool>()
        ) {
            let frac = format!("{nanos:09}");
            let frac = if digits == 0 { String::new() } else { format!(".{}", &frac[..digits]) };
            let offset = if zulu { "Z".to_string() } else {
                format!("{}{:02}:{:02}", if offset_min < 0 { '-' } else { '+' }, offset_min.abs() / 60, offset_min.abs() % 60)
            };
            let local = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            let s = format!("{}{frac}{offset}", local.format("%Y-%m-%dT%H:%M:%S"));
            let want = text::rfc3339(&s).unwrap().and_utc().timestamp_micros() as f64 / 1e6;
            let got = TimeCache::default().seconds(s.as_bytes());
            prop_assert_eq!(got, Some(want), "{}", s);
        }

        /// One worker or several, the same file folds to the same figures.
        #[test]
        fn block_split_does_not_matter(cut in 1usize..2500) {
            let text = std::fs::read_to_string(SHOP_POINTS).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let cut = cut.min(lines.len() - 1);
            let path = Path::new("shop_points.json");
            let fold = |forward: bool| {
                let mut parts = Vec::new();
                for (seq, part) in [&lines[..cut], &lines[cut..]].into_iter().enumerate() {
                    let mut agg = PointAgg::default();
                    agg.begin(seq as u64);
                    let data = (part.join("\n") + "\n").into_bytes();
                    Folder::default().block(path, &mut agg, &data).unwrap();
                    parts.push(agg);
                }
                if !forward {
                    parts.reverse();
                }
                let mut merged = PointAgg::default();
                for p in parts {
                    merged.merge(p).unwrap();
                }
                merged.finish(path, "k6-ndjson").unwrap()
            };
            let a = fold(false);
            // the order the parts are merged in changes no bit
            prop_assert_eq!(exactly(&a), exactly(&fold(true)));
            let b = fold_file(Path::new(SHOP_POINTS), 1)
                .unwrap().0.finish(path, "k6-ndjson").unwrap();
            prop_assert_eq!(a.targets.len(), b.targets.len());
            for (ta, tb) in a.targets.iter().zip(&b.targets) {
                prop_assert_eq!(&ta.name, &tb.name);
                prop_assert_eq!(&ta.tags, &tb.tags);
                prop_assert_eq!(ta.metrics.keys().collect::<Vec<_>>(), tb.metrics.keys().collect::<Vec<_>>());
                for (m, (v, _)) in &ta.metrics {
                    let w = tb.metrics[m].0;
                    // sums in another order may differ in the last bits
                    prop_assert!((v - w).abs() <= 1e-9 * w.abs().max(1.0), "{} {}: {} vs {}", ta.name, m, v, w);
                }
                prop_assert_eq!(&ta.histogram, &tb.histogram);
            }
            prop_assert_eq!(a.series.len(), b.series.len());
            prop_assert_eq!(a.load.users, b.load.users);
        }
    }

    /// k6's documented key order (type first, metric last) folds to the same figures as the
    /// order k6 1.1 writes, on the fast path.
    #[test]
    fn both_key_orders_fold_alike() {
        let text = std::fs::read_to_string(SHOP_POINTS).unwrap();
        let mut reordered = String::new();
        let mut folder = Folder::default();
        let mut probe = PointAgg::default();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix(r#"{"metric":""#) {
                let (metric, rest) = rest.split_once('"').unwrap();
                let data = rest
                    .strip_prefix(r#","type":"Point","data":"#)
                    .unwrap()
                    .strip_suffix('}')
                    .unwrap();
                let line = format!(r#"{{"type":"Point","data":{data},"metric":"{metric}"}}"#);
                assert!(
                    folder.fast(&mut probe, line.as_bytes()),
                    "fast path declined {line}"
                );
                reordered += &line;
            } else {
                reordered += l;
            }
            reordered.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("type_first.json");
        std::fs::write(&path, reordered).unwrap();
        let a = fold_file(&path, 2)
            .unwrap()
            .0
            .finish(&path, "k6-ndjson")
            .unwrap();
        let original = Path::new(SHOP_POINTS);
        let b = fold_file(original, 2)
            .unwrap()
            .0
            .finish(original, "k6-ndjson")
            .unwrap();
        assert_eq!(a.targets.len(), b.targets.len());
        for (ta, tb) in a.targets.iter().zip(&b.targets) {
            assert_eq!(
                (&ta.name, &ta.histogram, &ta.tags),
                (&tb.name, &tb.histogram, &tb.tags)
            );
            for (m, (v, _)) in &ta.metrics {
                let w = tb.metrics[m].0;
                assert!((v - w).abs() <= 1e-9 * w.abs().max(1.0), "{} {m}", ta.name);
            }
        }
        assert_eq!(a.series.len(), b.series.len());
        let tagless = r#"{"type":"Point","data":{"time":"2017-05-09T14:34:45.625742514+02:00","value":5,"tags":null},"metric":"vus"}"#;
        assert!(folder.fast(&mut probe, tagless.as_bytes()));
    }

    /// The mapped slots (the path of plain files) fold the real outputs to the figures the
    /// buffered reader (the path of gzip files, and of every file before) gives, whatever the
    /// slot size and the number of threads.
    #[test]
    fn slots_fold_as_the_reader_does() {
        for (f, path) in points_fixtures() {
            let (read, read_source) = fold_with(&path, 1, Reading::Read).unwrap();
            let want = read.finish(&path, "k6-ndjson").unwrap();
            for (slot, workers) in [(1024, 1), (4096, 3), (65_536, 2), (SLOT, 1)] {
                let (agg, source) = fold_with(&path, workers, Reading::Mapped(slot)).unwrap();
                assert_eq!(source.blake3, read_source.blake3, "{f} slot {slot}");
                assert_eq!(source.bytes, read_source.bytes);
                let got = agg.finish(&path, "k6-ndjson").unwrap();
                assert_eq!(got.targets.len(), want.targets.len(), "{f} slot {slot}");
                for (a, b) in got.targets.iter().zip(&want.targets) {
                    assert_eq!(
                        (&a.name, &a.tags, &a.histogram),
                        (&b.name, &b.tags, &b.histogram)
                    );
                    assert_eq!(
                        a.metrics.keys().collect::<Vec<_>>(),
                        b.metrics.keys().collect::<Vec<_>>()
                    );
                    for (m, (v, _)) in &a.metrics {
                        let w = b.metrics[m].0;
                        // sums folded in another order may differ in the last bits
                        assert!(
                            (v - w).abs() <= 1e-9 * w.abs().max(1.0),
                            "{f} {} {m}",
                            a.name
                        );
                    }
                }
                assert_eq!(got.series.len(), want.series.len(), "{f} slot {slot}");
                assert_eq!(
                    (got.started_at, got.ended_at),
                    (want.started_at, want.ended_at)
                );
                assert_eq!(got.load.users, want.load.users);
            }
        }
    }

    /// Everything a fold gives, to the bit: float figures by their Debug spelling, histograms
    /// by their counts (HdrHistogram's `==`; its min/max fields depend on how parts merged).
    fn exactly(run: &ParsedRun) -> (String, Vec<Option<hdrhistogram::Histogram<u64>>>) {
        let mut targets = run.targets.clone();
        let hists = targets.iter_mut().map(|t| t.histogram.take()).collect();
        let text = format!(
            "{targets:?} {:?} {:?} {:?} {:?} {:?}",
            run.series, run.errors, run.started_at, run.ended_at, run.load.users
        );
        (text, hists)
    }

    /// However many threads share a file's slots, and whichever slots each one takes, the
    /// figures are the same bits: float sums are added part by part in file order (a plain
    /// sum in the order the threads met the slots differed in the last bits between imports
    /// of the 1 GB bench file), and tag values list in file order.
    #[test]
    fn slots_fold_to_the_same_bits_on_any_number_of_threads() {
        for (f, path) in points_fixtures() {
            let fold = |workers| {
                let (agg, _) = fold_with(&path, workers, Reading::Mapped(1024)).unwrap();
                exactly(&agg.finish(&path, "k6-ndjson").unwrap())
            };
            let want = fold(0);
            for workers in [1, 2, 3, 1, 3] {
                assert_eq!(fold(workers), want, "{f} with {workers} workers");
            }
        }
    }

    /// A tag cache emptied at every new tag object (as a file whose every request has tags
    /// of its own makes it) folds to the same figures as one that keeps them all.
    #[test]
    fn a_full_tag_cache_folds_alike() {
        let path = Path::new(SHOP_POINTS);
        let data = std::fs::read(path).unwrap();
        let fold = |mut folder: Folder| {
            let mut agg = PointAgg::default();
            let lines = folder.block(path, &mut agg, &data).unwrap();
            assert!(lines > 1000, "{lines}");
            exactly(&agg.finish(path, "k6-ndjson").unwrap())
        };
        let tiny = Folder {
            http_tags: Seen::with_max(1),
            check_tags: Seen::with_max(1),
            custom_tags: Seen::with_max(1),
            ..Folder::default()
        };
        assert_eq!(fold(tiny), fold(Folder::default()));
    }

    /// A broken line names the same line of the file on both paths.
    #[test]
    fn errors_name_the_same_line_on_both_paths() {
        let original = std::fs::read_to_string(SHOP_POINTS).unwrap();
        let mut lines: Vec<&str> = original.lines().collect();
        let broken = lines.len() * 2 / 3;
        lines[broken] = r#"{"metric":"http_reqs","type":"Point","data":{"time":"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken_by_hand.json");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let read = fold_with(&path, 2, Reading::Read)
            .err()
            .unwrap()
            .to_string();
        assert!(read.contains(&format!(":{}:", broken + 1)), "{read}");
        // the whole file in one slot: the line lies in its second piece
        assert!(original.len() > PIECE && lines[..broken].join("\n").len() > PIECE);
        for slot in [1024, 8192, SLOT] {
            let mapped = fold_with(&path, 2, Reading::Mapped(slot))
                .err()
                .unwrap()
                .to_string();
            assert_eq!(mapped, read, "slot {slot}");
        }
    }

    #[test]
    fn the_digest_taken_while_reading_is_the_files() {
        for f in ["shop_points.json", "shop_points_gz.json.gz"] {
            let path = k6_fixture(f);
            let bytes = std::fs::read(&path).unwrap();
            for workers in [1, 3] {
                let (_, source) = fold_file(&path, workers).unwrap();
                assert_eq!(
                    source.blake3,
                    blake3::hash(&bytes).to_hex().to_string(),
                    "{f}"
                );
                assert_eq!(source.bytes, bytes.len() as u64);
            }
        }
    }

    #[test]
    fn slow_path_handles_what_the_fast_path_declines() {
        let mut agg = PointAgg::default();
        let mut f = Folder::default();
        // keys in another order, an escaped tag value, a Metric line
        for l in [
            r#"{"type":"Metric","data":{"name":"cart","type":"gauge"},"metric":"cart"}"#,
            r#"{"type":"Point","metric":"http_reqs","data":{"value":1,"time":"2026-11-27T06:38:24Z","tags":{"method":"GET","name":"a\u0026b"}}}"#,
            r#"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-27T06:38:25Z","value":1,"tags":{"method":"GET","name":"a\u0026b"}}}"#,
            r#"{"metric":"cart","type":"Point","data":{"time":"2026-11-27T06:38:25Z","value":3,"tags":{}}}"#,
        ] {
            if !f.fast(&mut agg, l.as_bytes()) {
                slow(Path::new("x"), 1, l.as_bytes(), &mut agg).unwrap();
            }
        }
        let run = agg.finish(Path::new("x"), "k6-ndjson").unwrap();
        let t = run
            .targets
            .iter()
            .find(|t| t.name == "GET a&b")
            .expect("one target for both spellings");
        assert_eq!(t.get("requests"), Some(2.0));
        assert!(run.targets.iter().any(|t| t.name == "cart"));
    }
}
