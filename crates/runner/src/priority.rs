//! The runs' CPU priority below the API's.
//!
//! A run parses, maps, scores and writes as fast as the cores allow, for a
//! few seconds an hour; the API answers a screen in a millisecond when it
//! gets a core. On a small machine the two meet every hour, and without a
//! difference in priority a screen's request waits in the run's queue. So
//! the runtime the runs go on ([`runs_runtime`]) starts each of its threads
//! (workers and blocking threads alike) at `schedule.run_nice` more than
//! the process's own nice value, and the API's runtime, built apart from
//! it on a thread of normal priority, keeps that. The kernel then gives the
//! API's threads a core whenever they have work, and the runs the rest:
//! the runs lose little (the API is idle most of the time), the screens'
//! tail latency no longer depends on whether a run is writing.
//!
//! Linux only: there a nice value belongs to a thread, and a thread starts
//! with its creator's. Elsewhere `setpriority` applies to the whole
//! process, API included, so it is not done. Raising a priority needs a
//! privilege the service does not have; only lowering is done, and a
//! refusal is logged once and the run goes on at the priority it has.

use std::sync::Once;

/// A multi-threaded runtime whose every thread runs `nice` steps below the
/// calling thread's priority (0 = the same). Build it on a thread of
/// normal priority (the process's main thread), and build the API's
/// runtime apart from it, from that thread too, so that the API's threads
/// keep the normal priority.
///
/// # Errors
/// The runtime cannot be built (no threads).
pub fn runs_runtime(nice: u8) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("careload-run");
    if nice > 0 {
        // one target for every thread, whichever thread starts it: a
        // blocking thread started by a worker (already lowered) must not
        // be lowered twice
        let target = this_thread_nice().saturating_add(i32::from(nice)).min(19);
        builder.on_thread_start(move || lower_this_thread_to(target));
    }
    builder.build()
}

/// Lowers the calling thread's CPU priority to the nice value `target`
/// (at most 19, the lowest) unless it is that low already. Linux only;
/// elsewhere nothing is done. A refusal is logged once per process.
pub fn lower_this_thread_to(target: i32) {
    static REFUSED: Once = Once::new();
    if let Err(e) = lower_to(target.min(19)) {
        REFUSED.call_once(|| {
            tracing::warn!(error = %e, target, "the runs' threads could not be given a lower CPU priority; they run at the API's");
        });
    }
}

#[cfg(target_os = "linux")]
fn lower_to(target: i32) -> std::io::Result<()> {
    use rustix::process::{getpriority_process, setpriority_process};
    // Linux: PRIO_PROCESS of "self" is the calling thread, not the process
    if getpriority_process(None)? < target {
        setpriority_process(None, target)?;
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn lower_to(_target: i32) -> std::io::Result<()> {
    Ok(())
}

/// The calling thread's nice value (Linux; elsewhere 0).
#[must_use]
pub fn this_thread_nice() -> i32 {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getpriority_process(None).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_runs_threads_run_below_the_thread_that_built_them_and_it_stays() {
        // a thread of its own, so the test harness's thread is never changed
        std::thread::spawn(|| {
            let base = this_thread_nice();
            let runtime = runs_runtime(7).unwrap();
            let expected = (base + 7).min(19);
            let (worker, blocking, from_a_worker) = runtime.block_on(async {
                let worker = tokio::spawn(async { this_thread_nice() }).await.unwrap();
                let blocking = tokio::task::spawn_blocking(this_thread_nice).await.unwrap();
                // a blocking thread a worker starts (as a run's mapping does):
                // held busy so that the pool must start new ones from the worker
                let from_a_worker = tokio::spawn(async {
                    let (tx, rx) = std::sync::mpsc::channel::<()>();
                    let busy = tokio::task::spawn_blocking(move || rx.recv());
                    let mut seen = Vec::new();
                    for _ in 0..3 {
                        seen.push(tokio::task::spawn_blocking(this_thread_nice).await.unwrap());
                    }
                    drop(tx);
                    let _ = busy.await;
                    seen
                })
                .await
                .unwrap();
                (worker, blocking, from_a_worker)
            });
            assert_eq!(worker, expected, "a worker thread");
            assert_eq!(blocking, expected, "a blocking thread");
            assert!(
                from_a_worker.iter().all(|&n| n == expected),
                "blocking threads a worker started: {from_a_worker:?}, not lowered twice (expected {expected})"
            );
            assert_eq!(
                this_thread_nice(),
                base,
                "the thread that built the runtime keeps its priority"
            );
            // a thread it starts afterwards (the API's) starts at the normal priority
            let api = std::thread::spawn(this_thread_nice).join().unwrap();
            assert_eq!(api, base);
            let same = runs_runtime(0).unwrap();
            let worker = same.block_on(async { tokio::spawn(async { this_thread_nice() }).await.unwrap() });
            assert_eq!(worker, base, "0 leaves the priority as it is");
        })
        .join()
        .unwrap();
    }
}
