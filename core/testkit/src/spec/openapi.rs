//! An OpenAPI 3 checker for tests: a JSON value against an operation's
//! response schema, and a request's path and query against the operation's
//! parameters.
//!
//! Why here and not a crate: the checks tests need are a small part of JSON
//! Schema (`$ref`, `allOf`/`oneOf`/`anyOf` with discriminators, `required`,
//! types, `nullable`, `enum`, lengths and bounds, `date-time`), and every
//! violation must name where it is (`data.public_metrics.post_count`) so a
//! failing test says what to fix. Not checked: `pattern` (no regular
//! expressions here), formats other than `date-time`, `uniqueItems`, and
//! request bodies.
//!
//! ```no_run
//! use tally_testkit::spec::openapi::OpenApi;
//! let spec = OpenApi::load("specs/x/openapi.json").expect("spec");
//! let body = serde_json::json!({"data": {"id": "1", "name": "a", "username": "a"}});
//! spec.check_response("GET", "/2/users/by/username/a", 200, "application/json", &body)
//!     .expect("valid");
//! ```

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

/// Why a spec could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read the OpenAPI description {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("the OpenAPI description {path} is not JSON: {source}")]
    Json {
        /// The file.
        path: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// One way a value or a request departs from the description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where: a dotted path into the body (`data.0.public_metrics`), or
    /// `query.max_results` / `path.id` for a request; empty for the whole.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// All violations of one check, printable as one message per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in &self.0 {
            writeln!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// The operation that serves a request, found by [`OpenApi::operation`].
#[derive(Debug, Clone)]
pub struct Matched<'a> {
    /// The path template (`/2/users/{id}/tweets`).
    pub template: &'a str,
    /// The operation object.
    pub operation: &'a Value,
    /// The path parameters' values, percent-decoded.
    pub path_params: Vec<(String, String)>,
}

/// A parsed OpenAPI 3 description.
#[derive(Debug, Clone)]
pub struct OpenApi {
    doc: Value,
}

/// Deepest `$ref` chain followed before giving up (a cycle).
const MAX_DEPTH: usize = 64;

