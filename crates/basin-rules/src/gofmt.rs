//! Numbers printed as Go prints them, because the tools reading Basin's
//! alerts (Grafana, Alertmanager templates, people used to Prometheus)
//! expect `1e+06` and `0.05`, not Rust's `1000000` and `5e-2`.

/// Decimal digits and exponent of `v` (not NaN or infinite, not zero):
/// `v = 0.d1d2d3... × 10^point`. `digits` None: the shortest that reads
/// back; Some(n): rounded to n significant digits, trailing zeros trimmed.
fn decimal(v: f64, digits: Option<usize>) -> (String, i32) {
    let text = match digits {
        None => format!("{:e}", v.abs()),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), v.abs()),
    };
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut ds: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while ds.len() > 1 && ds.ends_with('0') {
        ds.pop();
    }
    (ds, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// `%e` form from digits: `d.ddde±XX`.
fn exp_form(neg: bool, ds: &str, point: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&ds[..1]);
    if ds.len() > 1 {
        out.push('.');
        out.push_str(&ds[1..]);
    }
    let e = point - 1;
    out.push('e');
    out.push(if e < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", e.abs()));
    out
}

/// `%f` form from digits, with as many decimals as the digits need.
fn fixed_form(neg: bool, ds: &str, point: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-point) as usize));
        out.push_str(ds);
    } else if point as usize >= ds.len() {
        out.push_str(ds);
        out.push_str(&"0".repeat(point as usize - ds.len()));
    } else {
        out.push_str(&ds[..point as usize]);
        out.push('.');
        out.push_str(&ds[point as usize..]);
    }
    out
}

/// Go's `%g` (`prec` None: `%v`, the shortest form; Some(n): `%.ng`).
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (ds, point) = decimal(v, prec.map(|p| p.max(1)));
    let mut eprec = prec.map_or(6, |p| p.max(1) as i32);
    if prec.is_some() && eprec > ds.len() as i32 && ds.len() as i32 >= point {
        eprec = ds.len() as i32;
    }
    let exp = point - 1;
    if exp < -4 || exp >= eprec {
        exp_form(v < 0.0, &ds, point)
    } else {
        fixed_form(v < 0.0, &ds, point)
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: how the Prometheus API
/// writes an alert's value (`1.2e-01`).
pub fn format_e(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return "0e+00".into();
    }
    let (ds, point) = decimal(v, None);
    exp_form(v < 0.0, &ds, point)
}

/// Go's `%.nf`.
pub fn format_f(v: f64, prec: usize) -> String {
    special(v).unwrap_or_else(|| format!("{v:.prec$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_go() {
        // Go: fmt.Sprint(x) and fmt.Sprintf("%.4g", x).
        let cases_v = [
            (0.05, "0.05"),
            (3.0, "3"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (0.0, "0"),
        ];
        for (v, want) in cases_v {
            assert_eq!(format_g(v, None), want, "{v}");
        }
        let cases_4 = [
            (12.0, "12"),
            (1234.0, "1234"),
            (12345.0, "1.234e+04"),
            (0.123456, "0.1235"),
            (1e6, "1e+06"),
            (99.99, "99.99"),
        ];
        for (v, want) in cases_4 {
            assert_eq!(format_g(v, Some(4)), want, "{v}");
        }
        assert_eq!(format_e(0.12), "1.2e-01");
        assert_eq!(format_e(0.03), "3e-02");
        assert_eq!(format_e(1.0), "1e+00");
        assert_eq!(format_e(250.0), "2.5e+02");
    }
}
