//! The hospital overview: one row per ward (patients, beds, occupancy, the
//! current total against the expected level with the DiViS-style
//! indicator, the USK/SSK split) and the hospital's totals; with
//! departments configured, the wards grouped under a row per department
//! (its sums, linking to its own page). The department page is the same
//! table for one department's wards, and a hospital's page of a region
//! (`/hospitals/{id}`) the grouped table for one hospital's wards. The
//! table's foot shows the sums its caller gives (beds and occupancy over
//! the wards whose beds are known: [`careload_app::query::ward_sums`]).

use std::fmt::Write as _;

use super::{ScreenContext, as_of_line, banners, encode_component, escape, footer, href, no_data, page, points, style};
use careload_app::view::{
    DataState, DepartmentOverview, DepartmentSummary, ExpectedBasis, HospitalOverview, HospitalView, Indicator,
    WardOverview,
};
use careload_planning::words::count;
use careload_scoring::Totals;

/// The page's header: the title and the big total of `totals` captioned `caption`.
pub(super) fn header(title: &str, caption: &str, state: &DataState, totals: &Totals, ctx: &ScreenContext) -> String {
    let mut body = format!(
        r#"<header class="top"><div class="title"><h1>{}</h1><div class="asof">{}</div></div>"#,
        escape(title),
        as_of_line(state, ctx)
    );
    if state.hour.is_some() {
        let t = totals;
        let _ = write!(
            body,
            r#"<div class="now"><div class="caption">{} nu (poäng)</div><div class="big" id="hospital-total">{}</div></div><div><span class="split"><span class="usk">USK {}</span> <span class="ssk">SSK {}</span></span><div class="caption">{}</div></div>"#,
            escape(caption),
            points(t.total),
            points(t.professions.usk),
            points(t.professions.ssk),
            count(u64::from(t.patients), "patient", "patienter")
        );
    }
    body.push_str("</header>");
    body
}

/// The whole page; with `region`, a link to the region's page (hospitals
/// are configured).
pub(super) fn render(overview: &HospitalOverview, region: bool, ctx: &ScreenContext) -> String {
    let title = "Vårdintensitet – sjukhusöversikt";
    let mut body = header(title, "Hela sjukhuset", &overview.state, &overview.totals, ctx);
    body.push_str(&banners(&overview.state, ctx));
    if overview.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        let groups = (!overview.departments.is_empty()).then_some(overview.departments.as_slice());
        let sums = careload_app::query::ward_sums(&overview.wards);
        let foot = Foot {
            label: "Hela sjukhuset",
            totals: &overview.totals,
            beds: sums.beds,
            occupancy: sums.occupancy,
            wards: None,
        };
        body.push_str(&table(&overview.wards, groups, &foot, ctx));
        body.push_str(&legend_and_links(ctx));
        if region {
            let _ = write!(
                body,
                r#"<p><a id="region-link" href="{}">Regionen: alla sjukhus</a></p>"#,
                href("/region", ctx)
            );
        }
    }
    body.push_str(&footer(&overview.state, ctx));
    page(title, &body, ctx)
}

/// One department's page: its sums and its wards.
pub(super) fn render_department(overview: &DepartmentOverview, ctx: &ScreenContext) -> String {
    let d = &overview.department;
    let title = format!("Vårdintensitet – {}", d.name);
    let mut body = header(&title, &d.name, &overview.state, &d.sums.totals, ctx);
    body.push_str(&banners(&overview.state, ctx));
    if overview.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        let foot = Foot {
            label: &format!("Hela {}", d.name),
            totals: &d.sums.totals,
            beds: d.sums.beds,
            occupancy: d.sums.occupancy,
            wards: None,
        };
        body.push_str(&table(&overview.wards, None, &foot, ctx));
        // no links to the hospital's pages: a department's screen token may not read them
        body.push_str(LEGEND);
    }
    body.push_str(&footer(&overview.state, ctx));
    page(&title, &body, ctx)
}

