//! The modulator grid: diffusing fixed-point concentrations laid over the die.
//!
//! `channels × width × height` cells, each a signed 32-bit concentration in one of
//! the [`GridFormat`]s (Q8.24, Q16.16, Q24.8). The learning engine reads the cell
//! under a neuron as the third factor of its rule; the simulator injects into cells
//! and calls [`ModGrid::step`] once per time step.
//!
//! # Representation
//!
//! Cells are raw `i32` bits with the binary point `f = frac_bits()` places from the
//! right, `f` chosen at run time by the config. The three formats differ only in
//! where the binary point sits: every operation of a step (multiply by a coefficient
//! of the same format, truncate, add) is the same integer code for all three, so a
//! grid generic over `FixedI32<Frac>` behind a three-way enum would triple the code
//! for no gain. The `fixed` crate (`I8F24`, `I16F16`, `I24F8`) does the conversions
//! to and from `f64` (round to nearest, ties to even, saturating). Its
//! multiplication is not used: it rounds toward −∞, so a negative field would
//! diffuse differently from its positive mirror image. The product here rounds
//! toward zero and is computed exactly in `i64`.
//!
//! # Arithmetic of one step
//!
//! With `one = 2^f` and the coefficients `e` (edge), `k` (corner), `d` (decay)
//! quantized once at construction, and `mul(c, q) = trunc(c·q / 2^f)`:
//!
//! ```text
//! for every channel, acc[·] = 0 (i64), then for every cell i with value c:
//!     se = mul(c, e)            sent to each of the 4 edge neighbours
//!     sc = mul(c, k)            sent to each of the 4 corner neighbours
//!     acc[i] += c − 4·se − 4·sc     (the exact remainder: mass is conserved)
//!     a share whose neighbour lies off the grid goes, by boundary:
//!         Torus: to the wrapped cell; Reflecting: back into acc[i]; Absorbing: nowhere
//! then for every cell:  c' = clamp(acc, i32::MIN, i32::MAX);  c = c' − mul(c', d)
//! ```
//!
//! Since `0 ≤ e, k, d ≤ one`, no share exceeds its cell, so only the final sum of a
//! cell can overflow; it saturates (and only then is mass not conserved).
//! [`ModGrid::inject_bits`] saturates too. A truncated share is zero for `|c|` below
//! `one / e`, so faint concentrations stop spreading (and below `one / d` stop
//! decaying): a floor the hardware has as well.
//!
//! Coefficients are quantized to the nearest `1/one`; should that make
//! `4·e + 4·k > one`, both are truncated instead, so the centre never keeps a
//! negative share.
//!
//! Cell `(channel, x, y)` is `cells[(channel·height + y)·width + x]`.

use crate::config::{Boundary, GridFormat, Kernel, ModulatorConfig};
use fixed::types::{I16F16, I24F8, I8F24};
use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg(test)]
mod tests;

/// Most cells (over all channels) a grid may have: 1 GiB of state.
pub const MAX_CELLS: u64 = 1 << 28;

/// Slack allowed on `4·edge + 4·corner ≤ 1`, as in the config's validation.
const KERNEL_SLACK: f64 = 1e-12;

