//! The syntax tree of a LogQL query.

/// A whole query: a log query (lines) or a metric query (numbers).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `{...} | ...`: returns lines.
    Log(LogExpr),
    /// Aggregations, arithmetic, literals: returns samples.
    Metric(MetricExpr),
}

/// A label matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
}

/// One matcher of a stream selector: `name op "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value or regex.
    pub value: String,
}

/// A log query: stream selector, then pipeline stages in order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    /// The stream selector's matchers.
    pub matchers: Vec<Matcher>,
    /// The pipeline.
    pub stages: Vec<Stage>,
}

/// A line filter's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`: contains.
    Contains,
    /// `!=`: does not contain.
    NotContains,
    /// `|~`: matches regex.
    Re,
    /// `!~`: does not match regex.
    NotRe,
    /// `|>`: matches a pattern with `<_>` wildcards.
    Pattern,
    /// `!>`: does not match the pattern.
    NotPattern,
}

/// What a line filter looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFilterValue {
    /// A string, regex or pattern.
    Text(String),
    /// `ip("192.168.0.0/16")`: an address, range or CIDR.
    Ip(String),
}

/// `|= "a" or "b"`: one operator, one or more alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFilter {
    /// Operator.
    pub op: LineFilterOp,
    /// Alternatives (`or`): a positive filter passes if any matches, a
    /// negative one if none does.
    pub values: Vec<LineFilterValue>,
}

/// Comparison operator of label filters and binary expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` (or `=` on numbers)
    Eq,
    /// `!=`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl CmpOp {
    /// Whether `a op b` holds.
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Neq => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
        }
    }
}

/// A label filter expression: `status >= 500 and method="GET"`.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    /// Both hold.
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// Either holds.
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// String comparison or regex.
    Str {
        name: String,
        op: MatchOp,
        value: String,
    },
    /// Numeric comparison.
    Num { name: String, op: CmpOp, value: f64 },
    /// Duration comparison (value in nanoseconds).
    Duration { name: String, op: CmpOp, value: i64 },
    /// Byte size comparison.
    Bytes { name: String, op: CmpOp, value: u64 },
    /// `addr = ip("10.0.0.0/8")`.
    Ip {
        name: String,
        negate: bool,
        pattern: String,
    },
}

/// A parser stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParserStage {
    /// `| json` or `| json a="x.y", b`: all keys, or the given (label, path).
    Json(Vec<(String, String)>),
    /// `| logfmt [--strict] [--keep-empty] [params]`.
    Logfmt {
        strict: bool,
        keep_empty: bool,
        params: Vec<(String, String)>,
    },
    /// `| regexp "(?P<name>...)"`.
    Regexp(String),
    /// `| pattern "<ip> - <_>"`.
    Pattern(String),
    /// `| unpack`.
    Unpack,
}

/// One `label_format` assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelFormatOp {
    /// `dst=src`: rename.
    Rename { dst: String, src: String },
    /// `dst="{{.x}}"`: set from a template.
    Template { dst: String, template: String },
}

/// A label named by `drop` or `keep`, optionally only when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSel {
    /// Label name.
    pub name: String,
    /// Only when the value matches this.
    pub matcher: Option<(MatchOp, String)>,
}

/// How `unwrap` reads a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwrapConv {
    /// As a number.
    Number,
    /// `duration(x)`: a Go duration, as seconds.
    Duration,
    /// `duration_seconds(x)`: same as `duration`.
    DurationSeconds,
    /// `bytes(x)`: a byte size, as bytes.
    Bytes,
}

/// One stage of a log pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "x"` and kin.
    LineFilter(LineFilter),
    /// `| json`, `| logfmt`, ...
    Parser(ParserStage),
    /// `| status >= 500`.
    LabelFilter(LabelFilter),
    /// `| line_format "{{.msg}}"`.
    LineFormat(String),
    /// `| label_format a=b, c="{{.x}}"`.
    LabelFormat(Vec<LabelFormatOp>),
    /// `| drop a, b="x"`.
    Drop(Vec<LabelSel>),
    /// `| keep a, b`.
    Keep(Vec<LabelSel>),
    /// `| decolorize`.
    Decolorize,
    /// `| unwrap latency`: the value a range aggregation works on; only label
    /// filters may follow it.
    Unwrap { label: String, conv: UnwrapConv },
}

