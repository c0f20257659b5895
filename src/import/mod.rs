//! Importers: one module per input format behind the [`Importer`] trait.
//!
//! Detection looks at content, not names: each importer's [`Importer::sniff`] inspects the
//! first bytes of the (decompressed) file and says why it is not its format. Names are used
//! only to group a Locust CSV set (`X_stats.csv`, `X_stats_history.csv`, `X_failures.csv`,
//! `X_exceptions.csv`) into one run, as Locust itself names them.

mod ab;
mod artillery;
pub mod explain;
pub mod group;
mod h2load;
mod hey;
mod hlog;
pub mod host;
mod jmeter;
mod k6_ndjson;
mod k6_points;
mod k6_summary;
mod locust;
pub(crate) mod mapped;
mod oha;
mod pg_health;
pub mod pg_live;
mod pgbench;
mod pglog;
mod pgss;
pub mod prometheus;
mod series;
mod siege;
pub mod text;
mod wrk;

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Parsed, SourceFile};

/// How many bytes sniffing looks at.
const PROBE_BYTES: usize = 64 * 1024;

/// The first bytes of a file, decompressed when it is gzip.
pub struct Probe<'a> {
    pub path: &'a Path,
    pub head: &'a str,
}

impl Probe<'_> {
    pub fn first_line(&self) -> &str {
        self.head
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
    }
}

/// Options that apply to every run of one `import` call.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub labels: BTreeMap<String, String>,
    pub scenario: Option<String>,
    /// Start time for outputs that carry none.
    pub at: Option<NaiveDateTime>,
    /// For pg_stat_statements files: the server they came from.
    pub server: Option<String>,
    /// Attach pg_stat_statements snapshots to this run.
    pub run: Option<i64>,
    /// Every output of this import is of one test (no same-folder condition); see `group`.
    pub run_group: bool,
    /// The unit of values for formats that do not name it (HdrHistogram logs): milliseconds
    /// per value and the unit's name.
    pub value_unit: Option<(f64, &'static str)>,
    /// `exec --pg-log`: the statements of the database's log during the run, added to the one
    /// run this import makes (their query times beside the load tool's endpoints).
    pub statements: Option<crate::model::ParsedRun>,
}

/// One thing to import: a file, or a Locust CSV set (primary + siblings by role).
#[derive(Debug, Clone)]
pub struct Unit {
    pub primary: PathBuf,
    pub siblings: BTreeMap<&'static str, PathBuf>,
}

impl Unit {
    pub fn display(&self) -> String {
        self.primary.display().to_string()
    }
}

pub trait Importer: Sync {
    /// Format name, e.g. `k6-summary-export`.
    fn name(&self) -> &'static str;
    /// Tool name as `--tool` accepts it.
    fn tool(&self) -> &'static str;
    /// `Ok(())` when the probe looks like this format, otherwise why not.
    fn sniff(&self, probe: &Probe) -> Result<(), String>;
    fn parse(&self, unit: &Unit, opts: &ImportOptions) -> Result<Parsed>;
}

pub fn importers() -> Vec<&'static dyn Importer> {
    vec![
        &locust::LocustCsv,
        &locust::LocustJson,
        &locust::LocustHtml,
        &k6_summary::K6SummaryExport,
        &k6_summary::K6HandleSummary,
        &k6_ndjson::K6Ndjson,
        &k6_points::K6Csv,
        &wrk::WrkText,
        &wrk::WrkLuaReport,
        &ab::AbText,
        &ab::AbHtml,
        &ab::AbGnuplot,
        &ab::AbPercentiles,
        &hey::HeyText,
        &hey::HeyCsv,
        &oha::OhaJson,
        &siege::SiegeText,
        &siege::SiegeJson,
        &h2load::H2loadText,
        &h2load::H2loadLog,
        &jmeter::JmeterCsv,
        &jmeter::JmeterXml,
        &hlog::HdrLog,
        &pgss::PgssCsv,
        &pgss::PgssJson,
        &pg_health::PgHealthJson,
        &pglog::PgJsonLog,
        &pglog::PgCsvLog,
        &pgbench::PgbenchStdout,
        &pgbench::PgbenchTxLog,
        &pgbench::PgbenchAggregateLog,
        &artillery::ArtilleryReport,
        &prometheus::PrometheusJson,
        &series::SeriesCsv,
        &series::SeriesJson,
    ]
}

