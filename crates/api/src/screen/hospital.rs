//! The hospital overview: one row per ward (patients, beds, occupancy, the
//! current total against the expected level with the DiViS-style
//! indicator, the USK/SSK split) and the hospital's totals.

use std::fmt::Write as _;

use super::{ScreenContext, as_of_line, banners, encode_component, escape, footer, href, no_data, page, points, style};
use careload_app::view::{ExpectedBasis, HospitalOverview, Indicator, WardOverview};
use careload_planning::words::count;

/// The whole page.
pub(super) fn render(overview: &HospitalOverview, ctx: &ScreenContext) -> String {
    let mut body = format!(
        r#"<header class="top"><div class="title"><h1>Vårdintensitet – sjukhusöversikt</h1><div class="asof">{}</div></div>"#,
        as_of_line(&overview.state, ctx)
    );
    if overview.state.hour.is_some() {
        let t = &overview.totals;
        let _ = write!(
            body,
            r#"<div class="now"><div class="caption">Hela sjukhuset nu (poäng)</div><div class="big" id="hospital-total">{}</div></div><div><span class="split"><span class="usk">USK {}</span> <span class="ssk">SSK {}</span></span><div class="caption">{}</div></div>"#,
            points(t.total),
            points(t.professions.usk),
            points(t.professions.ssk),
            count(u64::from(t.patients), "patient", "patienter")
        );
    }
    body.push_str("</header>");
    body.push_str(&banners(&overview.state, ctx));
    if overview.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        body.push_str(&table(overview, ctx));
    }
    body.push_str(&footer(&overview.state, ctx));
    page("Vårdintensitet – sjukhusöversikt", &body, ctx)
}

/// An occupancy as a whole percentage.
fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// The DiViS-style indicator cell.
fn indicator(w: &WardOverview) -> String {
    let (class, sym, word) = style::indicator(w.indicator);
    let title = match (w.indicator, w.expected) {
        (Indicator::TooLittleData, _) | (_, None) => format!("för få timmar ({})", w.expected_samples),
        (_, Some(e)) => format!(
            "förväntat {} (medel av {}, samma {})",
            points(e),
            count(u64::from(w.expected_samples), "timme", "timmar"),
            match w.expected_basis {
                ExpectedBasis::HourOfWeek => "timme i veckan",
                ExpectedBasis::HourOfDay => "timme på dygnet, kort historik",
            }
        ),
    };
    let title = format!(
        "{title}; nu {} varav USK {} och SSK {}",
        points(w.totals.total),
        points(w.totals.professions.usk),
        points(w.totals.professions.ssk)
    );
    format!(
        r#"<span class="ind ind-{class}" title="{title}"><span class="sym">{sym}</span> {word}</span>"#,
        title = escape(&title)
    )
}

fn row(w: &WardOverview, ctx: &ScreenContext) -> String {
    let link = href(&format!("/wards/{}/screen", encode_component(&w.id)), ctx);
    let beds = w.beds.map(|b| b.to_string()).unwrap_or_else(|| "–".to_owned());
    let occupancy = w.occupancy.map(percent).unwrap_or_else(|| "–".to_owned());
    let expected = w.expected.map(points).unwrap_or_else(|| "–".to_owned());
    format!(
        concat!(
            r#"<tr class="ward" data-ward="{id}"><td><a class="ward-name" href="{link}">{name}</a> <a class="plan-link" href="{plan}">bemanning</a></td>"#,
            r#"<td class="num">{patients}</td><td class="num">{beds}</td><td class="num">{occupancy}</td>"#,
            r#"<td class="num"><strong>{total}</strong></td><td class="num">{expected}</td><td>{indicator}</td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr>"#
        ),
        id = escape(&w.id),
        link = link,
        plan = href(&format!("/wards/{}/planning", encode_component(&w.id)), ctx),
        name = escape(&w.name),
        beds = beds,
        occupancy = occupancy,
        expected = expected,
        patients = w.totals.patients,
        total = points(w.totals.total),
        indicator = indicator(w),
        usk = points(w.totals.professions.usk),
        ssk = points(w.totals.professions.ssk),
    )
}

