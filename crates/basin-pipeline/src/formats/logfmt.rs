//! logfmt: `key=value key2="quoted value"` pairs, as Go's logfmt, Heroku and
//! many structured loggers write them.

use basin_model::sanitize_label_name;

/// Fewest pairs for a line to count as logfmt; one `a=b` in prose is not enough.
const MIN_PAIRS: usize = 2;

/// The pairs of a logfmt line, or `None` if it is not one (it must start with
/// a pair, and every token must be a pair or a bare key).
pub fn parse(line: &str) -> Option<Vec<(String, String)>> {
    let bytes = line.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b' ' {
            i += 1;
        }
        let key = &line[key_start..i];
        if key.is_empty() || key.contains('"') {
            return None;
        }
        if i >= bytes.len() || bytes[i] == b' ' {
            // A bare key is allowed, but the line must start with a pair.
            if fields.is_empty() {
                return None;
            }
            continue;
        }
        i += 1; // '='
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut value = String::new();
            loop {
                match bytes.get(i) {
                    None => return None,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < bytes.len() => {
                        let escaped = line[i + 1..].chars().next()?;
                        value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        i += 1 + escaped.len_utf8();
                    }
                    Some(_) => {
                        let c = line[i..].chars().next()?;
                        value.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            value
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
            line[start..i].to_string()
        };
        fields.push((sanitize_label_name(key), value));
    }
    (fields.len() >= MIN_PAIRS).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_quotes() {
        let f = parse(r#"ts=2024-05-01T12:00:00Z level=warn msg="slow query \"users\"" took=1.5s db.name=main"#)
            .unwrap();
        assert_eq!(f[1], ("level".into(), "warn".into()));
        assert_eq!(f[2], ("msg".into(), r#"slow query "users""#.into()));
        assert_eq!(f[4], ("db_name".into(), "main".into()));
    }

    #[test]
    fn prose_is_not_logfmt() {
        for line in [
            "user logged in with id=5",
            "a=1",
            r#"msg="unterminated"#,
            "GET /?a=1&b=2 HTTP/1.1",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
