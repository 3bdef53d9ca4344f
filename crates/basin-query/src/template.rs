//! The Go `text/template` subset that `line_format` and `label_format` use in
//! practice: `{{.label}}`, pipelines (`{{ .x | ToUpper }}`), function calls
//! (`{{ printf "%5s" .x }}`), `if`/`else`/`end`, trim markers (`{{-`, `-}}`),
//! and the string, math and time functions of Loki's template library.

use std::fmt::Write as _;

use crate::label_set::LabelSet;
use crate::QueryError;

/// A value inside a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    /// Nanoseconds since the epoch.
    Time(i64),
}

impl Val {
    fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Num(n) => format_num(*n),
            Val::Bool(b) => b.to_string(),
            Val::Time(ns) => chrono::DateTime::from_timestamp_nanos(*ns)
                .format("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
                .to_string(),
        }
    }

    fn num(&self) -> f64 {
        match self {
            Val::Str(s) => s.trim().parse().unwrap_or(0.0),
            Val::Num(n) => *n,
            Val::Bool(b) => f64::from(u8::from(*b)),
            Val::Time(ns) => *ns as f64 / 1e9,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Num(n) => *n != 0.0,
            Val::Bool(b) => *b,
            Val::Time(_) => true,
        }
    }

    fn time(&self) -> i64 {
        match self {
            Val::Time(ns) => *ns,
            other => (other.num() * 1e9) as i64,
        }
    }
}

fn format_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Debug, Clone)]
enum Operand {
    Field(String),
    Dot,
    Lit(Val),
    Call(String, Vec<Operand>),
    Pipe(Box<Pipeline>),
}

/// Commands separated by `|`; each one's result is the next one's last argument.
#[derive(Debug, Clone)]
struct Pipeline(Vec<Operand>);

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
}

/// How much more than its input line one rendering may produce: Loki's
/// default `max_line_size`. A template that asks for more (`repeat`, widths
/// in `printf`, `alignLeft`, `indent`) fails with `TemplateFormatErr`
/// instead of allocating what the query asked.
pub const MAX_RENDERED_EXTRA_BYTES: usize = 256 * 1024;

/// The most one rendering from `ctx` may produce.
fn budget(ctx: &Context<'_>) -> usize {
    MAX_RENDERED_EXTRA_BYTES + ctx.line.len()
}

/// Refuses a size a function was asked for when it passes the budget.
fn within(ctx: &Context<'_>, what: &str, bytes: f64) -> Result<usize, String> {
    let limit = budget(ctx);
    if bytes.is_nan() || bytes > limit as f64 {
        return Err(format!(
            "{what} would produce more than {limit} bytes, the most one rendering may produce"
        ));
    }
    Ok(bytes.max(0.0) as usize)
}

/// A compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

/// What a template sees: the labels, the line and its time.
pub struct Context<'a> {
    pub labels: &'a LabelSet,
    pub line: &'a str,
    pub ts: i64,
}

impl Template {
    /// Compiles template text.
    pub fn new(text: &str) -> Result<Self, QueryError> {
        let err = |msg: String| QueryError::Plan(format!("invalid template {text:?}: {msg}"));
        let pieces = split_actions(text).map_err(err)?;
        let mut iter = pieces.into_iter();
        let (nodes, end) = parse_nodes(&mut iter).map_err(err)?;
        if let Some(end) = end {
            return Err(err(format!("unexpected {{{{{end}}}}}")));
        }
        Ok(Self { nodes })
    }

    /// Renders the template.
    pub fn render(&self, ctx: &Context<'_>) -> Result<String, String> {
        let mut out = String::new();
        render_nodes(&self.nodes, ctx, &mut out)?;
        Ok(out)
    }
}

enum Piece {
    Text(String),
    Action(String),
}

