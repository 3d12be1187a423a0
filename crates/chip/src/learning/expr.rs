//! The rule assembler: text such as `"dw = 2^-4*x1*y0 - 2^-4*y1*x0"` → [`RuleProgram`].
//!
//! Grammar (whitespace is free; equations are separated by `;`):
//!
//! ```text
//! rule     := equation (';' equation)* ';'?
//! equation := ('dw' | 'dt') '=' ('+' | '-')? term (('+' | '-') term)*
//! term     := item ('*' item)*
//! item     := number | '2^' '-'? integer | var | '(' var ('+' | '-') number ')'
//! var      := x0 x1 x2 y0 y1 y2 y3 w t m0..m15 out deriv pre sgn
//! ```
//!
//! The numbers of a term multiply into its scale, which must be exactly
//! `mantissa · 2^shift` with `|mantissa| ≤ 255` (the engine multiplies by a small
//! integer and shifts; it has no general multiplier for arbitrary reals). Every error
//! carries the byte span of the text at fault; [`RuleError::render`] underlines it.

use super::{Equation, Factor, RuleProgram, Target, Term, Var};
use std::fmt;

/// Largest magnitude of a term's scale mantissa.
pub const MAX_MANTISSA: i64 = 255;

/// An error located in the rule text by a byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

impl RuleError {
    fn at(start: usize, end: usize, message: impl Into<String>) -> RuleError {
        RuleError {
            start,
            end: end.max(start + 1),
            message: message.into(),
        }
    }

    /// The rule text with the faulty span underlined, then the message.
    pub fn render(&self, text: &str) -> String {
        let start = self.start.min(text.len());
        let width = self.end.saturating_sub(self.start).max(1);
        format!(
            "{text}\n{}{} {}",
            " ".repeat(text[..start].chars().count()),
            "^".repeat(width),
            self.message
        )
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.start + 1, self.message)
    }
}

impl std::error::Error for RuleError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Sym(char),
}

fn lex(text: &str) -> Result<Vec<(Tok, usize, usize)>, RuleError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let s = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(text[s..i].to_string()), s, i));
        } else if c.is_ascii_digit() || c == '.' {
            let s = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let v: f64 = text[s..i]
                .parse()
                .map_err(|_| RuleError::at(s, i, format!("`{}` is not a number", &text[s..i])))?;
            out.push((Tok::Num(v), s, i));
        } else if "=;+-*^()".contains(c) {
            out.push((Tok::Sym(c), i, i + 1));
            i += 1;
        } else {
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            return Err(RuleError::at(
                i,
                i + len,
                format!("unexpected character `{}`", &text[i..i + len]),
            ));
        }
    }
    Ok(out)
}

/// A byte range of the rule text.
type Span = (usize, usize);

/// Spans of one term: the whole term, then each factor.
type TermSpans = (Span, Vec<Span>);

/// Byte spans of what the parser built, parallel to the program's structure.
#[derive(Debug, Default)]
struct Spans {
    /// Per equation: its own span, then its terms' spans.
    equations: Vec<(Span, Vec<TermSpans>)>,
}

struct Parser {
    toks: Vec<(Tok, usize, usize)>,
    pos: usize,
    len: usize,
    spans: Spans,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn span(&self) -> (usize, usize) {
        self.toks
            .get(self.pos)
            .map_or((self.len, self.len + 1), |t| (t.1, t.2))
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: char, what: &str) -> Result<(), RuleError> {
        if self.eat(c) {
            Ok(())
        } else {
            let (s, e) = self.span();
            Err(RuleError::at(s, e, format!("expected {what}")))
        }
    }

