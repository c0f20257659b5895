//! `lake compact` and `lake vacuum`: housekeeping that is safe while others write and read.
//!
//! Compaction merges a month's files into one per table and partition. It writes the merged
//! part files, then the merged head file, and only then deletes what it merged (heads first),
//! so at every moment each run is readable from the small files, the merged file or both;
//! readers deduplicate by run key. The merged file is named by the digest of the run keys it
//! holds: two compactions of the same files write the same name. Files of runs whose head is
//! not there (an import under way) are left alone.
//!
//! Vacuum removes what a killed writer left: part files without a head older than a grace
//! period, the staging files of a killed upload to a folder lake, and unit files that a
//! compacted file already holds (left by a compaction that was interrupted).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use duckdb::Connection;

use super::layout::{
    classify, compact_path, file_id, parquet_scan, Kind, Partition, Table, UnitKind, UNIT_KINDS,
};
use super::publish::copy_to;
use super::{Entry, Lake};
use crate::error::{Error, Result};
use crate::store::{lit, sql_err};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactReport {
    pub lake: String,
    pub month: String,
    pub partitions: usize,
    pub units: usize,
    pub files_written: usize,
    pub files_removed: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VacuumReport {
    pub lake: String,
    pub dry_run: bool,
    /// Part files of runs that never got a head (killed imports).
    pub orphans: Vec<String>,
    /// Staging files of killed uploads to a folder lake.
    pub staging: Vec<String>,
    /// Unit files a compacted file already holds.
    pub superseded: Vec<String>,
}

/// The files of one partition, per table: (unit id or None for compacted, entry).
type Files = BTreeMap<String, Vec<(Option<String>, Entry)>>;

fn partitions(lake: &Lake, entries: &[Entry]) -> Result<BTreeMap<Partition, Files>> {
    let mut out: BTreeMap<Partition, Files> = BTreeMap::new();
    for e in entries {
        match classify(lake.url(), &e.rel)? {
            Kind::Unit { table, part, id } => out
                .entry(part)
                .or_default()
                .entry(table)
                .or_default()
                .push((Some(id), e.clone())),
            Kind::Compact { table, part } => out
                .entry(part)
                .or_default()
                .entry(table)
                .or_default()
                .push((None, e.clone())),
            _ => {}
        }
    }
    Ok(out)
}

/// The keys held by a head table's files.
fn keys_of(conn: &Connection, head: &Table, paths: &[String]) -> Result<BTreeSet<String>> {
    if paths.is_empty() {
        return Ok(BTreeSet::new());
    }
    let mut st = conn
        .prepare(&format!(
            "SELECT DISTINCT {} FROM {}",
            head.key,
            parquet_scan(paths)
        ))
        .map_err(sql_err)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    rows.collect::<std::result::Result<_, _>>().map_err(sql_err)
}

/// The files of a table that belong to units with a head (by id), plus its compacted files.
fn members<'a>(files: &'a Files, table: &str, ids: &HashSet<String>) -> Vec<&'a Entry> {
    files
        .get(table)
        .map(|v| {
            v.iter()
                .filter(|(id, _)| id.as_ref().is_none_or(|i| ids.contains(i)))
                .map(|(_, e)| e)
                .collect()
        })
        .unwrap_or_default()
}

