//! Binary operators: arithmetic, comparisons (filtering or `bool`), and set
//! operators, between scalars and vectors, with Prometheus' vector matching
//! (`on`, `ignoring`, `group_left`, `group_right`).

use std::collections::{HashMap, HashSet};

use basin_logql::{BinOp, Cardinality, VectorMatching};

use crate::label_set::{LabelSet, Origin};
use crate::metric::{merge_same_labels, Series, Value};
use crate::QueryError;

fn arith(op: BinOp, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Mod => a % b,
        BinOp::Pow => a.powf(b),
        _ => return None,
    })
}

/// The value of `a op b` for a vector element; `keep` is the value a
/// filtering comparison keeps when it holds.
fn apply(op: BinOp, a: f64, b: f64, return_bool: bool, keep: f64) -> Option<f64> {
    match op {
        BinOp::Cmp(c) => {
            let holds = c.holds(a, b);
            if return_bool {
                Some(if holds { 1.0 } else { 0.0 })
            } else {
                holds.then_some(keep)
            }
        }
        _ => arith(op, a, b),
    }
}

pub(crate) fn eval_binary(
    op: BinOp,
    lhs: Value,
    rhs: Value,
    return_bool: bool,
    matching: Option<&VectorMatching>,
) -> Result<Value, QueryError> {
    let set_op = matches!(op, BinOp::And | BinOp::Or | BinOp::Unless);
    match (lhs, rhs) {
        (Value::Scalar(a), Value::Scalar(b)) => {
            if set_op {
                return Err(QueryError::Plan(format!(
                    "set operator {op} not allowed between scalars"
                )));
            }
            if matches!(op, BinOp::Cmp(_)) && !return_bool {
                return Err(QueryError::Plan(
                    "comparisons between scalars must use the bool modifier".into(),
                ));
            }
            Ok(Value::Scalar(
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| apply(op, *x, *y, true, *x).unwrap_or(f64::NAN))
                    .collect(),
            ))
        }
        (Value::Vector(v), Value::Scalar(s)) | (Value::Scalar(s), Value::Vector(v)) if set_op => {
            let _ = (v, s);
            Err(QueryError::Plan(format!(
                "set operator {op} needs vectors on both sides"
            )))
        }
        (Value::Vector(mut v), Value::Scalar(s)) => {
            for series in &mut v {
                for (p, b) in series.points.iter_mut().zip(&s) {
                    *p = p.and_then(|a| apply(op, a, *b, return_bool, a));
                }
            }
            Ok(Value::Vector(non_empty(v)))
        }
        (Value::Scalar(s), Value::Vector(mut v)) => {
            for series in &mut v {
                for (p, a) in series.points.iter_mut().zip(&s) {
                    *p = p.and_then(|b| apply(op, *a, b, return_bool, b));
                }
            }
            Ok(Value::Vector(non_empty(v)))
        }
        (Value::Vector(l), Value::Vector(r)) => match op {
            BinOp::And | BinOp::Or | BinOp::Unless => {
                Ok(Value::Vector(set_operation(op, l, r, matching)))
            }
            _ => vector_vector(op, l, r, return_bool, matching).map(Value::Vector),
        },
    }
}

fn non_empty(v: Vec<Series>) -> Vec<Series> {
    v.into_iter()
        .filter(|s| s.points.iter().any(Option::is_some))
        .collect()
}

/// The labels two series are matched on.
fn signature(labels: &LabelSet, matching: Option<&VectorMatching>) -> LabelSet {
    let mut sig = labels.flattened();
    if let Some(m) = matching {
        if m.on {
            sig.retain(|k, _| m.labels.iter().any(|l| l == k));
        } else {
            sig.retain(|k, _| !m.labels.iter().any(|l| l == k));
        }
    }
    sig
}

