//! The patient page (`/wards/{id}/beds/{bed}`, reached by clicking a bed on
//! the ward screen): why this patient's number is what it is, for a nurse.
//!
//! The header names the ward and bed, the total with its band (symbol and
//! word) and the USK/SSK split. "Poäng nu per komponent" lists each
//! component with its points and, under it, each item in words with its
//! local due time, the council's weight that priced it (weight × quantity
//! = points) and the weights-file parameter. "Sedan förra timmen" tells
//! what changed since the previous hour, one line per item whose points
//! changed, in words ("+2,5 toalettbesök 07:00", "NEWS2 steg från 3 till 5").
//!
//! Items are named by display names: Swedish labels for careload's own
//! codes (the weights file's activity codes, order and care-plan
//! categories, medication routes, Norton and emotional-support levels), a
//! code as it is otherwise (an activity code the labels do not know, an
//! ICD-10 code: the snapshot keeps codes, never the EHR's display text or
//! free text). The pseudonym is never shown.

use std::fmt::Write as _;

use careload_scoring::Points;
use careload_scoring::change::{Change, ItemChange, ItemKind, Transition};
use careload_scoring::news2::RiskLevel;
use careload_scoring::score::{Component, Parameter};
use careload_scoring::snapshot::{NortonActivity, Sex, SupportLevel};
use chrono::{DateTime, Utc};

use super::{
    ScreenContext, age, as_of_line, banners, encode_component, escape, footer, href, local_datetime, local_time, page,
    points, style,
};
use careload_app::view::{ContributionView, PatientDetail, short_label};

