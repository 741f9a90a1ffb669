//! The ward screen and the hospital overview in a real browser: headless
//! Chromium loads both pages from a loopback server, takes a 1920×1080
//! screenshot of each and dumps the DOM it built.
//!
//! The views are a realistic ward built here (3 teams, 20 patients, 120
//! hourly points each, a gap, an outlier, NEWS2 risks, ADL) rendered by
//! `careload_api::screen`, served by a tiny axum server on port 0.
//!
//! Screenshots go to `$CARGO_TARGET_DIR/screens/{ward,hospital}.png`
//! (default `target/screens`). Without Chromium the test is skipped with a
//! message, unless `CI` is set: CI must have Chromium (`.ci/run` installs it).
//! Set `CHROMIUM` to use another binary. A browser that hangs is killed
//! after [`BROWSER_TIMEOUT`] and fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use axum::response::Html;
use axum::routing::get;
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
    }
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

/// 3 teams, 20 patients in 22 beds, 120 hours of history with a gap for one patient.
fn ward() -> Ward {
    let mut rng = Rng(0x5eed_cafe_f00d);
    let from = now_hour() - Duration::hours(HOURS - 1);
    let mut patients = Vec::new();
    let mut patient_series = Vec::new();
    for i in 0..20u32 {
        let team = TEAMS[(i * 3 / 20) as usize];
        let bed = format!("{}", 1 + i + u32::from(i >= 10) * 2);
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
        let adl = if i % 3 == 0 {
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
    let teams: Vec<TeamView> = TEAMS
        .iter()
        .map(|team| {
            let rows: Vec<&PatientRow> = patients.iter().filter(|p| p.team.as_deref() == Some(team)).collect();
            TeamView {
                team: (*team).to_owned(),
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
    let team_series: Vec<Series> = TEAMS
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
        state: state(),
        totals: totals_of(&all),
        beds: Some(22),
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
        });
    }
    wards.sort_by(|a, b| a.id.cmp(&b.id));
    HospitalOverview {
        state: state(),
        totals,
        wards,
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

/// Takes a screenshot of `url` at `size` into `png` (replacing an old one).
fn screenshot(browser: &Path, profile: &Path, url: &str, png: &Path, size: (u32, u32)) {
    let _ = std::fs::remove_file(png);
    run_browser(
        browser,
        profile,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={},{}", size.0, size.1),
            url.to_owned(),
        ],
    );
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

#[test]
fn ward_screen_and_hospital_overview_render_in_headless_chromium() {
    let Some(browser) = browser_or_skip() else { return };

    let ward = ward();
    let overview = hospital(&ward.view);
    let ctx = ScreenContext {
        now: now_hour() + Duration::minutes(14),
        tz: chrono_tz::Europe::Stockholm,
        refresh_seconds: 300,
        token: Some("kiosk-token".into()),
    };
    let ward_html = Arc::new(ward_page(&ward.view, &ward.history, &ctx));
    let hospital_html = Arc::new(hospital_page(&overview, &ctx));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route(
            "/",
            get({
                let html = Arc::clone(&hospital_html);
                move || async move { Html(html.as_str().to_owned()) }
            }),
        )
        .route(
            "/wards/{id}/screen",
            get({
                let html = Arc::clone(&ward_html);
                move || async move { Html(html.as_str().to_owned()) }
            }),
        );
    runtime.spawn(async move { axum::serve(listener, app).await });

    let dir = screens_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let ward_url = format!("http://{addr}/wards/avd-12/screen?token=kiosk-token");
    let hospital_url = format!("http://{addr}/?token=kiosk-token");

    // Ward screen: screenshot at 1920×1080 and at a laptop's 1366×768, then the DOM.
    let profile = profile_dir("ward");
    let ward_png = dir.join("ward.png");
    screenshot(&browser, &profile, &ward_url, &ward_png, (1920, 1080));
    let (w, h, len) = png_size(&ward_png);
    assert_eq!((w, h), (1920, 1080));
    assert!(len > 30_000, "ward screenshot is suspiciously small: {len} bytes");
    println!("ward screen screenshot: {}", ward_png.display());

    let laptop_png = dir.join("ward-laptop.png");
    screenshot(&browser, &profile, &ward_url, &laptop_png, (1366, 768));
    assert_eq!(png_size(&laptop_png).0, 1366);
    println!("ward screen, laptop size: {}", laptop_png.display());

    let dom = run_browser(&browser, &profile, &["--dump-dom".into(), ward_url]);
    for team in TEAMS {
        assert!(
            dom.contains(&format!(r#"data-team="{team}""#)),
            "team {team} column missing"
        );
        assert!(dom.contains(&format!("Vårdlag {team}")), "team {team} heading missing");
    }
    for p in &ward.view.patients {
        let bed = p.bed.as_deref().unwrap();
        assert!(dom.contains(&format!(r#"data-bed="{bed}""#)), "bed {bed} missing");
    }
    assert_eq!(dom.matches(r#"<tr class="patient""#).count(), 20);
    assert!(dom.contains("<svg"), "no inline svg");
    assert!(dom.contains(r#"<path class="line-ward" d="M"#), "ward line missing");
    assert_eq!(dom.matches(r#"<path class="line-team""#).count(), 3);
    assert!(dom.matches(r#"<svg class="spark""#).count() >= 23, "sparklines missing");
    assert!(dom.contains("Avdelning 12 – Kirurgi &amp; ortopedi"));
    assert!(dom.contains(r#"http-equiv="refresh""#));
    assert!(dom.contains(r#"href="/?token=kiosk-token""#));

    // Hospital overview.
    let profile_h = profile_dir("hospital");
    let hospital_png = dir.join("hospital.png");
    screenshot(&browser, &profile_h, &hospital_url, &hospital_png, (1920, 1080));
    let (w, h, len) = png_size(&hospital_png);
    assert_eq!((w, h), (1920, 1080));
    assert!(len > 10_000, "hospital screenshot is suspiciously small: {len} bytes");
    println!("hospital overview screenshot: {}", hospital_png.display());
    let dom = run_browser(&browser, &profile_h, &["--dump-dom".into(), hospital_url]);
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 5);
    assert!(dom.contains(r#"href="/wards/avd-12/screen?token=kiosk-token""#));
    for word in ["lägre", "som förväntat", "högre", "för lite data"] {
        assert!(dom.contains(word), "indicator {word} missing");
    }

    runtime.shutdown_background();
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(careload_api::serve(listener, state, async {
            let _ = shutdown_rx.await;
        }));
        addr
    });

    let dir = screens_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let profile = profile_dir("live");
    let ward_url = format!("http://{addr}/wards/medicine-3/screen");
    let ward_png = dir.join("ward-live.png");
    screenshot(&browser, &profile, &ward_url, &ward_png, (1920, 1080));
    let (w, h, len) = png_size(&ward_png);
    assert_eq!((w, h), (1920, 1080));
    assert!(len > 30_000, "ward screenshot is suspiciously small: {len} bytes");
    println!("ward screen from the real router: {}", ward_png.display());

    let dom = run_browser(&browser, &profile, &["--dump-dom".into(), ward_url]);
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

    let hospital_url = format!("http://{addr}/");
    let hospital_png = dir.join("hospital-live.png");
    screenshot(&browser, &profile, &hospital_url, &hospital_png, (1920, 1080));
    assert_eq!(png_size(&hospital_png).0, 1920);
    println!("hospital overview from the real router: {}", hospital_png.display());
    let dom = run_browser(&browser, &profile, &["--dump-dom".into(), hospital_url]);
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 2);
    assert!(dom.contains(r#"href="/wards/medicine-3/screen""#));
    assert!(dom.contains("Avd 1 Geriatrik"));

    let planning_url = format!("http://{addr}/wards/medicine-3/planning");
    let planning_png = dir.join("planning-live.png");
    screenshot(&browser, &profile, &planning_url, &planning_png, (1920, 1080));
    assert_eq!(png_size(&planning_png).0, 1920);
    println!("planning page from the real router: {}", planning_png.display());
    let dom = run_browser(&browser, &profile, &["--dump-dom".into(), planning_url]);
    assert!(dom.contains("Bemanning – Avd 3 Medicin"), "title with the ward's name");
    assert_eq!(
        dom.matches(r#"<section class="shift""#).count(),
        2,
        "the next two shifts"
    );
    for team in TEAMS {
        assert!(dom.contains(&format!("<td>Lag {team}</td>")), "team {team} row missing");
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

    let admissions_url = format!("http://{addr}/admissions");
    let admissions_png = dir.join("admissions-live.png");
    screenshot(&browser, &profile, &admissions_url, &admissions_png, (1920, 1080));
    assert_eq!(png_size(&admissions_png).0, 1920);
    println!(
        "bed coordinator's page from the real router: {}",
        admissions_png.display()
    );
    let dom = run_browser(&browser, &profile, &["--dump-dom".into(), admissions_url]);
    assert_eq!(dom.matches(r#"<tr class="ward""#).count(), 2, "both wards ranked");
    assert!(
        dom.contains(r#"data-ward="geriatrics-1" data-verdict="strained""#),
        "no plan: strained or full"
    );
    assert!(
        dom.contains(r#"href="/wards/medicine-3/planning""#),
        "linked to the planning page"
    );

    let _ = shutdown_tx.send(());
    runtime.shutdown_timeout(StdDuration::from_secs(5));
}
