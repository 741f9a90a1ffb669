//! Numbers and names in Swedish, for reasons shown on the screens.
//! [`shift_name`] is public: the screens name shifts the same way.

use careload_scoring::Points;
use careload_scoring::snapshot::Profession;

/// A value in thousandths as a Swedish decimal with one decimal: `14,2`, `-0,5`.
pub(crate) fn one_decimal(milli: i64) -> String {
    let tenths = crate::div_round(i128::from(milli), 100);
    let sign = if tenths < 0 { "-" } else { "" };
    let abs = tenths.unsigned_abs();
    format!("{sign}{},{}", abs / 10, abs % 10)
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
            (-450, "-0,5"),
            (9_800, "9,8"),
        ];
        for (milli, text) in cases {
            assert_eq!(super::one_decimal(milli), text, "{milli}");
        }
    }
}
