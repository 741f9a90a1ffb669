//! The council's calibration page (`/wards/{id}/calibration`, issue 27):
//! what the staff's own ratings of each shift say a point is worth on the
//! ward. The headline is the optimal points per person with its 95 %
//! interval — or, when the fit is not to be trusted, the reasons first and
//! the numbers marked *ej tillförlitlig*; then a scatter of each rated
//! shift's mean rating against its points per person (a dot per shift, its
//! area by its number of ratings) with the fitted line, the 0 line and the
//! optimum with its interval as a band; small scatters and a table for USK
//! and SSK; a table of each team's own fit (*Per vårdlag*: the team's
//! shifts with staff of its own, its ratings); which components of the
//! score move with the ratings; and, for a
//! month (`?month=YYYY-MM`), the shifts where points and ratings disagreed
//! most ([`careload_app::agreement`]). Everything in Swedish, numbers with
//! a decimal comma and the true minus sign, no JavaScript (a dot's details
//! are its SVG `<title>`).

use std::fmt::Write as _;

use careload_app::agreement::{Disagreement, WardAgreement};
use careload_app::calibration::{CalibrationFit, ShiftPoint, TeamCalibration, WardCalibration};
use careload_planning::calibration::ComponentFit;
use careload_planning::words::{count, signed_one_decimal};
use careload_scoring::score::Component;
use chrono::{Datelike as _, Months, NaiveDateTime};

use super::svg::Frame;
use super::{ScreenContext, encode_component, escape, href, local_datetime, page, points};

/// A correlation this far from 0 or farther counts as moving with the
/// ratings (or against them) in the component table.
const MOVES: f64 = 0.2;

/// The Swedish months, for the page's title.
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// A float with two decimals, decimal comma and the true minus sign (`0,42`, `−0,13`).
fn two_decimals(v: f64) -> String {
    let text = format!("{v:.2}").replace('.', ",");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => format!("\u{2212}{rest}"),
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// A rating (or a difference of ratings) with one decimal and its sign: `+1,2`, `−1,5`, `0,0`.
fn rating(v: f64) -> String {
    signed_one_decimal((v * 1000.0).round() as i64)
}

/// A share as a whole percentage: `78 %`.
fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// An optional statistic, `–` when there is none.
fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

/// A month as the page says it: `november 2026`.
fn month_words(label: &str) -> String {
    let (year, month) = label.split_once('-').unwrap_or((label, ""));
    match month.parse::<usize>().ok().and_then(|m| MONTHS.get(m.wrapping_sub(1))) {
        Some(name) => format!("{name} {year}"),
        None => label.to_owned(),
    }
}

/// A component's key (`news2`) in Swedish words, as the other pages name it.
fn component_words(key: &str) -> String {
    Component::ALL
        .iter()
        .find(|c| c.key() == key)
        .map(|&c| super::style::component(c).to_owned())
        .unwrap_or_else(|| key.to_owned())
}

/// A shift in words: `Nattpass 2026-11-12` (its local start's date).
fn shift_words(name: &str, local_start: NaiveDateTime) -> String {
    let name = careload_planning::words::shift_name(name, false);
    let mut chars = name.chars();
    let capital: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{capital} {}", local_start.format("%Y-%m-%d"))
}

/// A link on this server with a query (`month=2026-11`), keeping the kiosk
/// token; escaped for an attribute.
fn link(path: &str, query: &[(&str, &str)], ctx: &ScreenContext) -> String {
    let mut pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    if let Some(token) = &ctx.token {
        pairs.push(format!("token={}", encode_component(token)));
    }
    if pairs.is_empty() {
        escape(path)
    } else {
        escape(&format!("{path}?{}", pairs.join("&")))
    }
}

/// The optimum and its interval in words: `14,2 poäng per person och pass (95 % KI 12,8–15,9)`.
fn optimum_words(fit: &CalibrationFit) -> String {
    match fit.optimal_points_per_person {
        None => "kan inte beräknas".to_owned(),
        Some(o) if o.milli() <= 0 => format!("kan inte anges (linjen korsar 0 vid {} poäng per person)", points(o)),
        Some(o) => {
            let interval = match fit.interval {
                Some(i) => format!("95 % KI {}–{}", points(i.low), points(i.high)),
                None => "95 % KI obegränsat".to_owned(),
            };
            format!("{} poäng per person och pass ({interval})", points(o))
        }
    }
}

/// The fit's numbers in one line: R², Spearman, shifts, ratings, response rate, weeks.
fn facts(fit: &CalibrationFit) -> String {
    format!(
        "R² {} · Spearman {} · {} · {} · svarsfrekvens {} · {}",
        or_dash(fit.r_squared.map(two_decimals)),
        or_dash(fit.spearman.map(two_decimals)),
        count(u64::from(fit.shifts), "skattat pass", "skattade pass"),
        count(u64::from(fit.ratings), "skattning", "skattningar"),
        or_dash(fit.response_rate.map(percent)),
        count(u64::from(fit.weeks), "vecka", "veckor"),
    )
}

/// The headline of the fit of both professions: the optimum, or the reasons not to trust it first.
fn headline(fit: &CalibrationFit) -> String {
    let mut out = String::new();
    if !fit.reliable {
        out.push_str(
            r#"<div class="banner unreliable" role="alert" id="unreliable"><span class="sym">!</span> <strong>Ej tillförlitlig.</strong> Nivån nedan ska inte styra bemanningen ännu:<ul class="reasons">"#,
        );
        for r in &fit.reasons {
            let _ = write!(out, r#"<li data-reason="{}">{}</li>"#, escape(&r.code), escape(&r.text));
        }
        out.push_str("</ul></div>");
    }
    let _ = write!(
        out,
        r#"<p class="headline{class}" id="optimum">Optimal belastning: {words}{mark}</p><p class="facts">{facts}</p>"#,
        class = if fit.reliable { "" } else { " unreliable" },
        words = escape(&optimum_words(fit)),
        mark = if fit.reliable {
            ""
        } else {
            r#" <span class="flag">ej tillförlitlig</span>"#
        },
        facts = escape(&facts(fit)),
    );
    out
}

/// A round step near `raw`: 1, 2, 2.5 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = [1.0, 2.0, 2.5, 5.0]
        .into_iter()
        .find(|&n| fraction <= n)
        .unwrap_or(10.0);
    nice * power
}

/// An axis value: whole numbers bare, else with a decimal comma (`12,5`).
fn axis_value(v: f64) -> String {
    let text = if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v.abs())
    } else {
        format!("{:.1}", v.abs()).replace('.', ",")
    };
    if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("\u{2212}{text}")
    } else {
        text
    }
}