pub fn tool_names() -> Vec<&'static str> {
    let mut names: Vec<_> = importers().iter().map(|i| i.tool()).collect();
    names.sort();
    names.dedup();
    names
}

/// Expands directories (recursively, sorted, hidden entries skipped) and groups Locust sets.
/// `explicit` tells, per unit, whether the user named it (an unrecognised named file is an
/// error; an unrecognised file found in a directory is skipped).
pub fn collect_units(paths: &[PathBuf]) -> Result<Vec<(Unit, bool)>> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for p in paths {
        let meta =
            std::fs::metadata(p).map_err(|e| Error::input(p, None, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            walk(p, &mut files)?;
        } else {
            files.push((p.clone(), true));
        }
    }
    Ok(group_locust_sets(files))
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir, None, format!("cannot list directory: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push((p, false));
        }
    }
    Ok(())
}

const LOCUST_ROLES: [(&str, &str); 4] = [
    ("_stats_history.csv", "history"),
    ("_stats.csv", "stats"),
    ("_failures.csv", "failures"),
    ("_exceptions.csv", "exceptions"),
];

fn locust_role(path: &Path) -> Option<(String, &'static str)> {
    let name = path.to_string_lossy();
    LOCUST_ROLES.iter().find_map(|(suffix, role)| {
        name.strip_suffix(suffix)
            .map(|prefix| (prefix.to_string(), *role))
    })
}

fn group_locust_sets(files: Vec<(PathBuf, bool)>) -> Vec<(Unit, bool)> {
    let mut sets: BTreeMap<String, (BTreeMap<&'static str, PathBuf>, bool)> = BTreeMap::new();
    let mut units = Vec::new();
    for (path, explicit) in &files {
        if let Some((prefix, role)) = locust_role(path) {
            let entry = sets.entry(prefix).or_default();
            entry.0.insert(role, path.clone());
            entry.1 |= *explicit;
        }
    }
    let mut emitted = std::collections::BTreeSet::new();
    for (path, explicit) in files {
        match locust_role(&path) {
            Some((prefix, _)) => {
                if !emitted.insert(prefix.clone()) {
                    continue;
                }
                let (mut members, explicit) = sets.remove(&prefix).unwrap_or_default();
                // A set named by one of its members also takes the members the user did not name.
                for (suffix, role) in LOCUST_ROLES {
                    let candidate = PathBuf::from(format!("{prefix}{suffix}"));
                    if !members.contains_key(role) && candidate.is_file() {
                        members.insert(role, candidate);
                    }
                }
                let primary = members
                    .get("stats")
                    .or_else(|| members.values().next())
                    .cloned()
                    .unwrap_or(path);
                units.push((
                    Unit {
                        primary,
                        siblings: members,
                    },
                    explicit,
                ));
            }
            None => units.push((
                Unit {
                    primary: path,
                    siblings: BTreeMap::new(),
                },
                explicit,
            )),
        }
    }
    units
}

/// Reads a whole file as one JSON document; a parse error names the line and what the file
/// was expected to be.
pub fn read_json(path: &Path, expected: &str) -> Result<serde_json::Value> {
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .map_err(|e| Error::input(path, Some(e.line()), format!("expected {expected}: {e}")))
}

/// Reads a whole file as text: gzip is decompressed; empty, binary and non-UTF-8 files are
/// rejected with the offset of the first offending byte.
pub fn read_text(path: &Path) -> Result<String> {
    let raw =
        std::fs::read(path).map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    crate::progress::bytes(raw.len() as u64);
    decode_text(path, raw)
}

fn decode_text(path: &Path, raw: Vec<u8>) -> Result<String> {
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                Error::input(
                    path,
                    None,
                    format!("gzip stream is damaged or truncated: {e}"),
                )
            })?;
        out
    } else {
        raw
    };
    validate_text(path, bytes, false)
}

/// Rejects empty, binary (NUL) and non-UTF-8 content, with the offset of the first bad byte.
/// `cut_tail_ok`: the bytes are a prefix, so a multi-byte character cut at the end is dropped.
fn validate_text(path: &Path, mut bytes: Vec<u8>, cut_tail_ok: bool) -> Result<String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::input(
            path,
            None,
            "the file is empty: expected a tool's output",
        ));
    }
    if let Some(pos) = memchr::memchr(0, &bytes) {
        return Err(Error::at_offset(
            path,
            pos as u64,
            "binary data (NUL byte): expected a tool's text output",
        ));
    }
    if let Err(e) = std::str::from_utf8(&bytes) {
        if !(cut_tail_ok && e.error_len().is_none()) {
            return Err(Error::at_offset(
                path,
                e.valid_up_to() as u64,
                "invalid UTF-8: expected a tool's text output",
            ));
        }
        bytes.truncate(e.valid_up_to());
    }
    String::from_utf8(bytes)
        .map_err(|e| Error::at_offset(path, e.utf8_error().valid_up_to() as u64, "invalid UTF-8"))
}

