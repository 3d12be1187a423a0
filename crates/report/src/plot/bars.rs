//! Stacked bars: one bar per category (a chip, a design point), one segment per part
//! (an energy component), with the total written above each bar.

use super::{colour, e, framed, render, short, Axis, Chart, Frame, Root, FONT, HEIGHT, WIDTH};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub title: String,
    pub categories: Vec<String>,
    /// `(part name, value per category)`, stacked bottom to top; values are not negative.
    pub stacks: Vec<(String, Vec<f64>)>,
    pub y: Axis,
}

impl Bars {
    pub fn svg(&self) -> String {
        render(WIDTH, HEIGHT, |root| self.draw(root))
    }

    fn draw(&self, root: &Root) -> Result<(), String> {
        let n = self.categories.len();
        let total = |c: usize| -> f64 {
            self.stacks
                .iter()
                .filter_map(|s| s.1.get(c))
                .filter(|v| v.is_finite())
                .sum()
        };
        let max = (0..n).map(total).fold(0.0, f64::max);
        let (f, y_title) = self.y.scaled(max);
        let top = if max > 0.0 { max * f * 1.12 } else { 1.0 };
        let entries: Vec<(String, RGBColor, bool)> = self
            .stacks
            .iter()
            .enumerate()
            .map(|(i, s)| (s.0.clone(), colour(i), false))
            .collect();
        let frame = Frame {
            title: &self.title,
            legend: &entries,
            x: (-0.5, n.max(1) as f64 - 0.5),
            y: (0.0, top),
            x_title: "",
            y_title: &y_title,
            x_ticks: false,
            y_ticks: true,
            left: 84,
        };
        framed(root, &frame, |chart| self.bars(chart, root, f, &y_title))
    }

    fn bars(&self, chart: &mut Chart, root: &Root, f: f64, y_title: &str) -> Result<(), String> {
        let unit = y_title
            .rsplit('(')
            .next()
            .unwrap_or("")
            .trim_end_matches(')')
            .to_string();
        for (c, name) in self.categories.iter().enumerate() {
            let mut base = 0.0;
            let x = c as f64;
            for (i, (_, values)) in self.stacks.iter().enumerate() {
                let v = values
                    .get(c)
                    .copied()
                    .filter(|v| v.is_finite())
                    .unwrap_or(0.0)
                    * f;
                if v > 0.0 {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x - 0.3, base), (x + 0.3, base + v)],
                            colour(i).filled(),
                        )))
                        .map_err(e)?;
                }
                base += v;
            }
            let (px, py) = chart.backend_coord(&(x, 0.0));
            root.draw(&Text::new(
                name.clone(),
                (px, py + 10),
                (FONT, 13)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(e)?;
            let (tx, ty) = chart.backend_coord(&(x, base));
            root.draw(&Text::new(
                format!("{} {unit}", short(base)),
                (tx, ty - 4),
                (FONT, 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))
            .map_err(e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parts_and_totals_are_written() {
        let b = Bars {
            title: "energy by component".into(),
            categories: vec!["loihi".into(), "truenorth".into()],
            stacks: vec![
                ("synapse".into(), vec![2e6, 1e6]),
                ("static".into(), vec![3e6, 0.5e6]),
            ],
            y: Axis::energy("energy"),
        };
        let svg = b.svg();
        for s in [
            "loihi",
            "truenorth",
            "synapse",
            "static",
            "energy (µJ)",
            "5.00 µJ",
            "1.50 µJ",
        ] {
            assert!(svg.contains(s), "{s}");
        }
    }
}
