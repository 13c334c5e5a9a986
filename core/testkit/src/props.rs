//! Inputs and the one property for response-parser property tests and fuzz targets.
//!
//! Why here: every connector's parser must keep the same promise (DESIGN invariant 6:
//! a response that is not what the platform documents is an error that says what and
//! where, never a panic), and three copies of the generators and the check would
//! drift. The generators make what a broken or changed API sends: arbitrary JSON,
//! a documented fixture with a field replaced, removed or retyped, and a fixture
//! with its bytes cut or flipped. [`check_response`] is the property itself; the
//! connectors' fuzz targets (`fuzz/`, RELIABILITY.md) call it with libFuzzer's bytes.

use proptest::prelude::*;
use proptest::sample::Index;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tally_model::http::decode_json;
use tally_model::{ConnectorError, Point};

/// The proptest settings of Tally's property tests: 256 cases (bounded, for CI) unless
/// `PROPTEST_CASES` asks for more, and no failure files written into the source tree
/// (a failure prints its minimal input; paste it into a unit test).
pub fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The URL path [`check_response`] decodes under, so errors can be checked to name it.
pub const PATH: &str = "/fuzz/response";

/// Any JSON value, nested up to four levels, with field names and strings that
/// are sometimes the ones platforms use (so objects sometimes almost fit).
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings: arbitrary ones, numbers written as text, dates, and names of fields
/// the connectors read.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("2026-06-01T12:00:00Z".to_string()),
        prop::sample::select(vec![
            "id",
            "acct",
            "did",
            "handle",
            "items",
            "feed",
            "post",
            "uri",
            "statistics",
            "subscriberCount",
            "followers_count",
            "followersCount",
            "likeCount",
            "created_at",
        ])
        .prop_map(str::to_string),
    ]
}

/// One edit of a JSON document at one of its nodes.
#[derive(Debug, Clone)]
enum Edit {
    /// The node becomes another value.
    Replace(Value),
    /// The node is removed from its object or array (the root becomes `null`).
    Remove,
    /// A number becomes its text and a numeric string its number.
    Retype,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        json().prop_map(Edit::Replace),
        Just(Edit::Remove),
        Just(Edit::Retype),
    ]
}

/// A connector's JSON fixture, parsed: the seed that `mutated_json` varies.
/// A fixture that is not JSON is a broken test, so it panics.
pub fn fixture(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("the fixture is JSON")
}

/// `fixture` with one to three nodes replaced by any JSON, removed or retyped:
/// still JSON, no longer always what the platform documents.
pub fn mutated_json(fixture: &Value) -> impl Strategy<Value = Value> {
    let fixture = fixture.clone();
    prop::collection::vec((any::<Index>(), edit()), 1..=3).prop_map(move |edits| {
        let mut doc = fixture.clone();
        for (at, edit) in edits {
            let nodes = node_paths(&doc);
            apply(&mut doc, &nodes[at.index(nodes.len())], edit);
        }
        doc
    })
}

/// `fixture`'s bytes with one to three cuts, insertions or flipped bytes: what a
/// truncated or corrupted transfer delivers.
pub fn mutated_bytes(fixture: &[u8]) -> impl Strategy<Value = Vec<u8>> {
    let fixture = fixture.to_vec();
    let op = (
        0u8..4,
        any::<Index>(),
        any::<Index>(),
        prop::collection::vec(any::<u8>(), 1..8),
    );
    prop::collection::vec(op, 1..=3).prop_map(move |ops| {
        let mut bytes = fixture.clone();
        for (kind, a, b, insert) in ops {
            let len = bytes.len().max(1);
            let (i, j) = (a.index(len), b.index(len));
            match kind {
                0 => bytes.truncate(i),
                1 if !bytes.is_empty() => {
                    let at = i.min(bytes.len() - 1);
                    bytes[at] ^= insert[0] | 1;
                }
                2 => {
                    let at = i.min(bytes.len());
                    bytes.splice(at..at, insert);
                }
                _ => {
                    let (lo, hi) = (i.min(j).min(bytes.len()), i.max(j).min(bytes.len()));
                    bytes.drain(lo..hi);
                }
            }
        }
        bytes
    })
}

