//! The gate's forms for code review: a pull-request comment, and GitLab's merge-request
//! reports (metrics, <https://docs.gitlab.com/ci/testing/metrics_reports/>, and Code
//! Quality, <https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format>).
//!
//! All three are stable: the same results give the same bytes (no times, no durations, rows in
//! the comparison's order), so a bot can update one comment in place and GitLab can tell a new
//! finding from one it has seen (a finding's fingerprint is its kind, target and metric).

use std::fmt::Write;
use std::path::Path;

use super::gate::ci_interval;
use super::{fmt_float, markdown, num, pct};
use crate::analysis::compare::{Comparison, Verdict};
use crate::analysis::goals::{GoalResult, Status};
use crate::output::openmetrics::prom_name;

/// What the gate judged: the candidate run as a reviewer knows it.
pub struct Subject<'a> {
    pub run_id: i64,
    /// `blake3:` and 12 hex digits, as `runs` shows it.
    pub run_key: String,
    pub labels: &'a [(String, String)],
    /// The run's first source file as given to `import` (Code Quality needs a path).
    pub source: Option<&'a str>,
    pub goals_file: Option<&'a Path>,
    /// Where the full report is (`check --report-url`).
    pub report_url: Option<&'a str>,
}

/// The rows a comment shows at most; the rest are counted.
const COMMENT_ROWS: usize = 10;

/// The hidden marker a bot finds its comment by: one per CI job (the run's `job` label).
pub fn comment_marker(s: &Subject) -> String {
    let job = s
        .labels
        .iter()
        .find(|(k, _)| k == "job")
        .map_or("default", |(_, v)| v.as_str());
    format!("<!-- perfledger-check job={} -->", job.replace("--", "-"))
}

fn subject_line(s: &Subject) -> String {
    let labels = s
        .labels
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "commit" | "branch" | "job" | "env"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>();
    if labels.is_empty() {
        format!("run {} (`{}`)", s.run_id, s.run_key)
    } else {
        format!("run {} (`{}`, {})", s.run_id, s.run_key, labels.join(", "))
    }
}

/// A short pull-request comment: the verdict, what failed, where the rest is.
pub fn comment(s: &Subject, goals: &[GoalResult], cmp: Option<&Comparison>) -> String {
    let failed: Vec<&GoalResult> = goals.iter().filter(|g| g.status == Status::Fail).collect();
    let regressed: Vec<_> = cmp
        .map(|c| {
            c.results
                .iter()
                .filter(|r| r.verdict == Verdict::Regressed && !r.acknowledged)
                .collect()
        })
        .unwrap_or_default();
    let passed = failed.is_empty() && regressed.is_empty();
    let mut out = comment_marker(s) + "\n";
    let head = if passed {
        "✅ perfledger check: PASS".to_string()
    } else {
        format!(
            "❌ perfledger check: FAIL ({} regression(s), {} failed goal(s))",
            regressed.len(),
            failed.len()
        )
    };
    let _ = writeln!(out, "### {head}\n");
    let _ = write!(out, "{}", subject_line(s));
    if let Some(c) = cmp {
        let _ = write!(out, " against {} baseline run(s)", c.baseline_runs.len());
        if let Some(why) = &c.baseline_reason {
            let _ = write!(out, " ({why})");
        }
    }
    out += ".\n\n";
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &regressed {
        rows.push(vec![
            "regressed".into(),
            r.target.clone(),
            r.metric.clone(),
            num(r.baseline),
            num(r.candidate),
            pct(r.relative_change),
            ci_interval(r),
        ]);
    }
    for g in &failed {
        let limit = g.limit.map_or(String::new(), |l| {
            format!(
                "{} {}",
                if g.limit_kind == "max" { "<=" } else { ">=" },
                fmt_float(l)
            )
        });
        rows.push(vec![
            format!("goal {} failed", g.goal),
            g.target.clone(),
            g.metric.clone(),
            limit,
            num(g.value),
            String::new(),
            g.in_force.clone(),
        ]);
    }
    if !rows.is_empty() {
        let header = [
            "",
            "target",
            "metric",
            "baseline / limit",
            "candidate",
            "change",
            "95% CI / in force",
        ]
        .map(String::from)
        .to_vec();
        let shown = rows.len().min(COMMENT_ROWS);
        out += &markdown(&header, &rows[..shown]);
        if rows.len() > shown {
            let _ = writeln!(out, "\n…and {} more.", rows.len() - shown);
        }
        out.push('\n');
    }
    if let Some(c) = cmp {
        let count = |v: Verdict| c.results.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            out,
            "Compared {} target x metric rows: {} regressed, {} improved, {} unchanged, {} below_min_effect, {} insufficient_data.",
            c.results.len(),
            count(Verdict::Regressed),
            count(Verdict::Improved),
            count(Verdict::Unchanged),
            count(Verdict::BelowMinEffect),
            count(Verdict::InsufficientData)
        );
    }
    if !goals.is_empty() {
        let n = |st: Status| goals.iter().filter(|g| g.status == st).count();
        let _ = writeln!(
            out,
            "Goals: {} pass, {} warn, {} fail, {} no_data.",
            n(Status::Pass),
            n(Status::Warn),
            n(Status::Fail),
            n(Status::NoData)
        );
    }
    match s.report_url {
        Some(u) => {
            let _ = writeln!(out, "\nFull report: {u}");
        }
        None => {
            out +=
                "\nFull report: the job's step summary (`perfledger check --format markdown`).\n";
        }
    }
    out
}