/// One hospital's page of a region: its sums, and its wards grouped under
/// its departments (each linking to its page).
pub(super) fn render_hospital(view: &HospitalView, ctx: &ScreenContext) -> String {
    let h = &view.hospital;
    let title = format!("Vårdintensitet – {}", h.name);
    let mut body = header(&title, &h.name, &view.state, &h.sums.totals, ctx);
    body.push_str(&banners(&view.state, ctx));
    if view.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        let groups = (!view.departments.is_empty()).then_some(view.departments.as_slice());
        let foot = Foot {
            label: &format!("Hela {}", h.name),
            totals: &h.sums.totals,
            beds: h.sums.beds,
            occupancy: h.sums.occupancy,
            wards: None,
        };
        body.push_str(&table(&view.wards, groups, &foot, ctx));
        // no links to the region's or the whole installation's pages: a
        // hospital's screen token may not read them
        body.push_str(LEGEND);
    }
    body.push_str(&footer(&view.state, ctx));
    page(&title, &body, ctx)
}

/// An occupancy as a whole percentage.
pub(super) fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// The DiViS-style indicator cell of a level now against its expected
/// level (`basis` none: a department's, the sum of its wards').
pub(super) fn indicator_cell(
    indicator: Indicator,
    expected: Option<careload_scoring::Points>,
    samples: u32,
    basis: Option<ExpectedBasis>,
    totals: &Totals,
) -> String {
    let (class, sym, word) = style::indicator(indicator);
    let title = match (indicator, expected) {
        (Indicator::TooLittleData, _) | (_, None) => format!("för få timmar ({samples})"),
        (_, Some(e)) => format!(
            "förväntat {} ({})",
            points(e),
            match basis {
                Some(ExpectedBasis::HourOfWeek) => format!(
                    "medel av {}, samma timme i veckan",
                    count(u64::from(samples), "timme", "timmar")
                ),
                Some(ExpectedBasis::HourOfDay) => format!(
                    "medel av {}, samma timme på dygnet, kort historik",
                    count(u64::from(samples), "timme", "timmar")
                ),
                None => "summan av avdelningarnas förväntade".to_owned(),
            }
        ),
    };
    let title = format!(
        "{title}; nu {} varav USK {} och SSK {}",
        points(totals.total),
        points(totals.professions.usk),
        points(totals.professions.ssk)
    );
    format!(
        r#"<span class="ind ind-{class}" title="{title}"><span class="sym">{sym}</span> {word}</span>"#,
        title = escape(&title)
    )
}

/// A ward's indicator cell.
fn indicator(w: &WardOverview) -> String {
    indicator_cell(
        w.indicator,
        w.expected,
        w.expected_samples,
        Some(w.expected_basis),
        &w.totals,
    )
}

/// A department's row above its wards: its sums, linking to its page.
fn department_row(d: &DepartmentSummary, ctx: &ScreenContext) -> String {
    let link = href(&format!("/departments/{}", encode_component(&d.id)), ctx);
    let s = &d.sums;
    format!(
        concat!(
            r#"<tr class="department" data-department="{id}"><th scope="rowgroup"><a class="department-name" href="{link}">{name}</a></th>"#,
            r#"<td class="num">{patients}</td><td class="num">{beds}</td><td class="num">{occupancy}</td>"#,
            r#"<td class="num"><strong>{total}</strong></td><td class="num">{expected}</td><td>{indicator}</td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr>"#
        ),
        id = escape(&d.id),
        link = link,
        name = escape(&d.name),
        patients = s.totals.patients,
        beds = s.beds.map(|b| b.to_string()).unwrap_or_else(|| "–".to_owned()),
        occupancy = s.occupancy.map(percent).unwrap_or_else(|| "–".to_owned()),
        total = points(s.totals.total),
        expected = s.expected.map(points).unwrap_or_else(|| "–".to_owned()),
        indicator = indicator_cell(s.indicator, s.expected, s.expected_samples, None, &s.totals),
        usk = points(s.totals.professions.usk),
        ssk = points(s.totals.professions.ssk),
    )
}

