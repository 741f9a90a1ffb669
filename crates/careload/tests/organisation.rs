//! `careload mapping organisation`, as a user runs it: the hospitals,
//! departments and wards of a FHIR Location tree written as careload
//! configuration, which the service's own loader (`Config::load_with`, what
//! `Config::load` runs: the file, then `validate`) must accept. On the
//! simulated hospital (its site and departments), on HL7's and Synthea's
//! official R4 examples, and on a hand-made tree with a ward directly under
//! a site.

mod common;

use std::path::Path;
use std::process::Command;

use careload_config::Config;
use serde_json::{Value, json};

use common::{Served, TempFile, careload, s};

const EXAMPLES: &str = "/work/shared/fhir-examples";
const PHYSICAL: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";

/// The configuration at `path` as the service loads it (no environment).
fn load(path: &Path) -> Config {
    Config::load_with(Some(path), std::iter::empty::<(String, String)>())
        .unwrap_or_else(|e| panic!("{e}\n{}", std::fs::read_to_string(path).unwrap_or_default()))
}

/// Runs `mapping organisation` with `args`, writes its output to
/// `dir/name` and loads it as the service would.
fn organisation(dir: &Path, name: &str, args: &[&str]) -> (String, Config) {
    let mut all = vec!["mapping", "organisation"];
    all.extend_from_slice(args);
    let run = careload(&all);
    run.ok();
    let path = dir.join(name);
    std::fs::write(&path, &run.stdout).unwrap_or_else(|e| panic!("{e}"));
    let config = load(&path);
    (run.stdout, config)
}

fn location(id: &str, name: &str, code: &str, part_of: Option<&str>) -> Value {
    let mut v = json!({"resourceType": "Location", "id": id, "name": name,
        "physicalType": {"coding": [{"system": PHYSICAL, "code": code}]}});
    if let Some(p) = part_of {
        v["partOf"] = json!({ "reference": format!("Location/{p}") });
    }
    v
}

fn ndjson(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The simulated hospital has a site (`si`) and departments (`wi`) above
/// its wards: the output names the site as the hospital and every ward's
/// department, from NDJSON files and from a transaction Bundle (`urn:uuid`
/// references) alike, and loads as configuration.
#[test]
fn the_simulated_hospitals_site_is_the_hospital_and_every_ward_has_its_department() {
    let keep = TempFile::new("keep", "");
    let dir = keep.dir.join("fhir");
    careload(&[
        "sim",
        "--beds",
        "240",
        "--seed",
        "5",
        "--hours",
        "1",
        "--start",
        "2026-11-23T09:00:00Z",
        "--out",
        s(&dir),
        "--bundle",
    ])
    .ok();
    let text = std::fs::read_to_string(dir.join("Location.ndjson")).unwrap_or_else(|e| panic!("{e}"));
    let wards: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}")))
        .filter(|l| l["physicalType"]["coding"][0]["code"] == "wa")
        .map(|l| {
            let parent = l["partOf"]["reference"].as_str().unwrap_or_default();
            (
                l["id"].as_str().unwrap_or_default().to_owned(),
                parent.trim_start_matches("Location/").to_owned(),
            )
        })
        .collect();
    assert!(wards.len() >= 6, "{wards:?}");
    let (site, site_name) = careload_sim::fhir::SITE;
    for input in [dir.clone(), dir.join("bundle.json")] {
        let (out, config) = organisation(&keep.dir, "organisation.toml", &["--fhir", s(&input)]);
        assert!(out.contains("must review"), "{out}");
        assert_eq!(config.hospitals.len(), 1, "{out}");
        assert_eq!(config.hospital_name(site), site_name);
        assert_eq!(config.wards.len(), wards.len(), "{out}");
        for (ward, department) in &wards {
            assert_eq!(config.department_of(ward), Some(department.as_str()), "{ward}\n{out}");
            assert_eq!(config.hospital_of(ward), Some(site), "{ward}\n{out}");
            let (_, name, _) = careload_sim::fhir::DEPARTMENTS
                .iter()
                .find(|(id, _, _)| id == department)
                .unwrap_or_else(|| panic!("{department} is no department of the simulator"));
            assert_eq!(config.department_name(department), *name);
            assert!(
                config.wards[ward]
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("Avdelning "))
            );
        }
        assert_eq!(config.hospital_wards(site).len(), wards.len());
        assert!(!out.contains("Wards with nothing above"), "{out}");
    }

    // an existing configuration: what it declares is kept there and not repeated
    let (first, _) = &wards[0];
    let existing = keep.dir.join("careload.toml");
    std::fs::write(
        &existing,
        format!("[departments.egen]\nname = \"Egen\"\n\n[wards.{first}]\ndepartment = \"egen\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = careload(&["mapping", "organisation", "--fhir", s(&dir), "--config", s(&existing)]);
    run.ok();
    assert!(!run.stdout.contains(&format!("[wards.{first}]")), "{}", run.stdout);
    assert!(run.stdout.contains("already declares are kept"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("wards.{first} (department \"egen\" there")),
        "{}",
        run.stdout
    );
    let merged = keep.dir.join("merged.toml");
    let before = std::fs::read_to_string(&existing).unwrap_or_default();
    std::fs::write(&merged, format!("{before}\n{}", run.stdout)).unwrap_or_else(|e| panic!("{e}"));
    let config = load(&merged);
    assert_eq!(config.department_of(first), Some("egen"));
    assert_eq!(config.wards.len(), wards.len());

    // --out writes the file; the summary goes to standard error
    let out = keep.dir.join("written.toml");
    let run = careload(&["mapping", "organisation", "--fhir", s(&dir), "--out", s(&out)]);
    run.ok();
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("written to"), "{}", run.stderr);
    assert_eq!(load(&out).wards.len(), wards.len());
}

