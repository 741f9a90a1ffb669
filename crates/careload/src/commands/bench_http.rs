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

use anyhow::bail;
use careload_bench::load::{Load, Until, clients, open_loop};

use crate::cli::BenchHttpArgs;
use crate::commands::quantile_ms;
use crate::commands::service::runtime;

/// What the connections saw in the measured window.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    /// Of each answered request's latency, the part before it was sent.
    send_delays: Vec<Duration>,
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

/// Offers `args.rate` requests per second to `url` for `args.seconds`
/// (`careload_bench::load::open_loop`), the warm-up left out.
async fn load(url: &str, args: &BenchHttpArgs) -> anyhow::Result<Seen> {
    let load = Load {
        urls: vec![url.to_owned()],
        connections: args.connections,
        rate: args.rate,
        token: args.token.clone(),
        gzip: args.gzip,
    };
    // every client is built before the clock starts
    let clients = clients(&load)?;
    let start = Instant::now() + Duration::from_millis(200);
    // the warm-up's answers open the connections and are not counted
    let measured_from = start + Duration::from_secs(u64::from(args.warmup));
    let until = Until {
        end: Some(measured_from + Duration::from_secs(u64::from(args.seconds))),
        ..Until::default()
    };
    let samples = open_loop(&load, clients, start, &until).await?;
    let mut all = Seen::default();
    for s in samples.iter().filter(|s| s.due >= measured_from) {
        match s.latency {
            Some(l) => {
                all.latencies.push(l);
                all.send_delays.push(s.send_delay);
                all.non_2xx += u64::from(!(200..300).contains(&s.status));
                all.errors += u64::from(s.body_error);
            }
            None => all.errors += 1,
        }
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
    let mut sent = seen.send_delays.clone();
    sent.sort();
    writeln!(
        out,
        "of it, before sending (the load generator's own delay): p50 {:.2} ms, p99 {:.2} ms",
        quantile_ms(&sent, 0.5),
        quantile_ms(&sent, 0.99)
    )?;
    if seen.errors > 0 || seen.non_2xx > 0 {
        bail!("some requests failed; the figures are not valid");
    }
    Ok(())
}
