//! The ward screen: header with the ward's total and USK/SSK split, one
//! column per team with its patients, the five-day graph of the ward and
//! its teams, and the ward total per component.
//!
//! # Layout
//!
//! The ward screen hangs on a wall and cannot scroll: the page is exactly
//! the viewport (`.wall`, a `100vh` flex column: header, banners, `.main`,
//! the symbols' key, footer), and `.main` shares what is left between the
//! teams and the graphs. The text scales with the screen (the root font
//! follows the smaller of width and height, no upper cap: a 4K TV shows the
//! full-HD page at twice the size), so the same page fits 1280×720 to
//! 3840×2160. The server knows the ward's shape and says it with classes
//! ([`Layout`]): one or two patient tables put the graphs beside them, more
//! put the graphs below; a team with many patients is split over tables
//! side by side when there is room; four tables or more make the columns
//! `dense`. The style sheet combines these with the screen's size.
//!
//! What matters is always whole and visible: each bed with its score and
//! band symbol, USK/SSK, NEWS2 and Norton; the team headings, totals and
//! splits; the ward's total and split; the banners. What yields first when
//! space runs out, in order: the per-patient 5-day sparkline (the team and
//! ward graphs show the trend), the team sparkline in narrow columns, the
//! ADL column in dense columns on a small screen (ADL is not part of the
//! score), the components' share and bar columns (the table becomes a
//! compact list of values), and the graph's size (it scales to the room
//! left). `crates/api/tests/screen_browser.rs` checks all this in a browser
//! for 1 to 4 teams and up to 40 beds at the three sizes.

use std::collections::HashMap;
use std::fmt::Write as _;

use careload_scoring::aggregate::{NO_TEAM, Totals};
use careload_scoring::score::Component;
use careload_scoring::snapshot::AdlLevel;

use super::svg::{self, Frame, Line};
use super::{ScreenContext, as_of_line, banners, encode_component, escape, footer, href, no_data, page, points, style};
use careload_app::view::{PatientRow, Series, TeamView, WardHistory, WardView, short_label};
use careload_planning::words::{NaturalKey, count, natural_key};

/// Norton totals at or below this mean a risk of pressure ulcers.
const NORTON_RISK: u8 = 14;

/// The column key for patients whose team has no totals row.
const OTHERS: &str = "övriga";

/// A team's display name: the view's, decided once for every screen and
/// view by `careload_app::App::team_name` (configured, else `Vårdlag B`).
fn team_name(team: &TeamView) -> &str {
    &team.name
}

