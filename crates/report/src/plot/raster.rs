//! Spike rasters: one dot per spike, neurons of each population in a band of rows.

use super::{colour, e, framed, range, render, Chart, Frame, Root, FONT, HEIGHT, WIDTH};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    pub title: String,
    /// Steps shown: `first_step..first_step + steps`.
    pub first_step: u32,
    pub steps: u32,
    /// `(population name, neurons)`, top to bottom.
    pub groups: Vec<(String, u32)>,
    /// `(step, population index, neuron)`.
    pub spikes: Vec<(u32, u32, u32)>,
    /// At most this many dots are drawn; beyond, every k-th spike (the note says so).
    pub max_dots: usize,
}

impl Raster {
    /// The picture and a caption note when only every k-th spike is drawn.
    pub fn svg(&self) -> (String, String) {
        let k = self.spikes.len().div_ceil(self.max_dots.max(1)).max(1);
        let note = if k > 1 {
            format!(
                "every {k}th of {} spikes is drawn",
                amine_chip::units::group_digits(self.spikes.len() as u64)
            )
        } else {
            String::new()
        };
        (render(WIDTH, HEIGHT, |root| self.draw(root, k)), note)
    }

    fn draw(&self, root: &Root, k: usize) -> Result<(), String> {
        let rows: u32 = self.groups.iter().map(|g| g.1).sum::<u32>().max(1);
        let mut offset = Vec::with_capacity(self.groups.len());
        let mut below = rows;
        for g in &self.groups {
            below -= g.1.min(below);
            offset.push(below);
        }
        let (x0, x1) = range(
            self.first_step as f64,
            (self.first_step + self.steps.max(1)) as f64,
            0.0,
        );
        let frame = Frame {
            title: &self.title,
            legend: &[],
            x: (x0, x1),
            y: (0.0, rows as f64),
            x_title: "step",
            y_title: "neuron (by population)",
            x_ticks: true,
            y_ticks: false,
            left: 110,
        };
        framed(root, &frame, |chart| self.dots(chart, root, &offset, k))
    }

    fn dots(&self, chart: &mut Chart, root: &Root, offset: &[u32], k: usize) -> Result<(), String> {
        let (x0, x1) = (chart.x_range().start, chart.x_range().end);
        for (gi, (name, size)) in self.groups.iter().enumerate() {
            let base = offset[gi] as f64;
            if base > 0.0 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x0, base), (x1, base)],
                        RGBColor(160, 160, 160),
                    )))
                    .map_err(e)?;
            }
            let (px, py) = chart.backend_coord(&(x0, base + *size as f64 / 2.0));
            root.draw(&Text::new(
                format!("{name} ({size})"),
                (px - 8, py),
                (FONT, 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(e)?;
        }
        chart
            .draw_series(self.spikes.iter().step_by(k).filter_map(|&(s, g, n)| {
                let base = *offset.get(g as usize)? as f64;
                let size = self.groups.get(g as usize)?.1 as f64;
                let y = base + size - 1.0 - n as f64 + 0.5;
                Some(Circle::new(
                    (s as f64 + 0.5, y),
                    1,
                    colour(g as usize).filled(),
                ))
            }))
            .map_err(e)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populations_are_named_and_thinning_is_said() {
        let r = Raster {
            title: "raster".into(),
            first_step: 0,
            steps: 10,
            groups: vec![("exc".into(), 8), ("inh".into(), 2)],
            spikes: (0..100).map(|i| (i % 10, i % 2, i % 2)).collect(),
            max_dots: 50,
        };
        let (svg, note) = r.svg();
        assert!(svg.contains("exc (8)") && svg.contains("inh (2)") && svg.contains("step"));
        assert_eq!(note, "every 2th of 100 spikes is drawn");
        assert_eq!(svg.matches("<circle").count(), 50);
    }
}
