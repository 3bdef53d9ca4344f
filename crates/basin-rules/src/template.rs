//! The Go `text/template` language as Prometheus alert templates use it:
//! `{{ $labels.job }}`, `{{ $value | humanize }}`, `{{ .Labels.x }}`,
//! pipelines and function calls, `if`/`else if`/`else`, `range` and `with`,
//! `{{-`/`-}}` trimming and comments. Rule files written for Loki or
//! Prometheus render here unchanged, except for the functions that run
//! queries (`query` and the helpers over its result), which are refused
//! when the rule is saved.

use std::collections::BTreeMap;
use std::fmt;

use crate::gofmt;
use crate::template_funcs;

/// A value inside a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A number (Go's float64).
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A map, such as `$labels`.
    Map(BTreeMap<String, Value>),
    /// Nothing.
    Nil,
}

impl Value {
    /// Go's truth: false, 0, nil and empty text or maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Num(n) => *n != 0.0,
            Value::Bool(b) => *b,
            Value::Map(m) => !m.is_empty(),
            Value::Nil => false,
        }
    }

    /// A map of strings.
    pub fn strings(map: &BTreeMap<String, String>) -> Value {
        Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                .collect(),
        )
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Num(n) => f.write_str(&gofmt::format_g(*n, None)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
            Value::Nil => f.write_str("<no value>"),
        }
    }
}

