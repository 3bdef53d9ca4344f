//! Request parameters as Loki reads them: tenant header, times, durations.

use axum::http::HeaderMap;
use basin_model::{TenantId, TimestampNs};

use crate::ApiError;

/// Loki's tenant header.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// The request's tenant: `X-Scope-OrgID`, or `default` without it.
pub fn tenant(headers: &HeaderMap) -> Result<TenantId, ApiError> {
    match headers.get(TENANT_HEADER) {
        None => Ok(TenantId::default_tenant()),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::BadRequest("X-Scope-OrgID is not valid text".into()))?;
            TenantId::new(text.trim()).map_err(|e| ApiError::BadRequest(e.to_string()))
        }
    }
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> TimestampNs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A header's value as text, if present and readable.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses a time as Loki does: integer seconds (up to 10 digits) or
/// nanoseconds, float seconds, or RFC 3339.
pub fn parse_time(name: &str, value: &str) -> Result<TimestampNs, ApiError> {
    let v = value.trim();
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid {name} {value:?}: use RFC 3339, Unix seconds or Unix nanoseconds"
        ))
    };
    if let Ok(n) = v.parse::<i64>() {
        let digits = v.trim_start_matches('-').len();
        return Ok(if digits <= 10 {
            n.saturating_mul(1_000_000_000)
        } else {
            n
        });
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() {
            return Ok((f * 1e9).round() as i64);
        }
        return Err(bad());
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(bad)
}

/// Parses a Prometheus-style duration (`1h`, `30m`, `1h30m`, `2d`, `500ms`)
/// or plain seconds, to nanoseconds.
pub fn parse_duration(name: &str, value: &str) -> Result<i64, ApiError> {
    let v = value.trim();
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid {name} {value:?}: use a duration like 1h or 30m"
        ))
    };
    if let Ok(f) = v.parse::<f64>() {
        return if f.is_finite() && f >= 0.0 {
            Ok((f * 1e9) as i64)
        } else {
            Err(bad())
        };
    }
    let mut total: i64 = 0;
    let mut rest = v;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: i64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 7 * 86_400_000_000_000,
            "y" => 365 * 86_400_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = total.saturating_add(n.saturating_mul(unit));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let check = |v: &str, want: i64| assert_eq!(parse_time("t", v).unwrap(), want, "{v}");
        check("1700000000", 1_700_000_000_000_000_000);
        check("1700000000000000000", 1_700_000_000_000_000_000);
        check("1700000000.5", 1_700_000_000_500_000_000);
        check("2023-11-14T22:13:20Z", 1_700_000_000_000_000_000);
        check("2023-11-14T23:13:20+01:00", 1_700_000_000_000_000_000);
        assert!(parse_time("t", "yesterday").is_err());
    }

    #[test]
    fn durations() {
        let check = |v: &str, want: i64| assert_eq!(parse_duration("d", v).unwrap(), want, "{v}");
        check("1h", 3_600_000_000_000);
        check("1h30m", 5_400_000_000_000);
        check("500ms", 500_000_000);
        check("2", 2_000_000_000);
        assert!(parse_duration("d", "h").is_err());
        assert!(parse_duration("d", "5x").is_err());
    }
}

/// Request parameters as pairs, from the URL or a form body; a name may
/// repeat (`match[]`).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The last value of `name`, if non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `query` parameter, parsed as any LogQL query.
    pub fn expr(&self) -> Result<basin_logql::Expr, ApiError> {
        let q = self
            .get("query")
            .ok_or_else(|| ApiError::BadRequest("missing query parameter 'query'".into()))?;
        basin_logql::parse_expr(q).map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    /// The `query` parameter, parsed as a log query.
    pub fn log_query(&self) -> Result<basin_logql::LogExpr, ApiError> {
        match self.expr()? {
            basin_logql::Expr::Log(log) => Ok(log),
            basin_logql::Expr::Metric(_) => Err(ApiError::BadRequest(
                "expected a log query such as {app=\"api\"}, got a metric query".into(),
            )),
        }
    }

    /// `start`/`end`/`since` as Loki reads them, with `default_since` back
    /// from `end` when neither `start` nor `since` is given.
    pub fn time_range(&self, default_since: i64) -> Result<(TimestampNs, TimestampNs), ApiError> {
        let end = match self.get("end") {
            Some(v) => parse_time("end", v)?,
            None => now_ns(),
        };
        let start = match (self.get("start"), self.get("since")) {
            (Some(v), _) => parse_time("start", v)?,
            (None, Some(since)) => end.saturating_sub(parse_duration("since", since)?),
            (None, None) => end.saturating_sub(default_since),
        };
        if end < start {
            return Err(ApiError::BadRequest(
                "invalid time range: end is before start".into(),
            ));
        }
        Ok((start, end))
    }
}
