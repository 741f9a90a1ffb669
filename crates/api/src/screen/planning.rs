//! The staffing assistants' page (`/wards/{id}/planning`): for the next
//! shift and the one after, need against planned staff for the ward and each
//! team, per profession, with the verdict in words and a symbol, the people
//! to add, absences that need not be replaced and the ward index; beside
//! the need by the council's staff-hour factors, the staff the ward's own
//! optimal points per person calls for, with its reliability and the
//! difference explained in one line (issue 27); the need's P10–P50–P90 from
//! the forecast's own past errors with the risk of understaffing and the
//! people that bring it down (issue 28), or why the history is too young;
//! then the team-balancing proposal for the next shift, each move with its
//! reason.

use std::fmt::Write as _;

use careload_planning::{CsvRowError, MoveWhat, ProfessionGap, ScopeGap, ShiftAssessment, Verdict};

use super::{
    ScreenContext, as_of_line, banners, encode_component, escape, footer, href, local_time, no_data, page,
    page_refreshing_to, people, points, shift_name,
};
use careload_app::forecast::{ScopeForecast, ShiftForecast};
use careload_app::planning::{OptimumShift, VerdictBasis, WardBalance, WardOptimum, WardShifts};
use careload_planning::uncertainty::{Band, Prediction};
use careload_planning::words::{count, one_decimal};

/// Class, symbol and words of a verdict: colour never alone.
fn verdict(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Understaffed => ("under", "▼"),
        Verdict::Balanced => ("balanced", "●"),
        Verdict::RoomToSpare => ("spare", "▲"),
        Verdict::NoPlan => ("noplan", "–"),
    }
}

fn verdict_cell(v: Verdict) -> String {
    let (class, sym) = verdict(v);
    format!(
        r#"<span class="verdict verdict-{class}"><span class="sym">{sym}</span> {}</span>"#,
        escape(v.sv())
    )
}

