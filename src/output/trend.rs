//! `trend` output: the series table with rolling median and change points, then the
//! annotations in its window.

use super::{fmt_float, pretty, render_rows, Format};
use crate::analysis::trend::Trend;

pub fn render(t: &Trend, f: Format) -> String {
    if matches!(f, Format::Json | Format::Junit) {
        return pretty(t);
    }
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
        .map(|p| {
            let cp = t
                .change_points
                .iter()
                .find(|c| c.index == p.index)
                .map(|c| format!("{:+.1}% (p={:.2e})", c.relative_change * 100.0, c.p_value))
                .unwrap_or_default();
            vec![
                p.index.to_string(),
                p.run_id.to_string(),
                crate::time::display(p.time),
                fmt_float(p.value),
                fmt_float(p.rolling_median),
                p.commit.clone().unwrap_or_default(),
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
