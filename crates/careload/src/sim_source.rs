//! The simulated hospital as the hourly run's FHIR source (`source.kind =
//! sim`: `careload demo`, `serve` and `ingest --once` on the simulator,
//! `bench store`).
//!
//! [`SimHospital::build`] builds the hospital of `[sim]` once, at the hour
//! the runner's plan says ([`careload_runner::StartPlan::source_start`]);
//! the demo reads its roster ([`SimHospital::name_wards`]) and its planned
//! staffing ([`SimHospital::staffing_csv`]) from the very hospital it serves.
//! [`SimHospital::serve`] serves it over HTTP at `sim.listen` and gives the
//! runner a [`SimSource`]: read through the runner's own
//! [`RestSource`] like any FHIR server, so the demo and its back-fill go
//! through the production path. Only the clock is reached directly: moved
//! to each hour in [`FhirSource::before_hour`], and during a back-fill moved
//! on to the next hour as soon as an hour is fetched
//! ([`FhirSource::after_fetch`]), while the runner maps, scores and writes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use careload_config::{Config, SourceKind};
use careload_ingest::RestConfig;
use careload_runner::{BoxFuture, FetchRequest, Fetched, FhirSource, RestSource, Runner, rest_config};
use careload_scoring::Weights;
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use careload_store::{RunReport, Store};
use chrono::{DateTime, NaiveDate, Utc};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The simulated hospital of `[sim]`, built once and shared by whoever
/// needs it (the roster, the planned staffing, the served FHIR API).
#[derive(Clone, Debug)]
pub(crate) struct SimHospital {
    sim: SharedSim,
}

/// The demo's two hospitals (id, display name): the simulated hospital's
/// specialties alternate between them.
pub(crate) const DEMO_HOSPITALS: [(&str, &str); 2] = [("nord", "Sjukhus Nord"), ("syd", "Sjukhus Syd")];

impl SimHospital {
    /// Builds the hospital of `config.sim` starting at `start` (truncated
    /// to the hour).
    ///
    /// # Errors
    /// The simulator refuses the configuration.
    pub(crate) fn build(config: &Config, start: DateTime<Utc>) -> anyhow::Result<SimHospital> {
        let hospital = Hospital::new(SimConfig {
            beds: config.sim.beds,
            wards: config.sim.wards,
            ..SimConfig::new(config.sim.seed, start)
        })?;
        Ok(SimHospital {
            sim: SimServer::new(hospital),
        })
    }

    /// Names, care categories, bed counts, teams, departments and hospitals
    /// of the hospital's wards, as a region would write them in
    /// `[wards.<id>]` ("Avd 3 Kirurgi"), `[departments.<id>]` (one per
    /// specialty, "Verksamhet Kirurgi") and `[hospitals.<id>]` (the
    /// specialties split between two hospitals, [`DEMO_HOSPITALS`], so that
    /// the demo has a region page).
    pub(crate) fn name_wards(&self, config: &mut Config) {
        let wards = self.sim.read(|h| h.stats().wards);
        for (n, w) in wards.iter().enumerate() {
            let index = careload_sim::codes::SPECIALTIES
                .iter()
                .position(|s| s.key == w.specialty);
            let specialty = index.map_or(w.specialty, |i| careload_sim::codes::SPECIALTIES[i].swedish);
            // every other specialty at the second hospital
            let (hospital, hospital_name) = DEMO_HOSPITALS[index.unwrap_or(0) % DEMO_HOSPITALS.len()];
            let mut chars = specialty.chars();
            let specialty: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            // one department (verksamhet) per specialty
            config.departments.entry(w.specialty.to_owned()).or_insert_with(|| {
                config
                    .hospitals
                    .entry(hospital.to_owned())
                    .or_insert_with(|| careload_config::HospitalConfig {
                        name: Some(hospital_name.to_owned()),
                    });
                careload_config::DepartmentConfig {
                    name: Some(format!("Verksamhet {specialty}")),
                    hospital: Some(hospital.to_owned()),
                }
            });
            let ward = config.wards.entry(w.id.clone()).or_default();
            ward.name = Some(format!("Avd {} {specialty}", n + 1));
            ward.department.get_or_insert_with(|| w.specialty.to_owned());
            ward.care_category = Some(w.care_category.to_owned());
            ward.beds = Some(w.beds);
            // every team is known from the start, so that the planned
            // staffing may name a team no patient of the first hours was in
            for team in &w.teams {
                let label = careload_app::view::short_label(team, &w.id);
                ward.teams
                    .entry(team.clone())
                    .or_insert_with(|| format!("Vårdlag {label}"));
            }
        }
    }

