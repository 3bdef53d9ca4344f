//! Masking: secrets and personal data replaced in lines and field values
//! before anything is written (the WAL included). Built-in maskers for e-mail
//! addresses, payment card numbers (Luhn-checked, known issuer prefixes),
//! IPv4 and IPv6 addresses, bearer tokens, API keys and JWTs, plus custom
//! regular expressions.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use basin_model::PushBatch;
use regex::{Captures, Regex};

/// Names of the built-in maskers, as the config file spells them.
pub const BUILT_IN: [&str; 7] = [
    "email",
    "credit_card",
    "ipv4",
    "ipv6",
    "bearer_token",
    "api_key",
    "jwt",
];

/// Why a masking rule cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    /// A built-in name Basin does not know.
    #[error("unknown masker {0:?}: use one of {BUILT_IN:?} or a custom pattern")]
    Unknown(String),
    /// A custom pattern that does not compile.
    #[error("invalid mask pattern {pattern:?}: {source}")]
    Pattern {
        pattern: String,
        source: regex::Error,
    },
}

/// One rule: a pattern and how to rewrite what it finds.
#[derive(Debug, Clone)]
struct Rule {
    regex: Regex,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Replace the match with this text (`$1`-style groups allowed).
    Replace(String),
    /// Replace a payment card number that passes the checks.
    Card,
    /// Replace a candidate that parses as an IPv6 address.
    Ipv6,
}

/// The maskers in force, applied in order.
#[derive(Debug, Clone, Default)]
pub struct Masking {
    rules: Vec<Rule>,
}

fn compile(pattern: &str) -> Result<Regex, MaskError> {
    Regex::new(pattern).map_err(|source| MaskError::Pattern {
        pattern: pattern.to_string(),
        source,
    })
}