/// The first [`PROBE_BYTES`] of a file as text (decompressed for gzip), for sniffing.
pub fn probe_text(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    let mut head = vec![0u8; PROBE_BYTES];
    let n = read_up_to(&mut f, &mut head)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    head.truncate(n);
    if head.starts_with(&[0x1f, 0x8b]) {
        let f = std::fs::File::open(path)
            .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
        let mut dec = flate2::read::MultiGzDecoder::new(f);
        let mut out = vec![0u8; PROBE_BYTES];
        let n = read_up_to(&mut dec, &mut out).map_err(|e| {
            Error::input(
                path,
                None,
                format!("gzip stream is damaged or truncated: {e}"),
            )
        })?;
        out.truncate(n);
        head = out;
    }
    validate_text(path, head, true)
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
pub(crate) fn read_up_to(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Picks the importer for a unit: the forced tool's formats, or every format.
pub fn detect(unit: &Unit, tool: Option<&str>) -> Result<&'static dyn Importer> {
    let head = probe_text(&unit.primary)?;
    let probe = Probe {
        path: &unit.primary,
        head: &head,
    };
    let mut tried = Vec::new();
    for imp in importers() {
        if tool.is_some_and(|t| t != imp.tool()) {
            continue;
        }
        match imp.sniff(&probe) {
            Ok(()) => return Ok(imp),
            Err(why) => tried.push(format!("{}: {why}", imp.name())),
        }
    }
    if tool.is_none() {
        // Listing twenty reasons helps nobody; name the formats and the likely next step.
        tried = vec![format!(
            "expected the output of one of: {} (see `perfledger import --help`)",
            tool_names().join(", ")
        )];
    }
    Err(Error::Unrecognized {
        path: unit.primary.clone(),
        tried,
    })
}

/// BLAKE3 digest (hex) and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    let mut hasher = blake3::Hasher::new();
    let bytes = std::io::copy(&mut f, &mut hasher)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    Ok((hasher.finalize().to_hex().to_string(), bytes))
}

/// A file read for parsing and digested (BLAKE3) on the way, so a multi-gigabyte output is read
/// once, not once more for its content key.
pub struct Digesting {
    path: PathBuf,
    file: std::fs::File,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl Digesting {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
        Ok(Digesting {
            path: path.to_path_buf(),
            file,
            hasher: blake3::Hasher::new(),
            bytes: 0,
        })
    }

    /// The file's source record, digesting what the parser did not read (a gzip trailer,
    /// trailing bytes).
    pub fn finish(mut self, role: &'static str) -> Result<SourceFile> {
        std::io::copy(&mut self, &mut std::io::sink())
            .map_err(|e| Error::input(&self.path, None, format!("cannot read: {e}")))?;
        Ok(SourceFile {
            path: self.path.display().to_string(),
            role,
            blake3: self.hasher.finalize().to_hex().to_string(),
            bytes: self.bytes,
        })
    }
}

impl Read for Digesting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        crate::progress::bytes(n as u64);
        Ok(n)
    }
}

/// `r` buffered, and decompressed when it starts with gzip's magic bytes; and whether it was.
pub fn maybe_gz<'a>(r: impl Read + 'a) -> (Box<dyn BufRead + 'a>, bool) {
    let mut r = std::io::BufReader::with_capacity(1 << 20, r);
    let gz = r
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false);
    if gz {
        let decoder = flate2::read::MultiGzDecoder::new(r);
        (
            Box::new(std::io::BufReader::with_capacity(1 << 20, decoder)),
            true,
        )
    } else {
        (Box::new(r), false)
    }
}