/// What an alert's templates see: `$labels`, `$value`, `$externalLabels`,
/// `$externalURL`, and the same as `.Labels`, `.Value`, ...
#[derive(Debug, Clone, Default)]
pub struct AlertData {
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The sample value that raised it.
    pub value: f64,
    /// Labels the ruler adds to every alert.
    pub external_labels: BTreeMap<String, String>,
    /// Where the ruler's UI lives.
    pub external_url: String,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Print(Pipe),
    If {
        branches: Vec<(Pipe, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Range {
        key: Option<String>,
        value: Option<String>,
        pipe: Pipe,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    With {
        pipe: Pipe,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
struct Pipe {
    /// `$x :=` before the pipeline.
    decl: Option<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
    Func(String),
    Sub(Pipe),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Var(String, Vec<String>),
    Dot(Vec<String>),
    Ident(String),
    Pipe,
    Open,
    Close,
    Declare,
    Comma,
}

/// A template error: where and what.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

type Res<T> = Result<T, TemplateError>;

fn err<T>(msg: impl Into<String>) -> Res<T> {
    Err(TemplateError(msg.into()))
}

enum Item {
    Text(String),
    Action(Vec<Tok>),
}

impl Template {
    /// Parses template text; unknown functions and unclosed actions are
    /// errors, as in Go.
    pub fn parse(text: &str) -> Res<Self> {
        let items = split(text)?;
        let mut pos = 0;
        let (nodes, stop) = parse_nodes(&items, &mut pos)?;
        if let Some(stop) = stop {
            return err(format!("unexpected {{{{{stop}}}}}"));
        }
        Ok(Self { nodes })
    }

    /// Renders the template for an alert.
    pub fn render(&self, data: &AlertData) -> Res<String> {
        let labels = Value::strings(&data.labels);
        let external = Value::strings(&data.external_labels);
        let dot = Value::Map(BTreeMap::from([
            ("Labels".to_string(), labels.clone()),
            ("ExternalLabels".to_string(), external.clone()),
            (
                "ExternalURL".to_string(),
                Value::Str(data.external_url.clone()),
            ),
            ("Value".to_string(), Value::Num(data.value)),
        ]));
        let mut scope = Scope {
            vars: vec![
                ("$".to_string(), dot.clone()),
                ("labels".to_string(), labels),
                ("externalLabels".to_string(), external),
                (
                    "externalURL".to_string(),
                    Value::Str(data.external_url.clone()),
                ),
                ("value".to_string(), Value::Num(data.value)),
            ],
            external_url: data.external_url.clone(),
        };
        let mut out = String::new();
        exec(&self.nodes, &dot, &mut scope, &mut out, 0)?;
        Ok(out)
    }
}

/// Renders `text` for `data`; a template that fails renders as Prometheus
/// renders it then, `<error expanding template: ...>`.
pub fn expand(text: &str, data: &AlertData) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    match Template::parse(text).and_then(|t| t.render(data)) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

/// Splits template text into text and action tokens, applying trim markers.
fn split(text: &str) -> Res<Vec<Item>> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut before = &rest[..open];
        if trim_next {
            before = before.trim_start();
        }
        let after_open = &rest[open + 2..];
        let trim_left = after_open.starts_with("- ")
            || after_open.starts_with("-\t")
            || after_open.starts_with("-\n");
        if trim_left {
            before = before.trim_end();
        }
        if !before.is_empty() {
            items.push(Item::Text(before.to_string()));
        }
        let body_start = if trim_left { 1 } else { 0 };
        let close = find_close(after_open)
            .ok_or_else(|| TemplateError("unclosed action: missing }}".into()))?;
        let mut body = &after_open[body_start..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        let trimmed = body.trim();
        if !(trimmed.starts_with("/*") && trimmed.ends_with("*/")) {
            items.push(Item::Action(lex(body)?));
        }
        rest = &after_open[close + 2..];
    }
    let tail = if trim_next { rest.trim_start() } else { rest };
    if !tail.is_empty() {
        items.push(Item::Text(tail.to_string()));
    }
    Ok(items)
}

/// Where `}}` closes an action, skipping quoted text.
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'"' || b == b'`' {
                    quote = Some(b);
                } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(body: &str) -> Res<Vec<Tok>> {
    let bytes = body.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let fields = |i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        while *i < bytes.len() && bytes[*i] == b'.' {
            let start = *i + 1;
            let mut j = start;
            while j < bytes.len() && is_ident_byte(bytes[j]) {
                j += 1;
            }
            if j == start {
                break;
            }
            out.push(body[start..j].to_string());
            *i = j;
        }
        out
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b':' if bytes.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                toks.push(Tok::Declare);
                i += 1;
            }
            b'"' => {
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                let mut chars = body[i..].char_indices();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '"' => {
                            i += at + 1;
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, 'r')) => s.push('\r'),
                            Some((_, c)) => s.push(c),
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                if !closed {
                    return err("unterminated quoted string");
                }
                toks.push(Tok::Str(s));
            }
            b'`' => {
                let end = body[i + 1..]
                    .find('`')
                    .ok_or_else(|| TemplateError("unterminated raw quoted string".into()))?;
                toks.push(Tok::Str(body[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && is_ident_byte(bytes[j]) {
                    j += 1;
                }
                let name = if j == start {
                    "$".to_string()
                } else {
                    body[start..j].to_string()
                };
                i = j;
                let path = fields(&mut i);
                toks.push(Tok::Var(name, path));
            }
            b'.' => {
                let path = fields(&mut i);
                if path.is_empty() {
                    i += 1;
                }
                toks.push(Tok::Dot(path));
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'-' || bytes[i] == b'+')
                            && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                let text = &body[start..i];
                let n = text
                    .parse::<f64>()
                    .map_err(|_| TemplateError(format!("bad number syntax: {text:?}")))?;
                toks.push(Tok::Num(n));
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                toks.push(Tok::Ident(body[start..i].to_string()));
            }
            _ => {
                let c = body[i..].chars().next().unwrap_or('?');
                return err(format!("unexpected {c:?} in action"));
            }
        }
    }
    Ok(toks)
}

/// Parses nodes until `end` or `else` (returned as the stop keyword, with
/// the rest of its action when `else if`).
fn parse_nodes(items: &[Item], pos: &mut usize) -> Res<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while *pos < items.len() {
        let item = &items[*pos];
        *pos += 1;
        match item {
            Item::Text(t) => nodes.push(Node::Text(t.clone())),
            Item::Action(toks) => match toks.first() {
                Some(Tok::Ident(k)) if k == "end" => return Ok((nodes, Some("end".into()))),
                Some(Tok::Ident(k)) if k == "else" => {
                    return Ok((nodes, Some("else".into())));
                }
                Some(Tok::Ident(k)) if k == "if" => nodes.push(parse_if(items, pos, &toks[1..])?),
                Some(Tok::Ident(k)) if k == "with" => {
                    let pipe = parse_pipe(&toks[1..])?;
                    let (body, otherwise) = parse_body(items, pos, "with")?;
                    nodes.push(Node::With {
                        pipe,
                        body,
                        otherwise,
                    });
                }
                Some(Tok::Ident(k)) if k == "range" => {
                    nodes.push(parse_range(items, pos, &toks[1..])?)
                }
                Some(Tok::Ident(k))
                    if matches!(
                        k.as_str(),
                        "define" | "template" | "block" | "break" | "continue"
                    ) =>
                {
                    return err(format!("{{{{{k}}}}} is not supported in alert templates"));
                }
                None => return err("missing value for command"),
                _ => nodes.push(Node::Print(parse_pipe(toks)?)),
            },
        }
    }
    Ok((nodes, None))
}

/// A block's body and its `else` part, up to `end`.
fn parse_body(items: &[Item], pos: &mut usize, what: &str) -> Res<(Vec<Node>, Vec<Node>)> {
    let (body, stop) = parse_nodes(items, pos)?;
    match stop.as_deref() {
        Some("end") => Ok((body, Vec::new())),
        Some("else") => {
            let (otherwise, stop) = parse_nodes(items, pos)?;
            if stop.as_deref() != Some("end") {
                return err(format!(
                    "unexpected EOF: {{{{{what}}}}} without {{{{end}}}}"
                ));
            }
            Ok((body, otherwise))
        }
        _ => err(format!(
            "unexpected EOF: {{{{{what}}}}} without {{{{end}}}}"
        )),
    }
}

fn parse_if(items: &[Item], pos: &mut usize, cond: &[Tok]) -> Res<Node> {
    let mut branches = vec![(parse_pipe(cond)?, Vec::new())];
    loop {
        let (body, stop) = parse_nodes(items, pos)?;
        if let Some(last) = branches.last_mut() {
            last.1 = body;
        }
        match stop.as_deref() {
            Some("end") => {
                return Ok(Node::If {
                    branches,
                    otherwise: Vec::new(),
                })
            }
            Some("else") => {
                // `{{else if x}}` continues the chain; plain `{{else}}` ends it.
                let Item::Action(toks) = &items[*pos - 1] else {
                    return err("malformed else");
                };
                if matches!(toks.get(1), Some(Tok::Ident(k)) if k == "if") {
                    branches.push((parse_pipe(&toks[2..])?, Vec::new()));
                    continue;
                }
                let (otherwise, stop) = parse_nodes(items, pos)?;
                if stop.as_deref() != Some("end") {
                    return err("unexpected EOF: {{if}} without {{end}}");
                }
                return Ok(Node::If {
                    branches,
                    otherwise,
                });
            }
            _ => return err("unexpected EOF: {{if}} without {{end}}"),
        }
    }
}

fn parse_range(items: &[Item], pos: &mut usize, toks: &[Tok]) -> Res<Node> {
    let (key, value, rest) = match toks {
        [Tok::Var(k, p), Tok::Comma, Tok::Var(v, q), Tok::Declare, rest @ ..]
            if p.is_empty() && q.is_empty() =>
        {
            (Some(k.clone()), Some(v.clone()), rest)
        }
        [Tok::Var(v, p), Tok::Declare, rest @ ..] if p.is_empty() => (None, Some(v.clone()), rest),
        rest => (None, None, rest),
    };
    let pipe = parse_pipe(rest)?;
    let (body, otherwise) = parse_body(items, pos, "range")?;
    Ok(Node::Range {
        key,
        value,
        pipe,
        body,
        otherwise,
    })
}

fn parse_pipe(toks: &[Tok]) -> Res<Pipe> {
    let (decl, toks) = match toks {
        [Tok::Var(v, p), Tok::Declare, rest @ ..] if p.is_empty() => (Some(v.clone()), rest),
        _ => (None, toks),
    };
    let mut cmds = Vec::new();
    let mut i = 0;
    let mut cmd = Vec::new();
    while i < toks.len() {
        match &toks[i] {
            Tok::Pipe => {
                if cmd.is_empty() {
                    return err("missing command before |");
                }
                cmds.push(std::mem::take(&mut cmd));
                i += 1;
            }
            Tok::Open => {
                let mut depth = 1;
                let start = i + 1;
                let mut j = start;
                while j < toks.len() && depth > 0 {
                    match toks[j] {
                        Tok::Open => depth += 1,
                        Tok::Close => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth != 0 {
                    return err("unclosed left paren");
                }
                cmd.push(Arg::Sub(parse_pipe(&toks[start..j - 1])?));
                i = j;
            }
            Tok::Close => return err("unexpected right paren"),
            Tok::Comma | Tok::Declare => return err("unexpected , or := in command"),
            Tok::Str(s) => {
                cmd.push(Arg::Str(s.clone()));
                i += 1;
            }
            Tok::Num(n) => {
                cmd.push(Arg::Num(*n));
                i += 1;
            }
            Tok::Var(v, p) => {
                cmd.push(Arg::Var(v.clone(), p.clone()));
                i += 1;
            }
            Tok::Dot(p) => {
                cmd.push(Arg::Dot(p.clone()));
                i += 1;
            }
            Tok::Ident(name) => {
                cmd.push(match name.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    _ => {
                        template_funcs::check(name).map_err(TemplateError)?;
                        Arg::Func(name.clone())
                    }
                });
                i += 1;
            }
        }
    }
    if cmd.is_empty() {
        return err("missing value for command");
    }
    cmds.push(cmd);
    Ok(Pipe { decl, cmds })
}

struct Scope {
    vars: Vec<(String, Value)>,
    external_url: String,
}

impl Scope {
    fn get(&self, name: &str) -> Res<Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| TemplateError(format!("undefined variable: ${name}")))
    }
}