    /// The planned staffing of every ward for `days` local dates from
    /// `from`, as the scheduling system's CSV.
    pub(crate) fn staffing_csv(&self, from: NaiveDate, days: u32) -> String {
        self.sim.read(|h| h.staffing_csv(from, days))
    }

    /// Serves the hospital over HTTP at `sim.listen` (until the source is
    /// dropped) and returns the runner's source over it.
    ///
    /// # Errors
    /// The address cannot be bound, or the REST client cannot be built.
    pub(crate) async fn serve(&self, config: &Config) -> anyhow::Result<SimSource> {
        let listen = &config.sim.listen;
        let refused = |source: std::io::Error| {
            let message = format!(
                "cannot listen on sim.listen = {listen:?}: {source}; use a free loopback address such as 127.0.0.1:0"
            );
            anyhow::Error::new(source).context(message)
        };
        let listener = TcpListener::bind(listen).await.map_err(refused)?;
        let served = server::spawn(listener, self.sim.clone()).map_err(refused)?;
        let rest = RestSource::new(RestConfig {
            base_url: served.base_url(),
            token_env: None,
            ..rest_config(config)
        })?;
        tracing::info!(base = %rest.config.base_url, beds = config.sim.beds, seed = config.sim.seed, start = %self.sim.now(), "simulated hospital served");
        Ok(SimSource {
            sim: self.sim.clone(),
            rest,
            advancing: Mutex::new(None),
            _served: served,
        })
    }
}

/// The served simulated hospital as the runner's source.
#[derive(Debug)]
pub(crate) struct SimSource {
    /// The served hospital (its clock is moved here).
    sim: SharedSim,
    /// How it is read: over HTTP, like any FHIR server.
    rest: RestSource,
    /// During a back-fill, the hospital moving to the next hour while the
    /// runner maps, scores and writes this one; the next hour waits for it.
    advancing: Mutex<Option<JoinHandle<DateTime<Utc>>>>,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

impl FhirSource for SimSource {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn describe(&self) -> String {
        self.rest.config.base_url.clone()
    }

    /// Moves the hospital's clock forward to `hour` (whole hours; never
    /// back), after any move a back-fill started; `sim_advance_ms` times it.
    fn before_hour<'a>(
        &'a self,
        hour: DateTime<Utc>,
        report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<()>> {
        Box::pin(async move {
            let started = Instant::now();
            let advancing = self.advancing.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(advancing) = advancing {
                // a panicked step is retried (and reported) below
                let _ = advancing.await;
            }
            let sim = self.sim.clone();
            tokio::task::spawn_blocking(move || sim.advance_to(hour))
                .await
                .map_err(|e| careload_runner::Error::Task(e.to_string()))?;
            report
                .counts
                .insert("sim_advance_ms".into(), started.elapsed().as_millis() as u64);
            Ok(())
        })
    }

    /// This hour is fetched: the hospital moves on to `next` meanwhile.
    fn after_fetch(&self, next: DateTime<Utc>) {
        let sim = self.sim.clone();
        let advancing = tokio::task::spawn_blocking(move || sim.advance_to(next));
        *self.advancing.lock().unwrap_or_else(PoisonError::into_inner) = Some(advancing);
    }

