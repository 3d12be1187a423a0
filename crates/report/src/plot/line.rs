//! Line charts: series of `(x, y)` points, each optionally with a band (`lo..hi`
//! around it, e.g. ± one standard deviation over seeds) and markers at its points.

use super::{colour, e, framed, range, render, Axis, Chart, Frame, HEIGHT, WIDTH};
use plotters::prelude::*;

/// One curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// `(x, lo, hi)`: a shaded band (drawn under the line); empty for none.
    pub band: Vec<(f64, f64, f64)>,
    pub dashed: bool,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            band: Vec::new(),
            dashed: false,
        }
    }
    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Series {
        self.band = band;
        self
    }
    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }
}

/// A chart of one or more series over shared axes.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    /// Start the y axis at zero (energies, latencies).
    pub y_from_zero: bool,
    /// Fixed y limits in data units (e.g. 0..1 for an accuracy), instead of the data's.
    pub y_limits: Option<(f64, f64)>,
}

/// Series with up to this many points get a marker at every point.
const MARKERS: usize = 60;

impl LineChart {
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> LineChart {
        LineChart {
            title: title.into(),
            x,
            y,
            series: Vec::new(),
            y_from_zero: false,
            y_limits: None,
        }
    }

    pub fn svg(&self) -> String {
        render(WIDTH, HEIGHT, |root| self.draw(root))
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String> {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let ys = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        });
        let fin = |v: &f64| v.is_finite();
        let (x_lo, x_hi) = xs
            .filter(fin)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let (y_lo, y_hi) = ys
            .filter(fin)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let (y_lo, y_hi) = match self.y_limits {
            Some((a, b)) => (y_lo.min(a), y_hi.max(b)),
            None => (y_lo, y_hi),
        };
        let (fx, x_title) = self.x.scaled(x_lo.abs().max(x_hi.abs()));
        let (fy, y_title) = self.y.scaled(y_lo.abs().max(y_hi.abs()));
        let single = self.series.iter().all(|s| s.points.len() <= 1);
        let (x0, x1) = range(x_lo * fx, x_hi * fx, if single { 0.1 } else { 0.0 });
        let (y0, y1) = if self.y_limits.is_some() {
            range(y_lo * fy, y_hi * fy, 0.0)
        } else if self.y_from_zero && y_lo >= 0.0 {
            let (_, hi) = range(0.0, y_hi * fy, 0.05);
            (0.0, hi)
        } else {
            range(y_lo * fy, y_hi * fy, 0.05)
        };

        let entries: Vec<(String, RGBColor, bool)> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .map(|(i, s)| (s.name.clone(), colour(i), s.dashed))
            .collect();
        let frame = Frame {
            title: &self.title,
            legend: &entries,
            x: (x0, x1),
            y: (y0, y1),
            x_title: &x_title,
            y_title: &y_title,
            x_ticks: true,
            y_ticks: true,
            left: 84,
        };
        framed(root, &frame, |chart| self.lines(chart, fx, fy))
    }

    fn lines(&self, chart: &mut Chart, fx: f64, fy: f64) -> Result<(), String> {
        for (i, s) in self.series.iter().enumerate() {
            let c = colour(i);
            if !s.band.is_empty() {
                let upper = s.band.iter().map(|b| (b.0 * fx, b.2 * fy));
                let lower = s.band.iter().rev().map(|b| (b.0 * fx, b.1 * fy));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        upper.chain(lower).collect::<Vec<_>>(),
                        c.mix(0.2).filled(),
                    )))
                    .map_err(e)?;
            }
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(|p| (p.0 * fx, p.1 * fy))
                .collect();
            if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, c.stroke_width(2)))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(e)?;
            }
            if pts.len() <= MARKERS && !s.dashed {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(e)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_titles_units_and_legend_are_drawn() {
        let mut c = LineChart::new(
            "latency",
            Axis::plain("step", ""),
            Axis::time("latency per step"),
        );
        c.series.push(Series::new(
            "latency",
            (0..100).map(|i| (i as f64, 20_000.0 + i as f64)).collect(),
        ));
        c.series
            .push(Series::new("mean 20.05 µs", vec![(0.0, 20_050.0), (99.0, 20_050.0)]).dashed());
        c.y_from_zero = true;
        let svg = c.svg();
        assert!(svg.contains("latency per step (µs)"), "{svg}");
        assert!(
            svg.contains(">\nstep\n<") || svg.contains(">step<"),
            "x title"
        );
        assert!(svg.contains("mean 20.05 µs"));
        assert!(
            !svg.contains("(ns)") && !svg.contains(" ns"),
            "one unit on the axis"
        );
    }

    #[test]
    fn a_single_point_is_drawn_inside_the_plot() {
        let mut c = LineChart::new("one", Axis::plain("epoch", ""), Axis::percent("accuracy"));
        c.series.push(Series::new("test", vec![(1.0, 0.9)]));
        let svg = c.svg();
        // The marker is a circle well inside the canvas, not on its edge.
        let circle = svg
            .lines()
            .find(|l| l.starts_with("<circle"))
            .expect("a marker");
        let num = |k: &str| -> f64 {
            let a = circle.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
            circle[a..].split('"').next().unwrap().parse().unwrap()
        };
        let (cx, cy) = (num("cx"), num("cy"));
        assert!(
            cx > 150.0 && cx < 700.0 && cy > 80.0 && cy < 400.0,
            "{circle}"
        );
    }

    #[test]
    fn a_band_is_a_filled_polygon() {
        let mut c = LineChart::new("b", Axis::plain("x", ""), Axis::plain("y", ""));
        c.series.push(
            Series::new("mean ± sd", vec![(0.0, 1.0), (1.0, 2.0)])
                .with_band(vec![(0.0, 0.5, 1.5), (1.0, 1.5, 2.5)]),
        );
        assert!(c.svg().contains("<polygon"));
    }
}
