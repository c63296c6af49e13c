//! Cell values as officials write them: dates in three forms, amounts in 万元 with decimals,
//! header names with full-width punctuation, and resident ID numbers to keep out of the log.

use verifier::date::Date;

/// Fen in one 万元 (10,000 yuan × 100 fen).
pub const FEN_PER_WAN: u64 = 1_000_000;

/// Decimal places a 万元 amount may have: 1 fen is 0.000001 万元.
pub const WAN_DECIMALS: usize = 6;

/// The rule for a date cell, as an error message names it.
pub const DATE_RULE: &str =
    "a date written 2026-11-20, 2026/11/20 or 2026年11月20日 (a time of day after it is ignored), and a day that exists";

/// Reads a date written `2026-11-20`, `2026/11/20`, `2026.11.20` or `2026年11月20日` (month and
/// day with or without a leading zero), optionally followed by a time of day (`2026-11-20
/// 00:00:00`, as database exports write it), which is dropped. Full-width digits are read as
/// digits.
///
/// # Errors
///
/// A message naming the form expected or the day that does not exist (`2026年2月30日`).
pub fn parse_date(cell: &str) -> Result<Date, String> {
    let text: String = cell.trim().chars().map(half_width).collect();
    // A time of day after a space or 'T' is dropped; the date is what a record holds.
    let date_part = match text.find([' ', 'T']) {
        Some(at) if is_time(text[at + 1..].trim()) => text[..at].trim_end(),
        _ => text.as_str(),
    };
    let bad = || format!("{cell:?} is not a date: expected {DATE_RULE}");
    let (y, m, d) = if let Some(rest) = date_part.strip_suffix('日') {
        let (y, rest) = rest.split_once('年').ok_or_else(bad)?;
        let (m, d) = rest.split_once('月').ok_or_else(bad)?;
        (y, m, d)
    } else {
        let sep = date_part.chars().find(|c| matches!(c, '-' | '/' | '.')).ok_or_else(bad)?;
        let mut parts = date_part.split(sep);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(y), Some(m), Some(d), None) => (y, m, d),
            _ => return Err(bad()),
        }
    };
    let number = |s: &str, max_len: usize| -> Option<u32> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4).filter(|_| y.len() == 4), number(m, 2), number(d, 2)) else {
        return Err(bad());
    };
    Date::new(y, m, d).map_err(|e| format!("{cell:?} is not a day that exists: {e}"))
}

