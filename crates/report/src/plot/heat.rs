//! Heatmaps: a value per core laid out on the mesh ([`MeshHeat`]), and 2-D fields such
//! as the modulator grid's concentrations ([`FieldPanels`]). Colour scales start at zero
//! (or are symmetric around it for signed values) and carry their unit.

use super::{diverging, e, render, short, tick, title, viridis, Axis, FONT, WIDTH};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Root<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn text(
    root: &Root,
    s: &str,
    at: (i32, i32),
    size: u32,
    h: HPos,
    c: &RGBColor,
) -> Result<(), String> {
    let style = (FONT, size)
        .into_font()
        .color(c)
        .pos(Pos::new(h, VPos::Center));
    root.draw(&Text::new(s.to_string(), at, style)).map_err(e)
}

/// Black or white, whichever reads better on `c`.
fn ink(c: RGBColor) -> RGBColor {
    let l = 0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64;
    if l > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

/// A colour bar from `lo` to `hi` (scaled units) at `(x, y)`, `w`×`h`, vertical.
#[allow(clippy::too_many_arguments)]
fn colour_bar(
    root: &Root,
    (x, y, w, h): (i32, i32, i32, i32),
    lo: f64,
    hi: f64,
    colour: &dyn Fn(f64) -> RGBColor,
    label: &str,
) -> Result<(), String> {
    let n = 64;
    for k in 0..n {
        let v = lo + (hi - lo) * (k as f64 + 0.5) / n as f64;
        let y1 = y + h - (h * k) / n;
        let y0 = y + h - (h * (k + 1)) / n;
        root.draw(&Rectangle::new([(x, y0), (x + w, y1)], colour(v).filled()))
            .map_err(e)?;
    }
    root.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        BLACK.stroke_width(1),
    ))
    .map_err(e)?;
    let d = super::decimals(hi - lo);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let ty = y + h - (h * k) / 4;
        root.draw(&PathElement::new(vec![(x + w, ty), (x + w + 4, ty)], BLACK))
            .map_err(e)?;
        text(root, &tick(v, d), (x + w + 7, ty), 12, HPos::Left, &BLACK)?;
    }
    text(root, label, (x + w / 2, y - 14), 13, HPos::Center, &BLACK)
}

/// A value per core, drawn where the core is on the mesh: tiles in their (x, y)
/// places, the cores of a tile inside it, numbered; unused cores grey.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshHeat {
    pub title: String,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub cores_per_tile: u32,
    /// `(core id, value)` of the cores in use; values are not negative.
    pub values: Vec<(u32, f64)>,
    /// What the colour shows, e.g. `Axis::energy("dynamic energy")`.
    pub value: Axis,
    /// Legend text of a grey (unused) core.
    pub unused: String,
}

impl MeshHeat {
    pub fn svg(&self) -> String {
        let cols = (self.cores_per_tile as f64).sqrt().ceil().max(1.0) as u32;
        let rows = self.cores_per_tile.div_ceil(cols).max(1);
        let avail_w = WIDTH as i32 - 70 - 150;
        let tile = (avail_w / self.tiles_x.max(1) as i32).clamp(14, 140);
        let height = (90 + tile * self.tiles_y.max(1) as i32 + 60).max(300) as u32;
        render(WIDTH, height, |root| self.draw(root, tile, cols, rows))
    }