/// Deepest nesting of `range` and `with` a template may reach.
const MAX_DEPTH: usize = 32;

fn exec(nodes: &[Node], dot: &Value, scope: &mut Scope, out: &mut String, depth: usize) -> Res<()> {
    if depth > MAX_DEPTH {
        return err("template nests too deep");
    }
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Print(pipe) => {
                let v = eval_pipe(pipe, dot, scope)?;
                if pipe.decl.is_none() {
                    out.push_str(&v.to_string());
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                let mut done = false;
                for (cond, body) in branches {
                    if eval_pipe(cond, dot, scope)?.truthy() {
                        exec(body, dot, scope, out, depth + 1)?;
                        done = true;
                        break;
                    }
                }
                if !done {
                    exec(otherwise, dot, scope, out, depth + 1)?;
                }
            }
            Node::With {
                pipe,
                body,
                otherwise,
            } => {
                let v = eval_pipe(pipe, dot, scope)?;
                if v.truthy() {
                    exec(body, &v, scope, out, depth + 1)?;
                } else {
                    exec(otherwise, dot, scope, out, depth + 1)?;
                }
            }
            Node::Range {
                key,
                value,
                pipe,
                body,
                otherwise,
            } => {
                let v = eval_pipe(pipe, dot, scope)?;
                let Value::Map(map) = v else {
                    if v == Value::Nil {
                        exec(otherwise, dot, scope, out, depth + 1)?;
                        continue;
                    }
                    return err(format!("range can't iterate over {v}"));
                };
                if map.is_empty() {
                    exec(otherwise, dot, scope, out, depth + 1)?;
                }
                for (k, v) in map {
                    let mark = scope.vars.len();
                    if let Some(name) = key {
                        scope.vars.push((name.clone(), Value::Str(k.clone())));
                    }
                    if let Some(name) = value {
                        scope.vars.push((name.clone(), v.clone()));
                    }
                    exec(body, &v, scope, out, depth + 1)?;
                    scope.vars.truncate(mark);
                }
            }
        }
    }
    Ok(())
}

