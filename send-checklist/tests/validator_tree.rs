//! checklistresult.json is PagoPA's validator's own tree: the same test cases, group and
//! question texts, nesting, order and `version`, read from the validator's own answer
//! (`shared/docs/pnvalidator-checklistresult.json`). Ours has one addition, named as such:
//! TC-COSTO-01's scenario 2.

use send_checklist::{Options, evaluate, validator_shape};
use serde_json::Value;
use std::path::PathBuf;

fn validators_tree() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/docs/pnvalidator-checklistresult.json");
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("the validator's tree is JSON")),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{} is required under CI=true: {e}", path.display())
        }
        Err(e) => {
            // Not eprintln!: libtest would capture it in a passing test, and nobody would know.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "!!! {} not found ({e}): the validator's tree is not compared",
                path.display()
            );
            None
        }
    }
}

/// The tree without results: descriptions and nesting only.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            out.insert("description".into(), m["description"].clone());
            if let Some(c) = m.get("children") {
                out.insert(
                    "children".into(),
                    Value::Array(c.as_array().unwrap().iter().map(shape).collect()),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[test]
fn checklistresult_has_the_validators_tree_plus_scenario_2() {
    let ours = validator_shape(&evaluate(&[], &Options::for_sender("80016350821")));
    let Some(theirs) = validators_tree() else {
        return;
    };
    assert_eq!(ours["version"], theirs["version"]);
    let mut ours_tcs: Vec<Value> = ours["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    // Our one addition: TC-COSTO-01's second scenario, named as not the validator's.
    let costo = ours_tcs[0]["children"].as_array_mut().unwrap();
    let added = costo
        .iter()
        .position(|c| c["description"].as_str().unwrap().starts_with("Scenario 2"))
        .expect("scenario 2 is there");
    let scenario2 = costo.remove(added);
    assert!(
        scenario2["description"]
            .as_str()
            .unwrap()
            .contains("PagoPA's validator has no check")
    );
    let theirs_tcs: Vec<Value> = theirs["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    assert_eq!(
        serde_json::to_string_pretty(&ours_tcs).unwrap(),
        serde_json::to_string_pretty(&theirs_tcs).unwrap()
    );
    // Leaves carry a boolean `result`, groups `children`, as the validator writes them.
    fn leaves_are_booleans(n: &Value) {
        match n.get("children") {
            Some(c) => c.as_array().unwrap().iter().for_each(leaves_are_booleans),
            None => assert!(n["result"].is_boolean(), "{n}"),
        }
    }
    ours["result"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(leaves_are_booleans);
}
