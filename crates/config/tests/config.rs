//! The configuration's layers and its refusals.

use careload_config::{BulkLevel, Config, Error, Origin, Role, SourceKind};

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
teams = { "AVD7-a" = "Lag A" }
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
    assert_eq!(c.wards["AVD7"].team_name("AVD7-a"), Some("Lag A"));
    assert_eq!(c.wards["AVD7"].team_name("AVD7-b"), None);
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
        ("[wards.A.teams]\nA-a = \" \"\n", "wards.A.teams.A-a"),
        (
            "[wards.A.teams]\nA-a = \"Lag A\"\nA-b = \"lag a\"\n",
            "wards.A.teams.A-b",
        ),
        (
            "[[api.tokens]]\nname = \"s\"\nrole = \"screen\"\nwards = [\"A\"]\n",
            "api.tokens[0]",
        ),
        (
            "[[api.tokens]]\nname = \"s\"\nrole = \"screen\"\nsecret_env = \"X\"\n",
            "api.tokens[0]",
        ),
        (
            "[[api.tokens]]\nname = \"r\"\nrole = \"rater\"\nsecret_env = \"X\"\n",
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
fn a_rater_token_is_scoped_to_its_wards() {
    let text = "[[api.tokens]]\nname = \"avd7-bedomning\"\nrole = \"rater\"\nwards = [\"AVD7\"]\nsecret_env = \"T\"\n";
    let c = Config::from_toml(text, "c.toml").unwrap();
    c.validate().unwrap();
    assert_eq!(c.api.tokens[0].role, Role::Rater);
    assert_eq!(c.api.tokens[0].wards, ["AVD7"]);
    let err = Config::from_toml(&text.replace("wards = [\"AVD7\"]\n", ""), "c.toml")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("rater token \"avd7-bedomning\" lists no wards"),
        "{err}"
    );
}

#[test]
fn hospitals_group_departments_and_scope_tokens() {
    let text = "[hospitals.uas]\nname = \"Akademiska sjukhuset\"\n[hospitals.enk]\n\
                [departments.med]\nhospital = \"uas\"\n[departments.kir]\nhospital = \"uas\"\n\
                [departments.ger]\nhospital = \"enk\"\n[departments.rest]\n\
                [wards.w1]\ndepartment = \"med\"\n[wards.w2]\ndepartment = \"kir\"\n[wards.w3]\ndepartment = \"ger\"\n\
                [wards.w4]\ndepartment = \"rest\"\n[wards.w5]\n\
                [[api.tokens]]\nname = \"uas-screen\"\nrole = \"screen\"\nhospitals = [\"uas\"]\nsecret_env = \"T\"\n\
                [[api.tokens]]\nname = \"mixed-screen\"\nrole = \"rater\"\nhospitals = [\"enk\"]\ndepartments = [\"rest\"]\n\
                wards = [\"w1\"]\nsecret_env = \"U\"\n";
    let c = Config::from_toml(text, "c.toml").unwrap();
    c.validate().unwrap();
    // a hospital's wards are its departments' wards
    assert_eq!(c.hospital_wards("uas"), ["w1", "w2"]);
    assert_eq!(c.hospital_wards("enk"), ["w3"]);
    assert_eq!(c.hospital_departments("uas"), ["kir", "med"]);
    assert_eq!(c.hospital_of("w2"), Some("uas"));
    assert_eq!(c.hospital_of("w4"), None, "a department of no hospital");
    assert_eq!(c.hospital_of("w5"), None, "a ward of no department");
    assert_eq!(c.hospital_of("nowhere"), None);
    assert_eq!(c.hospital_name("uas"), "Akademiska sjukhuset");
    assert_eq!(c.hospital_name("enk"), "enk", "no name: the id");
    // a token covers every ward of its hospitals, besides its departments' and wards
    assert_eq!(c.token_wards(&c.api.tokens[0]), ["w1", "w2"]);
    assert_eq!(c.token_wards(&c.api.tokens[1]), ["w1", "w3", "w4"]);

    // a department naming an undeclared hospital: refused at its key, with what is declared
    let e = Config::from_toml(&text.replace("hospital = \"enk\"", "hospital = \"enkoping\""), "c.toml")
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("departments.ger.hospital") && e.contains("\"enkoping\" is not declared") && e.contains("enk, uas"),
        "{e}"
    );
    // with no hospital declared at all
    let e = Config::from_toml("[departments.med]\nhospital = \"uas\"\n", "c.toml")
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("departments.med.hospital") && e.contains("none declared"),
        "{e}"
    );
    // a token naming one
    let e = Config::from_toml(
        &text.replace("hospitals = [\"uas\"]", "hospitals = [\"akademiska\"]"),
        "c.toml",
    )
    .unwrap()
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("api.tokens[0]") && e.contains("hospital \"akademiska\" is not declared") && e.contains("enk, uas"),
        "{e}"
    );
    // an empty display name
    let e = Config::from_toml(
        &text.replace("name = \"Akademiska sjukhuset\"", "name = \"\""),
        "c.toml",
    )
    .unwrap()
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("hospitals.uas.name"), "{e}");
    // an unknown key in a hospital's table, at its line; a ward names no hospital itself
    let err = Config::from_toml("[hospitals.uas]\nnamn = \"x\"\n", "c.toml").unwrap_err();
    assert!(err.to_string().contains("namn"), "{err}");
    let err = Config::from_toml("[wards.w1]\nhospital = \"uas\"\n", "c.toml").unwrap_err();
    assert!(err.to_string().contains("hospital"), "{err}");
}

