//! Recording rules' latest samples in Prometheus' text format, for
//! `/metrics`, each with a `tenant` label so tenants' series never merge.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::gofmt::format_g;
use crate::ruler::Ruler;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends every recording rule's last samples to `out`.
pub fn recorded(ruler: &Ruler, out: &mut String) {
    // Group by metric name: one TYPE line per name.
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (tenant, samples) in ruler.recorded() {
        for s in samples {
            let Some(name) = s.labels.get("__name__") else {
                continue;
            };
            let mut labels = vec![format!("tenant=\"{}\"", escape(tenant.as_str()))];
            for (k, v) in &s.labels {
                if k != "__name__" && k != "tenant" {
                    labels.push(format!("{k}=\"{}\"", escape(v)));
                }
            }
            by_name.entry(name.clone()).or_default().push(format!(
                "{name}{{{}}} {}",
                labels.join(","),
                format_g(s.value, None)
            ));
        }
    }
    for (name, rows) in by_name {
        let _ = writeln!(out, "# TYPE {name} gauge");
        for row in rows {
            let _ = writeln!(out, "{row}");
        }
    }
}
