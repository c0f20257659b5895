//! Small multiples: many series side by side, one small panel each, every panel scaled to its
//! own data (a review scans shapes: steps, drifts, spikes; exact values are in the details).
//! One image holds up to [`PER_IMAGE`] panels, [`COLUMNS`] per row.

use std::path::Path;

use plotters::prelude::*;

use super::draw_err;
use super::style::*;
use super::timeline::y_axis;
use crate::error::Result;
use crate::grid::fmt_float;

pub const COLUMNS: usize = 4;
pub const PER_IMAGE: usize = 24;
const PANEL_HEIGHT: u32 = 150;
const PANEL_TITLE: u32 = 12;
/// Characters of a title that fit a panel at [`PANEL_TITLE`] px.
const TITLE_CHARS: usize = 26;

pub struct Panel {
    pub title: String,
    /// The values in time order, drawn evenly spaced (runs, or snapshot intervals).
    pub values: Vec<f64>,
    /// Marked red: a change point for the worse was found in this series.
    pub regressed: bool,
}

/// Draws `panels` (at most [`PER_IMAGE`]) in a grid of [`COLUMNS`].
pub fn draw(panels: &[Panel], path: &Path) -> Result<()> {
    register_font();
    let rows = panels.len().div_ceil(COLUMNS).max(1) as u32;
    let root = BitMapBackend::new(path, (WIDTH, rows * PANEL_HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(draw_err)?;
    let areas = root.split_evenly((rows as usize, COLUMNS));
    for (p, area) in panels.iter().zip(areas) {
        panel(p, &area)?;
    }
    root.present().map_err(draw_err)
}

fn panel(p: &Panel, area: &DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()> {
    let (y0, y1, _) = y_axis(&p.values, None);
    let x1 = (p.values.len().max(2) - 1) as f64;
    let colour = if p.regressed { CHANGE_POINT } else { SERIES[0] };
    let last = p
        .values
        .last()
        .map_or(String::new(), |v| fmt_float(crate::grid::round_sig(*v, 4)));
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .caption(
            format!("{} · {last}", short(&p.title)),
            (FONT, PANEL_TITLE).into_font().color(&BLACK),
        )
        .x_label_area_size(4)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_labels(3)
        .y_label_formatter(&|v| fmt_float(*v))
        .y_label_style((FONT, 10))
        .light_line_style(BACKGROUND)
        .bold_line_style(GRID)
        .draw()
        .map_err(draw_err)?;
    let pts = || p.values.iter().enumerate().map(|(i, v)| (i as f64, *v));
    chart
        .draw_series(LineSeries::new(pts(), colour.stroke_width(2)))
        .map_err(draw_err)?;
    if let Some(q) = pts().next_back() {
        chart
            .draw_series(std::iter::once(Circle::new(q, 3, colour.filled())))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A title cut to what a panel shows, with an ellipsis (the full names are in the tables).
fn short(title: &str) -> String {
    if title.chars().count() <= TITLE_CHARS {
        title.to_string()
    } else {
        let mut s: String = title.chars().take(TITLE_CHARS - 1).collect();
        s.push('…');
        s
    }
}
