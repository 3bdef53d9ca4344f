//! The functions alert templates may call: Go's built-ins and Prometheus'
//! formatting helpers. The ones that run queries are refused by name, with
//! the reason, when a rule is saved.

use chrono::{DateTime, Utc};

use crate::gofmt::{format_e, format_f, format_g};
use crate::template::Value;

/// Functions that need Prometheus' query engine and TSDB.
const QUERY_FUNCS: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "graphLink",
    "tableLink",
];

const FUNCS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizePercentage",
    "humanizeDuration",
    "humanizeTimestamp",
    "toUpper",
    "toLower",
    "title",
    "printf",
    "print",
    "println",
    "index",
    "len",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "match",
    "reReplaceAll",
    "stripPort",
    "stripDomain",
    "safeHtml",
    "externalURL",
    "pathPrefix",
    "parseDuration",
    "toTime",
    "html",
    "urlquery",
    "js",
];

/// Whether `name` is a function Basin renders; the error says why not.
pub fn check(name: &str) -> Result<(), String> {
    if FUNCS.contains(&name) {
        Ok(())
    } else if QUERY_FUNCS.contains(&name) {
        Err(format!(
            "function {name:?} runs a Prometheus query, which a log ruler cannot; Basin puts sample log lines in notifications instead"
        ))
    } else {
        Err(format!("function {name:?} not defined"))
    }
}

fn num(v: &Value) -> Result<f64, String> {
    match v {
        Value::Num(n) => Ok(*n),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("can't convert {s:?} to a number")),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        other => Err(format!("can't convert {other} to a number")),
    }
}

