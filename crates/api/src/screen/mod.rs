//! Server-rendered HTML screens: the ward screen (`/wards/{id}/screen`) for
//! the big screen at the ward office, the hospital overview (`/`), a
//! department's (`/departments/{id}`), the region's (`/region`) and one
//! hospital's of it (`/hospitals/{id}`), and the
//! staffing assistants' page (`/wards/{id}/planning`), the bed
//! coordinator's page (`/admissions`), the staff's rating page
//! (`/wards/{id}/rate`) and the council's calibration page
//! (`/wards/{id}/calibration`).
//!
//! Pure functions from the views in [`careload_app::view`] to a complete HTML page:
//! no I/O, no JavaScript, inline CSS and inline SVG graphs ([`svg`]), every
//! piece of text from the data HTML-escaped with [`escape`]. Pages reload
//! themselves with `<meta http-equiv="refresh">`, so a kiosk browser needs
//! nothing but the address (with `?token=` when the API wants one; the
//! token is kept in every link).
//!
//! The screens speak Swedish (the users are Swedish nurses): *vårdintensitet*
//! (care need in points), *vårdlag* (team), *USK* (undersköterska, assistant
//! nurse) and *SSK* (sjuksköterska, registered nurse). Times are shown in the
//! hospital's time zone; numbers with a decimal comma.
//!
//! Colour never carries meaning alone: bands, NEWS2 risk and the
//! DiViS-style indicator each have a symbol and a word beside the colour,
//! and the palette (ColorBrewer RdBu, Okabe–Ito for lines) is safe for
//! colour-blind readers.

mod admissions;
mod calibration;
mod hospital;
mod patient;
mod planning;
mod rate;
mod region;
mod style;
pub mod svg;
mod ward;

use std::fmt::Write as _;

use careload_scoring::Points;
use chrono::{DateTime, Utc};

use careload_app::view::{
    DataState, DepartmentOverview, HospitalOverview, HospitalView, RegionOverview, WardHistory, WardView,
};

/// What a page needs besides the view.
#[derive(Clone, Debug)]
pub struct ScreenContext {
    /// Now (for "data as of" and ages).
    pub now: DateTime<Utc>,
    /// The hospital's time zone: every time on a screen is shown in it.
    pub tz: chrono_tz::Tz,
    /// Seconds between the page's own reloads.
    pub refresh_seconds: u32,
    /// A kiosk screen's token, kept in links as `?token=`.
    pub token: Option<String>,
}

/// The hospital overview page (`/`).
pub fn hospital_page(overview: &HospitalOverview, ctx: &ScreenContext) -> String {
    hospital::render(overview, false, ctx)
}

/// The hospital overview page (`/`), with `region` (hospitals are
/// configured) a link to the region's page.
pub fn hospital_page_linking_region(overview: &HospitalOverview, region: bool, ctx: &ScreenContext) -> String {
    hospital::render(overview, region, ctx)
}

/// The region's page (`/region`): each hospital's sums, linking to its page.
pub fn region_page(overview: &RegionOverview, ctx: &ScreenContext) -> String {
    region::render(overview, ctx)
}

/// A hospital's page of the region (`/hospitals/{id}`): its sums and its
/// wards under its departments.
pub fn hospital_of_page(view: &HospitalView, ctx: &ScreenContext) -> String {
    hospital::render_hospital(view, ctx)
}

/// A department's page (`/departments/{id}`).
pub fn department_page(overview: &DepartmentOverview, ctx: &ScreenContext) -> String {
    hospital::render_department(overview, ctx)
}

/// The ward screen (`/wards/{id}/screen`).
pub fn ward_page(ward: &WardView, history: &WardHistory, ctx: &ScreenContext) -> String {
    ward::render(ward, history, ctx)
}

/// The staffing assistants' page (`/wards/{id}/planning`), with the
/// planned-staffing upload when `import` says the caller may send one.
pub fn planning_page(
    shifts: &careload_app::planning::WardShifts,
    balance: Option<&careload_app::planning::WardBalance>,
    import: &StaffingImport,
    ctx: &ScreenContext,
) -> String {
    planning::render(shifts, balance, import, ctx)
}

