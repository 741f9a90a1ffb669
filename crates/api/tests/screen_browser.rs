//! The screens in a real browser: headless Chromium loads each page full
//! screen (a kiosk window) at 1280×720, 1920×1080 and 3840×2160, takes a
//! screenshot and dumps the DOM it built, and the test checks the layout
//! from element boxes.
//!
//! The ward views are realistic wards built here (1, 2, 3 and 4 teams, up
//! to 40 beds, long bed ids, banners, 120 hourly points each, a gap, an
//! outlier, NEWS2 risks, ADL) rendered by `careload_api::screen`; a second
//! test renders the real router's pages from a SQLite store. A tiny axum
//! server on port 0 serves each page with a measuring script appended
//! (`screen_layout.js`; the pages themselves carry no JavaScript), which
//! writes the boxes of the elements that matter into the DOM as JSON. The
//! ward screen must fit the screen: nothing that matters outside the
//! viewport, cut off by its container, overflowing its table cell or
//! overlapping its neighbour; the other pages may scroll down but never
//! sideways. Failures name the page, the size, the ward's shape and the
//! element.
//!
//! Screenshots of every page at every size go to
//! `$CARGO_TARGET_DIR/screens/` (default `target/screens`), e.g.
//! `ward-4-teams-40-beds-stale-1280x720.png`. Without Chromium the test is
//! skipped with a message, unless `CI` is set: CI must have Chromium
//! (`.ci/run` installs it). Set `CHROMIUM` to use another binary. A browser
//! that hangs is killed after [`BROWSER_TIMEOUT`] and fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use axum::response::{Html, IntoResponse as _};
use careload_api::screen::{ScreenContext, hospital_page, ward_page};
use careload_app::view::{
    Band, DataState, ExpectedBasis, HospitalOverview, Indicator, PatientRow, Point, RunSummary, Series, TeamView,
    WardHistory, WardOverview, WardView,
};
use careload_scoring::Points;
use careload_scoring::aggregate::Totals;
use careload_scoring::news2::RiskLevel;
use careload_scoring::score::{Component, Components};
use careload_scoring::snapshot::{AdlDomain, AdlLevel, AdlNeed, NortonActivity, Sex, SupportLevel};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, TimeZone as _, Utc};

mod common;
use common::TEAMS;

/// How long one browser run may take.
const BROWSER_TIMEOUT: StdDuration = StdDuration::from_secs(90);

const HOURS: i64 = 120;

/// A small deterministic generator (xorshift), so the ward is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn now_hour() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap()
}

fn state() -> DataState {
    DataState {
        hour: Some(now_hour()),
        as_of: Some(now_hour() + Duration::minutes(6)),
        stale: false,
        stale_reason: None,
        last_run: Some(RunSummary {
            id: 4711,
            started_at: now_hour() + Duration::minutes(2),
            finished_at: Some(now_hour() + Duration::minutes(6)),
            outcome: Some("ok".into()),
            error: None,
        }),
        weights_version: Some("2026-1".into()),
        sources: Vec::new(),
    }
}

/// The data state of a ward of `shape`: stale and with a failed last run when it says so.
fn shape_state(shape: Shape) -> DataState {
    let mut state = state();
    state.stale = shape.stale;
    if shape.failed
        && let Some(run) = state.last_run.as_mut()
    {
        run.outcome = Some("failed".into());
        run.error = Some("connection refused".into());
    }
    state
}

/// Splits a total (milli) over the components the way a real score roughly does.
fn components(total: i64, news2: i64) -> Components {
    let share = |pct: i64| Points::from_milli(total * pct / 100);
    let mut c = Components {
        medications: share(22),
        orders: share(8),
        basic_nursing: share(30),
        specific_nursing: share(24),
        news2: Points::from_milli(news2 * 400),
        emotional_support: share(6),
        care_plans: share(4),
        diagnoses: share(3),
        modifiers: Points::ZERO,
    };
    let sum: i64 = Component::ALL.iter().map(|k| c.get(*k).milli()).sum();
    c.modifiers = Points::from_milli((total - sum).max(0));
    c
}

struct Ward {
    view: WardView,
    history: WardHistory,
}

/// Team ids of the synthetic wards.
const TEAM_IDS: [&str; 4] = ["A", "B", "C", "D"];

/// A ward's shape: how many teams, how many patients in all, and the
/// banners it shows (stale data, a failed run).
#[derive(Clone, Copy, Debug)]
struct Shape {
    teams: usize,
    patients: u32,
    stale: bool,
    failed: bool,
    /// Beds named by room as the simulated hospital names them (`r01-b2`), not numbered.
    rooms: bool,
}

impl Shape {
    /// A short name for file names and failures: `3-teams-27-beds`.
    fn label(&self) -> String {
        let banners = match (self.stale, self.failed) {
            (false, false) => "",
            (true, false) => "-stale",
            (false, true) => "-failed",
            (true, true) => "-stale-failed",
        };
        format!("{}-teams-{}-beds{banners}", self.teams, self.patients)
    }
}

/// The wards the browser test renders: 1 to 4 teams, up to 40 beds, with
/// and without banners. The 3-team ward has the demo's shape (as `w03`:
/// 27 patients, every bed named by room, `r01-b2`, and extra beds).
const SHAPES: [Shape; 4] = [
    Shape {
        teams: 1,
        patients: 14,
        stale: false,
        failed: false,
        rooms: false,
    },
    Shape {
        teams: 2,
        patients: 24,
        stale: true,
        failed: true,
        rooms: false,
    },
    Shape {
        teams: 3,
        patients: 27,
        stale: false,
        failed: false,
        rooms: true,
    },
    Shape {
        teams: 4,
        patients: 40,
        stale: true,
        failed: false,
        rooms: false,
    },
];

