//! Every picture amine draws, as SVG through `plotters`' SVG backend.
//!
//! Each chart type is plain data with an `svg()` method: [`LineChart`] (series with
//! optional bands), [`Scatter`] (with a Pareto front), [`MeshHeat`] (cores on the mesh),
//! [`FieldPanels`] (modulator fields), [`Raster`] (spikes) and [`Bars`] (stacked bars).
//! Shared rules, so every picture reads the same way:
//!
//! - every axis has a title with its unit; a quantity in energy, time or power is shown
//!   in the one SI prefix that suits its largest value (`latency per step (µs)`), and
//!   tick labels carry only as many decimals as the tick spacing needs;
//! - colour scales start at zero (or are symmetric around it), so a 10 % spread looks
//!   like 10 %;
//! - a series of one point is a visible marker inside the plot, never a clipped dot;
//! - legends sit above the plot, never on the data.

mod bars;
mod heat;
mod line;
mod raster;
mod scatter;

pub use bars::Bars;
pub use heat::{FieldPanels, MeshHeat, Panel};
pub use line::{LineChart, Series};
pub use raster::Raster;
pub use scatter::{pareto_front, Better, Scatter, ScatterPoint};

use amine_chip::units::Prefix;
use plotters::prelude::*;

/// Width and height of a picture, in pixels.
pub const WIDTH: u32 = 760;
pub const HEIGHT: u32 = 460;

pub(crate) const FONT: &str = "sans-serif";

/// Ten distinguishable colours (Tableau 10), in series order.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// What an axis measures, which decides its unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    /// Values in picojoules.
    Energy,
    /// Values in nanoseconds.
    Time,
    /// Values in milliwatts.
    Power,
    /// Fractions in [0, 1], shown in percent.
    Percent,
    /// Values in their own unit (may be empty: a count, an index).
    Plain(String),
}

/// An axis: what it shows and in which unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub title: String,
    pub quantity: Quantity,
}

impl Axis {
    pub fn energy(title: &str) -> Axis {
        Axis::new(title, Quantity::Energy)
    }
    pub fn time(title: &str) -> Axis {
        Axis::new(title, Quantity::Time)
    }
    pub fn percent(title: &str) -> Axis {
        Axis::new(title, Quantity::Percent)
    }
    /// An axis in `unit` (empty for none).
    pub fn plain(title: &str, unit: &str) -> Axis {
        Axis::new(title, Quantity::Plain(unit.into()))
    }
    pub fn new(title: &str, quantity: Quantity) -> Axis {
        Axis {
            title: title.into(),
            quantity,
        }
    }

    /// `(factor, axis title with unit)` for data whose largest magnitude is `max_abs`:
    /// plot `value × factor`.
    pub fn scaled(&self, max_abs: f64) -> (f64, String) {
        let (factor, unit) = match &self.quantity {
            Quantity::Energy => {
                let (f, u) = Prefix::Energy.pick(max_abs);
                (f, u.to_string())
            }
            Quantity::Time => {
                let (f, u) = Prefix::Time.pick(max_abs);
                (f, u.to_string())
            }
            Quantity::Power => {
                let (f, u) = Prefix::Power.pick(max_abs);
                (f, u.to_string())
            }
            Quantity::Percent => (100.0, "%".to_string()),
            Quantity::Plain(u) => (1.0, u.clone()),
        };
        let title = if unit.is_empty() {
            self.title.clone()
        } else {
            format!("{} ({unit})", self.title)
        };
        (factor, title)
    }
}

/// A range for data spanning `lo..=hi`: padded by `pad` of its span on both sides, and
/// widened around a single value so that a lone point sits inside the plot.
pub(crate) fn range(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let p = (hi - lo) * pad;
    (lo - p, hi + p)
}

/// Decimals a tick label needs when ticks of a range of width `span` are about a tenth
/// of it apart.
pub(crate) fn decimals(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 0;
    }
    let step = span / 10.0;
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// A tick label with `d` decimals, thousands grouped, `-0` shown as `0`.
pub(crate) fn tick(v: f64, d: usize) -> String {
    let s = format!("{v:.d$}");
    let s = if s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    };
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let grouped = match digits.parse::<u64>() {
        Ok(n) if n >= 10_000 => amine_chip::units::group_digits(n),
        _ => digits.to_string(),
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A number in a label or caption with 3 significant digits.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let d = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    tick(v, d)
}

/// The SVG of a picture drawn by `draw` on a `w`×`h` white canvas; a drawing error
/// (which plotters reports only for impossible layouts) becomes a picture saying so.
pub(crate) fn render(
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut s = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        let r = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(&root));
        let _ = root.present();
        r
    };
    match result {
        Ok(()) => s,
        Err(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"60\"><text x=\"10\" y=\"30\" font-family=\"sans-serif\">picture could not be drawn: {}</text></svg>",
            crate::esc(&e)
        ),
    }
}

/// Map a plotters error to text.
pub(crate) fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

/// The title line of a picture, centred at the top.
pub(crate) fn title(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    text: &str,
) -> Result<(), String> {
    let (w, _) = root.dim_in_pixel();
    root.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, 8),
        (FONT, 17)
            .into_font()
            .color(&BLACK)
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            )),
    ))
    .map_err(e)
}

/// The canvas of a picture.
pub(crate) type Root<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A chart over `f64 × f64` data coordinates.
pub(crate) type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// What every framed chart has: a title, a legend row, titled axes with ticks.
pub(crate) struct Frame<'t> {
    pub title: &'t str,
    /// `(name, colour, dashed)` entries above the plot (none: no legend row).
    pub legend: &'t [(String, RGBColor, bool)],
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub x_title: &'t str,
    pub y_title: &'t str,
    /// Number tick labels on the x and y axes (off when the caller writes its own).
    pub x_ticks: bool,
    pub y_ticks: bool,
    /// Pixels left of the plot for the y axis's labels and title.
    pub left: u32,
}

