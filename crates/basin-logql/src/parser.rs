//! Recursive descent over the tokens of [`crate::lexer`]; binary operators by
//! precedence climbing, with Prometheus' precedence and associativity.

use crate::ast::*;
use crate::lexer::{lex, Tok};
use crate::ParseError;

/// Most sub-expressions a query may hold: parentheses, function calls,
/// binary operands and label-filter comparisons together. Parsing, printing,
/// evaluating and dropping a query recurse once per level; a bound on the
/// total bounds the depth, well above what real queries need (tens), and
/// keeps a hostile query from overflowing a 2 MiB thread stack (a debug
/// build parses about 150 nested `sum(` in 2 MiB).
pub const MAX_SUBEXPRESSIONS: usize = 128;

/// Parses any LogQL query.
pub fn parse_expr(input: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        input,
        toks: lex(input)?,
        pos: 0,
        subexpressions: 0,
    };
    if p.toks.is_empty() {
        return Err(p.err(0, "empty query"));
    }
    let expr = if p.peek() == Some(&Tok::LBrace) {
        let log = p.log_expr()?;
        if log.stages.iter().any(|s| matches!(s, Stage::Unwrap { .. })) {
            let at = input.rfind("unwrap").unwrap_or(0);
            return Err(p.err(
                at,
                "unwrap is only allowed in range aggregations such as sum_over_time({...} | unwrap x [5m])",
            ));
        }
        Expr::Log(log)
    } else {
        Expr::Metric(p.metric_expr(0)?)
    };
    if let Some((at, tok)) = p.next() {
        return Err(p.err(at, format!("unexpected {}", describe(&tok))));
    }
    Ok(expr)
}