/// A ward of `shape`: its patients spread evenly over the teams, beds
/// numbered with a gap between teams and each team's last bed an extra one
/// with a long id (`extra-1`), 120 hours of history with a gap for one
/// patient.
fn ward(shape: Shape) -> Ward {
    let mut rng = Rng(0x5eed_cafe_f00d);
    let from = now_hour() - Duration::hours(HOURS - 1);
    let n = shape.patients;
    let teams = shape.teams as u32;
    let mut patients = Vec::new();
    let mut patient_series = Vec::new();
    for i in 0..n {
        let t = i * teams / n;
        let team = TEAM_IDS[t as usize];
        let last_of_team = (i + 1) * teams / n != t || i + 1 == n;
        let bed = if last_of_team && t % 2 == 1 {
            format!("avd-12-extra-{}", t.div_ceil(2))
        } else if shape.rooms {
            format!("avd-12-r{:02}-b{}", i / 2 + 1, i % 2 + 1)
        } else {
            format!("{}", 1 + i + t * 2)
        };
        let key = format!("pk_{:016x}", rng.next());
        let base = 3_000 + rng.below(12_000) as i64;
        let admitted_hours_ago = 10 + rng.below(200) as i64;
        let mut points = Vec::new();
        for h in 0..HOURS {
            let hour = from + Duration::hours(h);
            if now_hour() - hour > Duration::hours(admitted_hours_ago) {
                continue;
            }
            if i == 5 && (60..66).contains(&h) {
                continue; // a gap: hours the ingest missed
            }
            let daily = ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
            let milli = base + (daily * base as f64 * 0.25) as i64 + rng.below(1_500) as i64;
            points.push(Point {
                hour,
                total: Points::from_milli(milli),
            });
        }
        let total = points.last().map(|p| p.total).unwrap_or(Points::ZERO);
        let news2 = [0u8, 1, 2, 3, 5, 6, 8][rng.below(7) as usize];
        let risk = match news2 {
            0..=2 => RiskLevel::Low,
            3 => RiskLevel::LowMedium,
            5 | 6 => RiskLevel::Medium,
            _ => RiskLevel::High,
        };
        let usk = Points::from_milli(total.milli() * 45 / 100);
        let comps = components(total.milli(), i64::from(news2));
        let adl = if i % 9 == 4 {
            // every area: the widest ADL cell
            [
                AdlDomain::Hygiene,
                AdlDomain::EatingDrinking,
                AdlDomain::Dressing,
                AdlDomain::Toileting,
                AdlDomain::Mobility,
            ]
            .into_iter()
            .enumerate()
            .map(|(n, domain)| AdlNeed {
                domain,
                level: if n % 2 == 0 {
                    AdlLevel::FullHelp
                } else {
                    AdlLevel::PartialHelp
                },
                assessed_at: now_hour(),
            })
            .collect()
        } else if i % 3 == 0 {
            vec![
                AdlNeed {
                    domain: AdlDomain::Hygiene,
                    level: AdlLevel::FullHelp,
                    assessed_at: now_hour(),
                },
                AdlNeed {
                    domain: AdlDomain::Mobility,
                    level: AdlLevel::PartialHelp,
                    assessed_at: now_hour(),
                },
            ]
        } else if i % 4 == 1 {
            vec![AdlNeed {
                domain: AdlDomain::EatingDrinking,
                level: AdlLevel::PartialHelp,
                assessed_at: now_hour(),
            }]
        } else {
            Vec::new()
        };
        patients.push(PatientRow {
            key: key.clone(),
            team: Some(team.to_owned()),
            bed: Some(bed),
            sex: if i % 2 == 0 { Sex::Female } else { Sex::Male },
            birth_year: Some(1930 + rng.below(70) as i32),
            admitted_at: now_hour() - Duration::hours(admitted_hours_ago),
            outlying: i == 7 || i == 16,
            norton: Some(NortonActivity::ALL[rng.below(4) as usize]),
            norton_total: Some(8 + rng.below(12) as u8),
            emotional_support: Some(SupportLevel::ALL[rng.below(3) as usize]),
            news2: Some(news2),
            news2_risk: Some(risk),
            medications: rng.below(12) as u32,
            orders: rng.below(5) as u32,
            total,
            usk,
            ssk: total - usk,
            components: Component::ALL
                .iter()
                .map(|c| (c.key().to_owned(), comps.get(*c)))
                .collect(),
            band: Band::Low,
            adl,
            unmatched: 0,
        });
        patient_series.push(Series { name: key, points });
    }
    // Bands by quartile of the totals, as the API assigns them.
    let mut sorted: Vec<i64> = patients.iter().map(|p| p.total.milli()).collect();
    sorted.sort_unstable();
    let q = |f: usize| sorted[(sorted.len() * f / 4).min(sorted.len() - 1)];
    for p in &mut patients {
        let m = p.total.milli();
        p.band = if m < q(1) {
            Band::Low
        } else if m < q(2) {
            Band::Moderate
        } else if m < q(3) {
            Band::High
        } else {
            Band::VeryHigh
        };
    }
    let totals_of = |rows: &[&PatientRow]| {
        let mut t = Totals::default();
        for p in rows {
            t.patients += 1;
            t.total += p.total;
            t.professions.usk += p.usk;
            t.professions.ssk += p.ssk;
            let c = components(p.total.milli(), i64::from(p.news2.unwrap_or(0)));
            t.components.merge(&c);
        }
        t
    };
    let team_ids = &TEAM_IDS[..shape.teams];
    let teams: Vec<TeamView> = team_ids
        .iter()
        .map(|team| {
            let rows: Vec<&PatientRow> = patients.iter().filter(|p| p.team.as_deref() == Some(team)).collect();
            TeamView {
                team: (*team).to_owned(),
                name: format!("Vårdlag {team}"),
                totals: totals_of(&rows),
            }
        })
        .collect();
    let all: Vec<&PatientRow> = patients.iter().collect();
    let sum_series = |name: &str, keys: &[&str]| Series {
        name: name.to_owned(),
        points: (0..HOURS)
            .map(|h| {
                let hour = from + Duration::hours(h);
                let mut total = Points::ZERO;
                for s in patient_series.iter().filter(|s| keys.contains(&s.name.as_str())) {
                    if let Some(p) = s.points.iter().find(|p| p.hour == hour) {
                        total += p.total;
                    }
                }
                Point { hour, total }
            })
            .collect(),
    };
    let team_series: Vec<Series> = team_ids
        .iter()
        .map(|team| {
            let keys: Vec<&str> = patients
                .iter()
                .filter(|p| p.team.as_deref() == Some(team))
                .map(|p| p.key.as_str())
                .collect();
            sum_series(team, &keys)
        })
        .collect();
    let all_keys: Vec<&str> = patients.iter().map(|p| p.key.as_str()).collect();
    let ward_series = sum_series("ward", &all_keys);
    let view = WardView {
        id: "avd-12".into(),
        name: "Avdelning 12 – Kirurgi & ortopedi".into(),
        state: shape_state(shape),
        totals: totals_of(&all),
        beds: Some(n + 2),
        teams,
        patients,
    };
    let history = WardHistory {
        id: view.id.clone(),
        from,
        to: now_hour() + Duration::hours(1),
        ward: ward_series,
        teams: team_series,
        patients: patient_series,
    };
    Ward { view, history }
}

