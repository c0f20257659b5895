//! Plot style in one place: sizes, colours, the embedded font.

use plotters::style::{FontStyle, RGBColor};

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 360;
pub const FONT: &str = "sans-serif";
pub const TITLE_SIZE: u32 = 20;
pub const LABEL_SIZE: u32 = 14;
pub const MARGIN: u32 = 12;
pub const X_LABEL_AREA: u32 = 40;
pub const Y_LABEL_AREA: u32 = 70;

pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub const GRID: RGBColor = RGBColor(225, 228, 232);
pub const SERIES: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
pub const MEDIAN: RGBColor = RGBColor(90, 90, 90);
pub const CHANGE_POINT: RGBColor = RGBColor(214, 39, 40);
pub const ANNOTATION: RGBColor = RGBColor(120, 120, 200);
pub const BAND: RGBColor = RGBColor(44, 160, 44);
/// Not one of SERIES: a goal must not read as a second line.
pub const LIMIT: RGBColor = RGBColor(227, 119, 194);

/// DejaVu Sans (Bitstream Vera licence, reports/fonts/LICENSE-DejaVu.txt), compiled in so
/// charts render the same on machines without system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../../reports/fonts/DejaVuSans.ttf");

#[expect(
    clippy::expect_used,
    reason = "the font is compiled in; the report test draws with it"
)]
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| ())
            .expect("embedded font is valid");
    });
}
