//! The configuration's layers and its refusals.

use careload_config::{Config, Error, Role, SourceKind};

#[test]
fn defaults_are_valid() {
    Config::default().validate().unwrap();
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    let text = r#"
[database]
url = "postgres://careload@db/careload"

[api]
listen = "0.0.0.0:8080"

[[api.tokens]]
name = "ward-7-screen"
role = "screen"
wards = ["AVD7"]
secret_env = "CARELOAD_TOKEN_WARD7"

[wards.AVD7]
name = "Avd 7 Medicin"
shifts = { day = "07:00", evening = "14:30", night = "21:15" }
"#;
    let mut c = Config::from_toml(text, "careload.toml").unwrap();
    assert_eq!(c.database.url, "postgres://careload@db/careload");
    assert_eq!(c.api.tokens[0].role, Role::Screen);
    assert_eq!(c.api.stale_after_minutes, 90, "an unset key keeps its default");
    c.apply_env(|name| (name == "CARELOAD_DATABASE_URL").then(|| "sqlite://other.db".to_owned()))
        .unwrap();
    assert_eq!(c.database.url, "sqlite://other.db");
    c.validate().unwrap();
    let plan = c.wards["AVD7"].shift_plan("AVD7").unwrap();
    let starts: Vec<String> = plan
        .shifts()
        .iter()
        .map(|s| s.start.format("%H:%M").to_string())
        .collect();
    assert_eq!(starts, ["07:00", "14:30", "21:15"]);
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let err = Config::from_toml("[api]\nlisten = \"127.0.0.1:1\"\nlsten = 3\n", "c.toml").unwrap_err();
    let Error::Parse { line, message, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*line, 3, "{err}");
    assert!(message.contains("lsten"), "{err}");
}

#[test]
fn bad_env_value_names_the_variable() {
    let mut c = Config::default();
    let err = c
        .apply_env(|name| (name == "CARELOAD_SIM_BEDS").then(|| "many".to_owned()))
        .unwrap_err();
    assert!(err.to_string().contains("CARELOAD_SIM_BEDS"), "{err}");
}

#[test]
fn refusals_name_the_key() {
    let cases: &[(&str, &str)] = &[
        ("[scoring]\ntime_zone = \"Europe/Stokholm\"\n", "scoring.time_zone"),
        ("[api]\nopen = true\nlisten = \"0.0.0.0:8080\"\n", "api.open"),
        ("[source]\nkind = \"fhir\"\n", "source.url"),
        ("[source]\nkind = \"files\"\n", "source.path"),
        ("[schedule]\nminute = 60\n", "schedule.minute"),
        ("[api]\nworker_threads = 0\n", "api.worker_threads"),
        ("[api]\nworker_threads = 65\n", "api.worker_threads"),
        ("[wards.A]\nshifts = { day = \"7\" }\n", "wards.A.shifts.day"),
        (
            "[wards.A]\nshifts = { day = \"07:00\", late = \"07:00\" }\n",
            "wards.A.shifts",
        ),
        (
            "[[api.tokens]]\nname = \"s\"\nrole = \"screen\"\nwards = [\"A\"]\n",
            "api.tokens[0]",
        ),
        (
            "[[api.tokens]]\nname = \"s\"\nrole = \"screen\"\nsecret_env = \"X\"\n",
            "api.tokens[0]",
        ),
    ];
    for (text, key) in cases {
        let c = Config::from_toml(text, "c.toml").unwrap();
        let err = c.validate().unwrap_err();
        match &err {
            Error::Invalid { key: k, .. } => assert_eq!(k, key, "{text}: {err}"),
            other => panic!("{text}: {other}"),
        }
    }
}

#[test]
fn source_kind_parses() {
    let c = Config::from_toml("[source]\nkind = \"files\"\npath = \"x\"\n", "c").unwrap();
    assert_eq!(c.source.kind, SourceKind::Files);
    assert!(Config::from_toml("[source]\nkind = \"ftp\"\n", "c").is_err());
}

#[test]
fn the_example_file_lists_exactly_the_defaults() {
    let text = include_str!("../../../config/careload.toml");
    let c = Config::from_toml(text, "config/careload.toml").unwrap();
    assert_eq!(
        c,
        Config::default(),
        "config/careload.toml and the built-in defaults differ"
    );
}

#[test]
fn the_compose_file_is_valid() {
    let text = include_str!("../../../config/compose.toml");
    let c = Config::from_toml(text, "config/compose.toml").unwrap();
    c.validate().unwrap();
    assert_eq!(c.api.tokens.len(), 2);
}