fn hospital(ward: &WardView) -> HospitalOverview {
    let mut wards = vec![WardOverview {
        id: ward.id.clone(),
        name: ward.name.clone(),
        totals: ward.totals,
        beds: ward.beds,
        occupancy: ward.beds.map(|b| f64::from(ward.totals.patients) / f64::from(b)),
        expected: Some(Points::from_milli(ward.totals.total.milli() * 8 / 10)),
        expected_samples: 2_900,
        expected_basis: ExpectedBasis::HourOfWeek,
        indicator: Indicator::Higher,
        stale: false,
    }];
    let others = [
        ("avd-14", "Avdelning 14 – Medicin", 24, 23, Indicator::AsExpected),
        ("avd-21", "Avdelning 21 – Geriatrik", 18, 12, Indicator::Lower),
        ("iva", "IVA", 8, 6, Indicator::Higher),
        ("avd-30", "Avdelning 30 – Ny enhet", 16, 9, Indicator::TooLittleData),
    ];
    let mut totals = ward.totals;
    for (id, name, beds, patients, indicator) in others {
        let total = Points::from_milli(i64::from(patients) * 9_500);
        let usk = Points::from_milli(total.milli() / 2);
        let t = Totals {
            patients,
            total,
            professions: careload_scoring::score::Split { usk, ssk: total - usk },
            ..Totals::default()
        };
        totals.merge(&t);
        wards.push(WardOverview {
            id: id.into(),
            name: name.into(),
            totals: t,
            beds: Some(beds),
            occupancy: Some(f64::from(patients) / f64::from(beds)),
            expected: (indicator != Indicator::TooLittleData).then(|| Points::from_milli(total.milli() * 11 / 10)),
            expected_samples: if indicator == Indicator::TooLittleData {
                40
            } else {
                3_000
            },
            expected_basis: ExpectedBasis::HourOfWeek,
            indicator,
            stale: false,
        });
    }
    wards.sort_by(|a, b| a.id.cmp(&b.id));
    HospitalOverview {
        state: state(),
        totals,
        wards,
        departments: Vec::new(),
    }
}

/// The browser to use: `$CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs the browser with the flags that work headless on a closed network,
/// killing it after [`BROWSER_TIMEOUT`]. Returns stdout.
fn run_browser(browser: &Path, profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let (out_tx, out_rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = stdout.read_to_string(&mut buf);
        let _ = out_tx.send(buf);
    });
    let (err_tx, err_rx) = mpsc::channel();
    let mut stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf);
        let _ = err_tx.send(buf);
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = err_rx.recv_timeout(StdDuration::from_secs(2)).unwrap_or_default();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}: {args:?}\n{err}");
        }
        std::thread::sleep(StdDuration::from_millis(100));
    };
    let out = out_rx.recv_timeout(StdDuration::from_secs(10)).unwrap_or_default();
    let err = err_rx.recv_timeout(StdDuration::from_secs(10)).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}): {args:?}\n{err}");
    out
}

/// The screen sizes wards have, at device scale factor 1: a small TV or an
/// old monitor, full HD, and a 4K TV.
const SIZES: [(u32, u32); 3] = [(1280, 720), (1920, 1080), (3840, 2160)];

/// The measuring script the test's server appends to every page it serves
/// (after `var layoutWall = …;`); the pages themselves carry no JavaScript.
const LAYOUT_JS: &str = include_str!("screen_layout.js");

/// `html` with the measuring script before `</body>`: `wall` for a screen
/// that may not scroll at all, else one that may scroll down but not sideways.
fn with_layout_script(html: &str, wall: bool) -> String {
    let script = format!("<script>var layoutWall = {wall};\n{LAYOUT_JS}</script>\n</body>");
    assert!(html.contains("</body>"), "a page without </body>");
    assert!(!html.contains("<script"), "the pages themselves carry no JavaScript");
    html.replacen("</body>", &script, 1)
}

