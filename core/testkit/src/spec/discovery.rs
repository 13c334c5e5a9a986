//! A validator for Google API discovery documents (`discovery#restDescription`).
//!
//! It checks a JSON value against a schema of the document by id (types,
//! `$ref`, arrays, maps, enums, int64 and uint64 carried as strings, unknown
//! fields refused), and a request's query parameters against a method's
//! declared parameters (known names, types, enums, required ones present).
//! Errors name the JSON path or the parameter, so a failing test says which
//! field strays from what Google publishes.

use serde_json::{Map, Value};
use std::path::Path;

/// A loaded discovery document.
#[derive(Debug, Clone)]
pub struct Discovery {
    name: String,
    doc: Value,
}

impl Discovery {
    /// Loads a document from `path`; the error names the file.
    pub fn load(path: &Path) -> Result<Discovery, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        if doc.get("kind").and_then(Value::as_str) != Some("discovery#restDescription") {
            return Err(format!("{} is not a discovery document", path.display()));
        }
        let name = doc
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("discovery document")
            .to_string();
        Ok(Discovery { name, doc })
    }

    /// Loads a vendored document by its path under `core/testkit/specs/`, or panics naming it.
    pub fn vendored(relative: &str) -> Discovery {
        Discovery::load(&super::spec_path(relative)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Checks `value` against the schema with id `schema` (`RunReportResponse`);
    /// returns every mismatch, each prefixed with its JSON path.
    pub fn check(&self, schema: &str, value: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        match self.schema(schema) {
            Some(s) => self.value(s, value, "$", &mut errors),
            None => errors.push(format!("{} has no schema `{schema}`", self.name)),
        }
        errors.sort();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks a request's query parameters against the method with id
    /// `method` (`analyticsdata.properties.runReport`): every name declared
    /// as a query parameter, values of its type and enum, repeated only when
    /// declared so, required ones present.
    pub fn check_query(&self, method: &str, query: &[(String, String)]) -> Result<(), Vec<String>> {
        let Some(m) = find_method(&self.doc, method) else {
            return Err(vec![format!("{} has no method `{method}`", self.name)]);
        };
        let empty = Map::new();
        let params = m
            .get("parameters")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut errors = Vec::new();
        for (name, value) in query {
            let Some(p) = params
                .get(name)
                .filter(|p| p.get("location").and_then(Value::as_str) == Some("query"))
            else {
                errors.push(format!(
                    "query parameter `{name}` is not a query parameter of {method}"
                ));
                continue;
            };
            let repeated = p.get("repeated").and_then(Value::as_bool) == Some(true);
            if !repeated && query.iter().filter(|(n, _)| n == name).count() > 1 {
                errors.push(format!(
                    "query parameter `{name}` is repeated but {method} takes one"
                ));
            }
            if let Some(e) = scalar(p, value) {
                errors.push(format!("query parameter `{name}`: {e}"));
            }
        }
        for (name, p) in params {
            let required = p.get("required").and_then(Value::as_bool) == Some(true);
            let in_query = p.get("location").and_then(Value::as_str) == Some("query");
            if required && in_query && !query.iter().any(|(n, _)| n == name) {
                errors.push(format!(
                    "required query parameter `{name}` of {method} is missing"
                ));
            }
        }
        errors.dedup();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn schema(&self, id: &str) -> Option<&Value> {
        self.doc.get("schemas")?.get(id)
    }

    fn value(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(id) = schema.get("$ref").and_then(Value::as_str) {
            match self.schema(id) {
                Some(s) => self.value(s, value, at, errors),
                None => errors.push(format!("{at}: `$ref` to unknown schema `{id}`")),
            }
            return;
        }
        let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
        match (kind, value) {
            ("any", _) => {}
            ("object", Value::Object(map)) => self.object(schema, map, at, errors),
            ("array", Value::Array(items)) => {
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.value(item, v, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            ("string" | "integer" | "number" | "boolean", _) => {
                if let Some(e) = json_scalar(schema, value) {
                    errors.push(format!("{at}: {e}"));
                }
            }
            (kind, other) => {
                errors.push(format!("{at}: expected {kind}, got {}", type_name(other)))
            }
        }
    }

    fn object(&self, schema: &Value, map: &Map<String, Value>, at: &str, errors: &mut Vec<String>) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, v) in map {
            let path = format!("{at}.{key}");
            match (properties.and_then(|p| p.get(key)), additional) {
                (Some(s), _) => self.value(s, v, &path, errors),
                (None, Some(s)) => self.value(s, v, &path, errors),
                (None, None) => errors.push(format!("{path}: unknown field (not in the schema)")),
            }
        }
    }
}

/// Finds a method by id anywhere in the document's resources.
fn find_method<'a>(node: &'a Value, id: &str) -> Option<&'a Value> {
    let here = node
        .get("methods")
        .and_then(Value::as_object)
        .and_then(|methods| {
            methods
                .values()
                .find(|m| m.get("id").and_then(Value::as_str) == Some(id))
        });
    here.or_else(|| {
        node.get("resources")?
            .as_object()?
            .values()
            .find_map(|r| find_method(r, id))
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON scalar against its schema: type, int64/uint64 as strings, enum.
fn json_scalar(schema: &Value, value: &Value) -> Option<String> {
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    let format = schema.get("format").and_then(Value::as_str);
    let text = match (kind, format, value) {
        ("string", Some("int64" | "uint64"), Value::String(s)) => {
            if s.parse::<i128>().is_err() {
                return Some(format!(
                    "`{s}` is not a {} string",
                    format.unwrap_or_default()
                ));
            }
            s.clone()
        }
        ("string", Some(f @ ("int64" | "uint64")), other) => {
            return Some(format!(
                "a {f} is sent as a JSON string, got {}",
                type_name(other)
            ))
        }
        ("string", _, Value::String(s)) => s.clone(),
        ("integer", _, Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        ("number", _, Value::Number(n)) => n.to_string(),
        ("boolean", _, Value::Bool(b)) => b.to_string(),
        (kind, _, other) => return Some(format!("expected {kind}, got {}", type_name(other))),
    };
    enum_member(schema, &text)
}

/// A query parameter's text against its declared type and enum.
fn scalar(param: &Value, text: &str) -> Option<String> {
    let kind = param
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let ok = match kind {
        "integer" => text.parse::<i64>().is_ok(),
        "number" => text.parse::<f64>().is_ok(),
        "boolean" => matches!(text, "true" | "false"),
        _ => true,
    };
    if !ok {
        return Some(format!(
            "`{text}` is not a{} {kind}",
            if kind == "integer" { "n" } else { "" }
        ));
    }
    enum_member(param, text)
}

fn enum_member(schema: &Value, text: &str) -> Option<String> {
    let values = schema.get("enum")?.as_array()?;
    let known = values.iter().any(|v| v.as_str() == Some(text));
    (!known).then(|| format!("`{text}` is not one of its enum values"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ga4() -> Discovery {
        Discovery::vendored("ga4/analyticsdata__v1beta.json")
    }

    #[test]
    fn a_value_that_fits_passes_and_every_stray_field_is_named() {
        let good = json!({"dateRanges": [{"startDate": "7daysAgo", "endDate": "today"}], "metrics": [{"name": "sessions"}], "limit": "10000", "returnPropertyQuota": true});
        assert_eq!(ga4().check("RunReportRequest", &good), Ok(()));
        let bad = json!({"dateRanges": [{"start": "x"}], "limit": 10000, "returnPropertyQuota": "yes", "metricAggregations": ["SUM"]});
        assert_eq!(
            ga4().check("RunReportRequest", &bad).unwrap_err(),
            vec![
                "$.dateRanges[0].start: unknown field (not in the schema)",
                "$.limit: a int64 is sent as a JSON string, got number",
                "$.metricAggregations[0]: `SUM` is not one of its enum values",
                "$.returnPropertyQuota: expected boolean, got string",
            ]
        );
    }

    #[test]
    fn refs_into_nested_schemas_are_followed() {
        let response = json!({"rows": [{"metricValues": [{"value": "1"}], "dimensionValues": [{"valu": "x"}]}], "metricHeaders": [{"name": "sessions", "type": "TYPE_INTEGR"}]});
        assert_eq!(
            ga4().check("RunReportResponse", &response).unwrap_err(),
            vec![
                "$.metricHeaders[0].type: `TYPE_INTEGR` is not one of its enum values",
                "$.rows[0].dimensionValues[0].valu: unknown field (not in the schema)",
            ]
        );
    }

    #[test]
    fn query_parameters_are_checked_against_the_method() {
        let yta = Discovery::vendored("youtube/youtubeAnalytics__v2.json");
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            yta.check_query(
                "youtubeAnalytics.reports.query",
                &q(&[
                    ("ids", "channel==MINE"),
                    ("metrics", "views"),
                    ("maxResults", "10")
                ])
            ),
            Ok(())
        );
        assert_eq!(
            yta.check_query(
                "youtubeAnalytics.reports.query",
                &q(&[("id", "x"), ("maxResults", "ten")])
            )
            .unwrap_err(),
            vec![
                "query parameter `id` is not a query parameter of youtubeAnalytics.reports.query",
                "query parameter `maxResults`: `ten` is not an integer",
            ]
        );
        assert_eq!(
            yta.check_query("youtubeAnalytics.reports.nope", &[])
                .unwrap_err(),
            vec!["youtubeAnalytics:v2 has no method `youtubeAnalytics.reports.nope`"]
        );
    }
}
