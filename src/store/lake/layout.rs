//! The lake's layout, version 1:
//!
//! ```text
//! <lake>/perfledger-lake.json                                     {"layout": 1}
//! <lake>/v1/<table>/tool=<tool>/month=<YYYY-MM|none>/<id>.parquet  one run, snapshot or capture
//! <lake>/v1/<table>/tool=<tool>/month=<YYYY-MM|none>/compact-<h>.parquet  many, by `lake compact`
//! <lake>/v1/event/month=<YYYY-MM>/<micros>-<writer>.json          a baseline/annotation event
//! ```
//!
//! `<id>` is the first 32 hex digits of the BLAKE3 digest of the run's content key (a
//! snapshot's key for `pg_snapshot`/`pg_statement`), so the same content always gets the same
//! name. `month` is the run's start month (`none` when the tool did not say).

use crate::error::Result;

use super::lake_err;

pub const LAYOUT_VERSION: i64 = 1;
pub const MARKER: &str = "perfledger-lake.json";
pub const EVENT_DIR: &str = "event";

/// A table as the lake holds it: the run's (or snapshot's) key instead of local ids.
pub struct Table {
    pub name: &'static str,
    /// The unit the rows belong to: `run_key` or `snapshot_key`.
    pub key: &'static str,
    /// The data columns, as in the warehouse.
    pub cols: &'static [&'static str],
}

pub const RUN: Table = Table {
    name: "run",
    key: "run_key",
    cols: &[
        "tool",
        "tool_version",
        "format",
        "scenario",
        "started_at",
        "ended_at",
        "duration_s",
        "url",
        "users",
        "spawn_rate",
        "threads",
        "connections",
        "requests_planned",
        "target_rate",
        "legacy_key",
    ],
};

/// The lake table of series points, whose rows come from two index tables (schema/013).
pub const SERIES_POINT: &str = "series_point";

/// The tables of a run other than `run` itself, written before it.
pub const RUN_PARTS: &[Table] = &[
    Table {
        name: "run_label",
        key: "run_key",
        cols: &["key", "value"],
    },
    Table {
        name: "source_file",
        key: "run_key",
        cols: &["path", "role", "sha256", "bytes", "blake3"],
    },
    Table {
        name: "target",
        key: "run_key",
        cols: &["target", "kind", "method", "url", "tags"],
    },
    Table {
        name: "measurement",
        key: "run_key",
        cols: &["target", "metric", "value", "unit"],
    },
    Table {
        name: "histogram",
        key: "run_key",
        cols: &["target", "count", "hdr"],
    },
    Table {
        name: SERIES_POINT,
        key: "run_key",
        cols: &["target", "ts", "metric", "value"],
    },
    Table {
        name: "error",
        key: "run_key",
        cols: &["target", "kind", "message", "count"],
    },
    Table {
        name: "threshold",
        key: "run_key",
        cols: &["metric", "expression", "passed"],
    },
];

pub const SNAPSHOT: Table = Table {
    name: "pg_snapshot",
    key: "snapshot_key",
    cols: &["server", "taken_at", "stats_reset", "source", "run_key"],
};

pub const SNAPSHOT_PARTS: &[Table] = &[
    Table {
        name: "pg_statement",
        key: "snapshot_key",
        cols: &[
            "queryid",
            "userid",
            "dbid",
            "toplevel",
            "query",
            "calls",
            "total_exec_time_ms",
            "rows",
            "shared_blks_hit",
            "shared_blks_read",
            "stddev_exec_time_ms",
            "extra",
        ],
    },
    Table {
        name: "pg_database_stat",
        key: "snapshot_key",
        cols: &[
            "datname",
            "xact_commit",
            "xact_rollback",
            "blks_read",
            "blks_hit",
            "temp_files",
            "temp_bytes",
            "deadlocks",
            "stats_reset",
        ],
    },
    Table {
        name: "pg_connection",
        key: "snapshot_key",
        cols: &["state", "count", "max_connections"],
    },
    Table {
        name: "pg_replication",
        key: "snapshot_key",
        cols: &[
            "application_name",
            "client_addr",
            "state",
            "sync_state",
            "write_lag_ms",
            "flush_lag_ms",
            "replay_lag_ms",
            "lag_bytes",
        ],
    },
    Table {
        name: "pg_plan",
        key: "snapshot_key",
        cols: &[
            "statement",
            "query",
            "shape",
            "top_node",
            "top_node_ms",
            "planning_ms",
            "execution_ms",
            "plan",
        ],
    },
];

