//! assets/runbook.schema.json is written by hand (the parser reads a node
//! tree, not serde types), so these tests hold it to the parser: every
//! shipped runbook validates, and the keys of every mapping in the schema
//! are exactly the keys the parser looks for there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const SCHEMA_FILE: &str = "assets/runbook.schema.json";

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(SCHEMA_FILE).unwrap()).unwrap()
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("config/runbooks")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
}

/// The runbooks the key walk reads: the shipped ones and one that has
/// every mapping the parser knows.
fn corpus() -> Vec<PathBuf> {
    let mut files = shipped();
    files.push("tests/fixtures/runbooks/every_key.yaml".into());
    files
}

/// YAML as the editor's language server sees it (YAML 1.2), as JSON.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_schema_command_prints_the_checked_in_file() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flightdeck"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, std::fs::read_to_string(SCHEMA_FILE).unwrap());
    assert_eq!(printed, flightdeck::runbook::schema::RUNBOOK_SCHEMA);
    let v: Value = serde_json::from_str(&printed).unwrap();
    assert!(jsonschema::meta::is_valid(&v), "not a valid JSON Schema");
}

#[test]
fn every_shipped_runbook_validates_against_the_schema() {
    let validator = jsonschema::draft7::new(&schema()).unwrap();
    for path in corpus() {
        flightdeck::runbook::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let doc = as_json(&path);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let validator = jsonschema::draft7::new(&schema()).unwrap();
    let base = "name: x\nstages:\n  - id: s\n    steps:\n";
    for (bad, why) in [
        (
            "      - { id: a, command: 'true', colour: red }\n",
            "unknown key",
        ),
        (
            "      - { id: a, command: 'true', check: { env: [A] } }\n",
            "two actions",
        ),
        ("      - { id: a }\n", "no action"),
        ("      - { command: 'true' }\n", "no id"),
        (
            "      - { id: a, gate: { roles: { x: 0 } } }\n",
            "nobody to sign",
        ),
        (
            "      - { id: a, check: { tcp: x, http: y } }\n",
            "a check does one thing",
        ),
    ] {
        let text = format!("{base}{bad}");
        assert!(
            flightdeck::runbook::parse_str(&text, Path::new("bad.yaml")).is_err(),
            "the parser took {why}"
        );
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        assert!(!validator.is_valid(&doc), "the schema took {why}");
    }
}

/// Mappings the parser matches whole instead of reading key by key: a
/// Redis key's `{ equals: VALUE }`.
const MATCHED_WHOLE: &[&str] = &["equals"];

/// Keys the parser reads only to refuse them with a better message.
const READ_TO_REFUSE: &[(&str, &str)] = &[("kube.patch", "rollback_on")];

#[test]
fn every_key_the_parser_reads_is_in_the_schema_and_no_other() {
    let schema = schema();
    // Schema object (by address) -> the keys the parser read at its paths.
    let mut read: BTreeMap<usize, (String, BTreeSet<String>)> = BTreeMap::new();
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (_, keys) =
            flightdeck::runbook::keys_read(|| flightdeck::runbook::parse_str(&text, &path));
        assert!(!keys.is_empty());
        for (at, key) in keys {
            let objects = objects_at(&schema, &at);
            assert!(
                !objects.is_empty(),
                "{}: the schema has no mapping at {at:?}",
                path.display()
            );
            let props: BTreeSet<String> = objects.iter().flat_map(|o| properties(o)).collect();
            let refused = READ_TO_REFUSE
                .iter()
                .any(|(end, k)| at.ends_with(end) && *k == key);
            assert!(
                props.contains(&key) || refused,
                "{}: the parser reads {key:?} at {at:?}; the schema lacks it (has {props:?})",
                path.display()
            );
            for o in objects {
                read.entry(o as *const Value as usize)
                    .or_insert_with(|| (at.clone(), BTreeSet::new()))
                    .1
                    .insert(key.clone());
            }
        }
    }
    // And the schema offers nothing the parser would call unknown.
    for (at, keys) in read.values() {
        for o in objects_at(&schema, at) {
            for p in properties(o) {
                assert!(
                    keys.contains(&p),
                    "the schema offers {p:?} at {at:?}, the parser never reads it"
                );
            }
        }
    }
    // And every mapping the schema describes was walked.
    let mut all = Vec::new();
    mappings(&schema, &mut all);
    let unwalked: Vec<String> = all
        .iter()
        .filter(|o| !read.contains_key(&(**o as *const Value as usize)))
        .filter(|o| properties(o) != MATCHED_WHOLE)
        .map(|o| format!("{:?}", properties(o)))
        .collect();
    assert!(
        unwalked.is_empty(),
        "mappings no parsed runbook reached (add them to every_key.yaml): {unwalked:?}"
    );
}

/// Every object schema with `properties`, anywhere in `s`.
fn mappings<'a>(s: &'a Value, out: &mut Vec<&'a Value>) {
    match s {
        Value::Object(map) => {
            if map.get("properties").is_some_and(Value::is_object) {
                out.push(s);
            }
            for (k, v) in map {
                // Property names are not schemas; their values are.
                if k == "properties" || k == "definitions" {
                    if let Value::Object(children) = v {
                        for c in children.values() {
                            mappings(c, out);
                        }
                    }
                } else if k != "enum" && k != "const" {
                    mappings(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| mappings(i, out)),
        _ => {}
    }
}

fn properties(o: &Value) -> Vec<String> {
    o.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            resolve(root, root.pointer(pointer).unwrap_or_else(|| panic!("{r}")))
        }
        None => s,
    }
}

/// `s` and its `anyOf`/`oneOf` branches, `$ref`s followed.
fn branches<'a>(root: &'a Value, s: &'a Value, out: &mut Vec<&'a Value>) {
    let s = resolve(root, s);
    out.push(s);
    for k in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = s.get(k).and_then(Value::as_array) {
            for b in list {
                branches(root, b, out);
            }
        }
    }
}

/// The object schemas that describe the mapping at a parser path such as
/// `stages[0].steps[2].kube.rollout.rollback_on` (`""` is the root).
fn objects_at<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut here = vec![root];
    let mut rest = path;
    while !rest.is_empty() {
        let mut all = Vec::new();
        for s in &here {
            branches(root, s, &mut all);
        }
        let mut next = Vec::new();
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').unwrap();
            rest = &after[end + 1..];
            next.extend(all.iter().filter_map(|s| s.get("items")));
        } else {
            // The longest property that the path goes on with, else a
            // mapping of names (additionalProperties).
            let mut taken = None;
            for s in &all {
                for p in properties(s) {
                    let goes_on = rest
                        .strip_prefix(p.as_str())
                        .is_some_and(|r| r.is_empty() || r.starts_with('.') || r.starts_with('['));
                    if goes_on && taken.as_ref().is_none_or(|t: &String| t.len() < p.len()) {
                        taken = Some(p);
                    }
                }
            }
            let name = match &taken {
                Some(p) => p.clone(),
                None => rest
                    .split(['.', '['])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            for s in &all {
                match (&taken, s.get("properties").and_then(|p| p.get(&name))) {
                    (Some(_), Some(v)) => next.push(v),
                    (None, _) => {
                        if let Some(a) = s.get("additionalProperties").filter(|a| a.is_object()) {
                            next.push(a)
                        }
                    }
                    _ => {}
                }
            }
            rest = &rest[name.len()..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
        here = next;
    }
    let mut all = Vec::new();
    for s in &here {
        branches(root, s, &mut all);
    }
    all.into_iter()
        .filter(|s| s.get("properties").is_some())
        .collect()
}
