//! Numbers, counts and names in Swedish, for reasons shown on the screens.
//! The public helpers are shared with the screens, so that a number, a
//! count, a shift and an order of rooms or beds read the same everywhere:
//! [`one_decimal`] and [`signed_one_decimal`] (decimal comma, the true minus
//! sign `−`), [`count`] (`1 ledig säng`, `2 lediga sängar`), [`shift_name`]
//! and [`natural_key`] (room 2 before room 10).

use std::cmp::Ordering;

use careload_scoring::Points;
use careload_scoring::snapshot::Profession;

/// The minus sign of every negative number shown in Swedish text: U+2212,
/// never the hyphen-minus `-` (JSON and CSV keep ASCII numbers).
pub const MINUS: char = '\u{2212}';

/// A value in thousandths as a Swedish decimal with one decimal, rounded
/// half away from zero: `14,2`, `−0,5` (the true minus sign).
pub fn one_decimal(milli: i64) -> String {
    let tenths = crate::div_round(i128::from(milli), 100);
    let abs = tenths.unsigned_abs();
    let sign = if tenths < 0 { "\u{2212}" } else { "" };
    format!("{sign}{},{}", abs / 10, abs % 10)
}

/// As [`one_decimal`], with `+` before a value that rounds above zero (`+0,5`, `−1,0`, `0,0`).
pub fn signed_one_decimal(milli: i64) -> String {
    let text = one_decimal(milli);
    if crate::div_round(i128::from(milli), 100) > 0 {
        format!("+{text}")
    } else {
        text
    }
}

/// A count with its noun in the Swedish singular or plural: `count(1,
/// "ledig säng", "lediga sängar")` is `1 ledig säng`, with 0 or 2 `… lediga
/// sängar`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The sort key of a room or bed label in natural order: runs of digits
/// compare as numbers (`2` before `10`, `sal 2` before `sal 10`, `r3-b2`
/// before `r10-b1`), a label starting with a number comes before one
/// starting with a name, letters compare without case, and the label
/// itself breaks ties (`02` and `2`).
pub fn natural_key(label: &str) -> NaturalKey {
    let mut parts = Vec::new();
    let mut chars = label.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digit = c.is_ascii_digit();
        let mut run = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() != digit {
                break;
            }
            run.push(c);
            chars.next();
        }
        parts.push(if digit {
            let digits = run.trim_start_matches('0');
            Part::Number(digits.len(), digits.to_owned())
        } else {
            Part::Text(run.to_lowercase())
        });
    }
    NaturalKey {
        parts,
        label: label.to_owned(),
    }
}

/// Orders labels naturally: see [`natural_key`].
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natural_key(a).cmp(&natural_key(b))
}

/// A label's place in natural order ([`natural_key`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NaturalKey {
    parts: Vec<Part>,
    label: String,
}

/// One run of a label: a number (by its count of digits, then its digits,
/// leading zeros dropped: any length compares right) sorts before text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(usize, String),
    Text(String),
}

/// A share as a whole percentage, as text (`0.7` → `70`).
pub(crate) fn percent(share: f64) -> String {
    format!("{:.0}", share * 100.0)
}

/// A number with `places` decimals, decimal comma and the true minus sign.
pub(crate) fn decimals(value: f64, places: usize) -> String {
    format!("{value:.places$}").replace('.', ",").replace('-', "\u{2212}")
}

/// Points as `14,2 p`.
pub(crate) fn points(p: Points) -> String {
    format!("{} p", one_decimal(p.milli()))
}

/// The profession's Swedish name, singular, with the indefinite article.
pub(crate) fn a_profession(p: Profession) -> &'static str {
    match p {
        Profession::Usk => "en undersköterska",
        Profession::Ssk => "en sjuksköterska",
    }
}

/// A shift's name in Swedish: the default plan's `day`, `evening` and
/// `night` become `dagpass`, `kvällspass`, `nattpass`, or with `definite`
/// `dagpasset`… (as in "under dagpasset"); any other name (a ward's own
/// plan) is kept as configured.
pub fn shift_name(name: &str, definite: bool) -> String {
    let sv = match name.to_ascii_lowercase().as_str() {
        "day" => "dagpass",
        "evening" => "kvällspass",
        "night" => "nattpass",
        _ => return name.to_owned(),
    };
    if definite { format!("{sv}et") } else { sv.to_owned() }
}

/// The profession's abbreviation.
pub(crate) fn abbrev(p: Profession) -> &'static str {
    match p {
        Profession::Usk => "USK",
        Profession::Ssk => "SSK",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_shift_names_in_swedish_others_as_configured() {
        assert_eq!(super::shift_name("day", false), "dagpass");
        assert_eq!(super::shift_name("Evening", true), "kvällspasset");
        assert_eq!(super::shift_name("night", true), "nattpasset");
        assert_eq!(super::shift_name("förmiddag", true), "förmiddag");
    }

    #[test]
    fn one_decimal_rounds_half_away_from_zero() {
        let cases = [
            (14_240, "14,2"),
            (14_250, "14,3"),
            (0, "0,0"),
            (-450, "\u{2212}0,5"),
            (-40, "0,0"),
            (9_800, "9,8"),
        ];
        for (milli, text) in cases {
            assert_eq!(super::one_decimal(milli), text, "{milli}");
        }
    }

    #[test]
    fn signed_numbers_carry_plus_or_the_true_minus() {
        assert_eq!(super::signed_one_decimal(500), "+0,5");
        assert_eq!(super::signed_one_decimal(-1_000), "\u{2212}1,0");
        assert_eq!(super::signed_one_decimal(40), "0,0");
        assert!(!super::one_decimal(-12_345).contains('-'));
    }

    #[test]
    fn counts_take_the_swedish_singular_or_plural() {
        assert_eq!(super::count(1, "ledig säng", "lediga sängar"), "1 ledig säng");
        assert_eq!(super::count(2, "ledig säng", "lediga sängar"), "2 lediga sängar");
        assert_eq!(super::count(0, "patient", "patienter"), "0 patienter");
    }

    #[test]
    fn labels_sort_in_natural_order() {
        let mut labels = vec![
            "10",
            "isolering",
            "2",
            "Sal 10",
            "sal 2",
            "1b",
            "9",
            "r10-b1",
            "r3-b2",
            "02",
        ];
        labels.sort_by(|a, b| super::natural_cmp(a, b));
        assert_eq!(
            labels,
            vec![
                "1b",
                "02",
                "2",
                "9",
                "10",
                "isolering",
                "r3-b2",
                "r10-b1",
                "sal 2",
                "Sal 10"
            ]
        );
        let long = "123456789012345678901234567890";
        assert_eq!(super::natural_cmp("9", long), std::cmp::Ordering::Less);
    }
}
