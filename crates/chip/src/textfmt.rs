//! Reading RON text with errors that name the file, line, column and field.
//!
//! Every text format amine reads (chip configs, network programs, images in RON)
//! goes through [`from_ron`], so a typo anywhere is reported the same way:
//! `chip.ron:12:5: field `core.compartmnets`: unknown field ...`.

use serde::de::DeserializeOwned;
use std::fmt;

/// A located error in a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The file name (or `<preset loihi>` for embedded text).
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Dotted path of the offending field, when known (`core.compartments`).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.col)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for SourceError {}

/// Parse `text` as RON into `T`, reporting problems with their location and field path.
pub fn from_ron<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, SourceError> {
    let located = |e: ron::error::SpannedError, field: Option<String>| SourceError {
        origin: origin.to_string(),
        line: e.position.line,
        col: e.position.col,
        field,
        message: e.code.to_string(),
    };
    let mut de = ron::Deserializer::from_str(text).map_err(|e| located(e, None))?;
    let mut track = serde_path_to_error::Track::new();
    let result = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    match result {
        Ok(value) => {
            de.end().map_err(|e| located(de.span_error(e), None))?;
            Ok(value)
        }
        Err(e) => {
            let path = track.path().to_string();
            // The tracked path already ends in the offending (or unknown) field.
            let field = match &e {
                ron::Error::NoSuchStructField { found, .. } if path == "." => Some(found.clone()),
                _ if path == "." || path.is_empty() => None,
                _ => Some(path),
            };
            Err(located(de.span_error(e), field))
        }
    }
}

/// Serialise a value as pretty RON (used for configs, programs and images written by amine).
pub fn to_ron<T: serde::Serialize>(value: &T) -> String {
    let config = ron::ser::PrettyConfig::new()
        .depth_limit(6)
        .struct_names(true)
        .compact_arrays(true);
    // Serialising plain data structs into a String cannot fail.
    ron::ser::to_string_pretty(value, config).expect("RON serialisation of plain data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        count: u32,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[test]
    fn unknown_field_is_located_and_named() {
        let text = "Outer(\n  name: \"a\",\n  inner: (cuont: 3),\n)";
        let e = from_ron::<Outer>(text, "x.ron").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert_eq!(e.field.as_deref(), Some("inner.cuont"), "{e}");
        assert!(e.to_string().starts_with("x.ron:3:"), "{e}");
    }

    #[test]
    fn wrong_type_is_located_and_named() {
        let text = "Outer(\n  name: \"a\",\n  inner: (count: \"three\"),\n)";
        let e = from_ron::<Outer>(text, "x.ron").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert_eq!(e.field.as_deref(), Some("inner.count"), "{e}");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let text = "Outer(name: \"a\", inner: (count: 3)) junk";
        assert!(from_ron::<Outer>(text, "x.ron").is_err());
    }
}