/// A step from a JSON node to one of its children.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every node, the root first.
fn node_paths(doc: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(Step::Key(k.clone()));
                    walk(child, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    at.push(Step::Index(i));
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

fn apply(doc: &mut Value, path: &[Step], edit: Edit) {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = match edit {
            Edit::Replace(v) => v,
            Edit::Remove | Edit::Retype => Value::Null,
        };
        return;
    };
    let mut parent = &mut *doc;
    for step in parent_path {
        let child = match (step, parent) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        let Some(child) = child else { return };
        parent = child;
    }
    match (edit, last, parent) {
        (Edit::Remove, Step::Key(k), Value::Object(m)) => {
            m.remove(k);
        }
        (Edit::Remove, Step::Index(i), Value::Array(a)) => {
            a.remove(*i);
        }
        (edit, Step::Key(k), Value::Object(m)) => retype_or_replace(m.get_mut(k), edit),
        (edit, Step::Index(i), Value::Array(a)) => retype_or_replace(a.get_mut(*i), edit),
        _ => {}
    }
}

fn retype_or_replace(node: Option<&mut Value>, edit: Edit) {
    let Some(node) = node else { return };
    *node = match edit {
        Edit::Replace(v) => v,
        Edit::Remove => Value::Null,
        Edit::Retype => match &*node {
            Value::Number(n) => Value::String(n.to_string()),
            Value::String(s) => s.parse::<i64>().map_or(Value::Null, Value::from),
            Value::Bool(b) => Value::String(b.to_string()),
            _ => Value::Bool(true),
        },
    };
}

/// The property of a response parser, for any body: decoding it as `T` (as the
/// connector does, with [`decode_json`]) and mapping the result with `map` never
/// panics; every point it yields passes the schema's validation; and a body that
/// does not decode is a [`ConnectorError::Decode`] naming the URL path and either
/// the field that did not fit (valid JSON) or the line and column (not JSON).
/// Panics, with the body, when any of that fails: the form a fuzz target needs.
pub fn check_response<T: DeserializeOwned>(
    body: &[u8],
    map: impl FnOnce(T) -> Result<Vec<Point>, String>,
) {
    let shown = String::from_utf8_lossy(body);
    match decode_json::<T>(PATH, body) {
        Ok(value) => match map(value) {
            Ok(points) => {
                for point in points {
                    if let Err(e) = point.validate() {
                        panic!("a point that fails the schema ({e}) from {shown}");
                    }
                }
            }
            Err(message) => assert!(
                !message.trim().is_empty(),
                "an empty error for a decoded body: {shown}"
            ),
        },
        Err(ConnectorError::Decode { path, message, .. }) => {
            assert_eq!(path, PATH);
            match serde_json::from_slice::<Value>(body) {
                Ok(value) => assert!(
                    message.contains('`') || is_about_the_whole_body(&message, &value),
                    "a decode error that names no field: {message:?} for {shown}"
                ),
                Err(_) => assert!(
                    message.contains(" line ") && message.contains(" column "),
                    "a syntax error without its place: {message:?} for {shown}"
                ),
            }
        }
        Err(other) => panic!("decoding gave {other:?}, not a decode error, for {shown}"),
    }
}

/// Whether a message without a field name is about the body as a whole: the
/// top-level value is of the wrong type (`invalid type: map, expected a sequence`)
/// or an array too short or too long to read as the expected object.
fn is_about_the_whole_body(message: &str, body: &Value) -> bool {
    if body.is_array()
        && (message.starts_with("invalid length ") || message.starts_with("trailing characters"))
    {
        return true;
    }
    let unexpected: &[&str] = match body {
        Value::Null => &["null", "unit"],
        Value::Bool(_) => &["boolean"],
        Value::Number(_) => &["integer", "floating point"],
        Value::String(_) => &["string"],
        Value::Array(_) => &["sequence"],
        Value::Object(_) => &["map"],
    };
    unexpected
        .iter()
        .any(|kind| message.starts_with(&format!("invalid type: {kind}")))
}
