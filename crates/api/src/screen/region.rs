//! The region's page (`/region`, issue 29): one row per hospital
//! (`[hospitals.<id>]`) with the sums of its wards — patients, beds,
//! occupancy, the total against the sum of its wards' expected levels with
//! the DiViS-style indicator, the USK/SSK split — linking to the hospital's
//! page, the wards of no hospital as one row ("Utan sjukhus"), and the
//! region's sums in the foot.

use std::fmt::Write as _;

use super::hospital::{Foot, LEGEND, foot_row, header, indicator_cell, percent, stale_mark};
use super::{ScreenContext, banners, encode_component, escape, footer, href, no_data, page, points};
use careload_app::view::{RegionOverview, WardSums};
use careload_planning::words::count;

/// One row: a hospital's sums, or the wards of none.
struct Row<'a> {
    /// `data-hospital`: the id, empty for the wards of no hospital.
    id: &'a str,
    /// The first cell's text.
    name: &'a str,
    /// The hospital's page, when it has one.
    link: Option<String>,
    sums: &'a WardSums,
}

fn row(r: &Row) -> String {
    let name = match &r.link {
        Some(link) => format!(r#"<a class="hospital-name" href="{link}">{}</a>"#, escape(r.name)),
        None => escape(r.name),
    };
    let s = r.sums;
    format!(
        concat!(
            r#"<tr class="hospital" data-hospital="{id}"><th scope="row">{name}{stale}</th>"#,
            r#"<td class="num">{wards}</td><td class="num">{patients}</td><td class="num">{beds}</td><td class="num">{occupancy}</td>"#,
            r#"<td class="num"><strong>{total}</strong></td><td class="num">{expected}</td><td>{indicator}</td>"#,
            r#"<td class="num">{usk}</td><td class="num">{ssk}</td></tr>"#
        ),
        id = escape(r.id),
        name = name,
        stale = stale_mark(s.stale),
        wards = s.wards.len(),
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

/// The whole page.
pub(super) fn render(overview: &RegionOverview, ctx: &ScreenContext) -> String {
    let title = "Vårdintensitet – regionen";
    let region = &overview.region;
    let mut body = header(title, "Hela regionen", &overview.state, &region.totals, ctx);
    body.push_str(&banners(&overview.state, ctx));
    if overview.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        body.push_str(concat!(
            r#"<table class="overview region"><thead><tr><th>Sjukhus</th><th class="num">Avdelningar</th><th class="num">Patienter</th>"#,
            r#"<th class="num">Vårdplatser</th><th class="num">Beläggning</th><th class="num">Vårdintensitet nu</th>"#,
            r#"<th class="num">Förväntat</th><th>Jämfört med förväntat</th><th class="num">USK</th><th class="num">SSK</th></tr></thead><tbody>"#
        ));
        for h in &overview.hospitals {
            body.push_str(&row(&Row {
                id: &h.id,
                name: &h.name,
                link: Some(href(&format!("/hospitals/{}", encode_component(&h.id)), ctx)),
                sums: &h.sums,
            }));
        }
        if let Some(apart) = &overview.without_hospital {
            body.push_str(&row(&Row {
                id: "",
                name: "Utan sjukhus",
                link: None,
                sums: apart,
            }));
        }
        if overview.hospitals.is_empty() && overview.without_hospital.is_none() {
            body.push_str(r#"<tr><td colspan="10" class="muted">Inga sjukhus</td></tr>"#);
        }
        body.push_str(&foot_row(&Foot {
            label: "Hela regionen",
            totals: &region.totals,
            beds: region.beds,
            occupancy: region.occupancy,
            wards: Some(region.wards.len()),
        }));
        let _ = write!(
            body,
            r#"<p class="caption">{} i regionen; ett sjukhus jämförs med summan av avdelningarnas förväntade nivåer.</p>"#,
            count(region.wards.len() as u64, "avdelning", "avdelningar")
        );
        body.push_str(LEGEND);
    }
    body.push_str(&footer(&overview.state, ctx));
    page(title, &body, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::tests::ctx;
    use crate::screen::ward::tests::state;
    use careload_app::view::{HospitalSummary, Indicator};
    use careload_scoring::score::Split;
    use careload_scoring::{Points, Totals};

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

    fn hospital(id: &str, name: &str, wards: &[&str], t: Totals) -> HospitalSummary {
        HospitalSummary {
            id: id.into(),
            name: name.into(),
            departments: vec![format!("{id}-med")],
            sums: WardSums {
                wards: wards.iter().map(|w| (*w).to_owned()).collect(),
                totals: t,
                beds: Some(40),
                occupancy: Some(0.5),
                expected: Some(Points::whole(100)),
                expected_samples: 1200,
                indicator: Indicator::Higher,
                stale: false,
            },
        }
    }

    fn overview() -> RegionOverview {
        RegionOverview {
            state: state(),
            region: WardSums {
                wards: vec!["a1".into(), "a2".into(), "b1".into(), "x1".into()],
                totals: totals(60, 400),
                beds: Some(90),
                occupancy: Some(0.6),
                expected: Some(Points::whole(350)),
                expected_samples: 4,
                indicator: Indicator::AsExpected,
                stale: false,
            },
            hospitals: vec![
                hospital("akademiska", "Akademiska <&> sjukhuset", &["a1", "a2"], totals(30, 200)),
                hospital("enk", "Lasarettet i Enköping", &["b1"], totals(20, 150)),
            ],
            without_hospital: Some(WardSums {
                wards: vec!["x1".into()],
                totals: totals(10, 50),
                beds: None,
                occupancy: None,
                expected: None,
                expected_samples: 0,
                indicator: Indicator::TooLittleData,
                stale: false,
            }),
        }
    }

    #[test]
    fn a_hospital_whose_source_is_stale_is_marked_alone() {
        let mut o = overview();
        o.hospitals[1].sums.stale = true;
        let html = crate::screen::region_page(&o, &ctx());
        assert_eq!(html.matches(r#"class="stale-mark""#).count(), 1, "{html}");
        let mark = html.find(r#"class="stale-mark""#).unwrap();
        assert!(html.find(r#"data-hospital="enk""#).unwrap() < mark, "{html}");
        assert!(mark < html.find(r#"data-hospital="""#).unwrap(), "on enk's row: {html}");
        o.hospitals[1].sums.stale = false;
        assert!(!crate::screen::region_page(&o, &ctx()).contains(r#"class="stale-mark""#));
    }

    #[test]
    fn one_row_per_hospital_linking_to_its_page_and_the_rest_apart() {
        let mut c = ctx();
        c.token = Some("t".into());
        let html = crate::screen::region_page(&overview(), &c);
        assert!(html.contains("<title>Vårdintensitet – regionen</title>"), "{html}");
        assert_eq!(
            html.matches(r#"<tr class="hospital""#).count(),
            3,
            "two hospitals and the rest"
        );
        assert!(html.contains(r#"href="/hospitals/akademiska?token=t""#), "{html}");
        assert!(html.contains(r#"href="/hospitals/enk?token=t""#), "{html}");
        // the name escaped once
        assert!(html.contains("Akademiska &lt;&amp;&gt; sjukhuset"), "{html}");
        assert!(!html.contains("&amp;amp;") && !html.contains("&amp;lt;"), "{html}");
        // in order, the wards of no hospital last and not a link
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        assert!(at(r#"data-hospital="akademiska""#) < at(r#"data-hospital="enk""#));
        assert!(at(r#"data-hospital="enk""#) < at(r#"data-hospital="""#));
        assert!(html.contains(r#"<th scope="row">Utan sjukhus</th>"#), "{html}");
        // the region's sums in the header and the foot
        assert!(html.contains(r#"id="hospital-total">400,0<"#), "{html}");
        assert!(html.contains("<td>Hela regionen</td><td class=\"num\">4</td><td class=\"num\">60</td><td class=\"num\">90</td><td class=\"num\">60 %</td>"), "{html}");
        // a hospital's row: wards, patients, beds, occupancy, total, expected
        assert!(
            html.contains(concat!(
                r#"<td class="num">2</td><td class="num">30</td><td class="num">40</td><td class="num">50 %</td>"#,
                r#"<td class="num"><strong>200,0</strong></td><td class="num">100,0</td>"#
            )),
            "{html}"
        );
        assert!(html.contains("summan av avdelningarnas förväntade"));
        // no links to pages a hospital's token may not read
        assert!(!html.contains(r#"href="/?"#) && !html.contains("/admissions"), "{html}");
        crate::screen::tests::assert_balanced(&html);
    }

    #[test]
    fn without_an_hour_the_region_says_so() {
        let mut o = overview();
        o.state.hour = None;
        let html = crate::screen::region_page(&o, &ctx());
        assert!(html.contains("Inga data ännu"), "{html}");
        assert!(!html.contains(r#"<tr class="hospital""#));
        crate::screen::tests::assert_balanced(&html);
    }
}
