//! Recursive descent over the tokens of [`crate::lexer`].

use crate::ast::{LineFilter, LineFilterOp, LogQuery, MatchOp, Matcher};
use crate::lexer::{lex, Tok};
use crate::ParseError;

/// Parses a log query: a stream selector followed by line filters.
pub fn parse_log_query(input: &str) -> Result<LogQuery, ParseError> {
    let toks = lex(input)?;
    let mut p = Parser {
        input,
        toks,
        pos: 0,
    };
    let matchers = p.selector()?;
    let mut filters = Vec::new();
    while let Some((at, tok)) = p.next() {
        let op = match tok {
            Tok::PipeEq => LineFilterOp::Contains,
            Tok::Neq => LineFilterOp::NotContains,
            Tok::PipeRe => LineFilterOp::Re,
            Tok::NotRe => LineFilterOp::NotRe,
            other => return Err(p.err(at, format!("unexpected {}", describe(&other)))),
        };
        let value = p.string("a quoted string after the line filter")?;
        filters.push(LineFilter { op, value });
    }
    Ok(LogQuery { matchers, filters })
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn end_pos(&self) -> usize {
        self.input.len()
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.input, at, msg)
    }

    fn expect_next(&mut self, what: &str) -> Result<(usize, Tok), ParseError> {
        let end = self.end_pos();
        self.next()
            .ok_or_else(|| self.err(end, format!("unexpected end of query, expected {what}")))
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        match self.expect_next(what)? {
            (_, Tok::Str(s)) => Ok(s),
            (at, other) => Err(self.err(at, format!("expected {what}, got {}", describe(&other)))),
        }
    }

    fn selector(&mut self) -> Result<Vec<Matcher>, ParseError> {
        match self.expect_next("a stream selector such as {app=\"api\"}")? {
            (_, Tok::LBrace) => {}
            (at, other) => {
                return Err(self.err(
                    at,
                    format!(
                        "expected a stream selector such as {{app=\"api\"}}, got {}",
                        describe(&other)
                    ),
                ))
            }
        }
        let mut matchers = Vec::new();
        loop {
            let (at, tok) = self.expect_next("a label matcher or '}'")?;
            let name = match tok {
                Tok::RBrace if matchers.is_empty() => {
                    return Err(self.err(at, "queries require at least one label matcher"))
                }
                Tok::Ident(name) => name,
                other => {
                    return Err(self.err(
                        at,
                        format!("expected a label name, got {}", describe(&other)),
                    ))
                }
            };
            let op = match self.expect_next("=, !=, =~ or !~")? {
                (_, Tok::Eq) => MatchOp::Eq,
                (_, Tok::Neq) => MatchOp::Neq,
                (_, Tok::Re) => MatchOp::Re,
                (_, Tok::NotRe) => MatchOp::NotRe,
                (at, other) => {
                    return Err(self.err(
                        at,
                        format!("expected =, !=, =~ or !~, got {}", describe(&other)),
                    ))
                }
            };
            let value = self.string("a quoted label value")?;
            matchers.push(Matcher { name, op, value });
            match self.expect_next("',' or '}'")? {
                (_, Tok::Comma) => continue,
                (_, Tok::RBrace) => break,
                (at, other) => {
                    return Err(self.err(
                        at,
                        format!("expected ',' or '}}', got {}", describe(&other)),
                    ))
                }
            }
        }
        if matchers.iter().all(matches_empty) {
            return Err(self.err(
                0,
                "queries require at least one matcher that does not match the empty string, e.g. {app=\"api\"}",
            ));
        }
        Ok(matchers)
    }
}

/// Whether a matcher also matches streams lacking the label (Loki refuses
/// selectors made only of such matchers: they would select every stream).
fn matches_empty(m: &Matcher) -> bool {
    match m.op {
        MatchOp::Eq => m.value.is_empty(),
        MatchOp::Neq => !m.value.is_empty(),
        MatchOp::Re => m.value.is_empty() || m.value == ".*",
        MatchOp::NotRe => m.value != ".*" && !m.value.is_empty(),
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LBrace => "'{'".into(),
        Tok::RBrace => "'}'".into(),
        Tok::Comma => "','".into(),
        Tok::Ident(s) => format!("identifier {s:?}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Eq => "'='".into(),
        Tok::Neq => "'!='".into(),
        Tok::Re => "'=~'".into(),
        Tok::NotRe => "'!~'".into(),
        Tok::PipeEq => "'|='".into(),
        Tok::PipeRe => "'|~'".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selectors_and_filters() {
        let check = |q: &str, printed: &str| {
            let parsed = parse_log_query(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(parsed.to_string(), printed, "{q}");
        };
        check(r#"{app="api"}"#, r#"{app="api"}"#);
        check(
            r#"{ app = "api", env=~"prod|dev", x!="", y!~`a\d` }"#,
            r#"{app="api", env=~"prod|dev", x!="", y!~"a\\d"}"#,
        );
        check(
            r#"{app="api"} |= "error" != "timeout" |~ "5.." !~ `ok`"#,
            r#"{app="api"} |= "error" != "timeout" |~ "5.." !~ "ok""#,
        );
        check(r#"{a="say \"hi\""}"#, r#"{a="say \"hi\""}"#);
    }

    #[test]
    fn errors_name_the_position() {
        let check = |q: &str, want: &str| {
            let err = parse_log_query(q).unwrap_err().to_string();
            assert!(err.contains(want), "{q}: {err}");
        };
        check(
            r#"{app="api"} |= error"#,
            "parse error at line 1, col 16: expected a quoted string",
        );
        check(r#"{app="api""#, "col 11: unexpected end of query");
        check(r#"app="api""#, "col 1: expected a stream selector");
        check("{}", "at least one label matcher");
        check(r#"{app=~".*"}"#, "does not match the empty string");
        check(r#"{app="api"} # x"#, "col 13: unexpected character '#'");
        check("{app=\"a\",\n b=\"x\" |= \"y\"}", "line 2, col 8");
        check(r#"{app="unterminated}"#, "unterminated string");
    }
}
