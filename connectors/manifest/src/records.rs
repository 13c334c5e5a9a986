//! Records (primitive 4): which parts of a response are the things a stream
//! lists, pure.

use crate::template::{path_text, walk, Seg};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Where the records are in a response.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Body path of the records (empty: the body).
    pub path: Vec<Seg>,
    /// Array field whose elements become the records.
    pub explode: Option<Vec<Seg>>,
    /// Header and row paths of a columnar answer.
    pub columnar: Option<(Vec<Seg>, Vec<Seg>)>,
}

/// One record and the object it was exploded from.
pub type Record<'a> = (Cow<'a, Value>, Option<&'a Value>);

/// What a response held.
#[derive(Debug, Default)]
pub struct Selected<'a> {
    /// The records, in response order.
    pub records: Vec<Record<'a>>,
    /// Set when the path matched nothing: worth a warning, not an error.
    pub nothing_at: Option<String>,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shown(path: &[Seg]) -> String {
    if path.is_empty() {
        "the body".to_string()
    } else {
        format!("`{}`", path_text(path))
    }
}

impl Selector {
    /// The records of `body`, or a message naming the path whose value has the wrong type.
    pub fn select<'a>(&self, body: &'a Value) -> Result<Selected<'a>, String> {
        let mut out = Selected::default();
        if let Some((columns, rows)) = &self.columnar {
            out.records = columnar(body, columns, rows)?
                .into_iter()
                .map(|r| (Cow::Owned(r), None))
                .collect();
            return Ok(out);
        }
        let found = walk(body, &self.path).filter(|v| !v.is_null());
        let Some(found) = found else {
            out.nothing_at = Some(shown(&self.path));
            return Ok(out);
        };
        let base: Vec<&'a Value> = match found {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![found],
            other => {
                return Err(format!(
                    "{} is {}, expected an array of records or an object",
                    shown(&self.path),
                    kind(other)
                ))
            }
        };
        match &self.explode {
            None => out.records = base.into_iter().map(|r| (Cow::Borrowed(r), None)).collect(),
            Some(field) => {
                for parent in base {
                    match walk(parent, field) {
                        None | Some(Value::Null) => {}
                        Some(Value::Array(items)) => {
                            out.records
                                .extend(items.iter().map(|i| (Cow::Borrowed(i), Some(parent))));
                        }
                        Some(other) => {
                            return Err(format!(
                                "`{}` of a record is {}, expected an array to explode",
                                path_text(field),
                                kind(other)
                            ))
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Rows of a header/row answer as objects keyed by column name.
fn columnar(body: &Value, columns: &[Seg], rows: &[Seg]) -> Result<Vec<Value>, String> {
    let names: Vec<String> = match walk(body, columns) {
        Some(Value::Array(headers)) => headers
            .iter()
            .map(|h| match h {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("a header in `{}` has no `name`", path_text(columns))),
                other => Err(format!(
                    "a header in `{}` is {}, expected a string or an object with `name`",
                    path_text(columns),
                    kind(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(other) => {
            return Err(format!(
                "`{}` is {}, expected an array of column headers",
                path_text(columns),
                kind(other)
            ))
        }
    };
    match walk(body, rows) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(rows_in)) => rows_in
            .iter()
            .map(|row| match row {
                Value::Array(cells) => Ok(Value::Object(
                    names
                        .iter()
                        .cloned()
                        .zip(cells.iter().cloned())
                        .collect::<Map<String, Value>>(),
                )),
                other => Err(format!(
                    "a row in `{}` is {}, expected an array of cells",
                    path_text(rows),
                    kind(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "`{}` is {}, expected an array of rows",
            path_text(rows),
            kind(other)
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::template::parse_path;
    use serde_json::json;

    fn sel(path: &str) -> Selector {
        Selector {
            path: parse_path(path).unwrap(),
            ..Selector::default()
        }
    }

    #[test]
    fn arrays_objects_and_nothing() {
        let body = json!({"feed": [{"a": 1}, {"a": 2}], "one": {"a": 3}, "bad": "x"});
        assert_eq!(sel("feed").select(&body).unwrap().records.len(), 2);
        assert_eq!(sel("one").select(&body).unwrap().records.len(), 1);
        let none = sel("missing").select(&body).unwrap();
        assert!(none.records.is_empty());
        assert_eq!(none.nothing_at.as_deref(), Some("`missing`"));
        assert_eq!(
            sel("bad").select(&body).unwrap_err(),
            "`bad` is a string, expected an array of records or an object"
        );
    }

    #[test]
    fn explode_keeps_the_parent_and_columnar_names_cells() {
        let body = json!({"events": [{"id": "e1", "classes": [{"sold": 3}, {"sold": 4}]}]});
        let mut s = sel("events");
        s.explode = Some(parse_path("classes").unwrap());
        let got = s.select(&body).unwrap();
        assert_eq!(got.records.len(), 2);
        assert_eq!(got.records[1].0["sold"], 4);
        assert_eq!(got.records[1].1.unwrap()["id"], "e1");

        let body = json!({"columnHeaders": [{"name": "day"}, {"name": "views"}], "rows": [["2026-06-01", 7]]});
        let s = Selector {
            columnar: Some((
                parse_path("columnHeaders").unwrap(),
                parse_path("rows").unwrap(),
            )),
            ..Selector::default()
        };
        let got = s.select(&body).unwrap();
        assert_eq!(
            got.records[0].0.as_ref(),
            &json!({"day": "2026-06-01", "views": 7})
        );
    }
}