    fn equation(&mut self) -> Result<Equation, RuleError> {
        let (s, e) = self.span();
        self.spans.equations.push(((s, e), Vec::new()));
        let target = match self.peek() {
            Some(Tok::Ident(n)) if n == "dw" => Target::Weight,
            Some(Tok::Ident(n)) if n == "dt" => Target::Tag,
            _ => {
                return Err(RuleError::at(
                    s,
                    e,
                    "an equation starts with `dw =` or `dt =`",
                ))
            }
        };
        self.pos += 1;
        self.expect('=', "`=`")?;
        let mut terms = Vec::new();
        let mut negative = self.eat('-');
        if !negative {
            self.eat('+');
        }
        loop {
            let mut term = self.term()?;
            if negative {
                term.mantissa = -term.mantissa;
            }
            terms.push(term);
            if self.eat('+') {
                negative = false;
            } else if self.eat('-') {
                negative = true;
            } else {
                break;
            }
        }
        Ok(Equation { target, terms })
    }

    fn term(&mut self) -> Result<Term, RuleError> {
        let start = self.span().0;
        let mut scale = 1.0f64;
        let mut factors = Vec::new();
        let mut factor_spans = Vec::new();
        loop {
            let (s, e) = self.span();
            match self.peek().cloned() {
                Some(Tok::Num(v)) => {
                    self.pos += 1;
                    if self.eat('^') {
                        if v != 2.0 {
                            return Err(RuleError::at(
                                s,
                                e,
                                "only powers of two (`2^k`) are allowed",
                            ));
                        }
                        let neg = self.eat('-');
                        let (ks, ke) = self.span();
                        match self.peek().cloned() {
                            Some(Tok::Num(k)) if k.fract() == 0.0 && k <= 64.0 => {
                                self.pos += 1;
                                scale *= (if neg { -k } else { k }).exp2();
                            }
                            _ => {
                                return Err(RuleError::at(
                                    ks,
                                    ke,
                                    "expected a whole exponent up to 64 after `2^`",
                                ))
                            }
                        }
                    } else {
                        scale *= v;
                    }
                }
                Some(Tok::Ident(name)) => {
                    self.pos += 1;
                    factors.push(Factor {
                        var: var(&name, s, e)?,
                        constant: 0.0,
                    });
                    factor_spans.push((s, e));
                }
                Some(Tok::Sym('(')) => {
                    self.pos += 1;
                    let (vs, ve) = self.span();
                    let v = match self.peek().cloned() {
                        Some(Tok::Ident(name)) => {
                            self.pos += 1;
                            var(&name, vs, ve)?
                        }
                        _ => return Err(RuleError::at(vs, ve, "expected a variable after `(`")),
                    };
                    let sign = if self.eat('+') {
                        1.0
                    } else if self.eat('-') {
                        -1.0
                    } else {
                        let (ss, se) = self.span();
                        return Err(RuleError::at(
                            ss,
                            se,
                            "expected `+ constant` or `- constant`",
                        ));
                    };
                    let (cs, ce) = self.span();
                    let c = match self.peek().cloned() {
                        Some(Tok::Num(c)) => c,
                        _ => return Err(RuleError::at(cs, ce, "expected a number")),
                    };
                    self.pos += 1;
                    self.expect(')', "`)`")?;
                    factors.push(Factor {
                        var: v,
                        constant: sign * c,
                    });
                    factor_spans.push((s, ce + 1));
                }
                _ => {
                    return Err(RuleError::at(
                        s,
                        e,
                        "expected a number, `2^k`, a variable or `(var ± c)`",
                    ))
                }
            }
            if !self.eat('*') {
                break;
            }
        }
        let end = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map_or(start + 1, |t| t.2);
        let (mantissa, shift) = split_scale(scale).ok_or_else(|| {
            RuleError::at(
                start,
                end,
                format!(
                    "scale {scale} is not m·2^k with |m| ≤ {MAX_MANTISSA}; write it as a power of two (e.g. 2^{})",
                    if scale > 0.0 { scale.log2().round() as i64 } else { 0 }
                ),
            )
        })?;
        if let Some(eq) = self.spans.equations.last_mut() {
            eq.1.push(((start, end), factor_spans));
        }
        Ok(Term {
            mantissa,
            shift,
            factors,
        })
    }
}

