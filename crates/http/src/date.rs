//! The two clocks `http.server` shows: the `Date:` header of every response
//! and the time at the start of every log line.
//!
//! Python formats both from `time.time()` with tables of day and month
//! names; so does this module, from [`SystemTime`], with the classic
//! days-to-date conversion (Howard Hinnant's `civil_from_days`) instead of
//! a date crate. Both are UTC: std has no time zones, and a server's log is
//! clearest in UTC anyway. Python's log uses local time, the same thing on
//! a machine set to UTC (run it with `TZ=UTC` to compare elsewhere).

use std::time::{SystemTime, UNIX_EPOCH};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A moment split the way both formats need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: usize,
    day: u32,
    weekday: usize,
    hour: u64,
    minute: u64,
    second: u64,
}

fn civil(at: SystemTime) -> Civil {
    // A clock set before 1970 shows 1970: a log line is no place to fail.
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    // civil_from_days: the year starts in March, so the leap day is last.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as usize;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        // 1 January 1970 was a Thursday (index 3 from Monday).
        weekday: ((days + 3).rem_euclid(7)) as usize,
        hour: of_day / 3600,
        minute: of_day % 3600 / 60,
        second: of_day % 60,
    }
}

/// The `Date:` header's value, as `email.utils.formatdate(usegmt=True)`
/// writes it: `Thu, 26 Nov 2026 10:12:01 GMT`.
pub fn http_date(at: SystemTime) -> String {
    let c = civil(at);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[c.weekday],
        c.day,
        MONTHS[c.month - 1],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// `log_date_time_string()`: `26/Nov/2026 10:12:01`, what the article's
/// `log_message` puts in front of every line.
pub fn log_date(at: SystemTime) -> String {
    let c = civil(at);
    format!(
        "{:02}/{}/{:04} {:02}:{:02}:{:02}",
        c.day,
        MONTHS[c.month - 1],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_like_python() {
        // Python 3.11: email.utils.formatdate(1795687921, usegmt=True) and
        // time.strftime('%d/%b/%Y %H:%M:%S', time.gmtime(1795687921)).
        assert_eq!(
            http_date(at(1_795_687_921)),
            "Thu, 26 Nov 2026 10:12:01 GMT"
        );
        assert_eq!(log_date(at(1_795_687_921)), "26/Nov/2026 10:12:01");
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn leap_days_and_year_ends_land_right() {
        // 2024-02-29 12:00:00 and 2023-12-31 23:59:59 UTC.
        assert_eq!(
            http_date(at(1_709_208_000)),
            "Thu, 29 Feb 2024 12:00:00 GMT"
        );
        assert_eq!(log_date(at(1_704_067_199)), "31/Dec/2023 23:59:59");
        assert_eq!(log_date(at(1_704_067_200)), "01/Jan/2024 00:00:00");
    }
}
