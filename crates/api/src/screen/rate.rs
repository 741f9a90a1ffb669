//! The staff's rating page (`/wards/{id}/rate`, issue 27): after a shift,
//! the people who worked it rate its workload from −3 to +3 on the PAONCIL
//! scale (Swedish first, English small beneath), on a phone or the ward's
//! touch screen. One form, no JavaScript: the shift (the one that ended
//! last by default), the team (optional), the profession (optional), and
//! seven large buttons, each of which sends the form with its rating. The
//! answer is a thank-you page with the shift's count, or the refusal in
//! Swedish with a link back.
//!
//! It works from 360×640 (a phone) up: one column, every choice at least
//! 3 rem high (44 px at the smallest root font), the shared style sheet's
//! `/* rating page */` block.

use std::fmt::Write as _;

use careload_app::ratings::{Accepted, RatingForm};
use chrono::NaiveDateTime;

use super::{ScreenContext, encode_component, escape, href, page, page_refreshing_to};

/// The PAONCIL scale: rating, Swedish words, English words.
pub(crate) const SCALE: [(i8, &str, &str); 7] = [
    (-3, "mycket lägre än optimalt", "much lower than optimal"),
    (-2, "lägre än optimalt", "lower than optimal"),
    (-1, "något lägre än optimalt", "slightly lower than optimal"),
    (0, "optimalt", "optimal"),
    (1, "något högre än optimalt", "slightly higher than optimal"),
    (2, "högre än optimalt", "higher than optimal"),
    (3, "mycket högre än optimalt", "much higher than optimal"),
];

/// A rating as written on the page: `−3` (the true minus sign), `0`, `+2`.
pub(crate) fn signed(rating: i8) -> String {
    match rating {
        r if r < 0 => format!("−{}", r.unsigned_abs()),
        0 => "0".to_owned(),
        r => format!("+{r}"),
    }
}

/// A shift in words, capitalised: `Dagpasset 07:00–15:00`.
pub(crate) fn shift_words(name: &str, start: NaiveDateTime, end: NaiveDateTime) -> String {
    let definite = careload_planning::words::shift_name(name, true);
    let mut chars = definite.chars();
    let capital: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{capital} {}–{}", start.format("%H:%M"), end.format("%H:%M"))
}

/// The rating page's address on `ward`, keeping the kiosk token.
fn rate_href(ward: &str, ctx: &ScreenContext) -> String {
    href(&format!("/wards/{}/rate", encode_component(ward)), ctx)
}

/// One radio choice.
fn choice(name: &str, value: &str, checked: bool, label: &str, note: &str) -> String {
    format!(
        r#"<label class="choice"><input type="radio" name="{name}" value="{value}"{checked}><span>{label}{note}</span></label>"#,
        name = name,
        value = escape(value),
        checked = if checked { " checked" } else { "" },
        label = escape(label),
        note = if note.is_empty() {
            String::new()
        } else {
            format!(" <small>{}</small>", escape(note))
        },
    )
}

