//! Latency by percentile, from the percentiles a run stores (the tool's printed table when it
//! kept no per-request data, as ab's text output): one line per target. The x axis is
//! -log10(1 - q), so 50%, 90%, 99% and 99.9% are evenly spaced, as HdrHistogram plots do.

use std::path::Path;

use plotters::prelude::*;

use super::draw_err;
use super::style::*;
use crate::error::Result;

/// Where a percent sits on the axis.
fn x_of(percent: f64) -> f64 {
    -(1.0 - percent / 100.0).log10()
}

/// The percent at an axis position, as a label.
fn label(x: &f64) -> String {
    let p = (1.0 - 10f64.powf(-x)) * 100.0;
    let s = format!("{p:.3}");
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// (target, [(percent, ms)]) sorted by percent.
pub fn draw(title: &str, sets: &[(String, Vec<(f64, f64)>)], path: &Path) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(draw_err)?;
    let pts = || sets.iter().flat_map(|(_, p)| p.iter());
    let max_ms = pts().map(|p| p.1).fold(0.0f64, f64::max).max(1e-3);
    // whole numbers of nines on the axis: 0%, 90%, 99%, 99.9%
    let max_x = pts().map(|p| x_of(p.0)).fold(1.0f64, f64::max).ceil();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, TITLE_SIZE))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0.0..max_x, 0.0..max_ms * 1.08)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("percentile")
        .x_labels(max_x as usize + 1)
        .y_desc("latency (ms)")
        .x_label_formatter(&label)
        .label_style((FONT, LABEL_SIZE))
        .draw()
        .map_err(draw_err)?;
    for (i, (name, p)) in sets.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        let line: Vec<(f64, f64)> = p.iter().map(|(q, ms)| (x_of(*q), *ms)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), c.stroke_width(2)))
            .map_err(draw_err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], c.stroke_width(2)));
        chart
            .draw_series(line.into_iter().map(|pt| Circle::new(pt, 3, c.filled())))
            .map_err(draw_err)?;
    }
    super::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{label, x_of};

    #[test]
    fn axis_positions_and_labels_round_trip() {
        assert!((x_of(90.0) - 1.0).abs() < 1e-12);
        assert!((x_of(99.0) - 2.0).abs() < 1e-12);
        assert_eq!(label(&x_of(50.0)), "50%");
        assert_eq!(label(&x_of(99.9)), "99.9%");
        assert_eq!(label(&0.0), "0%");
    }
}
