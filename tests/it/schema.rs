//! The JSON output validates against the schema documented in `docs/voipdx.schema.json` (generated from
//! the model by `docs/gen_schema.py`). A small validator for the subset of JSON Schema that file uses.

use serde_json::Value;
use voipdx::scenario;

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/voipdx.schema.json");
    serde_json::from_slice(&std::fs::read(path).expect("docs/voipdx.schema.json"))
        .expect("schema JSON")
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            resolve(root, &root["$defs"][name])
        }
        None => s,
    }
}

fn check(root: &Value, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let s = resolve(root, s);
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let ok = any.iter().any(|alt| {
            let mut e = Vec::new();
            check(root, alt, v, path, &mut e);
            e.is_empty()
        });
        if !ok {
            errors.push(format!("{path}: matches no alternative: {v}"));
        }
        return;
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        };
        if !ok {
            errors.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v} not in {e:?}"));
    }
    if let (Some(obj), Some(props)) = (
        v.as_object(),
        s.get("properties").and_then(Value::as_object),
    ) {
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let k = req.as_str().unwrap_or("");
            if !obj.contains_key(k) {
                errors.push(format!("{path}: missing {k}"));
            }
        }
        for (k, val) in obj {
            match props.get(k) {
                Some(ps) => check(root, ps, val, &format!("{path}.{k}"), errors),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: undocumented field {k}"))
                }
                None => {}
            }
        }
    } else if let (Some(obj), Some(ap)) = (v.as_object(), s.get("additionalProperties"))
        && ap.is_object()
    {
        for (k, val) in obj {
            check(root, ap, val, &format!("{path}.{k}"), errors);
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(prefix) = s.get("prefixItems").and_then(Value::as_array) {
            if arr.len() != prefix.len() {
                errors.push(format!("{path}: tuple of {} items expected", prefix.len()));
            }
            for (i, (ps, item)) in prefix.iter().zip(arr).enumerate() {
                check(root, ps, item, &format!("{path}[{i}]"), errors);
            }
        } else if let Some(items) = s.get("items") {
            for (i, item) in arr.iter().enumerate() {
                check(root, items, item, &format!("{path}[{i}]"), errors);
            }
        }
    }
}

#[test]
fn analyze_json_of_every_fixture_validates_against_the_schema() {
    let root = schema();
    let mut checked = 0;
    for f in scenario::all() {
        let mut a = crate::common::analyze_bytes(f.name, f.bytes.clone());
        a.findings = voipdx::rules::diagnose(&mut a, None, &Default::default());
        let v = serde_json::to_value(&a).unwrap();
        let mut errors = Vec::new();
        check(&root, &root, &v, f.name, &mut errors);
        assert!(
            errors.is_empty(),
            "{}: {:#?}",
            f.name,
            &errors[..errors.len().min(10)]
        );
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let root = schema();
    let a = crate::common::analyze_bytes(
        "demo",
        scenario::library::by_name("demo.pcapng").unwrap().bytes,
    );
    let mut v = serde_json::to_value(&a).unwrap();
    v["calls"][0]["final_status"] = Value::String("200".into());
    v["calls"][1]["surprise"] = Value::Bool(true);
    let mut errors = Vec::new();
    check(&root, &root, &v, "demo", &mut errors);
    assert!(
        errors.iter().any(|e| e.contains("final_status")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("undocumented field surprise")),
        "{errors:?}"
    );
}
