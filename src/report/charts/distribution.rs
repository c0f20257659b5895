//! Latency distribution as a CDF from stored histograms; several histograms overlay
//! (baseline vs candidate).

use std::path::Path;

use plotters::prelude::*;

use super::draw_err;
use super::style::*;
use crate::error::Result;

/// (name, buckets as (ms, count)).
pub fn draw(title: &str, sets: &[(String, Vec<(f64, u64)>)], path: &Path) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(draw_err)?;
    let max_ms = sets
        .iter()
        .flat_map(|(_, b)| b.iter().map(|x| x.0))
        .fold(0.0f64, f64::max)
        .max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, TITLE_SIZE))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0.0..max_ms * 1.02, 0.0..1.0)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc("latency (ms)")
        .y_desc("share of requests")
        .label_style((FONT, LABEL_SIZE))
        .draw()
        .map_err(draw_err)?;
    for (i, (name, buckets)) in sets.iter().enumerate() {
        let total: u64 = buckets.iter().map(|b| b.1).sum();
        let mut seen = 0u64;
        let mut pts = vec![(0.0, 0.0)];
        for (ms, c) in buckets {
            seen += c;
            pts.push((*ms, seen as f64 / total.max(1) as f64));
        }
        let c = SERIES[i % SERIES.len()];
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
            .map_err(draw_err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], c.stroke_width(2)));
    }
    super::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().map_err(draw_err)?;
    Ok(())
}