/// GitLab's metrics report: `name{labels} value` lines (OpenMetrics text), the candidate's
/// values of every compared row and goal, and the gate's counts. GitLab shows how each
/// changed against the target branch's report.
pub fn gitlab_metrics(goals: &[GoalResult], cmp: Option<&Comparison>) -> String {
    let mut lines = std::collections::BTreeMap::new();
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    if let Some(c) = cmp {
        for r in &c.results {
            if let Some(v) = r.candidate {
                lines.insert(
                    format!(
                        "perfledger_{}{{target=\"{}\"}}",
                        prom_name(&r.metric),
                        esc(&r.target)
                    ),
                    v,
                );
            }
        }
        lines.insert("perfledger_regressions".into(), c.regressions() as f64);
    }
    for g in goals {
        if let Some(v) = g.value {
            lines.insert(
                format!(
                    "perfledger_{}{{target=\"{}\"}}",
                    prom_name(&g.metric),
                    esc(&g.target)
                ),
                v,
            );
        }
    }
    if !goals.is_empty() {
        let failed = goals.iter().filter(|g| g.status == Status::Fail).count();
        lines.insert("perfledger_failed_goals".into(), failed as f64);
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{k} {}\n", fmt_float(v)))
        .collect()
}

#[derive(serde::Serialize)]
struct Lines {
    begin: u32,
}

#[derive(serde::Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(serde::Serialize)]
struct Finding {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

fn finding(
    check: &'static str,
    severity: &'static str,
    what: &str,
    description: String,
    path: &str,
) -> Finding {
    let digest = blake3::hash(format!("{check}\n{what}").as_bytes()).to_hex();
    Finding {
        description,
        check_name: check,
        fingerprint: digest[..32].to_string(),
        severity,
        categories: ["Performance"],
        location: Location {
            path: path.to_string(),
            lines: Lines { begin: 1 },
        },
    }
}

/// GitLab's Code Quality report: one finding per unacknowledged regression (major), failed
/// goal (critical) and warning goal (minor), located at the goals file or the run's result
/// file; `[]` when all is well.
pub fn code_quality(s: &Subject, goals: &[GoalResult], cmp: Option<&Comparison>) -> String {
    let goals_path = s
        .goals_file
        .map(|p| p.display().to_string())
        .or_else(|| s.source.map(str::to_string))
        .unwrap_or_else(|| "perfledger".into());
    let result_path = s
        .source
        .map(str::to_string)
        .unwrap_or_else(|| goals_path.clone());
    let mut out = Vec::new();
    if let Some(c) = cmp {
        for r in c
            .results
            .iter()
            .filter(|r| r.verdict == Verdict::Regressed && !r.acknowledged)
        {
            out.push(finding(
                "perfledger.regression",
                "major",
                &format!("{}\n{}", r.target, r.metric),
                format!(
                    "{} {} regressed {} ({} -> {}, 95% CI {}, {} baseline runs)",
                    r.target,
                    r.metric,
                    pct(r.relative_change),
                    num(r.baseline),
                    num(r.candidate),
                    ci_interval(r),
                    r.baseline_runs
                ),
                &result_path,
            ));
        }
    }
    for g in goals {
        let (check, severity) = match g.status {
            Status::Fail => ("perfledger.goal", "critical"),
            Status::Warn => ("perfledger.goal_warning", "minor"),
            Status::Pass | Status::NoData => continue,
        };
        out.push(finding(
            check,
            severity,
            &format!("{}\n{}\n{}", g.goal, g.target, g.metric),
            format!(
                "goal {} ({} {}): {} against limit {} [{}]",
                g.goal,
                g.target,
                g.metric,
                num(g.value),
                num(g.limit),
                g.in_force
            ),
            &goals_path,
        ));
    }
    super::pretty(&out)
}