/// Parses a log query; a metric query is an error.
pub fn parse_log_query(input: &str) -> Result<LogExpr, ParseError> {
    match parse_expr(input)? {
        Expr::Log(log) => Ok(log),
        Expr::Metric(_) => Err(ParseError::at(
            input,
            0,
            "expected a log query such as {app=\"api\"}, got a metric query",
        )),
    }
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Sub-expressions entered so far, against [`MAX_SUBEXPRESSIONS`].
    subexpressions: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead).map(|(_, t)| t)
    }

    fn peek_ident(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Ident(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn here(&self) -> usize {
        self.toks
            .get(self.pos)
            .map(|(at, _)| *at)
            .unwrap_or(self.input.len())
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.input, at, msg)
    }

    /// Counts one more sub-expression; an error past the bound.
    fn enter(&mut self) -> PResult<()> {
        self.subexpressions += 1;
        if self.subexpressions > MAX_SUBEXPRESSIONS {
            return Err(self.err(
                self.here(),
                format!(
                    "query too complex: more than {MAX_SUBEXPRESSIONS} nested or chained expressions"
                ),
            ));
        }
        Ok(())
    }

    fn expect_next(&mut self, what: &str) -> PResult<(usize, Tok)> {
        let end = self.input.len();
        self.next()
            .ok_or_else(|| self.err(end, format!("unexpected end of query, expected {what}")))
    }

    fn expect(&mut self, want: &Tok, what: &str) -> PResult<()> {
        let (at, tok) = self.expect_next(what)?;
        if &tok == want {
            Ok(())
        } else {
            Err(self.err(at, format!("expected {what}, got {}", describe(&tok))))
        }
    }

    fn eat(&mut self, want: &Tok) -> bool {
        if self.peek() == Some(want) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_ident(&mut self, word: &str) -> bool {
        if self.peek_ident() == Some(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn string(&mut self, what: &str) -> PResult<String> {
        match self.expect_next(what)? {
            (_, Tok::Str(s)) => Ok(s),
            (at, other) => Err(self.err(at, format!("expected {what}, got {}", describe(&other)))),
        }
    }

    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.expect_next(what)? {
            (_, Tok::Ident(s)) => Ok(s),
            (at, other) => Err(self.err(at, format!("expected {what}, got {}", describe(&other)))),
        }
    }

    fn number(&mut self, what: &str) -> PResult<f64> {
        let negative = self.eat(&Tok::Minus);
        match self.expect_next(what)? {
            (_, Tok::Num(n)) => Ok(if negative { -n } else { n }),
            (at, other) => Err(self.err(at, format!("expected {what}, got {}", describe(&other)))),
        }
    }

    fn duration(&mut self, what: &str) -> PResult<i64> {
        match self.expect_next(what)? {
            (_, Tok::Duration(d)) => Ok(d),
            (at, other) => Err(self.err(at, format!("expected {what}, got {}", describe(&other)))),
        }
    }

    // ---- log queries ----

    fn log_expr(&mut self) -> PResult<LogExpr> {
        let matchers = self.selector()?;
        let stages = self.stages()?;
        Ok(LogExpr { matchers, stages })
    }

    fn selector(&mut self) -> PResult<Vec<Matcher>> {
        let start = self.here();
        self.expect(&Tok::LBrace, "a stream selector such as {app=\"api\"}")?;
        let mut matchers = Vec::new();
        if self.eat(&Tok::RBrace) {
            return Err(self.err(start, "queries require at least one label matcher"));
        }
        loop {
            let name = self.ident("a label name")?;
            let (at, tok) = self.expect_next("=, !=, =~ or !~")?;
            let op = match_op(&tok).ok_or_else(|| {
                self.err(
                    at,
                    format!("expected =, !=, =~ or !~, got {}", describe(&tok)),
                )
            })?;
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
                start,
                "queries require at least one matcher that does not match the empty string, e.g. {app=\"api\"}",
            ));
        }
        Ok(matchers)
    }

    /// Pipeline stages, up to the first token that does not start one.
    fn stages(&mut self) -> PResult<Vec<Stage>> {
        let mut stages = Vec::new();
        let mut unwrapped = false;
        loop {
            let at = self.here();
            let stage = match self.peek() {
                Some(
                    Tok::PipeEq
                    | Tok::PipeRe
                    | Tok::PipePattern
                    | Tok::Neq
                    | Tok::NotRe
                    | Tok::NotPattern,
                ) => Stage::LineFilter(self.line_filter()?),
                Some(Tok::Pipe) => {
                    self.pos += 1;
                    self.pipe_stage()?
                }
                _ => break,
            };
            if unwrapped && !matches!(stage, Stage::LabelFilter(_)) {
                return Err(self.err(at, "only label filters may follow unwrap"));
            }
            if matches!(stage, Stage::Unwrap { .. }) {
                unwrapped = true;
            }
            stages.push(stage);
        }
        Ok(stages)
    }

    fn line_filter(&mut self) -> PResult<LineFilter> {
        let (_, tok) = self.expect_next("a line filter")?;
        let op = match tok {
            Tok::PipeEq => LineFilterOp::Contains,
            Tok::Neq => LineFilterOp::NotContains,
            Tok::PipeRe => LineFilterOp::Re,
            Tok::NotRe => LineFilterOp::NotRe,
            Tok::PipePattern => LineFilterOp::Pattern,
            _ => LineFilterOp::NotPattern,
        };
        let mut values = vec![self.line_filter_value(op)?];
        while self.peek_ident() == Some("or")
            && matches!(self.peek_at(1), Some(Tok::Str(_)) | Some(Tok::Ident(_)))
        {
            // `or` followed by a string continues this filter; `or` followed
            // by anything else belongs to an enclosing expression.
            if let Some(Tok::Ident(next)) = self.peek_at(1) {
                if next != "ip" {
                    break;
                }
            }
            self.pos += 1;
            values.push(self.line_filter_value(op)?);
        }
        Ok(LineFilter { op, values })
    }

    fn line_filter_value(&mut self, op: LineFilterOp) -> PResult<LineFilterValue> {
        if self.peek_ident() == Some("ip") {
            let at = self.here();
            self.pos += 1;
            if !matches!(op, LineFilterOp::Contains | LineFilterOp::NotContains) {
                return Err(self.err(at, "ip() works only with |= and !="));
            }
            self.expect(&Tok::LParen, "'(' after ip")?;
            let v = self.string("an address, range or CIDR in quotes")?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(LineFilterValue::Ip(v));
        }
        Ok(LineFilterValue::Text(
            self.string("a quoted string after the line filter")?,
        ))
    }

    fn pipe_stage(&mut self) -> PResult<Stage> {
        let at = self.here();
        let word = match self.peek() {
            Some(Tok::Ident(w)) => w.clone(),
            Some(Tok::LParen) => return Ok(Stage::LabelFilter(self.label_filter_or()?)),
            Some(other) => {
                let msg = format!(
                    "expected a pipeline stage after '|', got {}",
                    describe(other)
                );
                return Err(self.err(at, msg));
            }
            None => {
                return Err(self.err(
                    at,
                    "unexpected end of query, expected a pipeline stage after '|'",
                ))
            }
        };
        // A word followed by a comparison is a label filter, whatever the word.
        if matches!(
            self.peek_at(1),
            Some(
                Tok::Eq
                    | Tok::EqEq
                    | Tok::Neq
                    | Tok::Re
                    | Tok::NotRe
                    | Tok::Gt
                    | Tok::Gte
                    | Tok::Lt
                    | Tok::Lte
            )
        ) {
            return Ok(Stage::LabelFilter(self.label_filter_or()?));
        }
        self.pos += 1;
        Ok(match word.as_str() {
            "json" => Stage::Parser(ParserStage::Json(self.extraction_params()?)),
            "logfmt" => {
                let (mut strict, mut keep_empty) = (false, false);
                while let Some(Tok::Flag(flag)) = self.peek().cloned() {
                    let flag_at = self.here();
                    self.pos += 1;
                    match flag.as_str() {
                        "strict" => strict = true,
                        "keep-empty" => keep_empty = true,
                        other => return Err(self.err(flag_at, format!("unknown logfmt flag --{other}"))),
                    }
                }
                Stage::Parser(ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    params: self.extraction_params()?,
                })
            }
            "regexp" => Stage::Parser(ParserStage::Regexp(self.string("a quoted regex after regexp")?)),
            "pattern" => Stage::Parser(ParserStage::Pattern(self.string("a quoted pattern after pattern")?)),
            "unpack" => Stage::Parser(ParserStage::Unpack),
            "line_format" => Stage::LineFormat(self.string("a quoted template after line_format")?),
            "label_format" => Stage::LabelFormat(self.label_format()?),
            "drop" => Stage::Drop(self.label_sels()?),
            "keep" => Stage::Keep(self.label_sels()?),
            "decolorize" => Stage::Decolorize,
            "unwrap" => self.unwrap()?,
            other => {
                return Err(self.err(
                    at,
                    format!("unknown pipeline stage {other:?}: expected json, logfmt, regexp, pattern, unpack, line_format, label_format, drop, keep, decolorize, unwrap or a label filter"),
                ))
            }
        })
    }

    /// `a="path", b` after json or logfmt; none is fine.
    fn extraction_params(&mut self) -> PResult<Vec<(String, String)>> {
        let mut params = Vec::new();
        while let Some(Tok::Ident(name)) = self.peek().cloned() {
            self.pos += 1;
            let expr = if self.eat(&Tok::Eq) {
                self.string("a quoted expression")?
            } else {
                name.clone()
            };
            params.push((name, expr));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        Ok(params)
    }

    fn label_format(&mut self) -> PResult<Vec<LabelFormatOp>> {
        let mut ops = Vec::new();
        loop {
            let dst = self.ident("a label name")?;
            self.expect(&Tok::Eq, "'='")?;
            let op = match self.expect_next("a label name or a quoted template")? {
                (_, Tok::Ident(src)) => LabelFormatOp::Rename { dst, src },
                (_, Tok::Str(template)) => LabelFormatOp::Template { dst, template },
                (at, other) => {
                    return Err(self.err(
                        at,
                        format!(
                            "expected a label name or a quoted template, got {}",
                            describe(&other)
                        ),
                    ))
                }
            };
            ops.push(op);
            if !self.eat(&Tok::Comma) {
                return Ok(ops);
            }
        }
    }

    fn label_sels(&mut self) -> PResult<Vec<LabelSel>> {
        let mut sels = Vec::new();
        loop {
            let name = self.ident("a label name")?;
            let matcher = match self.peek().and_then(match_op) {
                Some(op) => {
                    self.pos += 1;
                    Some((op, self.string("a quoted value")?))
                }
                None => None,
            };
            sels.push(LabelSel { name, matcher });
            if !self.eat(&Tok::Comma) {
                return Ok(sels);
            }
        }
    }

    fn unwrap(&mut self) -> PResult<Stage> {
        let word = self.ident("a label name after unwrap")?;
        let conv = match word.as_str() {
            "duration" | "duration_seconds" | "bytes" if self.peek() == Some(&Tok::LParen) => {
                self.pos += 1;
                let label = self.ident("a label name")?;
                self.expect(&Tok::RParen, "')'")?;
                let conv = match word.as_str() {
                    "duration" => UnwrapConv::Duration,
                    "duration_seconds" => UnwrapConv::DurationSeconds,
                    _ => UnwrapConv::Bytes,
                };
                return Ok(Stage::Unwrap { label, conv });
            }
            _ => UnwrapConv::Number,
        };
        Ok(Stage::Unwrap { label: word, conv })
    }

    fn label_filter_or(&mut self) -> PResult<LabelFilter> {
        let mut lhs = self.label_filter_and()?;
        while self.peek_ident() == Some("or") {
            self.pos += 1;
            let rhs = self.label_filter_and()?;
            lhs = LabelFilter::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn label_filter_and(&mut self) -> PResult<LabelFilter> {
        let mut lhs = self.label_filter_primary()?;
        loop {
            let explicit = self.peek_ident() == Some("and") || self.peek() == Some(&Tok::Comma);
            // Juxtaposition means `and` too: `| a="x" b="y"`.
            let implicit = matches!(self.peek(), Some(Tok::Ident(w)) if w != "or" && w != "and" && w != "offset")
                || (self.peek() == Some(&Tok::LParen));
            if explicit {
                self.pos += 1;
            } else if !implicit {
                return Ok(lhs);
            }
            let rhs = self.label_filter_primary()?;
            lhs = LabelFilter::And(Box::new(lhs), Box::new(rhs));
        }
    }

    fn label_filter_primary(&mut self) -> PResult<LabelFilter> {
        self.enter()?;
        if self.eat(&Tok::LParen) {
            let inner = self.label_filter_or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(inner);
        }
        let name = self.ident("a label name")?;
        let (at, tok) = self.expect_next("a comparison operator")?;
        let cmp = |tok: &Tok| match tok {
            Tok::Eq | Tok::EqEq => Some(CmpOp::Eq),
            Tok::Neq => Some(CmpOp::Neq),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Gte => Some(CmpOp::Gte),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Lte => Some(CmpOp::Lte),
            _ => None,
        };
        let negative = matches!(self.peek(), Some(Tok::Minus));
        if negative {
            self.pos += 1;
        }
        let (vat, value) = self.expect_next("a value to compare with")?;
        let bad = |p: &Self| {
            p.err(
                vat,
                format!(
                    "cannot compare label {name} with {} {}",
                    describe_op(&tok),
                    describe(&value)
                ),
            )
        };
        Ok(match (&value, cmp(&tok), match_op(&tok)) {
            (Tok::Str(s), _, Some(op)) if !negative => LabelFilter::Str {
                name,
                op,
                value: s.clone(),
            },
            (Tok::Num(n), Some(op), _) => LabelFilter::Num {
                name,
                op,
                value: if negative { -n } else { *n },
            },
            (Tok::Duration(d), Some(op), _) => LabelFilter::Duration {
                name,
                op,
                value: if negative { -d } else { *d },
            },
            (Tok::Bytes(b), Some(op), _) if !negative => LabelFilter::Bytes {
                name,
                op,
                value: *b,
            },
            (Tok::Ident(f), _, Some(op @ (MatchOp::Eq | MatchOp::Neq))) if f == "ip" => {
                self.expect(&Tok::LParen, "'(' after ip")?;
                let pattern = self.string("an address, range or CIDR in quotes")?;
                self.expect(&Tok::RParen, "')'")?;
                LabelFilter::Ip {
                    name,
                    negate: op == MatchOp::Neq,
                    pattern,
                }
            }
            (Tok::Str(_), _, None) => {
                return Err(self.err(
                    at,
                    format!(
                        "strings compare with =, !=, =~ or !~, not {}",
                        describe_op(&tok)
                    ),
                ))
            }
            _ => return Err(bad(self)),
        })
    }

    // ---- metric queries ----

    /// Binary expressions with precedence at least `min_prec`.
    fn metric_expr(&mut self, min_prec: u8) -> PResult<MetricExpr> {
        self.enter()?;
        let mut lhs = self.metric_unary()?;
        while let Some((op, prec, right_assoc)) = self.peek_binop() {
            if prec < min_prec {
                break;
            }
            let op_at = self.here();
            self.pos += 1;
            let return_bool = self.eat_ident("bool");
            if return_bool && !matches!(op, BinOp::Cmp(_)) {
                return Err(self.err(
                    op_at,
                    "bool modifier can only be used on comparison operators",
                ));
            }
            let matching = self.vector_matching()?;
            let rhs = self.metric_expr(if right_assoc { prec } else { prec + 1 })?;
            lhs = MetricExpr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                return_bool,
                matching,
            };
        }
        Ok(lhs)
    }

    fn peek_binop(&self) -> Option<(BinOp, u8, bool)> {
        Some(match self.peek()? {
            Tok::Ident(w) if w == "or" => (BinOp::Or, 1, false),
            Tok::Ident(w) if w == "and" => (BinOp::And, 2, false),
            Tok::Ident(w) if w == "unless" => (BinOp::Unless, 2, false),
            Tok::EqEq => (BinOp::Cmp(CmpOp::Eq), 3, false),
            Tok::Neq => (BinOp::Cmp(CmpOp::Neq), 3, false),
            Tok::Gt => (BinOp::Cmp(CmpOp::Gt), 3, false),
            Tok::Gte => (BinOp::Cmp(CmpOp::Gte), 3, false),
            Tok::Lt => (BinOp::Cmp(CmpOp::Lt), 3, false),
            Tok::Lte => (BinOp::Cmp(CmpOp::Lte), 3, false),
            Tok::Plus => (BinOp::Add, 4, false),
            Tok::Minus => (BinOp::Sub, 4, false),
            Tok::Star => (BinOp::Mul, 5, false),
            Tok::Slash => (BinOp::Div, 5, false),
            Tok::Percent => (BinOp::Mod, 5, false),
            Tok::Caret => (BinOp::Pow, 6, true),
            _ => return None,
        })
    }

    fn vector_matching(&mut self) -> PResult<Option<VectorMatching>> {
        let on = match self.peek_ident() {
            Some("on") => true,
            Some("ignoring") => false,
            _ => return Ok(None),
        };
        self.pos += 1;
        let labels = self.label_list()?;
        let card = match self.peek_ident() {
            Some("group_left") => {
                self.pos += 1;
                Cardinality::ManyToOne(self.optional_label_list()?)
            }
            Some("group_right") => {
                self.pos += 1;
                Cardinality::OneToMany(self.optional_label_list()?)
            }
            _ => Cardinality::OneToOne,
        };
        Ok(Some(VectorMatching { on, labels, card }))
    }

    fn optional_label_list(&mut self) -> PResult<Vec<String>> {
        if self.peek() == Some(&Tok::LParen) {
            self.label_list()
        } else {
            Ok(Vec::new())
        }
    }

    /// `(a, b)`, possibly empty.
    fn label_list(&mut self) -> PResult<Vec<String>> {
        self.expect(&Tok::LParen, "'(' before a list of labels")?;
        let mut labels = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(labels);
        }
        loop {
            labels.push(self.ident("a label name")?);
            match self.expect_next("',' or ')'")? {
                (_, Tok::Comma) if self.eat(&Tok::RParen) => return Ok(labels),
                (_, Tok::Comma) => continue,
                (_, Tok::RParen) => return Ok(labels),
                (at, other) => {
                    return Err(
                        self.err(at, format!("expected ',' or ')', got {}", describe(&other)))
                    )
                }
            }
        }
    }

    fn grouping(&mut self) -> PResult<Option<Grouping>> {
        let without = match self.peek_ident() {
            Some("by") => false,
            Some("without") => true,
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(Grouping {
            without,
            labels: self.label_list()?,
        }))
    }

    fn metric_unary(&mut self) -> PResult<MetricExpr> {
        if self.eat(&Tok::Minus) {
            let inner = self.metric_expr(6)?;
            return Ok(match inner {
                MetricExpr::Number(n) => MetricExpr::Number(-n),
                other => MetricExpr::Binary {
                    op: BinOp::Mul,
                    lhs: Box::new(MetricExpr::Number(-1.0)),
                    rhs: Box::new(other),
                    return_bool: false,
                    matching: None,
                },
            });
        }
        if self.eat(&Tok::Plus) {
            return self.metric_expr(6);
        }
        self.metric_primary()
    }

    fn metric_primary(&mut self) -> PResult<MetricExpr> {
        let (at, tok) = self.expect_next("a metric query")?;
        match tok {
            Tok::Num(n) => Ok(MetricExpr::Number(n)),
            Tok::LParen => {
                let inner = self.metric_expr(0)?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(MetricExpr::Paren(Box::new(inner)))
            }
            Tok::LBrace => Err(self.err(
                at,
                "a log query cannot be used here: wrap it in a range aggregation such as count_over_time({...}[5m])",
            )),
            Tok::Ident(word) => self.function(at, &word),
            other => Err(self.err(at, format!("unexpected {}", describe(&other)))),
        }
    }

    fn function(&mut self, at: usize, word: &str) -> PResult<MetricExpr> {
        if let Some(op) = RangeOp::ALL.iter().copied().find(|op| op.name() == word) {
            return self.range_agg(at, op);
        }
        if let Some(op) = VectorOp::ALL.iter().copied().find(|op| op.name() == word) {
            return self.vector_agg(at, op);
        }
        match word {
            "vector" => {
                self.expect(&Tok::LParen, "'(' after vector")?;
                let n = self.number("a number")?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(MetricExpr::VectorLit(n))
            }
            "label_replace" => {
                self.expect(&Tok::LParen, "'(' after label_replace")?;
                let expr = self.metric_expr(0)?;
                let mut args = Vec::new();
                for what in ["destination label", "replacement", "source label", "regex"] {
                    self.expect(&Tok::Comma, "','")?;
                    args.push(self.string(&format!("the {what} in quotes"))?);
                }
                self.expect(&Tok::RParen, "')'")?;
                let [dst, replacement, src, regex] = <[String; 4]>::try_from(args)
                    .map_err(|_| self.err(at, "label_replace takes five arguments"))?;
                Ok(MetricExpr::LabelReplace {
                    expr: Box::new(expr),
                    dst,
                    replacement,
                    src,
                    regex,
                })
            }
            other if self.peek() == Some(&Tok::LParen) => {
                Err(self.err(at, format!("unknown function {other:?}")))
            }
            other => Err(self.err(
                at,
                format!("unexpected identifier {other:?}: a query starts with a stream selector such as {{app=\"api\"}} or a function such as rate("),
            )),
        }
    }

    fn range_agg(&mut self, at: usize, op: RangeOp) -> PResult<MetricExpr> {
        self.expect(&Tok::LParen, &format!("'(' after {}", op.name()))?;
        let param = if op == RangeOp::QuantileOverTime {
            let q = self.number("the quantile (a number)")?;
            self.expect(&Tok::Comma, "','")?;
            Some(q)
        } else {
            None
        };
        let range = self.log_range()?;
        self.expect(&Tok::RParen, "')'")?;
        let grouping = self.grouping()?;
        let unwrapped = range
            .log
            .stages
            .iter()
            .any(|s| matches!(s, Stage::Unwrap { .. }));
        if op.needs_unwrap() && !unwrapped {
            return Err(self.err(
                at,
                format!("{} needs an unwrap stage, e.g. | unwrap latency", op.name()),
            ));
        }
        if !op.needs_unwrap() && unwrapped {
            return Err(self.err(at, format!("{} does not take an unwrap stage", op.name())));
        }
        if grouping.is_some() && !op.needs_unwrap() {
            return Err(self.err(
                at,
                format!(
                    "grouping is not allowed on {}: use sum by (...) ({}(...))",
                    op.name(),
                    op.name()
                ),
            ));
        }
        Ok(MetricExpr::Range {
            op,
            param,
            range,
            grouping,
        })
    }

    /// `{...} | stages [5m] offset 1h`, stages before or after the range, or
    /// a parenthesised log query followed by the range.
    fn log_range(&mut self) -> PResult<LogRange> {
        let log = if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let log = self.log_expr()?;
            self.expect(&Tok::RParen, "')'")?;
            log
        } else {
            self.log_expr()?
        };
        let range_at = self.here();
        self.expect(&Tok::LBracket, "a range such as [5m]")?;
        let range = self.duration("a duration such as 5m")?;
        self.expect(&Tok::RBracket, "']'")?;
        if range <= 0 {
            return Err(self.err(range_at, "the range must be positive"));
        }
        let offset = if self.eat_ident("offset") {
            self.duration("a duration after offset")?
        } else {
            0
        };
        let mut log = log;
        let after = self.stages()?;
        if !after.is_empty() {
            if !log.stages.is_empty() {
                return Err(self.err(
                    range_at,
                    "pipeline stages go either before or after the range, not both",
                ));
            }
            log.stages = after;
        }
        Ok(LogRange { log, range, offset })
    }

    fn vector_agg(&mut self, at: usize, op: VectorOp) -> PResult<MetricExpr> {
        let mut grouping = self.grouping()?;
        self.expect(&Tok::LParen, &format!("'(' after {}", op.name()))?;
        let param = if matches!(op, VectorOp::Topk | VectorOp::Bottomk) {
            let k = self.number("k (a number)")?;
            self.expect(&Tok::Comma, "','")?;
            if k < 1.0 || k.fract() != 0.0 {
                return Err(self.err(
                    at,
                    format!("{} needs a whole k of at least 1, got {k}", op.name()),
                ));
            }
            Some(k)
        } else {
            None
        };
        let expr = self.metric_expr(0)?;
        self.expect(&Tok::RParen, "')'")?;
        if let Some(after) = self.grouping()? {
            if grouping.is_some() {
                return Err(self.err(at, "grouping given twice"));
            }
            grouping = Some(after);
        }
        if grouping.is_some() && matches!(op, VectorOp::Sort | VectorOp::SortDesc) {
            return Err(self.err(at, format!("{} takes no grouping", op.name())));
        }
        Ok(MetricExpr::Vector {
            op,
            param,
            grouping,
            expr: Box::new(expr),
        })
    }
}