/// Draw the frame on `root`, then call `draw` with the chart (data coordinates).
pub(crate) fn framed(
    root: &Root,
    f: &Frame,
    draw: impl FnOnce(&mut Chart) -> Result<(), String>,
) -> Result<(), String> {
    title(root, f.title)?;
    let (w, _) = root.dim_in_pixel();
    let (_, body) = root.split_vertically(38 + 20 * legend_rows(f.legend, w));
    legend(root, f.legend, 90, 44)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(f.left)
        .build_cartesian_2d(f.x.0..f.x.1, f.y.0..f.y.1)
        .map_err(e)?;
    let (dx, dy) = (decimals(f.x.1 - f.x.0), decimals(f.y.1 - f.y.0));
    let (fmt_x, fmt_y) = (|v: &f64| tick(*v, dx), |v: &f64| tick(*v, dy));
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(f.x_title)
        .y_desc(f.y_title)
        .x_labels(if f.x_ticks { 8 } else { 0 })
        .y_labels(if f.y_ticks { 7 } else { 0 })
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .max_light_lines(0)
        .bold_line_style(RGBColor(232, 232, 232))
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13));
    if !f.x_ticks {
        mesh.disable_x_mesh();
    }
    if !f.y_ticks {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(e)?;
    draw(&mut chart)
}

/// Where each legend entry goes: `(x, row)` from `x0`, wrapping before `right`.
fn legend_layout(entries: &[(String, RGBColor, bool)], x0: i32, right: i32) -> Vec<(i32, i32)> {
    let (mut at, mut row) = (x0, 0);
    entries
        .iter()
        .map(|(name, _, _)| {
            let w = 40 + (name.chars().count() as i32) * 7;
            if at > x0 && at + w > right {
                (at, row) = (x0, row + 1);
            }
            let place = (at, row);
            at += w;
            place
        })
        .collect()
}

/// Rows a legend of `entries` takes on a picture `width` pixels wide.
pub(crate) fn legend_rows(entries: &[(String, RGBColor, bool)], width: u32) -> i32 {
    legend_layout(entries, 90, width as i32 - 20)
        .last()
        .map_or(0, |p| p.1 + 1)
}

/// The legend: `(name, colour, dashed)` entries in rows from pixel row `y`, wrapped
/// to the picture's width.
pub(crate) fn legend(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
    x: i32,
    y: i32,
) -> Result<(), String> {
    let (w, _) = root.dim_in_pixel();
    for ((name, c, dashed), (at, row)) in
        entries.iter().zip(legend_layout(entries, x, w as i32 - 20))
    {
        let y = y + row * 20;
        if *dashed {
            for k in 0..3 {
                root.draw(&PathElement::new(
                    vec![(at + k * 8, y), (at + k * 8 + 5, y)],
                    c.stroke_width(2),
                ))
                .map_err(e)?;
            }
        } else {
            root.draw(&PathElement::new(
                vec![(at, y), (at + 22, y)],
                c.stroke_width(3),
            ))
            .map_err(e)?;
        }
        root.draw(&Text::new(
            name.clone(),
            (at + 28, y - 7),
            (FONT, 14).into_font().color(&BLACK),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Viridis, `t` in [0, 1] (clamped).
pub(crate) fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    ramp(&STOPS, t)
}

/// Blue – white – red for signed values, `t` in [−1, 1] (clamped).
pub(crate) fn diverging(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [
        (33.0, 102.0, 172.0),
        (247.0, 247.0, 247.0),
        (178.0, 24.0, 43.0),
    ];
    ramp(&STOPS, (t + 1.0) / 2.0)
}

fn ramp(stops: &[(f64, f64, f64)], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_readable() {
        assert_eq!(decimals(25.0), 0);
        assert_eq!(decimals(2.5), 1);
        assert_eq!(decimals(0.03), 3);
        assert_eq!(tick(24.96, 1), "25.0");
        assert_eq!(tick(-0.0001, 2), "0.00");
        assert_eq!(tick(131072.0, 0), "131,072");
        assert_eq!(tick(-12345.5, 1), "-12,345.5");
        assert_eq!(short(0.012345), "0.0123");
        assert_eq!(short(802.04), "802");
    }

    #[test]
    fn axes_pick_one_unit() {
        let (f, t) = Axis::time("latency per step").scaled(24_950.0);
        assert_eq!((f, t.as_str()), (1e-3, "latency per step (µs)"));
        let (f, t) = Axis::energy("energy").scaled(1.3e9);
        assert_eq!((f, t.as_str()), (1e-9, "energy (mJ)"));
        let (f, t) = Axis::percent("test accuracy").scaled(0.9);
        assert_eq!((f, t.as_str()), (100.0, "test accuracy (%)"));
        assert_eq!(Axis::plain("step", "").scaled(5.0).1, "step");
    }

    #[test]
    fn a_lone_value_gets_a_range_around_it() {
        assert_eq!(range(5.0, 5.0, 0.05), (4.5, 5.5));
        assert_eq!(range(0.0, 0.0, 0.05), (-1.0, 1.0));
        assert_eq!(range(0.0, 10.0, 0.1), (-1.0, 11.0));
        assert_eq!(range(f64::NAN, 1.0, 0.0), (0.0, 1.0));
    }

    #[test]
    fn colour_scales_are_anchored() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(diverging(0.0), RGBColor(247, 247, 247));
        assert_eq!(diverging(-2.0), RGBColor(33, 102, 172));
    }
}
