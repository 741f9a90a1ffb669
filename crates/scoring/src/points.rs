//! Exact decimal arithmetic for care-need points.
//!
//! Points and quantities are fixed-point numbers with three decimals, stored as
//! whole thousandths in an `i64`. Sums are therefore exact and independent of
//! order: a ward total is *exactly* the sum of its patients, on every machine,
//! and a nurse recomputing a score by hand gets the same digits.
//!
//! The one place rounding happens is [`Points::times`], a weight multiplied by
//! a quantity: the product is rounded to the nearest thousandth, halves away
//! from zero. Every contribution records its weight, its quantity and the
//! rounded product, so the rounding is visible.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Thousandths per unit.
const SCALE: i64 = 1000;

/// Care-need points, exact to a thousandth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[schemars(with = "f64")]
pub struct Points(i64);

/// A dimensionless quantity (hours, administrations, a multiplier), exact to a thousandth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[schemars(with = "f64")]
pub struct Qty(i64);

/// Converts a decimal written in a file to thousandths, refusing more precision.
fn milli_from_f64(value: f64) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let scaled = value * SCALE as f64;
    let rounded = scaled.round();
    if (scaled - rounded).abs() > 1e-6 || rounded.abs() > 1e15 {
        return None;
    }
    Some(rounded as i64)
}

/// Writes thousandths as a decimal without trailing zeros (`1.5`, `0.125`, `3`).
fn fmt_milli(milli: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if milli < 0 { "-" } else { "" };
    let abs = milli.unsigned_abs();
    let whole = abs / SCALE as u64;
    let frac = abs % SCALE as u64;
    let text = if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let digits = format!("{frac:03}");
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    };
    f.pad(&text)
}

/// Rounds `n / d` (d > 0) to the nearest integer, halves away from zero.
#[inline]
fn div_round(n: i64, d: i64) -> i64 {
    let half = d / 2;
    if n >= 0 { (n + half) / d } else { (n - half) / d }
}

/// Rounds `a * b / SCALE` to the nearest integer, halves away from zero.
///
/// The common case stays in `i64` (division by a constant is a multiply and
/// a shift); only products beyond `i64` fall back to `i128`.
#[inline]
fn mul_round(a: i64, b: i64) -> i64 {
    match a.checked_mul(b) {
        Some(product) if product.unsigned_abs() < (i64::MAX as u64) - SCALE as u64 => div_round(product, SCALE),
        _ => {
            let product = i128::from(a) * i128::from(b);
            let scale = i128::from(SCALE);
            let half = scale / 2;
            let rounded = if product >= 0 {
                (product + half) / scale
            } else {
                (product - half) / scale
            };
            rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        }
    }
}

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);

    /// Points from whole thousandths (`1500` is 1.5 points).
    pub const fn from_milli(milli: i64) -> Points {
        Points(milli)
    }

    /// Whole points.
    pub const fn whole(points: i64) -> Points {
        Points(points * SCALE)
    }

    /// The value in thousandths.
    pub const fn milli(self) -> i64 {
        self.0
    }

    /// A decimal value, if it has at most three decimals and is finite.
    pub fn from_decimal(value: f64) -> Option<Points> {
        milli_from_f64(value).map(Points)
    }

    /// The value as a float, for display and export only.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// This weight times a quantity, rounded to the nearest thousandth.
    pub fn times(self, qty: Qty) -> Points {
        Points(mul_round(self.0, qty.0))
    }

    /// True when below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The larger of zero and `self`.
    pub fn clamp_zero(self) -> Points {
        Points(self.0.max(0))
    }
}

impl Qty {
    /// Nothing.
    pub const ZERO: Qty = Qty(0);
    /// One.
    pub const ONE: Qty = Qty(SCALE);

    /// A whole count.
    pub const fn whole(count: i64) -> Qty {
        Qty(count * SCALE)
    }

    /// A quantity from whole thousandths.
    pub const fn from_milli(milli: i64) -> Qty {
        Qty(milli)
    }

    /// The value in thousandths.
    pub const fn milli(self) -> i64 {
        self.0
    }

    /// A decimal value, if it has at most three decimals and is finite.
    pub fn from_decimal(value: f64) -> Option<Qty> {
        milli_from_f64(value).map(Qty)
    }

