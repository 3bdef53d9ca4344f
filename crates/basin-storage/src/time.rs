use basin_model::TimestampNs;

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Days from 1970-01-01 to the UTC day of a timestamp; parts are split by it.
pub fn day_number(ts: TimestampNs) -> i64 {
    ts.div_euclid(NS_PER_DAY)
}

/// Day `days` after 1970-01-01 as `YYYY-MM-DD`.
pub fn day_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        let check =
            |secs: i64, want: &str| assert_eq!(day_text(day_number(secs * 1_000_000_000)), want);
        check(0, "1970-01-01");
        check(86_399, "1970-01-01");
        check(86_400, "1970-01-02");
        check(-1, "1969-12-31");
        check(951_782_400, "2000-02-29");
        check(1_700_000_000, "2023-11-14");
    }
}
