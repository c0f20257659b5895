//! Rendering of comparisons and goal results: table, JSON, Markdown (for a pull-request
//! comment or $GITHUB_STEP_SUMMARY) and JUnit XML (one test case per goal and per comparison).

use serde::Serialize;

use super::ci::{self, Subject};
use super::{fmt_float, markdown, num, pct, pretty, render_rows, table, xml_escape, Format};
use crate::analysis::compare::{Comparison, Row, Verdict};
use crate::analysis::goals::{GoalResult, Status};

pub fn ci_interval(r: &Row) -> String {
    match (r.ci_low, r.ci_high) {
        (Some(a), Some(b)) => format!("[{:+.1}%, {:+.1}%]", a * 100.0, b * 100.0),
        _ => String::new(),
    }
}

fn p(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| {
        if v < 0.0001 {
            "<0.0001".into()
        } else {
            format!("{v:.4}")
        }
    })
}

fn verdict_text(r: &Row) -> String {
    let v = r.verdict.as_str().to_string();
    if r.acknowledged {
        format!("{v} (acknowledged)")
    } else {
        v
    }
}

pub fn comparison_rows(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "target",
        "metric",
        "baseline",
        "candidate",
        "change",
        "95% CI",
        "p (BH)",
        "method",
        "runs",
        "CV",
        "MDE",
        "floor",
        "verdict",
    ]
    .map(String::from)
    .to_vec();
    let rows = c
        .results
        .iter()
        .map(|r| {
            vec![
                r.target.clone(),
                r.metric.clone(),
                num(r.baseline),
                num(r.candidate),
                pct(r.relative_change),
                ci_interval(r),
                p(r.p_adjusted),
                r.method.as_str().to_string(),
                format!("{}/{}", r.baseline_runs, r.candidate_runs),
                r.baseline_cv
                    .map_or(String::new(), |v| format!("{:.1}%", v * 100.0)),
                r.mde
                    .map_or(String::new(), |v| format!("{:.1}%", v * 100.0)),
                floor(r),
                verdict_text(r),
            ]
        })
        .collect();
    (header, rows)
}

/// The floors a row was judged by: the minimum relative effect, and the absolute one.
pub fn floor(r: &Row) -> String {
    let rel = format!("{}%", fmt_float(r.min_effect * 100.0));
    match r.min_abs_effect {
        Some(a) => format!(
            "{rel}, {} {}",
            fmt_float(a),
            crate::metrics::unit(&r.metric)
        )
        .trim_end()
        .to_string(),
        None => rel,
    }
}

pub fn goal_rows(g: &[GoalResult]) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "goal", "target", "metric", "value", "bound", "limit", "in force", "status", "rule",
    ]
    .map(String::from)
    .to_vec();
    let rows = g
        .iter()
        .map(|r| {
            vec![
                r.goal.clone(),
                r.target.clone(),
                r.metric.clone(),
                num(r.value),
                num(r.bound),
                r.limit
                    .map(|l| {
                        format!(
                            "{} {}",
                            if r.limit_kind == "max" { "<=" } else { ">=" },
                            fmt_float(l)
                        )
                    })
                    .unwrap_or_default(),
                r.in_force.clone(),
                r.status.as_str().to_string(),
                r.rule.clone(),
            ]
        })
        .collect();
    (header, rows)
}

/// JUnit XML: a suite of goal cases and a suite of comparison cases.
pub fn junit(goals: &[GoalResult], cmp: Option<&Comparison>) -> String {
    let mut suites = String::new();
    let mut total = (0, 0);
    if !goals.is_empty() {
        let fails = goals.iter().filter(|g| g.status == Status::Fail).count();
        suites += &format!(
            "  <testsuite name=\"perfledger.goals\" tests=\"{}\" failures=\"{fails}\">\n",
            goals.len()
        );
        for g in goals {
            let name = xml_escape(&format!("{} ({} {})", g.goal, g.target, g.metric));
            let detail = xml_escape(&format!(
                "value {} bound {} limit {} [{}]: {}",
                num(g.value),
                num(g.bound),
                num(g.limit),
                g.in_force,
                g.rule
            ));
            suites += &format!("    <testcase classname=\"perfledger.goals\" name=\"{name}\">");
            match g.status {
                Status::Fail => {
                    suites += &format!(
                        "<failure message=\"{}\">{detail}</failure>",
                        xml_escape(&format!("goal failed: {detail}"))
                    );
                }
                Status::NoData => suites += "<skipped message=\"no_data\"/>",
                Status::Warn => suites += &format!("<system-out>warn: {detail}</system-out>"),
                Status::Pass => suites += &format!("<system-out>{detail}</system-out>"),
            }
            suites += "</testcase>\n";
        }
        suites += "  </testsuite>\n";
        total = (total.0 + goals.len(), total.1 + fails);
    }
    if let Some(c) = cmp {
        let fails = c.regressions();
        suites += &format!(
            "  <testsuite name=\"perfledger.compare\" tests=\"{}\" failures=\"{fails}\">\n",
            c.results.len()
        );
        for r in &c.results {
            let name = xml_escape(&format!("{} {}", r.target, r.metric));
            let detail = xml_escape(&format!(
                "{} -> {} ({}, CI {}, p {}) by {}; baseline runs {}, CV {}, MDE {}, floor {}",
                num(r.baseline),
                num(r.candidate),
                pct(r.relative_change),
                ci_interval(r),
                p(r.p_adjusted),
                r.method.as_str(),
                r.baseline_runs,
                pct(r.baseline_cv),
                pct(r.mde),
                floor(r)
            ));
            suites += &format!("    <testcase classname=\"perfledger.compare\" name=\"{name}\">");
            match r.verdict {
                Verdict::Regressed if !r.acknowledged => {
                    suites += &format!("<failure message=\"regressed\">{detail}</failure>");
                }
                Verdict::InsufficientData => suites += "<skipped message=\"insufficient_data\"/>",
                _ => suites += &format!("<system-out>{}: {detail}</system-out>", verdict_text(r)),
            }
            suites += "</testcase>\n";
        }
        suites += "  </testsuite>\n";
        total = (total.0 + c.results.len(), total.1 + fails);
    }
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"perfledger\" tests=\"{}\" failures=\"{}\">\n{suites}</testsuites>\n", total.0, total.1)
}