#[test]
fn a_ward_scoped_token_naming_a_hospital_or_department_of_no_ward_is_refused() {
    // a hospital no department names: the token would cover no ward and be refused everywhere
    let base = "[hospitals.uas]\n[hospitals.empty]\n[departments.med]\nhospital = \"uas\"\n\
                [wards.w1]\ndepartment = \"med\"\n";
    let token = |role: &str, scope: &str| {
        format!("{base}[[api.tokens]]\nname = \"t\"\nrole = \"{role}\"\n{scope}\nsecret_env = \"T\"\n")
    };
    let refused = |text: &str| {
        Config::from_toml(text, "c.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
    };
    let e = refused(&token("screen", "hospitals = [\"empty\"]"));
    assert!(
        e.contains("api.tokens[0]")
            && e.contains("hospital \"empty\" covers no ward")
            && e.contains("no department names it"),
        "{e}"
    );
    // also beside wards it does cover, and for a rater token
    let e = refused(&token("rater", "wards = [\"w1\"]\nhospitals = [\"uas\", \"empty\"]"));
    assert!(
        e.contains("api.tokens[0]") && e.contains("rater token \"t\": hospital \"empty\""),
        "{e}"
    );
    // a hospital whose departments have no ward
    let text = token("screen", "hospitals = [\"empty\"]").replace(
        "[departments.med]",
        "[departments.idle]\nhospital = \"empty\"\n[departments.med]",
    );
    let e = refused(&text);
    assert!(
        e.contains("hospital \"empty\" covers no ward") && e.contains("no ward names its departments (idle)"),
        "{e}"
    );
    // a department no ward names
    let text = token("screen", "departments = [\"idle\"]")
        .replace("[departments.med]", "[departments.idle]\n[departments.med]");
    let e = refused(&text);
    assert!(
        e.contains("api.tokens[0]")
            && e.contains("department \"idle\" covers no ward")
            && e.contains("no ward names it"),
        "{e}"
    );
    // the same declarations are fine for a token that names the hospital with wards
    let c = Config::from_toml(&token("screen", "hospitals = [\"uas\"]"), "c.toml").unwrap();
    c.validate().unwrap();
    assert_eq!(c.token_wards(&c.api.tokens[0]), ["w1"]);
}

#[test]
fn departments_group_wards_and_scope_tokens() {
    let text = "[departments.med]\nname = \"Medicinkliniken\"\n[departments.kir]\n\
                [wards.w1]\ndepartment = \"med\"\n[wards.w2]\ndepartment = \"med\"\n[wards.w3]\ndepartment = \"kir\"\n[wards.w4]\n\
                [[api.tokens]]\nname = \"med-screen\"\nrole = \"screen\"\ndepartments = [\"med\"]\nwards = [\"w4\"]\nsecret_env = \"T\"\n";
    let c = Config::from_toml(text, "c.toml").unwrap();
    c.validate().unwrap();
    assert_eq!(c.department_wards("med"), ["w1", "w2"]);
    assert_eq!(c.department_of("w3"), Some("kir"));
    assert_eq!(c.department_of("w4"), None);
    assert_eq!(c.department_name("med"), "Medicinkliniken");
    assert_eq!(c.department_name("kir"), "kir");
    // the token covers its wards and every ward of its departments
    assert_eq!(c.token_wards(&c.api.tokens[0]), ["w1", "w2", "w4"]);
    // a department alone is enough for a screen token
    let c = Config::from_toml(&text.replace("wards = [\"w4\"]\n", ""), "c.toml").unwrap();
    c.validate().unwrap();

    // a ward naming an undeclared department: refused with the key and what is declared
    let e = Config::from_toml(
        &text.replace("department = \"kir\"", "department = \"kirurgi\""),
        "c.toml",
    )
    .unwrap()
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("wards.w3.department") && e.contains("\"kirurgi\" is not declared") && e.contains("kir, med"),
        "{e}"
    );
    // a token naming one
    let e = Config::from_toml(
        &text.replace("departments = [\"med\"]", "departments = [\"medicin\"]"),
        "c.toml",
    )
    .unwrap()
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("api.tokens[0]") && e.contains("\"medicin\" is not declared"),
        "{e}"
    );
    // an empty display name
    let e = Config::from_toml(&text.replace("name = \"Medicinkliniken\"", "name = \" \""), "c.toml")
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("departments.med.name"), "{e}");
    // an unknown key in a department's table, at its line
    let err = Config::from_toml("[departments.med]\nnamn = \"x\"\n", "c.toml").unwrap_err();
    assert!(err.to_string().contains("namn"), "{err}");
}

#[test]
fn source_kind_parses() {
    let c = Config::from_toml("[source]\nkind = \"files\"\npath = \"x\"\n", "c").unwrap();
    assert_eq!(c.source.kind, SourceKind::Files);
    assert!(Config::from_toml("[source]\nkind = \"ftp\"\n", "c").is_err());
}

