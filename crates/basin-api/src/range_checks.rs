//! The checks every ranged endpoint makes before it evaluates anything, so
//! that no endpoint can be asked for more points or time than `query_range`.

use basin_model::TimestampNs;

use crate::state::ApiLimits;
use crate::ApiError;

/// Most points one series may have (Loki's limit).
pub const MAX_POINTS: i64 = 11_000;

/// Refuses an inverted range or one longer than `max_query_range`.
pub fn check_range(
    limits: &ApiLimits,
    start: TimestampNs,
    end: TimestampNs,
) -> Result<(), ApiError> {
    if end < start {
        return Err(ApiError::BadRequest(
            "invalid time range: end is before start".into(),
        ));
    }
    if limits.max_query_range_ns > 0 && end.saturating_sub(start) > limits.max_query_range_ns {
        return Err(ApiError::BadRequest(format!(
            "the query time range exceeds the limit (query length: {}, limit: {}); shorten it or raise max_query_range",
            basin_logql::format_duration(end.saturating_sub(start)),
            basin_logql::format_duration(limits.max_query_range_ns)
        )));
    }
    Ok(())
}

/// Refuses a step that is not positive or cuts the range into more than
/// [`MAX_POINTS`] points.
pub fn check_step(start: TimestampNs, end: TimestampNs, step: i64) -> Result<(), ApiError> {
    if step <= 0 {
        return Err(ApiError::BadRequest(
            "zero or negative query resolution step widths are not accepted; try a positive integer".into(),
        ));
    }
    if end.saturating_sub(start) / step > MAX_POINTS {
        return Err(ApiError::BadRequest(format!(
            "exceeded maximum resolution of {MAX_POINTS} points per timeseries; try decreasing the query resolution (?step=XX)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn ranges_past_the_limit_or_inverted_are_refused() {
        let limits = ApiLimits::default();
        assert!(check_range(&limits, 0, HOUR).is_ok());
        assert!(check_range(&limits, HOUR, 0).is_err());
        let err = check_range(&limits, 0, 800 * HOUR).unwrap_err().to_string();
        assert!(err.contains("max_query_range"), "{err}");
        let unlimited = ApiLimits {
            max_query_range_ns: 0,
            ..ApiLimits::default()
        };
        assert!(check_range(&unlimited, 0, 800 * HOUR).is_ok());
    }

    #[test]
    fn steps_must_be_positive_and_few_enough() {
        assert!(check_step(0, HOUR, 1_000_000_000).is_ok());
        assert!(check_step(0, HOUR, 0).is_err());
        assert!(check_step(0, HOUR, -5).is_err());
        let err = check_step(0, 720 * HOUR, 1_000_000)
            .unwrap_err()
            .to_string();
        assert!(err.contains("11000 points"), "{err}");
    }
}
