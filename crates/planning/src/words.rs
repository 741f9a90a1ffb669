//! Numbers and names in Swedish, for reasons shown on the screens.

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