#[test]
fn bulk_level_parses_from_toml_and_env() {
    for (text, level) in [
        ("system", BulkLevel::System),
        ("patient", BulkLevel::Patient),
        ("group", BulkLevel::Group),
    ] {
        let c = Config::from_toml(&format!("[source]\nbulk_level = \"{text}\"\n"), "c").unwrap();
        assert_eq!(c.source.bulk_level, level);
        let mut c = Config::default();
        c.apply_env(|name| (name == "CARELOAD_SOURCE_BULK_LEVEL").then(|| format!(" {text} ")))
            .unwrap();
        assert_eq!(c.source.bulk_level, level);
        assert_eq!(level.as_str(), text);
    }
    assert_eq!(Config::default().source.bulk_level, BulkLevel::System);
}

#[test]
fn a_bad_bulk_level_names_the_allowed_values() {
    let e = Config::from_toml("[source]\nbulk_level = \"Group\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"Group\" is not a Bulk Data level; write system, patient or group"),
        "{e}"
    );
    assert!(e.contains("c.toml:2"), "{e}");
    let mut c = Config::default();
    let e = c
        .apply_env(|name| (name == "CARELOAD_SOURCE_BULK_LEVEL").then(|| "ward".to_owned()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("CARELOAD_SOURCE_BULK_LEVEL"), "{e}");
    assert!(
        e.contains("\"ward\" is not a Bulk Data level; write system, patient or group"),
        "{e}"
    );
    assert_eq!(
        c.source.bulk_level,
        BulkLevel::System,
        "a refused value changes nothing"
    );
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
    // an unknown level is refused as the file is parsed, with its line
    let e = Config::from_toml(&format!("{ok}bulk_level = \"ward\"\n"), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("system, patient or group"), "{e}");
    assert!(e.contains("t.toml:4"), "{e}");
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

/// A config file written for one test, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("careload-config-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempFile(path)
    }

    fn load(&self, vars: &[(&str, &str)]) -> Result<Config, Error> {
        Config::load_with(Some(&self.0), vars.iter().copied())
    }

    fn at(&self, line: usize) -> String {
        format!("{}:{line}: ", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn refusals_name_the_file_and_line_or_the_variable() {
    // a value from the file: the file and the line of its key
    let f = TempFile::new(
        "tz",
        "[source]\npage_size = 500\n\n[scoring]\ntime_zone = \"Europe/Stokholm\"\n",
    );
    let err = f.load(&[]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidAt { key, origin: Origin::File { line: 5, .. }, .. } if key == "scoring.time_zone"),
        "{err:?}"
    );
    let e = err.to_string();
    assert!(e.starts_with(&f.at(5)), "{e}");
    assert!(
        e.contains("scoring.time_zone") && e.contains("\"Europe/Stockholm\""),
        "{e}"
    );

    let f = TempFile::new("shift", "[wards.A]\nname = \"A\"\nshifts = { day = \"7\" }\n");
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(e.starts_with(&f.at(3)) && e.contains("wards.A.shifts.day"), "{e}");

    let f = TempFile::new("plan", "[wards.A.shifts]\nday = \"07:00\"\nlate = \"07:00\"\n");
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(e.starts_with(&f.at(1)) && e.contains("wards.A.shifts"), "{e}");

    // a table of an array: the line of its header
    let f = TempFile::new(
        "token",
        "[api]\nlisten = \"127.0.0.1:8080\"\n\n[[api.tokens]]\nname = \"a\"\nrole = \"admin\"\nsecret_env = \"CARELOAD_TOKEN_A\"\n\n[[api.tokens]]\nname = \"s\"\nrole = \"screen\"\nsecret_env = \"CARELOAD_TOKEN_S\"\n",
    );
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(
        e.starts_with(&f.at(9)) && e.contains("api.tokens[1]") && e.contains("wards"),
        "{e}"
    );

    // a missing value blamed on the key that asks for it
    let f = TempFile::new("kind", "[source]\n\nkind = \"fhir\"\n");
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(e.starts_with(&f.at(3)) && e.contains("source.url"), "{e}");

    // a value from the environment: the variable, also over a good file value
    let f = TempFile::new("envtz", "[scoring]\ntime_zone = \"Europe/Stockholm\"\n");
    let e = f
        .load(&[("CARELOAD_SCORING_TIME_ZONE", "Europe/Stokholm")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("environment variable CARELOAD_SCORING_TIME_ZONE") && e.contains("scoring.time_zone"),
        "{e}"
    );
    assert!(!e.contains(&f.0.display().to_string()), "{e}");
    let e = Config::load_with(None, [("CARELOAD_SCHEDULE_RESYNC_HOUR", "24")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("environment variable CARELOAD_SCHEDULE_RESYNC_HOUR"), "{e}");
}

#[test]
fn the_values_that_broke_runs_are_refused_with_their_range() {
    let cases: &[(&str, &str)] = &[
        ("[source]\nrequest_timeout_secs = 0\n", "source.request_timeout_secs"),
        ("[source]\npage_size = 0\n", "source.page_size"),
        ("[source]\nconcurrency = 0\n", "source.concurrency"),
        ("[api]\nmax_body_bytes = 0\n", "api.max_body_bytes"),
        ("[api]\nmax_range_days = 0\n", "api.max_range_days"),
        ("[scoring]\nforecast_hours = 0\n", "scoring.forecast_hours"),
        ("[scoring]\nforecast_hours = 100000\n", "scoring.forecast_hours"),
        ("[source]\nbulk_poll_secs = 0\n", "source.bulk_poll_secs"),
        ("[sim]\nbeds = 0\n", "sim.beds"),
        ("[sim]\nbeds = 40\nwards = 20\n", "sim.beds"),
        ("[wards.A]\nbeds = 0\n", "wards.A.beds"),
    ];
    for (text, key) in cases {
        let err = Config::from_toml(text, "c.toml").unwrap().validate().unwrap_err();
        match &err {
            Error::Invalid { key: k, message } => {
                assert_eq!(k, key, "{text}: {err}");
                assert!(message.contains("e.g."), "{text}: no example in {err}");
            }
            other => panic!("{text}: {other}"),
        }
    }
}

#[test]
fn two_tokens_may_not_share_a_name_or_a_secret() {
    let token = |name: &str, secret: &str| format!("[[api.tokens]]\nname = \"{name}\"\nrole = \"admin\"\n{secret}\n");
    let load = |text: String| Config::from_toml(&text, "c.toml").unwrap().validate();
    load(token("a", "secret_env = \"A\"") + &token("b", "secret_env = \"B\"")).unwrap();
    for (text, what) in [
        (
            token("a", "secret_env = \"A\"") + &token("a", "secret_env = \"B\""),
            "name",
        ),
        (
            token("a", "secret_env = \"A\"") + &token("b", "secret_env = \"A\""),
            "secret_env",
        ),
        (
            token("a", "secret_file = \"/run/s\"") + &token("b", "secret_file = \"/run/s\""),
            "secret_file",
        ),
    ] {
        let err = load(text.clone()).unwrap_err();
        match &err {
            Error::Invalid { key, message } => {
                assert_eq!(key, "api.tokens[1]", "{text}: {err}");
                assert!(
                    message.contains(what) && message.contains("api.tokens[0]"),
                    "{text}: {err}"
                );
            }
            other => panic!("{text}: {other}"),
        }
    }
    // nor a secret of the source's
    let e = load(token("a", "secret_env = \"CARELOAD_PSEUDONYM_KEY\""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("api.tokens[0]") && e.contains("pseudonym_key_env"), "{e}");
}

/// The range each numeric key's documentation states is the range
/// `validate` enforces: both ends pass, one past either end is refused.
#[test]
fn every_numeric_key_documents_the_range_it_enforces() {
    let numeric =
        |k: &careload_config::EnvKey| k.key != "sim.seed" && (k.default.parse::<f64>().is_ok() || k.key == "sim.wards");
    for k in careload_config::ENV_KEYS.iter().filter(|k| numeric(k)) {
        // the last "A–B" of the doc, thousands separators dropped
        let doc = k.doc.replace(',', "");
        let range = doc
            .rsplit_once('–')
            .map(|(a, b)| {
                let lo: String = a
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let hi: String = b.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
                (lo.chars().rev().collect::<String>(), hi)
            })
            .and_then(|(lo, hi)| Some((lo.parse::<f64>().ok()?, hi.parse::<f64>().ok()?)));
        let Some((lo, hi)) = range else {
            panic!("{}: the doc {:?} states no range A–B", k.key, k.doc)
        };
        let load = |v: f64| {
            let mut vars = vec![(k.name, v.to_string())];
            if k.key == "sim.wards" {
                vars.push(("CARELOAD_SIM_BEDS", "100000".into())); // the most wards need the most beds
            }
            Config::load_with(None, vars)
        };
        for v in [lo, hi] {
            load(v).unwrap_or_else(|e| panic!("{} = {v} is in the documented range: {e}", k.key));
        }
        for v in [lo - 1.0, hi + 1.0] {
            let e = load(v)
                .expect_err(&format!("{} = {v} is outside {lo}–{hi}", k.key))
                .to_string();
            assert!(e.contains(k.name), "{e}");
        }
    }
    assert!(
        careload_config::ENV_KEYS.iter().any(|k| k.key == "sim.wards"),
        "sim.wards has no variable"
    );
}

#[test]
fn an_unknown_careload_variable_is_refused_with_the_nearest_known_one() {
    let e = Config::load_with(None, [("CARELOAD_SOURCE_PAGESIZE", "100"), ("PATH", "/bin")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CARELOAD_SOURCE_PAGESIZE") && e.contains("CARELOAD_SOURCE_PAGE_SIZE"),
        "{e}"
    );
    let e = Config::load_with(None, [("CARELOAD_SCORING_TIMEZONE", "Europe/Oslo")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("CARELOAD_SCORING_TIME_ZONE"), "{e}");
    let e = Config::load_with(None, [("careload_api_listen", "127.0.0.1:1")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("careload_api_listen") && e.contains("CARELOAD_API_LISTEN"),
        "{e}"
    );
    let e = Config::load_with(None, [("CARELOAD_NOTHING_LIKE_ANY_KEY_AT_ALL", "1")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("CARELOAD_NOTHING_LIKE_ANY_KEY_AT_ALL"), "{e}");

    // variables careload reads besides the keys, and those the config names
    Config::load_with(
        None,
        [
            ("CARELOAD_CONFIG", "x.toml"),
            ("CARELOAD_PSEUDONYM_KEY", "k"),
            ("CARELOAD_TEST_DATABASE_URL", "sqlite://t.db"),
            ("CARELOAD_BLESS", "1"),
            ("CARELOAD_BIN", "careload"),
            ("CARELOAD_BENCH_TOKEN", "t"),
            ("CARELOAD_SOURCE_URL", "https://ehr.example/r4"),
        ],
    )
    .unwrap();
    let f = TempFile::new(
        "named",
        "[source]\npseudonym_key_env = \"CARELOAD_HOSPITAL_KEY\"\nsmart_client_id = \"c\"\nsmart_key_env = \"CARELOAD_SMART_KEY\"\n\n[[api.tokens]]\nname = \"w1\"\nrole = \"screen\"\nwards = [\"w01\"]\nsecret_env = \"CARELOAD_TOKEN_W01\"\n",
    );
    f.load(&[
        ("CARELOAD_HOSPITAL_KEY", "k"),
        ("CARELOAD_SMART_KEY", "pem"),
        ("CARELOAD_TOKEN_W01", "s"),
        ("CARELOAD_SOURCE_TOKEN_ENV", "CARELOAD_EHR_TOKEN"),
        ("CARELOAD_SOURCE_SMART_CLIENT_ID", ""),
        ("CARELOAD_EHR_TOKEN", "t"),
    ])
    .unwrap();
    // a misspelt secret variable is refused too, pointing at the one named
    let e = f
        .load(&[("CARELOAD_HOSPITAL_KEY", "k"), ("CARELOAD_TOKEN_WO1", "s")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CARELOAD_TOKEN_WO1") && e.contains("CARELOAD_TOKEN_W01"),
        "{e}"
    );
}

/// `[planning]`'s format is the configuration's own: every key parses into
/// the planning crate's option types, and a key that is not one of them is
/// refused with its place.
#[test]
fn planning_tables_have_the_files_own_format() {
    let config = Config::from_toml(
        r#"
[planning.thresholds]
understaffed_people = 0.75
spare_people = 2
absence_margin_people = 1.5

[planning.balance]
max_moves = 5
keep_rooms_together = false
tolerance = 3.5
allow_staff_move = true

[planning.admission]
usk_points_per_hour = 2
ssk_points_per_hour = 1.25
"#,
        "planning.toml",
    )
    .expect("parses");
    let t = &config.planning.thresholds;
    assert_eq!(
        (
            t.understaffed_people.milli(),
            t.spare_people.milli(),
            t.absence_margin_people.milli()
        ),
        (750, 2000, 1500)
    );
    let b = &config.planning.balance;
    assert_eq!(
        (b.max_moves, b.keep_rooms_together, b.allow_staff_move),
        (5, false, true)
    );
    assert_eq!(b.tolerance, careload_scoring::Points::from_milli(3500));
    let a = &config.planning.admission;
    assert_eq!(a.usk_points_per_hour, careload_scoring::Points::whole(2));
    assert_eq!(a.ssk_points_per_hour, careload_scoring::Points::from_milli(1250));

    // a table given in part keeps the other keys' defaults (moved from
    // careload-planning's tests; careload-app's tests check that the
    // defaults are the planning crate's)
    let partial = Config::from_toml("[planning.thresholds]\nspare_people = 2\n", "partial.toml").expect("parses");
    let t = &partial.planning.thresholds;
    assert_eq!(t.spare_people, careload_scoring::Qty::whole(2));
    assert_eq!(t.understaffed_people, careload_scoring::Qty::from_milli(500));

    let err = Config::from_toml("[planning.balance]\nmax_move = 2\n", "typo.toml")
        .expect_err("an unknown key is refused")
        .to_string();
    assert!(err.contains("typo.toml") && err.contains("max_move"), "{err}");
}

#[test]
fn the_log_level_is_a_key_and_a_bad_one_is_refused_naming_it() {
    assert_eq!(Config::default().log.level, "info");
    let f = TempFile::new("log", "[log]\nlevel = \"warn\"\n");
    assert_eq!(f.load(&[]).unwrap().log.level, "warn");
    // the environment over the file; a filter with per-crate levels is a level too
    let c = f.load(&[("CARELOAD_LOG_LEVEL", "info,careload_runner=debug")]).unwrap();
    assert_eq!(c.log.level, "info,careload_runner=debug");
    for good in [
        "off",
        "error",
        "DEBUG",
        "trace",
        "careload_ingest::source=debug",
        " warn , careload_api=info ",
    ] {
        Config::load_with(None, [("CARELOAD_LOG_LEVEL", good)]).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }

    // refused, from the file at its line, from the environment by its name
    let f = TempFile::new("badlog", "[api]\nopen = false\n\n[log]\nlevel = \"loud\"\n");
    let err = f.load(&[]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidAt { key, origin: Origin::File { line: 5, .. }, .. } if key == "log.level"),
        "{err:?}"
    );
    let e = err.to_string();
    assert!(
        e.starts_with(&f.at(5)) && e.contains("\"loud\"") && e.contains("debug"),
        "{e}"
    );
    for bad in [
        "",
        "loud",
        "info,",
        "careload_runner=",
        "=debug",
        "careload runner=debug",
        "info;debug",
    ] {
        let e = Config::load_with(None, [("CARELOAD_LOG_LEVEL", bad)])
            .expect_err(bad)
            .to_string();
        assert!(
            e.contains("environment variable CARELOAD_LOG_LEVEL") && e.contains("log.level"),
            "{bad:?}: {e}"
        );
    }
}

/// `[calibration]` (issue 27): its keys from the file and the environment,
/// its defaults, and a refusal of each kind naming the key or variable.
#[test]
fn the_calibration_table_is_read_and_checked() {
    use careload_config::{CalibrationConfig, Drives};
    let d = Config::default().calibration;
    assert_eq!(
        (d.window_weeks, d.min_weeks, d.min_shifts, d.drives),
        (8, 4, 20, Drives::StaffHours)
    );
    assert_eq!(
        (d.min_response_rate, d.min_r_squared, d.max_relative_width),
        (0.70, 0.1, 0.5)
    );
    assert_eq!((d.fit_min_scale, d.fit_max_scale), (0.25, 4.0));

    let f = TempFile::new(
        "calibration",
        "[calibration]\nwindow_weeks = 12\nmin_response_rate = 0.6\ndrives = \"optimum\"\nfit_max_scale = 3\n",
    );
    let c = f.load(&[]).unwrap().calibration;
    assert_eq!(
        c,
        CalibrationConfig {
            window_weeks: 12,
            min_response_rate: 0.6,
            drives: Drives::Optimum,
            fit_max_scale: 3.0,
            ..CalibrationConfig::default()
        }
    );
    // the environment over the file
    let c = f
        .load(&[
            ("CARELOAD_CALIBRATION_DRIVES", " staff_hours "),
            ("CARELOAD_CALIBRATION_MIN_SHIFTS", "30"),
        ])
        .unwrap()
        .calibration;
    assert_eq!((c.drives, c.min_shifts, c.window_weeks), (Drives::StaffHours, 30, 12));

    // refused in the file, at the key's line, with what to write
    for (text, key, line, words) in [
        (
            "[calibration]\nmin_response_rate = 1.5\n",
            "calibration.min_response_rate",
            2,
            "0–1",
        ),
        (
            "[calibration]\n\nwindow_weeks = -1\n",
            "calibration.window_weeks",
            3,
            "1–52 weeks",
        ),
        (
            "[calibration]\nwindow_weeks = 0\n",
            "calibration.window_weeks",
            2,
            "1–52 weeks",
        ),
        (
            "[calibration]\nmin_r_squared = -0.1\n",
            "calibration.min_r_squared",
            2,
            "0–1",
        ),
        (
            "[calibration]\nfit_max_scale = 0.5\n",
            "calibration.fit_max_scale",
            2,
            "1–100",
        ),
    ] {
        let f = TempFile::new("badcal", text);
        let err = f.load(&[]).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidAt { key: k, origin: Origin::File { line: l, .. }, .. } if k == key && *l == line),
            "{text}: {err:?}"
        );
        let e = err.to_string();
        assert!(e.contains(words) && e.contains("e.g."), "{text}: {e}");
    }
    // an unknown value of drives: refused as the file is parsed, with its line and the values
    let e = Config::from_toml("[calibration]\ndrives = \"optimal\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.toml:2") && e.contains("\"optimal\"") && e.contains("staff_hours or optimum"),
        "{e}"
    );
    let e = Config::load_with(None, [("CARELOAD_CALIBRATION_DRIVES", "factors")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CARELOAD_CALIBRATION_DRIVES") && e.contains("staff_hours or optimum"),
        "{e}"
    );
    let e = Config::load_with(None, [("CARELOAD_CALIBRATION_MIN_RESPONSE_RATE", "70 %")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("CARELOAD_CALIBRATION_MIN_RESPONSE_RATE"), "{e}");
    let e = Config::load_with(None, [("CARELOAD_CALIBRATION_MIN_RESPONSE_RATE", "NaN")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a number"), "{e}");
    let e = Config::load_with(None, [("CARELOAD_CALIBRATION_WINDOW_WEEKS", "-2")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("environment variable CARELOAD_CALIBRATION_WINDOW_WEEKS") && e.contains("1–52"),
        "{e}"
    );
    // an unknown key of the table
    let e = Config::from_toml("[calibration]\nmax_relative_interval_width = 0.5\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_relative_interval_width"), "{e}");
}

/// `[forecast]` (issue 28): its keys from the file and the environment, its
/// defaults, and each refusal naming the key or variable, its range and an
/// example.
#[test]
fn the_forecast_table_is_read_and_checked() {
    use careload_config::ForecastConfig;
    let d = Config::default().forecast;
    assert_eq!((d.risk_level, d.history_weeks, d.enabled), (0.2, 8, true));

    let f = TempFile::new(
        "forecast",
        "[forecast]\nrisk_level = 0.1\nhistory_weeks = 12\nenabled = false\n",
    );
    let c = f.load(&[]).unwrap().forecast;
    assert_eq!(
        c,
        ForecastConfig {
            risk_level: 0.1,
            history_weeks: 12,
            enabled: false,
        }
    );
    // the environment over the file
    let c = f
        .load(&[
            ("CARELOAD_FORECAST_RISK_LEVEL", " 0.05 "),
            ("CARELOAD_FORECAST_ENABLED", "true"),
        ])
        .unwrap()
        .forecast;
    assert_eq!((c.risk_level, c.history_weeks, c.enabled), (0.05, 12, true));
    let c = Config::load_with(None, [("CARELOAD_FORECAST_HISTORY_WEEKS", "26")])
        .unwrap()
        .forecast;
    assert_eq!((c.risk_level, c.history_weeks, c.enabled), (0.2, 26, true));

    // refused in the file, at the key's line, with the range and an example
    for (text, key, line, words) in [
        ("[forecast]\nrisk_level = 0.6\n", "forecast.risk_level", 2, "0.01–0.5"),
        ("[forecast]\n\nrisk_level = 0\n", "forecast.risk_level", 3, "0.01–0.5"),
        ("[forecast]\nrisk_level = -0.2\n", "forecast.risk_level", 2, "0.01–0.5"),
        (
            "[forecast]\nhistory_weeks = 3\n",
            "forecast.history_weeks",
            2,
            "4–26 weeks",
        ),
        (
            "[forecast]\nhistory_weeks = 27\n",
            "forecast.history_weeks",
            2,
            "4–26 weeks",
        ),
        (
            "[forecast]\nhistory_weeks = -8\n",
            "forecast.history_weeks",
            2,
            "4–26 weeks",
        ),
    ] {
        let f = TempFile::new("badforecast", text);
        let err = f.load(&[]).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidAt { key: k, origin: Origin::File { line: l, .. }, .. } if k == key && *l == line),
            "{text}: {err:?}"
        );
        let e = err.to_string();
        assert!(
            e.contains(key) && e.contains(words) && e.contains("e.g."),
            "{text}: {e}"
        );
    }
    // refused from the environment, naming the variable
    for (name, value, words) in [
        ("CARELOAD_FORECAST_RISK_LEVEL", "20 %", "CARELOAD_FORECAST_RISK_LEVEL"),
        ("CARELOAD_FORECAST_RISK_LEVEL", "NaN", "not a number"),
        ("CARELOAD_FORECAST_RISK_LEVEL", "0.75", "0.01–0.5"),
        ("CARELOAD_FORECAST_HISTORY_WEEKS", "2", "4–26"),
        ("CARELOAD_FORECAST_HISTORY_WEEKS", "8.5", "a whole number of weeks"),
        ("CARELOAD_FORECAST_ENABLED", "yes", "true or false"),
    ] {
        let e = Config::load_with(None, [(name, value)]).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(words), "{name}={value}: {e}");
    }
    // a wrong type and an unknown key of the table: refused as the file is parsed
    let e = Config::from_toml("[forecast]\nenabled = \"no\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.toml:2"), "{e}");
    let e = Config::from_toml("[forecast]\nrisk = 0.2\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("risk"), "{e}");
}

/// Two named sources, as a region writes them (issue 29).
const TWO_SOURCES: &str = r#"[sources.syd]
kind = "bulk"
url = "https://fhir.syd.example/r4"
ward_prefix = "syd-"
offset_minutes = 20
token_env = "CARELOAD_SYD_TOKEN"

[sources.nord]
kind = "fhir"
url = "https://fhir.nord.example/r4"
ward_prefix = "nord-"
"#;

#[test]
fn named_sources_are_read_and_a_single_source_is_the_default_one() {
    // one [source]: the id "" and today's keys, offset and prefix at their defaults
    let c = Config::default();
    let sources = c.sources();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].0, "");
    assert!(std::ptr::eq(sources[0].1, &c.source));
    assert_eq!((c.source.offset_minutes, c.source.ward_prefix.as_str()), (0, ""));
    let c = Config::from_toml(
        "[source]\nkind = \"fhir\"\nurl = \"https://ehr.example/r4\"\noffset_minutes = 30\nward_prefix = \"n-\"\n",
        "c.toml",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.sources()[0].0, "");
    assert_eq!(c.sources()[0].1.offset_minutes, 30);

    // named sources: by id, each with its own keys; the variable a named
    // source names for its token is no unknown CARELOAD_ variable
    let f = TempFile::new("sources", TWO_SOURCES);
    let c = f.load(&[("CARELOAD_SYD_TOKEN", "t")]).unwrap();
    let sources = c.sources();
    let ids: Vec<&str> = sources.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["nord", "syd"]);
    assert_eq!(sources[0].1.kind, SourceKind::Fhir);
    assert_eq!(sources[0].1.ward_prefix, "nord-");
    assert_eq!(sources[0].1.offset_minutes, 0);
    assert_eq!(sources[1].1.kind, SourceKind::Bulk);
    assert_eq!(sources[1].1.offset_minutes, 20);
    assert_eq!(sources[1].1.page_size, 500, "an unset key keeps [source]'s default");
    assert_eq!(c.source_by_id("syd").map(|s| s.offset_minutes), Some(20));
    assert!(c.source_by_id("").is_none() && c.source_by_id("mitt").is_none());
    let single = Config::default();
    assert!(std::ptr::eq(single.source_by_id("").unwrap(), &single.source));
    assert!(single.source_by_id("syd").is_none());
}

#[test]
fn source_beside_sources_is_refused_saying_to_move_it() {
    // set in the file, even at its defaults: the line of [source]
    let f = TempFile::new("both", &format!("[source]\nkind = \"sim\"\n\n{TWO_SOURCES}"));
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(e.starts_with(&f.at(1)), "{e}");
    assert!(e.contains("[sources.<id>]") && e.contains("move [source]"), "{e}");
    // set by a variable
    let f = TempFile::new("both-env", TWO_SOURCES);
    let e = f
        .load(&[("CARELOAD_SOURCE_URL", "https://x.example/r4")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("environment variable CARELOAD_SOURCE_URL") && e.contains("move [source]"),
        "{e}"
    );
    // a configuration built in code: any [source] key changed
    let mut c = Config::from_toml(TWO_SOURCES, "c.toml").unwrap();
    c.validate().unwrap();
    c.source.page_size = 100;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("config key source:") && e.contains("move [source]"), "{e}");
}

#[test]
fn named_sources_are_checked_with_their_table_named() {
    let check = |extra: &str| {
        Config::from_toml(&format!("{TWO_SOURCES}{extra}"), "c.toml")
            .unwrap()
            .validate()
    };
    check("").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "[sources.Nord]\nkind = \"fhir\"\nurl = \"https://n.example\"\n",
            "sources.Nord",
            "lowercase letters, digits or '-'",
        ),
        (
            "[sources.a-very-long-source-id-of-more-than-32]\nkind = \"fhir\"\nurl = \"https://n.example\"\n",
            "sources.a-very-long-source-id-of-more-than-32",
            "1–32",
        ),
        (
            "[sources.sim]\nward_prefix = \"s-\"\n",
            "sources.sim.kind",
            "single default [source]",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\nward_prefix = \"nord-\"\n",
            "sources.nord.ward_prefix",
            "also sources.mitt.ward_prefix",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\noffset_minutes = 60\n",
            "sources.mitt.offset_minutes",
            "0–59",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\nward_prefix = \"a/b\"\n",
            "sources.mitt.ward_prefix",
            "e.g.",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\n",
            "sources.mitt.url",
            "sources.mitt.kind",
        ),
        (
            "[sources.mitt]\nkind = \"files\"\n",
            "sources.mitt.path",
            "no path is set; set sources.mitt.path",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\npage_size = 5\n",
            "sources.mitt.page_size",
            "10–1000",
        ),
        // several sources: every one prefixed, no prefix beginning another,
        // every configured ward and token ward with a source's prefix
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\n",
            "sources.mitt.ward_prefix",
            "needs a ward prefix of its own",
        ),
        (
            "[sources.mitt]\nkind = \"fhir\"\nurl = \"https://m.example\"\nward_prefix = \"no\"\n",
            "sources.mitt.ward_prefix",
            "begins sources.nord.ward_prefix",
        ),
        ("[wards.AVD1]\n", "wards.AVD1", "[wards.nord-AVD1]"),
        (
            "[[api.tokens]]\nname = \"skärm\"\nrole = \"screen\"\nwards = [\"syd-IVA\", \"IVA\"]\nsecret_env = \"T_S\"\n",
            "api.tokens",
            "names ward \"IVA\"",
        ),
    ];
    for (extra, key, says) in cases {
        let err = check(extra).unwrap_err();
        match &err {
            Error::Invalid { key: k, message } => {
                assert_eq!(k, key, "{extra}: {err}");
                assert!(message.contains(says), "{extra}: {err}");
            }
            other => panic!("{extra}: {other}"),
        }
    }
    // one named source may leave the prefix empty; several may not (above)
    Config::from_toml("[sources.mitt]\nkind = \"files\"\npath = \"x\"\n", "c.toml")
        .unwrap()
        .validate()
        .unwrap();
    // [source]'s own offset is checked too, and a missing URL is blamed on the kind's line
    let e = Config::load_with(None, [("CARELOAD_SOURCE_OFFSET_MINUTES", "60")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CARELOAD_SOURCE_OFFSET_MINUTES") && e.contains("source.offset_minutes"),
        "{e}"
    );
    let f = TempFile::new("named-url", "[sources.mitt]\n\nkind = \"fhir\"\n");
    let e = f.load(&[]).unwrap_err().to_string();
    assert!(e.starts_with(&f.at(3)) && e.contains("sources.mitt.url"), "{e}");
    // a token may not take a named source's secret
    let e = check("[[api.tokens]]\nname = \"a\"\nrole = \"admin\"\nsecret_env = \"CARELOAD_SYD_TOKEN\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("api.tokens[0]"), "{e}");
}