/// The mark of a ward or hospital whose FHIR source is stale (issue 29:
/// several sources; the others' rows are current). Empty when it is not.
pub(super) fn stale_mark(stale: bool) -> &'static str {
    if stale {
        r#" <span class="stale-mark" title="Källan har inte levererat: visar senast lyckade timme">⚠ inaktuell</span>"#
    } else {
        ""
    }
}

fn row(w: &WardOverview, ctx: &ScreenContext) -> String {
    let link = href(&format!("/wards/{}/screen", encode_component(&w.id)), ctx);
    let beds = w.beds.map(|b| b.to_string()).unwrap_or_else(|| "–".to_owned());
    let occupancy = w.occupancy.map(percent).unwrap_or_else(|| "–".to_owned());
    let expected = w.expected.map(points).unwrap_or_else(|| "–".to_owned());
    format!(
        concat!(
            r#"<tr class="ward" data-ward="{id}"><td><a class="ward-name" href="{link}">{name}</a>{stale} <a class="plan-link" href="{plan}">bemanning</a></td>"#,
            r#"<td class="num">{patients}</td><td class="num">{beds}</td><td class="num">{occupancy}</td>"#,
            r#"<td class="num"><strong>{total}</strong></td><td class="num">{expected}</td><td>{indicator}</td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr>"#
        ),
        id = escape(&w.id),
        link = link,
        plan = href(&format!("/wards/{}/planning", encode_component(&w.id)), ctx),
        name = escape(&w.name),
        stale = stale_mark(w.stale),
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

/// A table's foot: the sums of its wards, labelled.
pub(super) struct Foot<'a> {
    /// The first cell ("Hela sjukhuset").
    pub(super) label: &'a str,
    /// Patients, points, USK and SSK.
    pub(super) totals: &'a Totals,
    /// Beds where known.
    pub(super) beds: Option<u32>,
    /// Patients on wards with known beds ÷ those beds.
    pub(super) occupancy: Option<f64>,
    /// The wards counted, in a cell of its own after the label (the
    /// region's table has that column), or none.
    pub(super) wards: Option<usize>,
}

/// The foot's row, closing the body and the table.
pub(super) fn foot_row(foot: &Foot) -> String {
    let t = foot.totals;
    format!(
        concat!(
            r#"</tbody><tfoot><tr><td>{label}</td>{wards}<td class="num">{patients}</td><td class="num">{beds}</td>"#,
            r#"<td class="num">{occupancy}</td><td class="num" id="total">{total}</td><td></td><td></td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr></tfoot></table>"#
        ),
        label = escape(foot.label),
        wards = foot
            .wards
            .map(|n| format!(r#"<td class="num">{n}</td>"#))
            .unwrap_or_default(),
        patients = t.patients,
        beds = foot.beds.map(|b| b.to_string()).unwrap_or_else(|| "–".to_owned()),
        occupancy = foot.occupancy.map(percent).unwrap_or_else(|| "–".to_owned()),
        total = points(t.total),
        usk = points(t.professions.usk),
        ssk = points(t.professions.ssk),
    )
}

/// The table of `wards`, grouped under their departments' rows when
/// `groups` is given (wards of no department last, under "Utan
/// verksamhet"), with `foot` in the foot.
fn table(wards: &[WardOverview], groups: Option<&[DepartmentSummary]>, foot: &Foot, ctx: &ScreenContext) -> String {
    let mut out = String::from(concat!(
        r#"<table class="overview"><thead><tr><th>Avdelning</th><th class="num">Patienter</th>"#,
        r#"<th class="num">Vårdplatser</th><th class="num">Beläggning</th><th class="num">Vårdintensitet nu</th>"#,
        r#"<th class="num">Förväntat</th><th>Jämfört med förväntat</th><th class="num">USK</th><th class="num">SSK</th></tr></thead><tbody>"#
    ));
    match groups {
        None => {
            for w in wards {
                out.push_str(&row(w, ctx));
            }
        }
        Some(groups) => {
            for d in groups {
                out.push_str(&department_row(d, ctx));
                for w in wards.iter().filter(|w| d.sums.wards.contains(&w.id)) {
                    out.push_str(&row(w, ctx));
                }
            }
            let apart: Vec<&WardOverview> = wards
                .iter()
                .filter(|w| !groups.iter().any(|d| d.sums.wards.contains(&w.id)))
                .collect();
            if !apart.is_empty() {
                out.push_str(r#"<tr class="department" data-department=""><th scope="rowgroup" colspan="9">Utan verksamhet</th></tr>"#);
                for w in apart {
                    out.push_str(&row(w, ctx));
                }
            }
        }
    }
    if wards.is_empty() {
        out.push_str(r#"<tr><td colspan="9" class="muted">Inga avdelningar</td></tr>"#);
    }
    out.push_str(&foot_row(foot));
    out
}

/// The indicator's legend.
pub(super) const LEGEND: &str = concat!(
    r#"<p class="legend"><span><span class="ind ind-lower"><span class="sym">▼</span> lägre</span></span>"#,
    r#"<span><span class="ind ind-as_expected"><span class="sym">●</span> som förväntat</span></span>"#,
    r#"<span><span class="ind ind-higher"><span class="sym">▲</span> högre</span></span>"#,
    r#"<span><span class="ind ind-too_little_data"><span class="sym">–</span> för lite data</span></span>"#,
    r#"<span>än avdelningens genomsnitt för samma timme i veckan (samma timme på dygnet de första veckorna)</span></p>"#
);

/// The indicator's legend and the link to the bed coordinator's page.
fn legend_and_links(ctx: &ScreenContext) -> String {
    let mut out = String::from(LEGEND);
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
    use careload_app::view::{HospitalOverview, WardSums};
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
            stale: false,
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
            departments: Vec::new(),
        }
    }

    fn department(id: &str, name: &str, wards: &[&str]) -> DepartmentSummary {
        DepartmentSummary {
            id: id.into(),
            name: name.into(),
            sums: WardSums {
                wards: wards.iter().map(|w| (*w).to_owned()).collect(),
                totals: totals(36, 240),
                beds: Some(40),
                occupancy: Some(0.9),
                expected: Some(Points::whole(200)),
                expected_samples: 1200,
                indicator: Indicator::Higher,
                stale: false,
            },
        }
    }

    #[test]
    fn wards_are_grouped_under_their_departments_and_the_rest_apart() {
        let mut o = overview();
        o.departments = vec![
            department("kir", "Kirurgkliniken", &["avd 3"]),
            department("med", "Medicinkliniken <&>", &["avd1", "avd2"]),
        ];
        let html = crate::screen::hospital_page(&o, &ctx());
        assert_eq!(html.matches(r#"<tr class="ward""#).count(), 4, "every ward once");
        assert_eq!(
            html.matches(r#"<tr class="department""#).count(),
            3,
            "two departments and the rest"
        );
        assert!(html.contains(r#"href="/departments/kir""#));
        assert!(html.contains("Medicinkliniken &lt;&amp;&gt;"));
        // order: a department's row, then its wards; the wards of none last
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        assert!(at(r#"data-department="kir""#) < at(r#"data-ward="avd 3""#));
        assert!(at(r#"data-ward="avd 3""#) < at(r#"data-department="med""#));
        assert!(at(r#"data-department="med""#) < at(r#"data-ward="avd1""#));
        assert!(at(r#"data-ward="avd2""#) < at("Utan verksamhet"));
        assert!(at("Utan verksamhet") < at(r#"data-ward="avd4""#));
        assert!(html.contains("summan av avdelningarnas förväntade"));
        crate::screen::tests::assert_balanced(&html);
    }

    #[test]
    fn a_department_page_shows_its_wards_and_its_sums() {
        let o = overview();
        let d = DepartmentOverview {
            state: o.state.clone(),
            department: department("med", "Medicinkliniken", &["avd1", "avd2"]),
            wards: o.wards[..2].to_vec(),
        };
        let mut c = ctx();
        c.token = Some("t".into());
        let html = crate::screen::department_page(&d, &c);
        assert!(
            html.contains("<title>Vårdintensitet – Medicinkliniken</title>"),
            "{html}"
        );
        assert_eq!(html.matches(r#"<tr class="ward""#).count(), 2);
        assert!(html.contains(r#"id="hospital-total">240,0<"#));
        assert!(html.contains("<td>Hela Medicinkliniken</td>"));
        // a department's screen token may not read the hospital's pages: no links to them
        assert!(!html.contains(r#"href="/?"#) && !html.contains("/admissions"), "{html}");
        // a name with an ampersand is escaped once, in the title as in the header
        let mut d2 = d.clone();
        d2.department.name = "Kirurgi & Ortopedi".into();
        let html2 = crate::screen::department_page(&d2, &c);
        assert!(
            html2.contains("<title>Vårdintensitet – Kirurgi &amp; Ortopedi</title>"),
            "{html2}"
        );
        assert!(!html2.contains("&amp;amp;"), "{html2}");
        assert!(html.contains(r#"href="/wards/avd1/screen?token=t""#));
        crate::screen::tests::assert_balanced(&html);
    }

    #[test]
    fn a_hospital_page_groups_its_departments_and_links_no_higher() {
        let o = overview();
        let view = HospitalView {
            state: o.state.clone(),
            hospital: careload_app::view::HospitalSummary {
                id: "uas".into(),
                name: "Akademiska & Co".into(),
                departments: vec!["kir".into(), "med".into()],
                sums: WardSums {
                    wards: vec!["avd 3".into(), "avd1".into(), "avd2".into()],
                    totals: totals(54, 360),
                    beds: Some(60),
                    occupancy: Some(0.9),
                    expected: Some(Points::whole(300)),
                    expected_samples: 1200,
                    indicator: Indicator::Higher,
                    stale: false,
                },
            },
            wards: o.wards[..3].to_vec(),
            departments: vec![
                department("kir", "Kirurgkliniken", &["avd 3"]),
                department("med", "Medicinkliniken", &["avd1", "avd2"]),
            ],
        };
        let mut c = ctx();
        c.token = Some("t".into());
        let html = crate::screen::hospital_of_page(&view, &c);
        // the name escaped once, in the title as in the header and the foot
        assert!(
            html.contains("<title>Vårdintensitet – Akademiska &amp; Co</title>"),
            "{html}"
        );
        assert!(html.contains("<td>Hela Akademiska &amp; Co</td>"), "{html}");
        assert!(!html.contains("&amp;amp;"), "{html}");
        assert!(html.contains(r#"id="hospital-total">360,0<"#));
        // its wards under its departments' rows, each linking with the token
        assert_eq!(html.matches(r#"<tr class="ward""#).count(), 3);
        assert_eq!(html.matches(r#"<tr class="department""#).count(), 2, "no group of none");
        assert!(html.contains(r#"href="/departments/kir?token=t""#), "{html}");
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        assert!(at(r#"data-department="kir""#) < at(r#"data-ward="avd 3""#));
        assert!(at(r#"data-ward="avd 3""#) < at(r#"data-department="med""#));
        // the foot: the hospital's beds and occupancy
        assert!(
            html.contains(r#"<td class="num">54</td><td class="num">60</td><td class="num">90 %</td>"#),
            "{html}"
        );
        // a hospital's screen token may not read the region or the whole installation's pages
        assert!(!html.contains("/region") && !html.contains(r#"href="/?"#) && !html.contains("/admissions"));
        crate::screen::tests::assert_balanced(&html);
    }

    #[test]
    fn the_overview_links_the_region_only_when_hospitals_are_configured() {
        let html = crate::screen::hospital_page_linking_region(&overview(), true, &ctx());
        assert!(html.contains(r#"<a id="region-link" href="/region">"#), "{html}");
        crate::screen::tests::assert_balanced(&html);
        let html = crate::screen::hospital_page(&overview(), &ctx());
        assert!(!html.contains("/region"), "{html}");
        // the foot's beds and occupancy are the wards' sums
        assert!(
            html.contains(
                r#"<td>Hela sjukhuset</td><td class="num">72</td><td class="num">80</td><td class="num">90 %</td>"#
            ),
            "{html}"
        );
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