/// System resources bound to a run (schema/008_resources.sql).
pub const RESOURCES: Table = Table {
    name: "resource_capture",
    key: "capture_key",
    cols: &["source", "started_at", "ended_at", "step_s", "run_key"],
};

pub const RESOURCE_PARTS: &[Table] = &[
    Table {
        name: "resource_query",
        key: "capture_key",
        cols: &["metric", "unit", "query"],
    },
    Table {
        name: "resource_point",
        key: "capture_key",
        cols: &["target", "metric", "ts", "value"],
    },
    Table {
        name: "resource_summary",
        key: "capture_key",
        cols: &["target", "metric", "value", "unit"],
    },
];

/// A kind of unit: its head table (written last), its parts, and where the index keeps it.
pub struct UnitKind {
    pub head: &'static Table,
    pub parts: &'static [Table],
    /// The index's table of these units (with `id` and `content_key`).
    pub local: &'static str,
    /// The column of the part tables that points at it.
    pub fk: &'static str,
}

pub const RUN_KIND: UnitKind = UnitKind {
    head: &RUN,
    parts: RUN_PARTS,
    local: "run",
    fk: "run_id",
};
pub const SNAPSHOT_KIND: UnitKind = UnitKind {
    head: &SNAPSHOT,
    parts: SNAPSHOT_PARTS,
    local: "pg_snapshot",
    fk: "snapshot_id",
};
pub const RESOURCES_KIND: UnitKind = UnitKind {
    head: &RESOURCES,
    parts: RESOURCE_PARTS,
    local: "resource_capture",
    fk: "capture_id",
};

/// Every kind, runs first: snapshots and captures point at runs.
pub const UNIT_KINDS: [&UnitKind; 3] = [&RUN_KIND, &SNAPSHOT_KIND, &RESOURCES_KIND];

/// The kind a table of the lake belongs to.
pub fn kind_of(table: &str) -> Option<&'static UnitKind> {
    UNIT_KINDS
        .into_iter()
        .find(|k| k.head.name == table || k.parts.iter().any(|t| t.name == table))
}

impl Table {
    /// The data columns qualified by a table alias: `t.target, t.metric, ...`.
    pub fn cols_of(&self, alias: &str) -> String {
        self.cols
            .iter()
            .map(|c| format!("{alias}.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// DuckDB's scan of lake files (our names carry the partition: no hive detection), with the
/// file name of each row for picking one file per unit.
pub fn parquet_scan(paths: &[String]) -> String {
    let list = paths
        .iter()
        .map(|p| crate::store::lit(p))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "read_parquet([{list}], union_by_name = true, filename = true, hive_partitioning = false)"
    )
}

/// The partition of a unit: tool and start month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub tool: String,
    pub month: String,
}

impl Partition {
    pub fn of(tool: &str, started: Option<chrono::NaiveDateTime>) -> Partition {
        Partition {
            tool: sanitize(tool),
            month: started.map_or_else(|| "none".to_string(), |t| t.format("%Y-%m").to_string()),
        }
    }
}

/// Partition values are path segments: keep them to a safe alphabet.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file id of a content key.
pub fn file_id(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..32].to_string()
}

pub fn unit_path(table: &str, p: &Partition, id: &str) -> String {
    format!("v1/{table}/tool={}/month={}/{id}.parquet", p.tool, p.month)
}

pub fn compact_path(table: &str, p: &Partition, hash: &str) -> String {
    format!(
        "v1/{table}/tool={}/month={}/compact-{hash}.parquet",
        p.tool, p.month
    )
}

/// What an object of the lake is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Marker,
    /// A file of one unit (run or snapshot), named by its id.
    Unit {
        table: String,
        part: Partition,
        id: String,
    },
    /// A compacted file of many units.
    Compact {
        table: String,
        part: Partition,
    },
    Event,
    /// What a killed upload to a folder lake leaves (`name#N`): never read, removed by vacuum.
    Staging,
}