/// Compacts one head/parts group of one partition; (units, written, removed).
fn compact_group(
    conn: &Connection,
    lake: &Lake,
    part: &Partition,
    files: &Files,
    g: &UnitKind,
    tmp: &tempfile::TempDir,
) -> Result<(usize, usize, usize)> {
    let heads: Vec<&Entry> = files
        .get(g.head.name)
        .map(|v| v.iter().map(|(_, e)| e).collect())
        .unwrap_or_default();
    let ids: HashSet<String> = files
        .get(g.head.name)
        .map(|v| v.iter().filter_map(|(id, _)| id.clone()).collect())
        .unwrap_or_default();
    let head_rels: Vec<String> = heads.iter().map(|e| e.rel.clone()).collect();
    let head_paths = lake.readable(
        &head_rels,
        tmp,
        &format!("{}-{}-{}", part.tool, part.month, g.head.name),
    )?;
    let keys = keys_of(conn, g.head, &head_paths)?;
    let tables: Vec<&Table> = g.parts.iter().chain(std::iter::once(g.head)).collect();
    let already = tables
        .iter()
        .all(|t| members(files, t.name, &ids).len() <= 1)
        && heads.iter().all(|e| e.is_compacted());
    if keys.is_empty() || already {
        return Ok((0, 0, 0));
    }
    let key_ids: HashSet<String> = keys.iter().map(|k| file_id(k)).collect();
    let digest = blake3::hash(
        keys.iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    )
    .to_hex()[..32]
        .to_string();
    let key_list = keys.iter().map(|k| lit(k)).collect::<Vec<_>>().join(", ");
    let mut written = 0;
    let mut replaced: Vec<String> = Vec::new();
    // parts first, the head last: the merged unit is visible only when complete
    for t in &tables {
        let mine = members(files, t.name, &key_ids);
        if mine.is_empty() {
            continue;
        }
        let rels: Vec<String> = mine.iter().map(|e| e.rel.clone()).collect();
        let local = lake.readable(
            &rels,
            tmp,
            &format!("{}-{}-{}", part.tool, part.month, t.name),
        )?;
        let mut cols = vec![t.key];
        cols.extend(t.cols);
        let cols = cols.join(", ");
        let sql = format!(
            "SELECT {cols} FROM (SELECT *, min(filename) OVER (PARTITION BY {key}) AS first_file FROM {src})
             WHERE filename = first_file AND {key} IN ({key_list}) ORDER BY {key}",
            key = t.key,
            src = parquet_scan(&local),
        );
        let out = tmp.path().join(format!("compact-{}.parquet", t.name));
        // compacted files are read whole and kept long: zstd, the smallest
        if copy_to(conn, &sql, &out, "zstd")? > 0 {
            let rel = compact_path(t.name, part, &digest);
            lake.put_file(&rel, &out)?;
            written += 1;
            replaced.extend(rels.into_iter().filter(|r| *r != rel));
        }
    }
    // heads first, so a reader never sees a small head without its parts
    replaced.sort_by_key(|r| !r.starts_with(&format!("v1/{}/", g.head.name)));
    for r in &replaced {
        lake.delete(r)?;
    }
    Ok((keys.len(), written, replaced.len()))
}

/// Merges the files of `month` (`YYYY-MM`, or `none`).
pub fn compact(lake: &Lake, month: &str) -> Result<CompactReport> {
    let conn = Connection::open_in_memory().map_err(sql_err)?;
    let tmp = tempfile::tempdir().map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
    let entries = lake.list_heads_first()?;
    let mut report = CompactReport {
        lake: lake.url().to_string(),
        month: month.to_string(),
        ..CompactReport::default()
    };
    for (part, files) in partitions(lake, &entries)? {
        if part.month != month {
            continue;
        }
        report.partitions += 1;
        for g in UNIT_KINDS {
            let (u, w, r) = compact_group(&conn, lake, &part, &files, g, &tmp)?;
            report.units += u;
            report.files_written += w;
            report.files_removed += r;
        }
    }
    Ok(report)
}

/// Removes what killed writers and interrupted compactions left (see the module docs).
pub fn vacuum(lake: &Lake, grace: chrono::Duration, dry_run: bool) -> Result<VacuumReport> {
    let conn = Connection::open_in_memory().map_err(sql_err)?;
    let tmp = tempfile::tempdir().map_err(|e| Error::Store(format!("temporary folder: {e}")))?;
    let entries = lake.list()?;
    let cutoff = chrono::Utc::now().naive_utc() - grace;
    let mut report = VacuumReport {
        lake: lake.url().to_string(),
        dry_run,
        ..VacuumReport::default()
    };
    for e in entries.iter().cloned().chain(lake.staging_files()) {
        if classify(lake.url(), &e.rel)? == Kind::Staging && e.modified < cutoff {
            report.staging.push(e.rel);
        }
    }
    for (part, files) in partitions(lake, &entries)? {
        for g in UNIT_KINDS {
            let head_ids: HashSet<String> = files
                .get(g.head.name)
                .map(|v| v.iter().filter_map(|(id, _)| id.clone()).collect())
                .unwrap_or_default();
            let compacted: Vec<String> = files
                .get(g.head.name)
                .map(|v| {
                    v.iter()
                        .filter(|(id, _)| id.is_none())
                        .map(|(_, e)| e.rel.clone())
                        .collect()
                })
                .unwrap_or_default();
            let local = lake.readable(
                &compacted,
                &tmp,
                &format!("{}-{}-{}", part.tool, part.month, g.head.name),
            )?;
            let in_compact: HashSet<String> = keys_of(&conn, g.head, &local)?
                .iter()
                .map(|k| file_id(k))
                .collect();
            // heads first (see compact_group)
            for t in std::iter::once(g.head).chain(g.parts) {
                for (id, e) in files.get(t.name).into_iter().flatten() {
                    let Some(id) = id else { continue };
                    if in_compact.contains(id) {
                        report.superseded.push(e.rel.clone());
                    } else if !head_ids.contains(id) && e.modified < cutoff {
                        report.orphans.push(e.rel.clone());
                    }
                }
            }
        }
    }
    if !dry_run {
        for r in report.superseded.iter().chain(&report.orphans) {
            lake.delete(r)?;
        }
        for r in &report.staging {
            lake.delete_staging(r)?;
        }
    }
    Ok(report)
}
