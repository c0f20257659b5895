//! Query plans: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` as PostgreSQL writes it, reduced to
//! what a comparison needs: the plan's **shape** (each node's type, and the relation and index
//! it reads, nested; no costs, rows or times, so the same plan gives the same shape run after
//! run) and its **hottest node**, the one with the largest exclusive time (its actual total
//! time times its loops, minus its children's, as explain.depesz.com computes it).

use serde_json::Value;

pub use crate::model::QueryPlan as Plan;

/// A node as people name it: `Index Scan using t_code_idx on t`.
fn label(n: &Value) -> String {
    let s = |k: &str| n.get(k).and_then(Value::as_str);
    let mut out = s("Node Type").unwrap_or("?").to_string();
    if let Some(i) = s("Index Name") {
        out += &format!(" using {i}");
    }
    if let Some(r) = s("Relation Name") {
        out += &format!(" on {r}");
    }
    out
}

fn children(n: &Value) -> impl Iterator<Item = &Value> {
    n.get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The shape: `Aggregate(Seq Scan on t)`.
pub fn shape(n: &Value) -> String {
    let kids: Vec<String> = children(n).map(shape).collect();
    if kids.is_empty() {
        label(n)
    } else {
        format!("{}({})", label(n), kids.join(", "))
    }
}

/// A node's inclusive time over all its loops, in ms.
fn inclusive_ms(n: &Value) -> f64 {
    let t = n
        .get("Actual Total Time")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let loops = n.get("Actual Loops").and_then(Value::as_f64).unwrap_or(1.0);
    t * loops
}

/// The node with the largest exclusive time: (label, ms).
pub fn hottest(n: &Value) -> (String, f64) {
    let own = (inclusive_ms(n) - children(n).map(inclusive_ms).sum::<f64>()).max(0.0);
    children(n).map(hottest).fold(
        (label(n), own),
        |best, c| if c.1 > best.1 { c } else { best },
    )
}

/// The plan of an `EXPLAIN (ANALYZE, FORMAT JSON)` answer of `query`.
pub fn parse(query: &str, answer: &str) -> std::result::Result<Plan, String> {
    let v: Value = serde_json::from_str(answer).map_err(|e| format!("not EXPLAIN JSON: {e}"))?;
    let top = v
        .as_array()
        .and_then(|a| a.first())
        .or(Some(&v))
        .filter(|t| t.get("Plan").is_some())
        .ok_or("no \"Plan\" in the EXPLAIN answer")?;
    let plan = &top["Plan"];
    let (top_node, top_node_ms) = hottest(plan);
    Ok(Plan {
        statement: super::pglog::normalise(query),
        query: query.to_string(),
        shape: shape(plan),
        top_node,
        top_node_ms,
        planning_ms: top.get("Planning Time").and_then(Value::as_f64),
        execution_ms: top.get("Execution Time").and_then(Value::as_f64),
        json: answer.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_hottest_node_of_a_plan() {
        let answer = r#"[{"Plan": {"Node Type": "Aggregate", "Actual Total Time": 12.0, "Actual Loops": 1,
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t", "Actual Total Time": 10.5, "Actual Loops": 1}]},
            "Planning Time": 0.1, "Execution Time": 12.2}]"#;
        let p = parse("SELECT count(*) FROM t WHERE a > 5", answer).unwrap();
        assert_eq!(p.shape, "Aggregate(Seq Scan on t)");
        assert_eq!(
            (p.top_node.as_str(), p.top_node_ms),
            ("Seq Scan on t", 10.5)
        );
        assert_eq!(p.statement, "SELECT count(*) FROM t WHERE a > $1");
        assert_eq!(p.execution_ms, Some(12.2));
        // loops multiply: an inner index scan run 1000 times at 0.01 ms is 10 ms
        let nested = r#"[{"Plan": {"Node Type": "Nested Loop", "Actual Total Time": 11.0, "Actual Loops": 1, "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "a", "Actual Total Time": 0.5, "Actual Loops": 1},
            {"Node Type": "Index Scan", "Index Name": "b_pkey", "Relation Name": "b", "Actual Total Time": 0.01, "Actual Loops": 1000}]}}]"#;
        let p = parse("SELECT 1", nested).unwrap();
        assert_eq!(p.top_node, "Index Scan using b_pkey on b");
        assert!((p.top_node_ms - 10.0).abs() < 1e-9);
    }
}