fn var(name: &str, s: usize, e: usize) -> Result<Var, RuleError> {
    Ok(match name {
        "x0" => Var::X0,
        "x1" => Var::X1,
        "x2" => Var::X2,
        "y0" => Var::Y0,
        "y1" => Var::Y1,
        "y2" => Var::Y2,
        "y3" => Var::Y3,
        "w" => Var::W,
        "t" => Var::T,
        "out" => Var::Out,
        "deriv" => Var::Deriv,
        "pre" => Var::Pre,
        "sgn" => Var::Sgn,
        _ => match name.strip_prefix('m').and_then(|k| k.parse::<u8>().ok()) {
            Some(k) if k < 16 && (name.len() == 2 || !name[1..].starts_with('0')) => Var::M(k),
            _ => {
                return Err(RuleError::at(
                    s,
                    e,
                    format!("unknown variable `{name}`; known: x0 x1 x2 y0 y1 y2 y3 w t m0..m15 out deriv pre sgn"),
                ))
            }
        },
    })
}

/// `scale = mantissa · 2^shift` exactly, with the smallest odd mantissa.
fn split_scale(scale: f64) -> Option<(i32, i8)> {
    if !scale.is_finite() || scale == 0.0 {
        return None;
    }
    let mut shift = 0i32;
    let mut m = scale;
    while m.fract() != 0.0 && shift > -64 {
        m *= 2.0;
        shift -= 1;
    }
    while m.fract() == 0.0 && (m / 2.0).fract() == 0.0 && m.abs() >= 2.0 && shift < 64 {
        m /= 2.0;
        shift += 1;
    }
    if m.fract() != 0.0 || m.abs() > MAX_MANTISSA as f64 {
        return None;
    }
    Some((m as i32, shift as i8))
}

/// The nearest scale the engine holds to `x`: `(mantissa, shift)` with
/// `|mantissa| ≤` [`MAX_MANTISSA`] (8 significant bits), rounded to nearest; `None` for
/// 0 or a value that is not finite or whose shift leaves `i8`.
pub fn nearest_scale(x: f64) -> Option<(i32, i8)> {
    if !x.is_finite() || x == 0.0 {
        return None;
    }
    let mut k = x.abs().log2().floor() as i32 - 7;
    let mut m = (x / 2f64.powi(k)).round();
    if m.abs() > MAX_MANTISSA as f64 {
        m = (m / 2.0).round();
        k += 1;
    }
    let k = i8::try_from(k).ok()?;
    split_scale(m * 2f64.powi(i32::from(k)))
}

impl RuleProgram {
    /// This rule with every term's scale multiplied by `factor > 0` and rounded to
    /// the nearest scale the engine holds ([`nearest_scale`]): what the host writes
    /// into the learning engine's scale registers to change a rule's learning rate. A
    /// term whose scaled value cannot be held keeps its scale (`factor` that is not
    /// positive and finite changes nothing).
    pub fn scaled(&self, factor: f64) -> RuleProgram {
        let mut out = self.clone();
        if !(factor > 0.0 && factor.is_finite()) {
            return out;
        }
        for term in out.equations.iter_mut().flat_map(|e| e.terms.iter_mut()) {
            let value = f64::from(term.mantissa) * 2f64.powi(i32::from(term.shift)) * factor;
            if let Some((m, k)) = nearest_scale(value) {
                (term.mantissa, term.shift) = (m, k);
            }
        }
        out
    }

    /// Scale registers of the rule: one per term.
    pub fn terms(&self) -> usize {
        self.equations.iter().map(|e| e.terms.len()).sum()
    }
}

/// Assemble rule text into microcode (syntax only; see [`assemble`] for the limits).
pub fn parse_rule(text: &str) -> Result<RuleProgram, RuleError> {
    parse(text).map(|(program, _)| program)
}

/// What a chip's learning engine can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_terms: u8,
    pub max_factors: u8,
    pub trace_bits: u8,
    pub tag_bits: u8,
    /// Modulator channels on the chip (0: no grid).
    pub channels: u32,
    /// Fractional bits of a modulator concentration.
    pub modulator_frac_bits: u32,
    /// Width of graded payloads (the compiler sets it from the rule's populations).
    pub payload_bits: u8,
}