fn known_table(t: &str) -> bool {
    kind_of(t).is_some()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Classifies a path relative to the lake root; an error names a file that is not ours.
pub fn classify(url: &str, rel: &str) -> Result<Kind> {
    if rel == MARKER {
        return Ok(Kind::Marker);
    }
    let foreign = || {
        lake_err(
            url,
            format!("{rel}: a file that is not part of a perfledger lake (layout {LAYOUT_VERSION}); move it out of the lake's prefix, or point --lake at a prefix of its own"),
        )
    };
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.first() {
        Some(&"v1") => {}
        Some(v) if v.starts_with('v') && v[1..].parse::<u32>().is_ok_and(|n| n > 1) => {
            return Err(newer(url, v));
        }
        _ => return Err(foreign()),
    }
    if parts.last().is_some_and(|n| n.contains('#')) {
        return Ok(Kind::Staging);
    }
    if parts.len() == 4 && parts[1] == EVENT_DIR && parts[2].starts_with("month=") {
        return if parts[3].ends_with(".json") {
            Ok(Kind::Event)
        } else {
            Err(foreign())
        };
    }
    if parts.len() != 5 || !known_table(parts[1]) {
        return Err(foreign());
    }
    let (Some(tool), Some(month)) = (
        parts[2].strip_prefix("tool="),
        parts[3].strip_prefix("month="),
    ) else {
        return Err(foreign());
    };
    let part = Partition {
        tool: tool.to_string(),
        month: month.to_string(),
    };
    let table = parts[1].to_string();
    let name = parts[4].strip_suffix(".parquet").ok_or_else(foreign)?;
    if let Some(h) = name.strip_prefix("compact-") {
        return if is_hex(h, 32) {
            Ok(Kind::Compact { table, part })
        } else {
            Err(foreign())
        };
    }
    if is_hex(name, 32) {
        Ok(Kind::Unit {
            table,
            part,
            id: name.to_string(),
        })
    } else {
        Err(foreign())
    }
}

pub fn newer(url: &str, what: &str) -> crate::error::Error {
    lake_err(
        url,
        format!("written by a newer perfledger ({what}; this build reads layout {LAYOUT_VERSION}): upgrade perfledger to read or write this lake"),
    )
}

/// The marker's layout version (None when there is no marker yet).
pub fn read_marker(url: &str, bytes: &[u8]) -> Result<i64> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        lake_err(url, format!("{MARKER}: not a perfledger lake marker ({e}); is --lake pointing at the right prefix?"))
    })?;
    let n = v["layout"].as_i64().ok_or_else(|| {
        lake_err(
            url,
            format!("{MARKER}: no \"layout\" number; is --lake pointing at the right prefix?"),
        )
    })?;
    if n > LAYOUT_VERSION {
        return Err(newer(url, &format!("layout {n}")));
    }
    Ok(n)
}

pub fn marker_bytes() -> Vec<u8> {
    format!(
        "{{\"layout\": {LAYOUT_VERSION}, \"written_by\": \"perfledger {}\", \"doc\": \"hive-partitioned Parquet, see perfledger's README, Team history\"}}\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_strangers_are_named() {
        let p = Partition::of("k6", crate::time::parse_time("2026-11-03"));
        let id = file_id("blake3:abc");
        let rel = unit_path("measurement", &p, &id);
        assert_eq!(
            classify("x", &rel).unwrap(),
            Kind::Unit {
                table: "measurement".into(),
                part: p.clone(),
                id
            }
        );
        assert!(rel.starts_with("v1/measurement/tool=k6/month=2026-11/"));
        assert_eq!(
            classify("x", "v1/run/tool=k6/month=2026-11/a.parquet#3").unwrap(),
            Kind::Staging
        );
        let e = classify("x", "v1/run/tool=k6/month=2026-11/notes.txt").unwrap_err();
        assert!(e.to_string().contains("notes.txt"), "{e}");
        let e = classify("x", "v2/run/x.parquet").unwrap_err();
        assert!(e.to_string().contains("newer perfledger"), "{e}");
        assert!(classify("x", "README.md").is_err());
    }
}