/// Why a grid operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum ModGridError {
    /// The channel does not exist.
    NoSuchChannel { channel: usize, channels: usize },
    /// The cell lies outside the grid.
    OutsideGrid {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// An injected amount was NaN.
    NotANumber,
    /// Kernel weights must be finite, non-negative and have `4·edge + 4·corner ≤ 1`.
    InvalidKernel { edge: f64, corner: f64 },
    /// Decay must lie in `[0, 1]`.
    InvalidDecay { decay: f64 },
    /// More than [`MAX_CELLS`] cells, or their memory could not be allocated.
    TooLarge { cells: u64 },
    /// Deserialized state is inconsistent.
    InvalidState { reason: &'static str },
}

impl fmt::Display for ModGridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModGridError::NoSuchChannel { channel, channels } => {
                write!(
                    f,
                    "modulator channel {channel} does not exist ({channels} channels)"
                )
            }
            ModGridError::OutsideGrid {
                x,
                y,
                width,
                height,
            } => write!(
                f,
                "cell ({x}, {y}) is outside the {width}×{height} modulator grid"
            ),
            ModGridError::NotANumber => f.write_str("cannot inject NaN into the modulator grid"),
            ModGridError::InvalidKernel { edge, corner } => write!(
                f,
                "kernel edge {edge}, corner {corner}: weights must be finite, \
                 non-negative and 4·edge + 4·corner must not exceed 1"
            ),
            ModGridError::InvalidDecay { decay } => {
                write!(f, "modulator decay {decay} is outside [0, 1]")
            }
            ModGridError::TooLarge { cells } => write!(
                f,
                "a modulator grid of {cells} cells exceeds the {MAX_CELLS}-cell limit or memory"
            ),
            ModGridError::InvalidState { reason } => {
                write!(f, "inconsistent modulator grid state: {reason}")
            }
        }
    }
}

impl std::error::Error for ModGridError {}

/// `x` in the format as raw bits: nearest, ties to even, saturating; NaN gives 0.
pub fn f64_to_bits(format: GridFormat, x: f64) -> i32 {
    if x.is_nan() {
        return 0;
    }
    match format {
        GridFormat::Q8_24 => I8F24::saturating_from_num(x).to_bits(),
        GridFormat::Q16_16 => I16F16::saturating_from_num(x).to_bits(),
        GridFormat::Q24_8 => I24F8::saturating_from_num(x).to_bits(),
    }
}

/// The value of raw bits in the format (exact).
pub fn bits_to_f64(format: GridFormat, bits: i32) -> f64 {
    match format {
        GridFormat::Q8_24 => I8F24::from_bits(bits).to_num(),
        GridFormat::Q16_16 => I16F16::from_bits(bits).to_num(),
        GridFormat::Q24_8 => I24F8::from_bits(bits).to_num(),
    }
}

/// `trunc(c·q / 2^frac)`, exact.
#[inline]
fn mul_trunc(c: i32, q: i32, frac: u32) -> i32 {
    // |q| ≤ 2^frac, so the quotient's magnitude is at most |c|.
    ((c as i64 * q as i64) / (1i64 << frac)) as i32
}

/// The scratch accumulator of [`ModGrid::step`]: no part of the grid's value.
#[derive(Clone, Debug, Default)]
struct Scratch(Vec<i64>);

impl PartialEq for Scratch {
    fn eq(&self, _: &Scratch) -> bool {
        true
    }
}

/// The diffusing modulator grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModGridData")]
pub struct ModGrid {
    width: u32,
    height: u32,
    channels: u32,
    format: GridFormat,
    boundary: Boundary,
    edge_bits: i32,
    corner_bits: i32,
    decay_bits: i32,
    cells: Vec<i32>,
    /// One channel's accumulator, the back buffer of the step. Not serialized:
    /// re-created by the first step after deserialization.
    #[serde(skip)]
    scratch: Scratch,
}

/// What a serialized [`ModGrid`] holds, checked before it becomes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModGridData {
    width: u32,
    height: u32,
    channels: u32,
    format: GridFormat,
    boundary: Boundary,
    edge_bits: i32,
    corner_bits: i32,
    decay_bits: i32,
    cells: Vec<i32>,
}

