//! Training-set augmentation by small image shifts (`amine train --augment shift:N`).
//!
//! [`shifts`] returns the set followed by copies of every image moved by `1..=N`
//! pixels left, right, up and down (`4N` copies, so `shift:1` makes the set 5× as
//! large); pixels moved in from outside the image are 0 (the background of the digits
//! and MNIST). A colour image stored as stacked planes (CIFAR-10's `[96, 32]`) moves
//! plane by plane. Only a training set is augmented; the chip run and its f64
//! reference get the same augmented set, in the same order (the trainers shuffle it
//! with their seeded generators).
//!
//! [`random_shifts`] (`--augment shift-random:N`) keeps the set's size instead: in each
//! epoch every image is replaced by one of its `4N + 1` placements (itself, or moved by
//! `1..=N` pixels left, right, up or down), drawn uniformly from a ChaCha8 stream seeded
//! by the run's seed and numbered by the epoch, so the chip run and its f64 reference
//! see the same images in every epoch, whatever the thread count.

use super::Dataset;
use crate::error::Error;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An augmentation named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augment {
    /// Shifts by `1..=N` pixels along each axis, both ways.
    Shift(u32),
    /// Every epoch, each image at one of its `4N + 1` placements, drawn (see
    /// [`random_shifts`]); the set keeps its size.
    RandomShift(u32),
}

/// Largest shift [`Augment::parse`] accepts.
pub const MAX_SHIFT: u32 = 4;

impl Augment {
    /// `shift:N` or `shift-random:N`, `1 ≤ N ≤` [`MAX_SHIFT`].
    pub fn parse(text: &str) -> Result<Augment, Error> {
        let bad = || {
            Error::config(format!(
                "--augment {text}: expected shift:N or shift-random:N with N from 1 to \
                 {MAX_SHIFT} (e.g. shift:1)"
            ))
        };
        let (make, n): (fn(u32) -> Augment, _) = if let Some(n) = text.strip_prefix("shift:") {
            (Augment::Shift, n)
        } else if let Some(n) = text.strip_prefix("shift-random:") {
            (Augment::RandomShift, n)
        } else {
            return Err(bad());
        };
        let n: u32 = n.parse().map_err(|_| bad())?;
        if !(1..=MAX_SHIFT).contains(&n) {
            return Err(bad());
        }
        Ok(make(n))
    }

    /// `data` augmented once, before training (see [`shifts`]); a per-epoch
    /// augmentation leaves the images as they are (see [`Augment::epoch`]) and only
    /// names itself: the name gains `+shift-random{n}`.
    pub fn apply(self, data: &Dataset) -> Result<Dataset, Error> {
        match self {
            Augment::Shift(n) => shifts(data, n),
            Augment::RandomShift(n) => {
                let mut out = data.clone();
                out.name = format!("{}+shift-random{n}", data.name);
                Ok(out)
            }
        }
    }

    /// Whether the training set changes every epoch ([`Augment::epoch`]).
    pub fn per_epoch(self) -> bool {
        matches!(self, Augment::RandomShift(_))
    }

    /// The training set of epoch `epoch` (from 0) of a run seeded `seed`: `Some` for a
    /// per-epoch augmentation (see [`random_shifts`]), `None` when the set stays `data`.
    pub fn epoch(self, data: &Dataset, seed: u64, epoch: usize) -> Result<Option<Dataset>, Error> {
        match self {
            Augment::Shift(_) => Ok(None),
            Augment::RandomShift(n) => random_shifts(data, n, seed, epoch).map(Some),
        }
    }
}

/// Colour planes of a data set's images: 3 for CIFAR-10's stacked planes, else 1.
fn planes(data: &Dataset) -> usize {
    let [rows, cols] = data.shape;
    if data.name.starts_with("cifar10") && cols > 0 && rows == 3 * cols {
        3
    } else {
        1
    }
}

