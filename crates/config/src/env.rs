//! `CARELOAD_*` environment overrides: one table, [`ENV_KEYS`], that both
//! applies them and documents them (the README's configuration table is
//! this table), and [`OTHER_VARIABLES`], the variables careload reads that
//! are not keys. Any other `CARELOAD_*` variable is refused.
//!
//! A numeric key's doc states the range `Config::validate` enforces as its
//! last `A–B`; a test holds the two to each other.

use std::path::PathBuf;
use std::str::FromStr;

use crate::{BulkLevel, Config, Drives, Error, Result, SourceKind};

/// One overridable key.
pub struct EnvKey {
    /// The environment variable.
    pub name: &'static str,
    /// The TOML key it overrides.
    pub key: &'static str,
    /// The built-in default, as written in TOML or the environment.
    pub default: &'static str,
    /// What it sets.
    pub doc: &'static str,
    apply: fn(&mut Config, &str) -> std::result::Result<(), String>,
}

fn parse<T: FromStr>(v: &str, what: &str) -> std::result::Result<T, String> {
    v.trim().parse::<T>().map_err(|_| format!("{v:?} is not {what}"))
}

fn qty(v: &str) -> std::result::Result<careload_scoring::Qty, String> {
    let f: f64 = parse(v, "a number of people, e.g. 0.5")?;
    careload_scoring::Qty::from_decimal(f).ok_or_else(|| format!("{v:?} has more than three decimals"))
}

fn points(v: &str) -> std::result::Result<careload_scoring::Points, String> {
    let f: f64 = parse(v, "a number of points, e.g. 1.5")?;
    careload_scoring::Points::from_decimal(f).ok_or_else(|| format!("{v:?} has more than three decimals"))
}

