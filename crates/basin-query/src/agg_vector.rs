//! Vector aggregations: `sum`, `avg`, `min`, `max`, `count`, `stddev`,
//! `stdvar` by or without labels, `topk`/`bottomk`, `sort`/`sort_desc`.

use std::collections::HashMap;

use basin_logql::{Grouping, VectorOp};

use crate::agg_range::group_labels;
use crate::label_set::LabelSet;
use crate::metric::{Series, Value};
use crate::QueryError;

pub(crate) fn eval_vector(
    op: VectorOp,
    param: Option<f64>,
    grouping: Option<&Grouping>,
    input: Value,
) -> Result<Value, QueryError> {
    let Value::Vector(series) = input else {
        return Err(QueryError::Plan(format!(
            "{} needs a vector, not a scalar",
            op.name()
        )));
    };
    let steps = series.first().map_or(0, |s| s.points.len());
    let everything = Grouping {
        without: false,
        labels: Vec::new(),
    };
    let g = grouping.unwrap_or(&everything);
    match op {
        VectorOp::Sort | VectorOp::SortDesc => {
            Ok(Value::Vector(sort(series, op == VectorOp::SortDesc)))
        }
        VectorOp::Topk | VectorOp::Bottomk => {
            let k = param.unwrap_or(1.0) as usize;
            Ok(Value::Vector(top_k(
                series,
                g,
                k,
                op == VectorOp::Topk,
                steps,
            )))
        }
        _ => {
            let mut groups: Vec<(LabelSet, Vec<usize>)> = Vec::new();
            let mut index: HashMap<LabelSet, usize> = HashMap::new();
            for (i, s) in series.iter().enumerate() {
                let key = group_labels(&s.labels, g);
                let slot = *index.entry(key.clone()).or_insert_with(|| {
                    groups.push((key, Vec::new()));
                    groups.len() - 1
                });
                groups[slot].1.push(i);
            }
            let mut out = Vec::with_capacity(groups.len());
            for (labels, members) in groups {
                let points: Vec<Option<f64>> = (0..steps)
                    .map(|t| {
                        let vals: Vec<f64> = members
                            .iter()
                            .filter_map(|&m| series[m].points[t])
                            .collect();
                        combine(op, &vals)
                    })
                    .collect();
                if points.iter().any(Option::is_some) {
                    out.push(Series { labels, points });
                }
            }
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(Value::Vector(out))
        }
    }
}

fn combine(op: VectorOp, vals: &[f64]) -> Option<f64> {
    if vals.is_empty() {
        return None;
    }
    let n = vals.len() as f64;
    let sum: f64 = vals.iter().sum();
    let variance = || {
        let mean = sum / n;
        vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
    };
    Some(match op {
        VectorOp::Sum => sum,
        VectorOp::Avg => sum / n,
        VectorOp::Min => vals.iter().copied().fold(f64::INFINITY, f64::min),
        VectorOp::Max => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        VectorOp::Count => n,
        VectorOp::Stdvar => variance(),
        VectorOp::Stddev => variance().sqrt(),
        _ => return None,
    })
}

/// `topk`/`bottomk`: per step and group, the k largest (smallest) series keep
/// their value there; the others have none at that step.
// Steps index the points of many series at once; a range loop says it best.
#[allow(clippy::needless_range_loop)]
fn top_k(series: Vec<Series>, g: &Grouping, k: usize, largest: bool, steps: usize) -> Vec<Series> {
    let keys: Vec<LabelSet> = series.iter().map(|s| group_labels(&s.labels, g)).collect();
    let mut keep = vec![vec![false; steps]; series.len()];
    for t in 0..steps {
        let mut by_group: HashMap<&LabelSet, Vec<(usize, f64)>> = HashMap::new();
        for (i, s) in series.iter().enumerate() {
            if let Some(v) = s.points[t] {
                by_group.entry(&keys[i]).or_default().push((i, v));
            }
        }
        for members in by_group.values_mut() {
            members.sort_by(|a, b| {
                let ord = a.1.total_cmp(&b.1);
                if largest {
                    ord.reverse()
                } else {
                    ord
                }
            });
            for &(i, _) in members.iter().take(k) {
                keep[i][t] = true;
            }
        }
    }
    let mut out: Vec<Series> = series
        .into_iter()
        .zip(keep)
        .filter_map(|(mut s, keep)| {
            for (p, k) in s.points.iter_mut().zip(&keep) {
                if !k {
                    *p = None;
                }
            }
            s.points.iter().any(Option::is_some).then_some(s)
        })
        .collect();
    // For an instant query, order as the ranking does.
    if steps == 1 {
        out = sort(out, largest);
    }
    out
}

/// `sort`/`sort_desc`: orders series by their (last) value.
fn sort(mut series: Vec<Series>, descending: bool) -> Vec<Series> {
    let key = |s: &Series| s.points.iter().rev().find_map(|p| *p).unwrap_or(f64::NAN);
    series.sort_by(|a, b| {
        let ord = key(a).total_cmp(&key(b));
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });
    series
}