    fn draw(&self, root: &Root, tile: i32, cols: u32, rows: u32) -> Result<(), String> {
        title(root, &self.title)?;
        let max = self.values.iter().map(|v| v.1).fold(0.0, f64::max);
        let (factor, label) = self.value.scaled(max);
        let top = max * factor;
        let scale = |v: f64| {
            if top > 0.0 {
                viridis(v / top)
            } else {
                viridis(0.0)
            }
        };
        let by_id: std::collections::HashMap<u32, f64> = self.values.iter().copied().collect();
        let (x0, y0) = (70, 64);
        let cell = ((tile - 6) / cols.max(rows) as i32).max(3);
        for tx in 0..self.tiles_x {
            let cx = x0 + tx as i32 * tile + tile / 2;
            if self.tiles_x <= 16 || tx % 4 == 0 {
                text(
                    root,
                    &format!("x={tx}"),
                    (cx, y0 - 10),
                    12,
                    HPos::Center,
                    &BLACK,
                )?;
            }
        }
        for ty in 0..self.tiles_y {
            let cy = y0 + ty as i32 * tile + tile / 2;
            if self.tiles_y <= 16 || ty % 4 == 0 {
                text(
                    root,
                    &format!("y={ty}"),
                    (x0 - 8, cy),
                    12,
                    HPos::Right,
                    &BLACK,
                )?;
            }
            for tx in 0..self.tiles_x {
                let (ax, ay) = (x0 + tx as i32 * tile, y0 + ty as i32 * tile);
                root.draw(&Rectangle::new(
                    [(ax + 1, ay + 1), (ax + tile - 1, ay + tile - 1)],
                    RGBColor(150, 150, 150).stroke_width(1),
                ))
                .map_err(e)?;
                for j in 0..self.cores_per_tile {
                    let id = (ty * self.tiles_x + tx) * self.cores_per_tile + j;
                    let (px, py) = (
                        ax + 3 + (j % cols) as i32 * cell,
                        ay + 3 + (j / cols) as i32 * cell,
                    );
                    let fill = match by_id.get(&id) {
                        Some(&v) => scale(v * factor),
                        None => RGBColor(224, 224, 224),
                    };
                    root.draw(&Rectangle::new(
                        [(px, py), (px + cell - 1, py + cell - 1)],
                        fill.filled(),
                    ))
                    .map_err(e)?;
                    if cell >= 22 {
                        let size = if id >= 1000 { 9 } else { 11 };
                        text(
                            root,
                            &id.to_string(),
                            (px + cell / 2, py + cell / 2),
                            size,
                            HPos::Center,
                            &ink(fill),
                        )?;
                    }
                }
            }
        }
        let bar_x = x0 + tile * self.tiles_x as i32 + 40;
        let bar_h = (tile * self.tiles_y as i32).clamp(120, 320);
        colour_bar(
            root,
            (bar_x, y0 + 16, 18, bar_h),
            0.0,
            top.max(f64::MIN_POSITIVE),
            &scale,
            &label,
        )?;
        let ly = y0 + tile * self.tiles_y as i32 + 22;
        root.draw(&Rectangle::new(
            [(x0, ly - 6), (x0 + 12, ly + 6)],
            RGBColor(224, 224, 224).filled(),
        ))
        .map_err(e)?;
        let note = if self.cores_per_tile > 1 && cell >= 22 {
            format!(
                "{} · cores numbered, {} per tile (router)",
                self.unused, self.cores_per_tile
            )
        } else {
            self.unused.clone()
        };
        text(root, &note, (x0 + 18, ly), 12, HPos::Left, &BLACK)
    }
}

/// One 2-D field, row-major (`values[y · width + x]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub values: Vec<f64>,
    /// Cells `(x, y)` outlined in black (e.g. where sources inject).
    pub marks: Vec<(u32, u32)>,
}

/// Fields side by side on one colour scale (from zero, or symmetric around it when
/// any value is negative).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPanels {
    pub title: String,
    pub panels: Vec<Panel>,
    /// What the colour shows.
    pub value: Axis,
    /// Panels per row (0: as many as fit, at most 6), e.g. one row per condition.
    pub columns: usize,
    /// A label left of each row (none when empty), e.g. the condition of a row.
    pub row_labels: Vec<String>,
}

/// Width kept left of the panels for row labels.
const ROW_LABEL: i32 = 80;

impl FieldPanels {
    /// The picture and a caption note saying how cells were averaged for drawing.
    pub fn svg(&self) -> (String, String) {
        let per_row = match self.columns {
            0 => self.panels.len().clamp(1, 6),
            n => n.min(self.panels.len()).max(1),
        } as i32;
        let rows = (self.panels.len() as i32 + per_row - 1) / per_row.max(1);
        let left = self.left();
        let size = ((WIDTH as i32 - 40 - 120 - left) / per_row - 12).clamp(40, 260);
        let height = (70 + rows.max(1) * (size + 30) + 20).max(260) as u32;
        let max_side = self
            .panels
            .iter()
            .map(|p| p.width.max(p.height))
            .max()
            .unwrap_or(1) as i32;
        // Cells are averaged in blocks so that each drawn square is at least 3 px.
        let block = ((3 * max_side + size - 1) / size).max(1) as u32;
        let svg = render(WIDTH, height, |root| self.draw(root, per_row, size, block));
        let note = if block > 1 {
            format!("each square is the mean of {block}×{block} cells")
        } else {
            String::new()
        };
        (svg, note)
    }

    fn left(&self) -> i32 {
        if self.row_labels.is_empty() {
            0
        } else {
            ROW_LABEL
        }
    }