impl TryFrom<ModGridData> for ModGrid {
    type Error = ModGridError;
    fn try_from(d: ModGridData) -> Result<ModGrid, ModGridError> {
        let one = 1i64 << d.format.frac_bits();
        let (e, k, dc) = (
            d.edge_bits as i64,
            d.corner_bits as i64,
            d.decay_bits as i64,
        );
        let bad = |reason| Err(ModGridError::InvalidState { reason });
        if e < 0 || k < 0 || 4 * (e + k) > one {
            return bad("kernel bits out of range");
        }
        if !(0..=one).contains(&dc) {
            return bad("decay bits out of range");
        }
        let cells = cell_count(d.width, d.height, d.channels)?;
        if d.cells.len() as u64 != cells {
            return bad("cell count does not match channels × width × height");
        }
        Ok(ModGrid {
            width: d.width,
            height: d.height,
            channels: d.channels,
            format: d.format,
            boundary: d.boundary,
            edge_bits: d.edge_bits,
            corner_bits: d.corner_bits,
            decay_bits: d.decay_bits,
            cells: d.cells,
            scratch: Scratch::default(),
        })
    }
}

fn cell_count(width: u32, height: u32, channels: u32) -> Result<u64, ModGridError> {
    let cells = (width as u128 * height as u128 * channels as u128).min(u64::MAX as u128) as u64;
    if cells > MAX_CELLS {
        Err(ModGridError::TooLarge { cells })
    } else {
        Ok(cells)
    }
}

/// The 4 edge, then the 4 corner neighbour offsets.
const EDGES: [(i64, i64); 4] = [(1, 0), (-1, 0), (0, 1), (0, -1)];
const CORNERS: [(i64, i64); 4] = [(1, 1), (-1, 1), (1, -1), (-1, -1)];

impl ModGrid {
    /// The grid a chip's config describes, all cells zero. A `0 × 0` grid (the
    /// config's "disabled") is valid and does nothing.
    pub fn new(config: &ModulatorConfig) -> Result<ModGrid, ModGridError> {
        ModGrid::with(
            config.width,
            config.height,
            config.channels,
            config.kernel,
            config.decay,
            config.boundary,
            config.format,
        )
    }

