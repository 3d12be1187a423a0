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
//!
//! [`random_distortions`] (`--augment shift-random:N+rotate:D+drop:P`, any of the three)
//! adds, per image and epoch, a rotation by up to `±D` degrees and pixel dropout of `P`
//! percent, drawn the same way (the placements stay those of `shift-random:N`).

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
    /// Every epoch, each image rotated and/or with pixels dropped, then at one of its
    /// placements (see [`random_distortions`]); the set keeps its size.
    Random(Distort),
}

/// A per-epoch distortion of every training image (`shift-random:N+rotate:D+drop:P`):
/// the placements of [`random_shifts`] (`shift`, 0: none), a rotation about the image
/// centre by an angle uniform in `±rotate` degrees (bilinear, 0 outside the image) and
/// each pixel set to 0 with probability `drop` percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distort {
    pub shift: u32,
    pub rotate: u32,
    pub drop: u32,
}

/// Largest rotation [`Augment::parse`] accepts, in degrees.
pub const MAX_ROTATE: u32 = 45;
/// Largest pixel drop [`Augment::parse`] accepts, in percent.
pub const MAX_DROP: u32 = 50;

/// Largest shift [`Augment::parse`] accepts.
pub const MAX_SHIFT: u32 = 4;

impl Augment {
    /// `shift:N` or `shift-random:N`, `1 ≤ N ≤` [`MAX_SHIFT`]; or per-epoch distortions
    /// joined by `+`, each at most once: `shift-random:N`, `rotate:D` (`1 ≤ D ≤`
    /// [`MAX_ROTATE`] degrees), `drop:P` (`1 ≤ P ≤` [`MAX_DROP`] percent), e.g.
    /// `shift-random:1+rotate:10`.
    pub fn parse(text: &str) -> Result<Augment, Error> {
        if text.contains('+') || text.starts_with("rotate:") || text.starts_with("drop:") {
            return parse_distort(text).map(Augment::Random);
        }
        let bad = || {
            Error::config(format!(
                "--augment {text}: expected shift:N or shift-random:N with N from 1 to \
                 {MAX_SHIFT} (e.g. shift:1), or distortions joined by +: shift-random:N, \
                 rotate:D (degrees, 1 to {MAX_ROTATE}), drop:P (percent, 1 to {MAX_DROP})"
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
            Augment::RandomShift(_) | Augment::Random(_) => {
                let mut out = data.clone();
                out.name = format!("{}{}", data.name, self.suffix());
                Ok(out)
            }
        }
    }

    /// What a per-epoch augmentation adds to the set's name (`+shift-random1`,
    /// `+shift-random1+rotate10`); empty for [`Augment::Shift`], which names its copies.
    fn suffix(self) -> String {
        let d = match self {
            Augment::Shift(_) => return String::new(),
            Augment::RandomShift(n) => return format!("+shift-random{n}"),
            Augment::Random(d) => d,
        };
        [
            ("shift-random", d.shift),
            ("rotate", d.rotate),
            ("drop", d.drop),
        ]
        .iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| format!("+{k}{v}"))
        .collect()
    }

    /// Whether the training set changes every epoch ([`Augment::epoch`]).
    pub fn per_epoch(self) -> bool {
        matches!(self, Augment::RandomShift(_) | Augment::Random(_))
    }

    /// The training set of epoch `epoch` (from 0) of a run seeded `seed`: `Some` for a
    /// per-epoch augmentation (see [`random_shifts`]), `None` when the set stays `data`.
    pub fn epoch(self, data: &Dataset, seed: u64, epoch: usize) -> Result<Option<Dataset>, Error> {
        match self {
            Augment::Shift(_) => Ok(None),
            Augment::RandomShift(n) => random_shifts(data, n, seed, epoch).map(Some),
            Augment::Random(d) => random_distortions(data, d, seed, epoch).map(Some),
        }
    }
}

/// The distortions of `text` (`shift-random:N+rotate:D+drop:P`, any of them, each at
/// most once, at least one).
fn parse_distort(text: &str) -> Result<Distort, Error> {
    let bad = |why: String| Error::config(format!("--augment {text}: {why}"));
    let mut d = Distort {
        shift: 0,
        rotate: 0,
        drop: 0,
    };
    for part in text.split('+') {
        let (key, value) = part
            .split_once(':')
            .ok_or_else(|| bad(format!("`{part}` is not KIND:VALUE")))?;
        let (slot, max, unit) = match key {
            "shift-random" => (&mut d.shift, MAX_SHIFT, "pixels"),
            "rotate" => (&mut d.rotate, MAX_ROTATE, "degrees"),
            "drop" => (&mut d.drop, MAX_DROP, "percent"),
            _ => {
                return Err(bad(format!(
                    "`{key}` cannot be joined; the per-epoch kinds are shift-random, rotate, drop"
                )))
            }
        };
        let v: u32 = value
            .parse()
            .ok()
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(|| {
                bad(format!(
                    "{key}: `{value}` is not a whole number of {unit} from 1 to {max}"
                ))
            })?;
        if *slot != 0 {
            return Err(bad(format!("{key} given twice")));
        }
        *slot = v;
    }
    Ok(d)
}

/// `data` with each image distorted by `d`, a fresh draw per image and epoch: the
/// placement from the stream [`random_shifts`] uses (so `shift-random:N+rotate:D` moves
/// every image as `shift-random:N` does), the angle and the dropped pixels from a
/// second ChaCha8 stream seeded by `seed`, numbered by `epoch`. The image is rotated,
/// then its pixels dropped, then moved; labels stay.
pub fn random_distortions(
    data: &Dataset,
    d: Distort,
    seed: u64,
    epoch: usize,
) -> Result<Dataset, Error> {
    let (planes, rows, cols) = geometry(data)?;
    let mut place = ChaCha8Rng::seed_from_u64(seed ^ 0x5A1F_7ED5_0000_0001);
    place.set_stream(epoch as u64);
    let mut warp = ChaCha8Rng::seed_from_u64(seed ^ 0x0D15_7087_0000_0002);
    warp.set_stream(epoch as u64);
    let mut out = data.clone();
    out.name = format!("{}{}", data.name, Augment::Random(d).suffix());
    for x in &mut out.inputs {
        let p = if d.shift > 0 {
            placement(place.random_range(0..4 * d.shift + 1), d.shift)
        } else {
            (0, 0)
        };
        if d.rotate > 0 {
            let deg = f64::from(d.rotate) * (2.0 * warp.random::<f64>() - 1.0);
            *x = rotated(x, planes, rows, cols, deg.to_radians());
        }
        if d.drop > 0 {
            let keep = 1.0 - f64::from(d.drop) / 100.0;
            x.iter_mut()
                .for_each(|v| *v = if warp.random::<f64>() < keep { *v } else { 0.0 });
        }
        if p != (0, 0) {
            *x = shifted(x, planes, rows, cols, p.0, p.1);
        }
    }
    Ok(out)
}

/// `image` rotated by `angle` radians (counter-clockwise on screen, rows growing
/// downwards) about the centre of each plane, bilinear, 0 outside the image.
fn rotated(image: &[f32], planes: usize, rows: usize, cols: usize, angle: f64) -> Vec<f32> {
    let (sin, cos) = angle.sin_cos();
    let (cr, cc) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
    let mut out = vec![0.0; image.len()];
    for p in 0..planes {
        let plane = &image[p * rows * cols..(p + 1) * rows * cols];
        let at = |r: i64, c: i64| -> f64 {
            if r < 0 || c < 0 || r >= rows as i64 || c >= cols as i64 {
                0.0
            } else {
                f64::from(plane[r as usize * cols + c as usize])
            }
        };
        for r in 0..rows {
            for c in 0..cols {
                // The source of output pixel (r, c): rotate back by −angle.
                let (y, x) = (r as f64 - cr, c as f64 - cc);
                let sr = cos * y - sin * x + cr;
                let sc = sin * y + cos * x + cc;
                let (r0, c0) = (sr.floor(), sc.floor());
                let (fr, fc) = (sr - r0, sc - c0);
                let (r0, c0) = (r0 as i64, c0 as i64);
                let v = (1.0 - fr) * ((1.0 - fc) * at(r0, c0) + fc * at(r0, c0 + 1))
                    + fr * ((1.0 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1));
                out[p * rows * cols + r * cols + c] = v as f32;
            }
        }
    }
    out
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
    fn rotation_by_a_right_angle_moves_pixels_to_their_quarter_turn() {
        // 3×3, pixel (row 0, col 1) lit: a quarter turn about the centre (1, 1) sends
        // it to (1, 0) or (1, 2), whichever way the sign runs; the centre stays.
        let mut x = vec![0.0; 9];
        x[1] = 1.0;
        x[4] = 0.5;
        let r = rotated(&x, 1, 3, 3, std::f64::consts::FRAC_PI_2);
        let lit: Vec<usize> = (0..9).filter(|&i| r[i] > 0.99).collect();
        assert!(lit == vec![3] || lit == vec![5], "{r:?}");
        assert!((r[4] - 0.5).abs() < 1e-6);
        assert!((r.iter().sum::<f32>() - 1.5).abs() < 1e-5, "{r:?}");
        // The other way round, the other side; no angle, the image.
        let back = rotated(&x, 1, 3, 3, -std::f64::consts::FRAC_PI_2);
        let other = if lit[0] == 3 { 5 } else { 3 };
        assert!(back[other] > 0.99, "{back:?}");
        assert_eq!(rotated(&x, 1, 3, 3, 0.0), x);
    }

    #[test]
    fn distortions_keep_the_placements_and_draw_per_epoch() {
        let x: Vec<f32> = (0..25).map(|i| (i % 7) as f32 / 7.0 + 0.1).collect();
        let d = set("t/train", [5, 5], vec![x; 200]);
        let only_shift = Distort {
            shift: 1,
            rotate: 0,
            drop: 0,
        };
        // Shifts alone are shift-random's sets, image for image.
        assert_eq!(
            random_distortions(&d, only_shift, 3, 2).unwrap().inputs,
            random_shifts(&d, 1, 3, 2).unwrap().inputs
        );
        // 20 % drop: about a fifth of the (all non-zero) pixels become 0.
        let drop = Distort {
            shift: 0,
            rotate: 0,
            drop: 20,
        };
        let a = random_distortions(&d, drop, 3, 0).unwrap();
        let zeros = a.inputs.iter().flatten().filter(|&&v| v == 0.0).count();
        assert!((800..1200).contains(&zeros), "{zeros} of 5000");
        assert_eq!(a.name, "t/train+drop20");
        assert_eq!(a.labels, d.labels);
        assert_eq!(random_distortions(&d, drop, 3, 0).unwrap().inputs, a.inputs);
        assert_ne!(random_distortions(&d, drop, 3, 1).unwrap().inputs, a.inputs);
        // Rotation changes images, not all by the same angle.
        let rot = Distort {
            shift: 0,
            rotate: 15,
            drop: 0,
        };
        let b = random_distortions(&d, rot, 3, 0).unwrap();
        assert_ne!(b.inputs[0], d.inputs[0]);
        assert_ne!(b.inputs[0], b.inputs[1]);
        let aug = Augment::parse("shift-random:1+rotate:15").unwrap();
        assert!(aug.per_epoch());
        assert_eq!(
            aug.apply(&d).unwrap().name,
            "t/train+shift-random1+rotate15"
        );
    }

    #[test]
    fn distortion_options_are_checked() {
        assert_eq!(
            Augment::parse("shift-random:2+rotate:10+drop:5").unwrap(),
            Augment::Random(Distort {
                shift: 2,
                rotate: 10,
                drop: 5
            })
        );
        assert_eq!(
            Augment::parse("rotate:12").unwrap(),
            Augment::Random(Distort {
                shift: 0,
                rotate: 12,
                drop: 0
            })
        );
        for (bad, says) in [
            ("rotate:0", "rotate: `0`"),
            ("rotate:46", "from 1 to 45"),
            ("drop:51", "from 1 to 50"),
            ("shift:1+rotate:5", "`shift` cannot be joined"),
            ("rotate:5+rotate:6", "rotate given twice"),
            ("rotate:5+", "is not KIND:VALUE"),
            ("shift-random:5+drop:1", "from 1 to 4"),
        ] {
            let e = Augment::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(says), "{bad}: {e}");
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
