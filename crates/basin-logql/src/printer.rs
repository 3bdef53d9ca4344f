//! Prints a syntax tree back as LogQL (used by `format_query` and tests).

use std::fmt::{self, Display, Formatter, Write as _};

use crate::ast::*;

/// A string as a double-quoted LogQL literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration as Prometheus writes it: `1h30m`, `500ms`.
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ns;
    if rest < 0 {
        out.push('-');
        rest = -rest;
    }
    for (unit, size) in [
        ("y", 31_536_000_000_000_000i64),
        ("w", 604_800_000_000_000),
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

fn join<T: Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

impl Display for MatchOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Eq => "=",
            MatchOp::Neq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        })
    }
}

impl Display for Matcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op, quote(&self.value))
    }
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}", join(&self.matchers, ", "))?;
        for stage in &self.stages {
            write!(f, " {stage}")?;
        }
        Ok(())
    }
}

impl Display for LineFilterOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Re => "|~",
            LineFilterOp::NotRe => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        })
    }
}

impl Display for LineFilterValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LineFilterValue::Text(s) => f.write_str(&quote(s)),
            LineFilterValue::Ip(s) => write!(f, "ip({})", quote(s)),
        }
    }
}

impl Display for CmpOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        })
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::And(a, b) => write!(f, "{} and {}", paren_or(a), paren_or(b)),
            LabelFilter::Or(a, b) => write!(f, "{a} or {b}"),
            LabelFilter::Str { name, op, value } => write!(f, "{name}{op}{}", quote(value)),
            LabelFilter::Num { name, op, value } => write!(f, "{name}{op}{value}"),
            LabelFilter::Duration { name, op, value } => {
                write!(f, "{name}{op}{}", format_duration(*value))
            }
            LabelFilter::Bytes { name, op, value } => write!(f, "{name}{op}{value}B"),
            LabelFilter::Ip {
                name,
                negate,
                pattern,
            } => {
                write!(
                    f,
                    "{name}{}ip({})",
                    if *negate { "!=" } else { "=" },
                    quote(pattern)
                )
            }
        }
    }
}

fn paren_or(filter: &LabelFilter) -> String {
    match filter {
        LabelFilter::Or(..) => format!("({filter})"),
        other => other.to_string(),
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(lf) => write!(f, "{} {}", lf.op, join(&lf.values, " or ")),
            Stage::Parser(p) => write!(f, "| {p}"),
            Stage::LabelFilter(lf) => write!(f, "| {lf}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", quote(t)),
            Stage::LabelFormat(ops) => write!(f, "| label_format {}", join(ops, ", ")),
            Stage::Drop(sels) => write!(f, "| drop {}", join(sels, ", ")),
            Stage::Keep(sels) => write!(f, "| keep {}", join(sels, ", ")),
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Unwrap { label, conv } => match conv {
                UnwrapConv::Number => write!(f, "| unwrap {label}"),
                UnwrapConv::Duration => write!(f, "| unwrap duration({label})"),
                UnwrapConv::DurationSeconds => write!(f, "| unwrap duration_seconds({label})"),
                UnwrapConv::Bytes => write!(f, "| unwrap bytes({label})"),
            },
        }
    }
}

fn params(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(label, expr)| format!("{label}={}", quote(expr)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Display for ParserStage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ParserStage::Json(p) if p.is_empty() => f.write_str("json"),
            ParserStage::Json(p) => write!(f, "json {}", params(p)),
            ParserStage::Logfmt {
                strict,
                keep_empty,
                params: p,
            } => {
                f.write_str("logfmt")?;
                if *strict {
                    f.write_str(" --strict")?;
                }
                if *keep_empty {
                    f.write_str(" --keep-empty")?;
                }
                if !p.is_empty() {
                    write!(f, " {}", params(p))?;
                }
                Ok(())
            }
            ParserStage::Regexp(r) => write!(f, "regexp {}", quote(r)),
            ParserStage::Pattern(p) => write!(f, "pattern {}", quote(p)),
            ParserStage::Unpack => f.write_str("unpack"),
        }
    }
}

impl Display for LabelFormatOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFormatOp::Rename { dst, src } => write!(f, "{dst}={src}"),
            LabelFormatOp::Template { dst, template } => write!(f, "{dst}={}", quote(template)),
        }
    }
}

impl Display for LabelSel {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.matcher {
            Some((op, v)) => write!(f, "{}{op}{}", self.name, quote(v)),
            None => f.write_str(&self.name),
        }
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, "{kw} ({})", self.labels.join(", "))
    }
}

impl Display for BinOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            BinOp::Add => f.write_str("+"),
            BinOp::Sub => f.write_str("-"),
            BinOp::Mul => f.write_str("*"),
            BinOp::Div => f.write_str("/"),
            BinOp::Mod => f.write_str("%"),
            BinOp::Pow => f.write_str("^"),
            BinOp::Cmp(c) => c.fmt(f),
            BinOp::And => f.write_str("and"),
            BinOp::Or => f.write_str("or"),
            BinOp::Unless => f.write_str("unless"),
        }
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.log, format_duration(self.range))?;
        if self.offset != 0 {
            write!(f, " offset {}", format_duration(self.offset))?;
        }
        Ok(())
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::Range {
                op,
                param,
                range,
                grouping,
            } => {
                write!(f, "{}(", op.name())?;
                if let Some(p) = param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{range})")?;
                if let Some(g) = grouping {
                    write!(f, " {g}")?;
                }
                Ok(())
            }
            MetricExpr::Vector {
                op,
                param,
                grouping,
                expr,
            } => {
                f.write_str(op.name())?;
                if let Some(g) = grouping {
                    write!(f, " {g} ")?;
                }
                f.write_str("(")?;
                if let Some(p) = param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{expr})")
            }
            MetricExpr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                write!(f, "{lhs} {op}")?;
                if *return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = matching {
                    let kw = if m.on { "on" } else { "ignoring" };
                    write!(f, " {kw} ({})", m.labels.join(", "))?;
                    match &m.card {
                        Cardinality::OneToOne => {}
                        Cardinality::ManyToOne(l) => write!(f, " group_left ({})", l.join(", "))?,
                        Cardinality::OneToMany(l) => write!(f, " group_right ({})", l.join(", "))?,
                    }
                }
                write!(f, " {rhs}")
            }
            MetricExpr::Number(n) => write!(f, "{n}"),
            MetricExpr::VectorLit(n) => write!(f, "vector({n})"),
            MetricExpr::LabelReplace {
                expr,
                dst,
                replacement,
                src,
                regex,
            } => write!(
                f,
                "label_replace({expr}, {}, {}, {}, {})",
                quote(dst),
                quote(replacement),
                quote(src),
                quote(regex)
            ),
            MetricExpr::Paren(inner) => write!(f, "({inner})"),
        }
    }
}
