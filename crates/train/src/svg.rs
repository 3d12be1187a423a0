//! Layout constants of the e-prop report's pictures (which still draw their own SVG;
//! every other picture comes from amine-report's plotting module).

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
