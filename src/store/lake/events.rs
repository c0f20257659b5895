//! The shared mutable state: baselines and annotations (acknowledgements are annotations of
//! kind `ack`). Each change is an immutable event file with a time and a writer id; the state
//! of an entity is its latest event by (time, writer, file name): last writer wins, and a
//! delete is a tombstone event, so a later set brings the entity back and an earlier one
//! cannot.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use duckdb::{params, Connection, OptionalExt};
use serde::{Deserialize, Serialize};

use super::layout::{EVENT_DIR, LAYOUT_VERSION};
use super::{Entry, Lake};
use crate::error::{Error, Result};
use crate::store::{sql_err, ts};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub layout: i64,
    /// UTC, microseconds.
    pub at: NaiveDateTime,
    pub writer: String,
    /// `baseline:<name>` or `annotation:<global id>`.
    pub entity: String,
    /// `set` or `delete`.
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<AnnotationBody>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineBody {
    pub selector: String,
    /// Run keys.
    pub runs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationBody {
    pub happened_at: Option<NaiveDateTime>,
    pub run_key: Option<String>,
    pub kind: String,
    pub text: String,
}

/// This process's writer id: host, process and a random part, so two writers never share one.
pub fn writer_id() -> String {
    use std::sync::OnceLock;
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "host".into());
        let host: String = host
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )
    })
    .clone()
}

impl Event {
    pub fn new(entity: String, op: &str) -> Event {
        Event {
            layout: LAYOUT_VERSION,
            at: chrono::Utc::now().naive_utc(),
            writer: writer_id(),
            entity,
            op: op.to_string(),
            baseline: None,
            annotation: None,
        }
    }

    pub fn rel(&self) -> String {
        format!(
            "v1/{EVENT_DIR}/month={}/{:020}-{}.json",
            self.at.format("%Y-%m"),
            crate::time::micros(self.at),
            self.writer
        )
    }
}

/// Reads the event files not seen yet.
pub fn read_new(lake: &Lake, files: &[Entry]) -> Result<Vec<(String, Event)>> {
    files
        .iter()
        .map(|e| {
            let bytes = lake.get(&e.rel)?;
            let ev: Event = serde_json::from_slice(&bytes).map_err(|err| {
                super::lake_err(
                    lake.url(),
                    format!(
                        "{}: not a perfledger event ({err}); move it out of the lake",
                        e.rel
                    ),
                )
            })?;
            if ev.layout > LAYOUT_VERSION {
                return Err(super::layout::newer(lake.url(), &e.rel));
            }
            Ok((e.rel.clone(), ev))
        })
        .collect()
}

/// Records events and folds every entity they touch; the number recorded.
pub fn apply(conn: &Connection, events: &[(String, Event)]) -> Result<usize> {
    let mut touched = BTreeSet::new();
    for (file, ev) in events {
        let body = serde_json::to_string(ev).map_err(|e| Error::Internal(format!("event: {e}")))?;
        conn.execute(
            "INSERT INTO lake_event VALUES (?, CAST(? AS TIMESTAMP), ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            params![file, ts(ev.at), ev.writer, ev.entity, ev.op, body],
        )
        .map_err(sql_err)?;
        touched.insert(ev.entity.clone());
    }
    for entity in &touched {
        fold(conn, entity)?;
    }
    Ok(events.len())
}

/// Sets the index's state of one entity to its latest event.
fn fold(conn: &Connection, entity: &str) -> Result<()> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM lake_event WHERE entity = ? ORDER BY event_at DESC, writer DESC, file DESC LIMIT 1",
            params![entity],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let Some(body) = body else { return Ok(()) };
    let ev: Event =
        serde_json::from_str(&body).map_err(|e| Error::Internal(format!("stored event: {e}")))?;
    if let Some(name) = entity.strip_prefix("baseline:") {
        conn.execute("DELETE FROM baseline_run WHERE name = ?", params![name])
            .map_err(sql_err)?;
        conn.execute("DELETE FROM baseline WHERE name = ?", params![name])
            .map_err(sql_err)?;
        if let (Some(b), "set") = (&ev.baseline, ev.op.as_str()) {
            conn.execute(
                "INSERT INTO baseline VALUES (?, ?, CAST(? AS TIMESTAMP))",
                params![name, b.selector, ts(ev.at)],
            )
            .map_err(sql_err)?;
            for key in &b.runs {
                // a run not in the lake (any more) is left out of the baseline
                conn.execute(
                    "INSERT INTO baseline_run SELECT ?, id FROM run WHERE content_key = ? ON CONFLICT DO NOTHING",
                    params![name, key],
                )
                .map_err(sql_err)?;
            }
        }
    } else if let Some(gid) = entity.strip_prefix("annotation:") {
        conn.execute("DELETE FROM annotation WHERE global_id = ?", params![gid])
            .map_err(sql_err)?;
        if let (Some(a), "set") = (&ev.annotation, ev.op.as_str()) {
            conn.execute(
                "INSERT INTO annotation (happened_at, run_id, kind, text, created_at, global_id)
                 VALUES (CAST(? AS TIMESTAMP), (SELECT id FROM run WHERE content_key = ?), ?, ?, CAST(? AS TIMESTAMP), ?)",
                params![a.happened_at.map(ts), a.run_key, a.kind, a.text, ts(ev.at), gid],
            )
            .map_err(sql_err)?;
        }
    }
    Ok(())
}
