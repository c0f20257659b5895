//! Charts, one file per chart, all drawn with plotters into PNG files.

pub mod distribution;
pub mod multiples;
pub mod percentiles;
pub mod style;
pub mod timeline;

use plotters::coord::CoordTranslate;
use plotters::prelude::*;

use crate::error::{Error, Result};

pub fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("chart drawing failed: {e:?}"))
}

pub fn fmt_time_label(secs: &f64, span: f64) -> String {
    let d = chrono::DateTime::from_timestamp(*secs as i64, 0).map(|d| d.naive_utc());
    match d {
        Some(d) if span > 3.0 * 86400.0 => d.format("%Y-%m-%d").to_string(),
        Some(d) if span > 3600.0 => d.format("%m-%d %H:%M").to_string(),
        Some(d) => d.format("%H:%M:%S").to_string(),
        None => String::new(),
    }
}

/// The series legend in the charts' style, at `pos`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(style::GRID)
        .label_font((style::FONT, style::LABEL_SIZE))
        .position(pos)
        .draw()
        .map_err(draw_err)
}