/// Splits text into literal text and `{{ ... }}` actions, applying trim markers.
fn split_actions(text: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut lit = &rest[..open];
        if trim_next {
            lit = lit.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_before =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_before {
            lit = lit.trim_end();
        }
        if !lit.is_empty() {
            out.push(Piece::Text(lit.to_string()));
        }
        let body_start = if trim_before { 1 } else { 0 };
        let close = find_close(after).ok_or("unclosed action: missing }}")?;
        let mut body = &after[body_start..close];
        trim_next = body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-");
        if trim_next {
            body = &body[..body.len() - 1];
        }
        out.push(Piece::Action(body.trim().to_string()));
        rest = &after[close + 2..];
    }
    let lit = if trim_next { rest.trim_start() } else { rest };
    if !lit.is_empty() {
        out.push(Piece::Text(lit.to_string()));
    }
    Ok(out)
}

/// Position of the `}}` closing an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'"' | b'`' => {
                let q = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' && q == b'"' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'}' if bytes[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses nodes until `end`/`else` (returned) or the end of input.
fn parse_nodes(
    iter: &mut impl Iterator<Item = Piece>,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(piece) = iter.next() {
        match piece {
            Piece::Text(t) => nodes.push(Node::Text(t)),
            Piece::Action(a) if a == "end" || a == "else" => return Ok((nodes, Some(a))),
            Piece::Action(a) if a.starts_with("/*") => {}
            Piece::Action(a) => {
                if let Some(cond) = a.strip_prefix("if ") {
                    let cond = parse_pipeline(cond)?;
                    let (then, end) = parse_nodes(iter)?;
                    let otherwise = match end.as_deref() {
                        Some("end") => Vec::new(),
                        Some("else") => match parse_nodes(iter)? {
                            (nodes, Some(e)) if e == "end" => nodes,
                            _ => return Err("missing {{end}} after {{else}}".into()),
                        },
                        _ => return Err("missing {{end}}".into()),
                    };
                    nodes.push(Node::If(cond, then, otherwise));
                } else {
                    nodes.push(Node::Action(parse_pipeline(&a)?));
                }
            }
        }
    }
    Ok((nodes, None))
}

/// Splits action text into words: strings, parenthesised groups, `|`.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '`' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c == '"' {
                    i += 1;
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err("unterminated string".into());
            }
            i += 1;
            out.push(chars[start..i].iter().collect());
        } else if c == '(' {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err("unbalanced parentheses".into());
            }
            i += 1;
            out.push(chars[start..i].iter().collect());
        } else if c == '|' {
            out.push("|".into());
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '|' && chars[i] != '('
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

fn parse_pipeline(text: &str) -> Result<Pipeline, String> {
    let words = words(text)?;
    let mut commands = Vec::new();
    for cmd in words.split(|w| w == "|") {
        if cmd.is_empty() {
            return Err(format!("empty command in {text:?}"));
        }
        let first = parse_operand(&cmd[0])?;
        let args = cmd[1..]
            .iter()
            .map(|w| parse_operand(w))
            .collect::<Result<Vec<_>, _>>()?;
        commands.push(match first {
            Operand::Call(name, _) => Operand::Call(name, args),
            other if args.is_empty() => other,
            _ => return Err(format!("{} is not a function", cmd[0])),
        });
    }
    Ok(Pipeline(commands))
}

fn parse_operand(word: &str) -> Result<Operand, String> {
    if word == "." {
        return Ok(Operand::Dot);
    }
    if let Some(field) = word.strip_prefix('.') {
        return Ok(Operand::Field(field.to_string()));
    }
    if let Some(inner) = word.strip_prefix('(').and_then(|w| w.strip_suffix(')')) {
        return Ok(Operand::Pipe(Box::new(parse_pipeline(inner)?)));
    }
    if let Some(s) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
        return Ok(Operand::Lit(Val::Str(s.to_string())));
    }
    if word.starts_with('"') {
        return unquote(word).map(|s| Operand::Lit(Val::Str(s)));
    }
    if let Ok(n) = word.parse::<f64>() {
        return Ok(Operand::Lit(Val::Num(n)));
    }
    match word {
        "true" => return Ok(Operand::Lit(Val::Bool(true))),
        "false" => return Ok(Operand::Lit(Val::Bool(false))),
        _ => {}
    }
    if FUNCTIONS.contains(&word) {
        return Ok(Operand::Call(word.to_string(), Vec::new()));
    }
    Err(format!("function {word:?} not defined"))
}

