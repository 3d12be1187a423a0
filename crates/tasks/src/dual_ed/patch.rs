//! Patch wiring (receptive fields) of a first hidden layer: every unit reads one small
//! square patch of the input image instead of every pixel.
//!
//! Under modulo routing all the units of a class hear the same error, so in a dense
//! layer they learn nearly the same one-vs-rest detector (docs/dual-stream-ed-rounds-2-5.md: 100,
//! 200, 400 or 1,000 dense units test alike). Wired to different patches, the units of
//! a class become different local detectors of it.
//!
//! The layout, the one rule of the float reference and of the chip template (`amine
//! template ed --routing modulo --hidden 360p3`, `1440p5s2`): the layer's `inputs`
//! sources are a square image of `side = ⌊√inputs⌋` pixels a side, row-major, then any
//! further sources (the chip's bias unit), which reach every unit. Unit `j` reads the
//! `size × size` patch at position `(j div classes) mod positions` of the
//! `per_row²` positions at `stride`, row-major (`per_row = ⌊(side − size)/stride⌋ + 1`,
//! no padding: a last column or row the stride does not reach is left unread); so with
//! `classes × positions` units every class has one unit at every position.

/// Why a `size × size` patch at `stride` cannot be cut from `inputs` sources, if it
/// cannot.
pub fn check(inputs: usize, size: usize, stride: usize) -> Result<(), String> {
    let side = inputs.isqrt();
    if size == 0 || size > side {
        return Err(format!(
            "a {size}×{size} patch does not fit the {side}×{side} image of {inputs} sources"
        ));
    }
    if stride == 0 || stride > size {
        return Err(format!(
            "a stride of {stride} for {size}×{size} patches: it must be 1 to {size} (a larger one skips pixels)"
        ));
    }
    Ok(())
}

/// Patch positions along a row (and a column): `⌊(side − size)/stride⌋ + 1`. `size`
/// and `stride` must pass [`check`].
pub fn per_row(inputs: usize, size: usize, stride: usize) -> usize {
    (inputs.isqrt() - size) / stride + 1
}

/// Patch positions in all: [`per_row`] squared. A layer of `classes ×` this many units
/// has every class at every position.
pub fn positions(inputs: usize, size: usize, stride: usize) -> usize {
    per_row(inputs, size, stride).pow(2)
}

/// Sources per unit: the patch, then every source beyond the image.
pub fn fan_in(inputs: usize, size: usize) -> usize {
    let side = inputs.isqrt();
    size * size + inputs - side * side
}

/// The sources of unit `unit`, ascending: its patch, then the sources beyond the image.
/// `size` and `stride` must pass [`check`].
pub fn sources(
    inputs: usize,
    size: usize,
    stride: usize,
    unit: usize,
    classes: usize,
) -> Vec<usize> {
    let side = inputs.isqrt();
    let per_row = per_row(inputs, size, stride);
    let position = (unit / classes.max(1)) % (per_row * per_row);
    let (r0, c0) = (stride * (position / per_row), stride * (position % per_row));
    let mut out: Vec<usize> = (r0..r0 + size)
        .flat_map(|r| (c0..c0 + size).map(move |c| r * side + c))
        .collect();
    out.extend(side * side..inputs);
    out
}

/// Which synapses of an `inputs × outputs` patch-wired layer exist (source-major, the
/// layout of [`super::net::DualLayer`]'s matrices).
pub fn mask(
    inputs: usize,
    outputs: usize,
    size: usize,
    stride: usize,
    classes: usize,
) -> Vec<bool> {
    let mut mask = vec![false; inputs * outputs];
    for j in 0..outputs {
        for i in sources(inputs, size, stride, j, classes) {
            mask[i * outputs + j] = true;
        }
    }
    mask
}

/// The `(size, stride)` of the patch wiring whose synapses `(source, unit, _)` are
/// `list` (an `inputs`-source, `units`-unit layer, [`sources`] with `classes`): the
/// size its fan-in implies and the stride whose layout every unit's list is; `None`
/// when the list is any other wiring. (How a program's explicit list is read back as
/// the patch layer it was written from.)
pub fn recognise(
    list: &[(u32, u32, f64)],
    inputs: usize,
    units: usize,
    classes: usize,
) -> Option<(usize, usize)> {
    let mut fields = vec![Vec::new(); units];
    for &(i, j, _) in list {
        fields.get_mut(j as usize)?.push(i as usize);
    }
    fields.iter_mut().for_each(|f| f.sort_unstable());
    let side = inputs.isqrt();
    let size = (fields.first()?.len().checked_sub(inputs - side * side)?).isqrt();
    // The stride: the one whose layout every unit's list is (unit `classes`, the
    // second position, tells them apart when there is one).
    let probe = classes.min(units - 1);
    let stride = (1..=size).find(|&stride| {
        check(inputs, size, stride).is_ok()
            && fields[probe] == sources(inputs, size, stride, probe, classes)
    })?;
    for (j, f) in fields.iter().enumerate() {
        if *f != sources(inputs, size, stride, j, classes) {
            return None;
        }
    }
    Some((size, stride))
}