/// The whole page.
pub(super) fn render(ward: &WardView, history: &WardHistory, ctx: &ScreenContext) -> String {
    let mut body = String::new();
    body.push_str(&header(ward, ctx));
    body.push_str(&banners(&ward.state, ctx));
    if ward.state.hour.is_none() {
        body.push_str(&no_data(
            "Ingen timme har beräknats för avdelningen. Skärmen uppdateras av sig själv.",
        ));
    } else {
        let layout = Layout::of(ward);
        let _ = write!(body, r#"<div class="main {}">"#, layout.classes());
        body.push_str(&teams(ward, history, &layout, ctx));
        body.push_str(r#"<div class="row2">"#);
        body.push_str(&trend(ward, history, &layout, ctx));
        body.push_str(&components(&ward.totals));
        body.push_str("</div></div>");
        body.push_str(KEY);
    }
    body.push_str(&footer(&ward.state, ctx));
    let body = format!(r#"<div class="wall">{body}</div>"#);
    page(&format!("{} – vårdintensitet", ward.name), &body, ctx)
}

/// The symbols' key under the teams.
const KEY: &str = concat!(
    r#"<p class="legend key"><span>Poäng i förhållande till sjukhusets patienter:</span>"#,
    r#"<span><span class="score band-low"><span class="sym">○</span></span> låg</span>"#,
    r#"<span><span class="score band-moderate"><span class="sym">◐</span></span> måttlig</span>"#,
    r#"<span><span class="score band-high"><span class="sym">▲</span></span> hög</span>"#,
    r#"<span><span class="score band-very_high"><span class="sym">◆</span></span> mycket hög</span>"#,
    r#"<span>NEWS2: ! röd parameter, ▲ medel, ▲▲ hög risk</span><span>Norton ! = risk för trycksår</span>"#,
    r#"<span>UTL = utlokaliserad</span><span>* ADL: ● full hjälp, ◐ delvis; H hygien, Ä äta, K klä sig, T toalett, F förflyttning; ingår inte i poängen</span></p>"#
);

/// Team tables per screen, at most: beyond this the columns get too narrow
/// for a bed's row even on a 4K screen.
const MAX_TABLES: usize = 4;

/// Rows one patient table holds before a team's patients are split over
/// two or more tables side by side (when there is room for more tables).
const ROWS_PER_TABLE: usize = 12;

/// The ward's shape as the layout needs it; the screen's size is the style
/// sheet's part (media queries on the viewport).
///
/// The server knows how many teams and beds there are and says so with
/// classes on `.main`: `tables-N` (patient tables side by side, 1 to 4 or
/// more), `dense` from four tables on (narrow columns), `rows-N` (the
/// longest table, in bands: `rows-s` up to 8, `rows-m` up to 11, `rows-l`
/// up to 15, `rows-xl` more). A team with many
/// patients and room beside it (a ward with one or two teams, or a ward
/// without teams) gets its patients split over two or more tables, so that
/// no table runs off the bottom of the screen.
struct Layout {
    /// Team columns, the orphans' column included.
    teams: usize,
    /// Patient tables per team.
    split: usize,
    /// Rows in the longest table.
    rows: usize,
}

impl Layout {
    fn of(ward: &WardView) -> Layout {
        let mut sizes: Vec<usize> = ward
            .teams
            .iter()
            .map(|t| ward.patients.iter().filter(|p| team_of(p) == t.team).count())
            .collect();
        let orphans = ward
            .patients
            .iter()
            .filter(|p| !ward.teams.iter().any(|t| t.team == team_of(p)))
            .count();
        if orphans > 0 {
            sizes.push(orphans);
        }
        let teams = sizes.len().max(1);
        let most = sizes.iter().copied().max().unwrap_or(0);
        let split = (MAX_TABLES / teams).clamp(1, most.div_ceil(ROWS_PER_TABLE).max(1));
        Layout {
            teams,
            split,
            rows: most.div_ceil(split),
        }
    }

    /// Whether the graphs go beside the teams (one or two tables leave
    /// room on the right) rather than below them.
    fn beside(&self) -> bool {
        self.teams * self.split <= 2
    }

    /// The classes on `.main`.
    fn classes(&self) -> String {
        let rows = match self.rows {
            0..=8 => "s",
            9..=11 => "m",
            12..=15 => "l",
            _ => "xl",
        };
        let tables = self.teams * self.split;
        let dense = if tables >= 4 { " dense" } else { "" };
        format!("tables-{tables} rows-{rows}{dense}")
    }
}

/// The USK/SSK split of some totals.
fn split(t: &Totals) -> String {
    format!(
        r#"<span class="split"><span class="usk" title="undersköterska">USK {}</span> <span class="ssk" title="sjuksköterska">SSK {}</span></span>"#,
        points(t.professions.usk),
        points(t.professions.ssk)
    )
}

fn header(ward: &WardView, ctx: &ScreenContext) -> String {
    let beds = ward.beds.map(|b| format!(" av {b} vårdplatser")).unwrap_or_default();
    let now = if ward.state.hour.is_some() {
        format!(
            r#"<div class="now"><div class="caption">Vårdintensitet nu (poäng)</div><div class="big" id="ward-total">{}</div></div><div>{}<div class="caption">{}{}</div></div>"#,
            points(ward.totals.total),
            split(&ward.totals),
            patient_count(ward.totals.patients),
            beds
        )
    } else {
        String::new()
    };
    format!(
        r#"<header class="top"><div class="title"><h1>{name}</h1><div class="asof">{asof} · <a href="{overview}">sjukhusöversikt</a></div>{quality}</div>{now}</header>"#,
        overview = href("/", ctx),
        name = escape(&ward.name),
        asof = as_of_line(&ward.state, ctx),
        quality = quality_line(&ward.totals),
    )
}

/// The documentation-quality indicator: what of the journal behind the
/// score is missing or late this hour (empty when the hour was not assessed).
fn quality_line(t: &Totals) -> String {
    let q = &t.quality;
    if q.assessed == 0 {
        return String::new();
    }
    let mut parts = Vec::new();
    let mut push = |n: u32, what: &str| {
        if n > 0 {
            parts.push(format!("{what} {n}"));
        }
    };
    push(q.norton_stale, "Norton saknas/gammal");
    push(q.news2_overdue, "NEWS2 försenad");
    push(q.thin_after_admission, "tunn journal efter inskrivning");
    if q.activities_without_due > 0 {
        parts.push(format!(
            "aktiviteter utan tid {} av {}",
            q.activities_without_due, q.activities
        ));
    }
    if q.activities_generic > 0 {
        parts.push(format!("allmänna aktivitetskoder {}", q.activities_generic));
    }
    let (class, text) = if parts.is_empty() {
        ("quality ok", "Journalen komplett för poängen".to_owned())
    } else {
        ("quality gaps", format!("Journal: {}", parts.join(" · ")))
    };
    format!(
        r#"<div class="{class}" id="quality" title="Dokumentationskvalitet för {}: poängen bygger på journalen">{}</div>"#,
        patient_count(q.assessed),
        escape(&text)
    )
}

/// `1 patient`, `2 patienter`.
fn patient_count(n: u32) -> String {
    count(u64::from(n), "patient", "patienter")
}

/// Beds in natural order: `2` before `10`, numbers before names, no bed
/// last (the order balancing lists rooms and beds in: one function).
fn bed_order(bed: Option<&str>) -> (bool, Option<NaturalKey>) {
    (bed.is_none(), bed.map(natural_key))
}

/// The key a patient is grouped under.
fn team_of(p: &PatientRow) -> &str {
    p.team.as_deref().unwrap_or(NO_TEAM)
}

/// What every team column needs besides its team and its patients.
struct Columns<'a> {
    /// Each patient's series, by key, for the sparklines.
    sparks: HashMap<&'a str, &'a Series>,
    history: &'a WardHistory,
    layout: &'a Layout,
    ctx: &'a ScreenContext,
}

fn teams(ward: &WardView, history: &WardHistory, layout: &Layout, ctx: &ScreenContext) -> String {
    let columns = Columns {
        sparks: history.patients.iter().map(|s| (s.name.as_str(), s)).collect(),
        history,
        layout,
        ctx,
    };
    let team_series: HashMap<&str, &Series> = history.teams.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut out = String::from(r#"<div class="teams">"#);
    for (n, team) in ward.teams.iter().enumerate() {
        let mut patients: Vec<&PatientRow> = ward.patients.iter().filter(|p| team_of(p) == team.team).collect();
        patients.sort_by_cached_key(|p| bed_order(p.bed.as_deref().map(|b| short_label(b, &ward.id)).as_deref()));
        out.push_str(&team_column(
            n,
            team,
            &patients,
            team_series.get(team.team.as_str()).copied(),
            &columns,
        ));
    }
    // Patients whose team has no totals row (should not happen): shown, not lost.
    let orphans: Vec<&PatientRow> = ward
        .patients
        .iter()
        .filter(|p| !ward.teams.iter().any(|t| t.team == team_of(p)))
        .collect();
    if !orphans.is_empty() {
        let mut totals = Totals {
            patients: orphans.len() as u32,
            ..Totals::default()
        };
        for p in &orphans {
            totals.total += p.total;
            totals.professions.usk += p.usk;
            totals.professions.ssk += p.ssk;
        }
        let team = TeamView {
            team: OTHERS.to_owned(),
            name: "Övriga patienter".to_owned(),
            totals,
        };
        out.push_str(&team_column(ward.teams.len(), &team, &orphans, None, &columns));
    }
    out.push_str("</div>");
    out
}

fn team_column(
    n: usize,
    team: &TeamView,
    patients: &[&PatientRow],
    series: Option<&Series>,
    columns: &Columns<'_>,
) -> String {
    let Columns {
        sparks,
        history,
        layout,
        ctx,
    } = columns;
    let (colour, _) = style::team_line(n);
    let name = team_name(team);
    let spark = series
        .map(|s| {
            svg::sparkline(
                &s.points,
                history.from,
                history.to,
                &Frame::bare(200.0, 40.0),
                &escape(&format!("{name}, senaste dygnen")),
            )
        })
        .unwrap_or_default();
    let mut out = format!(
        concat!(
            r#"<section class="team" data-team="{id}" style="border-top-color:{colour}"><header>"#,
            r#"<div><h2>{name}</h2><span class="caption">{count}</span></div><div class="team-spark">{spark}</div>"#,
            r#"<div class="team-now"><span class="team-total">{total}</span>{split}</div></header>"#
        ),
        id = escape(&team.team),
        colour = colour,
        name = escape(name),
        spark = spark,
        total = points(team.totals.total),
        split = split(&team.totals),
        count = patient_count(team.totals.patients),
    );
    // A long list is split over tables side by side, the first the longest.
    let per_table = patients.len().div_ceil(layout.split).max(1);
    let tables: Vec<&[&PatientRow]> = if patients.is_empty() {
        vec![&[]]
    } else {
        patients.chunks(per_table).collect()
    };
    out.push_str(r#"<div class="team-tables">"#);
    for rows in tables {
        out.push_str(concat!(
            r#"<table class="patients"><thead><tr><th class="c-bed">Säng</th><th class="c-score">Poäng</th>"#,
            r#"<th class="num c-split"><span>USK</span><span class="sep"> / </span><span>SSK</span></th><th class="c-news">NEWS2</th><th class="num c-norton">Norton</th>"#,
            r#"<th class="c-adl" title="ADL visas bredvid poängen och ingår inte i den">ADL*</th><th class="c-spark">5 dygn</th></tr></thead><tbody>"#
        ));
        for p in rows {
            out.push_str(&patient_row(p, sparks.get(p.key.as_str()).copied(), history, ctx));
        }
        if rows.is_empty() {
            out.push_str(r#"<tr><td colspan="7" class="muted">Inga patienter</td></tr>"#);
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</div></section>");
    out
}

fn patient_row(p: &PatientRow, series: Option<&Series>, history: &WardHistory, ctx: &ScreenContext) -> String {
    let bed = p
        .bed
        .as_deref()
        .map(|b| escape(&short_label(b, &history.id)))
        .unwrap_or_else(|| "–".to_owned());
    let outlying = if p.outlying {
        r#"<span class="flag out" title="utlokaliserad patient">UTL</span>"#
    } else {
        ""
    };
    let (class, sym, word) = style::band(p.band);
    let news = match (p.news2, p.news2_risk) {
        (Some(v), risk) => {
            let (class, word) = risk.map(style::news2).unwrap_or(("low", ""));
            let word = if word.is_empty() {
                String::new()
            } else {
                format!(" <small>{word}</small>")
            };
            format!(r#"<span class="news news-{class}">{v}{word}</span>"#)
        }
        (None, _) => r#"<span class="muted">–</span>"#.to_owned(),
    };
    let norton = match p.norton_total {
        Some(t) if t <= NORTON_RISK => {
            format!(r#"<span class="norton-risk" title="Norton ≤ {NORTON_RISK}: risk för trycksår">{t} !</span>"#)
        }
        Some(t) => t.to_string(),
        None => r#"<span class="muted">–</span>"#.to_owned(),
    };
    // One symbol per level, then its areas' letters (`●HT ◐F`): at most
    // two short groups, so the column stays narrow and two lines at most.
    let mut adl = String::new();
    for level in [AdlLevel::FullHelp, AdlLevel::PartialHelp] {
        let Some((sym, word)) = style::adl_level(level) else {
            continue;
        };
        let mut letters = String::new();
        for need in p.adl.iter().filter(|n| n.level == level) {
            let (short, long) = style::adl_domain(need.domain);
            let _ = write!(letters, r#"<span title="{long}: {word}">{short}</span>"#);
        }
        if !letters.is_empty() {
            let _ = write!(adl, r#"<span class="adl-level" title="{word}">{sym}{letters}</span>"#);
        }
    }
    if adl.is_empty() {
        adl.push_str(r#"<span class="muted">–</span>"#);
    }
    let spark = series
        .map(|s| svg::sparkline(&s.points, history.from, history.to, &Frame::bare(100.0, 30.0), "5 dygn"))
        .unwrap_or_default();
    format!(
        concat!(
            r#"<tr class="patient" data-bed="{bed}"><td class="bed{long}">{link}{outlying}</td>"#,
            r#"<td class="c-score"><span class="score band-{class}" title="{word}"><span class="sym" aria-label="{word}">{sym}</span>{total}</span></td>"#,
            r#"<td class="num c-split"><span>{usk}</span><span class="sep"> / </span><span>{ssk}</span></td><td class="c-news">{news}</td>"#,
            r#"<td class="num c-norton">{norton}</td><td class="adl c-adl">{adl}</td><td class="c-spark">{spark}</td></tr>"#
        ),
        long = if bed.chars().count() > 4 { " long" } else { "" },
        // the bed opens the patient page (`/wards/{id}/beds/{bed}`)
        link = match p.bed.as_deref() {
            Some(b) => format!(
                r#"<a class="bed-link" href="{}">{bed}</a>"#,
                href(
                    &format!(
                        "/wards/{}/beds/{}",
                        encode_component(&history.id),
                        encode_component(&short_label(b, &history.id))
                    ),
                    ctx
                )
            ),
            None => bed.clone(),
        },
        bed = bed,
        outlying = outlying,
        class = class,
        word = word,
        sym = sym,
        total = points(p.total),
        usk = points(p.usk),
        ssk = points(p.ssk),
        news = news,
        norton = norton,
        adl = adl,
        spark = spark,
    )
}

fn trend(ward: &WardView, history: &WardHistory, layout: &Layout, ctx: &ScreenContext) -> String {
    let mut lines = vec![Line {
        points: &history.ward.points,
        colour: "#000",
        width: 4.0,
        dash: None,
        class: "line-ward",
    }];
    let mut legend = String::from(
        r##"<span><svg width="40" height="12"><line x1="0" y1="6" x2="40" y2="6" stroke="#000" stroke-width="4"/></svg> Hela avdelningen</span>"##,
    );
    for (n, team) in ward.teams.iter().enumerate() {
        let Some(series) = history.teams.iter().find(|s| s.name == team.team) else {
            continue;
        };
        let (colour, dash) = style::team_line(n);
        lines.push(Line {
            points: &series.points,
            colour,
            width: 3.0,
            dash,
            class: "line-team",
        });
        let dash_attr = dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default();
        let _ = write!(
            legend,
            r#"<span><svg width="40" height="12"><line x1="0" y1="6" x2="40" y2="6" stroke="{colour}" stroke-width="3"{dash_attr}/></svg> {}</span>"#,
            escape(team_name(team))
        );
    }
    // The graph scales to its box keeping its proportions (and its text's
    // size to the box): tall beside the teams, wide below them.
    let (width, height) = if layout.beside() {
        (640.0, 340.0)
    } else {
        (1000.0, 250.0)
    };
    let frame = Frame {
        width,
        height,
        left: 56.0,
        right: 16.0,
        top: 12.0,
        bottom: 34.0,
    };
    let chart = svg::chart(
        &lines,
        history.from,
        history.to,
        &ctx.tz,
        &frame,
        &escape(&format!("Vårdintensitet per timme för {}", ward.name)),
    );
    format!(
        r#"<section class="trend" id="trend-{id}"><h2>Vårdintensitet per timme, senaste dygnen (poäng)</h2><div class="plot">{chart}</div><div class="legend">{legend}</div></section>"#,
        id = escape(&encode_component(&ward.id)),
    )
}

fn components(totals: &Totals) -> String {
    let max = Component::ALL
        .iter()
        .map(|c| totals.components.get(*c).milli())
        .max()
        .unwrap_or(0)
        .max(1);
    let total = totals.total.milli().max(1);
    let mut out = String::from(
        r#"<section class="components"><h2>Avdelningens poäng per komponent</h2><div class="rows"><table><tbody>"#,
    );
    for c in Component::ALL {
        let v = totals.components.get(c);
        let width = (v.milli().max(0) as f64 / max as f64 * 100.0).round();
        let share = (v.milli().max(0) as f64 / total as f64 * 100.0).round();
        let _ = write!(
            out,
            r#"<tr data-component="{key}"><td>{name}</td><td class="num">{value}</td><td class="num muted share">{share:.0} %</td><td class="bar-cell"><div class="bar" style="width:{width:.0}%"></div></td></tr>"#,
            key = c.key(),
            name = style::component(c),
            value = points(v),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::screen::tests::ctx;
    use careload_app::view::{Band, DataState, Point, RunSummary};
    use careload_scoring::Points;
    use careload_scoring::news2::RiskLevel;

    #[test]
    fn the_quality_line_names_each_gap_or_says_complete() {
        let mut t = totals(3, 4, 2);
        assert_eq!(quality_line(&t), "", "hours not assessed show nothing");
        t.quality.assessed = 3;
        assert!(quality_line(&t).contains("Journalen komplett"));
        t.quality.norton_stale = 1;
        t.quality.activities = 10;
        t.quality.activities_without_due = 4;
        let line = quality_line(&t);
        assert!(line.contains("Norton saknas/gammal 1"), "{line}");
        assert!(line.contains("aktiviteter utan tid 4 av 10"), "{line}");
        assert!(!line.contains("NEWS2"), "no NEWS2 gap, none shown: {line}");
        assert!(line.contains(r#"class="quality gaps""#));
    }

    #[test]
    fn location_ids_lose_the_ward_prefix_on_the_ward_screen() {
        assert_eq!(short_label("w01-a", "w01"), "A");
        assert_eq!(short_label("w01-r03-b2", "w01"), "r03-b2");
        assert_eq!(short_label("w01-extra-1", "w01"), "extra-1");
        assert_eq!(short_label("12", "w01"), "12", "another id is shown whole");
        assert_eq!(short_label("w01", "w01"), "w01", "nothing left: shown whole");
        assert_eq!(
            short_label("w011-a", "w01"),
            "w011-a",
            "a longer ward id is not a prefix"
        );
    }
    use careload_scoring::score::{Components, Split};
    use careload_scoring::snapshot::{AdlDomain, AdlLevel, AdlNeed, Sex};
    use chrono::{DateTime, Duration, TimeZone as _, Utc};

    fn hour() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).single().unwrap()
    }

    pub(crate) fn state() -> DataState {
        DataState {
            hour: Some(hour()),
            as_of: Some(hour() + Duration::minutes(4)),
            stale: false,
            stale_reason: None,
            last_run: Some(RunSummary {
                id: 3,
                started_at: hour() + Duration::minutes(1),
                finished_at: Some(hour() + Duration::minutes(4)),
                outcome: Some("ok".into()),
                error: None,
            }),
            weights_version: Some("2026-1".into()),
            sources: Vec::new(),
        }
    }

    fn totals(patients: u32, usk: i64, ssk: i64) -> Totals {
        Totals {
            patients,
            total: Points::whole(usk + ssk),
            components: Components {
                basic_nursing: Points::whole(usk),
                specific_nursing: Points::whole(ssk),
                ..Components::default()
            },
            professions: Split {
                usk: Points::whole(usk),
                ssk: Points::whole(ssk),
            },
            unmatched: 0,
            quality: Default::default(),
        }
    }

    fn patient(key: &str, team: &str, bed: &str, total: i64, band: Band) -> PatientRow {
        PatientRow {
            key: key.into(),
            team: Some(team.into()),
            bed: Some(bed.into()),
            sex: Sex::Female,
            birth_year: Some(1944),
            admitted_at: hour() - Duration::days(2),
            outlying: false,
            norton: None,
            norton_total: Some(18),
            emotional_support: None,
            news2: Some(1),
            news2_risk: Some(RiskLevel::Low),
            medications: 3,
            orders: 1,
            total: Points::whole(total),
            usk: Points::whole(total / 2),
            ssk: Points::whole(total - total / 2),
            components: Vec::new(),
            band,
            adl: Vec::new(),
            unmatched: 0,
        }
    }

    fn series(name: &str, hours: i64, base: i64) -> Series {
        Series {
            name: name.into(),
            points: (0..hours)
                .map(|h| Point {
                    hour: hour() - Duration::hours(hours - 1 - h),
                    total: Points::whole(base + h % 7),
                })
                .collect(),
        }
    }

    pub(crate) fn ward() -> (WardView, WardHistory) {
        let mut patients = vec![
            patient("p1", "A", "1", 10, Band::Low),
            patient("p2", "A", "2", 20, Band::Moderate),
            patient("p3", "B", "11", 30, Band::High),
            patient("p4", "B", "12", 45, Band::VeryHigh),
        ];
        patients[2].news2 = Some(6);
        patients[2].news2_risk = Some(RiskLevel::Medium);
        patients[3].news2 = Some(8);
        patients[3].news2_risk = Some(RiskLevel::High);
        patients[3].outlying = true;
        patients[3].norton_total = Some(12);
        patients[3].adl = vec![AdlNeed {
            domain: AdlDomain::Mobility,
            level: AdlLevel::FullHelp,
            assessed_at: hour(),
        }];
        let ward = WardView {
            id: "avd12".into(),
            name: "Avdelning 12 Kirurgi".into(),
            state: state(),
            totals: totals(4, 50, 55),
            beds: Some(6),
            teams: vec![
                TeamView {
                    team: "A".into(),
                    name: "Vårdlag A".into(),
                    totals: totals(2, 15, 15),
                },
                TeamView {
                    team: "B".into(),
                    name: "Vårdlag B".into(),
                    totals: totals(2, 35, 40),
                },
            ],
            patients,
        };
        let history = WardHistory {
            id: "avd12".into(),
            from: hour() - Duration::hours(119),
            to: hour() + Duration::hours(1),
            ward: series("ward", 120, 90),
            teams: vec![series("A", 120, 25), series("B", 120, 60)],
            patients: vec![series("p1", 40, 8), series("p4", 120, 40)],
        };
        (ward, history)
    }

    #[test]
    fn shows_each_team_with_its_total_and_each_bed() {
        let (ward, history) = ward();
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"<section class="team" data-team="A""#));
        assert!(html.contains(r#"<section class="team" data-team="B""#));
        // Each column: its heading, its total and split, its own beds and no other team's.
        let columns: Vec<&str> = html.split(r#"<section class="team""#).skip(1).collect();
        assert_eq!(columns.len(), 2);
        for (column, (name, total, usk, beds, other_beds)) in columns.iter().zip([
            ("Vårdlag A", "30,0", "USK 15,0", ["1", "2"], ["11", "12"]),
            ("Vårdlag B", "75,0", "USK 35,0", ["11", "12"], ["1", "2"]),
        ]) {
            assert!(column.contains(&format!("<h2>{name}</h2>")), "{name}");
            assert!(
                column.contains(&format!(r#"<span class="team-total">{total}</span>"#)),
                "{name}: {column}"
            );
            assert!(column.contains(usk), "{name}");
            for bed in beds {
                assert!(column.contains(&format!(r#"data-bed="{bed}""#)), "{name}: bed {bed}");
            }
            for bed in other_beds {
                assert!(
                    !column.contains(&format!(r#"data-bed="{bed}""#)),
                    "{name}: bed {bed} misplaced"
                );
            }
        }
        assert!(html.contains(r#"id="ward-total">105,0<"#));
        assert!(html.contains("USK 50,0") && html.contains("SSK 55,0"));
        assert!(html.contains(r#"<meta http-equiv="refresh" content="300">"#));
        assert!(html.contains("Data för timmen 12:00–13:00"), "local time shown");
        assert!(!html.contains("<script"));
        crate::screen::tests::assert_balanced(&html);
    }

    fn ward_page_html(ward: &WardView, history: &WardHistory) -> String {
        crate::screen::ward_page(ward, history, &ctx())
    }

    #[test]
    fn bands_news2_norton_outlying_and_adl_have_cues() {
        let (ward, history) = ward();
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"class="score band-low""#));
        assert!(html.contains(r#"class="score band-very_high""#));
        assert!(html.contains("mycket hög"));
        assert!(html.contains(r#"<span class="news news-medium">6 <small>▲ medel</small>"#));
        assert!(html.contains(r#"<span class="news news-high">8 <small>▲▲ hög</small>"#));
        assert!(html.contains(">UTL</span>"));
        assert!(html.contains("12 !</span>"), "Norton risk marked");
        assert!(
            html.contains(
                r#"<span class="adl-level" title="full hjälp">●<span title="förflyttning: full hjälp">F</span></span>"#
            ),
            "ADL beside the score, grouped by level"
        );
    }

    #[test]
    fn graphs_are_inline_svg() {
        let (ward, history) = ward();
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"<path class="line-ward" d="M"#));
        assert_eq!(html.matches(r#"<path class="line-team""#).count(), 2);
        // Team sparklines (2) and patient sparklines (2) and the chart.
        assert_eq!(html.matches(r#"<svg class="spark""#).count(), 4);
        assert!(html.contains(">tor 19/11</text>"), "day ticks in local time");
        for c in Component::ALL {
            assert!(html.contains(&format!(r#"data-component="{}""#, c.key())));
        }
    }

    #[test]
    fn banner_only_when_stale_or_failed() {
        let (mut ward, history) = ward();
        let html = ward_page_html(&ward, &history);
        assert!(!html.contains(r#"class="banner"#));
        ward.state.stale = true;
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"class="banner stale""#));
        assert!(html.contains("Inaktuella data"));
        ward.state.stale = false;
        if let Some(run) = ward.state.last_run.as_mut() {
            run.outcome = Some("failed".into());
            run.error = Some("connection refused".into());
        }
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"class="banner failed""#));
        assert!(html.contains("misslyckades"), "said in Swedish");
        assert!(
            !html.contains("connection refused"),
            "the run's error is for admins (issue 26)"
        );
    }

    #[test]
    fn no_data_yet_is_grey() {
        let (mut ward, mut history) = ward();
        ward.state.hour = None;
        ward.state.as_of = None;
        ward.state.stale = true;
        ward.teams.clear();
        ward.patients.clear();
        history.ward.points.clear();
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"class="nodata""#));
        assert!(html.contains("Inga data ännu"));
        assert!(!html.contains(r#"class="team""#));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let (mut ward, history) = ward();
        ward.name = "<script>alert('x')</script>".into();
        ward.teams[0].team = "\"><img src=x onerror=alert(1)>".into();
        ward.patients[0].team = Some(ward.teams[0].team.clone());
        ward.patients[0].bed = Some("<b>".into());
        let html = ward_page_html(&ward, &history);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    }

    #[test]
    fn beds_are_in_natural_order() {
        let mut beds = vec![Some("10"), None, Some("2"), Some("isolering"), Some("1b"), Some("9")];
        beds.sort_by_cached_key(|b| bed_order(*b));
        assert_eq!(
            beds,
            vec![Some("1b"), Some("2"), Some("9"), Some("10"), Some("isolering"), None]
        );
        let (mut ward, history) = ward();
        ward.patients[0].bed = Some("10".into());
        let html = ward_page_html(&ward, &history);
        let first = html.find(r#"data-bed="2""#).unwrap();
        assert!(first < html.find(r#"data-bed="10""#).unwrap());
    }

    #[test]
    fn counts_read_in_swedish_singular_and_plural() {
        let (mut ward, history) = ward();
        ward.teams[0].totals.patients = 1;
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(">1 patient<"), "{html}");
        assert!(!html.contains("1 patienter"), "{html}");
        assert!(html.contains(">2 patienter<"), "{html}");
    }

    #[test]
    fn patients_without_a_team_row_are_still_shown() {
        let (mut ward, history) = ward();
        ward.patients[0].team = None;
        let html = ward_page_html(&ward, &history);
        assert!(html.contains(r#"data-team="övriga""#));
        assert!(html.contains(r#"data-bed="1""#));
    }

    /// A ward of `teams` teams with `per_team` patients each.
    fn ward_of(teams: usize, per_team: usize) -> (WardView, WardHistory) {
        let (mut ward, history) = ward();
        let ids: Vec<String> = (0..teams).map(|t| char::from(b'A' + t as u8).to_string()).collect();
        ward.teams = ids
            .iter()
            .map(|id| TeamView {
                team: id.clone(),
                name: format!("Vårdlag {id}"),
                totals: totals(per_team as u32, 10, 10),
            })
            .collect();
        ward.patients = ids
            .iter()
            .enumerate()
            .flat_map(|(t, id)| {
                (0..per_team)
                    .map(move |n| patient(&format!("p{t}-{n}"), id, &(t * 100 + n + 1).to_string(), 10, Band::Low))
            })
            .collect();
        (ward, history)
    }

    /// The server tells the style sheet the ward's shape (issue 26): how
    /// many patient tables side by side, how long the longest, and whether
    /// the columns are dense; a team too long for one table is split when
    /// there is room beside it, and the page is one `.wall` that fits the
    /// screen.
    #[test]
    fn the_layout_follows_the_wards_shape() {
        for (teams, per_team, classes, tables) in [
            (1, 8, "tables-1 rows-s", 1),
            (1, 14, "tables-2 rows-s", 2),
            (1, 40, "tables-4 rows-m dense", 4),
            (2, 12, "tables-2 rows-l", 2),
            (2, 20, "tables-4 rows-m dense", 4),
            (3, 9, "tables-3 rows-m", 3),
            (4, 10, "tables-4 rows-m dense", 4),
        ] {
            let (ward, history) = ward_of(teams, per_team);
            let html = ward_page_html(&ward, &history);
            let what = format!("{teams} teams of {per_team}");
            assert!(
                html.contains(&format!(r#"<div class="main {classes}">"#)),
                "{what}: {classes}"
            );
            assert_eq!(html.matches(r#"<table class="patients">"#).count(), tables, "{what}");
            assert_eq!(
                html.matches(r#"<tr class="patient""#).count(),
                teams * per_team,
                "{what}: every patient once"
            );
            assert!(
                html.contains(
                    r#"<body>
<div class="wall">"#
                ),
                "{what}"
            );
            crate::screen::tests::assert_balanced(&html);
        }
        // Split tables keep the beds in order, the first table the longest.
        let (ward, history) = ward_of(1, 15);
        let html = ward_page_html(&ward, &history);
        let tables: Vec<&str> = html.split(r#"<table class="patients">"#).skip(1).collect();
        assert_eq!(tables[0].matches(r#"<tr class="patient""#).count(), 8);
        assert_eq!(tables[1].matches(r#"<tr class="patient""#).count(), 7);
        assert!(tables[0].contains(r#"data-bed="8""#) && tables[1].contains(r#"data-bed="9""#));
    }
}
