//! Prometheus text exposition for plain counters, shared by the stages
//! that count things for `/metrics`.

use std::fmt::Write;

/// Appends one counter without labels per row: `(name, help, value)`.
pub fn counters(out: &mut String, rows: &[(&str, &str, u64)]) {
    for (name, help, value) in rows {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_help_type_and_value() {
        let mut out = String::new();
        super::counters(&mut out, &[("a_total", "As seen.", 3)]);
        assert_eq!(
            out,
            "# HELP a_total As seen.\n# TYPE a_total counter\na_total 3\n"
        );
    }
}