fn field(mut v: Value, path: &[String]) -> Res<Value> {
    for name in path {
        v = match v {
            // A missing label reads as empty text, as Go's map[string]string does.
            Value::Map(mut m) => m.remove(name).unwrap_or(Value::Str(String::new())),
            Value::Nil => Value::Nil,
            other => return err(format!("can't evaluate field {name} in {other}")),
        };
    }
    Ok(v)
}

fn eval_pipe(pipe: &Pipe, dot: &Value, scope: &mut Scope) -> Res<Value> {
    let mut last: Option<Value> = None;
    for cmd in &pipe.cmds {
        last = Some(eval_cmd(cmd, dot, scope, last)?);
    }
    let v = last.unwrap_or(Value::Nil);
    if let Some(name) = &pipe.decl {
        scope.vars.push((name.clone(), v.clone()));
    }
    Ok(v)
}

fn eval_arg(arg: &Arg, dot: &Value, scope: &mut Scope) -> Res<Value> {
    match arg {
        Arg::Dot(path) => field(dot.clone(), path),
        Arg::Var(name, path) => field(scope.get(name)?, path),
        Arg::Str(s) => Ok(Value::Str(s.clone())),
        Arg::Num(n) => Ok(Value::Num(*n)),
        Arg::Bool(b) => Ok(Value::Bool(*b)),
        Arg::Nil => Ok(Value::Nil),
        Arg::Func(name) => {
            template_funcs::call(name, Vec::new(), &scope.external_url).map_err(TemplateError)
        }
        Arg::Sub(pipe) => eval_pipe(pipe, dot, scope),
    }
}

