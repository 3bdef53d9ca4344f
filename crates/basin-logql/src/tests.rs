//! Parser tests: queries that parse (checked by printing them back) and
//! queries that must not (checked by the error's position and text).

use crate::{parse_expr, parse_log_query, Expr, LabelFilter, MetricExpr, Stage};

/// Parses `q` and prints it back.
fn printed(q: &str) -> String {
    parse_expr(q)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .to_string()
}

#[test]
fn log_queries_print_back() {
    let check = |q: &str, want: &str| {
        assert_eq!(printed(q), want, "{q}");
        // What we print parses to the same tree.
        assert_eq!(parse_expr(want).unwrap(), parse_expr(q).unwrap(), "{want}");
    };
    check(r#"{app="api"}"#, r#"{app="api"}"#);
    check(
        r#"{ app = "api", env=~"prod|dev", x!="" }"#,
        r#"{app="api", env=~"prod|dev", x!=""}"#,
    );
    check(
        r#"{app="api"} |= "error" != "timeout" |~ "5.." !~ `ok`"#,
        r#"{app="api"} |= "error" != "timeout" |~ "5.." !~ "ok""#,
    );
    check(
        r#"{app="api"} |= "a" or "b" != "c""#,
        r#"{app="api"} |= "a" or "b" != "c""#,
    );
    check(
        r#"{app="api"} |> "<_> GET <_>" !> "<_> 200""#,
        r#"{app="api"} |> "<_> GET <_>" !> "<_> 200""#,
    );
    check(
        r#"{app="api"} |= ip("10.0.0.0/8")"#,
        r#"{app="api"} |= ip("10.0.0.0/8")"#,
    );
    check(r#"{app="api"} | json"#, r#"{app="api"} | json"#);
    check(
        r#"{app="api"} | json first="servers[0]", ua, x="a.b""#,
        r#"{app="api"} | json first="servers[0]", ua="ua", x="a.b""#,
    );
    check(
        r#"{app="api"} | logfmt --strict --keep-empty"#,
        r#"{app="api"} | logfmt --strict --keep-empty"#,
    );
    check(
        r#"{app="api"} | logfmt msg, lvl="level""#,
        r#"{app="api"} | logfmt msg="msg", lvl="level""#,
    );
    check(
        r#"{app="api"} | regexp "(?P<ip>\\S+)""#,
        r#"{app="api"} | regexp "(?P<ip>\\S+)""#,
    );
    check(
        r#"{app="api"} | pattern `<ip> - <_>`"#,
        r#"{app="api"} | pattern "<ip> - <_>""#,
    );
    check(
        r#"{app="api"} | unpack | decolorize"#,
        r#"{app="api"} | unpack | decolorize"#,
    );
    check(
        r#"{app="api"} | json | status >= 500"#,
        r#"{app="api"} | json | status>=500"#,
    );
    check(
        r#"{app="api"} | status = 200"#,
        r#"{app="api"} | status==200"#,
    );
    check(
        r#"{app="api"} | latency > 250ms or size <= 10KB"#,
        r#"{app="api"} | latency>250ms or size<=10000B"#,
    );
    check(
        r#"{app="api"} | a="x", b!~"y.*" and c=~"z""#,
        r#"{app="api"} | a="x" and b!~"y.*" and c=~"z""#,
    );
    check(
        r#"{app="api"} | a="x" b="y""#,
        r#"{app="api"} | a="x" and b="y""#,
    );
    check(
        r#"{app="api"} | (a="x" or b="y") and c > -1.5"#,
        r#"{app="api"} | (a="x" or b="y") and c>-1.5"#,
    );
    check(
        r#"{app="api"} | addr = ip("192.168.0.1-192.168.0.9")"#,
        r#"{app="api"} | addr=ip("192.168.0.1-192.168.0.9")"#,
    );
    check(
        r#"{app="api"} | line_format "{{.msg | ToUpper}}""#,
        r#"{app="api"} | line_format "{{.msg | ToUpper}}""#,
    );
    check(
        r#"{app="api"} | label_format a=b, c="{{.d}}""#,
        r#"{app="api"} | label_format a=b, c="{{.d}}""#,
    );
    check(
        r#"{app="api"} | drop a, b="x" | keep c, d=~"y""#,
        r#"{app="api"} | drop a, b="x" | keep c, d=~"y""#,
    );
    check(
        r#"{app="api"} | json | __error__ = """#,
        r#"{app="api"} | json | __error__="""#,
    );
    // Label names may be words that are keywords elsewhere.
    check(
        r#"{app="api"} | json | count > 5 | by="x""#,
        r#"{app="api"} | json | count>5 | by="x""#,
    );
}

#[test]
fn metric_queries_print_back() {
    let check = |q: &str, want: &str| {
        assert_eq!(printed(q), want, "{q}");
        assert_eq!(parse_expr(want).unwrap(), parse_expr(q).unwrap(), "{want}");
    };
    check(
        r#"count_over_time({app="api"}[5m])"#,
        r#"count_over_time({app="api"} [5m])"#,
    );
    check(
        r#"rate({app="api"} |= "error" [1m] offset 1h)"#,
        r#"rate({app="api"} |= "error" [1m] offset 1h)"#,
    );
    check(
        r#"count_over_time({app="api"}[5m] | json | status >= 500)"#,
        r#"count_over_time({app="api"} | json | status>=500 [5m])"#,
    );
    check(
        r#"count_over_time(({app="api"} |= "x")[5m])"#,
        r#"count_over_time({app="api"} |= "x" [5m])"#,
    );
    check(
        r#"quantile_over_time(0.99, {app="api"} | json | unwrap latency_ms | __error__="" [5m]) by (route)"#,
        r#"quantile_over_time(0.99, {app="api"} | json | unwrap latency_ms | __error__="" [5m]) by (route)"#,
    );
    check(
        r#"sum_over_time({a="b"} | logfmt | unwrap duration(took) [1h])"#,
        r#"sum_over_time({a="b"} | logfmt | unwrap duration(took) [1h])"#,
    );
    check(
        r#"avg_over_time({a="b"} | unwrap bytes(size) [30s])"#,
        r#"avg_over_time({a="b"} | unwrap bytes(size) [30s])"#,
    );
    check(
        r#"sum by (service) (count_over_time({env="prod"}[5m]))"#,
        r#"sum by (service) (count_over_time({env="prod"} [5m]))"#,
    );
    check(
        r#"sum(count_over_time({env="prod"}[5m])) without (pod)"#,
        r#"sum without (pod) (count_over_time({env="prod"} [5m]))"#,
    );
    check(
        r#"topk(10, sum by (user) (rate({a="b"}[5m])))"#,
        r#"topk(10, sum by (user) (rate({a="b"} [5m])))"#,
    );
    check(
        r#"sort_desc(sum by (a) (rate({a="b"}[5m])))"#,
        r#"sort_desc(sum by (a) (rate({a="b"} [5m])))"#,
    );
    check(r#"vector(1)+vector(1)"#, r#"vector(1) + vector(1)"#);
    check(r#"1 + 2 * 3 ^ 2 ^ 1"#, r#"1 + 2 * 3 ^ 2 ^ 1"#);
    check(
        r#"sum(rate({a="b"}[1m])) / on(x) group_left(y) sum(rate({a="c"}[1m]))"#,
        r#"sum(rate({a="b"} [1m])) / on (x) group_left (y) sum(rate({a="c"} [1m]))"#,
    );
    check(
        r#"count_over_time({a="b"}[1m]) > bool 5"#,
        r#"count_over_time({a="b"} [1m]) > bool 5"#,
    );
    check(
        r#"rate({a="b"}[1m]) and ignoring(z) rate({a="c"}[1m])"#,
        r#"rate({a="b"} [1m]) and ignoring (z) rate({a="c"} [1m])"#,
    );
    check(
        r#"label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")"#,
        r#"label_replace(rate({a="b"} [1m]), "dst", "$1", "src", "(.*)")"#,
    );
    check(r#"-rate({a="b"}[1m])"#, r#"-1 * rate({a="b"} [1m])"#);
    check(r#"(1 + 2) * 3"#, r#"(1 + 2) * 3"#);
    check(r#"-1"#, r#"-1"#);
}

#[test]
fn precedence_and_associativity() {
    // 1 - 2 - 3 is (1 - 2) - 3; 2 ^ 3 ^ 2 is 2 ^ (3 ^ 2); and binds tighter than or.
    let Ok(Expr::Metric(MetricExpr::Binary { lhs, .. })) = parse_expr("1 - 2 - 3") else {
        panic!("not binary");
    };
    assert!(matches!(*lhs, MetricExpr::Binary { .. }));
    let Ok(Expr::Metric(MetricExpr::Binary { rhs, .. })) = parse_expr("2 ^ 3 ^ 2") else {
        panic!("not binary");
    };
    assert!(matches!(*rhs, MetricExpr::Binary { .. }));
    let q = r#"{a="b"} | x="1" or y="2" and z="3""#;
    let log = parse_log_query(q).unwrap();
    assert!(
        matches!(&log.stages[0], Stage::LabelFilter(LabelFilter::Or(_, rhs)) if matches!(**rhs, LabelFilter::And(..)))
    );
}

#[test]
fn errors_name_the_position() {
    let check = |q: &str, want: &str| {
        let err = parse_expr(q)
            .map(|e| e.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{q}: {err}");
    };
    check(
        r#"{app="api"} |= error"#,
        "parse error at line 1, col 16: expected a quoted string",
    );
    check(r#"{app="api""#, "col 11: unexpected end of query");
    check(r#"app="api""#, "col 1: unexpected identifier \"app\"");
    check("{}", "at least one label matcher");
    check(r#"{app=~".*"}"#, "does not match the empty string");
    check(r#"{app="api"} ^ x"#, "col 13: unexpected '^'");
    check(r#"{app="api"} @ x"#, "col 13: unexpected character '@'");
    check("{app=\"a\",\n b=\"x\" |= \"y\"}", "line 2, col 8");
    check(r#"{app="unterminated}"#, "unterminated string");
    check(r#"{app="api"} | jsonn"#, "unknown pipeline stage \"jsonn\"");
    check(
        r#"count_over_time({app="api"})"#,
        "expected a range such as [5m]",
    );
    check(r#"sum_over_time({app="api"}[5m])"#, "needs an unwrap stage");
    check(
        r#"rate({app="api"} | unwrap x [5m])"#,
        "does not take an unwrap stage",
    );
    check(
        r#"{app="api"} | unwrap x | json"#,
        "only label filters may follow unwrap",
    );
    check(
        r#"count_over_time({app="api"}[5m]) by (x)"#,
        "grouping is not allowed on count_over_time",
    );
    check(r#"topk(0, rate({a="b"}[1m]))"#, "whole k");
    check(
        r#"1 + bool 2"#,
        "bool modifier can only be used on comparison operators",
    );
    check(r#"sum({app="api"})"#, "a log query cannot be used here");
    check(r#"foo({app="api"}[5m])"#, "unknown function \"foo\"");
    check(
        r#"{app="api"} | status > "x""#,
        "strings compare with =, !=, =~ or !~",
    );
    check(r#"rate({a="b"}[1m]) +"#, "unexpected end of query");
    check(r#"{a="b"} | logfmt --fast"#, "unknown logfmt flag --fast");
    check(r#"{a="b"} [5m]"#, "unexpected '['");
    check(r#"{a="b",}"#, "col 8: expected a label name");
    check(
        r#"{a="b"} | unwrap x"#,
        "col 11: unwrap is only allowed in range aggregations",
    );
    check("", "empty query");
}

/// Found by the `logql` fuzz target: a literal that overflows to infinity
/// printed as `inf`, which did not parse again.
#[test]
fn overflowing_numbers_are_refused_naming_the_literal() {
    for query in [
        "-6666666E+66666",
        "- 3333e3331",
        "sum(rate({a=\"b\"}[1m])) > 1e999",
    ] {
        let err = parse_expr(query).expect_err(query).to_string();
        assert!(err.contains("out of range"), "{query}: {err}");
    }
    let expr = parse_expr("-1e308").expect("largest literals still parse");
    assert!(parse_expr(&expr.to_string()).is_ok());
}

#[test]
fn deep_queries_are_refused_not_overflowing_the_stack() {
    let n = 20_000;
    let hostile = [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}vector(1){}", "sum(".repeat(n), ")".repeat(n)),
        format!("1{}", "+1".repeat(n)),
        format!("2{}", "^2".repeat(n)),
        format!("{}1", "- ".repeat(n)),
        format!(r#"{{a="b"}} | {}x="1"{}"#, "(".repeat(n), ")".repeat(n)),
        format!(r#"{{a="b"}} | x="1"{}"#, r#" or x="1""#.repeat(n)),
    ];
    for q in &hostile {
        let err = parse_expr(q).expect_err(&q[..40]);
        assert!(err.msg.contains("too complex"), "{}: {err}", &q[..40]);
    }
}

#[test]
fn queries_at_the_complexity_bound_parse_print_and_drop() {
    let n = crate::MAX_SUBEXPRESSIONS - 1;
    let deepest = [
        format!(
            r#"{}count_over_time({{a="b"}}[1m]){}"#,
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!("1{}", "+1".repeat(n)),
        format!("2{}", "^2".repeat(n)),
        format!(r#"{{a="b"}} | {}x="1"{}"#, "(".repeat(n), ")".repeat(n)),
    ];
    for q in &deepest {
        let again = printed(q);
        assert_eq!(parse_expr(&again).unwrap(), parse_expr(q).unwrap());
    }
    let over = format!("1{}", "+1".repeat(n + 1));
    assert!(parse_expr(&over).is_err());
}