impl Limits {
    pub fn of(config: &crate::ChipConfig) -> Limits {
        Limits {
            max_terms: config.learning.max_terms,
            max_factors: config.learning.max_factors,
            trace_bits: config.learning.trace_bits,
            tag_bits: config.learning.tag_bits,
            channels: if config.modulator.width > 0 {
                config.modulator.channels
            } else {
                0
            },
            modulator_frac_bits: config.modulator.format.frac_bits(),
            payload_bits: 8,
        }
    }

    /// Bits (sign included) a variable's value can occupy.
    fn width(&self, v: Var) -> u32 {
        match v {
            Var::X0 | Var::Y0 | Var::Sgn => 2,
            Var::X1 | Var::X2 | Var::Y1 | Var::Y2 | Var::Y3 => self.trace_bits as u32 + 1,
            Var::W => crate::synapse::MAX_WEIGHT_BITS as u32 + 1,
            Var::T => self.tag_bits as u32,
            Var::M(_) => 32,
            Var::Out | Var::Deriv | Var::Pre => self.payload_bits as u32 + 1,
        }
    }
}

/// Width of the learning engine's product register: a term's factors and scale
/// mantissa together must fit.
pub const PRODUCT_BITS: u32 = 63;

/// Assemble rule text and check it against a chip's learning engine, reporting every
/// problem (each located in the text).
pub fn assemble(text: &str, limits: &Limits) -> Result<RuleProgram, Vec<RuleError>> {
    let (program, spans) = parse(text).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    for (eq, (eq_span, term_spans)) in program.equations.iter().zip(&spans.equations) {
        if eq.terms.len() > limits.max_terms as usize {
            errors.push(RuleError::at(
                eq_span.0,
                eq_span.1,
                format!(
                    "{} terms; the learning engine runs at most {}",
                    eq.terms.len(),
                    limits.max_terms
                ),
            ));
        }
        for (term, (term_span, factor_spans)) in eq.terms.iter().zip(term_spans) {
            if term.factors.len() > limits.max_factors as usize {
                errors.push(RuleError::at(
                    term_span.0,
                    term_span.1,
                    format!(
                        "{} factors; the learning engine multiplies at most {}",
                        term.factors.len(),
                        limits.max_factors
                    ),
                ));
            }
            let mut bits = 64 - (term.mantissa.unsigned_abs() as u64).leading_zeros() + 1;
            for (f, span) in term.factors.iter().zip(factor_spans) {
                bits += limits.width(f.var) + u32::from(f.constant != 0.0);
                if let Var::M(k) = f.var {
                    if k as u32 >= limits.channels {
                        errors.push(RuleError::at(
                            span.0,
                            span.1,
                            format!(
                                "modulator channel {k}, but the chip's grid has {} channel(s)",
                                limits.channels
                            ),
                        ));
                    }
                }
                if matches!(f.var, Var::T) && limits.tag_bits == 0 {
                    errors.push(RuleError::at(span.0, span.1, "the chip stores no tags"));
                }
            }
            if bits > PRODUCT_BITS {
                errors.push(RuleError::at(term_span.0, term_span.1, format!(
                    "width overflow: this term needs {bits} bits, the product register has {PRODUCT_BITS}")));
            }
        }
    }
    if errors.is_empty() {
        Ok(program)
    } else {
        Err(errors)
    }
}

fn parse(text: &str) -> Result<(RuleProgram, Spans), RuleError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        len: text.len(),
        spans: Spans::default(),
    };
    let mut equations: Vec<Equation> = Vec::new();
    loop {
        let (s, e) = p.span();
        let eq = p.equation()?;
        if equations.iter().any(|q| q.target == eq.target) {
            return Err(RuleError::at(s, e, "this target already has an equation"));
        }
        equations.push(eq);
        if !p.eat(';') || p.peek().is_none() {
            break;
        }
    }
    if p.peek().is_some() {
        let (s, e) = p.span();
        return Err(RuleError::at(
            s,
            e,
            "unexpected text after the rule; separate equations with `;`",
        ));
    }
    Ok((RuleProgram { equations }, p.spans))
}