pub use planning::StaffingImport;

/// The staff's rating page (`/wards/{id}/rate`), its thank-you page and
/// its refusal (in Swedish, with a link back).
pub fn rate_page(form: &careload_app::ratings::RatingForm, ctx: &ScreenContext) -> String {
    rate::render(form, ctx)
}

/// The thank-you page after a rating (`POST /wards/{id}/rate`).
pub fn rate_thanks_page(accepted: &careload_app::ratings::Accepted, ctx: &ScreenContext) -> String {
    rate::render_thanks(accepted, ctx)
}

/// A refused rating on the rating page: `message` in Swedish, `detail` (the
/// reason as the API gives it) small beneath.
pub fn rate_refused_page(ward: &str, message: &str, detail: Option<&str>, ctx: &ScreenContext) -> String {
    rate::render_refused(ward, message, detail, ctx)
}

/// The council's calibration page (`/wards/{id}/calibration`): the ward's
/// optimal points per person from the staff's ratings over `calibration`'s
/// window, and with `agreement` (a month's report, whose calibration
/// `calibration` is) the month's largest disagreements.
pub fn calibration_page(
    calibration: &careload_app::calibration::WardCalibration,
    agreement: Option<&careload_app::agreement::WardAgreement>,
    ctx: &ScreenContext,
) -> String {
    calibration::render(calibration, agreement, ctx)
}

/// The bed coordinator's page (`/admissions`).
pub fn admissions_page(admissions: &careload_app::planning::Admissions, ctx: &ScreenContext) -> String {
    admissions::render(admissions, ctx)
}

/// The patient page (`/wards/{id}/beds/{bed}`, `/patients/{key}`): the
/// points now per component and item, and what changed since the previous
/// hour, in Swedish. `ward_name` is the ward's display name.
pub fn patient_page(detail: &careload_app::view::PatientDetail, ward_name: &str, ctx: &ScreenContext) -> String {
    patient::render(detail, ward_name, ctx)
}

/// A short page for a request an HTML route cannot answer (an unknown
/// ward, bed or path; a token that may not open the page): `heading`,
/// `message`, then `links` (a path on this server and its text), and always
/// a link to the overview. Everything is escaped here.
pub fn message_page(heading: &str, message: &str, links: &[(String, String)], ctx: &ScreenContext) -> String {
    let mut body = format!(
        r#"<header class="top"><div class="title"><h1>{}</h1></div></header><div class="message"><p>{}</p><ul>"#,
        escape(heading),
        escape(message)
    );
    for (path, text) in links {
        let _ = write!(body, r#"<li><a href="{}">{}</a></li>"#, href(path, ctx), escape(text));
    }
    let _ = write!(
        body,
        r#"<li><a class="overview-link" href="{}">Till sjukhusöversikten</a></li></ul></div>"#,
        href("/", ctx)
    );
    page(heading, &body, ctx)
}

/// A shift's name as the screens say it (`day` → `dagpass`).
fn shift_name(name: &str) -> String {
    careload_planning::words::shift_name(name, false)
}

/// Escapes text for HTML content and (quoted) attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A link target on this server, keeping the kiosk token; escaped for an attribute.
fn href(path: &str, ctx: &ScreenContext) -> String {
    match &ctx.token {
        Some(token) => escape(&format!("{path}?token={}", encode_component(token))),
        None => escape(path),
    }
}

/// Points with one decimal and a decimal comma (`12,5`, `−1,5`: the true
/// minus sign, as every number in Swedish text; `careload_planning::words`).
fn points(p: Points) -> String {
    careload_planning::words::one_decimal(p.milli())
}

/// People or hours with one decimal and a decimal comma (`2,5`, `−0,3`), signed when asked (`+0,5`).
pub(crate) fn people(q: careload_scoring::Qty, signed: bool) -> String {
    if signed {
        careload_planning::words::signed_one_decimal(q.milli())
    } else {
        careload_planning::words::one_decimal(q.milli())
    }
}

/// A local time of day (`13:05`).
fn local_time(t: DateTime<Utc>, ctx: &ScreenContext) -> String {
    t.with_timezone(&ctx.tz).format("%H:%M").to_string()
}

/// A local date and time (`2026-11-23 13:05 CET`).
fn local_datetime(t: DateTime<Utc>, ctx: &ScreenContext) -> String {
    t.with_timezone(&ctx.tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// A duration in Swedish (`3 h 20 min`, `45 min`, `2 dygn 4 h`).
fn age(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - from).num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days} dygn {hours} h")
    } else if hours > 0 {
        format!("{hours} h {mins} min")
    } else {
        format!("{mins} min")
    }
}

