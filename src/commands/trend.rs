//! `perfledger trend METRIC`.

use super::select::RunFilter;
use crate::analysis::trend;
use crate::cli::TrendArgs;
use crate::db::Warehouse;
use crate::error::{Error, Result};
use crate::frame::{fmt_float, markdown, table, Format};
use crate::stats::changepoint::Params;

pub fn render(t: &trend::Trend, f: Format) -> String {
    if matches!(f, Format::Json | Format::Junit) {
        return serde_json::to_string_pretty(t).expect("serialisable") + "\n";
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
                p.time.chars().take(19).collect(),
                fmt_float(p.value),
                fmt_float(p.rolling_median),
                p.commit.clone().unwrap_or_default(),
                cp,
            ]
        })
        .collect();
    if f == Format::Csv {
        return crate::frame::render_rows(&header, &rows, f);
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
    out += &if f == Format::Markdown {
        markdown(&header, &rows)
    } else {
        table(&header, &rows)
    };
    for a in &t.annotations {
        out += &format!(
            "annotation #{} [{}] {}{}: {}\n",
            a.id,
            a.kind,
            a.time.clone().unwrap_or_default(),
            a.run_id.map(|r| format!(" run {r}")).unwrap_or_default(),
            a.text
        );
    }
    out
}

pub fn run(db: &std::path::Path, a: &TrendArgs) -> Result<()> {
    if !a.penalty.is_finite() || a.penalty < 0.0 || a.min_size < 2 {
        return Err(Error::Usage(
            "--penalty must be >= 0 and --min-size >= 2".into(),
        ));
    }
    let wh = Warehouse::open_ro(db)?;
    let filter = RunFilter::try_from(&a.filter)?;
    let params = Params {
        penalty: a.penalty,
        min_size: a.min_size,
        ..Params::default()
    };
    let t = trend::analyse(&wh, &filter, &a.target, &a.metric, &params)?;
    crate::emit(&render(&t, a.format))
}
