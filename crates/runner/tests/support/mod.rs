//! The simulated hospital as the runner tests' FHIR server and source:
//! served over HTTP on loopback, read through the runner's own
//! [`RestSource`] like any FHIR server, its clock moved to each hour in
//! [`FhirSource::before_hour`]. The `careload` binary's source
//! (`crates/careload/src/sim_source.rs`) does the same and also starts
//! moving the clock as soon as a back-fill's hour is fetched; this one
//! records the hooks the runner calls instead, so that tests can check them.

use std::sync::{Arc, Mutex};

use careload_config::Config;
use careload_ingest::RestConfig;
use careload_runner::{BoxFuture, FetchRequest, Fetched, FhirSource, RestSource, Runner, rest_config};
use careload_scoring::Weights;
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use careload_store::{RunReport, Store};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;

/// The hooks the runner called, in order: `before <hour>`, `after_fetch <next>`.
pub(crate) type Hooks = Arc<Mutex<Vec<String>>>;

/// The simulated hospital of `config.sim`, served on loopback.
#[derive(Debug)]
pub(crate) struct SimClock {
    sim: SharedSim,
    rest: RestSource,
    hooks: Hooks,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

impl FhirSource for SimClock {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn describe(&self) -> String {
        self.rest.config.base_url.clone()
    }

    fn before_hour<'a>(
        &'a self,
        hour: DateTime<Utc>,
        _report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<()>> {
        self.hooks.lock().unwrap().push(format!("before {hour}"));
        let sim = self.sim.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || sim.advance_to(hour))
                .await
                .map_err(|e| careload_runner::Error::Task(e.to_string()))?;
            Ok(())
        })
    }

    fn after_fetch(&self, next: DateTime<Utc>) {
        self.hooks.lock().unwrap().push(format!("after_fetch {next}"));
    }

    fn fetch<'a>(
        &'a self,
        request: FetchRequest<'a>,
        report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<Fetched>> {
        self.rest.fetch(request, report)
    }
}

/// A runner over the simulated hospital `config` describes, and the hospital.
pub(crate) struct Started {
    pub(crate) runner: Runner,
    /// The served hospital.
    pub(crate) sim: SharedSim,
    /// Its FHIR base URL.
    pub(crate) base: String,
    /// The hooks the runner called.
    pub(crate) hooks: Hooks,
}

/// [`Runner::plan`], the hospital of `config.sim` built where the plan
/// says and served on loopback, then [`Runner::start`].
pub(crate) async fn start(
    config: &Config,
    store: Store,
    weights: Arc<Weights>,
    now: DateTime<Utc>,
) -> careload_runner::Result<Started> {
    let plan = Runner::plan(config, &store, now).await?;
    let hospital = Hospital::new(SimConfig {
        beds: config.sim.beds,
        wards: config.sim.wards,
        ..SimConfig::new(config.sim.seed, plan.source_start())
    })
    .expect("a simulated hospital");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let sim = SimServer::new(hospital);
    let served = server::spawn(listener, sim.clone()).expect("its address");
    let base = served.base_url();
    let rest = RestSource::new(RestConfig {
        base_url: base.clone(),
        token_env: None,
        ..rest_config(config)
    })?;
    let hooks = Hooks::default();
    let source = SimClock {
        sim: sim.clone(),
        rest,
        hooks: hooks.clone(),
        _served: served,
    };
    let runner = Runner::start(config, store, weights, plan, Box::new(source)).await?;
    Ok(Started {
        runner,
        sim,
        base,
        hooks,
    })
}
