//! A metric over time: one or more lines, optional rolling median, change points (red
//! verticals), annotations (blue verticals), a baseline band and a goal limit.

use std::path::Path;

use plotters::prelude::*;

use super::style::*;
use super::{draw_err, fmt_time_label};
use crate::error::Result;

pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Default)]
pub struct Timeline {
    pub title: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    pub median: Option<Vec<(f64, f64)>>,
    pub change_points: Vec<f64>,
    pub annotations: Vec<f64>,
    pub band: Option<(f64, f64)>,
    pub limit: Option<f64>,
}

pub fn draw(t: &Timeline, path: &Path) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(draw_err)?;
    let xs = t.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let ys = t
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(t.limit)
        .chain(t.band.map(|b| b.1));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let y1 = ys.fold(0.0f64, f64::max);
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (x0.min(0.0), x0.max(0.0) + 1.0)
    };
    let span = x1 - x0;
    let pad = span * 0.02;
    let mut chart = ChartBuilder::on(&root)
        .caption(&t.title, (FONT, TITLE_SIZE))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), 0.0..(y1 * 1.1).max(1e-9))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_labels(6)
        .x_label_formatter(&|v| fmt_time_label(v, span))
        .y_desc(t.y_label.as_str())
        .label_style((FONT, LABEL_SIZE))
        .draw()
        .map_err(draw_err)?;
    if let Some((lo, hi)) = t.band {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x0 - pad, lo), (x1 + pad, hi)],
                BAND.mix(0.12).filled(),
            )))
            .map_err(draw_err)?
            .label("baseline band")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], BAND.mix(0.3).filled()));
    }
    if let Some(l) = t.limit {
        chart
            .draw_series(LineSeries::new(
                [(x0 - pad, l), (x1 + pad, l)],
                LIMIT.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("goal in force")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], LIMIT.stroke_width(2)));
    }
    for (i, line) in t.lines.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                c.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label(line.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 15, y)], c.stroke_width(2)));
        chart
            .draw_series(line.points.iter().map(|p| Circle::new(*p, 3, c.filled())))
            .map_err(draw_err)?;
    }
    if let Some(m) = &t.median {
        chart
            .draw_series(LineSeries::new(m.iter().copied(), MEDIAN.stroke_width(1)))
            .map_err(draw_err)?
            .label("rolling median (5 runs)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], MEDIAN));
    }
    for (xs, color, name) in [
        (&t.change_points, CHANGE_POINT, "change point"),
        (&t.annotations, ANNOTATION, "annotation"),
    ] {
        for (k, x) in xs.iter().enumerate() {
            let s = chart
                .draw_series(LineSeries::new(
                    [(*x, 0.0), (*x, y1 * 1.1)],
                    color.stroke_width(2),
                ))
                .map_err(draw_err)?;
            if k == 0 {
                s.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2))
                });
            }
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FONT, LABEL_SIZE))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    Ok(())
}