/// Loads `url` full screen on a `size` screen (a kiosk window, so the
/// viewport is the whole screen), takes a screenshot into `png` (replacing
/// an old one) and returns the DOM the page built.
fn render(browser: &Path, profile: &Path, url: &str, png: &Path, size: (u32, u32)) -> String {
    let args = [
        "--kiosk".to_owned(),
        format!("--screen-info={{{}x{}}}", size.0, size.1),
        format!("--window-size={},{}", size.0, size.1),
        format!("--screenshot={}", png.display()),
        "--dump-dom".to_owned(),
        url.to_owned(),
    ];
    let _ = std::fs::remove_file(png);
    let mut dom = run_browser(browser, profile, &args);
    if !png.exists() {
        // a busy machine now and then ends the run before the screenshot: once more
        eprintln!("no screenshot from {url} at {size:?}: trying again");
        dom = run_browser(browser, profile, &args);
    }
    let (w, h, len) = png_size(png);
    assert_eq!((w, h), size, "{url}: screenshot size");
    assert!(len > 10_000, "{url}: screenshot is suspiciously small: {len} bytes");
    dom
}

/// A box in CSS pixels, from `getBoundingClientRect()`.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn right(&self) -> f64 {
        self.x + self.w
    }

    fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Whether `inner` lies within this box (±`slack` px), on one or both axes.
    fn holds(&self, inner: &Rect, both_axes: bool, slack: f64) -> bool {
        let x = inner.x >= self.x - slack && inner.right() <= self.right() + slack;
        let y = inner.y >= self.y - slack && inner.bottom() <= self.bottom() + slack;
        x && (y || !both_axes)
    }

    /// Whether the two boxes share more than a pixel's sliver.
    fn overlaps(&self, other: &Rect) -> bool {
        let w = self.right().min(other.right()) - self.x.max(other.x);
        let h = self.bottom().min(other.bottom()) - self.y.max(other.y);
        w > 1.0 && h > 1.0
    }

    fn describe(&self) -> String {
        format!("{:.0}×{:.0} at ({:.0}, {:.0})", self.w, self.h, self.x, self.y)
    }
}

/// One measured element (see `screen_layout.js`).
#[derive(Debug, serde::Deserialize)]
struct Item {
    name: String,
    kind: String,
    group: String,
    required: bool,
    shown: bool,
    #[serde(flatten)]
    rect: Option<Rect>,
    content: Option<Rect>,
    #[serde(default)]
    scroll_w: f64,
    #[serde(default)]
    client_w: f64,
    #[serde(default)]
    lines: u32,
    clip: Option<Rect>,
    within: Option<Rect>,
}

/// The measuring script's report on one page at one size.
#[derive(Debug, serde::Deserialize)]
struct Report {
    vw: f64,
    vh: f64,
    root: f64,
    scroll_w: f64,
    scroll_h: f64,
    wall: bool,
    items: Vec<Item>,
}

/// The report in a dumped DOM.
fn layout_report(dom: &str, what: &str) -> Report {
    let start = dom
        .rfind(r#"<pre id="layout-report""#)
        .and_then(|i| dom[i..].find('>').map(|j| i + j + 1))
        .unwrap_or_else(|| panic!("{what}: no layout report in the DOM"));
    let end = start + dom[start..].find("</pre>").expect("end of the report");
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{what}: layout report: {e}\n{json}"))
}

/// Everything wrong with a page's layout, each problem prefixed with `what`
/// (page, size, ward shape). A wall screen (`report.wall`) must fit the
/// viewport on both axes; other pages may scroll down, never sideways.
fn layout_problems(report: &Report, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(format!("{what}: {p}"));
    let (vw, vh) = (report.vw, report.vh);
    let viewport = Rect {
        x: 0.0,
        y: 0.0,
        w: vw,
        h: vh,
    };
    let both = report.wall;
    if report.scroll_w > vw || (both && report.scroll_h > vh) {
        problem(format!(
            "the page scrolls: {:.0}×{:.0} of content in a {vw:.0}×{vh:.0} viewport",
            report.scroll_w, report.scroll_h
        ));
    }
    let shown: Vec<(&Item, Rect)> = report
        .items
        .iter()
        .filter_map(|i| i.rect.filter(|_| i.shown).map(|r| (i, r)))
        .collect();
    for item in report.items.iter().filter(|i| i.required && !i.shown) {
        problem(format!("{} is not shown", item.name));
    }
    for &(item, rect) in &shown {
        if !viewport.holds(&rect, both, 0.5) {
            problem(format!("{} is outside the viewport: {}", item.name, rect.describe()));
        }
        if let Some(clip) = item.clip
            && !clip.holds(&rect, both, 0.5)
        {
            problem(format!(
                "{} is cut off by its container: {} in {}",
                item.name,
                rect.describe(),
                clip.describe()
            ));
        }
        if let Some(owner) = item.within
            && !owner.holds(&rect, both, 1.0)
        {
            problem(format!(
                "{} sticks out of its part of the page: {} in {}",
                item.name,
                rect.describe(),
                owner.describe()
            ));
        }
        if item.kind == "cell" {
            if let Some(content) = item.content
                && !rect.holds(&content, both, 1.0)
            {
                problem(format!(
                    "{} overflows its cell: contents {} in {}",
                    item.name,
                    content.describe(),
                    rect.describe()
                ));
            }
            if item.scroll_w > item.client_w + 0.5 && item.client_w > 0.0 {
                problem(format!(
                    "{} clips its text: {} px of text in {} px",
                    item.name, item.scroll_w, item.client_w
                ));
            }
        }
        let max_lines = if item.name.contains("column header") || item.name.contains(r#"cell "ADL"#) {
            2
        } else {
            u32::MAX
        };
        if item.lines > max_lines {
            problem(format!("{} wraps over {} lines", item.name, item.lines));
        }
    }
    for (n, &(a, ra)) in shown.iter().enumerate() {
        if a.group.is_empty() {
            continue;
        }
        for &(b, rb) in shown[n + 1..].iter().filter(|(b, _)| b.group == a.group) {
            if ra.overlaps(&rb) {
                problem(format!(
                    "{} ({}) overlaps {} ({})",
                    a.name,
                    ra.describe(),
                    b.name,
                    rb.describe()
                ));
            }
        }
    }
    problems
}

/// One page to load at one size.
struct Job {
    /// Page, size and ward shape, for file names and failures.
    what: String,
    url: String,
    size: (u32, u32),
    png: PathBuf,
}

/// Renders every job, two browsers at a time, each with a profile of its
/// own; returns the DOMs in the jobs' order.
fn render_all(browser: &Path, jobs: &[Job]) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let doms: Vec<std::sync::Mutex<String>> = jobs.iter().map(|_| Default::default()).collect();
    std::thread::scope(|s| {
        for worker in 0..2 {
            let (next, doms) = (&next, &doms);
            s.spawn(move || {
                let profile = profile_dir(&format!("layout-{worker}"));
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(job) = jobs.get(n) else { break };
                    let dom = render(browser, &profile, &job.url, &job.png, job.size);
                    *doms[n].lock().unwrap() = dom;
                }
            });
        }
    });
    doms.into_iter().map(|d| d.into_inner().unwrap()).collect()
}