/// HL7's official Location examples have no ward at all (a wing, a room
/// `partOf` it, a building, a vehicle, a house, a jurisdiction, a ship and
/// its sickbay): the output declares nothing and says so, and loads. With
/// wards of our own added — one under HL7's South Wing, one with nothing
/// above it, one managed by a Synthea hospital Organization — each is placed
/// by the rule and the one with nothing above it is listed in a comment.
#[test]
fn hl7_and_synthea_examples_give_valid_configuration_and_list_wards_with_nothing_above() {
    let hl7 = Path::new(EXAMPLES).join("hl7-r4");
    let mut locations: Vec<Value> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&hl7)
        .unwrap_or_else(|e| panic!("{}: {e}", hl7.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("Location-"))
        })
        .collect();
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        locations.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(
        locations.iter().any(|l| l["partOf"]["reference"] == "Location/1"),
        "HL7's room Location/2 partOf Location/1 is expected among the examples"
    );
    let keep = TempFile::new("keep", "");
    let dir = keep.dir.join("fhir");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("Location.ndjson"), ndjson(&locations)).unwrap_or_else(|e| panic!("{e}"));
    let (out, config) = organisation(&keep.dir, "hl7.toml", &["--fhir", s(&dir)]);
    assert!(out.contains("no ward Location"), "{out}");
    assert!(config.wards.is_empty() && config.departments.is_empty() && config.hospitals.is_empty());

    // the Bundle of two Locations (a ship and its sickbay) as it is
    let bundle = hl7.join("Bundle-3ad0687e-f477-468c-afd5-fcc2bf897819.json");
    let (out, config) = organisation(&keep.dir, "bundle.toml", &["--fhir", s(&bundle)]);
    assert!(out.contains("no ward Location"), "{out}");
    assert!(config.wards.is_empty());

    // with wards of our own
    let synthea = Path::new(EXAMPLES).join("synthea-r4/hospitalInformation1559319163815.json");
    let synthea: Value = serde_json::from_str(&std::fs::read_to_string(&synthea).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let organizations: Vec<Value> = synthea["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect();
    let hospital = organizations[0]["id"].as_str().unwrap_or_default().to_owned();
    let hospital_name = organizations[0]["name"].as_str().unwrap_or_default().to_owned();
    let mut managed = location("ward-synthea", "Ward of a Synthea hospital", "wa", None);
    managed["managingOrganization"] = json!({ "reference": format!("Organization/{hospital}") });
    locations.extend([
        location("Ward.South", "South Wing ward", "wa", Some("1")),
        location("ward-alone", "Lonely ward", "wa", None),
        managed,
    ]);
    std::fs::write(dir.join("Location.ndjson"), ndjson(&locations)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("Organization.ndjson"), ndjson(&organizations)).unwrap_or_else(|e| panic!("{e}"));
    let (out, config) = organisation(&keep.dir, "own.toml", &["--fhir", s(&dir)]);
    // under HL7's South Wing (physicalType wi, no site above): a department of no hospital
    assert_eq!(config.department_of("Ward.South"), Some("1"), "{out}");
    assert_eq!(config.department_name("1"), "South Wing, second floor");
    assert_eq!(config.hospital_of("Ward.South"), None);
    assert!(out.contains("[wards.\"Ward.South\"]"), "{out}");
    // nothing above: in the comment, not declared
    assert!(!config.wards.contains_key("ward-alone"), "{out}");
    let comment = out
        .split("# Wards with nothing above them")
        .nth(1)
        .unwrap_or_else(|| panic!("no comment on wards with nothing above them:\n{out}"));
    assert!(
        comment.contains("#   ward-alone \"Lonely ward\": it has no partOf and no managingOrganization"),
        "{out}"
    );
    // managed by a hospital Organization (type prov, no partOf): a hospital with no department
    assert!(!config.wards.contains_key("ward-synthea"), "{out}");
    assert!(
        out.contains(&format!(
            "#   ward-synthea \"Ward of a Synthea hospital\": directly under hospital \"{hospital}\" (Organization/{hospital} \"{hospital_name}\")"
        )),
        "{out}"
    );
    assert_eq!(config.wards.len(), 1, "{out}");
}

/// A ward directly under a site (a hospital with no department): careload's
/// configuration cannot say so (a ward has a department, a department a
/// hospital; `[wards.<id>] hospital` is refused), so the ward is not
/// declared and the comment says it has no department; a ward of the same
/// site under a department is declared as usual.
#[test]
fn a_ward_directly_under_a_site_gets_no_department_and_the_comment_says_so() {
    let refused = Config::from_toml("[wards.w1]\nhospital = \"s\"\n", "careload.toml");
    assert!(
        refused.is_err(),
        "config now takes a ward's hospital: declare it instead"
    );

    let tree = [
        location("Lilla", "Lilla sjukhuset", "si", None),
        location("AVD-9", "Avdelning 9", "wa", Some("Lilla")),
        location("Kir", "Kirurgen", "bu", Some("Lilla")),
        location("AVD-1", "Avdelning 1", "wa", Some("Kir")),
        location("AVD-1-R1", "Sal 1", "ro", Some("AVD-1")),
    ];
    let keep = TempFile::new("keep", "");
    let bundle = keep.dir.join("bundle.json");
    let entries: Vec<Value> = tree.iter().map(|r| json!({ "resource": r })).collect();
    std::fs::write(
        &bundle,
        json!({"resourceType": "Bundle", "type": "collection", "entry": entries}).to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (out, config) = organisation(&keep.dir, "out.toml", &["--fhir", s(&bundle)]);
    assert!(!config.wards.contains_key("AVD-9"), "{out}");
    assert!(
        out.contains(
            "#   AVD-9 \"Avdelning 9\": directly under hospital \"lilla\" (Location/Lilla \"Lilla sjukhuset\")"
        ),
        "{out}"
    );
    assert!(out.contains("with no department between"), "{out}");
    assert_eq!(config.department_of("AVD-1"), Some("kir"), "{out}");
    assert_eq!(config.hospital_of("AVD-1"), Some("lilla"), "{out}");
    assert_eq!(config.hospital_name("lilla"), "Lilla sjukhuset");
    assert_eq!(config.wards.len(), 1, "{out}");
}

/// From a FHIR server (`--fhir-url`) the Location tree is searched and gives
/// what the same hospital's files give, but the time in the header.
#[test]
fn a_servers_location_tree_gives_what_its_files_give() {
    let hospital = [
        "--beds",
        "60",
        "--seed",
        "3",
        "--hours",
        "1",
        "--start",
        "2026-11-23T09:00:00Z",
    ];
    let served = Served::start(&hospital);
    let keep = TempFile::new("keep", "");
    let dir = keep.dir.join("fhir");
    let mut args: Vec<&str> = vec!["sim", "--out", s(&dir)];
    args.extend(hospital);
    careload(&args).ok();
    let (files, from_files) = organisation(&keep.dir, "files.toml", &["--fhir", s(&dir)]);
    let (rest, from_server) = organisation(&keep.dir, "rest.toml", &["--fhir-url", served.base.as_str()]);
    assert!(rest.contains(&format!("Read from {} at", served.base)), "{rest}");
    assert_eq!(from_server, from_files);
    let tables = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(tables(&rest), tables(&files));
    assert!(!from_server.wards.is_empty());
}

/// The requests a [`tiny_server`] saw: path and query, and whether the token came.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>;

/// A FHIR server of our own that answers `Location?…` with a searchset and
/// `Organization/<id>` with the Organization, and records each request's
/// first line and whether it carried the bearer token.
fn tiny_server(locations: Vec<Value>, organizations: Vec<Value>) -> (String, Seen) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}/fhir",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap_or_else(|e| panic!("{e}")));
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut token = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                token |= line.to_ascii_lowercase().starts_with("authorization: bearer sesam");
            }
            let path = first.split_whitespace().nth(1).unwrap_or_default().to_owned();
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((path.clone(), token));
            let body = if path.starts_with("/fhir/Location") {
                let entries: Vec<Value> = locations.iter().map(|r| json!({ "resource": r })).collect();
                Some(json!({"resourceType": "Bundle", "type": "searchset", "entry": entries}))
            } else {
                organizations
                    .iter()
                    .find(|o| path == format!("/fhir/Organization/{}", o["id"].as_str().unwrap_or_default()))
                    .cloned()
            };
            let (status, body) = match body {
                Some(b) => ("200 OK", b.to_string()),
                None => (
                    "404 Not Found",
                    json!({"resourceType": "OperationOutcome", "issue": []}).to_string(),
                ),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

/// From a server, a ward with no parent Location is placed by its
/// managingOrganization, read by id with the token (and its parent's).
#[test]
fn from_a_server_a_ward_with_no_parent_is_placed_by_its_managing_organization() {
    let mut ward = location("W1", "Avdelning 1", "wa", None);
    ward["managingOrganization"] = json!({"reference": "Organization/Med"});
    let organizations = vec![
        json!({"resourceType": "Organization", "id": "Med", "name": "Medicinkliniken",
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "dept"}]}],
            "partOf": {"reference": "Organization/Sjukhus"}}),
        json!({"resourceType": "Organization", "id": "Sjukhus", "name": "Lilla sjukhuset",
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}]}),
    ];
    let (base, seen) = tiny_server(vec![ward], organizations);
    let keep = TempFile::new("keep", "");
    let run = Command::new(env!("CARGO_BIN_EXE_careload"))
        .args([
            "mapping",
            "organisation",
            "--fhir-url",
            base.as_str(),
            "--token-env",
            "ORG_TEST_TOKEN",
        ])
        .env("ORG_TEST_TOKEN", "sesam")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let path = keep.dir.join("out.toml");
    std::fs::write(&path, &stdout).unwrap_or_else(|e| panic!("{e}"));
    let config = load(&path);
    assert_eq!(config.department_of("W1"), Some("med"), "{stdout}");
    assert_eq!(config.department_name("med"), "Medicinkliniken");
    assert_eq!(config.hospital_of("W1"), Some("sjukhus"), "{stdout}");
    assert_eq!(config.hospital_name("sjukhus"), "Lilla sjukhuset");
    let seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    assert!(
        seen.iter().any(|(p, t)| p == "/fhir/Organization/Med" && *t),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(_, t)| *t),
        "every request carries the token: {seen:?}"
    );
}