    /// A grid from raw parts, all cells zero.
    pub fn with(
        width: u32,
        height: u32,
        channels: u32,
        kernel: Kernel,
        decay: f64,
        boundary: Boundary,
        format: GridFormat,
    ) -> Result<ModGrid, ModGridError> {
        let Kernel { edge, corner } = kernel;
        let kernel_ok = edge.is_finite()
            && corner.is_finite()
            && edge >= 0.0
            && corner >= 0.0
            && 4.0 * (edge + corner) <= 1.0 + KERNEL_SLACK;
        if !kernel_ok {
            return Err(ModGridError::InvalidKernel { edge, corner });
        }
        if !(0.0..=1.0).contains(&decay) {
            return Err(ModGridError::InvalidDecay { decay });
        }
        let n = cell_count(width, height, channels)?;
        let mut cells = Vec::new();
        cells
            .try_reserve_exact(n as usize)
            .map_err(|_| ModGridError::TooLarge { cells: n })?;
        cells.resize(n as usize, 0);

        let frac = format.frac_bits();
        let one = 1i64 << frac;
        let (mut e, mut k) = (f64_to_bits(format, edge), f64_to_bits(format, corner));
        if 4 * (e as i64 + k as i64) > one {
            // Truncation cannot overshoot: 4·(edge + corner)·one ≤ one + 4e-12·one < one + 1.
            let scale = one as f64;
            e = (edge * scale).floor() as i32;
            k = (corner * scale).floor() as i32;
        }
        Ok(ModGrid {
            width,
            height,
            channels,
            format,
            boundary,
            edge_bits: e,
            corner_bits: k,
            decay_bits: f64_to_bits(format, decay),
            cells,
            scratch: Scratch::default(),
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn channels(&self) -> usize {
        self.channels as usize
    }
    pub fn format(&self) -> GridFormat {
        self.format
    }
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }
    /// Fractional bits of a concentration: 24, 16 or 8.
    pub fn frac_bits(&self) -> u32 {
        self.format.frac_bits()
    }
    /// The quantized edge weight, raw bits.
    pub fn edge_bits(&self) -> i32 {
        self.edge_bits
    }
    /// The quantized corner weight, raw bits.
    pub fn corner_bits(&self) -> i32 {
        self.corner_bits
    }
    /// The quantized decay, raw bits.
    pub fn decay_bits(&self) -> i32 {
        self.decay_bits
    }
    /// The kernel as actually applied (quantized).
    pub fn kernel(&self) -> Kernel {
        Kernel {
            edge: self.to_f64(self.edge_bits),
            corner: self.to_f64(self.corner_bits),
        }
    }
    /// The decay as actually applied (quantized).
    pub fn decay(&self) -> f64 {
        self.to_f64(self.decay_bits)
    }

    /// Cell updates one [`step`](Self::step) performs: what the cost table charges.
    pub fn cell_updates_per_step(&self) -> u64 {
        self.cells.len() as u64
    }

    /// Raw bits as a number.
    pub fn to_f64(&self, bits: i32) -> f64 {
        bits_to_f64(self.format, bits)
    }

    /// A number as raw bits of this grid's format (see [`f64_to_bits`]).
    pub fn from_f64(&self, x: f64) -> i32 {
        f64_to_bits(self.format, x)
    }

    fn index(&self, channel: usize, x: u32, y: u32) -> Result<usize, ModGridError> {
        if channel >= self.channels() {
            return Err(ModGridError::NoSuchChannel {
                channel,
                channels: self.channels(),
            });
        }
        if x >= self.width || y >= self.height {
            return Err(ModGridError::OutsideGrid {
                x,
                y,
                width: self.width,
                height: self.height,
            });
        }
        let (w, h) = (self.width as usize, self.height as usize);
        Ok((channel * h + y as usize) * w + x as usize)
    }

    /// Adds raw bits to a cell, saturating.
    pub fn inject_bits(
        &mut self,
        channel: usize,
        x: u32,
        y: u32,
        bits: i32,
    ) -> Result<(), ModGridError> {
        let i = self.index(channel, x, y)?;
        if let Some(c) = self.cells.get_mut(i) {
            *c = c.saturating_add(bits);
        }
        Ok(())
    }

    /// Adds `amount` (converted to the format, saturating) to a cell.
    pub fn inject(
        &mut self,
        channel: usize,
        x: u32,
        y: u32,
        amount: f64,
    ) -> Result<(), ModGridError> {
        if amount.is_nan() {
            return Err(ModGridError::NotANumber);
        }
        let bits = self.from_f64(amount);
        self.inject_bits(channel, x, y, bits)
    }

    /// A cell's raw bits.
    pub fn sample_bits(&self, channel: usize, x: u32, y: u32) -> Result<i32, ModGridError> {
        let i = self.index(channel, x, y)?;
        Ok(self.cells.get(i).copied().unwrap_or(0))
    }

    /// A cell's concentration.
    pub fn sample(&self, channel: usize, x: u32, y: u32) -> Result<f64, ModGridError> {
        Ok(self.to_f64(self.sample_bits(channel, x, y)?))
    }

    /// One channel's cells, row-major (`y·width + x`).
    pub fn plane_bits(&self, channel: usize) -> Result<&[i32], ModGridError> {
        if channel >= self.channels() {
            return Err(ModGridError::NoSuchChannel {
                channel,
                channels: self.channels(),
            });
        }
        let plane = self.width as usize * self.height as usize;
        Ok(self
            .cells
            .get(channel * plane..(channel + 1) * plane)
            .unwrap_or(&[]))
    }

    /// Exact sum of a channel's raw cells (at most 2^28 cells of 2^31: no overflow).
    pub fn total_bits(&self, channel: usize) -> Result<i64, ModGridError> {
        Ok(self.plane_bits(channel)?.iter().map(|&c| c as i64).sum())
    }

    /// Zeroes every cell of every channel.
    pub fn clear(&mut self) {
        self.cells.fill(0);
    }

    /// One diffusion update, then decay, of every channel (see the module header).
    pub fn step(&mut self) {
        let plane = self.width as usize * self.height as usize;
        if plane == 0 {
            return;
        }
        // Only the first step after a deserialization allocates.
        self.scratch.0.resize(plane, 0);
        let frac = self.frac_bits();
        let decay = self.decay_bits;
        let mut acc = std::mem::take(&mut self.scratch.0);
        let mut cells = std::mem::take(&mut self.cells);
        for p in cells.chunks_exact_mut(plane) {
            // An empty plane stays empty (diffusion and decay of 0 are 0): skip the work.
            if p.iter().all(|&c| c == 0) {
                continue;
            }
            acc.fill(0);
            self.diffuse(p, &mut acc);
            for (c, &a) in p.iter_mut().zip(acc.iter()) {
                let v = a.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                *c = v - mul_trunc(v, decay, frac);
            }
        }
        self.cells = cells;
        self.scratch.0 = acc;
    }

    /// Scatters one channel's cells into `acc` (zeroed, same length).
    fn diffuse(&self, p: &[i32], acc: &mut [i64]) {
        let (w, h) = (self.width as usize, self.height as usize);
        let frac = self.frac_bits();
        let (e, k) = (self.edge_bits, self.corner_bits);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let c = p[i];
                let se = mul_trunc(c, e, frac) as i64;
                let sc = mul_trunc(c, k, frac) as i64;
                acc[i] += c as i64 - 4 * se - 4 * sc;
                if se == 0 && sc == 0 {
                    continue;
                }
                if self.boundary == Boundary::Torus {
                    // The wrapped neighbours without `neighbour`'s remainders (the same
                    // cells: x ± 1 mod w, y ± 1 mod h).
                    let xm = if x == 0 { w - 1 } else { x - 1 };
                    let xp = if x + 1 == w { 0 } else { x + 1 };
                    let ym = w * if y == 0 { h - 1 } else { y - 1 };
                    let yp = w * if y + 1 == h { 0 } else { y + 1 };
                    let row = y * w;
                    acc[row + xm] += se;
                    acc[row + xp] += se;
                    acc[ym + x] += se;
                    acc[yp + x] += se;
                    acc[ym + xm] += sc;
                    acc[ym + xp] += sc;
                    acc[yp + xm] += sc;
                    acc[yp + xp] += sc;
                } else if x > 0 && x + 1 < w && y > 0 && y + 1 < h {
                    // Interior: every neighbour exists, whatever the boundary.
                    acc[i - 1] += se;
                    acc[i + 1] += se;
                    acc[i - w] += se;
                    acc[i + w] += se;
                    acc[i - w - 1] += sc;
                    acc[i - w + 1] += sc;
                    acc[i + w - 1] += sc;
                    acc[i + w + 1] += sc;
                } else {
                    for (d, s) in EDGES
                        .iter()
                        .map(|&d| (d, se))
                        .chain(CORNERS.iter().map(|&d| (d, sc)))
                    {
                        if let Some(j) = self.neighbour(x, y, d) {
                            acc[j] += s;
                        } else if self.boundary == Boundary::Reflecting {
                            acc[i] += s;
                        }
                    }
                }
            }
        }
    }

    /// Plane index of the neighbour of `(x, y)` at offset `d`; `None` when it is
    /// off the grid (never on a torus).
    fn neighbour(&self, x: usize, y: usize, (dx, dy): (i64, i64)) -> Option<usize> {
        let (w, h) = (self.width as i64, self.height as i64);
        let (mut nx, mut ny) = (x as i64 + dx, y as i64 + dy);
        if self.boundary == Boundary::Torus {
            nx = nx.rem_euclid(w);
            ny = ny.rem_euclid(h);
        } else if !(0..w).contains(&nx) || !(0..h).contains(&ny) {
            return None;
        }
        Some((ny * w + nx) as usize)
    }
}