/// The page around a body: doctype, title, self-refresh and the inline style sheet.
fn page(title: &str, body: &str, ctx: &ScreenContext) -> String {
    page_refreshing_to(title, body, ctx, None)
}

/// As [`page`], reloading `refresh_to` (a [`href`]) instead of itself: the
/// answer to a form is not to be sent again.
fn page_refreshing_to(title: &str, body: &str, ctx: &ScreenContext, refresh_to: Option<&str>) -> String {
    let refresh = match refresh_to {
        Some(url) => format!("{}; url={url}", ctx.refresh_seconds),
        None => ctx.refresh_seconds.to_string(),
    };
    format!(
        concat!(
            "<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta http-equiv=\"refresh\" content=\"{refresh}\">\n",
            "<meta name=\"referrer\" content=\"no-referrer\">\n",
            "<title>{title}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
        ),
        refresh = refresh,
        title = escape(title),
        css = style::CSS,
        body = body,
    )
}

/// The data-state banners: stale data and a failed or partial last run. Empty when all is well.
fn banners(state: &DataState, ctx: &ScreenContext) -> String {
    let mut out = String::new();
    if state.stale && state.hour.is_some() {
        let mut text = String::from("<strong>Inaktuella data.</strong> ");
        if let Some(hour) = state.hour {
            let _ = write!(text, "Visar timmen {} ", escape(&local_datetime(hour, ctx)));
        }
        match state.as_of {
            Some(as_of) => {
                let _ = write!(
                    text,
                    "(beräknad {}, för {} sedan).",
                    escape(&local_datetime(as_of, ctx)),
                    age(as_of, ctx.now)
                );
            }
            None => text.push_str("(inget beräkningsdatum)."),
        }
        text.push_str(" Siffrorna visar inte läget just nu.");
        let _ = write!(
            out,
            r#"<div class="banner stale" role="alert"><span class="sym">⚠</span> {text}</div>"#
        );
    }
    if let Some(run) = &state.last_run {
        match run.outcome.as_deref() {
            Some("failed") => {
                // the run's error (English, with the EHR's internal URLs) is
                // for admins in the run record, not for a wall screen
                let data = match state.as_of {
                    Some(as_of) => format!(
                        "Siffrorna är från {} ({} sedan).",
                        escape(&local_datetime(as_of, ctx)),
                        age(as_of, ctx.now)
                    ),
                    None => "Inga siffror ännu.".to_owned(),
                };
                let _ = write!(
                    out,
                    r#"<div class="banner failed" role="alert"><span class="sym">✖</span> <strong>Senaste hämtningen från journalsystemet misslyckades</strong> (startad {started}). {data} Felet är loggat för IT (körning {id}).</div>"#,
                    id = run.id,
                    started = escape(&local_datetime(run.started_at, ctx)),
                );
            }
            Some("partial") => {
                let _ = write!(
                    out,
                    r#"<div class="banner partial" role="status"><span class="sym">!</span> <strong>Senaste hämtningen från journalsystemet blev ofullständig</strong> (startad {started}). Vissa patienter kan saknas. Detaljerna är loggade för IT (körning {id}).</div>"#,
                    id = run.id,
                    started = escape(&local_datetime(run.started_at, ctx)),
                );
            }
            _ => {}
        }
    }
    out
}