fn set_operation(
    op: BinOp,
    l: Vec<Series>,
    r: Vec<Series>,
    matching: Option<&VectorMatching>,
) -> Vec<Series> {
    let steps = l.first().or(r.first()).map_or(0, |s| s.points.len());
    // Per step, the signatures present on the right.
    let mut right: Vec<HashSet<LabelSet>> = vec![HashSet::new(); steps];
    for s in &r {
        let sig = signature(&s.labels, matching);
        for (t, p) in s.points.iter().enumerate() {
            if p.is_some() {
                right[t].insert(sig.clone());
            }
        }
    }
    match op {
        BinOp::And | BinOp::Unless => {
            let want = op == BinOp::And;
            non_empty(
                l.into_iter()
                    .map(|mut s| {
                        let sig = signature(&s.labels, matching);
                        for (t, p) in s.points.iter_mut().enumerate() {
                            if right[t].contains(&sig) != want {
                                *p = None;
                            }
                        }
                        s
                    })
                    .collect(),
            )
        }
        _ => {
            let mut left: Vec<HashSet<LabelSet>> = vec![HashSet::new(); steps];
            for s in &l {
                let sig = signature(&s.labels, matching);
                for (t, p) in s.points.iter().enumerate() {
                    if p.is_some() {
                        left[t].insert(sig.clone());
                    }
                }
            }
            let mut out = l;
            for mut s in r {
                let sig = signature(&s.labels, matching);
                for (t, p) in s.points.iter_mut().enumerate() {
                    if left[t].contains(&sig) {
                        *p = None;
                    }
                }
                out.push(s);
            }
            non_empty(out)
        }
    }
}

fn vector_vector(
    op: BinOp,
    l: Vec<Series>,
    r: Vec<Series>,
    return_bool: bool,
    matching: Option<&VectorMatching>,
) -> Result<Vec<Series>, QueryError> {
    let card = matching.map_or(Cardinality::OneToOne, |m| m.card.clone());
    // The "one" side must be unique per signature.
    let (many, one, swapped) = match &card {
        Cardinality::OneToMany(_) => (r, l, true),
        _ => (l, r, false),
    };
    let mut one_by_sig: HashMap<LabelSet, usize> = HashMap::new();
    for (i, s) in one.iter().enumerate() {
        if one_by_sig
            .insert(signature(&s.labels, matching), i)
            .is_some()
        {
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {} side of the operation; many-to-many matching is not allowed",
                signature(&s.labels, matching),
                if swapped { "left" } else { "right" }
            )));
        }
    }
    let steps = many.first().map_or(0, |s| s.points.len());
    let mut seen_one_to_one: Vec<HashSet<LabelSet>> = vec![HashSet::new(); steps];
    let mut out = Vec::new();
    for m in &many {
        let sig = signature(&m.labels, matching);
        let Some(&o) = one_by_sig.get(&sig) else {
            continue;
        };
        let other = &one[o];
        let mut points = vec![None; steps];
        for t in 0..steps {
            let (Some(mv), Some(ov)) = (m.points[t], other.points[t]) else {
                continue;
            };
            if card == Cardinality::OneToOne && !seen_one_to_one[t].insert(sig.clone()) {
                return Err(QueryError::Execution(format!(
                    "multiple matches for labels {sig}: many-to-one matching must be explicit (group_left/group_right)"
                )));
            }
            let (a, b) = if swapped { (ov, mv) } else { (mv, ov) };
            // A filtering comparison keeps the left side's value.
            points[t] = apply(op, a, b, return_bool, a);
        }
        if points.iter().all(Option::is_none) {
            continue;
        }
        let mut labels = m.labels.flattened();
        match (&card, matching) {
            (Cardinality::OneToOne, Some(mm)) if mm.on => {
                labels.retain(|k, _| mm.labels.iter().any(|l| l == k))
            }
            (Cardinality::OneToOne, Some(mm)) => {
                labels.retain(|k, _| !mm.labels.iter().any(|l| l == k))
            }
            (Cardinality::ManyToOne(include) | Cardinality::OneToMany(include), _) => {
                for name in include {
                    match other.labels.get(name) {
                        Some(v) => labels.set(name, v.to_string(), Origin::Stream),
                        None => {
                            labels.remove(name);
                        }
                    }
                }
            }
            _ => {}
        }
        out.push(Series { labels, points });
    }
    merge_same_labels(out)
}

#[cfg(test)]
mod tests {
    use basin_logql::CmpOp;

    use super::*;

