//! Inline SVG graphs: pure functions from hourly series to SVG markup.
//!
//! A series is hourly points, oldest first, with missing hours absent. The
//! x axis spans `from ..= last`, where `last` is the start of the range's
//! final hour (`to` is exclusive), so a full series runs edge to edge. A
//! missing hour breaks the line: a new subpath (`M`) starts after every gap.
//! A lone point becomes a zero-length subpath (`h0`), which round line caps
//! draw as a dot. Coordinates are written with one decimal.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use careload_app::view::Point;

/// One hour in seconds.
const HOUR: i64 = 3600;

/// Where a graph is drawn: the SVG's size and the margins around the plot area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// SVG width.
    pub width: f64,
    /// SVG height.
    pub height: f64,
    /// Left margin (room for y-axis labels).
    pub left: f64,
    /// Right margin.
    pub right: f64,
    /// Top margin.
    pub top: f64,
    /// Bottom margin (room for x-axis labels).
    pub bottom: f64,
}

impl Frame {
    /// A frame without margins (sparklines).
    pub fn bare(width: f64, height: f64) -> Frame {
        Frame {
            width,
            height,
            left: 0.0,
            right: 0.0,
            top: 0.0,
            bottom: 0.0,
        }
    }

    fn plot_width(&self) -> f64 {
        (self.width - self.left - self.right).max(0.0)
    }

    fn plot_height(&self) -> f64 {
        (self.height - self.top - self.bottom).max(0.0)
    }
}

/// What a graph shows: the hours on the x axis and `0 ..= y_max` on the y axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Domain {
    /// The first hour (left edge).
    pub from: DateTime<Utc>,
    /// The last hour (right edge), inclusive.
    pub last: DateTime<Utc>,
    /// The top of the y axis.
    pub y_max: f64,
}

impl Domain {
    /// The domain for hours `from .. to` (exclusive end) and values up to `y_max`.
    pub fn hours(from: DateTime<Utc>, to: DateTime<Utc>, y_max: f64) -> Domain {
        let last = if to - from > Duration::hours(1) {
            to - Duration::hours(1)
        } else {
            from
        };
        Domain { from, last, y_max }
    }

    /// The x coordinate of an instant.
    pub fn x(&self, frame: &Frame, t: DateTime<Utc>) -> f64 {
        let span = (self.last - self.from).num_seconds();
        if span <= 0 {
            return frame.left + frame.plot_width() / 2.0;
        }
        let offset = (t - self.from).num_seconds() as f64;
        frame.left + offset / span as f64 * frame.plot_width()
    }

    /// The y coordinate of a value (clamped to the plot area).
    pub fn y(&self, frame: &Frame, value: f64) -> f64 {
        let bottom = frame.top + frame.plot_height();
        if self.y_max <= 0.0 || !value.is_finite() {
            return bottom;
        }
        let share = (value / self.y_max).clamp(0.0, 1.0);
        bottom - share * frame.plot_height()
    }
}

/// The SVG path data (`d`) of a series: `M` starts, then the following
/// points relative to each other (`l`, each pair after the first implicit),
/// a new `M` after each gap, `h0` for a point alone. Coordinates are rounded
/// to tenths first and the steps taken between the rounded points, so the
/// path lands exactly on them however long it is; the steps repeat (one
/// hour is always about as wide), which the cached gzip copy packs tightly.
pub fn line_path(points: &[Point], frame: &Frame, domain: &Domain) -> String {
    let mut d = String::new();
    let mut previous: Option<(DateTime<Utc>, i64, i64)> = None;
    let mut run = 0usize;
    for p in points {
        let x = tenths(domain.x(frame, p.hour));
        let y = tenths(domain.y(frame, p.total.as_f64()));
        match previous {
            Some((hour, px, py)) if (p.hour - hour).num_seconds() == HOUR => {
                d.push(if run == 1 { 'l' } else { ' ' });
                push_pair(&mut d, x - px, y - py);
                run += 1;
            }
            _ => {
                if run == 1 {
                    d.push_str("h0");
                }
                if !d.is_empty() {
                    d.push(' ');
                }
                d.push('M');
                push_pair(&mut d, x, y);
                run = 1;
            }
        }
        previous = Some((p.hour, x, y));
    }
    if run == 1 {
        d.push_str("h0");
    }
    d
}

/// A coordinate in whole tenths.
fn tenths(v: f64) -> i64 {
    (v * 10.0).round() as i64
}

/// `x,y` in tenths.
fn push_pair(d: &mut String, x: i64, y: i64) {
    push_tenths(d, x);
    d.push(',');
    push_tenths(d, y);
}