fn eval_cmd(cmd: &[Arg], dot: &Value, scope: &mut Scope, piped: Option<Value>) -> Res<Value> {
    match cmd {
        [Arg::Func(name), args @ ..] => {
            let mut values = Vec::with_capacity(args.len() + 1);
            for a in args {
                values.push(eval_arg(a, dot, scope)?);
            }
            values.extend(piped);
            template_funcs::call(name, values, &scope.external_url).map_err(TemplateError)
        }
        [one] if piped.is_none() => eval_arg(one, dot, scope),
        _ => err("can't give arguments to a non-function"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> AlertData {
        AlertData {
            labels: BTreeMap::from([
                ("job".to_string(), "api".to_string()),
                ("instance".to_string(), "web-1:8080".to_string()),
            ]),
            value: 0.1234,
            external_labels: BTreeMap::new(),
            external_url: "http://basin:3100".into(),
        }
    }

    fn render(t: &str) -> String {
        Template::parse(t)
            .and_then(|t| t.render(&data()))
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn what_prometheus_rules_write() {
        assert_eq!(
            render("High error rate on {{ $labels.job }}"),
            "High error rate on api"
        );
        assert_eq!(render("{{ $value }}"), "0.1234");
        assert_eq!(
            render("{{ .Labels.job }} {{ .Value | humanizePercentage }}"),
            "api 12.34%"
        );
        assert_eq!(render("{{ $labels.missing }}|"), "|");
        assert_eq!(render("{{ printf \"%.2f\" $value }}"), "0.12");
        assert_eq!(
            render("{{ $labels.instance | stripPort | toUpper }}"),
            "WEB-1"
        );
        assert_eq!(render("{{ humanize 1234567 }}"), "1.235M");
        assert_eq!(render("{{ 90 | humanizeDuration }}"), "1m 30s");
        assert_eq!(render("{{ index $labels \"job\" }}"), "api");
        assert_eq!(render("{{ $externalURL }}/x"), "http://basin:3100/x");
    }

    #[test]
    fn control_and_trimming() {
        assert_eq!(
            render("{{ if gt $value 0.1 }}high{{ else }}low{{ end }}"),
            "high"
        );
        assert_eq!(
            render(
                "{{ if eq $labels.job \"x\" }}x{{ else if eq $labels.job \"api\" }}api{{ end }}"
            ),
            "api"
        );
        assert_eq!(
            render("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
            "instance=web-1:8080;job=api;"
        );
        assert_eq!(render("a  {{- \"b\" -}}  c"), "abc");
        assert_eq!(render("{{/* note */}}x"), "x");
        assert_eq!(
            render("{{ with $labels.job }}job {{ . }}{{ end }}"),
            "job api"
        );
        assert_eq!(render("{{ $x := 3 }}{{ $x }}"), "3");
    }

    #[test]
    fn errors_at_parse() {
        for bad in [
            "{{ $labels.job ",
            "{{ nosuch 1 }}",
            "{{ if 1 }}x",
            "{{ query \"up\" }}",
            "{{ end }}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert!(expand("{{ $nope }}", &data()).starts_with("<error expanding template"));
    }
}