/// The x axis of a scatter: round ends around the shifts' points per person
/// (and the optimum with its interval, when near), and its step.
fn x_axis(fit: &CalibrationFit, rated: &[(&ShiftPoint, f64)]) -> (f64, f64, f64) {
    let xs: Vec<f64> = rated.iter().map(|(p, _)| p.points_per_person.as_f64()).collect();
    let (mut lo, mut hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    let span = (hi - lo).max(1.0);
    let (low_end, high_end) = (lo - span, hi + span);
    // an optimum at or below 0 points (no signal) does not stretch the axis below 0
    let near = |v: f64| v.is_finite() && v >= low_end.max(0.0) && v <= high_end;
    let mut extra: Vec<f64> = fit.optimal_points_per_person.map(|o| o.as_f64()).into_iter().collect();
    if let Some(i) = fit.interval {
        extra.extend([i.low.as_f64(), i.high.as_f64()]);
    }
    for v in extra.into_iter().filter(|&v| near(v)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let step = nice_step((hi - lo).max(1.0) / 6.0);
    let lo = ((lo / step).floor() * step).max(if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY });
    let hi = (hi / step).ceil() * step;
    let hi = if hi - lo < step { lo + step } else { hi };
    (lo, hi, step)
}

/// A scatter of one fit's rated shifts: x points per person, y mean rating
/// (−3 … +3, 0 optimal), a dot per rated shift (area by its ratings), the
/// fitted line, the optimum on the 0 line and its interval as a band.
/// `small` draws it for a side column. Without a rated shift, a line saying so.
fn scatter(fit: &CalibrationFit, label: &str, small: bool) -> String {
    let rated: Vec<(&ShiftPoint, f64)> = fit
        .points
        .iter()
        .filter_map(|p| Some((p, p.mean_rating?)))
        .filter(|(_, y)| y.is_finite())
        .collect();
    if rated.is_empty() {
        return r#"<p class="noscatter muted">Inga skattade pass att visa.</p>"#.to_owned();
    }
    let frame = if small {
        Frame {
            width: 560.0,
            height: 330.0,
            left: 62.0,
            right: 14.0,
            top: 14.0,
            bottom: 58.0,
        }
    } else {
        Frame {
            width: 1000.0,
            height: 470.0,
            left: 76.0,
            right: 20.0,
            top: 16.0,
            bottom: 62.0,
        }
    };
    let (pw, ph) = (
        frame.width - frame.left - frame.right,
        frame.height - frame.top - frame.bottom,
    );
    let (lo, hi, step) = x_axis(fit, &rated);
    let x = |v: f64| frame.left + (v.clamp(lo, hi) - lo) / (hi - lo) * pw;
    let y = |r: f64| frame.top + (3.0 - r.clamp(-3.0, 3.0)) / 6.0 * ph;
    let (left, right, top, bottom) = (frame.left, frame.left + pw, frame.top, frame.top + ph);
    let mut s = format!(
        r#"<svg class="scatter" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">"#,
        w = frame.width,
        h = frame.height,
        label = escape(label),
    );
    // the optimum's interval: a band over the plot's height
    if let Some(i) = fit.interval {
        let (a, b) = (x(i.low.as_f64()), x(i.high.as_f64()));
        if b > a {
            let _ = write!(
                s,
                r#"<rect class="ci" x="{a:.1}" y="{top:.1}" width="{:.1}" height="{ph:.1}"/>"#,
                b - a
            );
        }
    }
    // the rating grid, −3 … +3, the 0 line heavier
    for r in -3..=3 {
        let yy = y(f64::from(r));
        let _ = write!(
            s,
            r#"<line class="{class}" x1="{left:.1}" y1="{yy:.1}" x2="{right:.1}" y2="{yy:.1}"/><text class="ylab" x="{lx:.1}" y="{ty:.1}" text-anchor="end">{t}</text>"#,
            class = if r == 0 { "zero" } else { "grid" },
            lx = left - 8.0,
            ty = yy + 5.0,
            t = super::rate::signed(r),
        );
    }
    // the points-per-person ticks
    let mut v = lo;
    while v <= hi + step * 1e-6 {
        let xx = x(v);
        let _ = write!(
            s,
            r#"<line class="xtick" x1="{xx:.1}" y1="{bottom:.1}" x2="{xx:.1}" y2="{:.1}"/><text class="xlab" x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 6.0,
            bottom + 24.0,
            axis_value(v)
        );
        v += step;
    }
    let _ = write!(
        s,
        r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">Poäng per närvarande person och pass</text>"#,
        left + pw / 2.0,
        frame.height - 8.0
    );
    let _ = write!(
        s,
        r#"<text class="axis" transform="translate({:.1} {:.1}) rotate(-90)" text-anchor="middle">Medelskattning</text>"#,
        18.0,
        top + ph / 2.0
    );
    let _ = write!(
        s,
        r#"<text class="hint" x="{:.1}" y="{:.1}">↑ tyngre än optimalt</text><text class="hint" x="{:.1}" y="{:.1}">↓ lättare än optimalt</text>"#,
        left + 8.0,
        top + 18.0,
        left + 8.0,
        bottom - 8.0
    );
    // one dot per rated shift, its area by its ratings
    // the radius grows with √ratings (so the area with the ratings) up to 36 ratings
    let unit = if small { 2.2 } else { 3.0 };
    for (p, mean) in &rated {
        let r = unit * f64::from(p.ratings.clamp(1, 36)).sqrt();
        let _ = write!(
            s,
            r#"<circle class="dot" cx="{:.1}" cy="{:.1}" r="{r:.1}"><title>{}</title></circle>"#,
            x(p.points_per_person.as_f64()),
            y(*mean),
            escape(&format!(
                "{} {}: {} poäng/person, medel {} ({})",
                shift_words(&p.shift, p.local_start),
                p.local_start.format("%H:%M"),
                points(p.points_per_person),
                rating(*mean),
                count(u64::from(p.ratings), "skattning", "skattningar")
            )),
        );
    }
    // the fitted line, cut to the plot
    if let (Some(a), Some(b)) = (fit.intercept, fit.slope) {
        let (mut x0, mut x1) = (lo, hi);
        if b.abs() > 1e-12 {
            let (at_low, at_high) = ((-3.0 - a) / b, (3.0 - a) / b);
            let (first, last) = if at_low < at_high {
                (at_low, at_high)
            } else {
                (at_high, at_low)
            };
            x0 = x0.max(first);
            x1 = x1.min(last);
        }
        if x1 > x0 && (b.abs() > 1e-12 || (-3.0..=3.0).contains(&a)) {
            let _ = write!(
                s,
                r#"<line class="fit" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
                x(x0),
                y(a + b * x0),
                x(x1),
                y(a + b * x1)
            );
        }
    }
    // the optimum, on the 0 line
    if let Some(o) = fit.optimal_points_per_person {
        let v = o.as_f64();
        if v >= lo && v <= hi {
            let (ox, oy) = (x(v), y(0.0));
            let d = if small { 7.0 } else { 9.0 };
            let _ = write!(
                s,
                r#"<path class="optimum" d="M{ox:.1},{:.1}L{:.1},{oy:.1}L{ox:.1},{:.1}L{:.1},{oy:.1}Z"/><text class="olab" x="{ox:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                oy - d,
                ox + d,
                oy + d,
                ox - d,
                oy - d - 6.0,
                escape(&points(o)),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The legend under the large scatter.
fn legend() -> &'static str {
    concat!(
        r#"<div class="legend cal-legend">"#,
        r##"<span><svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true"><circle cx="11" cy="11" r="7" fill="#0072B2" fill-opacity=".55" stroke="#003d7a"/></svg> ett skattat pass (ytan efter antalet skattningar)</span>"##,
        r##"<span><svg width="34" height="14" viewBox="0 0 34 14" aria-hidden="true"><line x1="2" y1="7" x2="32" y2="7" stroke="#D55E00" stroke-width="3"/></svg> anpassad linje</span>"##,
        r##"<span><svg width="34" height="18" viewBox="0 0 34 18" aria-hidden="true"><rect x="4" y="1" width="26" height="16" fill="#fdd49e"/><path d="M17,3L23,9L17,15L11,9Z" fill="#000"/></svg> optimal nivå och dess 95 % konfidensintervall</span>"##,
        "</div>"
    )
}

/// The three fits side by side in a table.
fn fits_table(c: &WardCalibration) -> String {
    let mut out = String::from(concat!(
        r#"<table class="fits overview"><thead><tr><th>Yrke</th><th class="num">Optimal belastning</th><th class="num">95 % KI</th>"#,
        r#"<th class="num">R²</th><th class="num">Spearman</th><th class="num">Skattade pass</th><th class="num">Skattningar</th>"#,
        r#"<th class="num">Svarsfrekvens</th><th class="num">Veckor</th><th>Tillförlitlig</th></tr></thead><tbody>"#
    ));
    for (name, key, fit) in [
        ("Båda yrkena", "together", &c.together),
        ("USK", "usk", &c.usk),
        ("SSK", "ssk", &c.ssk),
    ] {
        let interval = interval_cell(fit);
        let reliable = reliable_cell(fit);
        let _ = write!(
            out,
            r#"<tr data-fit="{key}"><td>{name}</td><td class="num">{optimum}</td><td class="num">{interval}</td><td class="num">{r2}</td><td class="num">{rho}</td><td class="num">{shifts}</td><td class="num">{ratings}</td><td class="num">{rate}</td><td class="num">{weeks}</td><td class="why">{reliable}</td></tr>"#,
            optimum = or_dash(fit.optimal_points_per_person.map(points)),
            r2 = or_dash(fit.r_squared.map(two_decimals)),
            rho = or_dash(fit.spearman.map(two_decimals)),
            shifts = fit.shifts,
            ratings = fit.ratings,
            rate = or_dash(fit.response_rate.map(percent)),
            weeks = fit.weeks,
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// A fit's interval in a table cell: `12,8–15,9`, `obegränsat` or `–`.
fn interval_cell(fit: &CalibrationFit) -> String {
    match (fit.optimal_points_per_person, fit.interval) {
        (_, Some(i)) => format!("{}–{}", points(i.low), points(i.high)),
        (Some(_), None) => "obegränsat".to_owned(),
        (None, None) => "–".to_owned(),
    }
}

/// Whether to trust a fit, in a table cell: `✔ ja`, or `✖ nej` and the reasons (escaped).
fn reliable_cell(fit: &CalibrationFit) -> String {
    if fit.reliable {
        r#"<span class="ok">✔ ja</span>"#.to_owned()
    } else {
        let reasons: Vec<String> = fit.reasons.iter().map(|r| escape(&r.text)).collect();
        format!(
            r#"<span class="no">✖ nej</span> <span class="muted">{}</span>"#,
            reasons.join("; ")
        )
    }
}

/// Each team's own fit in a table (*Per vårdlag*); a team without a shift
/// of its own says so instead of its reasons.
fn teams_table(teams: &[TeamCalibration]) -> String {
    let mut out = String::from(concat!(
        r#"<table class="fits teams overview"><thead><tr><th>Vårdlag</th><th class="num">Egna pass</th>"#,
        r#"<th class="num">Optimal belastning</th><th class="num">95 % KI</th><th class="num">R²</th>"#,
        r#"<th class="num">Skattade pass</th><th class="num">Skattningar</th><th class="num">Svarsfrekvens</th>"#,
        r#"<th>Tillförlitlig</th></tr></thead><tbody>"#
    ));
    for t in teams {
        let fit = &t.fit;
        let reliable = if t.own_shifts == 0 {
            r#"<span class="no">✖ nej</span> <span class="muted">inget pass med egen planerad bemanning i perioden</span>"#
                .to_owned()
        } else {
            reliable_cell(fit)
        };
        let _ = write!(
            out,
            r#"<tr data-team="{id}"><td>{name}</td><td class="num">{own}</td><td class="num">{optimum}</td><td class="num">{interval}</td><td class="num">{r2}</td><td class="num">{shifts}</td><td class="num">{ratings}</td><td class="num">{rate}</td><td class="why">{reliable}</td></tr>"#,
            id = escape(&t.id),
            name = escape(&t.name),
            own = t.own_shifts,
            optimum = or_dash(fit.optimal_points_per_person.map(points)),
            interval = interval_cell(fit),
            r2 = or_dash(fit.r_squared.map(two_decimals)),
            shifts = fit.shifts,
            ratings = fit.ratings,
            rate = or_dash(fit.response_rate.map(percent)),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// How a component moves with the ratings, in words.
fn moves_words(f: &ComponentFit) -> &'static str {
    match f.correlation {
        None => "varierar inte",
        Some(r) if r >= MOVES => "följer skattningarna",
        Some(r) if r <= -MOVES => "går emot skattningarna",
        Some(_) => "följer inte skattningarna",
    }
}

/// What a component's partial correlation suggests, in words.
fn partial_words(f: &ComponentFit) -> &'static str {
    match f.partial_correlation {
        None => "–",
        Some(r) if r >= MOVES => "tyngre än totalen säger: kan vara undervärderad",
        Some(r) if r <= -MOVES => "lättare än totalen säger: kan vara övervärderad",
        Some(_) => "totalen bär den redan",
    }
}

/// The component table: which components move with the ratings and which do not.
fn components_table(components: &[ComponentFit]) -> String {
    if components.is_empty() {
        return r#"<p class="muted">Inga komponenter att jämföra: inga skattade pass.</p>"#.to_owned();
    }
    let mut ordered: Vec<&ComponentFit> = components.iter().collect();
    let position = |f: &ComponentFit| {
        Component::ALL
            .iter()
            .position(|c| c.key() == f.component)
            .unwrap_or(Component::ALL.len())
    };
    ordered.sort_by_key(|f| position(f));
    let mut out = String::from(concat!(
        r#"<table class="cal-components overview"><thead><tr><th>Komponent</th><th class="num">Pass med poäng</th>"#,
        r#"<th class="num">Korrelation</th><th>Med skattningarna</th><th class="num">Partiell korrelation</th>"#,
        r#"<th>Utöver totalen</th></tr></thead><tbody>"#
    ));
    for f in ordered {
        let _ = write!(
            out,
            r#"<tr data-component="{key}"><td>{name}</td><td class="num">{n}</td><td class="num">{r}</td><td>{moves}</td><td class="num">{pr}</td><td>{partial}</td></tr>"#,
            key = escape(&f.component),
            name = escape(&component_words(&f.component)),
            n = f.shifts_with_points,
            r = or_dash(f.correlation.map(two_decimals)),
            moves = moves_words(f),
            pr = or_dash(f.partial_correlation.map(two_decimals)),
            partial = partial_words(f),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// One disagreeing shift in a sentence, with what its components showed.
fn disagreement_item(d: &Disagreement) -> String {
    let direction = if d.residual > 0.0 {
        "tyngre än poängen säger: det poängen inte såg?"
    } else {
        "lättare än poängen säger: räknade poängen för mycket?"
    };
    let mut text = format!(
        "{}: {} poäng/person men bedömt {} (väntat {}; {}): {direction}",
        shift_words(&d.shift, d.local_start),
        points(d.points_per_person),
        rating(d.mean_rating),
        rating(d.fitted_rating),
        count(u64::from(d.ratings), "skattning", "skattningar"),
    );
    let mut unusual: Vec<_> = d.components.iter().filter(|c| c.difference.milli() != 0).collect();
    unusual.sort_by_key(|c| std::cmp::Reverse(c.difference.milli().abs()));
    let above: Vec<String> = unusual
        .iter()
        .filter(|c| c.difference.milli() > 0)
        .take(3)
        .map(|c| {
            format!(
                "{} {}",
                component_words(&c.component),
                signed_one_decimal(c.difference.milli())
            )
        })
        .collect();
    let below: Vec<String> = unusual
        .iter()
        .filter(|c| c.difference.milli() < 0)
        .take(2)
        .map(|c| {
            format!(
                "{} {}",
                component_words(&c.component),
                signed_one_decimal(c.difference.milli())
            )
        })
        .collect();
    if !above.is_empty() {
        let _ = write!(text, " Över månadens snitt: {}.", above.join(", "));
    }
    if !below.is_empty() {
        let _ = write!(text, " Under: {}.", below.join(", "));
    }
    format!(
        r#"<li class="disagreement" data-start="{}" data-residual="{}">{}</li>"#,
        d.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        if d.residual > 0.0 { "heavier" } else { "lighter" },
        escape(&text)
    )
}

/// The month's largest disagreements.
fn disagreements_section(a: &WardAgreement) -> String {
    let mut out = String::from(r#"<section class="disagreements" id="disagreements"><h2>Största avvikelser</h2>"#);
    if a.disagreements.is_empty() {
        out.push_str(r#"<p class="muted">Inga avvikelser att visa: ingen linje kunde anpassas för månaden.</p>"#);
    } else {
        out.push_str(concat!(
            r#"<p class="muted">De skattade pass vars medelskattning låg längst från linjen, viktat med antalet "#,
            r#"skattningar (skattningar × avvikelse²), störst först; komponenterna är poäng per person jämfört med "#,
            r#"månadens snitt.</p><ol class="disagreement-list">"#
        ));
        for d in &a.disagreements {
            out.push_str(&disagreement_item(d));
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>");
    out
}

/// What the window held and left out.
fn basis(c: &WardCalibration) -> String {
    let mut s = format!(
        "Underlag: {} i perioden",
        count(u64::from(c.shifts_in_window), "avslutat pass", "avslutade pass")
    );
    if c.shifts_without_planned_staffing > 0 || c.shifts_without_hours > 0 {
        let _ = write!(
            s,
            "; utan planerad bemanning {} och utan lagrade timmar {} (de är inte med)",
            c.shifts_without_planned_staffing, c.shifts_without_hours
        );
    }
    if c.ratings_outside_shifts > 0 {
        let _ = write!(
            s,
            "; {} på pass som inte finns i schemat räknas inte",
            count(u64::from(c.ratings_outside_shifts), "skattning", "skattningar")
        );
    }
    s.push('.');
    if c.weights_versions.len() > 1 {
        let _ = write!(
            s,
            " Poängen kommer från flera viktversioner ({}): de är inte helt jämförbara.",
            c.weights_versions.join(", ")
        );
    }
    escape(&s)
}

/// The page: the window's calibration, and the month's disagreements when `agreement` is given.
pub(super) fn render(c: &WardCalibration, agreement: Option<&WardAgreement>, ctx: &ScreenContext) -> String {
    let ward_path = format!("/wards/{}/calibration", encode_component(&c.id));
    let nowrap = |t: NaiveDateTime| format!(r#"<span class="nowrap">{}</span>"#, t.format("%Y-%m-%d %H:%M"));
    let period = match agreement {
        Some(a) => escape(&format!(
            "Månad: {}{}",
            month_words(&a.month),
            if a.complete { "" } else { " (pågår)" }
        )),
        None => format!("Period: {} – {}", nowrap(c.local_from), nowrap(c.local_to)),
    };
    let mut body = format!(
        r#"<div class="cal-page"><header class="top"><div class="title"><h1>Kalibrering – {name}</h1><div class="asof">Personalens skattningar av passen mot poäng per närvarande person · {period}</div></div>"#,
        name = escape(&c.name),
    );
    // links: the rolling window and the last three complete months
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let _ = write!(
        body,
        r#"<nav class="nav"><a href="{}">Senaste perioden</a>"#,
        link(&ward_path, &[], ctx)
    );
    for back in 1..=3 {
        if let Some(m) = first.checked_sub_months(Months::new(back)) {
            let label = format!("{:04}-{:02}", m.year(), m.month());
            let _ = write!(
                body,
                r#" · <a href="{}">{}</a>"#,
                link(&ward_path, &[("month", &label)], ctx),
                escape(&month_words(&label))
            );
        }
    }
    let _ = write!(
        body,
        r#" · <a href="{}">Bemanning</a></nav></header>"#,
        href(&format!("/wards/{}/planning", encode_component(&c.id)), ctx)
    );

    body.push_str(r#"<section class="cal-main">"#);
    body.push_str(&headline(&c.together));
    body.push_str(&scatter(
        &c.together,
        &format!("Medelskattning mot poäng per person, båda yrkena, {}", c.name),
        false,
    ));
    if c.together.points.iter().any(|p| p.mean_rating.is_some()) {
        body.push_str(legend());
    }
    let _ = write!(body, r#"<p class="muted basis">{}</p></section>"#, basis(c));

    body.push_str(r#"<section class="cal-professions"><h2>Per yrke</h2>"#);
    body.push_str(&fits_table(c));
    body.push_str(r#"<div class="cal-small">"#);
    for (name, fit) in [("USK", &c.usk), ("SSK", &c.ssk)] {
        let _ = write!(
            body,
            r#"<figure class="cal-fit" data-fit="{}"><figcaption><strong>{name}</strong>: optimal belastning {}{}</figcaption>{}</figure>"#,
            name.to_lowercase(),
            escape(&optimum_words(fit)),
            if fit.reliable { "" } else { " · ej tillförlitlig" },
            scatter(fit, &format!("Medelskattning mot poäng per person, {name}"), true),
        );
    }
    body.push_str("</div></section>");

    if !c.teams.is_empty() {
        body.push_str(r#"<section class="cal-teams"><h2>Per vårdlag</h2>"#);
        body.push_str(&teams_table(&c.teams));
        body.push_str(concat!(
            r#"<p class="muted">Vårdlagets egna pass: de pass där vårdlaget har egen planerad bemanning (inte pass "#,
            "planerade för hela avdelningen, som natten oftast är). Vårdlagets poäng ställs mot vårdlagets närvarande ",
            "personal, båda yrkena, och mot skattningarna som lämnats för vårdlaget. Samma minimikrav som för ",
            "avdelningen.</p></section>"
        ));
    }

    if let Some(a) = agreement {
        body.push_str(&disagreements_section(a));
    }

    body.push_str(r#"<section class="cal-comp"><h2>Komponenterna och skattningarna</h2>"#);
    body.push_str(&components_table(&c.components));
    let _ = write!(
        body,
        r#"<p class="muted">Korrelation: hur komponentens poäng per person följer passets medelskattning (|r| ≥ {}). Partiell korrelation: om komponenten säger mer om hur passet kändes än dess andel av totalen redan gör. Beskrivande, inte en ny viktning.</p></section>"#,
        two_decimals(MOVES)
    );

    body.push_str(concat!(
        r#"<section class="method"><h2>Metoden och dess gränser</h2><p>"#,
        "Efter varje pass skattar personalen arbetsbelastningen från −3 till +3 (0 = optimal, som i RAFAELA:s ",
        "PAONCIL); passets medelskattning ställs mot dess poäng per närvarande person i en linjär regression viktad ",
        "med antalet skattningar, och den optimala belastningen är där linjen korsar 0, med Fiellers 95 % ",
        "konfidensintervall. Skattningarna är personalens upplevelse och säger hur poängen hänger ihop med den, inte ",
        "vad som orsakar den: nivån gäller bara när svarsfrekvens, antal veckor och R² når minimikraven, och ",
        "bemanningen avgör fortfarande rådet.</p></section>"
    ));
    let _ = write!(
        body,
        r#"<footer>Sidan skapad {} · careload</footer></div>"#,
        escape(&local_datetime(ctx.now, ctx))
    );
    page(&format!("Kalibrering – {}", c.name), &body, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::tests::{assert_balanced, assert_no_hyphen_minus, ctx};
    use careload_app::calibration::CalibrationReason;
    use careload_planning::calibration::{CalibrationRules, Interval, Unreliable};
    use careload_scoring::Points;
    use chrono::{Duration, NaiveDate, TimeZone as _, Utc};

    fn point(i: i64, x: f64, mean: Option<f64>, ratings: u32) -> ShiftPoint {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).single().unwrap() + Duration::hours(8 * i);
        ShiftPoint {
            start,
            local_start: start.with_timezone(&chrono_tz::Europe::Stockholm).naive_local(),
            shift: ["day", "evening", "night"][(i % 3) as usize].into(),
            need: Points::from_milli((x * 4000.0) as i64),
            present: 4,
            points_per_person: Points::from_milli((x * 1000.0) as i64),
            ratings,
            mean_rating: mean,
            extrapolated_minutes: 0,
            components: std::collections::BTreeMap::new(),
        }
    }

    fn fit(reliable: bool) -> CalibrationFit {
        let points = vec![
            point(0, 10.0, Some(-1.5), 4),
            point(1, 14.0, Some(0.0), 1),
            point(2, 18.0, Some(1.25), 9),
            point(3, 22.0, None, 0),
        ];
        let reasons = if reliable {
            Vec::new()
        } else {
            vec![CalibrationReason::from(&Unreliable::TooFewWeeks {
                weeks: 1,
                minimum: 4,
            })]
        };
        CalibrationFit {
            optimal_points_per_person: Some(Points::from_milli(14_200)),
            interval: Some(Interval {
                low: Points::from_milli(12_800),
                high: Points::from_milli(15_900),
            }),
            slope: Some(0.35),
            intercept: Some(-4.97),
            r_squared: Some(0.42),
            spearman: Some(-0.13),
            shifts: 3,
            unrated_shifts: 1,
            shifts_without_staff: 0,
            ratings: 14,
            staff_present: 16,
            response_rate: Some(0.78),
            weeks: 1,
            reliable,
            reasons,
            points,
        }
    }

    fn calibration(reliable: bool) -> WardCalibration {
        let from = Utc.with_ymd_and_hms(2026, 10, 1, 6, 0, 0).single().unwrap();
        let to = from + Duration::weeks(8);
        WardCalibration {
            id: "avd <12>".into(),
            name: "Avd 12 & Kirurgi".into(),
            from,
            to,
            local_from: NaiveDate::from_ymd_opt(2026, 10, 1)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap(),
            local_to: NaiveDate::from_ymd_opt(2026, 11, 26)
                .unwrap()
                .and_hms_opt(7, 0, 0)
                .unwrap(),
            rules: CalibrationRules::default(),
            shifts_in_window: 168,
            shifts_without_planned_staffing: 2,
            shifts_without_hours: 0,
            ratings_outside_shifts: 1,
            weights_versions: vec!["2026.1".into()],
            together: fit(reliable),
            usk: fit(reliable),
            ssk: CalibrationFit {
                points: Vec::new(),
                optimal_points_per_person: None,
                interval: None,
                ..fit(false)
            },
            components: vec![
                ComponentFit {
                    component: "news2".into(),
                    shifts_with_points: 3,
                    slope: Some(0.5),
                    correlation: Some(0.61),
                    partial_correlation: Some(0.3),
                },
                ComponentFit {
                    component: "medications".into(),
                    shifts_with_points: 3,
                    slope: Some(-0.1),
                    correlation: Some(0.05),
                    partial_correlation: Some(-0.25),
                },
                ComponentFit {
                    component: "modifiers".into(),
                    shifts_with_points: 0,
                    slope: None,
                    correlation: None,
                    partial_correlation: None,
                },
            ],
            teams: vec![
                TeamCalibration {
                    id: "a<1>".into(),
                    name: "Lag A & B".into(),
                    own_shifts: 4,
                    fit: fit(reliable),
                },
                TeamCalibration {
                    id: "c".into(),
                    name: "Lag C".into(),
                    own_shifts: 0,
                    fit: CalibrationFit {
                        points: Vec::new(),
                        optimal_points_per_person: None,
                        interval: None,
                        r_squared: None,
                        response_rate: None,
                        shifts: 0,
                        ratings: 0,
                        ..fit(false)
                    },
                },
            ],
        }
    }

    /// The page's text without its tags.
    fn text(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.split("</style>").last().unwrap_or(html).chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn a_reliable_fit_leads_with_the_optimal_level() {
        let html = render(&calibration(true), None, &ctx());
        let t = text(&html);
        assert!(
            t.contains("Optimal belastning: 14,2 poäng per person och pass (95 % KI 12,8–15,9)"),
            "{t}"
        );
        assert!(
            t.contains("R² 0,42 · Spearman −0,13 · 3 skattade pass · 14 skattningar · svarsfrekvens 78 % · 1 vecka"),
            "{t}"
        );
        assert!(!html.contains(r#"id="unreliable""#));
        let headline = html
            .split(r#"id="optimum""#)
            .nth(1)
            .unwrap()
            .split("</p>")
            .next()
            .unwrap();
        assert!(!headline.contains("ej tillförlitlig"), "the together fit is trusted");
        // escaped ward name and id
        assert!(html.contains("Avd 12 &amp; Kirurgi") && !html.contains("Avd 12 & Kirurgi"));
        assert!(
            html.contains("/wards/avd%20%3C12%3E/calibration?month=2026-10"),
            "month links"
        );
        assert!(!html.contains("<script"));
        assert_balanced(&html);
        assert_no_hyphen_minus(&html);
    }

    #[test]
    fn an_unreliable_fit_says_why_first_and_marks_its_numbers() {
        let html = render(&calibration(false), None, &ctx());
        let banner = html.find(r#"id="unreliable""#).expect("the reasons");
        let optimum = html.find(r#"id="optimum""#).expect("the numbers still");
        assert!(banner < optimum, "the reasons come before the numbers");
        assert!(html.contains(r#"<li data-reason="too_few_weeks">för få veckor: 1 (minst 4)</li>"#));
        assert!(
            text(&html)
                .contains("Optimal belastning: 14,2 poäng per person och pass (95 % KI 12,8–15,9) ej tillförlitlig")
        );
        assert_balanced(&html);
        assert_no_hyphen_minus(&html);
    }

    #[test]
    fn the_scatter_has_a_dot_per_rated_shift_the_line_the_zero_and_the_optimum() {
        let c = calibration(true);
        let svg = scatter(&c.together, "test", false);
        assert_eq!(svg.matches(r#"class="dot""#).count(), 3, "the unrated shift has no dot");
        assert_eq!(svg.matches(r#"class="fit""#).count(), 1);
        assert_eq!(svg.matches(r#"class="zero""#).count(), 1);
        assert_eq!(svg.matches(r#"class="optimum""#).count(), 1);
        assert_eq!(svg.matches(r#"class="ci""#).count(), 1);
        // area by ratings: nine ratings give three times the radius of one
        let radii: Vec<f64> = svg
            .split(r#"class="dot""#)
            .skip(1)
            .map(|s| {
                let r = s.split(r#" r=""#).nth(1).unwrap().split('"').next().unwrap();
                r.parse().unwrap()
            })
            .collect();
        assert!((radii[2] / radii[1] - 3.0).abs() < 0.05, "{radii:?}");
        assert!(
            svg.contains("<title>Nattpass 2026-11-02 23:00: 18,0 poäng/person, medel +1,3 (9 skattningar)</title>"),
            "{svg}"
        );
        // x ticks over the rated shifts' 10 … 18 (the unrated 22 is not drawn)
        assert!(svg.contains(">10</text>") && svg.contains(">18</text>"), "{svg}");
        assert!(!svg.contains(">22</text>"), "{svg}");
        // none rated: no chart, a line saying so
        let empty = scatter(&c.ssk, "test", true);
        assert!(!empty.contains("<svg") && empty.contains("Inga skattade pass"));
    }

    #[test]
    fn an_optimum_below_zero_does_not_stretch_the_axis_below_zero() {
        let mut f = fit(false);
        f.optimal_points_per_person = Some(Points::from_milli(-26_200));
        f.interval = None;
        let svg = scatter(&f, "no signal", false);
        let x_labels: Vec<&str> = svg
            .split(r#"class="xlab""#)
            .skip(1)
            .map(|t| t.split('>').nth(1).unwrap().trim_end_matches("</text"))
            .collect();
        assert_eq!(
            x_labels.first(),
            Some(&"10"),
            "the axis spans the shifts only: {x_labels:?}"
        );
        assert!(x_labels.iter().all(|l| !l.starts_with('−')), "{x_labels:?}");
        assert!(!svg.contains(r#"class="optimum""#), "the optimum is off the axis");
        assert_no_hyphen_minus(&svg);
    }

    #[test]
    fn the_fitted_line_stays_inside_the_plot() {
        let mut f = fit(true);
        f.slope = Some(3.0);
        f.intercept = Some(-42.0);
        let svg = scatter(&f, "steep", false);
        let line = svg.split(r#"<line class="fit" "#).nth(1).unwrap();
        let coord = |name: &str| -> f64 {
            line.split(&format!(r#"{name}=""#))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        for y in [coord("y1"), coord("y2")] {
            assert!((16.0 - 0.05..=16.0 + 392.0 + 0.05).contains(&y), "{y}");
        }
    }

    #[test]
    fn components_are_named_in_swedish_in_the_scores_order() {
        let html = components_table(&calibration(true).components);
        let meds = html.find("Läkemedel").unwrap();
        let news = html.find("NEWS2").unwrap();
        assert!(meds < news, "the score's order");
        assert!(html.contains(
            "<td>NEWS2</td><td class=\"num\">3</td><td class=\"num\">0,61</td><td>följer skattningarna</td>"
        ));
        assert!(html.contains("följer inte skattningarna"));
        assert!(html.contains("kan vara övervärderad"));
        assert!(html.contains("Utlokaliserad / nyinskriven") && html.contains("varierar inte"));
    }

    #[test]
    fn each_team_has_a_row_of_its_own_fit() {
        let html = render(&calibration(false), None, &ctx());
        let section = html
            .split(r#"<section class="cal-teams">"#)
            .nth(1)
            .expect("the teams' section")
            .split("</section>")
            .next()
            .unwrap();
        assert!(section.starts_with("<h2>Per vårdlag</h2>"));
        let t = text(section);
        assert!(
            t.contains("Lag A &amp; B414,212,8–15,90,42314"),
            "name, own shifts, optimum, interval, R², rated shifts, ratings: {t}"
        );
        assert!(t.contains("78 %✖ nej för få veckor: 1 (minst 4)"), "{t}");
        // escaped, keyed by id
        assert!(section.contains(r#"<tr data-team="a&lt;1&gt;"><td>Lag A &amp; B</td>"#));
        // a team without a shift of its own says so, and shows no numbers
        let c = section.split(r#"<tr data-team="c">"#).nth(1).unwrap();
        assert!(c.contains("inget pass med egen planerad bemanning i perioden"), "{c}");
        assert!(
            c.contains(r#"<td class="num">–</td><td class="num">–</td><td class="num">–</td>"#),
            "{c}"
        );
        // the section before the components, and none without teams
        assert!(html.find("Per vårdlag").unwrap() < html.find("Komponenterna och skattningarna").unwrap());
        let mut none = calibration(true);
        none.teams.clear();
        assert!(!render(&none, None, &ctx()).contains("Per vårdlag"));
        assert_balanced(&html);
        assert_no_hyphen_minus(&html);
    }

    #[test]
    fn an_optimum_at_or_below_zero_is_not_given_as_a_level() {
        let mut f = fit(false);
        f.optimal_points_per_person = Some(Points::from_milli(-31_800));
        f.interval = None;
        assert_eq!(
            optimum_words(&f),
            "kan inte anges (linjen korsar 0 vid −31,8 poäng per person)"
        );
    }

    #[test]
    fn numbers_are_swedish() {
        assert_eq!(two_decimals(0.4249), "0,42");
        assert_eq!(two_decimals(-0.13), "−0,13");
        assert_eq!(two_decimals(-0.001), "0,00");
        assert_eq!(rating(-1.5), "−1,5");
        assert_eq!(rating(1.25), "+1,3");
        assert_eq!(rating(0.0), "0,0");
        assert_eq!(month_words("2026-11"), "november 2026");
        assert_eq!(nice_step(2.3), 2.5);
        assert_eq!(axis_value(12.5), "12,5");
        assert_eq!(axis_value(-50.0), "−50");
        assert_eq!(axis_value(-0.0), "0");
    }
}
