//! `perfledger sync`: brings the index up to date with the lake, reading only files it has
//! not seen. A unit (run, snapshot or resource capture) is read once its head file is listed; its other files
//! were written before the head, so they are listed too. Units already in the index are
//! skipped; of several files holding the same unit (a compacted file and the small files it
//! replaces) one is read. Everything a sync adds is one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use duckdb::{params, Connection};

use super::layout::{self, classify, file_id, kind_of, Kind, Table, UnitKind, RUN, UNIT_KINDS};
use super::{events, Entry, Lake};
use crate::error::{Error, Result};
use crate::store::{sql_err, ts, Warehouse};

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub lake: String,
    /// Runs added to the index.
    pub runs: usize,
    pub snapshots: usize,
    /// Resource captures added.
    pub captures: usize,
    pub events: usize,
    /// Files read or recorded as seen.
    pub files: usize,
    /// Files of units whose head file is not there yet (an import under way, or one that was
    /// killed: `lake vacuum` removes those).
    pub pending: usize,
}

/// The lake's unseen objects, sorted by what they are.
#[derive(Default)]
struct Listing {
    /// Unseen files per table: unit files with their id, compacted files with None.
    unseen: HashMap<String, Vec<(Option<String>, Entry)>>,
    events: Vec<Entry>,
    has_marker: bool,
}

fn head_of(table: &str) -> &'static str {
    kind_of(table).map_or(RUN.name, |k| k.head.name)
}

fn list(lake: &Lake, seen: &HashSet<String>) -> Result<Listing> {
    crate::progress::stage(&format!("sync: listing {}", lake.url()));
    let mut l = Listing::default();
    for e in lake.list_heads_first()? {
        let kind = classify(lake.url(), &e.rel)?;
        if kind == Kind::Marker {
            l.has_marker = true;
        }
        if seen.contains(&e.rel) {
            continue;
        }
        match kind {
            Kind::Marker | Kind::Staging => {}
            Kind::Event => l.events.push(e),
            Kind::Unit { table, id, .. } => l.unseen.entry(table).or_default().push((Some(id), e)),
            Kind::Compact { table, .. } => l.unseen.entry(table).or_default().push((None, e)),
        }
    }
    Ok(l)
}

/// The file ids of every unit in the index, per head table: a unit file whose id is not
/// among them belongs to a unit whose head is not there yet.
fn indexed_ids(conn: &Connection) -> Result<HashMap<&'static str, HashSet<String>>> {
    let mut out = HashMap::new();
    for k in UNIT_KINDS {
        let (head, table) = (k.head.name, k.local);
        let mut st = conn
            .prepare(&format!("SELECT content_key FROM {table}"))
            .map_err(sql_err)?;
        let keys = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        let mut ids = HashSet::new();
        for k in keys {
            ids.insert(file_id(&k.map_err(sql_err)?));
        }
        out.insert(head, ids);
    }
    Ok(out)
}

