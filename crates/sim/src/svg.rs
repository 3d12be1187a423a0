//! The report's pictures as small hand-written SVG: a per-core energy heatmap laid out
//! on the mesh, the spike raster, and the latency of every step.
//!
//! Why hand-written: the three pictures are a few rectangles, dots and one polyline;
//! emitting them directly is ~200 lines with no dependency, whereas a plotting crate
//! would add a large dependency tree (fonts, image backends) and minutes of build time
//! on the 2-core CI machine for no visible gain. The output is plain SVG 1.1 that any
//! browser shows; each element carries a `<title>` so hovering reads the exact value.

use crate::engine::Spike;
use crate::report::{energy, RunReport};
use std::fmt::Write as _;

/// Raster dots drawn at most; beyond this every k-th spike is drawn (noted in the title).
const MAX_DOTS: usize = 60_000;

fn header(w: u32, h: u32, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        w / 2,
        esc(title)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A perceptually ordered ramp (viridis stops), `t` in [0, 1].
fn ramp(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// Cores on the mesh, coloured by their dynamic energy; grey cores are unused.
pub fn energy_heatmap(r: &RunReport) -> String {
    let m = r.mesh;
    let cols = (m.cores_per_tile as f64).sqrt().ceil().max(1.0) as u32;
    let rows = m.cores_per_tile.div_ceil(cols);
    let tile = (720 / m.tiles_x.max(1)).clamp(24, 160);
    let cell = ((tile - 8) / cols.max(rows)).max(4);
    let (w, h) = (m.tiles_x * tile + 140, m.tiles_y * tile + 70);
    let mut s = header(
        w,
        h,
        &format!("Dynamic energy per core — {} on {}", r.program, r.chip),
    );
    // Colour spans the used cores' range, so small differences between busy cores show.
    let max = r
        .energy
        .per_core
        .iter()
        .map(|c| c.total_pj)
        .fold(0.0, f64::max);
    let min = r
        .energy
        .per_core
        .iter()
        .map(|c| c.total_pj)
        .fold(max, f64::min);
    let span = max - min;
    let by_id: std::collections::HashMap<u32, &crate::report::CoreEnergy> =
        r.energy.per_core.iter().map(|c| (c.core, c)).collect();
    for ty in 0..m.tiles_y {
        for tx in 0..m.tiles_x {
            let (x0, y0) = (20 + tx * tile, 40 + ty * tile);
            let _ = writeln!(
                s,
                "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>",
                tile - 2,
                tile - 2
            );
            for j in 0..m.cores_per_tile {
                let id = (ty * m.tiles_x + tx) * m.cores_per_tile + j;
                let (cx, cy) = (x0 + 3 + (j % cols) * cell, y0 + 3 + (j / cols) * cell);
                let (fill, title) = match by_id.get(&id) {
                    Some(c) => (
                        ramp(if span > 0.0 {
                            (c.total_pj - min) / span
                        } else {
                            1.0
                        }),
                        format!("core {id}: {}", energy(c.total_pj)),
                    ),
                    None => ("#e8e8e8".to_string(), format!("core {id}: unused")),
                };
                let _ = writeln!(
                    s,
                    "<rect x=\"{cx}\" y=\"{cy}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
                    cell - 1,
                    cell - 1,
                    esc(&title)
                );
            }
        }
    }
    // Legend.
    let lx = 40 + m.tiles_x * tile;
    for i in 0..10 {
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"{}\" width=\"16\" height=\"16\" fill=\"{}\"/>",
            50 + (9 - i) * 16,
            ramp(i as f64 / 9.0)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"62\">{}</text>",
        lx + 22,
        esc(&energy(max))
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"206\">{}</text>",
        lx + 22,
        esc(&energy(min))
    );
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"{}\">{} × {} tiles, {} cores per tile; total {}</text>",
        h - 12,
        m.tiles_x,
        m.tiles_y,
        m.cores_per_tile,
        esc(&energy(r.energy.total_pj))
    );
    s + "</svg>\n"
}

/// Spikes as dots: step on x, neurons (populations stacked) on y.
pub fn raster(r: &RunReport, raster: &[Spike]) -> String {
    let (w, h, left, top, bottom) = (900u32, 520u32, 70.0, 40.0, 50.0);
    let (pw, ph) = (w as f64 - left - 20.0, h as f64 - top - bottom);
    let every = raster.len().div_ceil(MAX_DOTS).max(1);
    let title = if every > 1 {
        format!(
            "Spike raster — {} (every {every}th spike of {})",
            r.program,
            raster.len()
        )
    } else {
        format!("Spike raster — {}", r.program)
    };
    let mut s = header(w, h, &title);
    let mut offsets = vec![0u64];
    for p in &r.spikes.populations {
        offsets.push(offsets.last().copied().unwrap_or(0) + p.size as u64);
    }
    let neurons = (*offsets.last().unwrap_or(&0)).max(1) as f64;
    let steps = r.steps.max(1) as f64;
    const COLOURS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    let _ = writeln!(s, "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#444\"/>");
    // Dots in integer tenths of a pixel (a scaled group): formatting integers is several
    // times cheaper than floats, which matters for rasters of 10^5 spikes.
    let (dw, dh) = ((pw / steps).clamp(0.6, 4.0), (ph / neurons).clamp(0.6, 4.0));
    let (dw, dh) = ((dw * 10.0).round() as i64, (dh * 10.0).round() as i64);
    for (pi, p) in r.spikes.populations.iter().enumerate() {
        let _ = write!(
            s,
            "<g fill=\"{}\" transform=\"scale(0.1)\"><title>{}</title>",
            COLOURS[pi % COLOURS.len()],
            esc(&p.name)
        );
        for sp in raster
            .iter()
            .step_by(every)
            .filter(|sp| sp.population as usize == pi)
        {
            let x = ((left + sp.step as f64 / steps * pw) * 10.0) as i64;
            let y = ((top + (offsets[pi] + sp.neuron as u64) as f64 / neurons * ph) * 10.0) as i64;
            let _ = write!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{dw}\" height=\"{dh}\"/>"
            );
        }
        s.push_str("</g>\n");
        let ly = top + (offsets[pi] as f64 + p.size as f64 / 2.0) / neurons * ph;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{ly:.0}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            esc(&p.name)
        );
    }
    x_axis(&mut s, left, top + ph, pw, r.steps);
    s + "</svg>\n"
}

