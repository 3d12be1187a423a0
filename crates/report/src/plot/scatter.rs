//! Scatter plots of design points, with their Pareto front: the points no other point
//! beats on both axes (e.g. less energy *and* less latency).

use super::{colour, e, framed, range, render, Axis, Chart, Frame, Root, FONT, HEIGHT, WIDTH};
use plotters::prelude::*;

/// Which direction of an axis is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    /// Whether `a` is at least as good as `b`.
    fn at_least(self, a: f64, b: f64) -> bool {
        match self {
            Better::Lower => a <= b,
            Better::Higher => a >= b,
        }
    }
}

/// One design point.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    /// Written beside the point when it is on the front.
    pub label: String,
    /// Index into [`Scatter::groups`] (colour and legend).
    pub group: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub points: Vec<ScatterPoint>,
    /// Legend names of the groups (empty: one unnamed group).
    pub groups: Vec<String>,
    /// Draw the Pareto front for these directions.
    pub front: Option<(Better, Better)>,
}

/// Indices of the points no other point dominates (at least as good on both axes and
/// better on one), in increasing x. Points with a non-finite coordinate are never on it.
pub fn pareto_front(points: &[(f64, f64)], bx: Better, by: Better) -> Vec<usize> {
    let ok = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| ok(&points[i]))
        .filter(|&i| {
            let p = points[i];
            !points.iter().any(|q| {
                ok(q)
                    && bx.at_least(q.0, p.0)
                    && by.at_least(q.1, p.1)
                    && (q.0 != p.0 || q.1 != p.1)
            })
        })
        .collect();
    front.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0).then(a.cmp(&b)));
    front
}

/// Labels are written beside front points only when there are at most this many.
const LABELS: usize = 16;

impl Scatter {
    pub fn svg(&self) -> String {
        render(WIDTH, HEIGHT, |root| self.draw(root))
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String> {
        let fin: Vec<&ScatterPoint> = self
            .points
            .iter()
            .filter(|p| p.x.is_finite() && p.y.is_finite())
            .collect();
        let fold = |f: &dyn Fn(&ScatterPoint) -> f64| {
            fin.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                    (a.min(f(p)), b.max(f(p)))
                })
        };
        let (x_lo, x_hi) = fold(&|p| p.x);
        let (y_lo, y_hi) = fold(&|p| p.y);
        let (fx, x_title) = self.x.scaled(x_lo.abs().max(x_hi.abs()));
        let (fy, y_title) = self.y.scaled(y_lo.abs().max(y_hi.abs()));
        let (x0, x1) = range(x_lo * fx, x_hi * fx, 0.08);
        let (y0, y1) = range(y_lo * fy, y_hi * fy, 0.08);

        let mut entries: Vec<(String, RGBColor, bool)> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.clone(), colour(i), false))
            .collect();
        let front = self.front.map(|(bx, by)| {
            let pts: Vec<(f64, f64)> = self.points.iter().map(|p| (p.x, p.y)).collect();
            pareto_front(&pts, bx, by)
        });
        if front.is_some() {
            entries.push(("Pareto front".into(), BLACK, true));
        }
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
        framed(root, &frame, |chart| {
            self.dots(chart, root, &fin, front.as_deref(), (fx, fy))
        })
    }

    fn dots(
        &self,
        chart: &mut Chart,
        root: &Root,
        fin: &[&ScatterPoint],
        front: Option<&[usize]>,
        (fx, fy): (f64, f64),
    ) -> Result<(), String> {
        if let Some(front) = front {
            let line: Vec<(f64, f64)> = front
                .iter()
                .map(|&i| (self.points[i].x * fx, self.points[i].y * fy))
                .collect();
            chart
                .draw_series(DashedLineSeries::new(line, 6, 4, BLACK.stroke_width(1)))
                .map_err(e)?;
        }
        chart
            .draw_series(
                fin.iter().map(|p| {
                    Circle::new((p.x * fx, p.y * fy), 4, colour(p.group).mix(0.85).filled())
                }),
            )
            .map_err(e)?;
        if let Some(front) = front {
            chart
                .draw_series(front.iter().map(|&i| {
                    let p = &self.points[i];
                    Circle::new((p.x * fx, p.y * fy), 7, BLACK.stroke_width(2))
                }))
                .map_err(e)?;
            if front.len() <= LABELS {
                for &i in front.iter() {
                    let p = &self.points[i];
                    let (px, py) = chart.backend_coord(&(p.x * fx, p.y * fy));
                    root.draw(&Text::new(
                        p.label.clone(),
                        (px + 9, py - 16),
                        (FONT, 12).into_font().color(&BLACK),
                    ))
                    .map_err(e)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_is_the_undominated_points() {
        //  energy, latency: lower is better on both.
        let pts = [
            (3.0, 1.0),
            (1.0, 3.0),
            (2.0, 2.0),
            (2.5, 2.5),
            (1.0, 4.0),
            (f64::NAN, 0.0),
        ];
        assert_eq!(
            pareto_front(&pts, Better::Lower, Better::Lower),
            vec![1, 2, 0]
        );
        // energy lower, accuracy higher.
        let pts = [(1.0, 0.8), (2.0, 0.9), (3.0, 0.85), (2.0, 0.9)];
        assert_eq!(
            pareto_front(&pts, Better::Lower, Better::Higher),
            vec![0, 1, 3]
        );
    }

    #[test]
    fn draws_points_front_and_labels() {
        let s = Scatter {
            title: "energy vs latency".into(),
            x: Axis::time("latency per step"),
            y: Axis::energy("energy"),
            points: vec![
                ScatterPoint {
                    x: 1000.0,
                    y: 5e6,
                    label: "a".into(),
                    group: 0,
                },
                ScatterPoint {
                    x: 2000.0,
                    y: 2e6,
                    label: "b".into(),
                    group: 1,
                },
                ScatterPoint {
                    x: 3000.0,
                    y: 6e6,
                    label: "c".into(),
                    group: 1,
                },
            ],
            groups: vec!["4-bit".into(), "8-bit".into()],
            front: Some((Better::Lower, Better::Lower)),
        };
        let svg = s.svg();
        assert!(svg.contains("energy (µJ)") && svg.contains("latency per step (µs)"));
        assert!(svg.contains("Pareto front") && svg.contains("8-bit"));
        assert!(
            svg.contains(">\na\n<") || svg.contains(">a<"),
            "front point labelled"
        );
        assert!(
            !(svg.contains(">\nc\n<") || svg.contains(">c<")),
            "dominated point unlabelled"
        );
    }
}
