//! `careload bench http`: an open-loop load generator for the API.
//!
//! wrk (in `bench/api.sh`) is closed-loop: each of its connections sends
//! the next request when the previous answer arrives, so with 200
//! connections the mean latency is 200 ÷ throughput (Little's law) whatever
//! the server does, and on a 2-core machine shared with wrk that is several
//! milliseconds. Ward screens do not behave like that: each polls on its own
//! clock. This generator keeps `--connections` keep-alive connections, and
//! each sends on a fixed schedule so that together they offer `--rate`
//! requests per second. A request's latency is measured from the moment it
//! was *scheduled*, not sent, so a stalled server is charged for the queue
//! it causes (no coordinated omission). The clients are built before the
//! schedule starts, and the first `--warmup` seconds (connections opening)
//! are not counted.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cli::BenchHttpArgs;
use crate::commands::quantile_ms;
use crate::commands::service::runtime;

/// What one connection saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    errors: u64,
    non_2xx: u64,
}

/// `careload bench http`.
pub(crate) fn run(args: &BenchHttpArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.rate == 0 || args.connections == 0 {
        bail!("--rate and --connections must be above 0");
    }
    let urls: Vec<String> = args
        .paths
        .iter()
        .map(|p| format!("{}{p}", args.url.trim_end_matches('/')))
        .collect();
    runtime()?.block_on(async {
        for url in &urls {
            let seen = load(url, args).await?;
            report(url, args, &seen, out)?;
        }
        Ok(())
    })
}

/// Offers `args.rate` requests per second to `url` for `args.seconds`.
async fn load(url: &str, args: &BenchHttpArgs) -> anyhow::Result<Seen> {
    let conns = args.connections;
    // each connection sends every `interval`, the connections evenly staggered
    let interval = Duration::from_secs_f64(f64::from(conns) / f64::from(args.rate));
    // every client is built before the clock starts: building one loads the
    // TLS roots, and 200 of them take longer than any head start
    let mut clients = Vec::with_capacity(conns as usize);
    for _ in 0..conns {
        clients.push(
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .context("cannot build an HTTP client")?,
        );
    }
    let start = Instant::now() + Duration::from_millis(200);
    // the warm-up's answers open the connections and are not counted
    let measured_from = start + Duration::from_secs(u64::from(args.warmup));
    let end = measured_from + Duration::from_secs(u64::from(args.seconds));
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let (url, token, gzip) = (url.to_owned(), args.token.clone(), args.gzip);
        let offset = interval.mul_f64(i as f64 / f64::from(conns));
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut due = start + offset;
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let counted = due >= measured_from;
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if gzip {
                    req = req.header(reqwest::header::ACCEPT_ENCODING, "gzip");
                }
                match req.send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        // the whole body, as a screen would read it
                        let read = r.bytes().await.is_ok();
                        if counted {
                            seen.non_2xx += u64::from(!ok);
                            seen.errors += u64::from(!read);
                            seen.latencies.push(due.elapsed());
                        }
                    }
                    Err(_) => seen.errors += u64::from(counted),
                }
                due += interval;
            }
            seen
        }));
    }
    let mut all = Seen::default();
    for t in tasks {
        let seen = t.await.context("a load task failed")?;
        all.latencies.extend(seen.latencies);
        all.errors += seen.errors;
        all.non_2xx += seen.non_2xx;
    }
    Ok(all)
}

fn report(url: &str, args: &BenchHttpArgs, seen: &Seen, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut l = seen.latencies.clone();
    l.sort();
    writeln!(out, "== GET {url}")?;
    writeln!(
        out,
        "offered {} req/s over {} connections for {} s after {} s of warm-up{}: {} answered, {} errors, {} non-2xx",
        args.rate,
        args.connections,
        args.seconds,
        args.warmup,
        if args.gzip { ", gzip accepted" } else { "" },
        l.len(),
        seen.errors,
        seen.non_2xx
    )?;
    if l.is_empty() {
        bail!("no request was answered");
    }
    let at = |q: f64| quantile_ms(&l, q);
    writeln!(
        out,
        "latency from schedule: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0)
    )?;
    if seen.errors > 0 || seen.non_2xx > 0 {
        bail!("some requests failed; the figures are not valid");
    }
    Ok(())
}
