//! A statement's query plans over a period: the plans stored with the runs' snapshots
//! (`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`), cut into spans of one unchanged shape, so a review
//! shows when a plan changed (an index no longer used after a deploy, used again after a fix).
//! The execution time of a span is the median over its plans (robust to one cold cache).

use chrono::NaiveDateTime;

use crate::stats::median;
use crate::store::statements::PlanRow;

/// Consecutive plans of one statement with one shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub statement: String,
    pub shape: String,
    pub top_node: String,
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    pub first_run: i64,
    pub last_run: i64,
    /// Plans in the span (one per snapshot that took it).
    pub plans: usize,
    pub median_execution_ms: Option<f64>,
    /// The shape differs from the statement's previous span.
    pub changed: bool,
}

/// Spans of each statement in time order; statements in order of first appearance.
/// `rows` must be oldest first (as `Warehouse::plans_of` returns them).
pub fn history(rows: &[PlanRow]) -> Vec<Span> {
    let mut order: Vec<&str> = Vec::new();
    for r in rows {
        if !order.contains(&r.statement.as_str()) {
            order.push(&r.statement);
        }
    }
    order
        .into_iter()
        .flat_map(|stmt| spans(rows.iter().filter(|r| r.statement == stmt)))
        .collect()
}

fn spans<'a>(rows: impl Iterator<Item = &'a PlanRow>) -> Vec<Span> {
    let mut out: Vec<(Span, Vec<f64>)> = Vec::new();
    for r in rows {
        let exec = r.execution_ms.filter(|v| v.is_finite());
        match out.last_mut() {
            Some((s, times)) if s.shape == r.shape => {
                s.last = r.taken_at;
                s.last_run = r.run_id;
                s.plans += 1;
                times.extend(exec);
            }
            _ => {
                let changed = !out.is_empty();
                out.push((
                    Span {
                        statement: r.statement.clone(),
                        shape: r.shape.clone(),
                        top_node: r.top_node.clone(),
                        first: r.taken_at,
                        last: r.taken_at,
                        first_run: r.run_id,
                        last_run: r.run_id,
                        plans: 1,
                        median_execution_ms: None,
                        changed,
                    },
                    exec.into_iter().collect(),
                ));
            }
        }
    }
    out.into_iter()
        .map(|(mut s, times)| {
            s.median_execution_ms = median(&times);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: i64, stmt: &str, shape: &str, ms: f64) -> PlanRow {
        PlanRow {
            run_id: run,
            taken_at: chrono::DateTime::from_timestamp(run * 86_400, 0).map(|t| t.naive_utc()),
            statement: stmt.into(),
            shape: shape.into(),
            top_node: shape.into(),
            top_node_ms: ms,
            execution_ms: Some(ms),
        }
    }

    #[test]
    fn a_shape_that_changes_and_changes_back_gives_three_spans() {
        let rows = vec![
            row(1, "q", "Index Scan", 0.1),
            row(2, "other", "Seq Scan", 5.0),
            row(3, "q", "Index Scan", 0.3),
            row(4, "q", "Seq Scan", 40.0),
            row(5, "q", "Seq Scan", 50.0),
            row(6, "q", "Seq Scan", 60.0),
            row(7, "q", "Index Scan", 0.2),
        ];
        let h = history(&rows);
        let q: Vec<String> = h
            .iter()
            .filter(|s| s.statement == "q")
            .map(|s| {
                format!(
                    "{} {}-{} n={} med={:?} changed={}",
                    s.shape, s.first_run, s.last_run, s.plans, s.median_execution_ms, s.changed
                )
            })
            .collect();
        assert_eq!(
            q,
            [
                "Index Scan 1-3 n=2 med=Some(0.2) changed=false",
                "Seq Scan 4-6 n=3 med=Some(50.0) changed=true",
                "Index Scan 7-7 n=1 med=Some(0.2) changed=true",
            ]
        );
        // statements in order of first appearance
        assert_eq!(h[0].statement, "q");
        assert_eq!(h[3].statement, "other");
        assert!(!h[3].changed);
    }

    #[test]
    fn no_plans_no_spans() {
        assert!(history(&[]).is_empty());
    }
}