/// Latency of every step (ns), with the mean and p99 as lines.
pub fn latency(r: &RunReport) -> String {
    let (w, h, left, top, bottom) = (900u32, 360u32, 80.0, 40.0, 50.0);
    let (pw, ph) = (w as f64 - left - 20.0, h as f64 - top - bottom);
    let mut s = header(
        w,
        h,
        &format!("Latency per step — {} ({} timing)", r.program, r.timing),
    );
    let l = &r.latency;
    let ns_per_cycle = 1e9 / r.clock_hz as f64;
    let ymax = (l.max_cycles as f64 * ns_per_cycle * 1.1).max(1e-9);
    let n = l.per_step_cycles.len().max(1) as f64;
    let _ = writeln!(s, "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#444\"/>");
    let y_of = |ns: f64| top + ph - ns / ymax * ph;
    // At most ~2 points per pixel: keep the maximum of each bucket so peaks stay visible.
    let bucket = (l.per_step_cycles.len() as f64 / (2.0 * pw))
        .ceil()
        .max(1.0) as usize;
    let mut pts = String::new();
    for (i, chunk) in l.per_step_cycles.chunks(bucket).enumerate() {
        let c = chunk.iter().copied().max().unwrap_or(0) as f64 * ns_per_cycle;
        let _ = write!(
            pts,
            "{:.1},{:.1} ",
            left + (i * bucket) as f64 / n * pw,
            y_of(c)
        );
    }
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1\" points=\"{}\"/>",
        pts.trim_end()
    );
    for (label, v, colour) in [("mean", l.mean_ns, "#2ca02c"), ("p99", l.p99_ns, "#d62728")] {
        let y = y_of(v);
        let _ = writeln!(s, "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"/>", left + pw);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{colour}\">{label} {}</text>",
            left + pw - 4.0,
            y - 4.0,
            esc(&crate::report::nanos(v))
        );
    }
    for i in 0..=4 {
        let v = ymax * i as f64 / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y_of(v) + 4.0,
            esc(&crate::report::nanos(v))
        );
    }
    x_axis(&mut s, left, top + ph, pw, r.steps);
    s + "</svg>\n"
}

/// Step ticks (0, ¼, ½, ¾, all) under a plot area and the axis label.
fn x_axis(s: &mut String, left: f64, bottom: f64, width: f64, steps: u32) {
    for i in 0..=4u32 {
        let step = (steps as u64 * i as u64 / 4) as u32;
        let x = left + width * i as f64 / 4.0;
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{bottom}\" y2=\"{}\" stroke=\"#444\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{step}</text>",
            bottom + 5.0,
            bottom + 18.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">step</text>",
        left + width / 2.0,
        bottom + 38.0
    );
}