    fn fetch<'a>(
        &'a self,
        request: FetchRequest<'a>,
        report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<Fetched>> {
        self.rest.fetch(request, report)
    }
}

/// The runner of the source `source_id` `config` describes (`""`: the
/// single `[source]`; else one of its `[sources.<id>]`), at `now`:
/// [`Runner::plan_source`], then the source — the simulated hospital built
/// where the plan says and served here for `kind = sim` (the single source
/// only: a named source cannot be simulated), the runner's own otherwise —
/// and [`Runner::start`]. The hospital is returned too (none for other
/// sources).
///
/// # Errors
/// The source is not configured; as [`Runner::plan_source`],
/// [`Runner::start`], [`SimHospital::build`] and [`SimHospital::serve`].
pub(crate) async fn start_runner(
    config: &Config,
    source_id: &str,
    store: Store,
    weights: Arc<Weights>,
    now: DateTime<Utc>,
) -> anyhow::Result<(Runner, Option<SimHospital>)> {
    let Some(source_config) = config.source_by_id(source_id) else {
        return Err(careload_runner::Error::UnknownSource(source_id.to_owned()).into());
    };
    let plan = Runner::plan_source(config, source_id, &store, now).await?;
    let (source, hospital): (Box<dyn FhirSource>, _) = match source_config.kind {
        SourceKind::Sim => {
            let hospital = SimHospital::build(config, plan.source_start())?;
            (Box::new(hospital.serve(config).await?), Some(hospital))
        }
        _ => (careload_runner::from_source_config(source_config)?, None),
    };
    let runner = Runner::start(config, store, weights, plan, source).await?;
    Ok((runner, hospital))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use careload_runner::load_weights;

    use super::*;

    /// A unique temporary directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("careload-sim-source-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        async fn store(&self) -> Store {
            Store::connect(&format!("sqlite://{}?mode=rwc", self.0.join("careload.db").display()))
                .await
                .unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// 2026-11-23T12:20Z: a run at 12:20 is the 12:00 hour.
    fn now() -> DateTime<Utc> {
        "2026-11-23T12:20:00Z".parse().unwrap()
    }

    /// A 60-bed simulated hospital, UTC, no resync in the test's hours, a
    /// pseudonym key variable that is never set.
    fn sim_config(backfill_hours: u32) -> Config {
        let mut c = Config::default();
        c.source.kind = SourceKind::Sim;
        c.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
        c.sim.beds = 60;
        c.sim.seed = 7;
        c.sim.listen = "127.0.0.1:0".into();
        c.scoring.time_zone = "UTC".into();
        c.schedule.resync_hour = 23;
        c.schedule.backfill_hours = backfill_hours;
        c
    }

    fn weights() -> Arc<Weights> {
        Arc::new(load_weights(None).unwrap())
    }

    /// The simulated source moves the hospital on to the next hour while
    /// the runner maps, scores and writes one (`after_fetch`), and waits for
    /// that before the next fetch (`before_hour`): every hour's fetch must
    /// still see that hour, so a back-fill through it stores what the same
    /// source stores hour by hour, and the hospital stops at the last hour.
    /// (That a back-fill's runs are recorded as hour-by-hour runs are, and
    /// store what they do, whatever the source, is the runner's test
    /// `a_pipelined_backfill_stores_what_hour_by_hour_runs_store`.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_hour_of_a_backfill_sees_its_own_hour_while_the_hospital_moves_on() {
        let dir = TempDir::new("pipelined");
        let pipelined = dir.store().await;
        let (mut runner, hospital) = start_runner(&sim_config(8), "", pipelined.clone(), weights(), now())
            .await
            .unwrap();
        assert_eq!(runner.source().kind(), "sim");
        let runs = runner.backfill(now()).await.unwrap();
        let (first, last) = (runs[0].hour, runs[runs.len() - 1].hour);
        assert_eq!(hospital.unwrap().sim.now(), last, "moved to the last hour, not beyond");
        assert!(
            runs.iter().all(|r| r.report.counts.contains_key("sim_advance_ms")),
            "{runs:?}"
        );

        let dir = TempDir::new("sequential");
        let sequential = dir.store().await;
        let (mut one_by_one, _) = start_runner(&sim_config(0), "", sequential.clone(), weights(), first)
            .await
            .unwrap();
        for run in &runs {
            one_by_one.run_hour(run.hour).await.unwrap();
            let (a, b) = (
                careload_testkit::store::stored_hour(&pipelined, &run.wards, run.hour).await,
                careload_testkit::store::stored_hour(&sequential, &run.wards, run.hour).await,
            );
            assert!(!a.is_empty() && a == b, "hour {} differs", run.hour);
        }
    }

    /// The demo names the wards of the hospital it serves, and plans the
    /// staffing of those wards.
    #[test]
    fn the_demo_names_the_served_wards_and_plans_their_staffing() {
        let mut config = sim_config(0);
        let hospital = SimHospital::build(&config, now()).unwrap();
        hospital.name_wards(&mut config);
        config.validate().unwrap();
        let wards = hospital.sim.read(|h| h.stats().wards);
        assert_eq!(config.wards.len(), wards.len());
        for (n, w) in wards.iter().enumerate() {
            let named = &config.wards[&w.id];
            let name = named.name.as_deref().unwrap();
            assert!(name.starts_with(&format!("Avd {} ", n + 1)), "{name}");
            assert!(
                name.chars()
                    .nth(format!("Avd {} ", n + 1).len())
                    .is_some_and(char::is_uppercase),
                "{name}"
            );
            assert_eq!(named.care_category.as_deref(), Some(w.care_category));
            assert_eq!(named.beds, Some(w.beds));
        }
        let csv = hospital.staffing_csv(now().date_naive(), 1);
        for w in &wards {
            assert!(
                csv.lines().any(|l| l.starts_with(&format!("{};", w.id))),
                "{} in {csv}",
                w.id
            );
        }
    }
}
