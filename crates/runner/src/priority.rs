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
//!
//! A priority decides how much of the cores a thread gets, not how soon
//! it gets one. A woken thread takes a core from the running one only when
//! the kernel's scheduler (EEVDF, Linux 6.6 on) finds its deadline earlier;
//! otherwise it waits for the running one's time slice to end or for the
//! next timer tick, 4 ms at the common 250 Hz. While a run writes, the
//! cores run PostgreSQL and the FHIR servers' threads, and a screen's
//! request waited up to that tick (measured: `careload bench region`,
//! docs/benchmarks.md). So the API's threads also ask for a short time
//! slice ([`latency_first`], [`SHORT_SLICE`]): since Linux 6.12 a thread of
//! ordinary priority may ask for its own slice, and a thread with a shorter
//! slice has the earlier deadline and takes a core from a longer one when
//! it wakes. It asks for no more of the cores, and needs no privilege;
//! older kernels ignore it.

use std::sync::Once;
use std::time::Duration;

/// The time slice the API's threads ask for ([`latency_first`]): the
/// shortest the kernel grants. The API's work per request is well under
/// it, so it costs them nothing but waking before longer-sliced threads.
pub const SHORT_SLICE: Duration = Duration::from_micros(100);

/// Asks the kernel to run the calling thread with the time slice
/// [`SHORT_SLICE`], keeping its nice value: on waking it takes a core from
/// a thread with a longer slice instead of waiting for that slice's end
/// (see the module documentation). For the threads that answer requests
/// (the API's, the benchmarks' load generator, which stands in for clients
/// on other machines). Linux only; a kernel before 6.12 accepts and
/// ignores it; a refusal is logged once per process.
pub fn latency_first() {
    static REFUSED: Once = Once::new();
    if let Err(e) = set_slice(SHORT_SLICE) {
        REFUSED.call_once(|| {
            tracing::warn!(error = %e, "the API's threads could not ask for a short time slice; they wait for a core as long as any thread");
        });
    }
}

#[cfg(target_os = "linux")]
fn set_slice(slice: Duration) -> std::io::Result<()> {
    // the nice value is part of what sched_setattr sets: keep the thread's own
    let nice = rustix::process::getpriority_process(None)?;
    sched::set(&sched::Attr {
        nice,
        runtime_ns: u64::try_from(slice.as_nanos()).unwrap_or(u64::MAX),
        ..sched::Attr::default()
    })
}

#[cfg(not(target_os = "linux"))]
fn set_slice(_slice: Duration) -> std::io::Result<()> {
    Ok(())
}

/// The calling thread's time slice as the kernel reports it: its own
/// when it asked for one, else the kernel's default (Linux 6.12 on);
/// `None` when the kernel does not say.
#[cfg(target_os = "linux")]
#[must_use]
pub fn this_thread_slice() -> Option<Duration> {
    // SCHED_OTHER (0): its runtime is the slice
    sched::get()
        .ok()
        .filter(|a| a.policy == 0 && a.runtime_ns > 0)
        .map(|a| Duration::from_nanos(a.runtime_ns))
}

/// The calling thread's time slice: `None`, the kernel does not say.
#[cfg(not(target_os = "linux"))]
#[must_use]
pub fn this_thread_slice() -> Option<Duration> {
    None
}

/// The kernel's `sched_setattr(2)` and `sched_getattr(2)` for the calling
/// thread, which neither the C library nor rustix wraps.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod sched {
    /// `struct sched_attr` as of its first version (`SCHED_ATTR_SIZE_VER0`,
    /// 48 bytes): the kernel reads and writes no more than the size given.
    #[repr(C)]
    #[derive(Debug, Default)]
    pub(super) struct Attr {
        pub(super) size: u32,
        /// `SCHED_OTHER` is 0.
        pub(super) policy: u32,
        pub(super) flags: u64,
        pub(super) nice: i32,
        pub(super) priority: u32,
        /// For `SCHED_OTHER`, the slice asked for (Linux 6.12 on; 0: the default).
        pub(super) runtime_ns: u64,
        pub(super) deadline_ns: u64,
        pub(super) period_ns: u64,
    }

    const SIZE: u32 = 48;
    const _: () = assert!(std::mem::size_of::<Attr>() == SIZE as usize);

    pub(super) fn set(attr: &Attr) -> std::io::Result<()> {
        let attr = Attr { size: SIZE, ..*attr };
        // SAFETY: `attr` is a valid `struct sched_attr` of the size it
        // states, read by the kernel only during the call; pid 0 is the
        // calling thread; flags 0.
        let done = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0) };
        if done == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    pub(super) fn get() -> std::io::Result<Attr> {
        let mut attr = Attr::default();
        // SAFETY: the kernel writes at most `SIZE` bytes into `attr`, which
        // has that size and lives through the call; pid 0 is the calling
        // thread; flags 0.
        let done = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &raw mut attr, SIZE, 0) };
        if done == 0 {
            Ok(attr)
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

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

    /// The running kernel's version, as (major, minor).
    fn kernel() -> (u32, u32) {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    #[test]
    fn a_thread_that_asks_latency_first_gets_the_short_slice_and_keeps_its_nice_value() {
        std::thread::spawn(|| {
            let default = this_thread_slice();
            assert_ne!(
                default,
                Some(SHORT_SLICE),
                "a new thread runs with the kernel's default slice"
            );
            let target = (this_thread_nice() + 3).min(19);
            lower_this_thread_to(target);
            latency_first();
            assert_eq!(this_thread_nice(), target, "the nice value is kept");
            if kernel() >= (6, 12) {
                assert_eq!(this_thread_slice(), Some(SHORT_SLICE), "kernel {:?}", kernel());
            } else {
                // older kernels take the call and keep their default
                assert_eq!(this_thread_slice(), default);
            }
            // a thread it starts asks for itself (what the runtimes' hooks do)
            let started = std::thread::spawn(|| {
                latency_first();
                this_thread_slice()
            });
            assert_eq!(started.join().unwrap(), this_thread_slice());
        })
        .join()
        .unwrap();
    }

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