/// One profession's cells: need, planned (present), gap.
fn profession_cells(g: &ProfessionGap) -> String {
    let planned = match g.planned {
        Some(c) if c.absent > 0 => format!("{} <span class=\"muted\">({} frånv.)</span>", c.available(), c.absent),
        Some(c) => c.available().to_string(),
        None => "–".to_owned(),
    };
    let gap = match g.gap_people {
        Some(gap) => {
            let mut s = people(gap, true);
            if g.people_to_add > 0 {
                let _ = write!(s, " <strong>(+{} behövs)</strong>", g.people_to_add);
            }
            if g.absence_need_not_be_replaced {
                s.push_str(r#" <span class="note">frånvaro behöver inte ersättas</span>"#);
            }
            s
        }
        None => "–".to_owned(),
    };
    format!(
        r#"<td class="num">{}</td><td class="num">{planned}</td><td class="num gap">{gap}</td>"#,
        people(g.need_people, false)
    )
}

/// A team's display name as the application decided it (`Vårdlag B`, or
/// as configured); the id when a view carries none.
fn team_name(s: &ScopeGap, team: &str) -> String {
    escape(s.name.as_deref().unwrap_or(team))
}

fn scope_row(s: &ScopeGap) -> String {
    let name = match s.team.as_deref() {
        None => "<strong>Hela avdelningen</strong>".to_owned(),
        Some(t) => team_name(s, t),
    };
    let index = s.index.points_per_person.map(points).unwrap_or_else(|| "–".to_owned());
    format!(
        r#"<tr class="{row}"><td>{name}</td><td class="num">{patients}</td><td class="num">{need}</td>{usk}{ssk}<td>{verdict}</td><td class="num">{index}</td></tr>"#,
        row = if s.team.is_none() { "scope-ward" } else { "scope-team" },
        patients = s.need.patients,
        need = points(s.need.total),
        usk = profession_cells(&s.usk),
        ssk = profession_cells(&s.ssk),
        verdict = verdict_cell(s.verdict),
    )
}

/// The ward's own optimum for one shift: the figure with its reliability,
/// and the difference from the factors explained.
fn optimum_lines(o: &WardOptimum, s: &OptimumShift) -> String {
    let mut out = format!(
        r#"<div class="optimum"><p class="optimum-line">Bemanningsbehov {}.</p>"#,
        escape(&s.line)
    );
    if let Some(e) = &s.explanation {
        let _ = write!(out, r#"<p class="optimum-explained">{}.</p>"#, escape(&capitalised(e)));
    }
    if o.drives == VerdictBasis::Optimum {
        out.push_str(r#"<p class="optimum-drives">Bedömningen ovan följer avdelningens optimum.</p>"#);
    } else if let Some(f) = &o.fallback {
        let _ = write!(
            out,
            r#"<p class="optimum-fallback note">{}.</p>"#,
            escape(&capitalised(f))
        );
    }
    out.push_str("</div>");
    out
}

/// A band of people: `5,1–6,0–7,2`.
fn people_band(b: &Band<careload_scoring::Qty>) -> String {
    format!(
        "{}–{}–{}",
        people(b.p10, false),
        people(b.p50, false),
        people(b.p90, false)
    )
}

/// One scope's need with its uncertainty in one line, and its risk.
fn scope_uncertainty(f: &ScopeForecast, ward: bool) -> String {
    let p: &Prediction = &f.prediction;
    let who = if ward { "Avdelningen".to_owned() } else { f.name.clone() };
    if p.young {
        return format!(
            r#"<li class="young"><strong>{}</strong>: bara schemalagt — {}.</li>"#,
            escape(&who),
            escape(p.reason.as_deref().unwrap_or("för kort historik"))
        );
    }
    let mut out = format!(
        r#"<li><strong>{}</strong>: USK {} personer, SSK {} personer"#,
        escape(&who),
        people_band(&p.usk.people),
        people_band(&p.ssk.people),
    );
    match &f.risk {
        Some(r) => {
            let _ = write!(out, r#" · <span class="risk">{}</span>"#, escape(&capitalised(&r.text)));
        }
        None => out.push_str(r#" · <span class="muted">ingen planering att jämföra med</span>"#),
    }
    out.push_str("</li>");
    out
}

/// A figure with one decimal (decimal comma).
fn tenths(x: f64) -> String {
    one_decimal((x * 1000.0).round() as i64)
}

/// The ward's expected flow during the shift, from its own history: context
/// for the bands above, not added to them.
fn flow_line(f: &ShiftForecast) -> String {
    let Some(fl) = &f.flow else {
        return String::new();
    };
    if fl.young {
        return format!(
            r#"<p class="flow muted">Väntat flöde: för kort historik ({} av minst {}).</p>"#,
            count(u64::from(fl.weeks), "vecka", "veckor"),
            careload_planning::flow::MIN_WEEKS
        );
    }
    let mut out = format!(
        r#"<p class="flow">Väntat flöde ({} historik): {} vid passets start, {} in och {} ut under passet"#,
        count(u64::from(fl.weeks), "veckas", "veckors"),
        format_args!("{} patienter", tenths(fl.census_at_start)),
        tenths(fl.arrivals),
        tenths(fl.departures),
    );
    if let (Some(new), Some(all)) = (fl.new_patient_points, fl.mean_points) {
        let _ = write!(
            out,
            "; en ny patient ger {} poäng/timme de första {} timmarna (alla patienter {})",
            tenths(new),
            careload_planning::flow::NEW_PATIENT_SHIFT_HOURS,
            tenths(all)
        );
    }
    out.push_str(". Inskrivningar och utskrivningar ingår redan i spannet ovan.</p>");
    out
}

/// The shift's need as P10–P50–P90 for the ward and each team, with the
/// risk of understaffing, what the figures rest on, and the ward's expected
/// flow.
fn uncertainty_lines(f: &ShiftForecast) -> String {
    let scopes = || std::iter::once(&f.ward).chain(f.teams.iter());
    let first = f.ward.prediction.reason.as_deref();
    if f.ward.prediction.young && scopes().all(|s| s.prediction.young && s.prediction.reason.as_deref() == first) {
        // one reason for every scope (switched off, being learnt, a new ward): said once
        return format!(
            r#"<div class="uncertainty"><p class="young">Behov med osäkerhet: bara schemalagt — {}.</p>{}</div>"#,
            escape(first.unwrap_or("för kort historik")),
            flow_line(f)
        );
    }
    let mut out = String::from(
        r#"<div class="uncertainty"><p>Behov med osäkerhet (P10–P50–P90: ett pass av tio behöver mindre, hälften, ett av tio mer):</p><ul>"#,
    );
    out.push_str(&scope_uncertainty(&f.ward, true));
    for t in &f.teams {
        out.push_str(&scope_uncertainty(t, false));
    }
    out.push_str("</ul>");
    let b = f.ward.prediction.basis;
    if !f.ward.prediction.young {
        let _ = write!(
            out,
            r#"<p class="muted">Från {} med samma pass {} timmar före start (±{} h): hur mycket det schemalagda har brukat missa inskrivningar, utskrivningar och det oplanerade.</p>"#,
            count(u64::from(b.shifts), "tidigare pass", "tidigare pass"),
            f.lead_hours,
            b.lead_pool
        );
    }
    out.push_str(&flow_line(f));
    out.push_str("</div>");
    out
}

/// `text` with its first letter in upper case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn shift_section(
    a: &ShiftAssessment,
    optimum: Option<(&WardOptimum, &OptimumShift)>,
    uncertainty: Option<&ShiftForecast>,
    label: &str,
    ctx: &ScreenContext,
) -> String {
    let w = &a.shift.window;
    let mut out = format!(
        r#"<section class="shift" data-shift="{name}"><h2>{label}: {name} {date}, {from}–{to}</h2>"#,
        name = escape(&shift_name(&a.shift.name)),
        date = a.shift.date,
        from = local_time(w.start, ctx),
        to = local_time(w.end, ctx),
    );
    out.push_str(concat!(
        r#"<table class="overview"><thead><tr><th rowspan="2">Vårdlag</th><th class="num" rowspan="2">Patienter</th>"#,
        r#"<th class="num" rowspan="2">Behov (poäng)</th><th colspan="3">USK (personer)</th><th colspan="3">SSK (personer)</th>"#,
        r#"<th rowspan="2">Bedömning</th><th class="num" rowspan="2">Poäng per person</th></tr>"#,
        r#"<tr><th class="num">behov</th><th class="num">planerat</th><th class="num">skillnad</th>"#,
        r#"<th class="num">behov</th><th class="num">planerat</th><th class="num">skillnad</th></tr></thead><tbody>"#
    ));
    out.push_str(&scope_row(&a.ward));
    for t in &a.teams {
        out.push_str(&scope_row(t));
    }
    out.push_str("</tbody></table>");
    if let Some((o, s)) = optimum {
        out.push_str(&optimum_lines(o, s));
    }
    if let Some(f) = uncertainty {
        out.push_str(&uncertainty_lines(f));
    }
    if a.extrapolated_minutes > 0 {
        let _ = write!(
            out,
            r#"<p class="muted">Prognosen räcker inte hela passet: {} min är uppskattade från patienternas genomsnitt.</p>"#,
            a.extrapolated_minutes
        );
    }
    out.push_str("</section>");
    out
}

fn balance_section(b: &WardBalance) -> String {
    let p = &b.proposal;
    let mut out = format!(
        r#"<section class="balance"><h2>Fördelning mellan vårdlagen, {name}</h2>"#,
        name = escape(&shift_name(&b.shift.name))
    );
    let measured = p.before.iter().filter(|t| t.per_staff.is_some()).count();
    if measured < 2 {
        // without staff in at least two teams there is nothing to even out:
        // saying "balanced" would be a guess
        out.push_str(concat!(
            r#"<p id="no-team-plan">Fördelningen kan inte bedömas: passet saknar planerad personal i minst två vårdlag. "#,
            r#"Läs in schemat (POST /api/v1/staffing/csv) så föreslås flyttar.</p></section>"#
        ));
        return out;
    }
    if p.already_balanced {
        out.push_str(r#"<p id="balanced">Vårdlagen är redan jämnt belastade: ingen flytt föreslås.</p>"#);
    } else if p.moves.is_empty() {
        out.push_str(r#"<p id="no-moves">Ingen flytt gör fördelningen jämnare.</p>"#);
    } else {
        out.push_str(r#"<ol class="moves">"#);
        for m in &p.moves {
            let kind = match &m.what {
                MoveWhat::Patients { room: Some(_), .. } => "sal",
                MoveWhat::Patients { .. } => "patient",
                MoveWhat::Staff { .. } => "personal",
            };
            let _ = write!(out, r#"<li class="move move-{kind}">{}</li>"#, escape(&m.reason));
        }
        out.push_str("</ol>");
    }
    if !b.pinned.is_empty() {
        let list: Vec<String> = b
            .pinned
            .iter()
            .map(|p| {
                let who = p
                    .bed
                    .as_deref()
                    .map_or_else(|| "patient utan säng".to_owned(), |bed| format!("säng {bed}"));
                format!("{} ({})", escape(&who), escape(&p.team_name))
            })
            .collect();
        let _ = write!(
            out,
            r#"<p id="pinned"><strong>Stannar i sitt lag:</strong> {}.</p>"#,
            list.join(", ")
        );
    }
    out.push_str(concat!(
        r#"<table class="overview"><thead><tr><th>Vårdlag</th><th class="num">Poäng per personal före</th>"#,
        r#"<th class="num">efter</th><th class="num">Patienter efter</th></tr></thead><tbody>"#
    ));
    for after in &p.after {
        let before = p.before.iter().find(|t| t.team == after.team).and_then(|t| t.per_staff);
        let per = |v: Option<careload_scoring::Points>| v.map(points).unwrap_or_else(|| "–".to_owned());
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            escape(&after.name),
            per(before),
            per(after.per_staff),
            after.patients
        );
    }
    let _ = write!(
        out,
        r#"</tbody></table><p class="muted">Spridning (högsta − lägsta poäng per personal): {} före, {} efter.</p></section>"#,
        points(p.spread_before),
        points(p.spread_after)
    );
    out
}

/// The planned-staffing upload on the page: whether the caller may send a
/// file, and what became of the one just sent.
#[derive(Clone, Debug, Default)]
pub struct StaffingImport {
    /// The caller may import (staffing and admin tokens, an open API).
    pub allowed: bool,
    /// The file just sent: its rows stored, or refused with every bad line.
    pub outcome: Option<Result<u64, Vec<CsvRowError>>>,
}

/// The upload form and the last file's result.
fn import_section(import: &StaffingImport, ward: &str, ctx: &ScreenContext) -> String {
    let mut out = String::from(r#"<section class="import" id="import"><h2>Planerad bemanning</h2>"#);
    match &import.outcome {
        Some(Ok(rows)) => {
            let _ = write!(
                out,
                r#"<p class="import-ok" role="status"><strong>Filen är inläst:</strong> {}. Jämförelsen ovan visar dem.</p>"#,
                count(*rows, "rad sparad", "rader sparade")
            );
        }
        Some(Err(bad)) => {
            let _ = write!(
                out,
                r#"<div class="import-refused" role="alert"><p><strong>Filen lästes inte in</strong> ({} fel). Inget sparades: rätta raderna och skicka hela filen igen.</p><table><thead><tr><th class="num">Rad</th><th>Fel</th></tr></thead><tbody>"#,
                bad.len()
            );
            for e in bad {
                let _ = write!(
                    out,
                    r#"<tr><td class="num">{}</td><td>{}</td></tr>"#,
                    e.line,
                    escape(&e.message)
                );
            }
            out.push_str("</tbody></table></div>");
        }
        None => {}
    }
    let action = href(&format!("/wards/{}/planning/staffing", encode_component(ward)), ctx);
    let _ = write!(
        out,
        concat!(
            r#"<form method="post" action="{action}" enctype="multipart/form-data">"#,
            r#"<label>Schemaexport (CSV, se docs/planned-staffing-csv.md): "#,
            r#"<input type="file" name="file" accept=".csv,text/csv" required></label> "#,
            r#"<button type="submit">Läs in</button></form>"#,
            r#"<p class="muted">Hela filen läses in eller ingenting: varje felaktig rad visas här med radnummer.</p></section>"#
        ),
        action = action
    );
    out
}

/// The whole page.
pub(super) fn render(
    shifts: &WardShifts,
    balance: Option<&WardBalance>,
    import: &StaffingImport,
    ctx: &ScreenContext,
) -> String {
    let title = format!("Bemanning – {}", shifts.name);
    let mut body = format!(
        r#"<header class="top"><div class="title"><h1>{}</h1><div class="asof">{} · <a href="{}">sjukhusöversikt</a></div></div></header>"#,
        escape(&title),
        as_of_line(&shifts.state, ctx),
        href("/", ctx)
    );
    body.push_str(&banners(&shifts.state, ctx));
    if import.outcome.is_some() {
        // the answer to an upload comes first
        body.push_str(&import_section(import, &shifts.id, ctx));
    }
    if shifts.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.",
        ));
    } else {
        for (i, (a, label)) in shifts.shifts.iter().zip(["Nästa pass", "Passet därefter"]).enumerate() {
            let optimum = shifts.optimum.shifts.get(i).map(|s| (&shifts.optimum, s));
            body.push_str(&shift_section(a, optimum, shifts.forecast.get(i), label, ctx));
        }
        if let Some(b) = balance {
            body.push_str(&balance_section(b));
        }
        body.push_str(concat!(
            r#"<p class="legend"><span><span class="verdict verdict-under"><span class="sym">▼</span> underbemannat</span></span>"#,
            r#"<span><span class="verdict verdict-balanced"><span class="sym">●</span> i balans</span></span>"#,
            r#"<span><span class="verdict verdict-spare"><span class="sym">▲</span> utrymme</span></span>"#,
        ));
        if shifts.optimum.drives == VerdictBasis::Optimum {
            body.push_str(
                r#"<span>Behov i personer = poäng ÷ avdelningens optimala poäng per person (personalens egna skattningar).</span></p>"#,
            );
        } else {
            body.push_str(r#"<span>Behov i personer = poäng × timfaktor ÷ passets timmar.</span></p>"#);
        }
    }
    if import.allowed && import.outcome.is_none() {
        body.push_str(&import_section(import, &shifts.id, ctx));
    }
    body.push_str(&footer(&shifts.state, ctx));
    if import.outcome.is_some() {
        let back = href(&format!("/wards/{}/planning", encode_component(&shifts.id)), ctx);
        page_refreshing_to(&title, &body, ctx, Some(&back))
    } else {
        page(&title, &body, ctx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)] // test code may panic with a message

    use careload_app::forecast::{ScopeForecast, ShiftForecast};
    use careload_planning::flow::ShiftFlow;
    use careload_planning::uncertainty::{ErrorModel, ErrorSample};
    use careload_scoring::score::{Components, Split};
    use careload_scoring::weights::StaffHours;
    use careload_scoring::{Points, Qty};
    use chrono::NaiveDate;

    use super::uncertainty_lines;

    fn split(usk: f64, ssk: f64) -> Split {
        Split {
            usk: Points::from_decimal(usk).expect("finite"),
            ssk: Points::from_decimal(ssk).expect("finite"),
        }
    }

    /// Six weeks of day shifts whose need came out 0.9–1.5 × the schedule.
    fn scope(weeks: i64, team: Option<&str>) -> ScopeForecast {
        let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
        let samples = (0..weeks * 7)
            .map(|i| {
                let r = 0.9 + (i % 61) as f64 * 0.01;
                ErrorSample {
                    shift: "day".into(),
                    date: first + chrono::Duration::days(i),
                    lead: 3,
                    shift_hours: Qty::whole(8),
                    scheduled: split(400.0, 200.0),
                    realised: split(400.0 * r, 200.0 * r),
                    scheduled_components: Components::default(),
                    realised_components: Components::default(),
                }
            })
            .collect();
        let factors = StaffHours {
            usk: Qty::from_milli(100),
            ssk: Qty::from_milli(100),
        };
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        let prediction = ErrorModel::new(samples).predict("day", date, 3, split(400.0, 200.0), factors, Qty::whole(8));
        let risk = prediction.risk(Some(6), Some(3), 0.2);
        ScopeForecast {
            team: team.map(str::to_owned),
            name: team.map_or("Avd 1".to_owned(), |_| "Vårdlag <A>".to_owned()),
            prediction,
            risk,
        }
    }

    #[test]
    fn the_shift_shows_its_band_its_risk_and_what_it_rests_on() {
        let f = ShiftForecast {
            shift: "day".into(),
            date: NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            lead_hours: 3,
            ward: scope(8, None),
            teams: vec![scope(2, Some("w1-a"))],
            flow: Some(ShiftFlow {
                census_now: 26,
                census_at_start: 27.64,
                arrivals: 2.25,
                departures: 3.12,
                new_patient_points: Some(2.93),
                mean_points: Some(2.2),
                weeks: 8,
                young: false,
            }),
        };
        let html = uncertainty_lines(&f);
        assert!(
            html.contains(
                "Väntat flöde (8 veckors historik): 27,6 patienter vid passets start, 2,3 in och 3,1 ut under passet; \
                 en ny patient ger 2,9 poäng/timme de första 8 timmarna (alla patienter 2,2)."
            ),
            "{html}"
        );
        let young = uncertainty_lines(&ShiftForecast {
            flow: f.flow.clone().map(|fl| ShiftFlow {
                weeks: 3,
                young: true,
                ..fl
            }),
            ..f.clone()
        });
        assert!(
            young.contains("Väntat flöde: för kort historik (3 veckor av minst 4).")
                && !young.contains("vid passets start"),
            "{young}"
        );
        let without = uncertainty_lines(&ShiftForecast {
            flow: None,
            ..f.clone()
        });
        assert!(!without.contains("flöde"), "{without}");
        let risk = f.ward.risk.as_ref().expect("a risk");
        assert!(risk.text.contains("+1 USK och +1 SSK ger"), "{}", risk.text);
        assert!(
            html.contains(&format!(r#"<span class="risk">R{}</span>"#, &risk.text[1..])),
            "{html}"
        );
        let usk = &f.ward.prediction.usk.people;
        assert!(
            usk.p10 < usk.p50 && usk.p50 < usk.p90,
            "{usk:?} {:?}",
            f.ward.prediction
        );
        assert!(
            html.contains(&format!("USK {} personer", super::people_band(usk))),
            "{html}"
        );
        assert!(
            html.contains("Från 56 tidigare pass med samma pass 3 timmar före start"),
            "{html}"
        );
        // the young team says why, its name escaped
        assert!(
            html.contains("Vårdlag &lt;A&gt;</strong>: bara schemalagt — för kort historik"),
            "{html}"
        );
    }
}
