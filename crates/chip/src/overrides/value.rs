//! The value of a `--set path=value`: RON syntax, read into a JSON value that the
//! target type then deserialises (and checks) like its file.
//!
//! | RON | JSON |
//! | --- | --- |
//! | `47.2`, `-3`, `true`, `"text"` | the same |
//! | `Torus` (a name) | `"Torus"` (a unit enum variant) |
//! | `[1, 2, 4]`, `(1, 2)` | arrays |
//! | `(edge: 0.1, corner: 0.05)`, `{"a": 1}` | objects |
//! | `Some(x)` / `None` | `x` / `null` |
//! | `Ms(5)`, `Alif(tau_mem: Ms(20))` | `{"Ms": 5}`, `{"Alif": {...}}` (enum variants) |

use serde_json::{Map, Number, Value};

/// Parse `text` as one RON value. The error says what was expected and where (a
/// 1-based character column).
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("unexpected text after the value"));
    }
    Ok(v)
}

/// A value parsed by `ron` into JSON; `ron::Value` reads a bare name as `()`, which
/// is refused with a hint to quote it.
pub fn from_ron(v: &ron::Value) -> Result<Value, String> {
    Ok(match v {
        ron::Value::Bool(b) => Value::Bool(*b),
        ron::Value::Char(c) => Value::String(c.to_string()),
        ron::Value::String(s) => Value::String(s.clone()),
        ron::Value::Number(ron::Number::Integer(i)) => Value::Number((*i).into()),
        ron::Value::Number(ron::Number::Float(f)) => Number::from_f64(f.get())
            .map(Value::Number)
            .ok_or_else(|| format!("{} is not a finite number", f.get()))?,
        ron::Value::Option(None) => Value::Null,
        ron::Value::Option(Some(x)) => from_ron(x)?,
        ron::Value::Seq(xs) => Value::Array(xs.iter().map(from_ron).collect::<Result<_, _>>()?),
        ron::Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m.iter() {
                let ron::Value::String(k) = k else {
                    return Err(format!("map keys must be names or strings, not {k:?}"));
                };
                out.insert(k.clone(), from_ron(v)?);
            }
            Value::Object(out)
        }
        ron::Value::Unit => {
            return Err(
                "a bare name reads as `()` here: write a name (an enum variant such as Torus) as a string, \"Torus\""
                    .into(),
            )
        }
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

/// Nesting deeper than this is refused (no unbounded recursion on hostile input).
const MAX_DEPTH: usize = 64;

impl Parser {
    fn error(&self, what: &str) -> String {
        format!("{what} at column {}", self.pos + 1)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        self.skip_ws();
        match self.peek() {
            None => Err(self.error("a value is missing")),
            Some('[') => {
                self.pos += 1;
                Ok(Value::Array(self.items(']', depth)?))
            }
            Some('{') => {
                self.pos += 1;
                self.map(depth)
            }
            Some('(') => {
                self.pos += 1;
                self.parens(depth)
            }
            Some('"') => self.string().map(Value::String),
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => self.named(depth),
            Some(c) => Err(self.error(&format!("`{c}` cannot start a value"))),
        }
    }

    /// A value that starts with a name: `true`, `false`, `None`, a unit variant
    /// (`Torus`, a string), `Some(x)` (`x`) or a variant with contents (`Ms(5)`, an
    /// object of one field).
    fn named(&mut self, depth: usize) -> Result<Value, String> {
        let name = self.ident();
        match name.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "None" => Ok(Value::Null),
            _ => {
                self.skip_ws();
                if self.peek() != Some('(') {
                    return Ok(Value::String(name));
                }
                self.pos += 1;
                let inner = self.parens(depth)?;
                if name == "Some" {
                    return Ok(inner);
                }
                let mut m = Map::new();
                m.insert(name, inner);
                Ok(Value::Object(m))
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("the string is not closed")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(c @ ('"' | '\\')) => out.push(c),
                        _ => return Err(self.error("unknown escape in the string")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos]
            .iter()
            .filter(|&&c| c != '_')
            .collect();
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| {
                self.pos = start;
                self.error(&format!("`{text}` is not a finite number"))
            })
    }

    /// Comma-separated values up to `close` (a trailing comma is allowed).
    fn items(&mut self, close: char, depth: usize) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            out.push(self.value(depth + 1)?);
            if !self.eat(',') {
                if self.eat(close) {
                    return Ok(out);
                }
                return Err(self.error(&format!("expected `,` or `{close}`")));
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Value, String> {
        let mut m = Map::new();
        loop {
            if self.eat('}') {
                return Ok(Value::Object(m));
            }
            self.skip_ws();
            let key = match self.peek() {
                Some('"') => self.string()?,
                Some(c) if c.is_alphabetic() || c == '_' => self.ident(),
                _ => return Err(self.error("expected a key")),
            };
            if !self.eat(':') {
                return Err(self.error("expected `:` after the key"));
            }
            m.insert(key, self.value(depth + 1)?);
            if !self.eat(',') {
                if self.eat('}') {
                    return Ok(Value::Object(m));
                }
                return Err(self.error("expected `,` or `}`"));
            }
        }
    }

    /// After `(`: a struct `(a: 1, b: 2)` (an object), a single value `(x)` (the value)
    /// or a tuple `(1, 2)` (an array).
    fn parens(&mut self, depth: usize) -> Result<Value, String> {
        self.skip_ws();
        let save = self.pos;
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            self.ident();
            if self.eat(':') {
                self.pos = save;
                return self.fields(depth);
            }
            self.pos = save;
        }
        let mut items = self.items(')', depth)?;
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        })
    }

    /// The fields of a struct `(a: 1, b: 2)` up to its `)`, as an object.
    fn fields(&mut self, depth: usize) -> Result<Value, String> {
        let mut m = Map::new();
        loop {
            if self.eat(')') {
                return Ok(Value::Object(m));
            }
            self.skip_ws();
            let key = self.ident();
            if key.is_empty() || !self.eat(':') {
                return Err(self.error("expected `field: value`"));
            }
            m.insert(key, self.value(depth + 1)?);
            if !self.eat(',') {
                if self.eat(')') {
                    return Ok(Value::Object(m));
                }
                return Err(self.error("expected `,` or `)`"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_ron_values() {
        let cases = [
            ("47.2", json!(47.2)),
            ("-3", json!(-3)),
            ("10_000", json!(10000)),
            ("[1, 2,4,8]", json!([1, 2, 4, 8])),
            ("Torus", json!("Torus")),
            ("\"a\\\"b\"", json!("a\"b")),
            (
                "(edge: 0.1, corner: 0.05)",
                json!({"edge": 0.1, "corner": 0.05}),
            ),
            ("(1, 2)", json!([1, 2])),
            ("Some(3)", json!(3)),
            ("None", json!(null)),
            ("Ms(5)", json!({"Ms": 5})),
            (
                "Alif(tau_mem: Ms(20), adapt: 4)",
                json!({"Alif": {"tau_mem": {"Ms": 20}, "adapt": 4}}),
            ),
            ("{\"eta\": 0.5, alpha: 1}", json!({"eta": 0.5, "alpha": 1})),
            ("[Lif, Alif,]", json!(["Lif", "Alif"])),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_values_say_where() {
        for (text, want) in [
            ("", "missing at column 1"),
            ("[1, 2", "expected `,` or `]` at column 6"),
            ("1x", "`1x` is not a finite number at column 1"),
            ("\"open", "not closed"),
            ("(a: 1 b: 2)", "expected `,` or `)`"),
            ("1 2", "after the value at column 3"),
            ("@", "`@` cannot start a value"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).unwrap_err().contains("nested too deeply"));
    }
}
