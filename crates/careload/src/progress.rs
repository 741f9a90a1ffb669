//! How a back-fill's progress is shown: the runner tells it
//! ([`careload_runner::Progress`], through [`Runner::backfill_with`]'s
//! callback) and [`Shown`] shows it, as a bar with the hour, the rate and
//! the time left when standard error is a terminal, else as one log line
//! per tenth ([`Tenths`]): `back-fill: 12 of 120 hours (10 %), 3.1 h/s,
//! about 35 s left`.
//!
//! [`Runner::backfill_with`]: careload_runner::Runner::backfill_with

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use careload_runner::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::logs;

/// The plain report: a line each time the back-fill passes a tenth of its
/// hours (at most ten lines, the last at 100 %).
#[derive(Debug, Default)]
pub(crate) struct Tenths {
    /// The last tenth a line was given for.
    told: u32,
}

impl Tenths {
    /// The line for `p`, `elapsed` after the back-fill started, if it
    /// passed a tenth since the last line.
    pub(crate) fn line(&mut self, p: Progress, elapsed: Duration) -> Option<String> {
        if p.total == 0 || p.done == 0 {
            return None;
        }
        let tenth = u64::from(p.done) * 10 / u64::from(p.total);
        let tenth = u32::try_from(tenth).unwrap_or(u32::MAX);
        if tenth <= self.told {
            return None;
        }
        self.told = tenth;
        let percent = u64::from(p.done) * 100 / u64::from(p.total);
        let rate = f64::from(p.done) / elapsed.as_secs_f64().max(0.001);
        let mut line = format!(
            "back-fill: {} of {} hours ({percent} %), {rate:.1} h/s",
            p.done, p.total
        );
        if p.done < p.total {
            let left = f64::from(p.total - p.done) / rate;
            let _ = write!(line, ", about {} left", duration(left));
        }
        if p.failed > 0 {
            let _ = write!(line, ", {} failed", p.failed);
        }
        Some(line)
    }
}

/// Seconds as `35 s`, `4 min` or `2 h 5 min`.
fn duration(secs: f64) -> String {
    let secs = secs.round().max(0.0) as u64;
    match secs {
        0..90 => format!("{secs} s"),
        90..5400 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600 + 30) / 60),
    }
}

/// Shows a back-fill's progress: [`Shown::tell`] is the runner's callback,
/// [`Shown::finish`] clears the bar.
pub(crate) enum Shown {
    /// Standard error is a terminal: a bar, made at the first report.
    Bar(Option<ProgressBar>),
    /// Otherwise: a log line per tenth.
    Lines {
        /// The lines given so far.
        tenths: Tenths,
        /// When the back-fill started.
        started: Instant,
    },
}

impl Shown {
    /// A bar if `terminal`, else lines.
    pub(crate) fn new(terminal: bool) -> Shown {
        if terminal {
            Shown::Bar(None)
        } else {
            Shown::Lines {
                tenths: Tenths::default(),
                started: Instant::now(),
            }
        }
    }

    /// Shows `p`.
    pub(crate) fn tell(&mut self, p: Progress) {
        match self {
            Shown::Bar(bar) => {
                let bar = bar.get_or_insert_with(|| {
                    let bar = ProgressBar::with_draw_target(Some(u64::from(p.total)), ProgressDrawTarget::stderr());
                    bar.set_style(bar_style());
                    logs::show_bar(Some(bar.clone()));
                    bar
                });
                if p.failed > 0 {
                    bar.set_message(format!(", {} failed", p.failed));
                }
                bar.set_position(u64::from(p.done));
            }
            Shown::Lines { tenths, started } => {
                if let Some(line) = tenths.line(p, started.elapsed()) {
                    // a line of its own, not one of the back-fill span's
                    tracing::info!(parent: None, "{line}");
                }
            }
        }
    }

    /// Clears the bar, if one was shown (the caller prints the summary).
    pub(crate) fn finish(self) {
        drop(self);
    }
}