    fn draw(&self, root: &Root, per_row: i32, size: i32, block: u32) -> Result<(), String> {
        let left = self.left();
        title(root, &self.title)?;
        let all = self
            .panels
            .iter()
            .flat_map(|p| p.values.iter().copied())
            .filter(|v| v.is_finite());
        let (lo, hi) = all.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let signed = lo < 0.0;
        let (factor, label) = self.value.scaled(lo.abs().max(hi.abs()));
        let m = lo.abs().max(hi.abs()) * factor;
        let scale = move |v: f64| {
            if m <= 0.0 {
                viridis(0.0)
            } else if signed {
                diverging(v / m)
            } else {
                viridis(v / m)
            }
        };
        for (i, p) in self.panels.iter().enumerate() {
            let (col, row) = (i as i32 % per_row, i as i32 / per_row);
            let (ax, ay) = (30 + left + col * (size + 12), 56 + row * (size + 30));
            if col == 0 {
                if let Some(l) = self.row_labels.get(row as usize) {
                    text(root, l, (24, ay + size / 2), 12, HPos::Left, &BLACK)?;
                }
            }
            let (bw, bh) = (p.width.div_ceil(block), p.height.div_ceil(block));
            let side = bw.max(bh).max(1) as i32;
            let px = (size / side).max(1);
            for by in 0..bh {
                for bx in 0..bw {
                    let (mut sum, mut n) = (0.0, 0);
                    for y in by * block..((by + 1) * block).min(p.height) {
                        for x in bx * block..((bx + 1) * block).min(p.width) {
                            if let Some(v) = p.values.get((y * p.width + x) as usize) {
                                sum += v;
                                n += 1;
                            }
                        }
                    }
                    let v = if n > 0 { sum / n as f64 } else { 0.0 };
                    let (x0, y0) = (ax + bx as i32 * px, ay + by as i32 * px);
                    root.draw(&Rectangle::new(
                        [(x0, y0), (x0 + px, y0 + px)],
                        scale(v * factor).filled(),
                    ))
                    .map_err(e)?;
                }
            }
            for &(mx, my) in &p.marks {
                let (x0, y0) = (ax + (mx / block) as i32 * px, ay + (my / block) as i32 * px);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + px, y0 + px)],
                    BLACK.stroke_width(1),
                ))
                .map_err(e)?;
            }
            root.draw(&Rectangle::new(
                [(ax, ay), (ax + px * bw as i32, ay + px * bh as i32)],
                BLACK.stroke_width(1),
            ))
            .map_err(e)?;
            text(
                root,
                &p.label,
                (ax + px * bw as i32 / 2, ay + px * bh as i32 + 12),
                12,
                HPos::Center,
                &BLACK,
            )?;
        }
        let bar_x = 30 + left + per_row * (size + 12) + 20;
        let (blo, bhi) = if signed {
            (-m, m)
        } else {
            (0.0, m.max(f64::MIN_POSITIVE))
        };
        colour_bar(
            root,
            (bar_x, 72, 18, size.clamp(120, 260)),
            blo,
            bhi,
            &scale,
            &label,
        )?;
        if m <= 0.0 {
            text(root, "all values are 0", (30, 44), 12, HPos::Left, &BLACK)?;
        } else {
            let unit = label
                .rsplit_once('(')
                .map_or("", |(_, u)| u.trim_end_matches(')'));
            let s = format!("largest |value| {} {unit}", short(m));
            text(root, s.trim_end(), (30, 44), 12, HPos::Left, &BLACK)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill_of(svg: &str, core_label: &str) -> String {
        // The rectangle drawn just before a core's number.
        let at = svg
            .find(&format!("\n{core_label}\n</text>"))
            .expect("core label");
        let rect = svg[..at].rfind("<rect").unwrap();
        let f = svg[rect..].find("fill=\"").unwrap() + rect + 6;
        svg[f..f + 7].to_string()
    }

    #[test]
    fn mesh_is_labelled_and_anchored_at_zero() {
        let h = MeshHeat {
            title: "Dynamic energy per core".into(),
            tiles_x: 2,
            tiles_y: 2,
            cores_per_tile: 4,
            values: vec![(0, 90.0e3), (1, 100.0e3)],
            value: Axis::energy("dynamic energy"),
            unused: "grey: unused core".into(),
        };
        let svg = h.svg();
        for label in [
            "x=0",
            "x=1",
            "y=1",
            "dynamic energy (nJ)",
            "grey: unused core",
        ] {
            assert!(svg.contains(label), "{label}");
        }
        // 90 % of the maximum is 90 % up the scale, not its bottom.
        let c = viridis(0.9);
        assert_eq!(
            fill_of(&svg, "0"),
            format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
        );
        assert_eq!(fill_of(&svg, "5"), "#E0E0E0", "unused core is grey");
    }

    #[test]
    fn signed_fields_use_a_symmetric_scale() {
        let f = FieldPanels {
            title: "field".into(),
            panels: vec![Panel {
                label: "step 1".into(),
                width: 2,
                height: 1,
                values: vec![-1.0, 0.5],
                marks: vec![(1, 0)],
            }],
            value: Axis::plain("concentration", ""),
            columns: 0,
            row_labels: Vec::new(),
        };
        let (svg, note) = f.svg();
        assert!(note.is_empty());
        assert!(svg.contains("step 1") && svg.contains("-1.0"), "{svg}");
        let big = FieldPanels {
            title: "big".into(),
            panels: vec![Panel {
                label: "a".into(),
                width: 256,
                height: 256,
                values: vec![1.0; 65536],
                marks: Vec::new(),
            }],
            value: Axis::plain("concentration", ""),
            columns: 0,
            row_labels: Vec::new(),
        };
        assert!(big.svg().1.contains("mean of"));
    }
}