    /// The value as a float, for display only.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// The fraction `numerator / denominator` of this quantity, rounded to a
    /// thousandth, halves away from zero. A zero denominator gives zero.
    pub fn ratio(self, numerator: i64, denominator: i64) -> Qty {
        if denominator == 0 {
            return Qty::ZERO;
        }
        let (numerator, denominator) = if denominator < 0 {
            (-numerator, -denominator)
        } else {
            (numerator, denominator)
        };
        match self.0.checked_mul(numerator) {
            Some(product) if product.unsigned_abs() < (i64::MAX as u64) - denominator as u64 => {
                Qty(div_round(product, denominator))
            }
            _ => {
                let product = i128::from(self.0) * i128::from(numerator);
                let d = i128::from(denominator);
                let rounded = if product >= 0 {
                    (product + d / 2) / d
                } else {
                    (product - d / 2) / d
                };
                Qty(rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
            }
        }
    }

    /// This quantity times another, rounded to a thousandth.
    pub fn times(self, other: Qty) -> Qty {
        Qty(mul_round(self.0, other.0))
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0 + rhs.0)
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, rhs: Points) {
        self.0 += rhs.0;
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, rhs: Points) -> Points {
        Points(self.0 - rhs.0)
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Points> for Points {
    fn sum<I: Iterator<Item = &'a Points>>(iter: I) -> Points {
        iter.copied().sum()
    }
}

impl Add for Qty {
    type Output = Qty;
    fn add(self, rhs: Qty) -> Qty {
        Qty(self.0 + rhs.0)
    }
}

impl Sub for Qty {
    type Output = Qty;
    fn sub(self, rhs: Qty) -> Qty {
        Qty(self.0 - rhs.0)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_milli(self.0, f)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_milli(self.0, f)
    }
}

/// Serialised as a JSON/TOML number with up to three decimals.
impl Serialize for Points {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % SCALE == 0 {
            s.serialize_i64(self.0 / SCALE)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Points, D::Error> {
        let value = f64::deserialize(d)?;
        Points::from_decimal(value).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{value} has more than three decimals; write points to at most three decimals, e.g. 0.125"
            ))
        })
    }
}

impl Serialize for Qty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % SCALE == 0 {
            s.serialize_i64(self.0 / SCALE)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

impl<'de> Deserialize<'de> for Qty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Qty, D::Error> {
        let value = f64::deserialize(d)?;
        Qty::from_decimal(value).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{value} has more than three decimals; write it to at most three decimals"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_display() {
        let cases = [
            (0.0, "0"),
            (1.5, "1.5"),
            (0.125, "0.125"),
            (3.0, "3"),
            (0.1, "0.1"),
            (-2.25, "-2.25"),
            (12.05, "12.05"),
        ];
        for (value, text) in cases {
            let p = Points::from_decimal(value).expect("three decimals");
            assert_eq!(p.to_string(), text, "{value}");
        }
    }

    #[test]
    fn more_than_three_decimals_is_refused() {
        assert_eq!(Points::from_decimal(0.1234), None);
        assert_eq!(Points::from_decimal(f64::NAN), None);
        assert_eq!(Points::from_decimal(f64::INFINITY), None);
        assert_eq!(Qty::from_decimal(1.0005), None);
    }

    #[test]
    fn times_rounds_half_away_from_zero() {
        let cases = [
            // weight, quantity, expected product (all in thousandths)
            (2000, 125, 250),   // 2 × 0.125 = 0.25
            (1500, 3000, 4500), // 1.5 × 3 = 4.5
            (1, 500, 1),        // 0.001 × 0.5 = 0.0005 → 0.001
            (-1, 500, -1),      // −0.0005 → −0.001
            (333, 3000, 999),   // 0.333 × 3
            (1000, 333, 333),   // 1 × 0.333
            (0, 8000, 0),
            // beyond i64: the i128 path gives the same rounding
            (i64::MAX / 1000, 1000, i64::MAX / 1000),
            (4_000_000_000_000, 4_000_000, 16_000_000_000_000_000),
        ];
        for (w, q, expected) in cases {
            assert_eq!(
                Points::from_milli(w).times(Qty::from_milli(q)).milli(),
                expected,
                "{w} × {q}"
            );
        }
    }

    #[test]
    fn ratio_rounds_to_the_nearest_thousandth() {
        let cases = [
            (Qty::whole(1), 1, 3, 333),
            (Qty::whole(2), 1, 3, 667),
            (Qty::whole(3), 8, 24, 1000),
            (Qty::whole(1), 5, 0, 0),
            (Qty::whole(1), 1, 24, 42),
            (Qty::whole(1), -1, 3, -333),
            (Qty::whole(1), 1, -3, -333),
            (Qty::whole(2), -1, -3, 667),
            (Qty::from_milli(i64::MAX / 2), 4, 4, i64::MAX / 2),
        ];
        for (q, n, d, expected) in cases {
            assert_eq!(q.ratio(n, d).milli(), expected, "{q} × {n}/{d}");
        }
    }

    #[test]
    fn serialises_as_plain_numbers() {
        let json = serde_json::to_string(&[Points::whole(3), Points::from_milli(1250)]).unwrap();
        assert_eq!(json, "[3,1.25]");
        let back: Vec<Points> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, vec![Points::whole(3), Points::from_milli(1250)]);
        assert!(serde_json::from_str::<Points>("0.0001").is_err());
    }
}