/// `image` (`planes` stacked planes of `rows × cols`) moved by `(dx, dy)` pixels,
/// zero where nothing moved in.
fn shifted(image: &[f32], planes: usize, rows: usize, cols: usize, dx: i64, dy: i64) -> Vec<f32> {
    let mut out = vec![0.0; image.len()];
    for p in 0..planes {
        let base = p * rows * cols;
        for r in 0..rows {
            let sr = r as i64 - dy;
            if sr < 0 || sr >= rows as i64 {
                continue;
            }
            for c in 0..cols {
                let sc = c as i64 - dx;
                if sc >= 0 && sc < cols as i64 {
                    out[base + r * cols + c] = image[base + sr as usize * cols + sc as usize];
                }
            }
        }
    }
    out
}

/// `data`'s planes, rows and columns, checking that every image has that size.
fn geometry(data: &Dataset) -> Result<(usize, usize, usize), Error> {
    let planes = planes(data);
    let rows = data.shape[0] / planes;
    let cols = data.shape[1];
    if data.inputs.iter().any(|x| x.len() != planes * rows * cols) {
        return Err(Error::config(format!(
            "{}: rows are not {} values, cannot shift them",
            data.name,
            data.input_len()
        )));
    }
    Ok((planes, rows, cols))
}

/// The `(dx, dy)` of placement `p` of `4n + 1`: 0 is the image itself, then `1..=n`
/// pixels right, left, down and up, in the order [`shifts`] appends them.
fn placement(p: u32, n: u32) -> (i64, i64) {
    debug_assert!(p <= 4 * n);
    if p == 0 {
        return (0, 0);
    }
    let k = i64::from((p - 1) / 4 + 1);
    [(k, 0), (-k, 0), (0, k), (0, -k)][((p - 1) % 4) as usize]
}

/// `data` with each image replaced by one of its `4n + 1` placements (see
/// [`placement`]), drawn uniformly and independently per image from a ChaCha8 stream
/// seeded by `seed`, stream number `epoch`; labels stay. The name gains
/// `+shift-random{n}`.
pub fn random_shifts(data: &Dataset, n: u32, seed: u64, epoch: usize) -> Result<Dataset, Error> {
    let (planes, rows, cols) = geometry(data)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5A1F_7ED5_0000_0001);
    rng.set_stream(epoch as u64);
    let mut out = data.clone();
    out.name = format!("{}+shift-random{n}", data.name);
    for x in &mut out.inputs {
        let (dx, dy) = placement(rng.random_range(0..4 * n + 1), n);
        if (dx, dy) != (0, 0) {
            *x = shifted(x, planes, rows, cols, dx, dy);
        }
    }
    Ok(out)
}