/// The whole page. `ward_name` is the ward's display name.
pub(super) fn render(detail: &PatientDetail, ward_name: &str, ctx: &ScreenContext) -> String {
    let bed = bed_label(detail);
    let mut body = header(detail, ward_name, &bed, ctx);
    body.push_str(&banners(&detail.state, ctx));
    body.push_str(r#"<div class="patient-page">"#);
    body.push_str(&components(detail, ctx));
    body.push_str(&changes(detail, ctx));
    body.push_str("</div>");
    body.push_str(&footer(&detail.state, ctx));
    page(&format!("{ward_name} säng {bed} – vårdintensitet"), &body, ctx)
}

/// The bed as the ward screen shows it (`–` when none is known).
fn bed_label(detail: &PatientDetail) -> String {
    detail
        .patient
        .bed
        .as_deref()
        .map_or_else(|| "–".to_owned(), |b| short_label(b, &detail.ward))
}

fn header(detail: &PatientDetail, ward_name: &str, bed: &str, ctx: &ScreenContext) -> String {
    let p = &detail.patient;
    let (class, sym, word) = style::band(p.band);
    let ward_link = href(&format!("/wards/{}/screen", encode_component(&detail.ward)), ctx);
    let mut who = vec![sex(p.sex).to_owned()];
    if let Some(year) = p.birth_year {
        who.push(format!("född {year}"));
    }
    who.push(format!(
        "inskriven {} ({} sedan)",
        local_datetime(p.admitted_at, ctx),
        age(p.admitted_at, ctx.now)
    ));
    if let Some(team) = &detail.team_name {
        who.push(team.clone());
    }
    if p.outlying {
        who.push("utlokaliserad".to_owned());
    }
    let mut status = Vec::new();
    if let Some(v) = p.news2 {
        let risk = p
            .news2_risk
            .map(|r| format!(" ({} risk)", risk_word(r)))
            .unwrap_or_default();
        status.push(format!("NEWS2 {v}{risk}"));
    }
    match (p.norton_total, p.norton) {
        (Some(t), Some(a)) => status.push(format!("Norton {t} ({})", norton_word(a))),
        (Some(t), None) => status.push(format!("Norton {t}")),
        (None, Some(a)) => status.push(format!("Norton: {}", norton_word(a))),
        (None, None) => status.push("Norton saknas".to_owned()),
    }
    let adl: Vec<String> = p
        .adl
        .iter()
        .filter_map(|n| {
            style::adl_level(n.level).map(|(_, level)| format!("{} {level}", style::adl_domain(n.domain).1))
        })
        .collect();
    if !adl.is_empty() {
        status.push(format!("ADL (ingår inte i poängen): {}", adl.join(", ")));
    }
    format!(
        concat!(
            r#"<header class="top"><div class="title"><h1>{ward} · Säng {bed}</h1>"#,
            r#"<div class="asof">{asof}</div>"#,
            r#"<div class="nav"><a href="{ward_link}">← {ward}</a> · <a href="{overview}">sjukhusöversikt</a></div>"#,
            r#"<div class="who">{who}</div><div class="who">{status}</div></div>"#,
            r#"<div class="now"><div class="caption">Vårdintensitet nu (poäng)</div><div class="big" id="patient-total">{total}</div>"#,
            r#"<span class="score band-{class}"><span class="sym">{sym}</span> {word}</span></div>"#,
            r#"<div><span class="split"><span class="usk" title="undersköterska">USK {usk}</span> <span class="ssk" title="sjuksköterska">SSK {ssk}</span></span></div></header>"#
        ),
        ward = escape(ward_name),
        bed = escape(bed),
        asof = as_of_line(&detail.state, ctx),
        ward_link = ward_link,
        overview = href("/", ctx),
        who = escape(&who.join(" · ")),
        status = escape(&status.join(" · ")),
        total = points(p.total),
        class = class,
        sym = sym,
        word = word,
        usk = points(p.usk),
        ssk = points(p.ssk),
    )
}

/// "Poäng nu per komponent": each component with points or items, its items under it.
fn components(detail: &PatientDetail, ctx: &ScreenContext) -> String {
    let mut out = String::from(r#"<section class="breakdown"><h2>Poäng nu per komponent</h2>"#);
    let mut none = Vec::new();
    for c in Component::ALL {
        let total = detail
            .patient
            .components
            .iter()
            .find(|(k, _)| k == c.key())
            .map_or(Points::ZERO, |(_, p)| *p);
        let items: Vec<&ContributionView> = detail.contributions.iter().filter(|x| x.component == c).collect();
        if items.is_empty() && total == Points::ZERO {
            none.push(style::component(c));
            continue;
        }
        let _ = write!(
            out,
            concat!(
                r#"<div class="component" data-component="{key}"><h3><span>{name}</span> <span class="num">{total}</span></h3>"#,
                r#"<table class="items"><colgroup><col class="i-what"><col class="i-time"><col class="i-who"><col class="i-wq"><col class="i-pts"><col class="i-param"></colgroup><thead><tr><th>Vad</th><th>Tid</th><th>Yrke</th>"#,
                r#"<th class="num" title="rådets vikt × antal">Vikt × antal</th><th class="num">Poäng</th>"#,
                r#"<th>Parameter i viktfilen</th></tr></thead><tbody>"#
            ),
            key = c.key(),
            name = escape(style::component(c)),
            total = points(total),
        );
        for x in items {
            let _ = write!(
                out,
                concat!(
                    r#"<tr><td>{what}</td><td class="num">{due}</td><td>{who}</td>"#,
                    r#"<td class="num">{weight} × {qty}</td><td class="num">{points}</td><td class="param">{param}</td></tr>"#
                ),
                what = escape(&contribution_words(x)),
                due = x.due.map(|d| escape(&due(d, ctx))).unwrap_or_else(|| "–".to_owned()),
                who = x.profession.abbreviation(),
                weight = decimal(x.weight.milli()),
                qty = decimal(x.quantity.milli()),
                points = decimal(round_to_hundredths(x.points.milli())),
                // the path; the item's words already say what the note in brackets says
                param = escape(x.parameter_path.split(" (").next().unwrap_or_default()),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    if !none.is_empty() {
        let _ = write!(out, r#"<p class="muted">Inga poäng: {}.</p>"#, escape(&none.join(", ")));
    }
    if let Some(v) = &detail.weights_version {
        let _ = write!(
            out,
            r#"<p class="muted">Vikterna är rådets, version {}. Poäng = vikt × antal; summan är patientens poäng.</p>"#,
            escape(v)
        );
    }
    out.push_str("</section>");
    out
}

/// "Sedan förra timmen (HH:00)": what changed, in words.
fn changes(detail: &PatientDetail, ctx: &ScreenContext) -> String {
    let mut out = format!(
        r#"<section class="changes"><h2>Sedan förra timmen ({})</h2>"#,
        escape(&local_time(detail.previous_hour, ctx))
    );
    let Some(change) = &detail.change else {
        out.push_str(
            r#"<p class="new">Ny på avdelningen sedan förra timmen (eller saknas förra timmen): inget att jämföra med.</p></section>"#,
        );
        return out;
    };
    let lines = change_lines(change, &detail.ward, ctx);
    if lines.is_empty() {
        out.push_str(r#"<p>Ingen förändring sedan förra timmen.</p></section>"#);
        return out;
    }
    let _ = write!(
        out,
        r#"<p class="total-change">Totalt <strong>{}</strong> (från {} till {}) · USK {} · SSK {}</p><ul>"#,
        signed(change.total.delta),
        points(change.total.from),
        points(change.total.to),
        signed(change.usk.delta),
        signed(change.ssk.delta),
    );
    for line in lines {
        let _ = write!(out, "<li>{}</li>", escape(&line));
    }
    out.push_str("</ul></section>");
    out
}

/// One line per thing that changed: the patient's state (NEWS2, Norton,
/// emotional support, place), then each item whose points changed.
/// Items whose points did not change are left out.
fn change_lines(c: &Change, ward: &str, ctx: &ScreenContext) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(n) = &c.news2 {
        match (n.value.from, n.value.to) {
            (Some(a), Some(b)) if b > a => lines.push(format!("NEWS2 steg från {a} till {b}")),
            (Some(a), Some(b)) if b < a => lines.push(format!("NEWS2 sjönk från {a} till {b}")),
            (None, Some(b)) => lines.push(format!("NEWS2 {b} (nytt värde)")),
            (Some(a), None) => lines.push(format!("NEWS2 saknas nu (var {a})")),
            _ => {}
        }
        if let (Some(a), Some(b)) = (n.risk.from, n.risk.to)
            && a != b
        {
            lines.push(format!("NEWS2-risk från {} till {}", risk_word(a), risk_word(b)));
        }
    }
    if let Some(t) = &c.norton {
        lines.push(format!(
            "Norton aktivitet från {} till {}",
            t.from.map_or("–", norton_word),
            t.to.map_or("–", norton_word)
        ));
    }
    if let Some(t) = &c.norton_total {
        lines.push(format!("Norton-summa från {} till {}", opt(t.from), opt(t.to)));
    }
    if let Some(t) = &c.emotional_support {
        lines.push(format!(
            "Emotionellt stöd från {} till {}",
            t.from.map_or("–", support_word),
            t.to.map_or("–", support_word)
        ));
    }
    if let Some(Transition { from, to }) = &c.placement {
        let place = |p: &careload_scoring::snapshot::Placement| {
            let bed = p
                .bed
                .as_deref()
                .map_or_else(|| "–".to_owned(), |b| short_label(b, ward));
            if p.ward == ward {
                format!("säng {bed}")
            } else {
                format!("avdelning {}, säng {bed}", p.ward)
            }
        };
        let (a, b) = (place(from), place(to));
        if a != b {
            lines.push(format!("Flyttad från {a} till {b}"));
        }
        if from.team != to.team {
            let team = |t: &Option<String>| t.as_deref().map_or_else(|| "–".to_owned(), |t| short_label(t, ward));
            lines.push(format!("Vårdlag från {} till {}", team(&from.team), team(&to.team)));
        }
    }
    if let Some(t) = &c.outlying {
        lines.push(
            if t.to {
                "Nu utlokaliserad"
            } else {
                "Inte längre utlokaliserad"
            }
            .to_owned(),
        );
    }
    let moved = |i: &&ItemChange| i.points.delta != Points::ZERO;
    let line = |i: &ItemChange, after: String| format!("{} {}{after}", signed(i.points.delta), item_words(i, ctx));
    for i in c.started.iter().filter(moved) {
        lines.push(line(i, String::new()));
    }
    for i in c.changed.iter().filter(moved) {
        let (from, to) = (points(i.points.from), points(i.points.to));
        lines.push(line(i, format!(" (från {from} till {to})")));
    }
    for i in c.ended.iter().filter(moved) {
        lines.push(line(i, ", avslutat".to_owned()));
    }
    lines
}

/// An item that changed, in words, with its local due time.
fn item_words(i: &ItemChange, ctx: &ScreenContext) -> String {
    let what = match i.kind {
        ItemKind::Activity => activity(&i.code),
        ItemKind::Medication => format!("läkemedel {}", route(&i.code)),
        ItemKind::Order => order(&i.code),
        ItemKind::CarePlan => care_plan(&i.code),
        ItemKind::Diagnosis => format!("diagnos {}", i.code),
        ItemKind::News2 => "NEWS2".to_owned(),
        ItemKind::EmotionalSupport => "emotionellt stöd".to_owned(),
        ItemKind::Patient => match i.code.as_str() {
            "news2" => "NEWS2-mätningar".to_owned(),
            "modifiers" => "tillägg: utlokaliserad / nyinskriven".to_owned(),
            code => Component::ALL
                .into_iter()
                .find(|c| c.key() == code)
                .map_or_else(|| code.to_owned(), |c| style::component(c).to_lowercase()),
        },
    };
    match i.due {
        Some(d) => format!("{what} {}", due(d, ctx)),
        None => what,
    }
}

/// A contribution's item in words.
fn contribution_words(x: &ContributionView) -> String {
    let code = x.code.as_deref().unwrap_or("?");
    match x.parameter {
        Parameter::Activity { level, assumed } => {
            let note = if assumed { ", Norton saknas: antagen" } else { "" };
            format!("{} (vid {}{note})", activity(code), norton_word(level))
        }
        Parameter::MedicationOrder { route: r } => format!("läkemedel {}, ordination", route(r.key())),
        Parameter::MedicationAdministration { route: r } => format!("läkemedel {}, administreringar", route(r.key())),
        Parameter::News2Band { value, computed, .. } => format!(
            "NEWS2 {value} ({})",
            if computed {
                "beräknad från vitalparametrar"
            } else {
                "journalförd"
            }
        ),
        Parameter::News2Measurements { last_24h } => format!("NEWS2-mätningar: {last_24h} senaste dygnet"),
        Parameter::EmotionalSupport { level } => format!("emotionellt stöd: {}", support_word(level)),
        Parameter::Order => order(code),
        Parameter::CarePlan => care_plan(code),
        Parameter::Diagnosis { .. } => format!("diagnos {code}"),
        Parameter::Outlier => "utlokaliserad patient: tillägg".to_owned(),
        Parameter::NewlyAdmitted { documented } => {
            format!("nyinskriven: tillägg per timme ({documented} poster dokumenterade)")
        }
        Parameter::NewlyAdmittedFloor => "nyinskriven: lägsta poäng per timme".to_owned(),
    }
}

/// A due time: `07:00` today, `24/11 07:00` on another day (local).
fn due(t: DateTime<Utc>, ctx: &ScreenContext) -> String {
    let local = t.with_timezone(&ctx.tz);
    if local.date_naive() == ctx.now.with_timezone(&ctx.tz).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d/%-m %H:%M").to_string()
    }
}

/// Signed points with one decimal: `+2,5`, `−1,0`, `±0,0`.
fn signed(p: Points) -> String {
    let text = careload_planning::words::signed_one_decimal(p.milli());
    if text == "0,0" { "±0,0".to_owned() } else { text }
}

/// Thousandths rounded to hundredths (half away from zero): an item's
/// points, which are often below 0,1.
fn round_to_hundredths(milli: i64) -> i64 {
    let tens = (milli.abs() + 5) / 10 * 10;
    tens * milli.signum()
}

/// A weight or quantity in thousandths, with the decimals it has (at most
/// three) and a decimal comma: `2`, `0,25`, `−1,5`.
fn decimal(milli: i64) -> String {
    let sign = if milli < 0 { "−" } else { "" };
    let abs = milli.unsigned_abs();
    let (whole, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let frac = format!("{frac:03}");
        format!("{sign}{whole},{}", frac.trim_end_matches('0'))
    }
}

fn opt(v: Option<u8>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

fn sex(s: Sex) -> &'static str {
    match s {
        Sex::Female => "Kvinna",
        Sex::Male => "Man",
        Sex::Other => "Annat kön",
        Sex::Unknown => "Kön okänt",
    }
}

fn risk_word(r: RiskLevel) -> &'static str {
    match r {
        RiskLevel::Low => "låg",
        RiskLevel::LowMedium => "låg–medel",
        RiskLevel::Medium => "medel",
        RiskLevel::High => "hög",
    }
}

fn norton_word(a: NortonActivity) -> &'static str {
    match a {
        NortonActivity::Walks => "går själv",
        NortonActivity::WalksWithHelp => "går med hjälp",
        NortonActivity::Wheelchair => "rullstolsbunden",
        NortonActivity::Bedridden => "sängliggande",
    }
}

fn support_word(l: SupportLevel) -> &'static str {
    match l {
        SupportLevel::LessThanHourly => "mer sällan än varje timme",
        SupportLevel::Hourly => "varje timme",
        SupportLevel::TwiceHourly => "två gånger i timmen eller oftare",
        SupportLevel::ContinuousOne => "kontinuerligt, en person",
        SupportLevel::ContinuousMore => "kontinuerligt, flera personer",
    }
}

/// An activity code of the weights file in Swedish; an unknown code as it is.
fn activity(code: &str) -> String {
    let sv = match code {
        "personal-hygiene" => "personlig hygien",
        "shower" => "dusch",
        "dressing" => "på- och avklädning",
        "toileting" => "toalettbesök",
        "mobilisation" => "mobilisering",
        "repositioning" => "lägesändring",
        "meal-assistance" => "hjälp vid måltid",
        "fluid-balance" => "vätskelista",
        "blood-glucose" => "blodsockerkontroll",
        "escort" => "följe till undersökning eller behandling",
        "wound-care" => "såromläggning",
        "urinary-catheter" => "urinkateter",
        "peripheral-line" => "perifer venkateter",
        "drain-care" => "dränvård",
        "tube-feeding" => "sondmatning",
        "pain-assessment" => "smärtskattning",
        "admission-interview" => "inskrivningssamtal",
        "discharge-planning" => "utskrivningsplanering",
        "patient-education" => "information till patient och närstående",
        other => return format!("aktivitet {other}"),
    };
    sv.to_owned()
}

/// A medication route in Swedish.
fn route(key: &str) -> String {
    let sv = match key {
        "oral" => "peroralt",
        "intravenous" => "intravenöst",
        "subcutaneous" => "subkutant",
        "intramuscular" => "intramuskulärt",
        "inhalation" => "för inhalation",
        "enteral" => "via sond",
        "topical" => "utvärtes",
        "rectal" => "rektalt",
        "other" => "annan väg",
        other => return other.to_owned(),
    };
    sv.to_owned()
}

/// An order category of the weights file in Swedish; an unknown one as it is.
fn order(code: &str) -> String {
    let sv = match code {
        "lab-sample" => "provtagning",
        "blood-culture" => "blododling",
        "ecg" => "EKG",
        "imaging" => "röntgen (förberedelse, transport)",
        "transfusion" => "blodtransfusion",
        "consultation" => "konsultation",
        other => return format!("ordination {other}"),
    };
    sv.to_owned()
}

/// A care-plan category of the weights file in Swedish; an unknown one as it is.
fn care_plan(code: &str) -> String {
    let sv = match code {
        "palliative" => "vårdplan palliativ vård",
        "delirium" => "vårdplan delirium",
        "fall-risk" => "vårdplan fallrisk",
        "pressure-ulcer" => "vårdplan trycksår",
        "nutrition" => "vårdplan nutrition",
        "isolation" => "vårdplan isolering",
        other => return format!("vårdplan {other}"),
    };
    sv.to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::screen::tests::{assert_balanced, ctx};
    use careload_app::view::{Band, DataState, PatientRow};
    use careload_scoring::Qty;
    use careload_scoring::change::{ComponentDelta, Delta, News2Change};
    use careload_scoring::score::Source;
    use careload_scoring::snapshot::{Profession, Route};
    use chrono::TimeZone as _;

    const KEY: &str = "9f2c0a9d1e3b7c45aa01bb02cc03dd04ee05ff06a7b8c9d0e1f2a3b4c5d6e7f8";

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).single().unwrap()
    }

    fn p(milli: i64) -> Points {
        Points::from_milli(milli)
    }

    fn contribution(
        component: Component,
        parameter: Parameter,
        source: Source,
        code: Option<&str>,
        due: Option<DateTime<Utc>>,
        weight: i64,
        qty: i64,
    ) -> ContributionView {
        ContributionView {
            component,
            profession: Profession::Usk,
            parameter,
            parameter_path: "activities.codes.toileting.walks_with_help".into(),
            source,
            item: "activity toileting due 2026-11-23 06:00Z".into(),
            code: code.map(str::to_owned),
            due,
            weight: p(weight),
            quantity: Qty::from_milli(qty),
            points: p(weight * qty / 1000),
        }
    }

    fn item(kind: ItemKind, code: &str, due: Option<DateTime<Utc>>, from: i64, to: i64) -> ItemChange {
        ItemChange {
            kind,
            code: code.into(),
            due,
            points: Delta::new(p(from), p(to)),
        }
    }

    /// A patient on w1 in bed `w1-r03-b2`: toileting at 07:00 local (06:00Z),
    /// an oral medication, NEWS2 5; since the previous hour NEWS2 rose from 3
    /// to 5, toileting started, wound care ended, and a task started that
    /// is worth nothing.
    fn detail() -> PatientDetail {
        let hour = at(11, 0);
        let contributions = vec![
            contribution(
                Component::BasicNursing,
                Parameter::Activity {
                    level: NortonActivity::WalksWithHelp,
                    assumed: false,
                },
                Source::Activity(0),
                Some("toileting"),
                Some(at(6, 0)),
                2_500,
                1_000,
            ),
            contribution(
                Component::Medications,
                Parameter::MedicationOrder { route: Route::Oral },
                Source::Medication(0),
                Some("oral"),
                None,
                250,
                1_000,
            ),
            contribution(
                Component::News2,
                Parameter::News2Band {
                    from: 5,
                    value: 5,
                    computed: false,
                },
                Source::News2(0),
                None,
                None,
                3_000,
                1_000,
            ),
        ];
        let total = p(5_750);
        let change = Change {
            total: Delta::new(p(3_750), total),
            usk: Delta::new(p(2_000), p(2_750)),
            ssk: Delta::new(p(1_750), p(3_000)),
            components: vec![ComponentDelta {
                component: Component::News2,
                points: Delta::new(p(2_000), p(3_000)),
            }],
            news2: Some(News2Change {
                value: Transition {
                    from: Some(3),
                    to: Some(5),
                },
                risk: Transition {
                    from: Some(RiskLevel::Low),
                    to: Some(RiskLevel::Medium),
                },
            }),
            norton: None,
            norton_total: None,
            emotional_support: None,
            placement: None,
            outlying: None,
            started: vec![
                item(ItemKind::Activity, "toileting", Some(at(6, 0)), 0, 2_500),
                item(ItemKind::Activity, "bed-making", Some(at(6, 30)), 0, 0),
            ],
            ended: vec![item(ItemKind::Activity, "wound-care", Some(at(5, 0)), 1_500, 0)],
            changed: vec![item(ItemKind::News2, "news2", None, 2_000, 3_000)],
        };
        PatientDetail {
            state: DataState {
                hour: Some(hour),
                as_of: Some(hour + chrono::Duration::minutes(5)),
                stale: false,
                stale_reason: None,
                last_run: None,
                weights_version: Some("2026.1".into()),
                sources: Vec::new(),
            },
            hour,
            ward: "w1".into(),
            team_name: Some("Lag <Norr>".into()),
            patient: PatientRow {
                key: KEY.into(),
                team: Some("w1-a".into()),
                bed: Some("w1-r03-b2".into()),
                sex: Sex::Female,
                birth_year: Some(1944),
                admitted_at: at(9, 0) - chrono::Duration::days(2),
                outlying: false,
                norton: Some(NortonActivity::WalksWithHelp),
                norton_total: Some(15),
                emotional_support: None,
                news2: Some(5),
                news2_risk: Some(RiskLevel::Medium),
                medications: 1,
                orders: 0,
                total,
                usk: p(2_750),
                ssk: p(3_000),
                components: Component::ALL
                    .into_iter()
                    .map(|c| {
                        let points = contributions
                            .iter()
                            .filter(|x| x.component == c)
                            .map(|x| x.points)
                            .sum();
                        (c.key().to_owned(), points)
                    })
                    .collect(),
                band: Band::High,
                adl: Vec::new(),
                unmatched: 0,
            },
            news2_measurements_24h: 4,
            weights_version: Some("2026.1".into()),
            contributions,
            previous_hour: hour - chrono::Duration::hours(1),
            change: Some(change),
        }
    }

    #[test]
    fn the_page_says_in_swedish_why_the_number_is_what_it_is() {
        let html = render(&detail(), "Avd 1", &ctx());
        assert_balanced(&html);
        for want in [
            "Avd 1 · Säng r03-b2",
            // the team's display name, as on every page, escaped
            "Lag &lt;Norr&gt;",
            r#"<div class="big" id="patient-total">5,8</div>"#,
            "▲</span> hög",
            "Poäng nu per komponent",
            "Grundläggande omvårdnad (USK)",
            "toalettbesök (vid går med hjälp)",
            "läkemedel peroralt, ordination",
            "NEWS2 5 (journalförd)",
            // weight × quantity, and the weights file's parameter
            "2,5 × 1",
            "0,25 × 1",
            "activities.codes.toileting.walks_with_help",
            // the due time in local time (06:00Z is 07:00 CET)
            r#"<td class="num">07:00</td>"#,
            "Sedan förra timmen (11:00)",
            "+2,5 toalettbesök 07:00",
            "NEWS2 steg från 3 till 5",
            "NEWS2-risk från låg till medel",
            "+1,0 NEWS2 (från 2,0 till 3,0)",
            "−1,5 såromläggning 06:00, avslutat",
            "Totalt <strong>+2,0</strong>",
        ] {
            assert!(html.contains(want), "{want:?} missing from {html}");
        }
        assert!(
            !html.contains("06:00Z") && !html.contains("due"),
            "UTC or English: {html}"
        );
        assert!(
            !html.contains("bed-making"),
            "an item whose change is 0 is listed: {html}"
        );
        assert!(!html.contains("9f2c0a9d"), "the pseudonym is shown: {html}");
    }

    #[test]
    fn the_page_links_back_keeping_the_token() {
        let mut c = ctx();
        c.token = Some("s3cret&x".into());
        let html = render(&detail(), "Avd 1", &c);
        assert!(html.contains(r#"href="/wards/w1/screen?token=s3cret%26x""#), "{html}");
        assert!(html.contains(r#"href="/?token=s3cret%26x""#), "{html}");
    }

    #[test]
    fn a_patient_new_since_the_previous_hour_is_told_so() {
        let mut d = detail();
        d.change = None;
        let html = render(&d, "Avd 1", &ctx());
        assert!(html.contains("Ny på avdelningen sedan förra timmen"), "{html}");
        d.change = Some(Change {
            total: Delta::new(p(5_750), p(5_750)),
            usk: Delta::new(p(2_750), p(2_750)),
            ssk: Delta::new(p(3_000), p(3_000)),
            components: Vec::new(),
            news2: None,
            norton: None,
            norton_total: None,
            emotional_support: None,
            placement: None,
            outlying: None,
            started: vec![item(ItemKind::Activity, "bed-making", None, 0, 0)],
            ended: Vec::new(),
            changed: Vec::new(),
        });
        let html = render(&d, "Avd 1", &ctx());
        assert!(html.contains("Ingen förändring sedan förra timmen"), "{html}");
    }

    #[test]
    fn text_from_the_data_is_escaped() {
        let mut d = detail();
        d.ward = "<w1>".into();
        d.contributions[0].code = Some("<script>".into());
        d.contributions[0].parameter_path = "a\"b".into();
        let html = render(&d, "Avd <1>", &ctx());
        assert!(
            !html.contains("<script>") && !html.contains("<w1>") && !html.contains("Avd <1>"),
            "{html}"
        );
        assert!(
            html.contains("aktivitet &lt;script&gt;") && html.contains("a&quot;b"),
            "{html}"
        );
        assert!(html.contains("/wards/%3Cw1%3E/screen"), "{html}");
    }

    #[test]
    fn numbers_have_a_comma_and_a_true_minus() {
        assert_eq!(signed(p(2_500)), "+2,5");
        assert_eq!(signed(p(-1_000)), "−1,0");
        assert_eq!(decimal(250), "0,25");
        assert_eq!(decimal(3_000), "3");
        assert_eq!(decimal(-1_500), "−1,5");
        assert_eq!(decimal(round_to_hundredths(8)), "0,01");
        assert_eq!(decimal(round_to_hundredths(41)), "0,04");
        assert_eq!(decimal(round_to_hundredths(-2_505)), "−2,51");
    }
}