fn unquote(word: &str) -> Result<String, String> {
    let inner = &word[1..word.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => return Err("bad escape".into()),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn render_nodes(nodes: &[Node], ctx: &Context<'_>, out: &mut String) -> Result<(), String> {
    for node in nodes {
        within(ctx, "the template", out.len() as f64)?;
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&eval_pipeline(p, ctx)?.text()),
            Node::If(cond, then, otherwise) => {
                let branch = if eval_pipeline(cond, ctx)?.truthy() {
                    then
                } else {
                    otherwise
                };
                render_nodes(branch, ctx, out)?;
            }
        }
    }
    within(ctx, "the template", out.len() as f64)?;
    Ok(())
}

fn eval_pipeline(p: &Pipeline, ctx: &Context<'_>) -> Result<Val, String> {
    let mut prev: Option<Val> = None;
    for cmd in &p.0 {
        let val = match cmd {
            Operand::Call(name, args) => {
                let mut vals = args
                    .iter()
                    .map(|a| eval_operand(a, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(p) = prev.take() {
                    vals.push(p);
                }
                let val = call(name, &vals, ctx)?;
                if let Val::Str(text) = &val {
                    within(ctx, name, text.len() as f64)?;
                }
                val
            }
            other => {
                if prev.is_some() {
                    return Err("a value cannot take piped input".into());
                }
                eval_operand(other, ctx)?
            }
        };
        prev = Some(val);
    }
    Ok(prev.unwrap_or(Val::Str(String::new())))
}

fn eval_operand(op: &Operand, ctx: &Context<'_>) -> Result<Val, String> {
    Ok(match op {
        Operand::Field(name) => Val::Str(ctx.labels.get(name).unwrap_or("").to_string()),
        Operand::Dot => Val::Str(ctx.labels.to_string()),
        Operand::Lit(v) => v.clone(),
        Operand::Call(name, args) => {
            let vals = args
                .iter()
                .map(|a| eval_operand(a, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, &vals, ctx)?
        }
        Operand::Pipe(p) => eval_pipeline(p, ctx)?,
    })
}

const FUNCTIONS: &[&str] = &[
    "ToUpper",
    "ToLower",
    "upper",
    "lower",
    "title",
    "Title",
    "Replace",
    "replace",
    "Trim",
    "TrimLeft",
    "TrimRight",
    "TrimPrefix",
    "TrimSuffix",
    "TrimSpace",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "trunc",
    "substr",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "repeat",
    "regexReplaceAll",
    "regexReplaceAllLiteral",
    "printf",
    "default",
    "div",
    "mul",
    "add",
    "sub",
    "mod",
    "addf",
    "subf",
    "mulf",
    "divf",
    "float64",
    "int",
    "round",
    "ceil",
    "floor",
    "max",
    "min",
    "maxf",
    "minf",
    "date",
    "toDate",
    "unixEpoch",
    "unixEpochMillis",
    "unixEpochNanos",
    "unixToTime",
    "now",
    "__line__",
    "__timestamp__",
    "count",
    "urlencode",
    "urldecode",
    "b64enc",
    "b64dec",
    "alignLeft",
    "alignRight",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "indent",
    "nindent",
];

fn call(name: &str, a: &[Val], ctx: &Context<'_>) -> Result<Val, String> {
    let s = |i: usize| a.get(i).map(Val::text).unwrap_or_default();
    let n = |i: usize| a.get(i).map(Val::num).unwrap_or(0.0);
    let last = || a.last().map(Val::text).unwrap_or_default();
    let need = |k: usize| {
        if a.len() < k {
            Err(format!("{name} takes {k} arguments, got {}", a.len()))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "ToUpper" | "upper" => Val::Str(last().to_uppercase()),
        "ToLower" | "lower" => Val::Str(last().to_lowercase()),
        "title" | "Title" => Val::Str(title(&last())),
        // Go's strings.Replace(s, old, new, n).
        "Replace" => {
            need(4)?;
            let count = n(3) as i64;
            if count < 0 {
                Val::Str(s(0).replace(&s(1), &s(2)))
            } else {
                Val::Str(s(0).replacen(&s(1), &s(2), count as usize))
            }
        }
        // Sprig's replace old new s.
        "replace" => {
            need(3)?;
            Val::Str(s(2).replace(&s(0), &s(1)))
        }
        "Trim" => Val::Str(s(0).trim_matches(|c| s(1).contains(c)).to_string()),
        "TrimLeft" => Val::Str(s(0).trim_start_matches(|c| s(1).contains(c)).to_string()),
        "TrimRight" => Val::Str(s(0).trim_end_matches(|c| s(1).contains(c)).to_string()),
        "TrimPrefix" => Val::Str(
            s(0).strip_prefix(&s(1))
                .map(str::to_string)
                .unwrap_or_else(|| s(0)),
        ),
        "TrimSuffix" => Val::Str(
            s(0).strip_suffix(&s(1))
                .map(str::to_string)
                .unwrap_or_else(|| s(0)),
        ),
        "TrimSpace" | "trim" => Val::Str(last().trim().to_string()),
        "trimAll" => Val::Str(s(1).trim_matches(|c| s(0).contains(c)).to_string()),
        "trimPrefix" => Val::Str(
            s(1).strip_prefix(&s(0))
                .map(str::to_string)
                .unwrap_or_else(|| s(1)),
        ),
        "trimSuffix" => Val::Str(
            s(1).strip_suffix(&s(0))
                .map(str::to_string)
                .unwrap_or_else(|| s(1)),
        ),
        "trunc" => {
            let text: Vec<char> = s(1).chars().collect();
            let k = n(0) as i64;
            let len = text.len() as i64;
            Val::Str(if k >= 0 {
                text[..k.min(len) as usize].iter().collect()
            } else {
                text[(len + k).max(0) as usize..].iter().collect()
            })
        }
        "substr" => {
            let text: Vec<char> = s(2).chars().collect();
            let start = (n(0).max(0.0) as usize).min(text.len());
            let end = if n(1) < 0.0 {
                text.len()
            } else {
                (n(1) as usize).min(text.len())
            };
            Val::Str(text[start..end.max(start)].iter().collect())
        }
        "contains" => Val::Bool(s(1).contains(&s(0))),
        "hasPrefix" => Val::Bool(s(1).starts_with(&s(0))),
        "hasSuffix" => Val::Bool(s(1).ends_with(&s(0))),
        "repeat" => {
            let text = s(1);
            let times = within(ctx, name, n(0).max(0.0) * text.len() as f64)?;
            Val::Str(text.repeat(if text.is_empty() {
                0
            } else {
                times / text.len()
            }))
        }
        "regexReplaceAll" | "regexReplaceAllLiteral" => {
            need(3)?;
            let re = regex::Regex::new(&s(0)).map_err(|e| e.to_string())?;
            let out = if name == "regexReplaceAll" {
                re.replace_all(&s(1), s(2).as_str()).into_owned()
            } else {
                re.replace_all(&s(1), regex::NoExpand(&s(2))).into_owned()
            };
            Val::Str(out)
        }
        "count" => {
            let re = regex::Regex::new(&s(0)).map_err(|e| e.to_string())?;
            Val::Num(re.find_iter(&s(1)).count() as f64)
        }
        "printf" => Val::Str(printf(&s(0), &a[1.min(a.len())..], budget(ctx))?),
        "default" => {
            if a.len() >= 2 && a[1].truthy() {
                a[1].clone()
            } else {
                a.first().cloned().unwrap_or(Val::Str(String::new()))
            }
        }
        "add" => Val::Num((n(0) as i64 + n(1) as i64) as f64),
        "sub" => Val::Num((n(0) as i64 - n(1) as i64) as f64),
        "mul" => Val::Num((n(0) as i64 * n(1) as i64) as f64),
        "div" => {
            let d = n(1) as i64;
            if d == 0 {
                return Err("division by zero".into());
            }
            Val::Num((n(0) as i64 / d) as f64)
        }
        "mod" => {
            let d = n(1) as i64;
            if d == 0 {
                return Err("division by zero".into());
            }
            Val::Num((n(0) as i64 % d) as f64)
        }
        "addf" => Val::Num(n(0) + n(1)),
        "subf" => Val::Num(n(0) - n(1)),
        "mulf" => Val::Num(n(0) * n(1)),
        "divf" => Val::Num(n(0) / n(1)),
        "max" | "maxf" => Val::Num(a.iter().map(Val::num).fold(f64::MIN, f64::max)),
        "min" | "minf" => Val::Num(a.iter().map(Val::num).fold(f64::MAX, f64::min)),
        "float64" => Val::Num(n(0)),
        "int" => Val::Num(n(0).trunc()),
        "round" => {
            let p = 10f64.powi(n(1) as i32);
            Val::Num((n(0) * p).round() / p)
        }
        "ceil" => Val::Num(n(0).ceil()),
        "floor" => Val::Num(n(0).floor()),
        "date" => Val::Str(go_time_format(
            &s(0),
            a.get(1).map(Val::time).unwrap_or(ctx.ts),
        )),
        "toDate" => Val::Time(
            parse_go_time(&s(0), &s(1))
                .ok_or_else(|| format!("cannot parse {:?} as {:?}", s(1), s(0)))?,
        ),
        "unixEpoch" => Val::Num((last_time(a, ctx) / 1_000_000_000) as f64),
        "unixEpochMillis" => Val::Num((last_time(a, ctx) / 1_000_000) as f64),
        "unixEpochNanos" => Val::Num(last_time(a, ctx) as f64),
        "unixToTime" => {
            let v = s(0);
            let digits = v.trim().len();
            let raw: i64 = v
                .trim()
                .parse()
                .map_err(|_| format!("unixToTime: {v:?} is not a number"))?;
            Val::Time(match digits {
                0..=10 => raw * 1_000_000_000,
                11..=13 => raw * 1_000_000,
                14..=16 => raw * 1_000,
                _ => raw,
            })
        }
        "now" => Val::Time(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0),
        ),
        "__line__" => Val::Str(ctx.line.to_string()),
        "__timestamp__" => Val::Time(ctx.ts),
        "urlencode" => Val::Str(urlencode(&last())),
        "urldecode" => Val::Str(urldecode(&last())),
        "b64enc" => {
            use base64::Engine as _;
            Val::Str(base64::engine::general_purpose::STANDARD.encode(last()))
        }
        "b64dec" => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(last())
                .map_err(|e| e.to_string())?;
            Val::Str(String::from_utf8_lossy(&bytes).into_owned())
        }
        "alignLeft" => Val::Str(align(&s(1), within(ctx, name, n(0))?, true)),
        "alignRight" => Val::Str(align(&s(1), within(ctx, name, n(0))?, false)),
        "indent" | "nindent" => {
            let text = s(1);
            let width = n(0).max(0.0);
            within(ctx, name, width * text.lines().count().max(1) as f64)?;
            let pad = " ".repeat(width as usize);
            let body = text
                .lines()
                .map(|l| format!("{pad}{l}"))
                .collect::<Vec<_>>()
                .join("\n");
            Val::Str(if name == "nindent" {
                format!("\n{body}")
            } else {
                body
            })
        }
        "eq" => Val::Bool(a.len() >= 2 && a[1..].iter().any(|v| same(&a[0], v))),
        "ne" => Val::Bool(a.len() >= 2 && !same(&a[0], &a[1])),
        "lt" | "le" | "gt" | "ge" => {
            need(2)?;
            let ord = compare(&a[0], &a[1]);
            Val::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        "and" => a
            .iter()
            .find(|v| !v.truthy())
            .or(a.last())
            .cloned()
            .unwrap_or(Val::Bool(false)),
        "or" => a
            .iter()
            .find(|v| v.truthy())
            .or(a.last())
            .cloned()
            .unwrap_or(Val::Bool(false)),
        "not" => Val::Bool(!a.first().is_some_and(Val::truthy)),
        "len" => Val::Num(s(0).chars().count() as f64),
        other => return Err(format!("function {other:?} not defined")),
    })
}

fn last_time(a: &[Val], ctx: &Context<'_>) -> i64 {
    a.last().map(Val::time).unwrap_or(ctx.ts)
}

fn same(x: &Val, y: &Val) -> bool {
    match (x, y) {
        (Val::Str(a), Val::Str(b)) => a == b,
        _ => x.num() == y.num(),
    }
}

fn compare(x: &Val, y: &Val) -> std::cmp::Ordering {
    match (x, y) {
        (Val::Str(a), Val::Str(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.total_cmp(&q),
            _ => a.cmp(b),
        },
        _ => x.num().total_cmp(&y.num()),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

fn align(s: &str, width: usize, left: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= width {
        return chars[..width].iter().collect();
    }
    let pad = " ".repeat(width - chars.len());
    if left {
        format!("{s}{pad}")
    } else {
        format!("{pad}{s}")
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && s.is_char_boundary(i + 1)
                && s.is_char_boundary(i + 3) =>
            {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's fmt verbs used in templates: %s %v %d %f %.Nf %x %q, widths, `-`.
/// Go's `fmt.Sprintf` for the verbs templates use; widths and precisions
/// past `limit` bytes are refused rather than allocated.
fn printf(format: &str, args: &[Val], limit: usize) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == ' ' || c == '0' {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let verb = chars.next().unwrap_or('v');
        let arg = next.next().cloned().unwrap_or(Val::Str(String::new()));
        let left = spec.starts_with('-');
        let spec = spec.trim_start_matches(['-', '+', ' ']);
        let (width, prec) = match spec.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse::<usize>().ok()),
            None => (spec.parse().unwrap_or(0), None),
        };
        if width > limit || prec.is_some_and(|p| p > limit) {
            return Err(format!(
                "printf width or precision past {limit} bytes, the most one rendering may produce"
            ));
        }
        let zero = spec.starts_with('0') && !left;
        let body = match verb {
            'd' => format!("{}", arg.num() as i64),
            'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), arg.num()),
            'e' => format!("{:.*e}", prec.unwrap_or(6), arg.num()),
            'x' => match &arg {
                Val::Num(n) => format!("{:x}", *n as i64),
                other => other.text().bytes().map(|b| format!("{b:02x}")).collect(),
            },
            'q' => format!("{:?}", arg.text()),
            _ => {
                let t = arg.text();
                match prec {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
        };
        let len = body.chars().count();
        if len < width {
            let fill = if zero { "0" } else { " " }.repeat(width - len);
            if left {
                out.push_str(&body);
                out.push_str(&fill);
            } else {
                out.push_str(&fill);
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
        if out.len() > limit {
            return Err(format!(
                "printf would produce more than {limit} bytes, the most one rendering may produce"
            ));
        }
    }
    Ok(out)
}

/// Go reference-time layouts translated to chrono's, longest tokens first.
const GO_LAYOUT: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("2006", "%Y"),
    ("Z07:00", "%:z"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    (".000000000", "%.9f"),
    (".000000", "%.6f"),
    (".000", "%.3f"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "UTC"),
    ("01", "%m"),
    ("02", "%d"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("06", "%y"),
    ("PM", "%p"),
    ("_2", "%e"),
];

fn go_layout_to_chrono(layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, ch) in GO_LAYOUT {
            if let Some(after) = rest.strip_prefix(go) {
                out.push_str(ch);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn go_time_format(layout: &str, ns: i64) -> String {
    let fmt = go_layout_to_chrono(layout);
    let t = chrono::DateTime::from_timestamp_nanos(ns);
    let mut out = String::new();
    if write!(out, "{}", t.format(&fmt)).is_err() {
        return layout.to_string();
    }
    out
}

fn parse_go_time(layout: &str, value: &str) -> Option<i64> {
    let fmt = go_layout_to_chrono(layout);
    chrono::DateTime::parse_from_str(value, &fmt)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(value, &fmt)
                .ok()
                .and_then(|t| t.and_utc().timestamp_nanos_opt())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(value, &fmt)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|t| t.and_utc().timestamp_nanos_opt())
        })
}

#[cfg(test)]
mod tests {
    use basin_model::Labels;

    use super::*;

    fn render(tpl: &str) -> String {
        let stream = Labels::parse(
            r#"{app="api", status="500", msg="hello world", latency="1234", empty=""}"#,
        )
        .unwrap();
        let labels = LabelSet::new(&stream, &[]);
        let ctx = Context {
            labels: &labels,
            line: "the line",
            ts: 1_700_000_000_123_000_000,
        };
        Template::new(tpl)
            .unwrap_or_else(|e| panic!("{tpl}: {e}"))
            .render(&ctx)
            .unwrap_or_else(|e| panic!("{tpl}: {e}"))
    }

    #[test]
    fn templates() {
        let check = |tpl: &str, want: &str| assert_eq!(render(tpl), want, "{tpl}");
        check("plain", "plain");
        check("{{.app}} {{.status}}", "api 500");
        check("{{ .msg | ToUpper }}", "HELLO WORLD");
        check("{{ ToLower \"ABC\" }}", "abc");
        check("{{ .missing }}|", "|");
        check(
            r#"{{ printf "%-5s|%5s|%05d|%.2f" .app .status 42 3.14159 }}"#,
            "api  |  500|00042|3.14",
        );
        check(r#"{{ .empty | default "none" }}"#, "none");
        check(r#"{{ .app | default "none" }}"#, "api");
        check("{{ div .latency 1000 }}", "1");
        check("{{ mul .status 2 }}", "1000");
        check("{{ add 1 2 }} {{ sub 5 3 }} {{ divf 1 4 }}", "3 2 0.25");
        check(r#"{{ .msg | replace "world" "there" }}"#, "hello there");
        check(r#"{{ Replace .msg "l" "L" -1 }}"#, "heLLo worLd");
        check(r#"{{ trim "  x  " }}"#, "x");
        check(
            r#"{{ if eq .status "500" }}bad{{ else }}ok{{ end }}"#,
            "bad",
        );
        check(r#"{{ if .missing }}yes{{ end }}no"#, "no");
        check("a  {{- .app -}}  b", "aapib");
        check("{{ __line__ }}", "the line");
        check("{{ __timestamp__ | unixEpoch }}", "1700000000");
        check(
            r#"{{ __timestamp__ | date "2006-01-02T15:04:05.000Z07:00" }}"#,
            "2023-11-14T22:13:20.123+00:00",
        );
        check(
            r#"{{ regexReplaceAll "(\\d+)" .latency "<$1>" }}"#,
            "<1234>",
        );
        check("{{ .msg | trunc 5 }}", "hello");
        check("{{ .msg | title }}", "Hello World");
        check(r#"{{ alignRight 6 .app }}"#, "   api");
    }

    #[test]
    fn outsized_renderings_fail_instead_of_allocating() {
        let stream = Labels::parse(r#"{app="api"}"#).unwrap();
        let labels = LabelSet::new(&stream, &[]);
        let ctx = Context {
            labels: &labels,
            line: "the line",
            ts: 0,
        };
        for tpl in [
            r#"{{ repeat 1000000000000 "x" }}"#,
            r#"{{ "x" | repeat 100000 | repeat 100000 }}"#,
            r#"{{ printf "%999999999999s" .app }}"#,
            r#"{{ printf "%.999999999f" 1.5 }}"#,
            r#"{{ alignLeft 999999999999 .app }}"#,
            r#"{{ alignRight 999999999999 .app }}"#,
            r#"{{ indent 999999999999 .app }}"#,
            r#"{{ nindent 999999999999 .app }}"#,
            r#"{{ regexReplaceAll "" (repeat 200000 "x") "yyyyyyyyyy" }}"#,
        ] {
            let err = Template::new(tpl).unwrap().render(&ctx).expect_err(tpl);
            assert!(err.contains("bytes"), "{tpl}: {err}");
        }
        // Up to the budget, renderings are whole.
        let at_limit = format!(r#"{{{{ repeat {MAX_RENDERED_EXTRA_BYTES} "x" }}}}"#);
        let rendered = Template::new(&at_limit).unwrap().render(&ctx).unwrap();
        assert_eq!(rendered.len(), MAX_RENDERED_EXTRA_BYTES);
        assert_eq!(render("{{ indent 2 .app }}"), "  api");
        assert_eq!(render(r#"{{ repeat 3 "ab" }}"#), "ababab");
    }

    #[test]
    fn bad_templates() {
        for tpl in ["{{ .x ", "{{ nosuch .x }}", "{{ if .x }}a", "{{ end }}"] {
            assert!(Template::new(tpl).is_err(), "{tpl}");
        }
    }
}
