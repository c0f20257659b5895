//! `trend` output: the series table with rolling median and change points, then the
//! annotations in its window.

use super::{fmt_float, pretty, render_rows, Format};
use crate::analysis::trend::Trend;

/// The points `render` lists in form `f` when told to list `listed`: csv and json hold every
/// point (`None`), a table the latest `listed` (and every change point).
pub fn shown(f: Format, listed: Option<usize>) -> Option<usize> {
    match f {
        Format::Json | Format::Junit | Format::Csv => None,
        _ => listed,
    }
}

/// `listed`: points a table lists, the latest ones and every change point (`None`: all); csv
/// and json hold every point.
pub fn render(t: &Trend, f: Format, listed: Option<usize>) -> String {
    if matches!(f, Format::Json | Format::Junit) {
        return pretty(t);
    }
    let listed = shown(f, listed);
    let first_listed = listed.map_or(0, |n| t.points.len().saturating_sub(n));
    let header: Vec<String> = [
        "#",
        "run",
        "time",
        "value",
        "rolling median",
        "commit",
        "change point",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = t
        .points
        .iter()
        .filter_map(|p| {
            let cp = t.change_points.iter().find(|c| c.index == p.index as usize);
            (p.index as usize >= first_listed || cp.is_some()).then_some((p, cp))
        })
        .map(|(p, cp)| {
            let cp = cp
                .map(|c| format!("{:+.1}% (p={:.2e})", c.relative_change * 100.0, c.p_value))
                .unwrap_or_default();
            vec![
                p.index.to_string(),
                p.run_id.to_string(),
                crate::time::display(p.time),
                fmt_float(p.value),
                fmt_float(p.rolling_median),
                p.commit.unwrap_or_default().to_string(),
                cp,
            ]
        })
        .collect();
    if f == Format::Csv {
        return render_rows(&header, &rows, f);
    }
    let mut out = format!(
        "{} / {}: {} runs; Mann-Kendall tau {} (p {}); Theil-Sen slope {} per month; {} change point(s)\n",
        t.target,
        t.metric,
        t.points.len(),
        t.mann_kendall_tau.map_or("n/a".into(), |v| format!("{v:.3}")),
        t.mann_kendall_p.map_or("n/a".into(), |v| format!("{v:.4}")),
        t.theil_sen_slope_per_month.map_or("n/a".into(), fmt_float),
        t.change_points.len()
    );
    out += &render_rows(&header, &rows, f);
    if rows.len() < t.points.len() {
        out += &format!(
            "({} of {} points listed: the latest and every change point; --points all lists them all, --format csv or json holds them all)\n",
            rows.len(),
            t.points.len()
        );
    }
    for a in &t.annotations {
        out += &format!(
            "annotation #{} [{}] {}{}: {}\n",
            a.id,
            a.kind,
            crate::time::display_opt(a.happened_at),
            a.run_id.map(|r| format!(" run {r}")).unwrap_or_default(),
            a.text
        );
    }
    out
}
