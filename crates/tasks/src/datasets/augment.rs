//! Training-set augmentation by small image shifts (`amine train --augment shift:N`).
//!
//! [`shifts`] returns the set followed by copies of every image moved by `1..=N`
//! pixels left, right, up and down (`4N` copies, so `shift:1` makes the set 5× as
//! large); pixels moved in from outside the image are 0 (the background of the digits
//! and MNIST). A colour image stored as stacked planes (CIFAR-10's `[96, 32]`) moves
//! plane by plane. Only a training set is augmented; the chip run and its f64
//! reference get the same augmented set, in the same order (the trainers shuffle it
//! with their seeded generators).

use super::Dataset;
use crate::error::Error;

/// An augmentation named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augment {
    /// Shifts by `1..=N` pixels along each axis, both ways.
    Shift(u32),
}

/// Largest shift [`Augment::parse`] accepts.
pub const MAX_SHIFT: u32 = 4;

impl Augment {
    /// `shift:N`, `1 ≤ N ≤` [`MAX_SHIFT`].
    pub fn parse(text: &str) -> Result<Augment, Error> {
        let bad = || {
            Error::config(format!(
                "--augment {text}: expected shift:N with N from 1 to {MAX_SHIFT} (e.g. shift:1)"
            ))
        };
        let n = text.strip_prefix("shift:").ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        if !(1..=MAX_SHIFT).contains(&n) {
            return Err(bad());
        }
        Ok(Augment::Shift(n))
    }

    /// `data` augmented (see [`shifts`]).
    pub fn apply(self, data: &Dataset) -> Result<Dataset, Error> {
        match self {
            Augment::Shift(n) => shifts(data, n),
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

/// `data` then its images moved by `1..=n` pixels right, left, down and up, in that
/// order (`4n` copies); labels follow their images. The name gains `+shift{n}`.
pub fn shifts(data: &Dataset, n: u32) -> Result<Dataset, Error> {
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
    let mut out = data.clone();
    out.name = format!("{}+shift{n}", data.name);
    for k in 1..=i64::from(n) {
        for (dx, dy) in [(k, 0), (-k, 0), (0, k), (0, -k)] {
            for (x, &l) in data.inputs.iter().zip(&data.labels) {
                out.inputs.push(shifted(x, planes, rows, cols, dx, dy));
                out.labels.push(l);
            }
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
    fn bad_options_are_named() {
        assert_eq!(Augment::parse("shift:2").unwrap(), Augment::Shift(2));
        for bad in ["shift:0", "shift:9", "shift", "flip:1", "shift:x"] {
            let e = Augment::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("shift:N"), "{e}");
        }
    }
}
