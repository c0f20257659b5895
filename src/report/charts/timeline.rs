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

/// Where a goal stands against the data's axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// On the axis: drawn as a line.
    Drawn(f64),
    /// Beyond the top or the bottom: marked at that edge with its value.
    Above(f64),
    Below(f64),
}

/// The y axis of a chart: scaled to the data (so a 15% step is visible), with a goal on it
/// only when it is within reach (no farther from the data than the data's own range, or 50%
/// of its level); a goal farther away is marked at the edge instead of flattening the data.
pub fn y_axis(data: &[f64], limit: Option<f64>) -> (f64, f64, Option<Goal>) {
    let (lo, hi) = data
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0, limit.map(Goal::Drawn));
    }
    let reach = (hi - lo).max(0.5 * hi.abs().max(lo.abs()));
    let (lo, hi, goal) = match limit {
        Some(l) if l > hi + reach => (lo, hi, Some(Goal::Above(l))),
        Some(l) if l < lo - reach => (lo, hi, Some(Goal::Below(l))),
        Some(l) => (lo.min(l), hi.max(l), Some(Goal::Drawn(l))),
        None => (lo, hi, None),
    };
    // a series of zeros (no failures) gets a 0..1 axis, not ten labels reading 0.0
    let pad = ((hi - lo) * 0.1)
        .max(hi.abs().max(lo.abs()) * 0.02)
        .max(if hi == lo && hi == 0.0 { 1.0 } else { 1e-9 });
    // counts and ratios never go below zero: keep 0 as the floor when the data are near it
    let y0 = if lo >= 0.0 && lo - pad < 0.0 {
        0.0
    } else {
        lo - pad
    };
    (y0, hi + pad, goal)
}

pub fn draw(t: &Timeline, path: &Path) -> Result<()> {
    register_font();
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND).map_err(draw_err)?;
    let xs = t.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let ys: Vec<f64> = t
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(t.median.iter().flatten().map(|p| p.1))
        .chain(t.band.iter().flat_map(|b| [b.0, b.1]))
        .collect();
    let (y0, y1, goal) = y_axis(&ys, t.limit);
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
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
        .build_cartesian_2d((x0 - pad)..(x1 + pad), y0..y1)
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
    match goal {
        Some(Goal::Drawn(l)) => {
            chart
                .draw_series(LineSeries::new(
                    [(x0 - pad, l), (x1 + pad, l)],
                    LIMIT.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label("goal in force")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], LIMIT.stroke_width(2)));
        }
        Some(Goal::Above(l) | Goal::Below(l)) => {
            let above = matches!(goal, Some(Goal::Above(_)));
            let text = format!(
                "goal in force {} {}, off scale {}",
                crate::grid::fmt_float(l),
                t.y_label,
                if above { "above" } else { "below" }
            );
            let at = if above {
                y1 - (y1 - y0) * 0.04
            } else {
                y0 + (y1 - y0) * 0.08
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (x1 - span * 0.45, at),
                    (FONT, LABEL_SIZE).into_font().color(&LIMIT),
                )))
                .map_err(draw_err)?;
        }
        None => {}
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
                .draw_series(LineSeries::new([(*x, y0), (*x, y1)], color.stroke_width(2)))
                .map_err(draw_err)?;
            if k == 0 {
                s.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 15, y)], color.stroke_width(2))
                });
            }
        }
    }
    super::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_of_zeros_gets_a_readable_axis() {
        let (y0, y1, _) = y_axis(&[0.0, 0.0, 0.0], None);
        assert_eq!((y0, y1), (0.0, 1.0));
    }

    #[test]
    fn the_axis_follows_the_data_and_a_far_goal_is_marked_off_scale() {
        // issue 15: 1,200 req/s with a 15% step under a 100,000 req/s goal
        let data: Vec<f64> = (0..20)
            .map(|i| if i < 10 { 1200.0 } else { 1020.0 })
            .collect();
        let (y0, y1, goal) = y_axis(&data, Some(100_000.0));
        assert_eq!(goal, Some(Goal::Above(100_000.0)));
        assert!(y0 > 900.0 && y1 < 1300.0, "{y0}..{y1}");
        // the step spans most of the axis, not 0.2% of it
        assert!((1200.0 - 1020.0) / (y1 - y0) > 0.5);
        // a goal within reach is on the axis
        let (_, y1, goal) = y_axis(&data, Some(1300.0));
        assert_eq!(goal, Some(Goal::Drawn(1300.0)));
        assert!(y1 > 1300.0);
        let (y0, _, goal) = y_axis(&[8.0, 8.5, 9.0], Some(0.5));
        assert_eq!(goal, Some(Goal::Below(0.5)));
        assert!(y0 > 6.0, "{y0}");
    }
}