/// The README's configuration table is generated from `ENV_KEYS`; run with
/// `CARELOAD_BLESS=1` to rewrite it after changing a key.
#[test]
fn the_readme_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (start, end) = ("<!-- config-table:start -->\n", "<!-- config-table:end -->");
    let a = readme.find(start).expect("README lacks the config-table:start marker") + start.len();
    let b = readme.find(end).expect("README lacks the config-table:end marker");
    let table = careload_config::markdown_table();
    if readme[a..b] != table {
        if std::env::var_os("CARELOAD_BLESS").is_some() {
            std::fs::write(path, format!("{}{}{}", &readme[..a], table, &readme[b..])).unwrap();
        } else {
            panic!("README's configuration table is out of date; run CARELOAD_BLESS=1 cargo test -p careload-config");
        }
    }
}

#[test]
fn bulk_smart_tls_and_cron_keys_are_checked_with_their_key_named() {
    let load = |text: &str| Config::from_toml(text, "t.toml").unwrap().validate();
    let e = load("[source]\nkind = \"bulk\"\n").unwrap_err().to_string();
    assert!(e.contains("source.url"), "{e}");
    let ok = "[source]\nkind = \"bulk\"\nurl = \"https://ehr.example/r4\"\n";
    load(ok).unwrap();
    let e = load(&format!("{ok}bulk_level = \"group\"\n")).unwrap_err().to_string();
    assert!(e.contains("source.bulk_group"), "{e}");
    let e = load(&format!("{ok}bulk_level = \"ward\"\n")).unwrap_err().to_string();
    assert!(e.contains("system, patient or group"), "{e}");
    let e = load(&format!("{ok}smart_client_id = \"c\"\n")).unwrap_err().to_string();
    assert!(
        e.contains("exactly one of source.smart_key_file or source.smart_key_env"),
        "{e}"
    );
    let e = load(&format!(
        "{ok}smart_client_id = \"c\"\nsmart_key_env = \"K\"\nsmart_algorithm = \"HS256\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("RS384 or ES384"), "{e}");
    let e = load(&format!(
        "{ok}smart_client_id = \"c\"\nsmart_key_env = \"K\"\ntoken_env = \"T\"\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("use one"), "{e}");
    load(&format!("{ok}smart_client_id = \"c\"\nsmart_key_env = \"K\"\n")).unwrap();
    let e = load(&format!("{ok}ca_file = \"/surely/not/here.pem\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("source.ca_file") && e.contains("/surely/not/here.pem"),
        "{e}"
    );

    load(&format!(
        "{ok}trusted_origins = [\"https://fhir-proxy.example:8443\"]\n"
    ))
    .unwrap();
    let e = load(&format!("{ok}trusted_origins = [\"fhir-proxy.example/r4\"]\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("source.trusted_origins") && e.contains("scheme://host"),
        "{e}"
    );
    let e = load(&format!("{ok}since_margin_secs = 100000\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("source.since_margin_secs"), "{e}");

    load("[schedule]\ncron = \"*/15 6-22 * * *\"\n").unwrap();
    let e = load("[schedule]\ncron = \"0 5 * * * *\"\n").unwrap_err().to_string();
    assert!(e.contains("schedule.cron") && e.contains("6 fields"), "{e}");
    let e = load("[schedule]\ncron = \"5 25 * * *\"\n").unwrap_err().to_string();
    assert!(
        e.contains("schedule.cron") && e.contains("not a cron expression"),
        "{e}"
    );
    let e = load("[schedule]\ncron = \"10 * * * *\"\nminute = 10\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("set one"), "{e}");
}

#[test]
fn a_database_password_is_never_shown() {
    use careload_config::redacted_url;
    assert_eq!(
        redacted_url("postgres://careload:s3cret@db.example:5432/careload"),
        "postgres://careload:***@db.example:5432/careload"
    );
    assert_eq!(
        redacted_url("postgres://careload:p@ss@db/careload?sslmode=require&password=s3cret"),
        "postgres://careload:***@db/careload?sslmode=require&password=***"
    );
    assert_eq!(
        redacted_url("postgres://careload@db/careload"),
        "postgres://careload@db/careload"
    );
    assert_eq!(
        redacted_url("sqlite://careload.db?mode=rwc"),
        "sqlite://careload.db?mode=rwc"
    );
    let mut c = Config::default();
    c.database.url = "postgres://careload:s3cret@db/careload".into();
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("s3cret") && debug.contains("careload:***@db"),
        "{debug}"
    );
}
