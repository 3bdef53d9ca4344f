//! The LogQL parser on any text: it answers an error or a tree, never
//! panics, and a tree it returns prints to text that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = basin_logql::parse_expr(text) {
        let printed = expr.to_string();
        assert!(
            basin_logql::parse_expr(&printed).is_ok(),
            "printed query does not parse again: {text:?} -> {printed:?}"
        );
    }
});