fn table(overview: &HospitalOverview, ctx: &ScreenContext) -> String {
    let mut out = String::from(concat!(
        r#"<table class="overview"><thead><tr><th>Avdelning</th><th class="num">Patienter</th>"#,
        r#"<th class="num">Vårdplatser</th><th class="num">Beläggning</th><th class="num">Vårdintensitet nu</th>"#,
        r#"<th class="num">Förväntat</th><th>Jämfört med förväntat</th><th class="num">USK</th><th class="num">SSK</th></tr></thead><tbody>"#
    ));
    for w in &overview.wards {
        out.push_str(&row(w, ctx));
    }
    if overview.wards.is_empty() {
        out.push_str(r#"<tr><td colspan="9" class="muted">Inga avdelningar</td></tr>"#);
    }
    let beds: u32 = overview.wards.iter().filter_map(|w| w.beds).sum();
    let patients_with_beds: u32 = overview
        .wards
        .iter()
        .filter(|w| w.beds.is_some())
        .map(|w| w.totals.patients)
        .sum();
    let occupancy = if beds > 0 {
        percent(f64::from(patients_with_beds) / f64::from(beds))
    } else {
        "–".to_owned()
    };
    let t = &overview.totals;
    let _ = write!(
        out,
        concat!(
            r#"</tbody><tfoot><tr><td>Hela sjukhuset</td><td class="num">{patients}</td><td class="num">{beds}</td>"#,
            r#"<td class="num">{occupancy}</td><td class="num" id="total">{total}</td><td></td><td></td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr></tfoot></table>"#
        ),
        patients = t.patients,
        beds = if beds > 0 { beds.to_string() } else { "–".to_owned() },
        occupancy = occupancy,
        total = points(t.total),
        usk = points(t.professions.usk),
        ssk = points(t.professions.ssk),
    );
    out.push_str(concat!(
        r#"<p class="legend"><span><span class="ind ind-lower"><span class="sym">▼</span> lägre</span></span>"#,
        r#"<span><span class="ind ind-as_expected"><span class="sym">●</span> som förväntat</span></span>"#,
        r#"<span><span class="ind ind-higher"><span class="sym">▲</span> högre</span></span>"#,
        r#"<span><span class="ind ind-too_little_data"><span class="sym">–</span> för lite data</span></span>"#,
        r#"<span>än avdelningens genomsnitt för samma timme i veckan (samma timme på dygnet de första veckorna)</span></p>"#
    ));
    let _ = write!(
        out,
        r#"<p><a id="admissions-link" href="{}">Platskoordinering: vilken avdelning kan ta nästa patient?</a></p>"#,
        href("/admissions", ctx)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::tests::ctx;
    use crate::screen::ward::tests::state;
    use careload_app::view::HospitalOverview;
    use careload_scoring::Points;
    use careload_scoring::aggregate::Totals;
    use careload_scoring::score::Split;

    fn totals(patients: u32, total: i64) -> Totals {
        Totals {
            patients,
            total: Points::whole(total),
            professions: Split {
                usk: Points::whole(total / 2),
                ssk: Points::whole(total - total / 2),
            },
            ..Totals::default()
        }
    }

    fn ward(id: &str, name: &str, indicator: Indicator) -> WardOverview {
        WardOverview {
            id: id.into(),
            name: name.into(),
            totals: totals(18, 120),
            beds: Some(20),
            occupancy: Some(0.9),
            expected: Some(Points::whole(100)),
            expected_samples: 1200,
            expected_basis: ExpectedBasis::HourOfWeek,
            indicator,
        }
    }

    fn overview() -> HospitalOverview {
        HospitalOverview {
            state: state(),
            totals: totals(72, 480),
            wards: vec![
                ward("avd1", "Avdelning 1", Indicator::Lower),
                ward("avd2", "Avdelning 2", Indicator::AsExpected),
                ward("avd 3", "Avdelning 3", Indicator::Higher),
                ward("avd4", "Avdelning 4", Indicator::TooLittleData),
            ],
        }
    }

    #[test]
    fn one_row_per_ward_with_link_and_indicator() {
        let html = crate::screen::hospital_page(&overview(), &ctx());
        assert_eq!(html.matches(r#"<tr class="ward""#).count(), 4);
        assert!(html.contains(r#"href="/wards/avd1/screen""#));
        assert!(html.contains(r#"href="/wards/avd%203/screen""#));
        assert!(html.contains(r#"<span class="ind ind-lower""#));
        for (sym, word) in [
            ("▼", "lägre"),
            ("●", "som förväntat"),
            ("▲", "högre"),
            ("–", "för lite data"),
        ] {
            assert!(
                html.contains(&format!(r#"<span class="sym">{sym}</span> {word}</span>"#)),
                "{word}"
            );
        }
        assert!(html.contains("90 %"));
        assert!(html.contains(r#"id="hospital-total">480,0<"#));
        assert!(html.contains(r#"id="total">480,0<"#));
        assert!(html.contains(r#"<meta http-equiv="refresh" content="300">"#));
        assert!(!html.contains(r#"class="banner"#));
        crate::screen::tests::assert_balanced(&html);
    }

    #[test]
    fn links_keep_the_token() {
        let mut c = ctx();
        c.token = Some("s3cret&x".into());
        let html = crate::screen::hospital_page(&overview(), &c);
        assert!(html.contains(r#"href="/wards/avd1/screen?token=s3cret%26x""#), "{html}");
    }

    #[test]
    fn stale_banner_and_no_data() {
        let mut o = overview();
        o.state.stale = true;
        let html = crate::screen::hospital_page(&o, &ctx());
        assert!(html.contains(r#"class="banner stale""#));
        o.state.hour = None;
        o.wards.clear();
        let html = crate::screen::hospital_page(&o, &ctx());
        assert!(html.contains(r#"class="nodata""#));
        assert!(!html.contains("<table"));
    }

    #[test]
    fn hostile_ward_names_are_escaped() {
        let mut o = overview();
        o.wards[0].name = "<script>alert(1)</script>".into();
        o.wards[0].id = "\"><script>".into();
        let html = crate::screen::hospital_page(&o, &ctx());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains(r#"href="/wards/%22%3E%3Cscript%3E/screen""#));
    }
}
