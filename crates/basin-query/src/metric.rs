//! Metric queries: evaluates a [`MetricExpr`] at every step of a range.
//!
//! Every intermediate result is a [`Value`]: a scalar per step, or a set of
//! series each with an optional value per step. Range aggregations read the
//! store once for all steps ([`crate::agg_range`]); everything above them
//! works on those step values.

use basin_logql::{Grouping, MetricExpr, RangeOp, VectorOp};
use basin_model::TenantId;
use basin_storage::{ScanStats, Storage};

use crate::agg_range::eval_range;
use crate::agg_vector::eval_vector;
use crate::binary::eval_binary;
use crate::context::QueryContext;
use crate::label_set::{LabelSet, Origin};
use crate::QueryError;

/// The steps a query is evaluated at: `start`, `start + step`, ... `<= end`.
#[derive(Debug, Clone, Copy)]
pub struct Steps {
    /// First step, nanoseconds.
    pub start: i64,
    /// Last step is at most this.
    pub end: i64,
    /// Step length, nanoseconds (at least 1).
    pub step: i64,
}

impl Steps {
    /// Number of steps.
    pub fn len(&self) -> usize {
        (self.end.saturating_sub(self.start).max(0) / self.step.max(1)) as usize + 1
    }

    /// Whether there are none (never: a range has at least one step).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Time of step `i`.
    pub fn at(&self, i: usize) -> i64 {
        self.start
            .saturating_add((i as i64).saturating_mul(self.step.max(1)))
    }
}

/// One series: labels and a value per step (absent where it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: LabelSet,
    /// One slot per step.
    pub points: Vec<Option<f64>>,
}

/// An intermediate or final result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number per step.
    Scalar(Vec<f64>),
    /// Series.
    Vector(Vec<Series>),
}

/// A metric query to run.
pub struct MetricQuery<'a> {
    /// Whose logs.
    pub tenant: &'a TenantId,
    /// The expression.
    pub expr: &'a MetricExpr,
    /// Where to evaluate it.
    pub steps: Steps,
    /// Most series any step of the evaluation may hold.
    pub max_series: usize,
    /// Deadline and cancellation.
    pub ctx: &'a QueryContext,
}

/// A metric query's answer and what reading the store cost.
#[derive(Debug, Clone)]
pub struct MetricResult {
    /// The value.
    pub value: Value,
    /// Scan work, summed over every range aggregation.
    pub stats: ScanStats,
}

/// Evaluation context shared by the recursive evaluation.
pub(crate) struct Eval<'a> {
    pub storage: &'a Storage,
    pub tenant: &'a TenantId,
    pub steps: Steps,
    pub stats: ScanStats,
    pub ctx: &'a QueryContext,
    /// Most series a range aggregation may produce, as the answer may.
    pub max_series: usize,
}

/// The error of a query past `max_query_series`.
pub(crate) fn too_many_series(max: usize) -> QueryError {
    QueryError::Limit(format!(
        "maximum number of series ({max}) reached for a single query; add labels to the selector or aggregate with sum by (...)"
    ))
}

/// Runs a metric query.
pub fn eval_metric(storage: &Storage, q: &MetricQuery<'_>) -> Result<MetricResult, QueryError> {
    let mut ev = Eval {
        storage,
        tenant: q.tenant,
        steps: q.steps,
        stats: ScanStats::default(),
        ctx: q.ctx,
        max_series: q.max_series,
    };
    let value = ev.eval(q.expr)?;
    // As Loki's max_query_series, the limit holds for the answer and for
    // what each range aggregation produces (after a `sum by` pushed into
    // it), so a query with a million series stops while it reads instead
    // of building them all.
    if let Value::Vector(series) = &value {
        if series.len() > q.max_series {
            return Err(too_many_series(q.max_series));
        }
    }
    Ok(MetricResult {
        value,
        stats: ev.stats,
    })
}