/// The rating page.
pub(super) fn render(form: &RatingForm, ctx: &ScreenContext) -> String {
    let mut body = format!(
        r#"<div class="rate-page"><header class="top"><div class="title"><h1>Hur var arbetsbelastningen?</h1><div class="asof">{} · bedöm passet du arbetade</div></div></header>"#,
        escape(&form.ward_name)
    );
    if form.shifts.is_empty() {
        body.push_str(r#"<p class="message">Inget pass tar emot bedömningar just nu.</p></div>"#);
        return page("Bedöm passet", &body, ctx);
    }
    let _ = write!(
        body,
        r#"<form class="rate" method="post" action="{}"><fieldset><legend>Pass</legend>"#,
        rate_href(&form.ward, ctx)
    );
    for s in &form.shifts {
        let note = format!(
            "{}{}",
            s.local_start.format("%Y-%m-%d"),
            if s.ongoing { " · pågår" } else { " · slutat" }
        );
        let value = s.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        body.push_str(&choice(
            "shift",
            &value,
            s.default,
            &shift_words(&s.name, s.local_start, s.local_end),
            &note,
        ));
    }
    body.push_str("</fieldset>");
    if !form.teams.is_empty() {
        body.push_str(r#"<fieldset><legend>Vårdlag <small>(valfritt)</small></legend>"#);
        body.push_str(&choice("team", "", true, "Hela avdelningen", ""));
        for (id, name) in &form.teams {
            body.push_str(&choice("team", id, false, name, ""));
        }
        body.push_str("</fieldset>");
    }
    body.push_str(r#"<fieldset><legend>Yrke <small>(valfritt)</small></legend>"#);
    body.push_str(&choice("profession", "USK", false, "USK", "undersköterska"));
    body.push_str(&choice("profession", "SSK", false, "SSK", "sjuksköterska"));
    body.push_str(&choice("profession", "", true, "Vill inte ange", ""));
    body.push_str("</fieldset>");
    body.push_str(
        r#"<fieldset class="scale"><legend>Arbetsbelastningen under passet jämfört med den optimala <small lang="en">Workload compared with optimal</small></legend>"#,
    );
    for (rating, sv, en) in SCALE {
        let class = match rating {
            r if r < 0 => "r-low",
            0 => "r-zero",
            _ => "r-high",
        };
        let _ = write!(
            body,
            r#"<button type="submit" name="rating" value="{value}" class="r {class}"><span class="n">{shown}</span><span class="sv">{sv}</span><small lang="en">{en}</small></button>"#,
            value = rating,
            class = class,
            shown = signed(rating),
            sv = escape(sv),
            en = escape(en),
        );
    }
    body.push_str(
        r#"</fieldset><p class="anon">Anonymt: bara pass, vårdlag, yrke och bedömning sparas – aldrig vem du är. Tryck på en siffra för att skicka.</p></form></div>"#,
    );
    page("Bedöm passet", &body, ctx)
}

/// The thank-you page after a rating: the shift and how many ratings it
/// has now; it returns to the rating page by itself.
pub(super) fn render_thanks(accepted: &Accepted, ctx: &ScreenContext) -> String {
    let shift = shift_words(&accepted.shift, accepted.local_start, accepted.local_end);
    let count = careload_planning::words::count(accepted.ratings, "bedömning", "bedömningar");
    let back = rate_href(&accepted.ward, ctx);
    let body = format!(
        r#"<div class="rate-page"><header class="top"><div class="title"><h1>Tack!</h1></div></header><p class="thanks">Tack! {} har nu {}.</p><p class="message"><a href="{}">Bedöm ett pass till</a></p></div>"#,
        escape(&shift),
        escape(&count),
        back,
    );
    page_refreshing_to("Tack!", &body, ctx, Some(&back))
}

/// The refusal of a rating, in Swedish, with a link back to the rating page.
pub(super) fn render_refused(ward: &str, message: &str, detail: Option<&str>, ctx: &ScreenContext) -> String {
    let detail = detail
        .map(|d| format!(r#"<p class="muted"><small lang="en">{}</small></p>"#, escape(d)))
        .unwrap_or_default();
    let body = format!(
        r#"<div class="rate-page"><header class="top"><div class="title"><h1>Bedömningen sparades inte</h1></div></header><p class="message">{}</p>{}<p class="message"><a href="{}">Tillbaka till bedömningen</a></p></div>"#,
        escape(message),
        detail,
        rate_href(ward, ctx),
    );
    page("Bedömningen sparades inte", &body, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::tests::{assert_balanced, assert_no_hyphen_minus, ctx};
    use careload_app::ratings::ShiftOffer;
    use chrono::{TimeZone as _, Utc};

    fn form() -> RatingForm {
        let t = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).single().unwrap();
        let local = |h| t(h).with_timezone(&chrono_tz::Europe::Stockholm).naive_local();
        RatingForm {
            ward: "w<1>".into(),
            ward_name: "Avd <1>".into(),
            shifts: vec![
                ShiftOffer {
                    name: "day".into(),
                    start: t(6),
                    end: t(14),
                    local_start: local(6),
                    local_end: local(14),
                    ongoing: false,
                    default: true,
                },
                ShiftOffer {
                    name: "evening".into(),
                    start: t(14),
                    end: t(20),
                    local_start: local(14),
                    local_end: local(20),
                    ongoing: true,
                    default: false,
                },
            ],
            teams: vec![("w1-a".into(), "Lag \"A\"".into())],
        }
    }

    #[test]
    fn the_page_offers_seven_ratings_the_shifts_teams_and_professions_escaped() {
        let html = render(&form(), &ctx());
        assert_balanced(&html);
        assert_no_hyphen_minus(&html);
        assert_eq!(html.matches(r#"name="rating""#).count(), 7);
        for (r, sv, en) in SCALE {
            assert!(html.contains(&format!(r#"value="{r}""#)), "{r}");
            assert!(html.contains(sv) && html.contains(en), "{sv}");
        }
        assert!(html.contains(">−3<") && html.contains(">+3<"), "{html}");
        assert!(html.contains("Dagpasset 07:00–15:00"), "{html}");
        assert!(
            html.contains(r#"value="2026-11-23T06:00:00Z" checked"#),
            "the shift that ended last is the default"
        );
        assert!(html.contains("Kvällspasset 15:00–21:00"));
        assert!(html.contains("Lag &quot;A&quot;") && html.contains("Avd &lt;1&gt;"));
        assert!(!html.contains("<1>"), "escaped");
        assert!(html.contains(r#"action="/wards/w%3C1%3E/rate""#), "{html}");
        assert!(html.contains("Anonymt"));
        assert!(!html.contains("<script"), "no JavaScript");
    }

    #[test]
    fn the_form_keeps_the_kiosk_token() {
        let mut c = ctx();
        c.token = Some("s&1".into());
        let html = render(&form(), &c);
        assert!(html.contains(r#"action="/wards/w%3C1%3E/rate?token=s%261""#), "{html}");
    }

    #[test]
    fn ratings_are_written_with_the_true_minus_sign() {
        assert_eq!(signed(-2), "−2");
        assert_eq!(signed(0), "0");
        assert_eq!(signed(3), "+3");
    }
}