#[derive(Serialize)]
struct CheckJson<'a> {
    run_id: i64,
    passed: bool,
    goals: &'a [GoalResult],
    comparison: Option<&'a Comparison>,
}

/// Everything `check` prints, in the requested format.
pub fn render_check(
    subject: &Subject,
    passed: bool,
    goals: &[GoalResult],
    cmp: Option<&Comparison>,
    f: Format,
) -> String {
    let run_id = subject.run_id;
    match f {
        Format::Comment => ci::comment(subject, goals, cmp),
        Format::GitlabMetrics => ci::gitlab_metrics(goals, cmp),
        Format::CodeQuality => ci::code_quality(subject, goals, cmp),
        Format::Json => pretty(&CheckJson {
            run_id,
            passed,
            goals,
            comparison: cmp,
        }),
        Format::Junit => junit(goals, cmp),
        _ => {
            let verdict = if passed { "PASS" } else { "FAIL" };
            let mut out = match f {
                Format::Markdown => format!("## perfledger check: {verdict} (run {run_id})\n\n"),
                _ => format!("perfledger check: {verdict} (run {run_id})\n\n"),
            };
            let render = |(h, r): (Vec<String>, Vec<Vec<String>>)| {
                if f == Format::Markdown {
                    markdown(&h, &r)
                } else {
                    table(&h, &r)
                }
            };
            if !goals.is_empty() {
                out += if f == Format::Markdown {
                    "### Goals\n\n"
                } else {
                    "Goals\n"
                };
                out += &render(goal_rows(goals));
                out.push('\n');
            }
            if let Some(c) = cmp {
                out += &render_comparison(c, None, f);
            }
            out
        }
    }
}

/// Everything `compare` prints; the forms of code review need the candidate (`subject`).
pub fn render_comparison(c: &Comparison, subject: Option<&Subject>, f: Format) -> String {
    match (f, subject) {
        (Format::Comment, Some(s)) => return ci::comment(s, &[], Some(c)),
        (Format::GitlabMetrics, _) => return ci::gitlab_metrics(&[], Some(c)),
        (Format::CodeQuality, Some(s)) => return ci::code_quality(s, &[], Some(c)),
        _ => {}
    }
    match f {
        Format::Json => pretty(c),
        Format::Junit => junit(&[], Some(c)),
        Format::Csv => {
            let (h, rows) = comparison_rows(c);
            render_rows(&h, &rows, Format::Csv)
        }
        Format::Table
        | Format::Markdown
        | Format::Comment
        | Format::GitlabMetrics
        | Format::CodeQuality => {
            let (h, rows) = comparison_rows(c);
            let count = |v: Verdict| c.results.iter().filter(|r| r.verdict == v).count();
            let summary = format!(
                "baseline runs {:?} vs candidate runs {:?}: {} regressed, {} improved, {} unchanged, {} below_min_effect, {} insufficient_data (BH q = {}, min effect {}%)",
                c.baseline_runs,
                c.candidate_runs,
                count(Verdict::Regressed),
                count(Verdict::Improved),
                count(Verdict::Unchanged),
                count(Verdict::BelowMinEffect),
                count(Verdict::InsufficientData),
                c.settings.fdr_q,
                c.settings.min_effect * 100.0
            );
            let mut out = if f == Format::Markdown {
                format!("### Comparison\n\n{summary}\n\n{}", markdown(&h, &rows))
            } else {
                format!("Comparison: {summary}\n{}", table(&h, &rows))
            };
            if let Some(why) = &c.baseline_reason {
                out += &format!("baseline: {why}\n");
            }
            for n in &c.notes {
                out += &format!("note: {n}\n");
            }
            out
        }
    }
}