/// A decimal number (not NaN or infinite); its range is `Config::validate`'s.
fn share(v: &str) -> std::result::Result<f64, String> {
    let f: f64 = parse(v, "a decimal number, e.g. 0.7")?;
    if f.is_finite() {
        Ok(f)
    } else {
        Err(format!("{v:?} is not a number; write a decimal, e.g. 0.7"))
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn opt_path(v: &str) -> Option<PathBuf> {
    (!v.trim().is_empty()).then(|| PathBuf::from(v.trim()))
}

fn opt_string(v: &str) -> Option<String> {
    (!v.trim().is_empty()).then(|| v.trim().to_owned())
}

/// Every environment override.
pub const ENV_KEYS: &[EnvKey] = &[
    EnvKey {
        name: "CARELOAD_DATABASE_URL",
        key: "database.url",
        default: "sqlite://careload.db",
        doc: "History store: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB",
        apply: |c, v| {
            c.database.url = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_KIND",
        key: "source.kind",
        default: "sim",
        doc: "FHIR source: sim (built-in simulated hospital), fhir (REST API at source.url), bulk (Bulk Data $export at source.url), files (NDJSON or Bundle at source.path)",
        apply: |c, v| {
            c.source.kind = match v.trim() {
                "sim" => SourceKind::Sim,
                "fhir" => SourceKind::Fhir,
                "bulk" => SourceKind::Bulk,
                "files" => SourceKind::Files,
                _ => return Err(format!("{v:?} is not a source kind; write sim, fhir, bulk or files")),
            };
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_URL",
        key: "source.url",
        default: "",
        doc: "FHIR R4 base URL, e.g. https://fhir.example.se/r4",
        apply: |c, v| {
            c.source.url = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_PATH",
        key: "source.path",
        default: "",
        doc: "Directory of Bulk Data NDJSON files, or one Bundle JSON file",
        apply: |c, v| {
            c.source.path = PathBuf::from(v.trim());
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_TOKEN_ENV",
        key: "source.token_env",
        default: "",
        doc: "Name of the variable holding the FHIR server's bearer token (empty = none)",
        apply: |c, v| {
            c.source.token_env = opt_string(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_WARDS",
        key: "source.wards",
        default: "",
        doc: "Comma-separated ward ids to fetch (empty = every ward)",
        apply: |c, v| {
            c.source.wards = list(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_PAGE_SIZE",
        key: "source.page_size",
        default: "500",
        doc: "_count per search page, 10–1,000 (servers commonly cap it at 1,000)",
        apply: |c, v| {
            c.source.page_size = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_REQUEST_TIMEOUT_SECS",
        key: "source.request_timeout_secs",
        default: "30",
        doc: "Timeout per FHIR request, seconds: 1–600",
        apply: |c, v| {
            c.source.request_timeout_secs = parse(v, "a whole number of seconds")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_RUN_DEADLINE_SECS",
        key: "source.run_deadline_secs",
        default: "600",
        doc: "Deadline for a whole fetch (a run past it fails and keeps the last good hour), seconds: 10–3,600",
        apply: |c, v| {
            c.source.run_deadline_secs = parse(v, "a whole number of seconds")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_MAX_RETRIES",
        key: "source.max_retries",
        default: "4",
        doc: "Retries per request on 429/502/503/504 and connection errors: 0–10",
        apply: |c, v| {
            c.source.max_retries = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_CONCURRENCY",
        key: "source.concurrency",
        default: "4",
        doc: "FHIR searches in flight at once: 1–64",
        apply: |c, v| {
            c.source.concurrency = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_TRUSTED_ORIGINS",
        key: "source.trusted_origins",
        default: "",
        doc: "Comma-separated origins besides the base URL's that next links may lead to with the token",
        apply: |c, v| {
            c.source.trusted_origins = list(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SINCE_MARGIN_SECS",
        key: "source.since_margin_secs",
        default: "300",
        doc: "Incremental fetches start this many seconds before the FHIR server's own time at the previous fetch: 0–86,400",
        apply: |c, v| {
            c.source.since_margin_secs = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_MAPPING",
        key: "source.mapping",
        default: "",
        doc: "A region's code mapping file (TOML); empty = built-in defaults",
        apply: |c, v| {
            c.source.mapping = opt_path(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_PSEUDONYM_KEY_ENV",
        key: "source.pseudonym_key_env",
        default: "CARELOAD_PSEUDONYM_KEY",
        doc: "Name of the variable holding the secret pseudonym key",
        apply: |c, v| {
            c.source.pseudonym_key_env = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_INSECURE_DEV_KEY",
        key: "source.insecure_dev_key",
        default: "false",
        doc: "true: accept the PUBLIC development pseudonym key with a real source (test systems only; logged as an error)",
        apply: |c, v| {
            c.source.insecure_dev_key = parse(v, "true or false")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_BULK_LEVEL",
        key: "source.bulk_level",
        default: "system",
        doc: "Bulk Data export level: system ([base]/$export), patient ([base]/Patient/$export) or group ([base]/Group/ID/$export)",
        apply: |c, v| {
            c.source.bulk_level = v.parse::<BulkLevel>()?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_BULK_GROUP",
        key: "source.bulk_group",
        default: "",
        doc: "Bulk Data: the Group id when bulk_level = group",
        apply: |c, v| {
            c.source.bulk_group = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_BULK_POLL_SECS",
        key: "source.bulk_poll_secs",
        default: "2",
        doc: "Bulk Data: seconds between status polls when the server sends no Retry-After: 1–300",
        apply: |c, v| {
            c.source.bulk_poll_secs = parse(v, "a whole number of seconds")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_CLIENT_ID",
        key: "source.smart_client_id",
        default: "",
        doc: "SMART Backend Services client id (empty = no SMART auth)",
        apply: |c, v| {
            c.source.smart_client_id = opt_string(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_KEY_FILE",
        key: "source.smart_key_file",
        default: "",
        doc: "SMART: PEM file holding the private key (or use smart_key_env)",
        apply: |c, v| {
            c.source.smart_key_file = opt_path(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_KEY_ENV",
        key: "source.smart_key_env",
        default: "",
        doc: "SMART: name of the variable holding the private key as PEM (or use smart_key_file)",
        apply: |c, v| {
            c.source.smart_key_env = opt_string(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_ALGORITHM",
        key: "source.smart_algorithm",
        default: "RS384",
        doc: "SMART: client assertion signature, RS384 or ES384",
        apply: |c, v| {
            c.source.smart_algorithm = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_KEY_ID",
        key: "source.smart_key_id",
        default: "",
        doc: "SMART: the key id (kid) registered with the server's JWK set",
        apply: |c, v| {
            c.source.smart_key_id = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_SCOPE",
        key: "source.smart_scope",
        default: "system/*.rs",
        doc: "SMART: scopes asked for (system/*.rs for SMART v2, system/*.read for v1)",
        apply: |c, v| {
            c.source.smart_scope = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_SMART_TOKEN_URL",
        key: "source.smart_token_url",
        default: "",
        doc: "SMART: token endpoint (empty = discovered from [base]/.well-known/smart-configuration)",
        apply: |c, v| {
            c.source.smart_token_url = opt_string(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_CA_FILE",
        key: "source.ca_file",
        default: "",
        doc: "Extra CA certificates (PEM) trusted for https besides the system roots, e.g. a hospital-internal CA",
        apply: |c, v| {
            c.source.ca_file = opt_path(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_OFFSET_MINUTES",
        key: "source.offset_minutes",
        default: "0",
        doc: "Minutes after the schedule's firing at which the source's hourly run fires: 0–59",
        apply: |c, v| {
            c.source.offset_minutes = parse(v, "a whole number of minutes")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SOURCE_WARD_PREFIX",
        key: "source.ward_prefix",
        default: "",
        doc: "Prepended to every ward id the source's mapping produces, e.g. nord- (named sources, [sources.<id>], are set in the file only)",
        apply: |c, v| {
            c.source.ward_prefix = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SIM_BEDS",
        key: "sim.beds",
        default: "150",
        doc: "Simulated hospital: beds in total, at least 4 per ward: 24–100,000",
        apply: |c, v| {
            c.sim.beds = parse(v, "a whole number of beds")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SIM_WARDS",
        key: "sim.wards",
        default: "",
        doc: "Simulated hospital: wards (empty = one per 30 beds, at least 6), at most one per 4 beds: 1–25,000",
        apply: |c, v| {
            c.sim.wards = match v.trim() {
                "" => None,
                n => Some(parse(n, "a whole number of wards")?),
            };
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SIM_SEED",
        key: "sim.seed",
        default: "1",
        doc: "Simulated hospital: seed (same seed, same hospital), any whole number",
        apply: |c, v| {
            c.sim.seed = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SIM_LISTEN",
        key: "sim.listen",
        default: "127.0.0.1:0",
        doc: "Simulated hospital: where its FHIR API listens (port 0 = any free port)",
        apply: |c, v| {
            c.sim.listen = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCHEDULE_MINUTE",
        key: "schedule.minute",
        default: "5",
        doc: "Minute past each hour at which the hourly run starts: 0–59",
        apply: |c, v| {
            c.schedule.minute = parse(v, "a minute 0–59")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCHEDULE_CRON",
        key: "schedule.cron",
        default: "",
        doc: "Cron expression for the runs, 5 fields (minute hour day-of-month month day-of-week) in scoring.time_zone, e.g. \"5 * * * *\"; empty = schedule.minute",
        apply: |c, v| {
            c.schedule.cron = opt_string(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCHEDULE_RESYNC_HOUR",
        key: "schedule.resync_hour",
        default: "3",
        doc: "Local hour of the nightly full resync: 0–23",
        apply: |c, v| {
            c.schedule.resync_hour = parse(v, "an hour 0–23")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCHEDULE_BACKFILL_HOURS",
        key: "schedule.backfill_hours",
        default: "0",
        doc: "Hours of history to back-fill from the simulated hospital when the store is empty: 0–87,840 (ten years)",
        apply: |c, v| {
            c.schedule.backfill_hours = parse(v, "a whole number of hours")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCHEDULE_RUN_NICE",
        key: "schedule.run_nice",
        default: "10",
        doc: "The runs' CPU priority below the API's, a Unix nice value 0–19 (0 = the same; Linux only)",
        apply: |c, v| {
            c.schedule.run_nice = parse(v, "a nice value 0–19")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCORING_WEIGHTS",
        key: "scoring.weights",
        default: "",
        doc: "Weights file in force; empty = built-in weights/2026.1.toml",
        apply: |c, v| {
            c.scoring.weights = opt_path(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCORING_TIME_ZONE",
        key: "scoring.time_zone",
        default: "Europe/Stockholm",
        doc: "Hospital time zone (IANA), for shifts and hour-of-week",
        apply: |c, v| {
            c.scoring.time_zone = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_SCORING_FORECAST_HOURS",
        key: "scoring.forecast_hours",
        default: "8",
        doc: "Hours of forecast: 1–168 (a week, the longest window scored)",
        apply: |c, v| {
            c.scoring.forecast_hours = parse(v, "a whole number of hours")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_RETENTION_DAYS",
        key: "retention.days",
        default: "0",
        doc: "Days of hourly history kept: 0 = everything, else 7–36,500 (fewer would empty the ward screens' 5-day history)",
        apply: |c, v| {
            c.retention.days = parse(v, "a whole number of days")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_LOG_LEVEL",
        key: "log.level",
        default: "info",
        doc: "Log level on standard error: error, warn, info, debug, trace or off, or per crate as RUST_LOG takes it (info,careload_runner=debug); RUST_LOG, when set, wins",
        apply: |c, v| {
            c.log.level = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_THRESHOLDS_UNDERSTAFFED_PEOPLE",
        key: "planning.thresholds.understaffed_people",
        default: "0.5",
        doc: "A shift is understaffed when short by more than this many people: 0–20",
        apply: |c, v| {
            c.planning.thresholds.understaffed_people = qty(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_THRESHOLDS_SPARE_PEOPLE",
        key: "planning.thresholds.spare_people",
        default: "1",
        doc: "A shift has room to spare with at least this many people more than needed: 0–20",
        apply: |c, v| {
            c.planning.thresholds.spare_people = qty(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_THRESHOLDS_ABSENCE_MARGIN_PEOPLE",
        key: "planning.thresholds.absence_margin_people",
        default: "1",
        doc: "\"Absence need not be replaced\" when the need is below planned minus this many people: 0–20",
        apply: |c, v| {
            c.planning.thresholds.absence_margin_people = qty(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_BALANCE_MAX_MOVES",
        key: "planning.balance.max_moves",
        default: "3",
        doc: "Team balancing proposes at most this many moves: 0–20",
        apply: |c, v| {
            c.planning.balance.max_moves = parse(v, "a whole number of moves")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_BALANCE_KEEP_ROOMS_TOGETHER",
        key: "planning.balance.keep_rooms_together",
        default: "true",
        doc: "Team balancing moves whole rooms",
        apply: |c, v| {
            c.planning.balance.keep_rooms_together = parse(v, "true or false")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_BALANCE_TOLERANCE",
        key: "planning.balance.tolerance",
        default: "2",
        doc: "Teams within this many points per staff member of each other count as balanced: 0–100",
        apply: |c, v| {
            c.planning.balance.tolerance = points(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_BALANCE_ALLOW_STAFF_MOVE",
        key: "planning.balance.allow_staff_move",
        default: "false",
        doc: "Team balancing may propose moving one member of staff",
        apply: |c, v| {
            c.planning.balance.allow_staff_move = parse(v, "true or false")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_ADMISSION_USK_POINTS_PER_HOUR",
        key: "planning.admission.usk_points_per_hour",
        default: "1.5",
        doc: "USK points per hour assumed for the next admission (bed coordinator): 0–100",
        apply: |c, v| {
            c.planning.admission.usk_points_per_hour = points(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_PLANNING_ADMISSION_SSK_POINTS_PER_HOUR",
        key: "planning.admission.ssk_points_per_hour",
        default: "1.5",
        doc: "SSK points per hour assumed for the next admission (bed coordinator): 0–100",
        apply: |c, v| {
            c.planning.admission.ssk_points_per_hour = points(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_QUALITY_NORTON_MAX_AGE_DAYS",
        key: "quality.norton_max_age_days",
        default: "7",
        doc: "Documentation quality: a Norton assessment older than this many days counts as stale: 1–365",
        apply: |c, v| {
            c.quality.norton_max_age_days = parse(v, "a number of days, e.g. 7")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_QUALITY_GENERIC_CODES",
        key: "quality.generic_codes",
        default: "other,annat",
        doc: "Documentation quality: activity codes that say nothing specific (comma-separated)",
        apply: |c, v| {
            c.quality.generic_codes = list(v);
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_QUALITY_THIN_AFTER_HOURS",
        key: "quality.thin_after_hours",
        default: "24",
        doc: "Documentation quality: hours after admission from which thin documentation counts: 0–336",
        apply: |c, v| {
            c.quality.thin_after_hours = parse(v, "a number of hours, e.g. 24")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_WINDOW_WEEKS",
        key: "calibration.window_weeks",
        default: "8",
        doc: "Calibration: weeks of ratings the ward's optimal points per person is fitted over (at most api.max_range_days): 1–52",
        apply: |c, v| {
            c.calibration.window_weeks = parse(v, "a whole number of weeks, e.g. 8")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_MIN_RESPONSE_RATE",
        key: "calibration.min_response_rate",
        default: "0.7",
        doc: "Calibration: a ward's optimum is reliable only with at least this share of the staff present rating (RAFAELA: 70 %): 0–1",
        apply: |c, v| {
            c.calibration.min_response_rate = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_MIN_WEEKS",
        key: "calibration.min_weeks",
        default: "4",
        doc: "Calibration: reliable only with rated shifts in at least this many distinct weeks: 0–52",
        apply: |c, v| {
            c.calibration.min_weeks = parse(v, "a whole number of weeks, e.g. 4")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_MIN_SHIFTS",
        key: "calibration.min_shifts",
        default: "20",
        doc: "Calibration: reliable only with at least this many rated shifts: 0–10,000",
        apply: |c, v| {
            c.calibration.min_shifts = parse(v, "a whole number of shifts, e.g. 20")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_MIN_R_SQUARED",
        key: "calibration.min_r_squared",
        default: "0.1",
        doc: "Calibration: reliable only when points per person explain at least this share of the ratings' variation (R²): 0–1",
        apply: |c, v| {
            c.calibration.min_r_squared = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_MAX_RELATIVE_WIDTH",
        key: "calibration.max_relative_width",
        default: "0.5",
        doc: "Calibration: reliable only when the optimum's 95 % interval is at most this wide relative to the optimum: 0–10",
        apply: |c, v| {
            c.calibration.max_relative_width = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_DRIVES",
        key: "calibration.drives",
        default: "staff_hours",
        doc: "What drives the planning verdicts: staff_hours (the weights' staff-hour factors) or optimum (the ward's own optimal points per person when reliable, else the factors)",
        apply: |c, v| {
            c.calibration.drives = v.parse::<Drives>()?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_FIT_MIN_SCALE",
        key: "calibration.fit_min_scale",
        default: "0.25",
        doc: "careload weights fit: the lowest scale a component may be given, times the weights in force: 0–1",
        apply: |c, v| {
            c.calibration.fit_min_scale = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_CALIBRATION_FIT_MAX_SCALE",
        key: "calibration.fit_max_scale",
        default: "4",
        doc: "careload weights fit: the highest scale a component may be given, times the weights in force: 1–100",
        apply: |c, v| {
            c.calibration.fit_max_scale = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_FORECAST_RISK_LEVEL",
        key: "forecast.risk_level",
        default: "0.2",
        doc: "Forecast: people are added to a shift until its risk of understaffing is at most this (\"+1 USK ger 12 %\"), a probability: 0.01–0.5",
        apply: |c, v| {
            c.forecast.risk_level = share(v)?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_FORECAST_HISTORY_WEEKS",
        key: "forecast.history_weeks",
        default: "8",
        doc: "Forecast: weeks of stored hours the scheduled forecast's own past errors are learnt from: 4–26",
        apply: |c, v| {
            c.forecast.history_weeks = parse(v, "a whole number of weeks, e.g. 8")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_FORECAST_ENABLED",
        key: "forecast.enabled",
        default: "true",
        doc: "Forecast: false = the scheduled forecast alone, with no P10/P50/P90 or risk and nothing learnt (the page says so)",
        apply: |c, v| {
            c.forecast.enabled = parse(v, "true or false")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_LISTEN",
        key: "api.listen",
        default: "127.0.0.1:8080",
        doc: "Where the API and screens listen",
        apply: |c, v| {
            c.api.listen = v.trim().to_owned();
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_OPEN",
        key: "api.open",
        default: "false",
        doc: "true = no tokens needed (demo only; refused unless listening on loopback)",
        apply: |c, v| {
            c.api.open = parse(v, "true or false")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_STALE_AFTER_MINUTES",
        key: "api.stale_after_minutes",
        default: "90",
        doc: "Data older than this many minutes is flagged stale on screens and in the API: 15–10,080 (a week)",
        apply: |c, v| {
            c.api.stale_after_minutes = parse(v, "a whole number of minutes")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_MAX_RANGE_DAYS",
        key: "api.max_range_days",
        default: "400",
        doc: "Longest history range one request may ask for, days: 1–3,660",
        apply: |c, v| {
            c.api.max_range_days = parse(v, "a whole number of days")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_MAX_BODY_BYTES",
        key: "api.max_body_bytes",
        default: "65536",
        doc: "Largest request body, bytes: 1,024–67,108,864 (64 MiB)",
        apply: |c, v| {
            c.api.max_body_bytes = parse(v, "a whole number of bytes")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_MAX_CONNECTIONS",
        key: "api.max_connections",
        default: "1000",
        doc: "Most connections open at once (more are closed as they come; capped below the file-descriptor limit): 16–100,000",
        apply: |c, v| {
            c.api.max_connections = parse(v, "a whole number of connections")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_HEADER_READ_TIMEOUT_SECS",
        key: "api.header_read_timeout_secs",
        default: "10",
        doc: "Seconds a connection may take to send a request's headers or stay idle between requests: 1–300",
        apply: |c, v| {
            c.api.header_read_timeout_secs = parse(v, "a whole number of seconds")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_RATE_LIMIT_PER_MINUTE",
        key: "api.rate_limit_per_minute",
        default: "6000",
        doc: "Requests per minute per client address: 0 = unlimited, else 60–1,000,000",
        apply: |c, v| {
            c.api.rate_limit_per_minute = parse(v, "a whole number")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_WORKER_THREADS",
        key: "api.worker_threads",
        default: "1",
        doc: "Worker threads of the API's own runtime, apart from the hourly runs: 1–64",
        apply: |c, v| {
            c.api.worker_threads = parse(v, "a whole number of threads, e.g. 1")?;
            Ok(())
        },
    },
    EnvKey {
        name: "CARELOAD_API_CORS_ORIGINS",
        key: "api.cors_origins",
        default: "",
        doc: "Comma-separated origins allowed by CORS (empty = CORS off)",
        apply: |c, v| {
            c.api.cors_origins = list(v);
            Ok(())
        },
    },
];

/// Applies every variable of [`ENV_KEYS`] that `get` has; `applied` hears
/// of each.
pub(crate) fn apply(
    config: &mut Config,
    get: impl Fn(&str) -> Option<String>,
    mut applied: impl FnMut(&EnvKey),
) -> Result<()> {
    for k in ENV_KEYS {
        if let Some(value) = get(k.name) {
            (k.apply)(config, &value).map_err(|message| Error::Env {
                name: k.name.to_owned(),
                message,
            })?;
            applied(k);
        }
    }
    Ok(())
}

/// The `CARELOAD_*` variables careload reads that are not configuration
/// keys: the one allow-list. [`Config::load`](crate::Config::load) refuses
/// any other variable whose name starts with `CARELOAD_` (in any case)
/// unless it is a key's ([`ENV_KEYS`]) or the configuration names it
/// (`source.token_env`, `source.pseudonym_key_env`, `source.smart_key_env`,
/// the same keys of every `[sources.<id>]`,
/// `api.tokens[].secret_env`). A variable read anywhere in the workspace
/// belongs here, with who reads it.
pub const OTHER_VARIABLES: &[(&str, &str)] = &[
    (
        "CARELOAD_CONFIG",
        "the configuration file, as `--config` (crates/careload)",
    ),
    (
        "CARELOAD_PSEUDONYM_KEY",
        "the pseudonym key: `source.pseudonym_key_env`'s default and `careload score --pseudonym-key-env`'s",
    ),
    (
        "CARELOAD_BENCH_TOKEN",
        "the bearer token of `careload bench http`, as `--token`",
    ),
    (
        "CARELOAD_TEST_DATABASE_URL",
        "tests: the PostgreSQL database the store, API, export, runner and bench tests also run on",
    ),
    (
        "CARELOAD_BLESS",
        "tests: rewrite generated tables (this README table, the export schema)",
    ),
    ("CARELOAD_BIN", "deploy/load-hapi.sh: the careload binary to run"),
];

/// The prefix of careload's variables.
const PREFIX: &str = "CARELOAD_";

/// True when `name` is one of careload's (`CARELOAD_…`, in any case).
pub(crate) fn is_careload(name: &str) -> bool {
    name.get(..PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// Refuses the first of `names` that is careload's but that careload does
/// not read: not a key's, not in [`OTHER_VARIABLES`], not named by `config`.
pub(crate) fn refuse_unknown<N: AsRef<str>>(config: &Config, names: impl IntoIterator<Item = N>) -> Result<()> {
    let named = config_named(config);
    let known = || {
        ENV_KEYS
            .iter()
            .map(|k| k.name)
            .chain(OTHER_VARIABLES.iter().map(|(n, _)| *n))
            .chain(named.iter().map(String::as_str))
    };
    for name in names {
        let name = name.as_ref();
        if !is_careload(name) || known().any(|k| k == name) {
            continue;
        }
        let nearest = nearest(name, known()).map(str::to_owned);
        return Err(Error::UnknownEnv {
            name: name.to_owned(),
            nearest,
        });
    }
    Ok(())
}

/// The known variable nearest to `name`: a few letters apart (case
/// aside), or one a start of the other (`CARELOAD_PSEUDONYM` for
/// `CARELOAD_PSEUDONYM_KEY`); none when nothing is that near.
fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_uppercase();
    known
        .filter_map(|k| {
            let upper = k.to_ascii_uppercase();
            let d = distance(&name, &upper);
            let meaningful = |n: &str| n.len().saturating_sub(PREFIX.len());
            let near = d <= 3 && d * 4 <= meaningful(&upper);
            let (short, long) = if name.len() < upper.len() {
                (&name, &upper)
            } else {
                (&upper, &name)
            };
            let truncated = meaningful(short) >= 4 && long.starts_with(short.as_str());
            (near || truncated).then_some((d, k))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The variables `config` names for its secrets (every source's).
fn config_named(config: &Config) -> Vec<String> {
    let mut named = Vec::new();
    for (_, s) in config.sources() {
        named.push(s.pseudonym_key_env.clone());
        named.extend(s.token_env.iter().cloned());
        named.extend(s.smart_key_env.iter().cloned());
    }
    named.extend(config.api.tokens.iter().filter_map(|t| t.secret_env.clone()));
    named
}

/// Edit distance (insertions, deletions, substitutions) of two names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The configuration table of the README: key, variable, default, meaning.
pub fn markdown_table() -> String {
    let mut s = String::from("| key | environment variable | default | what it sets |\n|---|---|---|---|\n");
    for k in ENV_KEYS {
        let default = if k.default.is_empty() {
            "(none)".to_owned()
        } else {
            format!("`{}`", k.default)
        };
        s.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            k.key,
            k.name,
            default,
            k.doc.replace('|', "\\|")
        ));
    }
    s.push_str(
        "\nBesides these, careload reads the variables the configuration names for its secrets \
         (`source.token_env`, `source.pseudonym_key_env`, `source.smart_key_env`, the same keys of \
         every `[sources.<id>]`, \
         `api.tokens[].secret_env`) and:\n\n",
    );
    for (name, what) in OTHER_VARIABLES {
        s.push_str(&format!("* `{name}`: {what}\n"));
    }
    s.push_str(
        "\nAny other variable starting with `CARELOAD_` stops the start, naming the nearest known \
         variable: a misspelt variable is never ignored.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_defaults_are_the_defaults() {
        for k in ENV_KEYS {
            let mut c = Config::default();
            (k.apply)(&mut c, k.default).unwrap_or_else(|e| panic!("{}: {e}", k.name));
            assert_eq!(c, Config::default(), "{} documents default {:?}", k.name, k.default);
        }
    }

    #[test]
    fn every_variable_changes_its_key() {
        // Each variable, set to something other than its default, changes the config.
        for k in ENV_KEYS {
            let other = match k.default {
                "" if k.key == "sim.wards" => "7",
                "" => "x",
                "false" => "true",
                "true" => "false",
                "sim" => "files",
                "system" => "patient",
                "staff_hours" => "optimum",
                "7" => "8",
                d if d.parse::<u64>().is_ok() => "7",
                d if d.parse::<f64>().is_ok() => "7.25",
                _ => "other:1",
            };
            let mut c = Config::default();
            (k.apply)(&mut c, other).unwrap_or_else(|e| panic!("{}: {e}", k.name));
            assert_ne!(c, Config::default(), "{} = {other:?} changed nothing", k.name);
        }
    }

    #[test]
    fn names_follow_the_keys() {
        for k in ENV_KEYS {
            let expected = format!("CARELOAD_{}", k.key.replace('.', "_").to_uppercase());
            assert_eq!(k.name, expected);
        }
    }
}
