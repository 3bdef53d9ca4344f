use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::ModelError;

/// A stream's identity: a hash of its canonical label text, stable across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId(pub u64);

/// A stream's labels, sorted by name, names unique: `{env="prod", service="api"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Labels(Vec<(String, String)>);

/// Whether `name` is a Prometheus/Loki label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Turns any key into a valid label name, as Loki does: invalid characters
/// become `_`, and a leading digit (or nothing) gets a `_` in front.
pub fn sanitize_label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

impl Labels {
    /// Builds a label set from pairs, checking names and uniqueness.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ModelError> {
        let mut pairs: Vec<(String, String)> = pairs.into_iter().collect();
        pairs.sort();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !is_valid_label_name(name) {
                return Err(ModelError::InvalidLabelName(name.clone()));
            }
            if i > 0 && pairs[i - 1].0 == *name {
                return Err(ModelError::DuplicateLabel(name.clone()));
            }
        }
        Ok(Self(pairs))
    }

    /// Parses Loki's label text, e.g. `{job="api", env="prod"}`.
    pub fn parse(input: &str) -> Result<Self, ModelError> {
        let err = |msg: &str| ModelError::LabelSyntax {
            input: input.to_string(),
            msg: msg.to_string(),
        };
        let s = input.trim();
        let inner = s
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .ok_or_else(|| err("expected labels in braces, like {job=\"api\"}"))?;
        let mut pairs = Vec::new();
        let mut rest = inner.trim_start();
        while !rest.is_empty() {
            let name_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..name_end];
            if name.is_empty() {
                return Err(err("expected a label name"));
            }
            rest = rest[name_end..].trim_start();
            rest = rest
                .strip_prefix('=')
                .ok_or_else(|| err("expected '=' after a label name"))?
                .trim_start();
            let (value, after) = unquote(rest).ok_or_else(|| err("expected a quoted value"))?;
            pairs.push((name.to_string(), value));
            rest = after.trim_start();
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start();
            } else if !rest.is_empty() {
                return Err(err("expected ',' between labels"));
            }
        }
        Self::from_pairs(pairs)
    }

    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of label `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stream id these labels hash to: xxh3 of their text, fed to the
    /// hasher as it is written (no string is built: this runs for every
    /// stream of every push).
    pub fn stream_id(&self) -> StreamId {
        let mut hasher = HashWriter(Xxh3::new());
        // Writing to a hasher cannot fail.
        let _ = write!(hasher, "{self}");
        StreamId(hasher.0.digest())
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
            f.write_char('=')?;
            write_quoted(f, value)?;
        }
        f.write_char('}')
    }
}

/// Writes `value` as a double-quoted string with Go-style escapes, plain
/// runs in one write each (a write a char made hashing labels cost more
/// than parsing them).
fn write_quoted(f: &mut impl fmt::Write, value: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut rest = value;
    while let Some(at) = rest.find(['"', '\\', '\n', '\r', '\t']) {
        f.write_str(&rest[..at])?;
        f.write_str(match rest.as_bytes()[at] {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            _ => "\\t",
        })?;
        rest = &rest[at + 1..];
    }
    f.write_str(rest)?;
    f.write_char('"')
}

/// Reads a double-quoted string at the start of `s`; returns it and the rest.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut rest = s.strip_prefix('"')?;
    let mut out = String::new();
    loop {
        // Plain runs copied whole, up to the closing quote or an escape.
        let at = rest.find(['"', '\\'])?;
        out.push_str(&rest[..at]);
        if rest.as_bytes()[at] == b'"' {
            return Some((out, &rest[at + 1..]));
        }
        let mut escaped = rest[at + 1..].chars();
        match escaped.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            other => out.push(other),
        }
        rest = escaped.as_str();
    }
}

/// Feeds formatted text to a hasher.
struct HashWriter(Xxh3);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        let check = |input: &str, printed: &str| {
            let labels = Labels::parse(input).expect(input);
            assert_eq!(labels.to_string(), printed);
            assert_eq!(Labels::parse(printed).expect(printed), labels);
        };
        check(r#"{job="api"}"#, r#"{job="api"}"#);
        check(r#"{ b="2",a="1" }"#, r#"{a="1", b="2"}"#);
        check(r#"{msg="say \"hi\"\n"}"#, r#"{msg="say \"hi\"\n"}"#);
        check("{}", "{}");
        // Every escape, at the start, the end and side by side; other
        // escaped chars read as themselves.
        check(
            r#"{a="\\x\t\r\n\"", b="\"é\\\\ü\q"}"#,
            r#"{a="\\x\t\r\n\"", b="\"é\\\\üq"}"#,
        );
        let labels = Labels::parse(r#"{a="\t\"x\\"}"#).expect("valid");
        assert_eq!(labels.get("a"), Some("\t\"x\\"));
    }

    #[test]
    fn parse_rejects_bad_input() {
        let check = |input: &str| assert!(Labels::parse(input).is_err(), "{input}");
        check("job=\"api\"");
        check("{job=api}");
        check("{job=\"api\" env=\"x\"}");
        check("{1job=\"api\"}");
        check("{job=\"a\", job=\"b\"}");
        check("{job=\"unterminated}");
    }

    #[test]
    fn stream_id_is_xxh3_of_the_text() {
        let labels = Labels::parse(r#"{job="a\"b", env="prod"}"#).unwrap();
        assert_eq!(
            labels.stream_id().0,
            xxhash_rust::xxh3::xxh3_64(labels.to_string().as_bytes())
        );
        // Ids are stored in parts: the text hashed must not change.
        assert_eq!(
            labels.stream_id().0,
            xxhash_rust::xxh3::xxh3_64(br#"{env="prod", job="a\"b"}"#)
        );
    }

    #[test]
    fn stream_id_ignores_order() {
        let a = Labels::parse(r#"{a="1", b="2"}"#).expect("valid");
        let b = Labels::parse(r#"{b="2", a="1"}"#).expect("valid");
        assert_eq!(a.stream_id(), b.stream_id());
        assert_eq!(a.get("b"), Some("2"));
        assert_eq!(a.get("c"), None);
    }
}
