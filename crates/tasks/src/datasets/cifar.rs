//! CIFAR-10 in its standard binary form, and the `cifar10:<folder>` task.
//!
//! The "CIFAR-10 binary version" (A. Krizhevsky, 2009) is six files, `data_batch_1.bin`
//! … `data_batch_5.bin` (training) and `test_batch.bin` (test), each a sequence of
//! 3,073-byte records: one label byte (0..=9), then 3,072 pixel bytes, the red, green and
//! blue 32×32 planes in turn, each row-major. The files may sit in `<folder>` itself or
//! in its `cifar-10-batches-bin/` subfolder (how the archive unpacks).
//!
//! Reads are bounded: a file's size is checked (a whole, non-zero number of records, at
//! most [`MAX_RECORDS`]) before anything is allocated, and exactly that many bytes are
//! read. Pixels are divided by 255; an image is stored as its three planes stacked,
//! `shape = [96, 32]` (96 rows: red rows 0–31, green 32–63, blue 64–95).

use super::{Dataset, Split};
use crate::error::{Error, ErrorKind};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes per record: a label and 3 × 32 × 32 pixels.
pub const RECORD: usize = 1 + PIXELS;
/// Pixel bytes per record.
pub const PIXELS: usize = 3 * 32 * 32;
/// The most records one file may hold (a standard batch has 10,000).
pub const MAX_RECORDS: u64 = 60_000;
/// The training files, in the order their records are concatenated.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";
/// The classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog,
/// 7 horse, 8 ship, 9 truck.
pub const CLASSES: usize = 10;

/// `folder`, or its `cifar-10-batches-bin` subfolder when the files are there instead.
fn batches_folder(folder: &Path) -> PathBuf {
    let sub = folder.join("cifar-10-batches-bin");
    if !folder.join(TRAIN_FILES[0]).exists() && sub.join(TRAIN_FILES[0]).exists() {
        sub
    } else {
        folder.to_path_buf()
    }
}