fn match_op(tok: &Tok) -> Option<MatchOp> {
    match tok {
        Tok::Eq => Some(MatchOp::Eq),
        Tok::Neq => Some(MatchOp::Neq),
        Tok::Re => Some(MatchOp::Re),
        Tok::NotRe => Some(MatchOp::NotRe),
        _ => None,
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

fn describe_op(tok: &Tok) -> String {
    describe(tok)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::LBrace => "'{'".into(),
        Tok::RBrace => "'}'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::Comma => "','".into(),
        Tok::Ident(s) => format!("identifier {s:?}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Duration(_) => "a duration".into(),
        Tok::Bytes(_) => "a byte size".into(),
        Tok::Eq => "'='".into(),
        Tok::EqEq => "'=='".into(),
        Tok::Neq => "'!='".into(),
        Tok::Re => "'=~'".into(),
        Tok::NotRe => "'!~'".into(),
        Tok::PipeEq => "'|='".into(),
        Tok::PipeRe => "'|~'".into(),
        Tok::PipePattern => "'|>'".into(),
        Tok::NotPattern => "'!>'".into(),
        Tok::Pipe => "'|'".into(),
        Tok::Gt => "'>'".into(),
        Tok::Gte => "'>='".into(),
        Tok::Lt => "'<'".into(),
        Tok::Lte => "'<='".into(),
        Tok::Plus => "'+'".into(),
        Tok::Minus => "'-'".into(),
        Tok::Star => "'*'".into(),
        Tok::Slash => "'/'".into(),
        Tok::Percent => "'%'".into(),
        Tok::Caret => "'^'".into(),
        Tok::Flag(f) => format!("flag --{f}"),
    }
}
