//! Validation of `Random(partners: Some(n))`: connectivity between modules.

use crate::error::Problem;

/// Most module pairs (`modules × partners`) one projection may draw: each is a block of
/// random pairs, so this bounds the work of a projection whatever its `p`.
pub(super) const MAX_MODULE_PAIRS: u64 = 1 << 24;

/// Problems of `partners: Some(n)` with `modules`: it needs modules, at least one
/// partner, fewer partners than modules, and at most [`MAX_MODULE_PAIRS`] pairs.
pub(super) fn problems(
    n: u32,
    modules: Option<u32>,
    at: &dyn Fn(&str) -> String,
    p: &mut Vec<Problem>,
) {
    let Some(m) = modules else {
        p.push(Problem::new(
            at("connect.partners"),
            "partners need `modules: Some(m)` (the modules they are drawn from)",
        ));
        return;
    };
    if n == 0 || n >= m {
        p.push(Problem::new(
            at("connect.partners"),
            format!(
                "{n} partners among {m} modules: need 1..={}",
                m.saturating_sub(1)
            ),
        ));
    } else if u64::from(m) * u64::from(n) > MAX_MODULE_PAIRS {
        p.push(Problem::new(
            at("connect.partners"),
            format!(
                "{m} modules × {n} partners = {} module pairs: at most {MAX_MODULE_PAIRS}",
                u64::from(m) * u64::from(n)
            ),
        ));
    }
}