/// Checks a PNG's magic bytes and returns its size from the IHDR chunk.
fn png_size(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(bytes.len() > 24, "{} is too short for a PNG", path.display());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height, bytes.len())
}

fn screens_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screens")
}

/// A fresh, empty browser profile directory, removed when dropped.
fn profile_dir(name: &str) -> TempDir {
    TempDir::new(&format!("chromium-{name}"))
}

/// The browser, or none after a skip message; panics when `CI` is set and there is none.
fn browser_or_skip() -> Option<PathBuf> {
    let browser = chromium();
    if browser.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run the browser test (see .ci/run)");
        }
        eprintln!("skipping the browser test: chromium not found (apt-get install -y chromium)");
    }
    browser
}

/// Serves `pages` (path → HTML) on a loopback port of its own; any query is ignored.
fn serve_pages(runtime: &tokio::runtime::Runtime, pages: HashMap<String, String>) -> std::net::SocketAddr {
    let pages = Arc::new(pages);
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        match pages.get(uri.path()) {
            Some(html) => Html(html.clone()).into_response(),
            None => axum::http::StatusCode::NOT_FOUND.into_response(),
        }
    });
    runtime.spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A page from a server as HTML, over plain HTTP/1.0 (no chunks, no gzip),
/// answered with `status`.
fn fetch_page(addr: std::net::SocketAddr, path: &str, status: u16) -> String {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(StdDuration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with(&format!("HTTP/1.0 {status}")) || head.starts_with(&format!("HTTP/1.1 {status}")),
        "GET {path}: {head}"
    );
    body.to_owned()
}

