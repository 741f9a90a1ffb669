//! The bed coordinator's page (`/admissions`): every ward ranked for the
//! next admission from the emergency department — can take, strained, no
//! free bed — by free beds **and** by the staffing margin that would be left
//! after one more patient, with the reason in words and a link to the
//! ward's planning page. The need is each ward's P90 where its history is
//! long enough (issue 28), marked so; the schedule's otherwise.

use std::fmt::Write as _;

use careload_planning::{AdmissionAnswer, AdmissionVerdict};

use super::{
    ScreenContext, as_of_line, banners, encode_component, escape, footer, href, no_data, page, people, points,
};
use careload_app::planning::Admissions;

/// Class, symbol and words of a verdict: colour never alone.
fn verdict(v: AdmissionVerdict) -> (&'static str, &'static str, &'static str) {
    match v {
        AdmissionVerdict::CanTake => ("spare", "▲", "kan ta emot"),
        AdmissionVerdict::Strained => ("under", "▼", "ansträngt"),
        AdmissionVerdict::NoFreeBed => ("noplan", "■", "ingen ledig säng"),
    }
}

fn row(a: &AdmissionAnswer, name: &str, at_p90: bool, ctx: &ScreenContext) -> String {
    let (class, sym, word) = verdict(a.verdict);
    let mut margin = a.margin_people.map_or_else(|| "–".to_owned(), |m| people(m, true));
    if at_p90 && a.margin_people.is_some() {
        margin.push_str(r#" <span class="muted">(P90)</span>"#);
    }
    format!(
        concat!(
            r#"<tr class="ward" data-ward="{id}" data-verdict="{verdict_key}"><td><a class="ward-name" href="{plan}">{name}</a></td>"#,
            r#"<td><span class="verdict verdict-{class}"><span class="sym">{sym}</span> {word}</span></td>"#,
            r#"<td class="num">{free}</td><td class="num">{margin}</td><td>{reason}</td></tr>"#
        ),
        id = escape(&a.ward),
        verdict_key = match a.verdict {
            AdmissionVerdict::CanTake => "can_take",
            AdmissionVerdict::Strained => "strained",
            AdmissionVerdict::NoFreeBed => "no_free_bed",
        },
        plan = href(&format!("/wards/{}/planning", encode_component(&a.ward)), ctx),
        name = escape(name),
        class = class,
        sym = sym,
        word = word,
        free = a.free_beds,
        margin = margin,
        reason = escape(&a.reason),
    )
}

/// The whole page.
pub(super) fn render(admissions: &Admissions, ctx: &ScreenContext) -> String {
    let title = "Platskoordinering – vilken avdelning tar nästa patient?";
    let mut body = format!(
        r#"<header class="top"><div class="title"><h1>{}</h1><div class="asof">{} · <a href="{}">sjukhusöversikt</a></div></div></header>"#,
        escape(title),
        as_of_line(&admissions.state, ctx),
        href("/", ctx)
    );
    body.push_str(&banners(&admissions.state, ctx));
    if admissions.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        let a = &admissions.assumption;
        let _ = write!(
            body,
            r#"<p class="muted">En ny patient antas behöva {} USK-poäng och {} SSK-poäng per timme. Marginalen är det minsta antalet personer över eller under behovet, i de två kommande passen, när patienten har kommit. Behovet räknas vid P90 (ett pass av tio behöver mer) där avdelningens historik räcker, markerat (P90); annars det schemalagda.</p>"#,
            points(a.usk_points_per_hour),
            points(a.ssk_points_per_hour)
        );
        body.push_str(concat!(
            r#"<table class="overview"><thead><tr><th>Avdelning</th><th>Bedömning</th><th class="num">Lediga sängar</th>"#,
            r#"<th class="num">Marginal (personer)</th><th>Skäl</th></tr></thead><tbody>"#
        ));
        if admissions.wards.is_empty() {
            body.push_str(r#"<tr><td colspan="5" class="muted">Inga avdelningar</td></tr>"#);
        }
        for w in &admissions.wards {
            let name = admissions.names.get(&w.ward).map_or(w.ward.as_str(), String::as_str);
            let at_p90 = admissions.need_at_p90.get(&w.ward).copied().unwrap_or(false);
            body.push_str(&row(w, name, at_p90, ctx));
        }
        body.push_str("</tbody></table>");
        let _ = write!(
            body,
            concat!(
                r#"<p class="legend"><span><span class="verdict verdict-spare"><span class="sym">▲</span> kan ta emot</span></span>"#,
                r#"<span><span class="verdict verdict-under"><span class="sym">▼</span> ansträngt: ledig säng men för lite personal</span></span>"#,
                r#"<span><span class="verdict verdict-noplan"><span class="sym">■</span> ingen ledig säng</span></span>"#,
                r#"<span><a href="{}">Sjukhusöversikt</a></span></p>"#
            ),
            href("/", ctx)
        );
    }
    body.push_str(&footer(&admissions.state, ctx));
    page(title, &body, ctx)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use careload_planning::{AdmissionAnswer, AdmissionAssumption, AdmissionVerdict};
    use careload_scoring::Qty;

    use super::*;
    use crate::screen::tests::{assert_balanced, ctx};
    use careload_app::view::DataState;

    fn answer(ward: &str, verdict: AdmissionVerdict, free: u32, margin: Option<i64>) -> AdmissionAnswer {
        AdmissionAnswer {
            ward: ward.into(),
            verdict,
            free_beds: free,
            margin_people: margin.map(Qty::from_milli),
            reason: format!("skäl för {ward} <b>"),
        }
    }

    fn admissions(hour: bool) -> Admissions {
        let c = ctx();
        Admissions {
            state: DataState {
                hour: hour.then_some(c.now - chrono::Duration::minutes(10)),
                as_of: hour.then_some(c.now - chrono::Duration::minutes(5)),
                stale: false,
                stale_reason: None,
                last_run: None,
                weights_version: Some("2026.1".into()),
                sources: Vec::new(),
            },
            assumption: AdmissionAssumption::default(),
            wards: vec![
                answer("w2", AdmissionVerdict::CanTake, 3, Some(1_260)),
                answer("w1", AdmissionVerdict::Strained, 1, Some(-1_540)),
                answer("w3", AdmissionVerdict::NoFreeBed, 0, None),
            ],
            names: BTreeMap::from([("w1".into(), "Avd 1 Medicin".into()), ("w2".into(), "Avd 2".into())]),
            need_at_p90: BTreeMap::from([("w1".into(), false), ("w2".into(), false)]),
        }
    }

    #[test]
    fn a_margin_judged_at_p90_says_so() {
        let mut a = admissions(true);
        a.need_at_p90.insert("w1".into(), true);
        let html = render(&a, &ctx());
        assert!(
            html.contains(r#"<td class="num">−1,5 <span class="muted">(P90)</span></td>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<td class="num">+1,3</td>"#),
            "w2 at the schedule: unmarked"
        );
        assert!(html.contains("Behovet räknas vid P90"));
    }

    #[test]
    fn wards_in_rank_order_with_verdict_words_margin_and_escaped_reason() {
        let html = render(&admissions(true), &ctx());
        assert_balanced(&html);
        let order: Vec<usize> = ["data-ward=\"w2\"", "data-ward=\"w1\"", "data-ward=\"w3\""]
            .iter()
            .map(|k| html.find(k).unwrap())
            .collect();
        assert!(order[0] < order[1] && order[1] < order[2], "{order:?}");
        assert!(html.contains("Avd 1 Medicin"), "configured name shown");
        assert!(html.contains(r#"href="/wards/w3/planning">w3</a>"#), "id when no name");
        for (word, margin) in [("kan ta emot", "+1,3"), ("ansträngt", "−1,5")] {
            assert!(html.contains(&format!("</span> {word}</span>")), "{word}");
            assert!(html.contains(&format!(r#"<td class="num">{margin}</td>"#)), "{margin}");
        }
        assert!(html.contains("skäl för w1 &lt;b&gt;"));
        assert!(html.contains("1,5 USK-poäng"));
    }

    /// A ward short by 0,3 USK after the admission (within the understaffed
    /// threshold), answered by the coordinator itself.
    fn tight_ward() -> AdmissionAnswer {
        use careload_planning::need::{NeedLine, ShiftNeed};
        use careload_planning::staffing::{PlannedStaffing, WardPlan};
        use careload_planning::{ByProfession, Thresholds, WardBeds, assess};
        use careload_scoring::score::Window;
        use careload_scoring::shift::ShiftWindow;
        use careload_scoring::snapshot::Profession;
        use careload_scoring::weights::StaffHours;

        let start = ctx().now + chrono::Duration::hours(3);
        let shift = ShiftWindow {
            name: "evening".into(),
            date: start.date_naive(),
            window: Window {
                start,
                end: start + chrono::Duration::hours(8),
            },
        };
        // USK: 4 planned − 4,105 needed − 0,195 for the admission = −0,3
        let need = ShiftNeed {
            shift: shift.clone(),
            shift_hours: Qty::whole(8),
            factors: StaffHours {
                usk: Qty::from_milli(130),
                ssk: Qty::from_milli(140),
            },
            ward: NeedLine {
                people: ByProfession {
                    usk: Qty::from_milli(4_105),
                    ssk: Qty::ONE,
                },
                ..NeedLine::default()
            },
            teams: BTreeMap::new(),
            patients: vec![],
            extrapolated_minutes: 0,
        };
        let rows: Vec<PlannedStaffing> = [(Profession::Usk, 4), (Profession::Ssk, 2)]
            .into_iter()
            .map(|(profession, planned)| PlannedStaffing {
                ward: "w4".into(),
                team: None,
                date: shift.date,
                shift: "evening".into(),
                profession,
                planned,
                absent: 0,
            })
            .collect();
        let plan = WardPlan::from_rows(&rows, "w4", shift.date, "evening");
        let ward = WardBeds {
            ward: "w4".into(),
            free_beds: 1,
            shifts: vec![assess(&need, &plan, &Thresholds::default())],
        };
        let mut answers =
            careload_planning::admissions(&[ward], &AdmissionAssumption::default(), &Thresholds::default());
        answers.remove(0)
    }

    #[test]
    fn negative_margins_read_with_the_true_minus_and_honest_words() {
        let mut a = admissions(true);
        a.wards.push(tight_ward());
        let html = render(&a, &ctx());
        assert_balanced(&html);
        crate::screen::tests::assert_no_hyphen_minus(&html);
        assert!(html.contains("1 ledig säng, men personalen räcker knappt"), "{html}");
        assert!(html.contains(r#"<td class="num">−0,3</td>"#), "{html}");
    }

    #[test]
    fn no_hour_yet_says_so() {
        let html = render(&admissions(false), &ctx());
        assert_balanced(&html);
        assert!(html.contains(r#"class="nodata""#));
        assert!(!html.contains("data-ward"));
    }
}