/// A range aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    CountOverTime,
    Rate,
    RateCounter,
    BytesOverTime,
    BytesRate,
    AbsentOverTime,
    SumOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
}

/// A vector aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
}

/// `by (a, b)` or `without (a, b)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// `without` rather than `by`.
    pub without: bool,
    /// The labels.
    pub labels: Vec<String>,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Cmp(CmpOp),
    And,
    Or,
    Unless,
}

/// Which side of a binary operation may have many series per match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    /// One to one (the default).
    OneToOne,
    /// `group_left(labels)`.
    ManyToOne(Vec<String>),
    /// `group_right(labels)`.
    OneToMany(Vec<String>),
}

/// `on(...)`/`ignoring(...)` and `group_left`/`group_right`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorMatching {
    /// `on` rather than `ignoring`.
    pub on: bool,
    /// The labels.
    pub labels: Vec<String>,
    /// Grouping modifier.
    pub card: Cardinality,
}

/// A log query over a sliding window, the input of a range aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRange {
    /// The log query (its stages may end in `unwrap` and label filters).
    pub log: LogExpr,
    /// Window, nanoseconds.
    pub range: i64,
    /// `offset`, nanoseconds.
    pub offset: i64,
}

/// A metric query.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    /// `rate({...}[5m])`, `quantile_over_time(0.99, {...} | unwrap x [5m]) by (a)`.
    Range {
        op: RangeOp,
        param: Option<f64>,
        range: LogRange,
        grouping: Option<Grouping>,
    },
    /// `sum by (a) (...)`, `topk(5, ...)`.
    Vector {
        op: VectorOp,
        param: Option<f64>,
        grouping: Option<Grouping>,
        expr: Box<MetricExpr>,
    },
    /// `a + b`, `a > bool 3`, `a / on(x) group_left b`.
    Binary {
        op: BinOp,
        lhs: Box<MetricExpr>,
        rhs: Box<MetricExpr>,
        return_bool: bool,
        matching: Option<VectorMatching>,
    },
    /// A number.
    Number(f64),
    /// `vector(1)`.
    VectorLit(f64),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace {
        expr: Box<MetricExpr>,
        dst: String,
        replacement: String,
        src: String,
        regex: String,
    },
    /// `(expr)`, kept so a printed query reads as written.
    Paren(Box<MetricExpr>),
}

impl RangeOp {
    /// The function's name in LogQL.
    pub fn name(self) -> &'static str {
        match self {
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::AbsentOverTime => "absent_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
        }
    }

    /// Every range function.
    pub const ALL: [RangeOp; 15] = [
        RangeOp::CountOverTime,
        RangeOp::Rate,
        RangeOp::RateCounter,
        RangeOp::BytesOverTime,
        RangeOp::BytesRate,
        RangeOp::AbsentOverTime,
        RangeOp::SumOverTime,
        RangeOp::AvgOverTime,
        RangeOp::MinOverTime,
        RangeOp::MaxOverTime,
        RangeOp::StddevOverTime,
        RangeOp::StdvarOverTime,
        RangeOp::QuantileOverTime,
        RangeOp::FirstOverTime,
        RangeOp::LastOverTime,
    ];

    /// Whether the function needs `| unwrap`: it aggregates values, not lines.
    pub fn needs_unwrap(self) -> bool {
        !matches!(
            self,
            RangeOp::CountOverTime
                | RangeOp::Rate
                | RangeOp::BytesOverTime
                | RangeOp::BytesRate
                | RangeOp::AbsentOverTime
        )
    }
}

impl VectorOp {
    /// The function's name in LogQL.
    pub fn name(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Min => "min",
            VectorOp::Max => "max",
            VectorOp::Count => "count",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Topk => "topk",
            VectorOp::Bottomk => "bottomk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
        }
    }

    /// Every vector aggregation.
    pub const ALL: [VectorOp; 11] = [
        VectorOp::Sum,
        VectorOp::Avg,
        VectorOp::Min,
        VectorOp::Max,
        VectorOp::Count,
        VectorOp::Stddev,
        VectorOp::Stdvar,
        VectorOp::Topk,
        VectorOp::Bottomk,
        VectorOp::Sort,
        VectorOp::SortDesc,
    ];
}