impl Drop for Shown {
    /// Clears the bar also when the back-fill is dropped half-way (Ctrl-C
    /// during `serve`'s back-fill), so that no later log line redraws it.
    fn drop(&mut self) {
        if let Shown::Bar(Some(bar)) = self {
            logs::show_bar(None);
            bar.finish_and_clear();
        }
    }
}

/// `hour 12 of 120 [=====>     ] 3.1 h/s, about 35s left`.
fn bar_style() -> ProgressStyle {
    let rate = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.1} h/s", state.per_sec());
    };
    ProgressStyle::with_template("hour {pos} of {len} [{bar:30}] {rate}, about {eta} left{msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", rate)
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u32, total: u32) -> Progress {
        Progress { done, total, failed: 0 }
    }

    /// The lines for a back-fill of `total` hours, one hour every 0.3 s.
    fn lines(total: u32) -> Vec<String> {
        let mut tenths = Tenths::default();
        (0..=total)
            .filter_map(|done| tenths.line(progress(done, total), Duration::from_millis(300 * u64::from(done))))
            .collect()
    }

    #[test]
    fn a_hundred_and_twenty_hours_give_a_line_per_tenth_with_the_numbers_right() {
        let lines = lines(120);
        let expected: Vec<String> = (1..=10)
            .map(|t| {
                let done = 12 * t;
                // 0.3 s an hour: the hours left times 0.3, rounded
                let left = [32, 29, 25, 22, 18, 14, 11, 7, 4];
                if done < 120 {
                    format!(
                        "back-fill: {done} of 120 hours ({} %), 3.3 h/s, about {} s left",
                        10 * t,
                        left[t as usize - 1]
                    )
                } else {
                    "back-fill: 120 of 120 hours (100 %), 3.3 h/s".to_owned()
                }
            })
            .collect();
        assert_eq!(lines, expected);
        assert_eq!(lines[0], "back-fill: 12 of 120 hours (10 %), 3.3 h/s, about 32 s left");
        assert_eq!(lines[4], "back-fill: 60 of 120 hours (50 %), 3.3 h/s, about 18 s left");
    }

    #[test]
    fn any_length_gives_at_most_ten_lines_rising_to_all_hours() {
        for total in [1, 3, 7, 10, 11, 19, 99, 120, 121, 1000, 87_840] {
            let mut tenths = Tenths::default();
            let told: Vec<(u32, String)> = (0..=total)
                .filter_map(|done| {
                    tenths
                        .line(progress(done, total), Duration::from_secs(u64::from(done)))
                        .map(|l| (done, l))
                })
                .collect();
            assert!((1..=10).contains(&told.len()), "{total}: {told:?}");
            assert!(told.windows(2).all(|w| w[0].0 < w[1].0), "{total}: {told:?}");
            let (last_done, last) = told.last().unwrap();
            assert_eq!(*last_done, total);
            assert!(
                last.starts_with(&format!("back-fill: {total} of {total} hours (100 %)")),
                "{last}"
            );
        }
        // nothing to do, or nothing done yet: no line
        assert_eq!(Tenths::default().line(progress(0, 0), Duration::ZERO), None);
        assert_eq!(Tenths::default().line(progress(0, 120), Duration::ZERO), None);
    }

    #[test]
    fn failed_hours_are_told() {
        let mut tenths = Tenths::default();
        let p = Progress {
            done: 60,
            total: 120,
            failed: 2,
        };
        let line = tenths.line(p, Duration::from_secs(20)).unwrap();
        assert_eq!(
            line,
            "back-fill: 60 of 120 hours (50 %), 3.0 h/s, about 20 s left, 2 failed"
        );
    }

    #[test]
    fn durations_read_as_seconds_minutes_or_hours() {
        assert_eq!(duration(0.2), "0 s");
        assert_eq!(duration(35.4), "35 s");
        assert_eq!(duration(89.0), "89 s");
        assert_eq!(duration(90.0), "2 min");
        assert_eq!(duration(3599.0), "60 min");
        assert_eq!(duration(5400.0), "1 h 30 min");
        assert_eq!(duration(7500.0), "2 h 5 min");
    }
}