/// The "data as of" line.
fn as_of_line(state: &DataState, ctx: &ScreenContext) -> String {
    match state.hour {
        None => "Inga data ännu".to_owned(),
        Some(hour) => {
            let mut s = format!(
                "Data för timmen {}–{}, {}",
                local_time(hour, ctx),
                local_time(hour + chrono::Duration::hours(1), ctx),
                hour.with_timezone(&ctx.tz).format("%Y-%m-%d %Z")
            );
            if let Some(as_of) = state.as_of {
                let _ = write!(s, " · beräknad {}", local_time(as_of, ctx));
            }
            escape(&s)
        }
    }
}

/// The grey "no data yet" panel.
fn no_data(what: &str) -> String {
    format!(
        r#"<div class="nodata" role="status"><div class="sym">◌</div><div><strong>Inga data ännu.</strong> {}</div></div>"#,
        escape(what)
    )
}

/// The footer: when the page was made, the weights version and the refresh interval.
fn footer(state: &DataState, ctx: &ScreenContext) -> String {
    let weights = state
        .weights_version
        .as_deref()
        .map(|v| format!(" · viktversion {}", escape(v)))
        .unwrap_or_default();
    format!(
        r#"<footer>Sidan skapad {} · uppdateras var {} s{} · careload</footer>"#,
        escape(&local_datetime(ctx.now, ctx)),
        ctx.refresh_seconds,
        weights
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use careload_app::view::RunSummary;
    use chrono::TimeZone as _;

    pub(crate) fn ctx() -> ScreenContext {
        ScreenContext {
            now: Utc.with_ymd_and_hms(2026, 11, 23, 12, 10, 0).single().unwrap(),
            tz: chrono_tz::Europe::Stockholm,
            refresh_seconds: 300,
            token: None,
        }
    }

    /// No number in the page's text is written with the hyphen-minus `-`:
    /// negatives take the true minus sign `−`. Text only (tags, attributes
    /// and the style sheet may hold ASCII numbers); a hyphen after a letter
    /// or digit (`r03-b2`, `2026-11-23`) is no minus sign.
    pub(crate) fn assert_no_hyphen_minus(html: &str) {
        let body = html.split("</style>").last().unwrap_or(html);
        let mut text = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let chars: Vec<char> = text.chars().collect();
        for (i, w) in chars.windows(2).enumerate() {
            let after_word = i > 0 && chars[i - 1].is_alphanumeric();
            if w[0] == '-' && w[1].is_ascii_digit() && !after_word {
                let from = i.saturating_sub(40);
                let around: String = chars[from..(i + 20).min(chars.len())].iter().collect();
                panic!("a hyphen-minus before a number in the page's text: …{around}…");
            }
        }
    }

    #[test]
    fn the_hyphen_minus_check_catches_a_negative_number() {
        let caught = std::panic::catch_unwind(|| assert_no_hyphen_minus("<p>marginal -0,3 USK</p>"));
        assert!(caught.is_err());
        assert_no_hyphen_minus(r#"<p style="margin:-1px">marginal −0,3 USK, säng r03-b2, 2026-11-23</p>"#);
    }

    /// Every opening tag of these elements has its closing tag.
    pub(crate) fn assert_balanced(html: &str) {
        for tag in [
            "html", "head", "body", "header", "section", "div", "table", "tr", "td", "span", "svg", "a",
        ] {
            let open = html.matches(&format!("<{tag} ")).count() + html.matches(&format!("<{tag}>")).count();
            let close = html.matches(&format!("</{tag}>")).count();
            assert_eq!(open, close, "<{tag}> opened {open} times, closed {close} times");
        }
    }

    #[test]
    fn escape_replaces_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Avdelning 12 – Kirurgi åäö"), "Avdelning 12 – Kirurgi åäö");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn links_keep_the_token_encoded() {
        let mut c = ctx();
        assert_eq!(href("/wards/12/screen", &c), "/wards/12/screen");
        c.token = Some("a b&c=d".into());
        assert_eq!(href("/", &c), "/?token=a%20b%26c%3Dd");
        assert_eq!(encode_component("avd 12/å"), "avd%2012%2F%C3%A5");
    }

    #[test]
    fn points_have_one_decimal_and_a_comma() {
        assert_eq!(points(Points::from_milli(12_345)), "12,3");
        assert_eq!(points(Points::from_milli(12_350)), "12,4");
        assert_eq!(points(Points::whole(7)), "7,0");
        assert_eq!(points(Points::from_milli(-1_500)), "−1,5");
        assert_eq!(people(careload_scoring::Qty::from_milli(-300), true), "−0,3");
        assert_eq!(people(careload_scoring::Qty::from_milli(500), true), "+0,5");
    }

    #[test]
    fn ages_read_naturally() {
        let now = ctx().now;
        assert_eq!(age(now - chrono::Duration::minutes(45), now), "45 min");
        assert_eq!(age(now - chrono::Duration::minutes(200), now), "3 h 20 min");
        assert_eq!(age(now - chrono::Duration::hours(52), now), "2 dygn 4 h");
    }

    #[test]
    fn banners_say_what_is_wrong() {
        let c = ctx();
        let hour = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
        let mut state = DataState {
            hour: Some(hour),
            as_of: Some(hour + chrono::Duration::minutes(5)),
            stale: false,
            stale_reason: None,
            last_run: Some(RunSummary {
                id: 7,
                started_at: hour,
                finished_at: Some(hour),
                outcome: Some("ok".into()),
                error: None,
            }),
            weights_version: Some("2026-1".into()),
            sources: Vec::new(),
        };
        assert_eq!(banners(&state, &c), "");
        state.stale = true;
        let b = banners(&state, &c);
        assert!(b.contains("Inaktuella data"), "{b}");
        assert!(b.contains("2026-11-23 09:00 CET"), "{b}");
        assert!(b.contains("för 4 h 5 min sedan"), "{b}");
        state.stale = false;
        state.last_run = Some(RunSummary {
            id: 8,
            started_at: hour,
            finished_at: Some(hour),
            outcome: Some("failed".into()),
            error: Some("FHIR server <timeout>".into()),
        });
        let b = banners(&state, &c);
        assert!(b.contains("misslyckades"), "{b}");
        assert!(
            !b.contains("timeout"),
            "the run's error is for admins, not the wall: {b}"
        );
    }

    /// A failed or partial run is told in Swedish on the wall screen: since
    /// when the numbers are, and that the details are logged for IT. The
    /// run's error (English, with the EHR's internal address) stays in the
    /// run record (`GET /api/v1/runs`, admins).
    #[test]
    fn a_failed_run_is_told_in_swedish_without_the_raw_error() {
        let c = ctx();
        let hour = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
        let raw = "fetch: error sending request for url (http://ehr.internal:8080/fhir/Encounter?status=in-progress): \
                   client error (Connect): tcp connect error: Connection refused (os error 111)";
        let mut state = DataState {
            hour: Some(hour),
            as_of: Some(hour + chrono::Duration::minutes(5)),
            stale: false,
            stale_reason: None,
            last_run: Some(RunSummary {
                id: 9,
                started_at: hour + chrono::Duration::hours(1),
                finished_at: Some(hour + chrono::Duration::hours(1)),
                outcome: Some("failed".into()),
                error: Some(raw.into()),
            }),
            weights_version: Some("2026-1".into()),
            sources: Vec::new(),
        };
        let b = banners(&state, &c);
        for leak in [
            "ehr.internal",
            "tcp connect",
            "os error",
            "Connection refused",
            "error sending",
        ] {
            assert!(!b.contains(leak), "{leak:?} on the wall screen: {b}");
        }
        assert!(
            b.contains("Senaste hämtningen från journalsystemet misslyckades"),
            "{b}"
        );
        assert!(b.contains("Siffrorna är från 2026-11-23 09:05 CET"), "since when: {b}");
        assert!(b.contains("Felet är loggat för IT (körning 9)"), "{b}");

        state.last_run = state.last_run.map(|r| RunSummary {
            outcome: Some("partial".into()),
            ..r
        });
        let b = banners(&state, &c);
        assert!(!b.contains("ehr.internal") && !b.contains("os error"), "{b}");
        assert!(
            b.contains("ofullständig") && b.contains("Vissa patienter kan saknas"),
            "{b}"
        );
    }
}