/// Reads and checks one batch file, appending its images and labels.
fn read_batch(path: &Path, inputs: &mut Vec<Vec<f32>>, labels: &mut Vec<u8>) -> Result<(), Error> {
    let shown = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(ErrorKind::Missing { path: shown }))
        }
        Err(e) => return Err(Error::io(&shown, &e)),
    };
    let len = file.metadata().map_err(|e| Error::io(&shown, &e))?.len();
    if len == 0 || len % RECORD as u64 != 0 {
        return Err(Error::malformed(
            &shown,
            format!("{len} bytes is not a whole, non-zero number of {RECORD}-byte records"),
        ));
    }
    let records = len / RECORD as u64;
    if records > MAX_RECORDS {
        return Err(Error::malformed(
            &shown,
            format!("{records} records, more than the {MAX_RECORDS} a batch file may hold"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&shown, &e))?;
    if bytes.len() as u64 != len {
        return Err(Error::new(ErrorKind::Truncated {
            path: shown,
            needed: len,
            found: bytes.len() as u64,
        }));
    }
    for (k, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if usize::from(rec[0]) >= CLASSES {
            return Err(Error::malformed(
                &shown,
                format!("record {k} (byte {}): label {} > 9", k * RECORD, rec[0]),
            ));
        }
        labels.push(rec[0]);
        inputs.push(rec[1..].iter().map(|&p| f32::from(p) / 255.0).collect());
    }
    Ok(())
}

/// One split from `files` in `folder`.
fn load(folder: &Path, files: &[&str], name: &str) -> Result<Dataset, Error> {
    let (mut inputs, mut labels) = (Vec::new(), Vec::new());
    for f in files {
        read_batch(&folder.join(f), &mut inputs, &mut labels)?;
    }
    Ok(Dataset {
        name: name.to_string(),
        inputs,
        labels,
        classes: CLASSES,
        shape: [96, 32],
    })
}

/// Reads CIFAR-10's binary batches from `folder` (or its `cifar-10-batches-bin/`):
/// training is `data_batch_1..5.bin` in order (50,000 images in the standard files),
/// test is `test_batch.bin` (10,000). Errors name the file: missing, a size that is not
/// a whole number of records, too many records, a label above 9.
pub fn cifar10(folder: impl AsRef<Path>) -> Result<Split, Error> {
    let folder = batches_folder(folder.as_ref());
    Ok(Split {
        train: load(&folder, &TRAIN_FILES, "cifar10/train")?,
        test: load(&folder, &[TEST_FILE], "cifar10/test")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of class `label` whose pixel `k` is `(k + seed) % 256`.
    fn record(label: u8, seed: usize) -> Vec<u8> {
        let mut r = vec![label];
        r.extend((0..PIXELS).map(|k| ((k + seed) % 256) as u8));
        r
    }

    /// Writes the six files, `n` records each, labels cycling 0..=9.
    fn write_set(dir: &Path, n: usize) {
        for (f, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
            let bytes: Vec<u8> = (0..n)
                .flat_map(|k| record(((f * n + k) % 10) as u8, f * 100 + k))
                .collect();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    #[test]
    fn reads_the_six_batches_in_order() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3);
        let s = cifar10(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (15, 3));
        assert_eq!(s.train.shape, [96, 32]);
        assert_eq!(s.train.input_len(), 3072);
        assert_eq!(s.classes(), 10);
        assert_eq!(
            s.train.labels,
            (0..15).map(|k| (k % 10) as u8).collect::<Vec<_>>()
        );
        assert_eq!(s.test.labels, vec![5, 6, 7]);
        // Record 4 is file 1 (data_batch_2), record 1 there: pixel k = (k + 101) % 256.
        assert_eq!(s.train.inputs[4][0], 101.0 / 255.0);
        assert_eq!(s.train.inputs[4][200], 45.0 / 255.0);
        assert_eq!(s.test.inputs[2][0], 502.0 % 256.0 / 255.0);
        let spec = crate::datasets::parse_task(&format!("cifar10:{}", dir.path().display()));
        assert_eq!(spec.unwrap().load().unwrap(), s);
    }

    #[test]
    fn finds_the_archive_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&sub).unwrap();
        write_set(&sub, 1);
        assert_eq!(cifar10(dir.path()).unwrap().train.len(), 5);
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 2);
        let p = dir.path().join("data_batch_3.bin");
        let kind = |dir: &Path| cifar10(dir).unwrap_err();

        // One byte short of two records.
        std::fs::write(&p, &[record(1, 0), record(2, 0)].concat()[..2 * RECORD - 1]).unwrap();
        let e = kind(dir.path());
        assert!(matches!(e.kind(), ErrorKind::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("data_batch_3.bin"), "{e}");
        assert!(e.to_string().contains("6145 bytes"), "{e}");

        std::fs::write(&p, []).unwrap();
        assert!(kind(dir.path()).to_string().contains("0 bytes"));

        // A label of 10 in the second record.
        std::fs::write(&p, [record(1, 0), record(10, 0)].concat()).unwrap();
        let e = kind(dir.path());
        assert!(
            e.to_string().contains("record 1 (byte 3073): label 10 > 9"),
            "{e}"
        );

        std::fs::remove_file(&p).unwrap();
        let e = kind(dir.path());
        match e.kind() {
            ErrorKind::Missing { path } => assert!(path.ends_with("data_batch_3.bin")),
            k => panic!("{k:?}"),
        }
        assert!(matches!(
            cifar10("/no/such/cifar").unwrap_err().kind(),
            ErrorKind::Missing { .. }
        ));
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 1);
        let p = dir.path().join(TEST_FILE);
        // A sparse file of MAX_RECORDS + 1 records: refused from its size alone.
        let f = std::fs::File::create(&p).unwrap();
        f.set_len((MAX_RECORDS + 1) * RECORD as u64).unwrap();
        let e = cifar10(dir.path()).unwrap_err();
        assert!(e.to_string().contains("60001 records"), "{e}");
    }
}
