//! Range aggregations: `count_over_time`, `rate`, `*_over_time` with
//! `unwrap`, ... The store is read once over the whole range; each series'
//! samples are then swept by a window `(t - offset - range, t - offset]` for
//! every step `t`, as Prometheus and Loki define it.

use std::collections::{BTreeSet, HashMap};

use basin_logql::{Grouping, LogRange, MatchOp, RangeOp, Stage, UnwrapConv};
use std::sync::Arc;

use basin_model::{Entry, Labels};
use basin_storage::part::counts::BUCKET_NS;
use basin_storage::{Columns, RunTimes, ScanRequest};

use crate::context::Checker;
use crate::filter_stream::StreamFilter;
use crate::label_set::{LabelSet, Origin, ERROR_LABEL};
use crate::memory;
use crate::metric::{too_many_series, Eval, Series, Steps, Value};
use crate::pipe_label_filter::{parse_go_duration, CompiledFilter};
use crate::pipeline::Pipeline;
use crate::QueryError;

/// One extracted sample: entry time and value.
type Sample = (i64, f64);

/// A series' key from a line's labels and whether it carries an error.
type KeyOf<'a> = dyn Fn(bool, LabelSet) -> LabelSet + Sync + 'a;

/// A scan worker's per-series data (samples, or step counts).
struct SeriesSlots<T> {
    series: Vec<(LabelSet, T)>,
    by_key: HashMap<LabelSet, usize>,
    /// Series of a stream whose key depends on its labels alone, by the
    /// address of its labels (stable: the scan holds every stream's `Arc`).
    by_stream: HashMap<usize, usize>,
    /// Estimated heap bytes of the keys and data held.
    bytes: usize,
}

impl<T> Default for SeriesSlots<T> {
    fn default() -> Self {
        Self {
            series: Vec::new(),
            by_key: HashMap::new(),
            by_stream: HashMap::new(),
            bytes: 0,
        }
    }
}

impl<T: Default> SeriesSlots<T> {
    fn of_key(&mut self, key: LabelSet) -> &mut T {
        let i = self.index_of_key(key);
        &mut self.series[i].1
    }

    fn index_of_key(&mut self, key: LabelSet) -> usize {
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        self.bytes += 2 * memory::key_bytes(&key);
        self.series.push((key.clone(), T::default()));
        self.by_key.insert(key, self.series.len() - 1);
        self.series.len() - 1
    }

    /// The series of a line no stage parsed: its stream's, unless it holds
    /// a field the grouping keeps (`kept`; `None`: every field counts).
    fn of_unparsed(
        &mut self,
        labels: &Arc<Labels>,
        fields: &[(String, String)],
        kept: Option<&[String]>,
        key_of: &KeyOf<'_>,
    ) -> &mut T {
        let fields_matter = fields
            .iter()
            .any(|(name, _)| kept.is_none_or(|kept| kept.iter().any(|k| k == name)));
        if fields_matter {
            self.of_key(key_of(false, LabelSet::new(labels, fields)))
        } else {
            self.of_stream(labels, || key_of(false, LabelSet::new(labels, &[])))
        }
    }

    fn of_stream(&mut self, labels: &Arc<Labels>, key: impl FnOnce() -> LabelSet) -> &mut T {
        let addr = Arc::as_ptr(labels) as usize;
        let i = match self.by_stream.get(&addr) {
            Some(&i) => i,
            None => {
                let i = self.index_of_key(key());
                self.by_stream.insert(addr, i);
                self.bytes += 32;
                i
            }
        };
        &mut self.series[i].1
    }
}

/// Heap bytes of one sample held for a window.
const SAMPLE_BYTES: usize = std::mem::size_of::<Sample>();
/// Heap bytes of one point of an answer.
const POINT_BYTES: usize = std::mem::size_of::<Option<f64>>();

