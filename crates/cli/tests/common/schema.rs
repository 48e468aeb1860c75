//! A JSON Schema checker for the subset docs/sync-step.schema.json uses (`type`, `properties`,
//! `required`, `additionalProperties`, `propertyNames`, `items`, `enum`, `const`, `minimum`, `oneOf`,
//! `$ref` to `#/$defs/...`). Any other keyword fails the check, so the schema cannot grow a
//! keyword these tests would silently ignore.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

/// docs/sync-step.schema.json, parsed.
pub fn sync_step_schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/sync-step.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Panics with the JSON path and the rule when `value` does not match `schema`.
pub fn assert_valid(schema: &Value, value: &Value) {
    if let Err(e) = check(schema, schema, value, "$") {
        panic!("{e}\nin {value}");
    }
}

pub fn check(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(rules) = schema.as_object() else {
        return Err(format!("{at}: schema is not an object: {schema}"));
    };
    for (key, rule) in rules {
        match key.as_str() {
            "$schema" | "$id" | "$defs" | "title" | "description" => {}
            "$ref" => {
                let name = rule.as_str().unwrap().strip_prefix("#/$defs/").unwrap();
                check(root, &root["$defs"][name], v, at)?;
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => return Err(format!("{at}: bad type rule {rule}")),
                };
                let ok = allowed.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "string" => v.is_string(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "integer" => v.is_i64() || v.is_u64(),
                    "number" => v.is_number(),
                    _ => false,
                });
                if !ok {
                    return Err(format!("{at}: {v} is not of type {rule}"));
                }
            }
            "enum" => {
                if !rule.as_array().unwrap().contains(v) {
                    return Err(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "minimum" => {
                // Applies to numbers only, as in JSON Schema.
                if let (Some(x), Some(min)) = (v.as_f64(), rule.as_f64())
                    && x < min
                {
                    return Err(format!("{at}: {v} is below the minimum {rule}"));
                }
            }
            "const" => {
                if rule != v {
                    return Err(format!("{at}: {v} is not {rule}"));
                }
            }
            "oneOf" => {
                let matching = rule
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| check(root, s, v, at).is_ok())
                    .count();
                if matching != 1 {
                    return Err(format!("{at}: {v} matches {matching} of oneOf {rule}"));
                }
            }
            "required" => {
                if let Some(o) = v.as_object() {
                    for name in rule.as_array().unwrap() {
                        let name = name.as_str().unwrap();
                        if !o.contains_key(name) {
                            return Err(format!("{at}: required key {name:?} missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = v.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(x) = o.get(name) {
                            check(root, sub, x, &format!("{at}.{name}"))?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = v.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, x) in o {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match rule {
                            Value::Bool(false) => return Err(format!("{at}: unexpected key {name:?}")),
                            Value::Bool(true) => {}
                            sub => check(root, sub, x, &format!("{at}.{name}"))?,
                        }
                    }
                }
            }
            "propertyNames" => {
                if let Some(o) = v.as_object() {
                    for name in o.keys() {
                        check(
                            root,
                            rule,
                            &Value::String(name.clone()),
                            &format!("{at} key {name:?}"),
                        )?;
                    }
                }
            }
            "items" => {
                if let Some(a) = v.as_array() {
                    for (i, x) in a.iter().enumerate() {
                        check(root, rule, x, &format!("{at}[{i}]"))?;
                    }
                }
            }
            other => {
                return Err(format!(
                    "{at}: keyword {other:?} is not supported by this checker"
                ));
            }
        }
    }
    Ok(())
}
