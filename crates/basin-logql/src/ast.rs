use std::fmt;

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
}

/// `|= "text"` and its kin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFilter {
    /// Operator.
    pub op: LineFilterOp,
    /// Text or regex.
    pub value: String,
}

/// A log query: stream selector, then line filters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// The stream selector's matchers.
    pub matchers: Vec<Matcher>,
    /// Line filters.
    pub filters: Vec<LineFilter>,
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Eq => "=",
            MatchOp::Neq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        })
    }
}

impl fmt::Display for LineFilterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Re => "|~",
            LineFilterOp::NotRe => "!~",
        })
    }
}

impl fmt::Display for LogQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}{}{:?}", m.name, m.op, m.value)?;
        }
        f.write_str("}")?;
        for filter in &self.filters {
            write!(f, " {} {:?}", filter.op, filter.value)?;
        }
        Ok(())
    }
}