/// Fails with every problem of every page, or passes when there are none.
fn assert_no_problems(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} layout problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The ward screen of every shape at every size fits the screen with
/// nothing that matters cut off or overlapping, its text grows with the
/// screen, and the hospital overview never scrolls sideways.
#[test]
fn ward_screen_and_hospital_overview_render_in_headless_chromium() {
    let Some(browser) = browser_or_skip() else { return };

    let wards: Vec<(Shape, Ward)> = SHAPES.iter().map(|&shape| (shape, ward(shape))).collect();
    let demo = &wards.iter().find(|(s, _)| s.teams == 3).expect("the demo's shape").1;
    let overview = hospital(&demo.view);
    let ctx = ScreenContext {
        now: now_hour() + Duration::minutes(14),
        tz: chrono_tz::Europe::Stockholm,
        refresh_seconds: 300,
        token: Some("kiosk-token".into()),
    };
    let mut pages: HashMap<String, String> = wards
        .iter()
        .map(|(shape, w)| {
            let html = ward_page(&w.view, &w.history, &ctx);
            (
                format!("/wards/{}/screen", shape.label()),
                with_layout_script(&html, true),
            )
        })
        .collect();
    pages.insert("/".into(), with_layout_script(&hospital_page(&overview, &ctx), false));
    // The pages as served, to open by hand beside the screenshots.
    let dir = screens_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (path, html) in &pages {
        let name = path.trim_matches('/').replace('/', "-");
        let name = if name.is_empty() { "hospital" } else { &name };
        std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = serve_pages(&runtime, pages);

    let mut jobs = Vec::new();
    for (shape, _) in &wards {
        for size in SIZES {
            jobs.push(Job {
                what: format!("ward screen, {}, at {}×{}", shape.label(), size.0, size.1),
                url: format!("http://{addr}/wards/{}/screen?token=kiosk-token", shape.label()),
                size,
                png: dir.join(format!("ward-{}-{}x{}.png", shape.label(), size.0, size.1)),
            });
        }
    }
    for size in SIZES {
        jobs.push(Job {
            what: format!("hospital overview at {}×{}", size.0, size.1),
            url: format!("http://{addr}/?token=kiosk-token"),
            size,
            png: dir.join(format!("hospital-{}x{}.png", size.0, size.1)),
        });
    }
    let doms = render_all(&browser, &jobs);
    println!("screenshots: {}", dir.display());

    let mut problems = Vec::new();
    let mut root_fonts = Vec::new();
    for (job, dom) in jobs.iter().zip(&doms) {
        let report = layout_report(dom, &job.what);
        assert_eq!(
            (report.vw, report.vh),
            (f64::from(job.size.0), f64::from(job.size.1)),
            "{}: the viewport is the screen",
            job.what
        );
        problems.extend(layout_problems(&report, &job.what));
        if job.what.starts_with("ward screen, 3-teams") {
            root_fonts.push((job.size, report.root));
        }
    }
    // Text grows with the screen: 4K looks like full HD, bigger.
    let root = |size: (u32, u32)| root_fonts.iter().find(|(s, _)| *s == size).map(|(_, r)| *r).unwrap();
    let (hd, uhd) = (root((1920, 1080)), root((3840, 2160)));
    if uhd < 1.8 * hd {
        problems.push(format!(
            "ward screen: the root font is {uhd} px at 3840×2160 and {hd} px at 1920×1080: 4K text is not ≥ 1.8× bigger"
        ));
    }
    assert!(root((1280, 720)) >= 14.0, "text at 1280×720 stays legible");

    // The DOM of each ward at full HD: every team, bed and graph is there.
    for ((shape, w), dom) in wards.iter().zip(doms.chunks(SIZES.len())) {
        let dom = &dom[1];
        let what = shape.label();
        for team in &TEAM_IDS[..shape.teams] {
            assert!(
                dom.contains(&format!(r#"data-team="{team}""#)),
                "{what}: team {team} column missing"
            );
            assert!(
                dom.contains(&format!("Vårdlag {team}")),
                "{what}: team {team} heading missing"
            );
        }
        for p in &w.view.patients {
            let bed = careload_app::view::short_label(p.bed.as_deref().unwrap(), &w.view.id);
            assert!(
                dom.contains(&format!(r#"data-bed="{bed}""#)),
                "{what}: bed {bed} missing"
            );
        }
        assert_eq!(
            dom.matches(r#"<tr class="patient""#).count(),
            shape.patients as usize,
            "{what}"
        );
        assert!(
            dom.contains(r#"<path class="line-ward" d="M"#),
            "{what}: ward line missing"
        );
        assert_eq!(dom.matches(r#"<path class="line-team""#).count(), shape.teams, "{what}");
        assert!(
            dom.matches(r#"<svg class="spark""#).count() >= shape.patients as usize + shape.teams,
            "{what}: sparklines missing"
        );
        assert!(dom.contains("Avdelning 12 – Kirurgi &amp; ortopedi"));
        assert!(dom.contains(r#"http-equiv="refresh""#));
        assert!(dom.contains(r#"href="/?token=kiosk-token""#));
        assert_eq!(dom.contains(r#"class="banner stale""#), shape.stale, "{what}");
        assert_eq!(dom.contains(r#"class="banner failed""#), shape.failed, "{what}");
    }
    assert!(doms[0].contains(r#"data-bed="1""#));
    assert!(
        doms.iter().any(|d| d.contains(r#"data-bed="extra-1""#)),
        "a long bed id is among the beds"
    );

    // Hospital overview.
    let dom = &doms[jobs.len() - 2];
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 5);
    assert!(dom.contains(r#"href="/wards/avd-12/screen?token=kiosk-token""#));
    for word in ["lägre", "som förväntat", "högre", "för lite data"] {
        assert!(dom.contains(word), "indicator {word} missing");
    }

    runtime.shutdown_background();
    assert_no_problems(&problems);
}

/// Fills a SQLite store with 120 hours of a 20-patient ward (teams A, B, C,
/// built from `examples/ward-snapshot.json` moved in time, with patients
/// admitted along the way, care that varies over the day and four hours
/// missing) and the example's geriatric ward, each hour scored by
/// `careload_scoring::score` and written by `Store::write_hour`.
async fn fill_store(store: &careload_store::Store, weights: &careload_scoring::Weights, current: DateTime<Utc>) {
    use careload_scoring::rollup;

    let example = common::ExampleWard::new("medicine-3", 60);
    store.record_weights(weights).await.unwrap();
    let run = store.begin_run("screen-browser-test").await.unwrap();
    for h in 0..HOURS {
        if (70..74).contains(&h) {
            continue; // hours the ingest missed: the graphs must break here
        }
        let hour = current - Duration::hours(HOURS - 1 - h);
        let pairs = example.hour(h, hour, weights);
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        store
            .write_hour(hour, run, &weights.meta.version, &pairs, &r)
            .await
            .unwrap();
    }
    store
        .finish_run(run, careload_store::Outcome::Ok, &careload_store::RunReport::default())
        .await
        .unwrap();
}

/// Planned staffing for medicine-3 today and tomorrow (local dates), every
/// shift of the default plan: team A short of assistant nurses, B and C
/// well staffed, one absence — so the planning page has verdicts to show
/// and something to balance.
async fn plan_staff(store: &careload_store::Store, current: DateTime<Utc>) {
    use careload_planning::PlannedStaffing;
    use careload_scoring::snapshot::Profession;

    let today = current.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let mut rows = Vec::new();
    for date in [today, today + Duration::days(1)] {
        for shift in ["day", "evening", "night"] {
            for (team, usk, ssk) in [("A", 1, 1), ("B", 3, 2), ("C", 3, 1)] {
                for (profession, planned) in [(Profession::Usk, usk), (Profession::Ssk, ssk)] {
                    rows.push(PlannedStaffing {
                        ward: "medicine-3".into(),
                        team: Some(team.into()),
                        date,
                        shift: shift.into(),
                        profession,
                        planned,
                        absent: u32::from(team == "B" && profession == Profession::Usk),
                    });
                }
            }
        }
    }
    store
        .put_planned_staffing(&rows, "screen-browser-test", "test")
        .await
        .unwrap();
}

/// Planned staffing and the staff's ratings of every shift of medicine-3
/// that ended in the stored hours, so that the calibration page has a
/// scatter to draw: the fewer people present, the heavier the rating.
async fn rate_shifts(state: &careload_api::AppState, current: DateTime<Utc>) {
    use careload_planning::PlannedStaffing;
    use careload_scoring::snapshot::Profession;

    let tz = state.tz();
    let plan = state.shift_plan("medicine-3").unwrap();
    let (mut rows, mut ratings) = (Vec::new(), Vec::new());
    let mut w = plan.shift_at(current - Duration::hours(HOURS - 1), &tz);
    let mut n = 0u32;
    while w.window.end <= current {
        let usk = 3 + n % 4;
        // three SSK and three USK or more, all rating: every group large enough to show its mean
        for (profession, planned) in [(Profession::Usk, usk), (Profession::Ssk, 3)] {
            rows.push(PlannedStaffing {
                ward: "medicine-3".into(),
                team: None,
                date: w.date,
                shift: w.name.clone(),
                profession,
                planned,
                absent: 0,
            });
        }
        for k in 0..usk + 3 {
            ratings.push(careload_store::NewRating {
                ward: "medicine-3".into(),
                team: None,
                shift_start: w.window.start,
                shift: w.name.clone(),
                profession: Some(if k < usk { Profession::Usk } else { Profession::Ssk }),
                rating: (2 - i8::try_from(n % 4).unwrap() + i8::try_from(k % 2).unwrap()).clamp(-3, 3),
                source: careload_store::RatingSource::PaperImport,
                received_at: w.window.end,
            });
        }
        n += 1;
        w = plan.shift_at(w.window.end, &tz);
    }
    state
        .store
        .put_planned_staffing(&rows, "screen-browser-test", "test")
        .await
        .unwrap();
    state.store.put_ratings(&ratings).await.unwrap();
}

#[test]
fn the_real_router_serves_screens_that_render_in_headless_chromium() {
    let Some(browser) = browser_or_skip() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let weights_text = std::fs::read_to_string(root.join("weights/2026.1.toml")).unwrap();
    let weights = careload_scoring::Weights::from_toml(&weights_text, "weights/2026.1.toml").unwrap();
    let config = careload_config::Config::from_toml(
        concat!(
            "[api]\nopen = true\n",
            "[wards.medicine-3]\nname = \"Avd 3 Medicin\"\nbeds = 22\n",
            "[wards.geriatrics-1]\nname = \"Avd 1 Geriatrik\"\nbeds = 16\n"
        ),
        "test",
    )
    .unwrap();
    let db_dir = profile_dir("store");
    let url = db_dir.sqlite_url();
    let current = careload_store::hour_of(Utc::now());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let addr = runtime.block_on(async {
        let store = careload_store::Store::connect(&url).await.unwrap();
        fill_store(&store, &weights, current).await;
        plan_staff(&store, current).await;
        let state = careload_api::AppState::try_new(store, Arc::new(config), Arc::new(weights)).expect("app state");
        rate_shifts(&state, current).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(careload_api::serve(listener, state, async {
            let _ = shutdown_rx.await;
        }));
        addr
    });

    // The real router's pages, served again with the measuring script.
    let paths = [
        ("ward-live", "/wards/medicine-3/screen", true),
        ("hospital-live", "/", false),
        ("planning-live", "/wards/medicine-3/planning", false),
        ("admissions-live", "/admissions", false),
        ("patient-live", "/wards/medicine-3/beds/1", false),
        ("not-found-live", "/wards/w99/screen", false),
        ("rate-live", "/wards/medicine-3/rate", false),
        ("calibration-live", "/wards/medicine-3/calibration", false),
    ];
    let pages: HashMap<String, String> = paths
        .iter()
        .map(|(name, path, wall)| {
            let status = if *name == "not-found-live" { 404 } else { 200 };
            let html = fetch_page(addr, path, status);
            ((*path).to_owned(), with_layout_script(&html, *wall))
        })
        .collect();
    let dir = screens_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, path, _) in paths {
        std::fs::write(dir.join(format!("{name}.html")), &pages[path]).unwrap();
    }
    let copies = serve_pages(&runtime, pages);
    let mut jobs = Vec::new();
    for (name, path, _) in paths {
        for size in SIZES {
            // the hospital overview's layout is checked on the synthetic hospital
            if name == "hospital-live" && size != (1920, 1080) {
                continue;
            }
            // the council's page: a desktop and a laptop
            if name == "calibration-live" && size == (3840, 2160) {
                continue;
            }
            jobs.push(Job {
                what: format!("{name} ({path}) at {}×{}", size.0, size.1),
                url: format!("http://{copies}{path}"),
                size,
                png: dir.join(format!("{name}-{}x{}.png", size.0, size.1)),
            });
        }
    }
    // the staff's rating page is for phones too
    jobs.push(Job {
        what: "rate-live (/wards/medicine-3/rate) at 360×640".into(),
        url: format!("http://{copies}/wards/medicine-3/rate"),
        size: (360, 640),
        png: dir.join("rate-live-360x640.png"),
    });
    let doms = render_all(&browser, &jobs);
    println!("screenshots from the real router: {}", dir.display());
    let mut problems = Vec::new();
    for (job, dom) in jobs.iter().zip(&doms) {
        problems.extend(layout_problems(&layout_report(dom, &job.what), &job.what));
    }
    let dom_of = |name: &str| {
        let n = jobs
            .iter()
            .position(|j| j.what.starts_with(name) && j.size == (1920, 1080))
            .unwrap();
        &doms[n]
    };

    let dom = dom_of("ward-live");
    assert!(dom.contains("Avd 3 Medicin"), "configured ward name");
    assert!(!dom.contains(r#"class="banner"#), "fresh data has no banner");
    for team in TEAMS {
        assert!(
            dom.contains(&format!(r#"data-team="{team}""#)),
            "team {team} column missing"
        );
    }
    for bed in 1..=20 {
        assert!(dom.contains(&format!(r#"data-bed="{bed}""#)), "bed {bed} missing");
    }
    assert!(dom.contains(r#"<path class="line-ward" d="M"#), "ward line missing");
    let ward_line = dom
        .split(r#"<path class="line-ward" d=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(
        ward_line.matches('M').count(),
        2,
        "the missing hours break the line: {ward_line}"
    );
    assert_eq!(dom.matches(r#"<path class="line-team""#).count(), 3);

    let dom = dom_of("hospital-live");
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 2);
    assert!(dom.contains(r#"href="/wards/medicine-3/screen""#));
    assert!(dom.contains("Avd 1 Geriatrik"));

    let dom = dom_of("planning-live");
    assert!(dom.contains("Bemanning – Avd 3 Medicin"), "title with the ward's name");
    assert_eq!(
        dom.matches(r#"<section class="shift""#).count(),
        2,
        "the next two shifts"
    );
    for team in TEAMS {
        // the team's display name (issue 26 makes it one name everywhere)
        assert!(
            dom.contains(&format!("<td>Vårdlag {team}</td>")) || dom.contains(&format!("<td>Lag {team}</td>")),
            "team {team} row missing"
        );
    }
    assert!(
        ["underbemannat", "i balans", "utrymme"]
            .iter()
            .any(|w| dom.contains(&format!("</span> {w}</span>"))),
        "a verdict in words"
    );
    assert!(dom.contains("(1 frånv.)"), "the absence is shown");
    assert!(dom.contains("Fördelning mellan vårdlagen"), "the balancing section");
    assert!(!dom.contains(r#"id="no-team-plan""#), "every team has a plan");

    let dom = dom_of("admissions-live");
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 2, "both wards ranked");
    assert!(
        dom.contains(r#"data-ward="geriatrics-1" data-verdict="strained""#),
        "no plan: strained or full"
    );
    assert!(
        dom.contains(r#"href="/wards/medicine-3/planning""#),
        "linked to the planning page"
    );

    let dom = dom_of("patient-live");
    assert!(dom.contains("Poäng nu per komponent"), "the patient page's breakdown");
    assert!(
        dom.contains(r#"href="/wards/medicine-3/screen""#) && dom.contains(r#"href="/""#),
        "the patient page links back to its ward and the overview"
    );

    let dom = dom_of("rate-live");
    assert_eq!(dom.matches(r#"name="rating""#).count(), 7, "the seven choices");
    assert!(
        dom.contains("Avd 3 Medicin") && dom.contains("Anonymt"),
        "the rating page"
    );

    let dom = dom_of("calibration-live");
    assert!(dom.contains("Kalibrering – Avd 3 Medicin"), "the calibration page");
    assert!(dom.contains(r#"id="optimum""#), "its headline");
    assert_eq!(dom.matches(r#"<svg class="scatter""#).count(), 3, "together, USK, SSK");
    assert!(dom.matches(r#"class="dot""#).count() >= 3, "rated shifts drawn");
    assert!(dom.contains("Komponenterna och skattningarna"));

    let dom = dom_of("not-found-live");
    assert!(dom.contains("w99 finns inte"), "a mistyped ward is told in Swedish");
    assert!(dom.contains(r#"href="/""#), "the 404 page links to the overview");

    let _ = shutdown_tx.send(());
    runtime.shutdown_timeout(StdDuration::from_secs(5));
    assert_no_problems(&problems);
}

/// Every ward of a running careload (`CARELOAD_SCREEN_ADDR=127.0.0.1:8080`,
/// with an open API, as `careload demo` serves it) checked like the
/// synthetic wards: its ward screen, planning page and the patient page
/// of its first bed at the three sizes, and the overview and the bed
/// coordinator. A tool for a real hospital's wards or the demo's,
/// run by hand: `cargo test -p careload-api --test screen_browser -- --ignored`.
#[test]
#[ignore = "needs a running careload: CARELOAD_SCREEN_ADDR=host:port"]
fn every_ward_of_a_running_careload_fits_every_screen() {
    let Some(browser) = browser_or_skip() else { return };
    let addr: std::net::SocketAddr = std::env::var("CARELOAD_SCREEN_ADDR")
        .expect("CARELOAD_SCREEN_ADDR=host:port of a running careload")
        .parse()
        .expect("CARELOAD_SCREEN_ADDR is host:port");
    let wards: serde_json::Value = serde_json::from_str(&fetch_page(addr, "/api/v1/wards", 200)).unwrap();
    let ids: Vec<String> = wards["wards"]
        .as_array()
        .expect("the ward list")
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty(), "the running careload has wards");
    let mut pages = HashMap::new();
    let mut jobs = Vec::new();
    let dir = screens_dir().join("running");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, path) in [("overview", "/"), ("admissions", "/admissions")] {
        pages.insert(path.to_owned(), with_layout_script(&fetch_page(addr, path, 200), false));
        for size in SIZES {
            jobs.push((path.to_owned(), format!("{name} at {}×{}", size.0, size.1), size));
        }
    }
    for id in &ids {
        let path = format!("/wards/{id}/planning");
        pages.insert(path.clone(), with_layout_script(&fetch_page(addr, &path, 200), false));
        for size in SIZES {
            jobs.push((path.clone(), format!("{id} planning at {}×{}", size.0, size.1), size));
        }
        let path = format!("/wards/{id}/screen");
        let html = fetch_page(addr, &path, 200);
        let bed = html
            .split(r#"data-bed=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned);
        pages.insert(path.clone(), with_layout_script(&html, true));
        for size in SIZES {
            jobs.push((path.clone(), format!("{id} ward screen at {}×{}", size.0, size.1), size));
        }
        if let Some(bed) = bed {
            let path = format!("/wards/{id}/beds/{bed}");
            pages.insert(path.clone(), with_layout_script(&fetch_page(addr, &path, 200), false));
            for size in SIZES {
                jobs.push((path.clone(), format!("{id} bed {bed} at {}×{}", size.0, size.1), size));
            }
        }
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let copies = serve_pages(&runtime, pages);
    let jobs: Vec<Job> = jobs
        .into_iter()
        .map(|(path, what, size)| Job {
            png: dir.join(format!("{}.png", what.replace([' ', '/', '×'], "-"))),
            url: format!("http://{copies}{path}"),
            what,
            size,
        })
        .collect();
    let doms = render_all(&browser, &jobs);
    println!(
        "{} pages of {} wards, screenshots in {}",
        jobs.len(),
        ids.len(),
        dir.display()
    );
    let mut problems = Vec::new();
    for (job, dom) in jobs.iter().zip(&doms) {
        problems.extend(layout_problems(&layout_report(dom, &job.what), &job.what));
    }
    assert_no_problems(&problems);
}