impl OpenApi {
    /// Reads a JSON OpenAPI description.
    pub fn load(path: impl AsRef<Path>) -> Result<OpenApi, SpecError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: shown.clone(),
            source,
        })?;
        let doc = serde_json::from_str(&text).map_err(|source| SpecError::Json {
            path: shown,
            source,
        })?;
        Ok(OpenApi { doc })
    }

    /// Wraps an already parsed description.
    pub fn from_value(doc: Value) -> OpenApi {
        OpenApi { doc }
    }

    /// The path template (`/2/users/{id}/tweets`) and operation object that
    /// serve `method path`, with the path parameters' values. A template with
    /// more literal segments wins (`/2/users/me` over `/2/users/{id}`).
    pub fn operation(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let paths = self.doc.get("paths")?.as_object()?;
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        paths
            .iter()
            .filter_map(|(template, item)| {
                let op = item.get(&method)?;
                let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut params = Vec::new();
                let mut literal = 0;
                for (part, seg) in parts.iter().zip(&segments) {
                    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) if !seg.is_empty() => {
                            params.push((name.to_string(), decode(seg)))
                        }
                        Some(_) => return None,
                        None if part == seg => literal += 1,
                        None => return None,
                    }
                }
                Some((literal, template.as_str(), op, params))
            })
            .max_by_key(|(literal, ..)| *literal)
            .map(|(_, template, operation, path_params)| Matched {
                template,
                operation,
                path_params,
            })
    }

    /// Checks a response body against the schema the operation declares
    /// for `status` (or its `default`) and `content_type` (parameters such
    /// as `; charset=utf-8` ignored).
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Result<(), Violations> {
        let fail = |message: String| {
            Err(Violations(vec![Violation {
                at: String::new(),
                message,
            }]))
        };
        let Some(Matched {
            template,
            operation: op,
            ..
        }) = self.operation(method, path)
        else {
            return fail(format!("no operation `{method} {path}` in the description"));
        };
        let responses = op.get("responses");
        let Some(response) = responses
            .and_then(|r| r.get(status.to_string()))
            .or_else(|| responses.and_then(|r| r.get("default")))
        else {
            return fail(format!(
                "`{method} {template}` declares no response {status}"
            ));
        };
        let response = self.resolve(response);
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let Some(schema) = response
            .get("content")
            .and_then(|c| c.get(media))
            .and_then(|m| m.get("schema"))
        else {
            return fail(format!(
                "`{method} {template}` declares no `{media}` body for status {status}"
            ));
        };
        finish(self.check(schema, body))
    }

    /// Checks a request's path parameters and query (in order, repeated
    /// keys kept) against the operation: required parameters present, no
    /// undeclared ones, and each value of the declared type, bounds and
    /// enum (comma-separated for arrays with `explode = false`).
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<(), Violations> {
        let Some(Matched {
            template,
            operation: op,
            path_params,
        }) = self.operation(method, path)
        else {
            return finish(vec![Violation {
                at: String::new(),
                message: format!("no operation `{method} {path}` in the description"),
            }]);
        };
        let item = self.doc["paths"][template].clone();
        let declared: Vec<Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                op.get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .map(|p| self.resolve(p).clone())
            .collect();
        let mut out = Vec::new();
        for p in &declared {
            let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else {
                continue;
            };
            let values: Vec<&str> = match place {
                "path" => path_params
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                "query" => query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                _ => continue,
            };
            let at = format!("{place}.{name}");
            if values.is_empty() {
                if p["required"] == true {
                    out.push(Violation {
                        at,
                        message: "required parameter missing".into(),
                    });
                }
                continue;
            }
            let schema = p.get("schema").cloned().unwrap_or(Value::Null);
            for raw in values {
                let value = self.parameter_value(&schema, p, raw);
                out.extend(self.check_at(&schema, &value, &at, 0));
            }
        }
        for (name, _) in query {
            let known = declared
                .iter()
                .any(|p| p["in"] == "query" && p["name"].as_str() == Some(name));
            if !known {
                out.push(Violation {
                    at: format!("query.{name}"),
                    message: format!("`{method} {template}` declares no query parameter `{name}`"),
                });
            }
        }
        finish(out)
    }

    /// Every violation of `value` against `schema` (which may be a `$ref`).
    pub fn check(&self, schema: &Value, value: &Value) -> Vec<Violation> {
        self.check_at(schema, value, "", 0)
    }

    /// A query string's text as the JSON value its schema describes.
    fn parameter_value(&self, schema: &Value, param: &Value, raw: &str) -> Value {
        let schema = self.resolve(schema);
        let scalar = |s: &Value, text: &str| match s.get("type").and_then(Value::as_str) {
            Some("integer") => text
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(text)),
            Some("number") => text
                .parse::<f64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(text)),
            Some("boolean") => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::from(text),
            },
            _ => Value::from(text),
        };
        if schema.get("type").and_then(Value::as_str) == Some("array") {
            let items = self.resolve(schema.get("items").unwrap_or(&Value::Null));
            let comma = param.get("explode") == Some(&Value::Bool(false));
            let parts: Vec<&str> = if comma {
                raw.split(',').collect()
            } else {
                vec![raw]
            };
            Value::Array(parts.into_iter().map(|p| scalar(items, p)).collect())
        } else {
            scalar(schema, raw)
        }
    }

    /// Follows `$ref`s (local `#/…` pointers) to the schema they name.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..MAX_DEPTH {
            let Some(pointer) = schema.get("$ref").and_then(Value::as_str) else {
                return schema;
            };
            match pointer.strip_prefix('#').and_then(|p| self.doc.pointer(p)) {
                Some(target) => schema = target,
                None => return &Value::Null,
            }
        }
        schema
    }

    fn check_at(&self, schema: &Value, value: &Value, at: &str, depth: usize) -> Vec<Violation> {
        let violation = |message: String| {
            vec![Violation {
                at: at.to_string(),
                message,
            }]
        };
        if depth > MAX_DEPTH {
            return violation("schema nests too deeply (a `$ref` cycle?)".into());
        }
        if let Some(pointer) = schema.get("$ref").and_then(Value::as_str) {
            let target = self.resolve(schema);
            if target.is_null() {
                return violation(format!(
                    "`$ref` {pointer} points nowhere in the description"
                ));
            }
            return self.check_at(target, value, at, depth + 1);
        }
        let Some(s) = schema.as_object() else {
            return Vec::new();
        };
        if value.is_null() && (s.get("nullable") == Some(&Value::Bool(true))) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for sub in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(self.check_at(sub, value, at, depth + 1));
        }
        if let Some(options) = s.get("oneOf").and_then(Value::as_array) {
            out.extend(self.one_of(s, options, value, at, depth));
        }
        if let Some(options) = s.get("anyOf").and_then(Value::as_array) {
            if !options
                .iter()
                .any(|o| self.check_at(o, value, at, depth + 1).is_empty())
            {
                out.push(Violation {
                    at: at.into(),
                    message: "matches none of the `anyOf` schemas".into(),
                });
            }
        }
        if let Some(kind) = s.get("type").and_then(Value::as_str) {
            if !has_type(value, kind) {
                out.push(Violation {
                    at: at.into(),
                    message: format!("is {}, expected {kind}", describe(value)),
                });
                return out;
            }
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                out.push(Violation {
                    at: at.into(),
                    message: format!("{value} is not one of {}", Value::Array(allowed.clone())),
                });
            }
        }
        match value {
            Value::Object(map) => out.extend(self.check_object(s, map, at, depth)),
            Value::Array(items) => {
                let bound = |key: &str| s.get(key).and_then(Value::as_u64);
                if bound("minItems").is_some_and(|m| (items.len() as u64) < m)
                    || bound("maxItems").is_some_and(|m| (items.len() as u64) > m)
                {
                    out.push(Violation {
                        at: at.into(),
                        message: format!("has {} items, outside minItems/maxItems", items.len()),
                    });
                }
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        out.extend(self.check_at(
                            item_schema,
                            item,
                            &join(at, &i.to_string()),
                            depth + 1,
                        ));
                    }
                }
            }
            Value::String(text) => {
                let chars = text.chars().count() as u64;
                let bound = |key: &str| s.get(key).and_then(Value::as_u64);
                if bound("minLength").is_some_and(|m| chars < m)
                    || bound("maxLength").is_some_and(|m| chars > m)
                {
                    out.push(Violation {
                        at: at.into(),
                        message: format!("{value} is outside minLength/maxLength"),
                    });
                }
                if s.get("format").and_then(Value::as_str) == Some("date-time")
                    && chrono::DateTime::parse_from_rfc3339(text).is_err()
                {
                    out.push(Violation {
                        at: at.into(),
                        message: format!("{value} is not an RFC 3339 date-time"),
                    });
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or_default();
                let bound = |key: &str| s.get(key).and_then(Value::as_f64);
                if bound("minimum").is_some_and(|m| x < m)
                    || bound("maximum").is_some_and(|m| x > m)
                {
                    out.push(Violation {
                        at: at.into(),
                        message: format!("{value} is outside minimum/maximum"),
                    });
                }
            }
            _ => {}
        }
        out
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        map: &Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str() {
                if !map.contains_key(name) {
                    out.push(Violation {
                        at: join(at, name),
                        message: "required field missing".into(),
                    });
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (name, field) in map {
            let where_ = join(at, name);
            match (
                props.and_then(|p| p.get(name)),
                s.get("additionalProperties"),
            ) {
                (Some(schema), _) => out.extend(self.check_at(schema, field, &where_, depth + 1)),
                (None, Some(Value::Bool(false))) => out.push(Violation {
                    at: where_,
                    message: "field not allowed (additionalProperties is false)".into(),
                }),
                (None, Some(extra @ Value::Object(_))) => {
                    out.extend(self.check_at(extra, field, &where_, depth + 1))
                }
                (None, _) => {}
            }
        }
        out
    }

    /// `oneOf`: with a discriminator, the mapped schema must match; without
    /// one, exactly one option must.
    fn one_of(
        &self,
        s: &Map<String, Value>,
        options: &[Value],
        value: &Value,
        at: &str,
        depth: usize,
    ) -> Vec<Violation> {
        if let Some(d) = s.get("discriminator") {
            let property = d
                .get("propertyName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(tag) = value.get(property).and_then(Value::as_str) else {
                return vec![Violation {
                    at: join(at, property),
                    message: "discriminator missing".into(),
                }];
            };
            let target = d
                .get("mapping")
                .and_then(|m| m.get(tag))
                .and_then(Value::as_str);
            return match target {
                Some(pointer) => self.check_at(
                    &serde_json::json!({ "$ref": pointer }),
                    value,
                    at,
                    depth + 1,
                ),
                None => vec![Violation {
                    at: join(at, property),
                    message: format!("`{tag}` is not a value the discriminator maps"),
                }],
            };
        }
        let matching = options
            .iter()
            .filter(|o| self.check_at(o, value, at, depth + 1).is_empty())
            .count();
        if matching == 1 {
            Vec::new()
        } else {
            vec![Violation {
                at: at.into(),
                message: format!("matches {matching} of the `oneOf` schemas, expected exactly one"),
            }]
        }
    }
}