/// Accounts a worker's series after it grew by `grown` bytes: false (and
/// the worker stops) past `max_series` or the query's memory budget.
fn hold_series<T>(
    checker: &mut Checker<'_>,
    slots: &mut SeriesSlots<T>,
    grown: usize,
    max_series: usize,
) -> bool {
    if slots.series.len() > max_series {
        return checker.stop(too_many_series(max_series));
    }
    slots.bytes += grown;
    checker.hold(slots.bytes)
}

pub(crate) fn eval_range(
    ev: &mut Eval<'_>,
    op: RangeOp,
    param: Option<f64>,
    range: &LogRange,
    grouping: Option<&Grouping>,
    wanted: Option<&Grouping>,
) -> Result<Value, QueryError> {
    let stages = &range.log.stages;
    let unwrap_at = stages
        .iter()
        .position(|s| matches!(s, Stage::Unwrap { .. }));
    let pipeline = Pipeline::new(&stages[..unwrap_at.unwrap_or(stages.len())])?
        .with_pattern_aliases(ev.ctx.pattern_aliases());
    let (unwrap, post) = match unwrap_at {
        Some(i) => {
            let Stage::Unwrap { label, conv } = &stages[i] else {
                return Err(QueryError::Plan("bug: unwrap stage expected".into()));
            };
            let post = stages[i + 1..]
                .iter()
                .map(|s| match s {
                    Stage::LabelFilter(f) => CompiledFilter::new(f),
                    _ => Err(QueryError::Plan(
                        "only label filters may follow unwrap".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            (Some((label.as_str(), *conv)), post)
        }
        None => (None, Vec::new()),
    };
    let streams = StreamFilter::new(&range.log.matchers)?;
    let steps = ev.steps;
    // Saturating: times come from requests and may sit at i64's ends.
    let lo = steps
        .start
        .saturating_sub(range.offset)
        .saturating_sub(range.range);
    let hi = steps.end.saturating_sub(range.offset);
    let stream_filter = |labels: &Labels| streams.matches(labels);
    let detected = detected_names(ev, &stream_filter, (lo, hi), &pipeline, [grouping, wanted]);
    // With line filters alone, a sample's series is its stream's labels and
    // metadata (grouped): the line is read only to filter or measure it,
    // and metadata only where the grouping keeps it.
    let simple = unwrap.is_none() && pipeline.filters_only() && detected.is_empty();
    let kept_fields = match grouping {
        Some(g) if simple && !g.without => Some(
            g.labels
                .iter()
                .flat_map(|l| [l.as_str(), l.trim_end_matches("_extracted")])
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    // `|=` filters alone are storage's needles: it checks them, mostly
    // from line skeletons, so counts need no line.
    // Deciding whether a delete request covers an entry takes all of it;
    // counting runs reads no line, so it cannot leave deleted ones out.
    let deletes = ev
        .ctx
        .deletes_overlap(lo.saturating_add(1), hi.saturating_add(1));
    let columns = Columns {
        line: !simple
            || deletes
            || (pipeline.has_stages() && !pipeline.needles_only())
            || matches!(op, RangeOp::BytesOverTime | RangeOp::BytesRate),
        fields: if deletes { None } else { kept_fields.clone() },
    };
    let scan = ScanRequest {
        tenant: ev.tenant,
        start: lo.saturating_add(1),
        end: hi.saturating_add(1),
        stream_filter: &stream_filter,
        needles: pipeline.needles(),
        columns,
    };
    let key_of = |error: bool, set: LabelSet| match (grouping, error) {
        // Group first: with `| json`, most labels are about to be dropped.
        (Some(g), false) => group_labels(&set, g).flattened(),
        // An error must survive grouping, or it would vanish into a silent 0.
        _ => set.flattened(),
    };
    if simple && !scan.columns.line && matches!(op, RangeOp::CountOverTime | RangeOp::Rate) {
        let counts = count_runs(ev, &scan, &key_of, kept_fields.as_deref(), range)?;
        let range_s = range.range as f64 / 1e9;
        let mut out: Vec<Series> = counts
            .into_iter()
            .filter_map(|(labels, counts)| {
                let points: Vec<Option<f64>> = counts
                    .iter()
                    .map(|&n| match (n, op) {
                        (0, _) => None,
                        (n, RangeOp::Rate) => Some(n as f64 / range_s),
                        (n, _) => Some(n as f64),
                    })
                    .collect();
                points
                    .iter()
                    .any(Option::is_some)
                    .then_some(Series { labels, points })
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        return Ok(Value::Vector(out));
    }
    // Without unwrap a line is worth its bytes or one.
    let line_value = |line: &str| match op {
        RangeOp::BytesOverTime | RangeOp::BytesRate => line.len() as f64,
        _ => 1.0,
    };
    let max_series = ev.max_series;
    let ctx = ev.ctx;
    let make_sink = || (SeriesSlots::<Vec<Sample>>::default(), Checker::new(ctx));
    let emit = |sink: &mut (SeriesSlots<Vec<Sample>>, Checker<'_>),
                labels: &Arc<Labels>,
                entry: &Entry| {
        if !sink.1.go_on() {
            return false;
        }
        if deletes && ctx.deleted(labels, entry) {
            return true;
        }
        let samples = &mut sink.0;
        if simple {
            if !pipeline.keeps(&entry.line) {
                return true;
            }
            let value = line_value(&entry.line);
            samples
                .of_unparsed(labels, &entry.fields, kept_fields.as_deref(), &key_of)
                .push((entry.ts, value));
            return hold_series(&mut sink.1, samples, SAMPLE_BYTES, max_series);
        }
        let Some(mut row) = pipeline.run(entry, labels) else {
            return true;
        };
        let value = match unwrap {
            Some((label, conv)) => {
                if pipeline.detects_after() {
                    row.detect_missing(entry.ts, [label]);
                }
                let v = row.labels.get(label).and_then(|raw| convert(raw, conv));
                if v.is_none() && !row.labels.has_error() {
                    let raw = row.labels.get(label).unwrap_or("").to_string();
                    row.labels.set_error(
                        "SampleExtractionErr",
                        format!("cannot unwrap {label}={raw:?} as a number"),
                    );
                }
                if !post.iter().all(|f| f.keep(&mut row.labels)) {
                    return true;
                }
                row.labels.remove(label);
                v.unwrap_or(0.0)
            }
            None => line_value(&row.line),
        };
        if !detected.is_empty() {
            row.detect_named(entry.ts, &detected);
        }
        let error = row.labels.has_error();
        samples
            .of_key(key_of(error, row.labels))
            .push((entry.ts, value));
        hold_series(&mut sink.1, samples, SAMPLE_BYTES, max_series)
    };
    let (sinks, stats) = ev.storage.scan_parallel(&scan, &make_sink, &emit)?;
    let mut samples: HashMap<LabelSet, Vec<Sample>> = HashMap::new();
    // Workers' reservations stay held until their samples are merged.
    let mut checkers = Vec::with_capacity(sinks.len());
    for (part, mut checker) in sinks {
        checker.check()?;
        checkers.push(checker);
        for (k, mut v) in part.series {
            samples.entry(k).or_default().append(&mut v);
        }
        if samples.len() > max_series {
            return Err(too_many_series(max_series));
        }
    }
    ev.stats.add(&stats);

    if let Some(bad) = samples.keys().find(|k| k.get(ERROR_LABEL).is_some()) {
        return Err(QueryError::Execution(format!(
            "pipeline error: '{}' for series: '{bad}'. Use a label filter to intentionally skip this error (e.g. | __error__!=\"{}\"); to skip all errors match empty errors (e.g. | __error__=\"\")",
            bad.get(ERROR_LABEL).unwrap_or(""),
            bad.get(ERROR_LABEL).unwrap_or(""),
        )));
    }

    let range_s = range.range as f64 / 1e9;
    let window = |i: usize| {
        let t = steps.at(i).saturating_sub(range.offset);
        (t.saturating_sub(range.range), t)
    };
    if op == RangeOp::AbsentOverTime {
        return Ok(absent(samples, &range.log.matchers, steps.len(), window));
    }
    ev.ctx.reserve(samples.len() * steps.len() * POINT_BYTES)?;
    drop(checkers);
    let mut out = Vec::with_capacity(samples.len());
    for (labels, mut points) in samples {
        points.sort_by_key(|p| p.0);
        let mut values = vec![None; steps.len()];
        let (mut from, mut to) = (0, 0);
        for (i, slot) in values.iter_mut().enumerate() {
            let (lo, hi) = window(i);
            while to < points.len() && points[to].0 <= hi {
                to += 1;
            }
            while from < to && points[from].0 <= lo {
                from += 1;
            }
            if from < to {
                *slot = aggregate(op, param, &points[from..to], range_s, (lo, hi));
            }
        }
        if values.iter().any(Option::is_some) {
            out.push(Series {
                labels,
                points: values,
            });
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Vector(out))
}

/// The names an aggregation over this range groups `by` that some selected
/// stream lacks: with no parser stage, they are looked for in the line, as a
/// label filter's are, so `sum by (detected_level)` (Grafana's log volume)
/// and `sum by (status)` group lines stored unparsed. Names every stream
/// has keep the line unread.
fn detected_names<'g>(
    ev: &Eval<'_>,
    stream_filter: &dyn Fn(&Labels) -> bool,
    (lo, hi): (i64, i64),
    pipeline: &Pipeline,
    groupings: [Option<&'g Grouping>; 2],
) -> Vec<&'g str> {
    let names: BTreeSet<&str> = groupings
        .into_iter()
        .flatten()
        .filter(|g| !g.without)
        .flat_map(|g| g.labels.iter().map(String::as_str))
        .filter(|n| !n.starts_with("__"))
        .collect();
    if names.is_empty() || !pipeline.detects_after() {
        return Vec::new();
    }
    let selected = ev.storage.streams(
        ev.tenant,
        lo.saturating_add(1),
        hi.saturating_add(1),
        stream_filter,
    );
    names
        .into_iter()
        .filter(|n| selected.iter().any(|s| s.get(n).is_none()))
        .collect()
}

/// Which steps' windows hold a time: step `i` at `at(i)` holds `t` iff
/// `t + offset <= at(i) < t + offset + range`. In i128, so no request time
/// can overflow.
struct StepWindows {
    start: i128,
    step: i128,
    n: usize,
    offset: i128,
    range: i128,
}

impl StepWindows {
    fn new(steps: Steps, offset: i64, range: i64) -> Self {
        Self {
            start: i128::from(steps.start),
            step: i128::from(steps.step.max(1)),
            n: steps.len(),
            offset: i128::from(offset),
            range: i128::from(range),
        }
    }

    fn at(&self, i: i128) -> i128 {
        self.start + i * self.step
    }

    /// First and last step holding `t` (the last may be before the first).
    fn bounds(&self, t: i64) -> (i128, i128) {
        let ceil_div = |a: i128| -((-a).div_euclid(self.step));
        let u = i128::from(t) + self.offset;
        (
            ceil_div(u - self.start),
            ceil_div(u + self.range - self.start) - 1,
        )
    }

    /// The steps whose windows hold `t`, clamped to the evaluated ones;
    /// `None` if there are none.
    fn steps_holding(&self, t: i64) -> Option<(i128, i128)> {
        let (lo, hi) = self.bounds(t);
        let (from, to) = (lo.max(0), hi.min(self.n as i128 - 1));
        (from <= to).then_some((from, to))
    }

    /// Adds every time to the difference array `diff` (`n + 1` slots) of
    /// the steps holding it. A time a little after the previous one moves
    /// the bounds forward a step or two without a division; any other time
    /// computes them afresh.
    fn add(&self, diff: &mut [i64], times: &[i64], weights: Option<&[u32]>) {
        let last = self.n as i128 - 1;
        let mut prev = None;
        let (mut lo, mut hi) = (0, -1);
        // at(lo) and at(hi + 1), kept in step with lo and hi.
        let (mut lo_at, mut hi_next_at) = (self.at(lo), self.at(hi + 1));
        for (i, &t) in times.iter().enumerate() {
            let weight = weights.and_then(|w| w.get(i)).map_or(1, |&w| i64::from(w));
            let u = i128::from(t) + self.offset;
            let end = u + self.range;
            let moved = prev.is_some_and(|p| p <= t) && {
                let mut budget = 4;
                while budget > 0 && lo_at < u {
                    lo += 1;
                    lo_at += self.step;
                    budget -= 1;
                }
                while budget > 0 && hi_next_at < end {
                    hi += 1;
                    hi_next_at += self.step;
                    budget -= 1;
                }
                lo_at >= u && hi_next_at >= end
            };
            if !moved {
                (lo, hi) = self.bounds(t);
                (lo_at, hi_next_at) = (self.at(lo), self.at(hi + 1));
            }
            prev = Some(t);
            let (from, to) = (lo.max(0), hi.min(last));
            if from <= to {
                diff[from as usize] += weight;
                diff[to as usize + 1] -= weight;
            }
        }
    }
}

/// Counts per step and series for `count_over_time` and `rate` over line
/// filters alone and no line filter: reads runs of times, never a line, and
/// adds each time to the steps whose window holds it through a difference
/// array (O(1) a row, whatever the range).
fn count_runs(
    ev: &mut Eval<'_>,
    scan: &ScanRequest<'_>,
    key_of: &KeyOf<'_>,
    kept_fields: Option<&[String]>,
    range: &LogRange,
) -> Result<Vec<(LabelSet, Vec<i64>)>, QueryError> {
    let n = ev.steps.len();
    let windows = StepWindows::new(ev.steps, range.offset, range.range);
    let add = |diff: &mut Vec<i64>, times: &[i64], weights: Option<&[u32]>| {
        if diff.is_empty() {
            diff.resize(n + 1, 0);
        }
        windows.add(diff, times, weights);
    };
    // Per-minute counts answer exactly when every window starts and ends on
    // a whole minute.
    let minute = |ns: i64| ns.rem_euclid(BUCKET_NS) == 0;
    let minute_counts = minute(ev.steps.start)
        && minute(ev.steps.step)
        && minute(range.range)
        && minute(range.offset);
    // Window bounds only rise with time: two times in the same windows hold
    // every time between them in those windows too.
    let same_windows = |a: i64, b: i64| windows.steps_holding(a) == windows.steps_holding(b);
    let times = RunTimes {
        minute_counts,
        same_windows: &same_windows,
    };
    let max_series = ev.max_series;
    let make_sink = || (SeriesSlots::<Vec<i64>>::default(), Checker::new(ev.ctx));
    let emit = |sink: &mut (SeriesSlots<Vec<i64>>, Checker<'_>),
                labels: &Arc<Labels>,
                fields: &[(String, String)],
                times: &[i64],
                weights: Option<&[u32]>| {
        if !sink.1.go_on() {
            return false;
        }
        let diff = sink.0.of_unparsed(labels, fields, kept_fields, key_of);
        let new = diff.is_empty();
        add(diff, times, weights);
        let grown = if new { (n + 1) * 8 } else { 0 };
        hold_series(&mut sink.1, &mut sink.0, grown, max_series)
    };
    let (sinks, stats) = ev
        .storage
        .scan_runs_parallel(scan, times, &make_sink, &emit)?;
    ev.stats.add(&stats);
    let mut total: HashMap<LabelSet, Vec<i64>> = HashMap::new();
    let mut checkers = Vec::with_capacity(sinks.len());
    for (slots, mut checker) in sinks {
        checker.check()?;
        checkers.push(checker);
        for (key, diff) in slots.series {
            let sum = total.entry(key).or_insert_with(|| vec![0; n + 1]);
            for (s, d) in sum.iter_mut().zip(&diff) {
                *s += d;
            }
        }
        if total.len() > max_series {
            return Err(too_many_series(max_series));
        }
    }
    ev.ctx.reserve(total.len() * n * POINT_BYTES)?;
    drop(checkers);
    Ok(total
        .into_iter()
        .map(|(key, diff)| {
            let mut running = 0;
            let counts = diff[..n]
                .iter()
                .map(|d| {
                    running += d;
                    running
                })
                .collect();
            (key, counts)
        })
        .collect())
}

fn convert(raw: &str, conv: UnwrapConv) -> Option<f64> {
    let raw = raw.trim();
    match conv {
        UnwrapConv::Number => raw.parse::<f64>().ok(),
        UnwrapConv::Duration | UnwrapConv::DurationSeconds => {
            parse_go_duration(raw).map(|ns| ns as f64 / 1e9)
        }
        UnwrapConv::Bytes => basin_logql::parse_bytes(&raw.replace(' ', "")).map(|b| b as f64),
    }
}

/// The labels a series keeps under `by (...)` or `without (...)`.
pub(crate) fn group_labels(labels: &LabelSet, g: &Grouping) -> LabelSet {
    labels.filtered(|k| g.labels.iter().any(|l| l == k) != g.without)
}

/// `absent_over_time`: 1 where no series has a sample in the window, with
/// the selector's equality matchers as labels.
fn absent(
    samples: HashMap<LabelSet, Vec<Sample>>,
    matchers: &[basin_logql::Matcher],
    steps: usize,
    window: impl Fn(usize) -> (i64, i64),
) -> Value {
    let mut all: Vec<i64> = samples.values().flatten().map(|p| p.0).collect();
    all.sort_unstable();
    let points: Vec<Option<f64>> = (0..steps)
        .map(|i| {
            let (lo, hi) = window(i);
            let first_after = all.partition_point(|&t| t <= lo);
            let present = all.get(first_after).is_some_and(|&t| t <= hi);
            (!present).then_some(1.0)
        })
        .collect();
    if points.iter().all(Option::is_none) {
        return Value::Vector(Vec::new());
    }
    let labels = LabelSet::from_pairs(
        matchers
            .iter()
            .filter(|m| m.op == MatchOp::Eq)
            .map(|m| (m.name.clone(), m.value.clone())),
        Origin::Stream,
    );
    Value::Vector(vec![Series { labels, points }])
}

fn aggregate(
    op: RangeOp,
    param: Option<f64>,
    points: &[Sample],
    range_s: f64,
    window: (i64, i64),
) -> Option<f64> {
    let n = points.len() as f64;
    let values = || points.iter().map(|p| p.1);
    let sum = || values().sum::<f64>();
    let variance = || {
        let mean = sum() / n;
        values().map(|v| (v - mean).powi(2)).sum::<f64>() / n
    };
    Some(match op {
        RangeOp::CountOverTime => n,
        RangeOp::Rate => n / range_s,
        RangeOp::BytesOverTime | RangeOp::SumOverTime => sum(),
        RangeOp::BytesRate => sum() / range_s,
        RangeOp::AvgOverTime => sum() / n,
        RangeOp::MinOverTime => values().fold(f64::INFINITY, f64::min),
        RangeOp::MaxOverTime => values().fold(f64::NEG_INFINITY, f64::max),
        RangeOp::StdvarOverTime => variance(),
        RangeOp::StddevOverTime => variance().sqrt(),
        RangeOp::QuantileOverTime => {
            let mut v: Vec<f64> = values().collect();
            v.sort_by(f64::total_cmp);
            quantile(param.unwrap_or(0.5), &v)
        }
        RangeOp::FirstOverTime => points.first()?.1,
        RangeOp::LastOverTime => points.last()?.1,
        RangeOp::RateCounter => extrapolated_rate(points, window, range_s)?,
        RangeOp::AbsentOverTime => return None,
    })
}

/// Prometheus' quantile of sorted values: linear interpolation between ranks.
pub(crate) fn quantile(q: f64, sorted: &[f64]) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let rank = q * (sorted.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let weight = rank - lower as f64;
    sorted[lower] * (1.0 - weight) + sorted[upper] * weight
}

/// Prometheus' `rate()` of a counter: resets corrected, extrapolated to the
/// window's edges when the samples come close to them.
fn extrapolated_rate(points: &[Sample], (lo, hi): (i64, i64), range_s: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let first = points[0];
    let last = points[points.len() - 1];
    let mut result = last.1 - first.1;
    for w in points.windows(2) {
        if w[1].1 < w[0].1 {
            result += w[0].1;
        }
    }
    let secs = |ns: i64| ns as f64 / 1e9;
    let mut to_start = secs(first.0 - lo);
    let to_end = secs(hi - last.0);
    let sampled = secs(last.0 - first.0);
    if sampled <= 0.0 {
        return None;
    }
    let average = sampled / (points.len() - 1) as f64;
    if result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    Some(result * (interval / sampled) / range_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(0.5, &v), 2.5);
        assert_eq!(quantile(0.0, &v), 1.0);
        assert_eq!(quantile(1.0, &v), 4.0);
        assert!((quantile(0.99, &v) - 3.97).abs() < 1e-9);
    }

    #[test]
    fn counter_rate() {
        // A counter rising 1/s, sampled every 10 s across a 60 s window.
        let pts: Vec<Sample> = (1..=5)
            .map(|i| (i * 10_000_000_000, (i * 10) as f64))
            .collect();
        let r = extrapolated_rate(&pts, (0, 60_000_000_000), 60.0).unwrap();
        assert!((r - 1.0).abs() < 1e-9, "{r}");
    }

    /// Every time against every step, the slow way.
    fn brute(steps: Steps, offset: i64, range: i64, times: &[i64]) -> Vec<i64> {
        (0..steps.len())
            .map(|i| {
                let at = steps.at(i) - offset;
                times.iter().filter(|&&t| t > at - range && t <= at).count() as i64
            })
            .collect()
    }

    #[test]
    fn steps_holding_a_time_are_the_windows_holding_it() {
        let steps = Steps {
            start: 1_000,
            end: 2_000,
            step: 70,
        };
        for (offset, range) in [(0, 70), (0, 200), (50, 30), (-40, 1_000), (0, 1)] {
            let windows = StepWindows::new(steps, offset, range);
            for t in (600..2_200).step_by(3) {
                let holding: Vec<i128> = brute(steps, offset, range, &[t])
                    .iter()
                    .enumerate()
                    .filter(|(_, &n)| n == 1)
                    .map(|(i, _)| i as i128)
                    .collect();
                let want = holding.first().map(|&f| (f, holding[holding.len() - 1]));
                assert_eq!(windows.steps_holding(t), want, "t {t} {offset} {range}");
            }
        }
    }

    #[test]
    fn difference_arrays_match_windows() {
        let steps = Steps {
            start: 1_000,
            end: 2_000,
            step: 70,
        };
        let mut times: Vec<i64> = (0..400).map(|i| 700 + i * 7 + (i % 5)).collect();
        times.extend([2_100, 900, 1_500, 1_000, 1_070]); // going back, on edges
        let instant = Steps {
            start: 2_000,
            end: 2_000,
            step: 1,
        };
        let mut windows = StepWindows::new(instant, 0, 1_500);
        let mut diff = vec![0; 2];
        windows.add(&mut diff, &times, None);
        assert_eq!(diff[0], brute(instant, 0, 1_500, &times)[0]);
        windows = StepWindows::new(instant, 0, i64::MAX);
        diff = vec![0; 2];
        windows.add(&mut diff, &[i64::MIN + 1, -5, 0, 1_999, 2_000, 2_001], None);
        // i64::MIN + 1 is just outside (2000 - i64::MAX, 2000].
        assert_eq!(diff[0], 4);
        for (offset, range) in [(0, 70), (0, 200), (50, 30), (-40, 1_000), (0, 1)] {
            let windows = StepWindows::new(steps, offset, range);
            let mut diff = vec![0; steps.len() + 1];
            windows.add(&mut diff, &times, None);
            let mut running = 0;
            let got: Vec<i64> = diff[..steps.len()]
                .iter()
                .map(|d| {
                    running += d;
                    running
                })
                .collect();
            assert_eq!(
                got,
                brute(steps, offset, range, &times),
                "offset {offset} range {range}"
            );
        }
    }
}