fn text(v: &Value) -> String {
    v.to_string()
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

/// Calls `name` on `args` (a piped value comes last, as in Go).
pub fn call(name: &str, args: Vec<Value>, external_url: &str) -> Result<Value, String> {
    check(name)?;
    let one = |args: &[Value]| -> Result<Value, String> {
        arity(name, args, 1)?;
        Ok(args[0].clone())
    };
    Ok(match name {
        "humanize" => Value::Str(humanize(num(&one(&args)?)?)),
        "humanize1024" => Value::Str(humanize1024(num(&one(&args)?)?)),
        "humanizePercentage" => Value::Str(format!(
            "{}%",
            format_g(num(&one(&args)?)? * 100.0, Some(4))
        )),
        "humanizeDuration" => Value::Str(humanize_duration(num(&one(&args)?)?)),
        "humanizeTimestamp" => Value::Str(humanize_timestamp(num(&one(&args)?)?)),
        "toTime" => Value::Str(humanize_timestamp(num(&one(&args)?)?)),
        "toUpper" => Value::Str(text(&one(&args)?).to_uppercase()),
        "toLower" => Value::Str(text(&one(&args)?).to_lowercase()),
        "title" => Value::Str(title(&text(&one(&args)?))),
        "safeHtml" | "html" | "js" => Value::Str(text(&one(&args)?)),
        "urlquery" => Value::Str(url_encode(&text(&one(&args)?))),
        "stripPort" => Value::Str(strip_port(&text(&one(&args)?))),
        "stripDomain" => {
            let host = text(&one(&args)?);
            let port = host
                .rfind(':')
                .filter(|_| !host.contains(']') || host.ends_with(']'));
            let (h, p) = match port {
                Some(i) if !host[..i].contains(':') => (&host[..i], &host[i..]),
                _ => (host.as_str(), ""),
            };
            if h.parse::<std::net::IpAddr>().is_ok() {
                Value::Str(host.clone())
            } else {
                Value::Str(format!("{}{p}", h.split('.').next().unwrap_or(h)))
            }
        }
        "externalURL" => Value::Str(external_url.to_string()),
        "pathPrefix" => Value::Str(
            external_url
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                .unwrap_or_default(),
        ),
        "parseDuration" => {
            let d = text(&one(&args)?);
            let ns = basin_logql::parse_duration(&d).ok_or(format!("invalid duration {d:?}"))?;
            Value::Num(ns as f64 / 1e9)
        }
        "len" => match one(&args)? {
            Value::Str(s) => Value::Num(s.len() as f64),
            Value::Map(m) => Value::Num(m.len() as f64),
            other => return Err(format!("len of {other}")),
        },
        "index" => {
            let (first, keys) = args.split_first().ok_or("index of nothing")?;
            let mut v = first.clone();
            for k in keys {
                v = match v {
                    Value::Map(mut m) => m.remove(&text(k)).unwrap_or(Value::Str(String::new())),
                    other => return Err(format!("can't index item of type {other}")),
                };
            }
            v
        }
        "not" => Value::Bool(!one(&args)?.truthy()),
        "and" => args
            .iter()
            .find(|a| !a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        "or" => args
            .iter()
            .find(|a| a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        "eq" => {
            let (first, rest) = args
                .split_first()
                .ok_or("missing argument for comparison")?;
            Value::Bool(
                rest.iter()
                    .any(|o| compare(first, o) == Some(std::cmp::Ordering::Equal)),
            )
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let ord = compare(&args[0], &args[1]).ok_or_else(|| {
                format!(
                    "incompatible types for comparison: {} and {}",
                    args[0], args[1]
                )
            })?;
            use std::cmp::Ordering::*;
            Value::Bool(match name {
                "ne" => ord != Equal,
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            })
        }
        "match" => {
            arity(name, &args, 2)?;
            let re = regex::Regex::new(&text(&args[0])).map_err(|e| e.to_string())?;
            Value::Bool(re.is_match(&text(&args[1])))
        }
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let re = regex::Regex::new(&text(&args[0])).map_err(|e| e.to_string())?;
            Value::Str(
                re.replace_all(&text(&args[2]), text(&args[1]).as_str())
                    .into_owned(),
            )
        }
        "print" => Value::Str(args.iter().map(text).collect::<Vec<_>>().join("")),
        "println" => Value::Str(args.iter().map(text).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            let (format, rest) = args.split_first().ok_or("printf needs a format")?;
            Value::Str(printf(&text(format), rest)?)
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// Percent-encodes every byte but unreserved ones (RFC 3986).
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Num(x), Value::Str(s)) | (Value::Str(s), Value::Num(x)) => {
            let y: f64 = s.trim().parse().ok()?;
            if matches!(a, Value::Num(_)) {
                x.partial_cmp(&y)
            } else {
                y.partial_cmp(x)
            }
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => Some(text(a).cmp(&text(b))),
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
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

fn strip_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            return rest[..end].to_string();
        }
    }
    match host.rfind(':') {
        Some(i) if !host[..i].contains(':') => host[..i].to_string(),
        _ => host.to_string(),
    }
}

/// Prometheus' `humanize`: SI prefixes, four significant digits.
fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let total = v.abs() as i64;
        let (days, hours, minutes, seconds) = (
            total / 86_400,
            (total / 3_600) % 24,
            (total / 60) % 60,
            total % 60,
        );
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", format_g(v.abs(), Some(4)))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

fn humanize_timestamp(v: f64) -> String {
    if !v.is_finite() {
        return format_g(v, Some(4));
    }
    let secs = v.floor();
    let nanos = ((v - secs) * 1e9).round() as u32;
    match DateTime::<Utc>::from_timestamp(secs as i64, nanos.min(999_999_999)) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.f +0000 UTC").to_string(),
        None => format_g(v, Some(4)),
    }
}

/// The widest field or longest precision `printf` may ask for: more is a
/// mistake or an attack on the server's memory, never a notification.
const MAX_WIDTH: usize = 64 * 1024;

/// Go's `printf` for the verbs templates use: `%s %v %d %f %g %e %q %x %%`,
/// with width, precision and `-`/`0` flags.
fn printf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            // Too many digits to hold: too wide, refused below.
            prec = Some(if p.is_empty() {
                0
            } else {
                p.parse().unwrap_or(usize::MAX)
            });
        }
        let width: usize = if width.is_empty() {
            0
        } else {
            width.parse().unwrap_or(usize::MAX)
        };
        if width > MAX_WIDTH || prec.is_some_and(|p| p > MAX_WIDTH) {
            return Err(format!(
                "printf width or precision past {MAX_WIDTH}, the widest a template may ask"
            ));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let body = match verb {
            'd' => num(arg)
                .map(|n| format!("{}", n.trunc() as i64))
                .unwrap_or_else(|_| format!("%!d({arg})")),
            'f' | 'F' => num(arg)
                .map(|n| format_f(n, prec.unwrap_or(6)))
                .unwrap_or_else(|_| format!("%!f({arg})")),
            'g' | 'G' => num(arg)
                .map(|n| format_g(n, prec))
                .unwrap_or_else(|_| format!("%!g({arg})")),
            'e' | 'E' => num(arg)
                .map(|n| match prec {
                    None => format_e(n),
                    Some(p) => {
                        let s = format!("{n:.p$e}");
                        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                        let e: i32 = e.parse().unwrap_or(0);
                        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                    }
                })
                .unwrap_or_else(|_| format!("%!e({arg})")),
            'q' => format!("{:?}", text(arg)),
            'x' => match arg {
                Value::Num(n) => format!("{:x}", *n as i64),
                other => text(other).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            _ => {
                let s = text(arg);
                match prec {
                    Some(p) if verb == 's' => s.chars().take(p).collect(),
                    _ => s,
                }
            }
        };
        let pad = width.saturating_sub(body.chars().count());
        if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(verb, 'd' | 'f' | 'g' | 'e') {
            let (sign, digits) = body
                .strip_prefix('-')
                .map_or(("", body.as_str()), |d| ("-", d));
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&body);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizers() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.0012), "1.2m");
        assert_eq!(humanize(12.0), "12");
        assert_eq!(humanize1024(2048.0), "2ki");
        assert_eq!(humanize_duration(3_700.0), "1h 1m 40s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.25), "250ms");
        assert_eq!(humanize_timestamp(0.0), "1970-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn printf_verbs() {
        let args = [Value::Num(1.23456), Value::Str("x".into())];
        assert_eq!(
            printf(
                "%.2f %s %5d|%-3s|%%",
                &[
                    args[0].clone(),
                    args[1].clone(),
                    Value::Num(42.0),
                    Value::Str("a".into())
                ]
            ),
            Ok("1.23 x    42|a  |%".to_string())
        );
        assert_eq!(
            printf("%q", &[Value::Str("a\"b".into())]).as_deref(),
            Ok("\"a\\\"b\"")
        );
        assert_eq!(printf("%d", &[]).as_deref(), Ok("%!d(MISSING)"));
    }

    #[test]
    fn printf_refuses_widths_past_the_bound() {
        let x = [Value::Str("x".into())];
        for format in [
            "%999999999999s",
            "%99999999999999999999999999s",
            "%.999999999f",
        ] {
            let err = printf(format, &x).expect_err(format);
            assert!(err.contains("width or precision"), "{format}: {err}");
        }
        let widest = format!("%{MAX_WIDTH}s");
        assert_eq!(printf(&widest, &x).map(|s| s.len()), Ok(MAX_WIDTH));
    }

    #[test]
    fn query_functions_say_why() {
        let e = check("query").expect_err("refused");
        assert!(e.contains("sample log lines"), "{e}");
    }
}