/// `data` then its images moved by `1..=n` pixels right, left, down and up, in that
/// order (`4n` copies); labels follow their images. The name gains `+shift{n}`.
pub fn shifts(data: &Dataset, n: u32) -> Result<Dataset, Error> {
    let (planes, rows, cols) = geometry(data)?;
    let mut out = data.clone();
    out.name = format!("{}+shift{n}", data.name);
    for p in 1..=4 * n {
        let (dx, dy) = placement(p, n);
        for (x, &l) in data.inputs.iter().zip(&data.labels) {
            out.inputs.push(shifted(x, planes, rows, cols, dx, dy));
            out.labels.push(l);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, shape: [usize; 2], inputs: Vec<Vec<f32>>) -> Dataset {
        let labels = (0..inputs.len() as u8).collect();
        Dataset {
            name: name.into(),
            inputs,
            labels,
            classes: 10,
            shape,
        }
    }

    #[test]
    fn one_pixel_shifts_move_every_pixel_and_keep_labels() {
        // A 3×3 image with one lit pixel in the middle.
        let mut x = vec![0.0; 9];
        x[4] = 1.0;
        let d = set("t/train", [3, 3], vec![x.clone(), vec![0.5; 9]]);
        let a = shifts(&d, 1).unwrap();
        assert_eq!(a.len(), 10);
        assert_eq!(a.name, "t/train+shift1");
        assert_eq!(&a.inputs[..2], &d.inputs[..]);
        let lit = |v: &Vec<f32>| v.iter().position(|&p| p == 1.0);
        // right, left, down, up
        assert_eq!(lit(&a.inputs[2]), Some(5));
        assert_eq!(lit(&a.inputs[4]), Some(3));
        assert_eq!(lit(&a.inputs[6]), Some(7));
        assert_eq!(lit(&a.inputs[8]), Some(1));
        assert_eq!(a.labels, vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        // What moves out is lost, what moves in is 0.
        assert_eq!(
            a.inputs[3],
            vec![0.0, 0.5, 0.5, 0.0, 0.5, 0.5, 0.0, 0.5, 0.5]
        );
    }

    #[test]
    fn colour_planes_move_separately() {
        let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let d = set("cifar10/train", [6, 2], vec![x]);
        let a = shifts(&d, 1).unwrap();
        // Down by one: each 2×2 plane's first row is 0, its second the plane's first.
        assert_eq!(
            a.inputs[3],
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 4.0, 5.0, 0.0, 0.0, 8.0, 9.0]
        );
    }

    #[test]
    fn random_shifts_keep_the_size_and_draw_placements_per_epoch() {
        // 200 copies of the 3×3 one-lit-pixel image, each labelled by its index % 256.
        let mut x = vec![0.0; 9];
        x[4] = 1.0;
        let d = set("t/train", [3, 3], vec![x; 200]);
        let a = random_shifts(&d, 1, 7, 0).unwrap();
        assert_eq!(a.len(), 200);
        assert_eq!(a.labels, d.labels);
        assert_eq!(a.name, "t/train+shift-random1");
        // Each image is one of its five placements: lit at 4 (itself), 5, 3, 7 or 1.
        let lit: Vec<usize> = a
            .inputs
            .iter()
            .map(|v| v.iter().position(|&p| p == 1.0).unwrap())
            .collect();
        for pos in [4, 5, 3, 7, 1] {
            let count = lit.iter().filter(|&&p| p == pos).count();
            // 40 expected of 200; a uniform draw lands well inside 15..=65.
            assert!((15..=65).contains(&count), "{pos}: {count}");
        }
        assert_eq!(lit.len(), 200);
        // Same seed and epoch: the same set; another epoch or seed: another draw.
        assert_eq!(random_shifts(&d, 1, 7, 0).unwrap().inputs, a.inputs);
        assert_ne!(random_shifts(&d, 1, 7, 1).unwrap().inputs, a.inputs);
        assert_ne!(random_shifts(&d, 1, 8, 0).unwrap().inputs, a.inputs);
        // Through the enum: per epoch, and the set before training is the set itself.
        let aug = Augment::parse("shift-random:1").unwrap();
        assert!(aug.per_epoch() && !Augment::Shift(1).per_epoch());
        assert_eq!(aug.apply(&d).unwrap().inputs, d.inputs);
        assert_eq!(aug.apply(&d).unwrap().name, "t/train+shift-random1");
        assert_eq!(aug.epoch(&d, 7, 0).unwrap().unwrap().inputs, a.inputs);
        assert!(Augment::Shift(1).epoch(&d, 7, 0).unwrap().is_none());
    }

    #[test]
    fn placements_are_the_copies_of_shifts() {
        let x: Vec<f32> = (0..25).map(|i| i as f32).collect();
        let d = set("t/train", [5, 5], vec![x.clone()]);
        let all = shifts(&d, 2).unwrap();
        for p in 0..=8 {
            let (dx, dy) = placement(p, 2);
            assert_eq!(shifted(&x, 1, 5, 5, dx, dy), all.inputs[p as usize], "{p}");
        }
    }

    #[test]
    fn bad_options_are_named() {
        assert_eq!(Augment::parse("shift:2").unwrap(), Augment::Shift(2));
        assert_eq!(
            Augment::parse("shift-random:3").unwrap(),
            Augment::RandomShift(3)
        );
        for bad in [
            "shift:0",
            "shift:9",
            "shift",
            "flip:1",
            "shift:x",
            "shift-random:0",
        ] {
            let e = Augment::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("shift:N"), "{e}");
        }
    }
}