    fn series(labels: &[(&str, &str)], points: &[Option<f64>]) -> Series {
        Series {
            labels: LabelSet::from_pairs(
                labels.iter().map(|(k, v)| (k.to_string(), v.to_string())),
                Origin::Stream,
            ),
            points: points.to_vec(),
        }
    }

    fn vector(v: Value) -> Vec<(String, Vec<Option<f64>>)> {
        let Value::Vector(s) = v else {
            panic!("not a vector")
        };
        s.into_iter()
            .map(|s| (s.labels.to_string(), s.points))
            .collect()
    }

    #[test]
    fn one_to_one_and_filters() {
        let l = vec![
            series(&[("a", "1")], &[Some(10.0), Some(2.0)]),
            series(&[("a", "2")], &[Some(5.0), None]),
        ];
        let r = vec![series(&[("a", "1")], &[Some(2.0), Some(4.0)])];
        let got = vector(
            eval_binary(
                BinOp::Div,
                Value::Vector(l.clone()),
                Value::Vector(r.clone()),
                false,
                None,
            )
            .unwrap(),
        );
        assert_eq!(
            got,
            [(r#"{a="1"}"#.to_string(), vec![Some(5.0), Some(0.5)])]
        );
        let got = vector(
            eval_binary(
                BinOp::Cmp(CmpOp::Gt),
                Value::Vector(l.clone()),
                Value::Scalar(vec![4.0, 4.0]),
                false,
                None,
            )
            .unwrap(),
        );
        assert_eq!(
            got,
            [
                (r#"{a="1"}"#.into(), vec![Some(10.0), None]),
                (r#"{a="2"}"#.into(), vec![Some(5.0), None])
            ]
        );
        let got = vector(
            eval_binary(
                BinOp::Cmp(CmpOp::Gt),
                Value::Vector(l.clone()),
                Value::Scalar(vec![4.0, 4.0]),
                true,
                None,
            )
            .unwrap(),
        );
        assert_eq!(got[0].1, vec![Some(1.0), Some(0.0)]);
        let got = vector(
            eval_binary(
                BinOp::Unless,
                Value::Vector(l.clone()),
                Value::Vector(r.clone()),
                false,
                None,
            )
            .unwrap(),
        );
        assert_eq!(got, [(r#"{a="2"}"#.into(), vec![Some(5.0), None])]);
        let got = vector(
            eval_binary(BinOp::Or, Value::Vector(r), Value::Vector(l), false, None).unwrap(),
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn group_left_copies_labels() {
        let l = vec![
            series(&[("pod", "p1"), ("svc", "api")], &[Some(4.0)]),
            series(&[("pod", "p2"), ("svc", "api")], &[Some(6.0)]),
        ];
        let r = vec![series(&[("svc", "api"), ("team", "core")], &[Some(2.0)])];
        let m = VectorMatching {
            on: true,
            labels: vec!["svc".into()],
            card: Cardinality::ManyToOne(vec!["team".into()]),
        };
        let got = vector(
            eval_binary(
                BinOp::Div,
                Value::Vector(l.clone()),
                Value::Vector(r.clone()),
                false,
                Some(&m),
            )
            .unwrap(),
        );
        assert_eq!(
            got,
            [
                (
                    r#"{pod="p1", svc="api", team="core"}"#.to_string(),
                    vec![Some(2.0)]
                ),
                (
                    r#"{pod="p2", svc="api", team="core"}"#.to_string(),
                    vec![Some(3.0)]
                ),
            ]
        );
        let one_to_one = VectorMatching {
            on: true,
            labels: vec!["svc".into()],
            card: Cardinality::OneToOne,
        };
        assert!(eval_binary(
            BinOp::Div,
            Value::Vector(l),
            Value::Vector(r),
            false,
            Some(&one_to_one)
        )
        .is_err());
    }

    #[test]
    fn scalars() {
        assert_eq!(
            eval_binary(
                BinOp::Add,
                Value::Scalar(vec![1.0]),
                Value::Scalar(vec![2.0]),
                false,
                None
            )
            .unwrap(),
            Value::Scalar(vec![3.0])
        );
        assert!(eval_binary(
            BinOp::Cmp(CmpOp::Gt),
            Value::Scalar(vec![1.0]),
            Value::Scalar(vec![2.0]),
            false,
            None
        )
        .is_err());
    }
}