/// SHA-256 of a file: the digest of warehouses written before schema 3.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut f, &mut hasher)
        .map_err(|e| Error::input(path, None, format!("cannot read: {e}")))?;
    Ok((hex(&hasher.finalize()), bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The source-file records of a unit: the primary file and its siblings.
pub fn sources(unit: &Unit, primary_role: &'static str) -> Result<Vec<SourceFile>> {
    sources_with(unit, primary_role, None)
}

/// As [`sources`], with the digest of one file the importer took while reading it (its role
/// and path say which), so that file is not read again.
pub fn sources_with(
    unit: &Unit,
    primary_role: &'static str,
    digested: Option<&SourceFile>,
) -> Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    let mut add = |path: &Path, role: &'static str| -> Result<()> {
        if let Some(d) = digested.filter(|d| d.role == role && Path::new(&d.path) == path) {
            out.push(d.clone());
            return Ok(());
        }
        let (blake3, bytes) = hash_file(path)?;
        out.push(SourceFile {
            path: path.display().to_string(),
            role,
            blake3,
            bytes,
        });
        Ok(())
    };
    if unit.siblings.is_empty() {
        add(&unit.primary, primary_role)?;
    } else {
        for (role, path) in &unit.siblings {
            add(path, role)?;
        }
    }
    Ok(out)
}

/// Content key of a run: its files' digests (not their names), so the same content imported
/// from another path is recognised as already there. `blake3:` + BLAKE3 over the sorted
/// `role:digest` lines and the importer's suffix.
pub fn content_key(sources: &[SourceFile], suffix: Option<&str>) -> String {
    let parts: Vec<(String, String)> = sources
        .iter()
        .map(|s| (s.role.to_string(), s.blake3.clone()))
        .collect();
    content_key_of(&parts, suffix)
}

/// The content key of (role, BLAKE3 digest) pairs: what `content_key` computes, for callers
/// that hold digests rather than parsed sources (the schema 4 migration).
pub fn content_key_of(parts: &[(String, String)], suffix: Option<&str>) -> String {
    let parts = parts.iter().map(|(r, b)| format!("{r}:{b}")).collect();
    format!(
        "blake3:{}",
        blake3::hash(&key_material(parts, suffix)).to_hex()
    )
}

/// What a content key digests: the sorted `role:digest` lines, then the importer's suffix.
fn key_material(mut parts: Vec<String>, suffix: Option<&str>) -> Vec<u8> {
    parts.sort();
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(p.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(suffix.unwrap_or("").as_bytes());
    out
}

/// The content key schema 1 and 2 gave the same sources (SHA-256 throughout), read again from
/// their paths: how an import recognises a file an older perfledger stored.
pub fn legacy_content_key(sources: &[SourceFile], suffix: Option<&str>) -> Result<String> {
    let parts = sources
        .iter()
        .map(|s| Ok(format!("{}:{}", s.role, sha256_file(Path::new(&s.path))?.0)))
        .collect::<Result<_>>()?;
    Ok(hex(&Sha256::digest(key_material(parts, suffix))))
}

/// Parses one unit with the chosen importer and stamps options and sources on the result.
pub fn parse_unit(unit: &Unit, imp: &dyn Importer, opts: &ImportOptions) -> Result<Parsed> {
    let mut parsed = imp.parse(unit, opts)?;
    if let Parsed::Runs(runs) = &mut parsed {
        // an importer that read its file whole has already digested it
        let sources = if runs.iter().all(|r| !r.sources.is_empty()) {
            Vec::new()
        } else {
            sources(unit, "output")?
        };
        for run in runs.iter_mut() {
            if run.sources.is_empty() {
                run.sources = sources.clone();
            }
            for (k, v) in &opts.labels {
                run.labels.insert(k.clone(), v.clone());
            }
            if opts.scenario.is_some() {
                run.scenario = opts.scenario.clone();
            }
            apply_at(run, opts.at);
            run.finish();
        }
    }
    Ok(parsed)
}

/// `--at` gives a run without a time of its own its start: a run with no time gets it, and a
/// run timed from its file's modification time is shifted (start, end and interval points)
/// so that it starts at `at`.
fn apply_at(run: &mut crate::model::ParsedRun, at: Option<NaiveDateTime>) {
    let Some(at) = at else { return };
    match run.started_at {
        None => run.started_at = Some(at),
        Some(start) if run.labels.get("time_source").map(String::as_str) == Some("file-mtime") => {
            let delta = at - start;
            run.started_at = Some(at);
            run.ended_at = run.ended_at.map(|e| e + delta);
            for p in &mut run.series {
                p.ts += delta;
            }
            if let Some(f) = run.series_feed.as_mut() {
                f.shift_us += delta.num_microseconds().unwrap_or(0);
            }
        }
        Some(_) => return,
    }
    run.labels.insert("time_source".into(), "--at".into());
}
