//! Patch wiring (receptive fields) of a first hidden layer: every unit reads one small
//! square patch of the input image instead of every pixel.
//!
//! Under modulo routing all the units of a class hear the same error, so in a dense
//! layer they learn nearly the same one-vs-rest detector (docs/dual-stream-ed.md: 100,
//! 200, 400 or 1,000 dense units test alike). Wired to different patches, the units of
//! a class become different local detectors of it.
//!
//! The layout, the one rule of the float reference and of the chip template (`amine
//! template ed --routing modulo --hidden 360p3`): the layer's `inputs` sources are a
//! square image of `side = ⌊√inputs⌋` pixels a side, row-major, then any further
//! sources (the chip's bias unit), which reach every unit. Unit `j` reads the
//! `size × size` patch at position `(j div classes) mod positions` of the
//! `(side − size + 1)²` positions at stride 1, row-major; so with `classes ×
//! positions` units every class has one unit at every position.

/// Why a `size × size` patch cannot be cut from `inputs` sources, if it cannot.
pub fn check(inputs: usize, size: usize) -> Result<(), String> {
    let side = inputs.isqrt();
    if size == 0 || size > side {
        return Err(format!(
            "a {size}×{size} patch does not fit the {side}×{side} image of {inputs} sources"
        ));
    }
    Ok(())
}

/// Sources per unit: the patch, then every source beyond the image.
pub fn fan_in(inputs: usize, size: usize) -> usize {
    let side = inputs.isqrt();
    size * size + inputs - side * side
}

/// The sources of unit `unit`, ascending: its patch, then the sources beyond the image.
/// `size` must pass [`check`].
pub fn sources(inputs: usize, size: usize, unit: usize, classes: usize) -> Vec<usize> {
    let side = inputs.isqrt();
    let per_row = side + 1 - size;
    let position = (unit / classes.max(1)) % (per_row * per_row);
    let (r0, c0) = (position / per_row, position % per_row);
    let mut out: Vec<usize> = (r0..r0 + size)
        .flat_map(|r| (c0..c0 + size).map(move |c| r * side + c))
        .collect();
    out.extend(side * side..inputs);
    out
}

/// Which synapses of an `inputs × outputs` patch-wired layer exist (source-major, the
/// layout of [`super::net::DualLayer`]'s matrices).
pub fn mask(inputs: usize, outputs: usize, size: usize, classes: usize) -> Vec<bool> {
    let mut mask = vec![false; inputs * outputs];
    for j in 0..outputs {
        for i in sources(inputs, size, j, classes) {
            mask[i * outputs + j] = true;
        }
    }
    mask
}