/// Tenths as the shortest decimal: `-53.4`, `25`, `0.5`.
fn push_tenths(d: &mut String, t: i64) {
    if t < 0 {
        d.push('-');
    }
    let a = t.unsigned_abs();
    let _ = write!(d, "{}", a / 10);
    if !a.is_multiple_of(10) {
        let _ = write!(d, ".{}", a % 10);
    }
}

/// A round top for the y axis at or above `max` (1, 2, 2.5 or 5 times a power of ten); 1 for nothing.
pub fn nice_max(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let step = nice_step(max / 4.0);
    (max / step).ceil() * step
}

/// A round step near `raw`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 2.5 {
        2.5
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// Four or five round y-axis values from 0 to `y_max` (a [`nice_max`]).
pub fn y_ticks(y_max: f64) -> Vec<f64> {
    let step = nice_step(y_max / 4.0);
    let mut ticks = Vec::new();
    let mut i = 0u32;
    loop {
        let v = f64::from(i) * step;
        if v > y_max + step * 1e-9 || i > 20 {
            break;
        }
        ticks.push(v);
        i += 1;
    }
    ticks
}

/// The local midnights in `from ..= last`, as UTC instants with a short local label (`tis 24/11`).
pub fn day_ticks<Tz: TimeZone>(from: DateTime<Utc>, last: DateTime<Utc>, tz: &Tz) -> Vec<(DateTime<Utc>, String)> {
    let mut ticks = Vec::new();
    let Some(first_day) = from.with_timezone(tz).date_naive().succ_opt() else {
        return ticks;
    };
    let mut day = if from.with_timezone(tz).time() == NaiveTime::MIN {
        from.with_timezone(tz).date_naive()
    } else {
        first_day
    };
    for _ in 0..400 {
        let Some(midnight) = tz.from_local_datetime(&day.and_time(NaiveTime::MIN)).earliest() else {
            break;
        };
        let utc = midnight.with_timezone(&Utc);
        if utc > last {
            break;
        }
        ticks.push((utc, day_label(day)));
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    ticks
}

/// A Swedish short day label: weekday and day/month.
fn day_label(day: chrono::NaiveDate) -> String {
    use chrono::Datelike as _;
    let weekday = match day.weekday() {
        chrono::Weekday::Mon => "mån",
        chrono::Weekday::Tue => "tis",
        chrono::Weekday::Wed => "ons",
        chrono::Weekday::Thu => "tor",
        chrono::Weekday::Fri => "fre",
        chrono::Weekday::Sat => "lör",
        chrono::Weekday::Sun => "sön",
    };
    format!("{weekday} {}/{}", day.day(), day.month())
}

/// A value as an axis label: whole numbers without decimals, otherwise up to
/// two decimals with a decimal comma (`2,5`, `0,25`).
fn axis_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.2}");
        text.trim_end_matches('0').replace('.', ",")
    }
}

/// One line of a [`chart`].
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// The points.
    pub points: &'a [Point],
    /// Stroke colour (CSS).
    pub colour: &'a str,
    /// Stroke width.
    pub width: f64,
    /// Dash pattern (`stroke-dasharray`), if any.
    pub dash: Option<&'a str>,
    /// A CSS class for the path (tests and styling).
    pub class: &'a str,
}