impl Eval<'_> {
    pub(crate) fn eval(&mut self, expr: &MetricExpr) -> Result<Value, QueryError> {
        let value = match expr {
            MetricExpr::Number(n) => Value::Scalar(vec![*n; self.steps.len()]),
            MetricExpr::VectorLit(n) => Value::Vector(vec![Series {
                labels: LabelSet::default(),
                points: vec![Some(*n); self.steps.len()],
            }]),
            MetricExpr::Paren(inner) => self.eval(inner)?,
            MetricExpr::Range {
                op,
                param,
                range,
                grouping,
            } => eval_range(self, *op, *param, range, grouping.as_ref(), None)?,
            MetricExpr::Vector {
                op: VectorOp::Sum,
                param: None,
                grouping,
                expr,
            } if summable(expr) => {
                // Push the grouping down into the range aggregation: the sum
                // of per-series counts is the count per group, and grouping
                // at once keeps one series per group instead of one per
                // label set (with `| json`, often one per line).
                let MetricExpr::Range {
                    op, param, range, ..
                } = &**expr
                else {
                    return Err(QueryError::Plan("bug: summable range expected".into()));
                };
                let everything = Grouping {
                    without: false,
                    labels: Vec::new(),
                };
                let g = grouping.as_ref().unwrap_or(&everything);
                let inner = eval_range(self, *op, *param, range, Some(g), Some(g))?;
                eval_vector(VectorOp::Sum, None, Some(g), inner)?
            }
            MetricExpr::Vector {
                op,
                param,
                grouping,
                expr,
            } => {
                let inner = match &**expr {
                    // The range's lines hold what the grouping keeps.
                    MetricExpr::Range {
                        op: range_op,
                        param: range_param,
                        range,
                        grouping: range_grouping,
                    } => eval_range(
                        self,
                        *range_op,
                        *range_param,
                        range,
                        range_grouping.as_ref(),
                        grouping.as_ref(),
                    )?,
                    _ => self.eval(expr)?,
                };
                eval_vector(*op, *param, grouping.as_ref(), inner)?
            }
            MetricExpr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                let l = self.eval(lhs)?;
                let r = self.eval(rhs)?;
                eval_binary(*op, l, r, *return_bool, matching.as_ref())?
            }
            MetricExpr::LabelReplace {
                expr,
                dst,
                replacement,
                src,
                regex,
            } => label_replace(self.eval(expr)?, dst, replacement, src, regex)?,
        };
        Ok(value)
    }
}

/// Whether `sum` over this range aggregation may group while scanning:
/// counts, rates, byte counts and sums add up across series; other
/// functions do not.
fn summable(expr: &MetricExpr) -> bool {
    matches!(
        expr,
        MetricExpr::Range {
            op: RangeOp::CountOverTime
                | RangeOp::Rate
                | RangeOp::BytesOverTime
                | RangeOp::BytesRate
                | RangeOp::SumOverTime,
            grouping: None,
            ..
        }
    )
}

fn label_replace(
    value: Value,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Value, QueryError> {
    let re = crate::filter_line::compile_regex(&format!("^(?s:{regex})$"))?;
    if !basin_model::is_valid_label_name(dst) {
        return Err(QueryError::Plan(format!(
            "invalid destination label name {dst:?}"
        )));
    }
    let Value::Vector(mut series) = value else {
        return Err(QueryError::Plan(
            "label_replace needs a vector, not a scalar".into(),
        ));
    };
    for s in &mut series {
        let source = s.labels.get(src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&source) {
            let mut out = String::new();
            caps.expand(replacement, &mut out);
            if out.is_empty() {
                s.labels.remove(dst);
            } else {
                s.labels.set(dst, out, Origin::Parsed);
            }
        }
    }
    Ok(Value::Vector(merge_same_labels(series)?))
}

/// Series whose labels became equal cannot both stay: Prometheus refuses
/// the query rather than pick one.
pub(crate) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    let mut seen: std::collections::HashMap<LabelSet, usize> = std::collections::HashMap::new();
    for s in series {
        let key = s.labels.flattened();
        match seen.get(&key) {
            Some(&i) => {
                let target = &mut out[i];
                for (slot, p) in target.points.iter_mut().zip(s.points) {
                    if p.is_some() {
                        if slot.is_some() {
                            return Err(QueryError::Execution(format!(
                                "vector cannot contain metrics with the same labelset {key}"
                            )));
                        }
                        *slot = p;
                    }
                }
            }
            None => {
                seen.insert(key, out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}