fn is_time(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().enumerate().all(|(i, p)| {
            // Seconds may carry a fraction (00:00:00.000).
            let p = if i == 2 { p.split('.').next().unwrap_or("") } else { p };
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Reads an amount in 万元 (`12.35`, `0.5`, `1,200`, `0`) exactly into whole fen: the decimal
/// text is read digit by digit, never through a binary floating-point number, so `0.1` 万元 is
/// 100,000 fen and `12.35` 万元 is 12,350,000 fen. Thousands separators and a trailing `万元`
/// are allowed; at most [`WAN_DECIMALS`] decimal places (1 fen), more only if they are zeros.
///
/// # Errors
///
/// A message naming the rule: not a number, negative, a fraction of a fen, too large.
pub fn parse_wan_yuan(cell: &str) -> Result<u64, String> {
    let text: String = cell.trim().chars().map(half_width).filter(|c| *c != ',').collect();
    let text = text.strip_suffix("万元").unwrap_or(&text).trim();
    let bad = |why: &str| format!("{cell:?} is not an amount in 万元: {why}");
    if text.starts_with('-') {
        return Err(bad("an amount is not negative"));
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad("expected digits such as 12.35"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits such as 12.35, with at most one decimal point"));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > WAN_DECIMALS {
        return Err(bad("more than 6 decimal places: the smallest amount is 1 fen (0.000001 万元)"));
    }
    let too_large = || bad("larger than 10^15 fen (1,000 billion 万元)");
    let whole = whole.trim_start_matches('0');
    if whole.len() > 12 {
        return Err(too_large());
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
    let mut frac_fen = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        frac_fen += u64::from(b - b'0') * 10u64.pow((WAN_DECIMALS - 1 - i) as u32);
    }
    let fen = whole.checked_mul(FEN_PER_WAN).and_then(|f| f.checked_add(frac_fen)).ok_or_else(too_large)?;
    if fen > verifier::record::MAX_FEN {
        return Err(too_large());
    }
    Ok(fen)
}

/// Writes whole fen as 万元 with the fewest decimals (500,000 fen → `0.5`), the inverse of
/// [`parse_wan_yuan`].
pub fn format_wan_yuan(fen: u64) -> String {
    let whole = fen / FEN_PER_WAN;
    let frac = fen % FEN_PER_WAN;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// The number of whole months from `from` until `until`, rounded up: the smallest `m` with
/// `from + m months >= until` (a publicity period that ends on 2027-11-20 for a decision of
/// 2026-11-20 is 12 months).
///
/// # Errors
///
/// `until` before `from`.
pub fn months_until(from: Date, until: Date) -> Result<u32, String> {
    if until < from {
        return Err(format!("{until} is before {from}"));
    }
    let mut months = (u32::from(until.year()) * 12 + u32::from(until.month()))
        - (u32::from(from.year()) * 12 + u32::from(from.month()));
    // Step back while one month fewer still reaches `until`, forward while it does not.
    while months > 0 && from.add_months(months - 1).is_some_and(|d| d >= until) {
        months -= 1;
    }
    while from.add_months(months).is_some_and(|d| d < until) {
        months += 1;
    }
    Ok(months)
}

/// A full-width ASCII form (`（`, `０`, `＿`, the ideographic space) as its half-width form;
/// every other character unchanged.
pub fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A header cell as the mapping files name columns: full-width punctuation made half-width,
/// every space and line break removed, a required-field mark (`*`) dropped.
pub fn normalise_header(cell: &str) -> String {
    cell.chars().map(half_width).filter(|c| !c.is_whitespace() && *c != '*' && *c != '\u{FEFF}').collect()
}

/// The first resident identity card number (居民身份证号码, GB 11643-1999: 17 digits and a
/// check character 0–9 or X, the check character right) found in `text`, if any.
pub fn find_id_number(text: &str) -> Option<&str> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = text.as_bytes();
    if b.len() < 18 {
        return None;
    }
    for start in 0..=b.len() - 18 {
        // A number standing alone: not inside a longer run of digits.
        if start > 0 && b[start - 1].is_ascii_digit() {
            continue;
        }
        let body = &b[start..start + 17];
        if !body.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let last = b[start + 17].to_ascii_uppercase();
        if b.get(start + 18).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        // A region code starts with 1-8, and digits 7-14 are a birth date.
        if !(b'1'..=b'8').contains(&body[0]) || !plausible_birth(&text[start + 6..start + 14]) {
            continue;
        }
        let sum: u32 = body.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        if CHECK[(sum % 11) as usize] == last {
            return Some(&text[start..start + 18]);
        }
    }
    None
}

fn plausible_birth(digits: &str) -> bool {
    let (y, m, d) = (&digits[..4], &digits[4..6], &digits[6..8]);
    matches!(&y[..2], "18" | "19" | "20")
        && Date::new(y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn the_three_date_forms_give_the_same_day() {
        for text in
            ["2026-11-20", "2026/11/20", "2026年11月20日", "2026年11月20日 ", "2026.11.20", "２０２６年１１月２０日"]
        {
            assert_eq!(parse_date(text), Ok(d("2026-11-20")), "{text}");
        }
        assert_eq!(parse_date("2026/1/5"), Ok(d("2026-01-05")));
        assert_eq!(parse_date("2026年1月5日"), Ok(d("2026-01-05")));
        assert_eq!(parse_date("2026-11-20 00:00:00"), Ok(d("2026-11-20")));
        assert_eq!(parse_date("2026-11-20T08:30"), Ok(d("2026-11-20")));
    }

    #[test]
    fn impossible_and_malformed_dates_are_refused() {
        let e = parse_date("2026年2月30日").unwrap_err();
        assert!(e.contains("not a day that exists"), "{e}");
        assert!(parse_date("2026-02-29").is_err());
        assert!(parse_date("2028-02-29").is_ok());
        for bad in [
            "",
            "2026",
            "20261120",
            "26-11-20",
            "2026-11",
            "2026/11/20/1",
            "2026年11月",
            "2026-13-01",
            "2026-11-20 noon",
            "2026-1a-01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?} was read as a date");
        }
    }

    #[test]
    fn amounts_that_binary_floating_point_cannot_hold_are_exact() {
        assert_eq!(parse_wan_yuan("0.1"), Ok(100_000));
        assert_eq!(parse_wan_yuan("12.35"), Ok(12_350_000));
        assert_eq!(parse_wan_yuan("0.5"), Ok(500_000));
        assert_eq!(parse_wan_yuan("0.000001"), Ok(1));
        assert_eq!(parse_wan_yuan("1,200"), Ok(1_200_000_000));
        assert_eq!(parse_wan_yuan("3.10万元"), Ok(3_100_000));
        assert_eq!(parse_wan_yuan(".5"), Ok(500_000));
        assert_eq!(parse_wan_yuan("0"), Ok(0));
        assert_eq!(parse_wan_yuan("1.2300000"), Ok(1_230_000));
        // 0.1 + 0.2 as a double is 0.30000000000000004: a fraction of a fen, refused.
        assert!(parse_wan_yuan(&(0.1f64 + 0.2).to_string()).unwrap_err().contains("decimal places"));
        for bad in ["", "-1", "1.2.3", "abc", "1e3", "0.0000001", "10000000000000"] {
            assert!(parse_wan_yuan(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn months_until_rounds_up() {
        assert_eq!(months_until(d("2026-11-20"), d("2027-11-20")), Ok(12));
        assert_eq!(months_until(d("2026-11-20"), d("2027-11-19")), Ok(12));
        assert_eq!(months_until(d("2026-11-20"), d("2027-11-21")), Ok(13));
        assert_eq!(months_until(d("2026-11-30"), d("2027-02-28")), Ok(3));
        assert_eq!(months_until(d("2026-11-20"), d("2026-11-20")), Ok(0));
        assert!(months_until(d("2026-11-20"), d("2026-11-19")).is_err());
    }

    #[test]
    fn headers_are_compared_without_full_width_or_spaces() {
        assert_eq!(normalise_header("罚款金额（万元）"), "罚款金额(万元)");
        assert_eq!(normalise_header(" 行政相对人代码_1（统一社会信用代码）* "), "行政相对人代码_1(统一社会信用代码)");
        assert_eq!(normalise_header("\u{FEFF}行政相对人名称"), "行政相对人名称");
    }

    #[test]
    fn resident_id_numbers_are_found_by_their_check_character() {
        // 11010519491231002X is the worked example of GB 11643-1999.
        assert_eq!(find_id_number("法定代表人身份证11010519491231002X。"), Some("11010519491231002X"));
        assert_eq!(find_id_number("11010519491231002x"), Some("11010519491231002x"));
        // A wrong check character, or digits inside a longer number, are not ID numbers.
        assert_eq!(find_id_number("110105194912310021"), None);
        assert_eq!(find_id_number("911101051949123100201"), None);
        assert_eq!(find_id_number("罚款5000元"), None);
    }

    proptest! {
        #[test]
        fn wan_yuan_round_trips_every_fen(fen in 0u64..=verifier::record::MAX_FEN) {
            prop_assert_eq!(parse_wan_yuan(&format_wan_yuan(fen)), Ok(fen));
        }

        #[test]
        fn months_until_is_the_least_month_that_reaches(from in 0i64..40_000, len in 0i64..4000) {
            let from = Date::from_days(from).unwrap();
            let until = from.add_days(len).unwrap();
            let m = months_until(from, until).unwrap();
            prop_assert!(from.add_months(m).unwrap() >= until);
            if m > 0 {
                prop_assert!(from.add_months(m - 1).unwrap() < until);
            }
        }
    }
}