/// The highest value of any line.
fn max_of(lines: &[Line<'_>]) -> f64 {
    lines
        .iter()
        .flat_map(|l| l.points.iter())
        .map(|p| p.total.as_f64())
        .fold(0.0, f64::max)
}

/// A full graph: y axis with round values and grid lines, day ticks at local
/// midnight, and the lines. `label` is the SVG's accessible name (already escaped).
pub fn chart<Tz: TimeZone>(
    lines: &[Line<'_>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: &Tz,
    frame: &Frame,
    label: &str,
) -> String {
    let y_max = nice_max(max_of(lines));
    let domain = Domain::hours(from, to, y_max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">"#,
        w = frame.width,
        h = frame.height,
    );
    let x0 = frame.left;
    let x1 = frame.left + frame.plot_width();
    for v in y_ticks(y_max) {
        let y = domain.y(frame, v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}"/><text class="ylab" x="{lx:.1}" y="{ty:.1}" text-anchor="end">{t}</text>"#,
            lx = x0 - 8.0,
            ty = y + 6.0,
            t = axis_label(v),
        );
    }
    let y_top = frame.top;
    let y_bottom = frame.top + frame.plot_height();
    for (at, text) in day_ticks(domain.from, domain.last, tz) {
        let x = domain.x(frame, at);
        let _ = write!(
            s,
            r#"<line class="day" x1="{x:.1}" y1="{y_top:.1}" x2="{x:.1}" y2="{y_bottom:.1}"/><text class="xlab" x="{x:.1}" y="{ty:.1}" text-anchor="middle">{text}</text>"#,
            ty = y_bottom + 24.0,
        );
    }
    for line in lines {
        let d = line_path(line.points, frame, &domain);
        if d.is_empty() {
            continue;
        }
        let dash = line
            .dash
            .map(|p| format!(r#" stroke-dasharray="{p}""#))
            .unwrap_or_default();
        let _ = write!(
            s,
            r#"<path class="{class}" d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linecap="round" stroke-linejoin="round"{dash}/>"#,
            class = line.class,
            colour = line.colour,
            width = line.width,
        );
    }
    s.push_str("</svg>");
    s
}

/// A small graph without axes: one line over `from .. to`, scaled to its own maximum.
pub fn sparkline(points: &[Point], from: DateTime<Utc>, to: DateTime<Utc>, frame: &Frame, label: &str) -> String {
    let max = points.iter().map(|p| p.total.as_f64()).fold(0.0, f64::max);
    let domain = Domain::hours(from, to, if max > 0.0 { max } else { 1.0 });
    let d = line_path(points, frame, &domain);
    let mut s = format!(
        r#"<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" preserveAspectRatio="none" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">"#,
        w = frame.width,
        h = frame.height,
    );
    if !d.is_empty() {
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>"#
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use careload_scoring::Points;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).single().unwrap() + Duration::hours(h)
    }

    fn pt(h: i64, v: i64) -> Point {
        Point {
            hour: at(h),
            total: Points::whole(v),
        }
    }

    #[test]
    fn known_series_gives_known_coordinates() {
        // Hours 0..5 (exclusive): x spans hours 0..=4 over 100 px; y 0..=10 over 50 px.
        let frame = Frame::bare(100.0, 50.0);
        let domain = Domain::hours(at(0), at(5), 10.0);
        let d = line_path(&[pt(0, 0), pt(1, 5), pt(2, 10), pt(3, 5), pt(4, 0)], &frame, &domain);
        assert_eq!(d, "M0,50l25,-25 25,-25 25,25 25,25");
    }

    /// The points a path visits, in tenths: each run's `M`, then its steps added up.
    fn visited(d: &str) -> Vec<(i64, i64)> {
        let num = |t: &str| -> i64 {
            let (whole, tenth) = t
                .trim_start_matches('-')
                .split_once('.')
                .unwrap_or((t.trim_start_matches('-'), "0"));
            let v = whole.parse::<i64>().unwrap() * 10 + tenth.parse::<i64>().unwrap();
            if t.starts_with('-') { -v } else { v }
        };
        let mut out = Vec::new();
        for run in d.split(" M").map(|r| r.trim_start_matches('M').trim_end_matches("h0")) {
            let (start, steps) = run.split_once('l').unwrap_or((run, ""));
            let (x, y) = start.split_once(',').unwrap();
            let mut at = (num(x), num(y));
            out.push(at);
            for step in steps.split(' ').filter(|s| !s.is_empty()) {
                let (dx, dy) = step.split_once(',').unwrap();
                at = (at.0 + num(dx), at.1 + num(dy));
                out.push(at);
            }
        }
        out
    }

    #[test]
    fn a_long_relative_path_lands_on_every_rounded_point() {
        // 120 hours over 200 px: an hour is 1.68 px, so rounded steps vary
        // (1.7, 1.6) and rounding each step instead would drift by pixels.
        let frame = Frame::bare(200.0, 40.0);
        let domain = Domain::hours(at(0), at(120), 50.0);
        let points: Vec<Point> = (0..120)
            .filter(|h| h % 37 != 36)
            .map(|h| pt(h, (h * 13) % 51))
            .collect();
        let d = line_path(&points, &frame, &domain);
        let expected: Vec<(i64, i64)> = points
            .iter()
            .map(|p| {
                (
                    tenths(domain.x(&frame, p.hour)),
                    tenths(domain.y(&frame, p.total.as_f64())),
                )
            })
            .collect();
        assert_eq!(visited(&d), expected, "{d}");
        assert_eq!(d.matches('M').count(), 4, "three gaps: {d}");
        // the x steps repeat: one of two values, which gzip packs tightly
        let steps: std::collections::BTreeSet<&str> = d
            .split(['l', ' '])
            .filter(|s| !s.starts_with('M') && !s.is_empty())
            .filter_map(|s| s.split_once(',').map(|(dx, _)| dx))
            .collect();
        assert_eq!(steps.into_iter().collect::<Vec<_>>(), ["1.6", "1.7"], "{d}");
    }

    #[test]
    fn margins_shift_the_plot_area() {
        let frame = Frame {
            width: 120.0,
            height: 70.0,
            left: 10.0,
            right: 10.0,
            top: 5.0,
            bottom: 15.0,
        };
        let domain = Domain::hours(at(0), at(3), 4.0);
        assert_eq!(line_path(&[pt(0, 4), pt(2, 1)], &frame, &domain), "M10,5h0 M110,42.5h0");
        assert_eq!(line_path(&[pt(1, 2), pt(2, 0)], &frame, &domain), "M60,30l50,25");
    }

    #[test]
    fn a_gap_breaks_the_line() {
        let frame = Frame::bare(100.0, 10.0);
        let domain = Domain::hours(at(0), at(5), 10.0);
        let d = line_path(&[pt(0, 0), pt(1, 10), pt(3, 0), pt(4, 10)], &frame, &domain);
        assert_eq!(d, "M0,10l25,-10 M75,10l25,-10");
        assert_eq!(d.matches('M').count(), 2);
    }

    #[test]
    fn empty_and_single_points_do_not_panic() {
        let frame = Frame::bare(100.0, 10.0);
        let domain = Domain::hours(at(0), at(1), 0.0);
        assert_eq!(line_path(&[], &frame, &domain), "");
        assert_eq!(line_path(&[pt(0, 3)], &frame, &domain), "M50,10h0");
        let empty_range = Domain::hours(at(0), at(0), 5.0);
        assert_eq!(line_path(&[pt(0, 5)], &frame, &empty_range), "M50,0h0");
        assert!(sparkline(&[], at(0), at(1), &frame, "x").starts_with("<svg"));
        assert!(!sparkline(&[], at(0), at(1), &frame, "x").contains("<path"));
        let one = sparkline(&[pt(0, 0)], at(0), at(0), &frame, "x");
        assert!(one.contains("<path"));
        let c = chart(&[], at(0), at(0), &chrono_tz::Europe::Stockholm, &frame, "x");
        assert!(c.ends_with("</svg>"));
    }

    #[test]
    fn values_above_the_axis_are_clamped() {
        let frame = Frame::bare(10.0, 10.0);
        let domain = Domain::hours(at(0), at(2), 5.0);
        assert_eq!(line_path(&[pt(0, 50), pt(1, -3)], &frame, &domain), "M0,0l10,10");
    }

    #[test]
    fn nice_axis_values() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(87.3), 100.0);
        assert_eq!(nice_max(9.0), 10.0);
        assert_eq!(nice_max(430.0), 600.0);
        assert_eq!(y_ticks(100.0), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(y_ticks(10.0), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
    }

    #[test]
    fn day_ticks_fall_on_local_midnight() {
        // 2026-11-20 00:00 UTC is 01:00 in Stockholm (CET): the next local midnight is 23:00 UTC.
        let tz = chrono_tz::Europe::Stockholm;
        let ticks = day_ticks(at(0), at(119), &tz);
        assert_eq!(ticks.len(), 5);
        assert_eq!(ticks[0].0, at(23));
        assert_eq!(ticks[0].1, "lör 21/11");
        assert_eq!(ticks[1].0, at(47));
        let utc = day_ticks(at(0), at(48), &Utc);
        assert_eq!(utc.iter().map(|t| t.0).collect::<Vec<_>>(), vec![at(0), at(24), at(48)]);
    }

    #[test]
    fn day_ticks_follow_daylight_saving_time() {
        // Summer time ends on 2026-10-25: midnight is 22:00 UTC before, 23:00 UTC after.
        let tz = chrono_tz::Europe::Stockholm;
        let from = Utc.with_ymd_and_hms(2026, 10, 23, 12, 0, 0).single().unwrap();
        let last = Utc.with_ymd_and_hms(2026, 10, 27, 12, 0, 0).single().unwrap();
        let hours: Vec<String> = day_ticks(from, last, &tz)
            .iter()
            .map(|(t, label)| format!("{} {label}", t.format("%d %H")))
            .collect();
        assert_eq!(
            hours,
            [
                "23 22 lör 24/10",
                "24 22 sön 25/10",
                "25 23 mån 26/10",
                "26 23 tis 27/10"
            ]
        );
    }

    #[test]
    fn axis_labels_use_a_decimal_comma() {
        assert_eq!(axis_label(50.0), "50");
        assert_eq!(axis_label(2.5), "2,5");
        assert_eq!(axis_label(0.25), "0,25");
    }

    #[test]
    fn chart_has_axes_ticks_and_lines() {
        let frame = Frame {
            width: 400.0,
            height: 200.0,
            left: 40.0,
            right: 10.0,
            top: 10.0,
            bottom: 30.0,
        };
        let points = [pt(0, 10), pt(1, 20), pt(2, 30)];
        let line = Line {
            points: &points,
            colour: "#000",
            width: 3.0,
            dash: None,
            class: "ward",
        };
        let svg = chart(&[line], at(0), at(3), &Utc, &frame, "Vårdintensitet");
        assert!(
            svg.contains(r#"class="ward" d="M40,116.7l175,-53.4 175,-53.3""#),
            "{svg}"
        );
        assert!(svg.contains(">30</text>"));
        assert!(svg.contains(r#"aria-label="Vårdintensitet""#));
    }
}
