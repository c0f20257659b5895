//! The warehouse's mutable state: named baselines and annotations (deploys, config changes,
//! acknowledged regressions).

use chrono::NaiveDateTime;
use duckdb::params;

use super::lake::events::{self, AnnotationBody, BaselineBody, Event};
use super::{id_list, sql_err, time_of, ts, Warehouse};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRow {
    pub name: String,
    pub selector: String,
    pub created_at: Option<NaiveDateTime>,
    pub runs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationKind {
    Deploy,
    Config,
    Ack,
}

impl AnnotationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationKind::Deploy => "deploy",
            AnnotationKind::Config => "config",
            AnnotationKind::Ack => "ack",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AnnotationRow {
    pub id: i64,
    #[serde(
        rename = "time",
        serialize_with = "crate::time::as_display_opt::serialize"
    )]
    pub happened_at: Option<NaiveDateTime>,
    pub run_id: Option<i64>,
    pub kind: String,
    pub text: String,
}

impl Warehouse {
    /// Names the runs `ids` as baseline `name` (replacing a baseline of that name).
    pub fn set_baseline(&mut self, name: &str, selector: &str, ids: &[i64]) -> Result<()> {
        if self.lake.is_some() {
            let mut ev = Event::new(format!("baseline:{name}"), "set");
            ev.baseline = Some(BaselineBody {
                selector: selector.to_string(),
                runs: self.keys_of(ids)?,
            });
            return self.record(&ev);
        }
        let tx = self.conn.transaction().map_err(sql_err)?;
        tx.execute("DELETE FROM baseline_run WHERE name = ?", params![name])
            .map_err(sql_err)?;
        tx.execute("DELETE FROM baseline WHERE name = ?", params![name])
            .map_err(sql_err)?;
        tx.execute(
            "INSERT INTO baseline VALUES (?, ?, current_timestamp)",
            params![name, selector],
        )
        .map_err(sql_err)?;
        for id in ids {
            tx.execute("INSERT INTO baseline_run VALUES (?, ?)", params![name, id])
                .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)
    }

    pub fn baselines(&self) -> Result<Vec<BaselineRow>> {
        let rows: Vec<_> = self.rows("SELECT b.name, b.selector, epoch_us(b.created_at), count(r.run_id)
                 FROM baseline b LEFT JOIN baseline_run r USING (name) GROUP BY ALL ORDER BY b.name", [], |r| {
                Ok(BaselineRow {
                    name: r.get(0)?,
                    selector: r.get(1)?,
                    created_at: time_of(r.get(2)?),
                    runs: r.get(3)?,
                })
            })?;
        Ok(rows)
    }

    /// The run ids of a baseline, newest id first (empty when there is no such baseline).
    pub fn baseline_runs(&self, name: &str) -> Result<Vec<i64>> {
        let ids: Vec<i64> = self.rows(
            "SELECT run_id FROM baseline_run WHERE name = ? ORDER BY run_id DESC",
            [name],
            |r| r.get(0),
        )?;
        Ok(ids)
    }

    /// Deletes a baseline; false when there was none of that name.
    pub fn delete_baseline(&mut self, name: &str) -> Result<bool> {
        if self.lake.is_some() {
            let existed = self.baselines()?.iter().any(|b| b.name == name);
            if existed {
                self.record(&Event::new(format!("baseline:{name}"), "delete"))?;
            }
            return Ok(existed);
        }
        let tx = self.conn.transaction().map_err(sql_err)?;
        let n = tx
            .execute("DELETE FROM baseline WHERE name = ?", params![name])
            .map_err(sql_err)?;
        tx.execute("DELETE FROM baseline_run WHERE name = ?", params![name])
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(n > 0)
    }

    /// Records an annotation and returns its id.
    pub fn annotate(
        &mut self,
        at: Option<NaiveDateTime>,
        run: Option<i64>,
        kind: AnnotationKind,
        text: &str,
    ) -> Result<i64> {
        if let Some(r) = run {
            if !self.run_exists(r)? {
                return Err(Error::Usage(format!("--run {r}: no such run")));
            }
        }
        if self.lake.is_some() {
            let gid = format!("{:016x}", rand::random::<u64>());
            let mut ev = Event::new(format!("annotation:{gid}"), "set");
            ev.annotation = Some(AnnotationBody {
                happened_at: at,
                run_key: match run {
                    Some(r) => self.keys_of(&[r])?.into_iter().next(),
                    None => None,
                },
                kind: kind.as_str().to_string(),
                text: text.to_string(),
            });
            self.record(&ev)?;
            return self
                .conn
                .query_row(
                    "SELECT id FROM annotation WHERE global_id = ?",
                    params![gid],
                    |r| r.get(0),
                )
                .map_err(sql_err);
        }
        self.conn
            .query_row(
                "INSERT INTO annotation (happened_at, run_id, kind, text, created_at) VALUES (CAST(? AS TIMESTAMP), ?, ?, ?, current_timestamp) RETURNING id",
                params![at.map(ts), run, kind.as_str(), text],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    /// Annotations with a time or a run, oldest first, and whether each lies in [first, last].
    pub fn annotations(
        &self,
        first: NaiveDateTime,
        last: NaiveDateTime,
    ) -> Result<Vec<(AnnotationRow, bool)>> {
        let rows: Vec<_> = self.rows("SELECT id, epoch_us(happened_at), run_id, kind, text,
                        coalesce(happened_at BETWEEN CAST(? AS TIMESTAMP) AND CAST(? AS TIMESTAMP), FALSE)
                 FROM annotation WHERE happened_at IS NOT NULL OR run_id IS NOT NULL
                 ORDER BY coalesce(happened_at, TIMESTAMP '1970-01-01'), id", [ts(first), ts(last)], |r| {
                Ok((
                    AnnotationRow {
                        id: r.get(0)?,
                        happened_at: time_of(r.get(1)?),
                        run_id: r.get(2)?,
                        kind: r.get(3)?,
                        text: r.get(4)?,
                    },
                    r.get(5)?,
                ))
            })?;
        Ok(rows)
    }

    /// The content keys of runs (a baseline's set, an annotation's run).
    fn keys_of(&self, ids: &[i64]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(
            &format!(
                "SELECT content_key FROM run WHERE id IN ({}) ORDER BY id",
                id_list(ids)
            ),
            [],
            |r| r.get(0),
        )
    }

    /// Writes a state change to the lake, then applies it to the index: the lake first, so
    /// the index never holds a change the others cannot see.
    fn record(&mut self, ev: &Event) -> Result<()> {
        let Some(lake) = self.lake.as_ref() else {
            return Err(Error::Internal("record without a lake".into()));
        };
        super::lake::publish::ensure_marker(lake)?;
        let body = serde_json::to_vec(ev).map_err(|e| Error::Internal(format!("event: {e}")))?;
        let rel = ev.rel();
        let bytes = body.len() as i64;
        lake.put(&rel, body)?;
        let tx = self.conn.transaction().map_err(sql_err)?;
        events::apply(&tx, &[(rel.clone(), ev.clone())])?;
        super::lake::sync::bind(&tx, lake)?;
        tx.execute(
            "INSERT INTO lake_file VALUES (?, ?, current_timestamp) ON CONFLICT DO NOTHING",
            params![rel, bytes],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)
    }

    /// The runs among `runs` with an acknowledgement.
    pub fn acknowledged_runs(&self, runs: &[i64]) -> Result<Vec<i64>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = self.rows(
            &format!(
                "SELECT DISTINCT run_id FROM annotation WHERE kind = 'ack' AND run_id IN ({})",
                id_list(runs)
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(ids)
    }
}
