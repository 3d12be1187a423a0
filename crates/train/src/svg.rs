//! The learning curve as a small hand-written SVG (a few polylines and axes; the same
//! reasoning as amine-sim's pictures: no plotting dependency for two lines).

use crate::report::TrainReport;
use std::fmt::Write as _;

pub(crate) const W: f64 = 640.0;
pub(crate) const H: f64 = 400.0;
pub(crate) const LEFT: f64 = 60.0;
pub(crate) const RIGHT: f64 = 20.0;
pub(crate) const TOP: f64 = 40.0;
pub(crate) const BOTTOM: f64 = 50.0;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Accuracy (0..1) against epochs: online training accuracy, test accuracy, and the
/// float reference's test accuracy when there is one.
pub fn curve(r: &TrainReport) -> String {
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        W / 2.0,
        esc(&format!("{} — {} on {}", r.program, r.task.split('/').next().unwrap_or(&r.task), r.chip))
    );
    let epochs = r.curve.len().max(1) as f64;
    // Accuracy axis from the lowest value shown (rounded down to 10 %) to 100 %.
    let lowest = r
        .curve
        .iter()
        .flat_map(|p| [Some(p.online_train_accuracy), p.test_accuracy])
        .flatten()
        .chain(
            r.float_reference
                .iter()
                .flat_map(|f| f.curve.iter().copied()),
        )
        .fold(1.0f64, f64::min);
    let lo = ((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let x = |e: f64| LEFT + (e / epochs) * (W - LEFT - RIGHT);
    let y = |a: f64| H - BOTTOM - ((a - lo) / (1.0 - lo)).clamp(0.0, 1.0) * (H - TOP - BOTTOM);
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for k in 0..=5 {
        let a = lo + (1.0 - lo) * f64::from(k) / 5.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0} %</text><line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            LEFT - 6.0,
            y(a) + 4.0,
            100.0 * a,
            y(a),
            W - RIGHT,
            y(a)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    // Epoch ticks: at most ~10 labels.
    let every = r.curve.len().div_ceil(10).max(1);
    for e in (every..=r.curve.len()).step_by(every) {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{e}</text>",
            x(e as f64),
            H - BOTTOM + 16.0
        );
    }
    let mut line = |points: Vec<(f64, f64)>, colour: &str, label: &str, row: usize| {
        if points.is_empty() {
            return;
        }
        let pts: Vec<String> = points
            .iter()
            .map(|&(e, a)| format!("{:.1},{:.1}", x(e), y(a)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
            pts.join(" "),
            esc(label)
        );
        for &(e, a) in &points {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>epoch {e}: {:.2} %</title></circle>",
                x(e),
                y(a),
                100.0 * a
            );
        }
        // The legend sits bottom right, where accuracy curves rarely are.
        let ly = H - BOTTOM - 52.0 + 16.0 * row as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            W - RIGHT - 220.0,
            ly - 4.0,
            W - RIGHT - 204.0,
            ly,
            esc(label)
        );
    };
    let online = r
        .curve
        .iter()
        .map(|p| (p.epoch as f64, p.online_train_accuracy))
        .collect();
    let test = r
        .curve
        .iter()
        .filter_map(|p| p.test_accuracy.map(|a| (p.epoch as f64, a)))
        .collect();
    line(online, "#3b528b", "training (online, chip)", 0);
    line(test, "#21918c", "test (chip)", 1);
    if let Some(f) = &r.float_reference {
        let pts = f
            .curve
            .iter()
            .enumerate()
            .map(|(i, &a)| ((i + 1) as f64, a))
            .collect();
        line(pts, "#e6a100", "test (float reference)", 2);
    }
    s.push_str("</svg>\n");
    s
}