fn finish(violations: Vec<Violation>) -> Result<(), Violations> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Violations(violations))
    }
}

fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Percent-decodes a path segment (lossy on invalid UTF-8).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> OpenApi {
        OpenApi::from_value(json!({
            "openapi": "3.0.0",
            "paths": {
                "/users/{id}": { "get": {
                    "parameters": [
                        { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
                        { "$ref": "#/components/parameters/Fields" },
                        { "name": "max", "in": "query", "schema": { "type": "integer", "minimum": 5, "maximum": 100 } }
                    ],
                    "responses": {
                        "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UserResponse" } } } },
                        "default": { "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
                    }
                } },
                "/users/me": { "get": { "responses": {} } }
            },
            "components": {
                "parameters": { "Fields": { "name": "fields", "in": "query", "explode": false,
                    "schema": { "type": "array", "items": { "type": "string", "enum": ["metrics", "created_at"] } } } },
                "schemas": {
                    "UserResponse": { "type": "object", "properties": { "data": { "$ref": "#/components/schemas/User" } } },
                    "User": { "allOf": [ { "$ref": "#/components/schemas/Base" } ], "type": "object",
                        "required": ["name"],
                        "properties": { "name": { "type": "string", "minLength": 1 },
                            "metrics": { "type": "object", "required": ["count"], "properties": { "count": { "type": "integer" } } },
                            "created_at": { "type": "string", "format": "date-time" },
                            "tier": { "type": "string", "enum": ["free", "pro"], "nullable": true } } },
                    "Base": { "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } } },
                    "Problem": { "oneOf": [ { "$ref": "#/components/schemas/NotFound" }, { "$ref": "#/components/schemas/Invalid" } ],
                        "discriminator": { "propertyName": "type", "mapping": {
                            "not-found": "#/components/schemas/NotFound", "invalid": "#/components/schemas/Invalid" } } },
                    "NotFound": { "type": "object", "required": ["type", "resource"], "properties": { "type": { "type": "string" }, "resource": { "type": "string" } } },
                    "Invalid": { "type": "object", "required": ["type", "errors"], "properties": { "type": { "type": "string" }, "errors": { "type": "array" } } }
                }
            }
        }))
    }

    /// The violations in path order: which order properties are walked in
    /// depends on whether `serde_json` keeps insertion order, a feature
    /// another crate of the build may switch on.
    fn messages(r: Result<(), Violations>) -> Vec<String> {
        let mut messages: Vec<String> = r
            .err()
            .map(|v| v.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        messages.sort();
        messages
    }

    #[test]
    fn a_valid_body_passes_and_each_departure_is_named() {
        let s = spec();
        let ok = json!({ "data": { "id": "1", "name": "a", "metrics": { "count": 3 }, "created_at": "2026-06-01T12:00:00.000Z", "tier": null } });
        assert_eq!(
            messages(s.check_response(
                "GET",
                "/users/1",
                200,
                "application/json; charset=utf-8",
                &ok
            )),
            Vec::<String>::new()
        );
        let bad = json!({ "data": { "name": "", "metrics": { "count": "3" }, "created_at": "yesterday", "tier": "gold" } });
        assert_eq!(
            messages(s.check_response("GET", "/users/1", 200, "application/json", &bad)),
            [
                "data.created_at: \"yesterday\" is not an RFC 3339 date-time",
                "data.id: required field missing",
                "data.metrics.count: is a string, expected integer",
                "data.name: \"\" is outside minLength/maxLength",
                "data.tier: \"gold\" is not one of [\"free\",\"pro\"]",
            ]
        );
    }

    #[test]
    fn problems_are_checked_through_their_discriminator() {
        let s = spec();
        let ct = "application/problem+json";
        assert!(s
            .check_response(
                "GET",
                "/users/1",
                404,
                ct,
                &json!({ "type": "not-found", "resource": "user" })
            )
            .is_ok());
        assert_eq!(
            messages(s.check_response("GET", "/users/1", 404, ct, &json!({ "type": "not-found" }))),
            ["resource: required field missing"]
        );
        assert_eq!(
            messages(s.check_response("GET", "/users/1", 404, ct, &json!({ "type": "teapot" }))),
            ["type: `teapot` is not a value the discriminator maps"]
        );
        assert_eq!(
            messages(s.check_response("GET", "/users/1", 404, "text/html", &json!(null))),
            ["`GET /users/{id}` declares no `text/html` body for status 404"]
        );
    }

    #[test]
    fn requests_are_checked_against_the_parameters() {
        let s = spec();
        let q = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(s
            .check_request(
                "GET",
                "/users/42",
                &q(&[("fields", "metrics,created_at"), ("max", "5")])
            )
            .is_ok());
        assert_eq!(
            messages(s.check_request(
                "GET",
                "/users/42",
                &q(&[("fields", "metrics,colour"), ("max", "500"), ("page", "2")])
            )),
            [
                "query.fields.1: \"colour\" is not one of [\"metrics\",\"created_at\"]",
                "query.max: 500 is outside minimum/maximum",
                "query.page: `GET /users/{id}` declares no query parameter `page`",
            ]
        );
        // The literal path wins over the template.
        assert_eq!(
            s.operation("GET", "/users/me").map(|m| m.template),
            Some("/users/me")
        );
        assert_eq!(
            messages(s.check_request("POST", "/users/1", &[])),
            ["no operation `POST /users/1` in the description"]
        );
    }
}