/// The unseen files of `table` to read: compacted ones, and unit files of new units.
fn wanted(l: &Listing, table: &str, new_ids: &HashSet<String>) -> Vec<Entry> {
    l.unseen
        .get(table)
        .map(|v| {
            v.iter()
                .filter(|(id, _)| id.as_ref().is_none_or(|id| new_ids.contains(id)))
                .map(|(_, e)| e.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn rels(v: &[Entry]) -> Vec<String> {
    v.iter().map(|e| e.rel.clone()).collect()
}

/// Stages the unseen head files of one head table; returns the keys of units new to the index.
fn stage_heads(
    conn: &Connection,
    lake: &Lake,
    l: &Listing,
    kind: &UnitKind,
    tmp: &tempfile::TempDir,
) -> Result<Vec<String>> {
    let head = kind.head;
    let files: Vec<Entry> = l
        .unseen
        .get(head.name)
        .map(|v| v.iter().map(|(_, e)| e.clone()).collect())
        .unwrap_or_default();
    let stage = format!("s_{}", head.name);
    if files.is_empty() {
        return Ok(Vec::new());
    }
    crate::progress::stage(&format!(
        "sync: reading {} new {} file(s)",
        files.len(),
        head.name
    ));
    let paths = lake.readable(&rels(&files), tmp, head.name)?;
    // when each head file entered the lake: the run's imported_at in this index
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE s_mtime (filename VARCHAR, modified TIMESTAMP);",
    )
    .map_err(sql_err)?;
    {
        let mut app = conn.appender("s_mtime").map_err(sql_err)?;
        for (p, e) in paths.iter().zip(&files) {
            app.append_row(params![p, ts(e.modified)])
                .map_err(sql_err)?;
        }
        app.flush().map_err(sql_err)?;
    }
    let local = kind.local;
    let scan = super::read::source(conn, head.name, &files, &paths)?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {stage} AS
         SELECT * FROM (
             SELECT h.*, m.modified, min(h.filename) OVER (PARTITION BY h.{key}) AS first_file
             FROM {scan} h
             JOIN s_mtime m ON m.filename = h.filename
         ) WHERE filename = first_file AND {key} NOT IN (SELECT content_key FROM {local});",
        key = head.key,
        scan = scan.sql,
    ))
    .map_err(sql_err)?;
    scan.release(conn)?;
    let keys: Vec<String> = {
        let mut st = conn
            .prepare(&format!("SELECT {} FROM {stage}", head.key))
            .map_err(sql_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(sql_err)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(sql_err)?
    };
    Ok(keys)
}

/// Inserts the staged new units' head rows, then their part tables' rows.
fn insert_units(
    conn: &Connection,
    lake: &Lake,
    l: &Listing,
    kind: &UnitKind,
    keys: &[String],
    tmp: &tempfile::TempDir,
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let stage = format!("s_{}", kind.head.name);
    conn.execute_batch(&head_insert(kind, &stage))
        .map_err(sql_err)?;
    let new_ids: HashSet<String> = keys.iter().map(|k| file_id(k)).collect();
    let local_ids = new_local_ids(conn, kind, &stage)?;
    for t in kind.parts {
        let files = wanted(l, t.name, &new_ids);
        if files.is_empty() {
            continue;
        }
        crate::progress::stage(&format!("sync: reading {} {} file(s)", files.len(), t.name));
        let paths = lake.readable(&rels(&files), tmp, t.name)?;
        if t.name != layout::SERIES_POINT && !files.iter().any(Entry::is_compacted) {
            // one file per unit: its rows go straight in, what arrow-rs does not read by SQL
            let rest = super::read::append_units(conn, t, kind.fk, &local_ids, &files, &paths)?;
            if !rest.is_empty() {
                let select = part_select(kind, t, &stage, &layout::parquet_scan(&rest), "");
                insert_part(conn, kind, t, &select)?;
            }
            continue;
        }
        let source = super::read::source(conn, t.name, &files, &paths)?;
        let src = &source.sql;
        // A unit's rows are in one file per table unless a compacted file holds them too:
        // only then pick one file per unit (a small table of keys, not a window over rows).
        let pick = if files.iter().any(Entry::is_compacted) {
            conn.execute_batch(&format!(
                "CREATE OR REPLACE TEMP TABLE s_pick AS
                 SELECT {key} AS k, min(filename) AS f FROM (SELECT DISTINCT {key}, filename FROM {src}) GROUP BY ALL;",
                key = t.key
            ))
            .map_err(sql_err)?;
            format!(
                "JOIN s_pick s ON s.k = p.{key} AND s.f = p.filename",
                key = t.key
            )
        } else {
            String::new()
        };
        insert_part(conn, kind, t, &part_select(kind, t, &stage, src, &pick))?;
        source.release(conn)?;
    }
    Ok(())
}

/// The local ids of the units staged in `stage`, by key.
fn new_local_ids(conn: &Connection, kind: &UnitKind, stage: &str) -> Result<HashMap<String, i64>> {
    let mut st = conn
        .prepare(&format!(
            "SELECT o.content_key, o.id FROM {owner} o JOIN {stage} n ON n.{key} = o.content_key",
            owner = kind.local,
            key = kind.head.key,
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?;
    rows.collect::<std::result::Result<_, _>>().map_err(sql_err)
}

/// The rows of a part table's source `src` that belong to the staged new units, with their
/// local id as the table's first column.
fn part_select(kind: &UnitKind, t: &Table, stage: &str, src: &str, pick: &str) -> String {
    format!(
        "SELECT o.id AS {fk}, {p_cols} FROM {src} p {pick}
         JOIN {stage} n ON n.{key} = p.{key}
         JOIN {owner} o ON o.content_key = p.{key}",
        fk = kind.fk,
        p_cols = t.cols_of("p"),
        key = t.key,
        owner = kind.local,
    )
}

/// Inserts `select`'s rows into the index table of `t`.
fn insert_part(conn: &Connection, kind: &UnitKind, t: &Table, select: &str) -> Result<()> {
    let insert = if t.name == layout::SERIES_POINT {
        // the lake keeps points with their names; the index keeps each series once
        // (schema/006_series.sql): new runs only, so ids start at 0 per run
        format!(
            "CREATE OR REPLACE TEMP TABLE s_points AS {select};
             INSERT INTO series
             SELECT run_id, (row_number() OVER (PARTITION BY run_id ORDER BY target, metric) - 1)::INTEGER,
                    target, metric
             FROM (SELECT DISTINCT run_id, target, metric FROM s_points);
             INSERT INTO series_value
             SELECT p.run_id, s.sid, p.ts, p.value
             FROM s_points p JOIN series s USING (run_id, target, metric)
             ORDER BY p.rowid;
             DROP TABLE s_points;"
        )
    } else {
        format!(
            "INSERT INTO {table} ({fk}, {cols}) {select};",
            table = t.name,
            fk = kind.fk,
            cols = t.cols.join(", ")
        )
    };
    conn.execute_batch(&insert).map_err(sql_err)
}

/// The INSERT of a kind's staged head rows into the index (runs by key, for the others).
fn head_insert(kind: &UnitKind, stage: &str) -> String {
    match kind.local {
        "run" => format!(
            "INSERT INTO run ({cols}, content_key, imported_at) SELECT {cols}, run_key, modified FROM {stage};",
            cols = RUN.cols.join(", ")
        ),
        "pg_snapshot" => format!(
            "INSERT INTO pg_snapshot (server, taken_at, stats_reset, source, run_id, content_key, imported_at)
             SELECT s.server, s.taken_at, s.stats_reset, s.source, r.id, s.snapshot_key, s.modified
             FROM {stage} s LEFT JOIN run r ON r.content_key = s.run_key;"
        ),
        _ => format!(
            "INSERT INTO resource_capture (source, started_at, ended_at, step_s, run_id, content_key, imported_at)
             SELECT s.source, s.started_at, s.ended_at, s.step_s, r.id, s.capture_key, s.modified
             FROM {stage} s LEFT JOIN run r ON r.content_key = s.run_key;"
        ),
    }
}

fn seen_files(conn: &Connection) -> Result<HashSet<String>> {
    let mut st = conn
        .prepare("SELECT path FROM lake_file")
        .map_err(sql_err)?;
    let rows = st.query_map([], |r| r.get(0)).map_err(sql_err)?;
    rows.collect::<std::result::Result<_, _>>().map_err(sql_err)
}

fn bound_url(conn: &Connection) -> Result<Option<String>> {
    conn.query_row("SELECT max(url) FROM lake_binding", [], |r| r.get(0))
        .map_err(sql_err)
}

/// Refuses an index that follows another lake.
pub(crate) fn check_binding(conn: &Connection, lake: &Lake, db: &std::path::Path) -> Result<()> {
    match bound_url(conn)? {
        Some(u) if u != lake.id() => Err(crate::store::wh_err(
            db,
            format!("this index follows the lake {u}, not {}: use another --db for this lake (or `perfledger lake rebuild` to re-point it)", lake.id()),
        )),
        _ => Ok(()),
    }
}

/// Records the lake an index follows, once something of it was read or written (inside
/// that transaction, so a failed first contact binds nothing).
pub(crate) fn bind(conn: &Connection, lake: &Lake) -> Result<()> {
    if bound_url(conn)?.is_none() {
        conn.execute(
            "INSERT INTO lake_binding VALUES (?, current_timestamp)",
            params![lake.id()],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

fn sync_once(conn: &mut Connection, lake: &Lake) -> Result<SyncReport> {
    let seen = seen_files(conn)?;
    let l = list(lake, &seen)?;
    if l.has_marker {
        layout::read_marker(lake.url(), &lake.get(layout::MARKER)?)?;
    }
    let tmp = tempfile::tempdir().map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
    let ev = events::read_new(lake, &l.events)?;
    // a sync of a whole history streams: DuckDB spills rather than holding it all. 128 MB,
    // not 192: 50,000 small files peak at 246 MB instead of 295 MB in the same time, a
    // compacted lake 1.9 s either way, an 8 h Locust points file 5.5 s instead of 4.2 s
    // (its sort spills more)
    conn.execute_batch("SET memory_limit = '128MB'; SET preserve_insertion_order = false;")
        .map_err(sql_err)?;
    let tx = conn.transaction().map_err(sql_err)?;
    // runs first: snapshots and captures find their run by its key
    let mut added = Vec::new();
    for kind in UNIT_KINDS {
        let keys = stage_heads(&tx, lake, &l, kind, &tmp)?;
        insert_units(&tx, lake, &l, kind, &keys, &tmp)?;
        added.push(keys.len());
    }
    let n_events = events::apply(&tx, &ev)?;
    bind(&tx, lake)?;
    // record what was read, and the files of units already indexed; leave the rest pending
    let known = indexed_ids(&tx)?;
    let mut files = 0;
    let mut pending = 0;
    {
        let mut app = tx.appender("lake_file").map_err(sql_err)?;
        let now = ts(chrono::Utc::now().naive_utc());
        for (table, list) in &l.unseen {
            let ids = known.get(head_of(table));
            for (id, e) in list {
                if id
                    .as_ref()
                    .is_some_and(|id| !ids.is_some_and(|s| s.contains(id)))
                {
                    pending += 1;
                    continue;
                }
                app.append_row(params![e.rel, e.bytes as i64, now])
                    .map_err(sql_err)?;
                files += 1;
            }
        }
        for e in &l.events {
            app.append_row(params![e.rel, e.bytes as i64, now])
                .map_err(sql_err)?;
            files += 1;
        }
        app.flush().map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)?;
    Ok(SyncReport {
        lake: lake.url().to_string(),
        runs: added[0],
        snapshots: added[1],
        captures: added[2],
        events: n_events,
        files,
        pending,
    })
}

/// A file listed a moment ago and gone now: a compaction removed it. Listing again helps.
fn vanished(e: &Error) -> bool {
    let m = e.to_string();
    m.contains("No such file")
        || m.contains("not found")
        || m.contains("NotFound")
        || m.contains("No files found")
}

impl Warehouse {
    /// Brings the index up to date with the lake (see the module docs).
    pub fn sync(&mut self) -> Result<SyncReport> {
        let Some(lake) = self.lake.as_ref() else {
            return Err(super::no_lake());
        };
        check_binding(&self.conn, lake, &self.path)?;
        let mut attempt = 0;
        loop {
            match sync_once(&mut self.conn, lake) {
                Err(e) if vanished(&e) && attempt < 3 => attempt += 1,
                r => {
                    // the limits are for the sync: the command's own queries run as before
                    self.conn
                        .execute_batch("RESET memory_limit; RESET preserve_insertion_order;")
                        .map_err(sql_err)?;
                    let report = r?;
                    self.index_history(crate::store::history_index::IndexStep::SYNC)?;
                    return Ok(report);
                }
            }
        }
    }

    /// Run keys of the index, for tests and `lake status`.
    pub fn run_keys(&self) -> Result<BTreeSet<String>> {
        let keys: Vec<String> = self.rows("SELECT content_key FROM run", [], |r| r.get(0))?;
        Ok(keys.into_iter().collect())
    }
}

impl Warehouse {
    /// Recreates the index at `loc.db` from the lake alone: a fresh file beside it is synced,
    /// then moved over it. Runs imported without --lake are not in the lake and are dropped.
    pub fn rebuild(loc: &crate::store::Location) -> Result<SyncReport> {
        let mut name = loc.db.as_os_str().to_owned();
        name.push(".rebuild");
        let fresh = PathBuf::from(name);
        let wal = |p: &std::path::Path| {
            let mut w = p.as_os_str().to_owned();
            w.push(".wal");
            PathBuf::from(w)
        };
        for p in [fresh.clone(), wal(&fresh)] {
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| crate::store::wh_err(&p, e))?;
            }
        }
        let report = {
            let mut wh = Warehouse::open_write(&crate::store::Location {
                db: fresh.clone(),
                lake: loc.lake.clone(),
                offline: false,
            })?;
            wh.sync()?
        };
        if wal(&loc.db).exists() {
            std::fs::remove_file(wal(&loc.db)).map_err(|e| crate::store::wh_err(&loc.db, e))?;
        }
        std::fs::rename(&fresh, &loc.db).map_err(|e| crate::store::wh_err(&loc.db, e))?;
        Ok(report)
    }
}