impl Masking {
    /// Maskers from built-in names and custom (pattern, replacement) pairs.
    pub fn new(built_in: &[String], custom: &[(String, String)]) -> Result<Self, MaskError> {
        let mut rules = Vec::new();
        for name in built_in {
            let (pattern, kind) = match name.as_str() {
                "email" => (
                    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
                    Kind::Replace("<email>".into()),
                ),
                "credit_card" => (r"\b\d(?:[ -]?\d){12,18}\b", Kind::Card),
                "ipv4" => (
                    r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
                    Kind::Replace("<ipv4>".into()),
                ),
                "ipv6" => (r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*", Kind::Ipv6),
                "bearer_token" => (
                    r"(?i)\b(bearer)\s+(?:[A-Za-z0-9\-._~+/]*[0-9][A-Za-z0-9\-._~+/]*|[A-Za-z0-9\-._~+/]{8,})=*",
                    Kind::Replace("$1 <token>".into()),
                ),
                "api_key" => (
                    concat!(
                        r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
                        r"|\bAKIA[0-9A-Z]{16}\b",
                        r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b",
                        r"|\bxox[abprs]-[A-Za-z0-9-]{10,}\b",
                        r#"|(?i:(\b(?:api[_-]?key|apikey|secret|access[_-]?token|password|passwd)["']?\s*[:=]\s*["']?))[^\s"'&,;]+"#,
                    ),
                    // A `key=value` keeps its key: the value alone is masked.
                    Kind::Replace("${1}<api_key>".into()),
                ),
                "jwt" => (
                    r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
                    Kind::Replace("<jwt>".into()),
                ),
                other => return Err(MaskError::Unknown(other.to_string())),
            };
            rules.push(Rule {
                regex: compile(pattern)?,
                kind,
            });
        }
        for (pattern, replacement) in custom {
            rules.push(Rule {
                regex: compile(pattern)?,
                kind: Kind::Replace(replacement.clone()),
            });
        }
        Ok(Self { rules })
    }

    /// Whether any masker is set.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// `text` with everything the maskers find replaced.
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for rule in &self.rules {
            let replaced = match &rule.kind {
                Kind::Replace(with) => rule.regex.replace_all(&out, with.as_str()),
                Kind::Card => rule.regex.replace_all(&out, |c: &Captures<'_>| {
                    let found = &c[0];
                    if is_card_number(found) {
                        "<credit_card>".to_string()
                    } else {
                        found.to_string()
                    }
                }),
                Kind::Ipv6 => rule.regex.replace_all(&out, |c: &Captures<'_>| {
                    let found = &c[0];
                    if found.parse::<Ipv6Addr>().is_ok() {
                        "<ipv6>".to_string()
                    } else {
                        found.to_string()
                    }
                }),
            };
            if let Cow::Owned(s) = replaced {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// Masks every line and field value of `batch`.
    pub fn mask_batch(&self, batch: &mut PushBatch) {
        if self.is_empty() {
            return;
        }
        for entry in batch.streams.iter_mut().flat_map(|s| s.entries.iter_mut()) {
            if let Cow::Owned(s) = self.apply(&entry.line) {
                entry.line = s;
            }
            for (_, value) in &mut entry.fields {
                if let Cow::Owned(s) = self.apply(value) {
                    *value = s;
                }
            }
        }
    }
}

/// A payment card number: 13 to 19 digits of a known issuer (Visa 4,
/// Mastercard 51-55 and 22-27, Amex 34/37, Discover 6) passing the Luhn check.
fn is_card_number(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let issuer = match digits[..2] {
        [4, _] => true,
        [5, 1..=5] | [2, 2..=7] => digits.len() == 16,
        [3, 4] | [3, 7] => digits.len() == 15,
        [6, _] => digits.len() == 16,
        _ => false,
    };
    let luhn: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    issuer && luhn.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Masking {
        let names: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        Masking::new(&names, &[(r"order-\d+".into(), "order-<id>".into())]).unwrap()
    }

    #[test]
    fn each_masker_masks() {
        let m = all();
        let cases = [
            ("mail alice.smith+x@example.co.uk now", "mail <email> now"),
            ("card 4111 1111 1111 1111 ok", "card <credit_card> ok"),
            ("card 5500-0000-0000-0004", "card <credit_card>"),
            ("amex 378282246310005", "amex <credit_card>"),
            ("from 10.1.2.3:443", "from <ipv4>:443"),
            (
                "from 2001:db8::8a2e:370:7334 and ::1",
                "from <ipv6> and <ipv6>",
            ),
            (
                "Authorization: Bearer abc.def-123",
                "Authorization: Bearer <token>",
            ),
            ("Bearer abc123", "Bearer <token>"),
            ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "key <api_key>"),
            ("aws AKIAIOSFODNN7EXAMPLE", "aws <api_key>"),
            ("url ?api_key=s3cr3t&x=1", "url ?api_key=<api_key>&x=1"),
            (r#"{"password": "hunter2"}"#, r#"{"password": "<api_key>"}"#),
            (
                "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature",
                "t <jwt>",
            ),
            ("placed order-123", "placed order-<id>"),
        ];
        for (input, want) in cases {
            assert_eq!(m.apply(input), want, "{input}");
        }
    }

    #[test]
    fn false_positives_are_left_alone() {
        let m = all();
        for text in [
            "took 1700000000123 ns",       // epoch millis: no issuer, fails Luhn
            "card 4111 1111 1111 1112",    // fails Luhn
            "at 12:00:00 and 2024-05-01",  // clock, not IPv6
            "version 1.2.3 released",      // three parts, not IPv4
            "999.1.1.1 is not an address", // octet over 255
            "user@localhost",              // no domain suffix
            "the bearer of bad news",      // a short word without digits is no token
            "bearer capacity exceeded",    // nor a long one in prose? see below
        ] {
            let out = m.apply(text);
            if text.starts_with("bearer capacity") {
                // An 8+ character word after "bearer" looks like a token:
                // masking errs on the safe side.
                assert_eq!(out, "bearer <token> exceeded");
            } else {
                assert_eq!(out, text, "{text}");
            }
        }
        assert!(matches!(
            Masking::new(&["ssn".into()], &[]),
            Err(MaskError::Unknown(_))
        ));
        assert!(matches!(
            Masking::new(&[], &[("(".into(), "x".into())]),
            Err(MaskError::Pattern { .. })
        ));
    }
}
