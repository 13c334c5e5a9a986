//! Printing data as an aligned table, CSV, JSON or JSON Lines.
//!
//! A table is for people; CSV, JSON and JSON Lines are for programs, so each
//! cell carries two forms: the text a person reads (`2026-06-05 14:00:00`,
//! `-`) and the typed value a program reads (an RFC 3339 time, `null`, an
//! integer, an id as a string, dimensions as an object). JSON is built from
//! the typed values, never parsed back out of the text.

use chrono::{DateTime, SecondsFormat, Utc};
use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How data commands print their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values with a header row of the JSON keys.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line, for streams (`jq -c`, log shippers, `tally import`).
    Jsonl,
}

impl Format {
    /// Whether the format is JSON or JSON Lines.
    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::Jsonl)
    }
}

/// Prints `items` as a JSON array (`json`) or one object per line (`jsonl`);
/// for commands whose JSON is a serialized model rather than table rows.
pub fn json_items<T: Serialize>(items: &[T], format: Format) -> anyhow::Result<String> {
    if format == Format::Jsonl {
        let mut out = String::new();
        for item in items {
            out += &serde_json::to_string(item)?;
            out.push('\n');
        }
        Ok(out)
    } else {
        Ok(serde_json::to_string_pretty(items)? + "\n")
    }
}

/// One cell: the text a table shows and the typed value JSON carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    text: String,
    value: Value,
}

impl Cell {
    /// A cell shown as `text` whose typed value is `value`.
    pub fn new(text: impl Into<String>, value: Value) -> Cell {
        Cell {
            text: text.into(),
            value,
        }
    }

    /// Text, also in JSON (ids stay strings however many digits they have).
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell {
            value: Value::String(text.clone()),
            text,
        }
    }

    /// Text that may be absent: blank in a table, `null` in JSON.
    pub fn opt_text(text: Option<impl Into<String>>) -> Cell {
        text.map_or_else(|| Cell::new("", Value::Null), Cell::text)
    }

    /// A count: an integer in JSON.
    pub fn count(n: u64) -> Cell {
        Cell::new(n.to_string(), Value::from(n))
    }

    /// A measured value: whole numbers without decimals, an integer in JSON
    /// when whole.
    pub fn number(v: f64) -> Cell {
        Cell::new(number(v), json_number(v))
    }

    /// A value that may be unknown: `-` in a table, `null` in JSON.
    pub fn opt_number(v: Option<f64>) -> Cell {
        v.map_or_else(|| Cell::new("-", Value::Null), Cell::number)
    }

    /// A duration in seconds, to the hundredth.
    pub fn seconds(secs: f64) -> Cell {
        let rounded = (secs * 100.0).round() / 100.0;
        Cell::new(format!("{secs:.2}"), Value::from(rounded))
    }

    /// An instant: `2026-06-05 14:00:00` in a table (UTC), RFC 3339 in JSON.
    pub fn time(t: DateTime<Utc>) -> Cell {
        Cell::new(
            t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Value::String(rfc3339(t)),
        )
    }

    /// An instant that may be absent: blank in a table, `null` in JSON.
    pub fn opt_time(t: Option<DateTime<Utc>>) -> Cell {
        t.map_or_else(|| Cell::new("", Value::Null), Cell::time)
    }

    /// Dimensions: `country=US;age=18-24` in a table, an object in JSON.
    pub fn dimensions(dims: &BTreeMap<String, String>) -> Cell {
        let text = dims
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        let object = dims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Cell::new(text, Value::Object(object))
    }

    /// A list: space-separated in a table, an array in JSON.
    pub fn list(items: &[String]) -> Cell {
        Cell::new(
            items.join(" "),
            Value::Array(items.iter().cloned().map(Value::String).collect()),
        )
    }

    /// The CSV field: the typed value's scalar form, the text for lists and objects.
    fn csv(&self) -> String {
        match &self.value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => self.text.clone(),
        }
    }
}

/// An instant as RFC 3339 in UTC with a `Z`, to the second unless it has milliseconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A measured value in JSON: an integer when whole (and exactly representable).
pub fn json_number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

/// One row as a JSON object whose keys come in column order, as the table
/// shows them. Serialized directly: serde_json's own objects sort their keys
/// (keeping them in insertion order instead would make every JSON body a
/// connector decodes hash its keys).
pub struct RowObject<'a> {
    columns: &'a [Column],
    row: &'a [Cell],
}

impl Serialize for RowObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (column, cell) in self.columns.iter().zip(self.row) {
            map.serialize_entry(column.key, &cell.value)?;
        }
        map.end()
    }
}

/// A column: its title in a table and its key in JSON and CSV.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    title: &'static str,
    key: &'static str,
}

impl From<&'static str> for Column {
    fn from(name: &'static str) -> Column {
        Column {
            title: name,
            key: name,
        }
    }
}

impl From<(&'static str, &'static str)> for Column {
    fn from((title, key): (&'static str, &'static str)) -> Column {
        Column { title, key }
    }
}

/// Rows of named columns, printed in any [`Format`].
pub struct Rows {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Rows {
    /// Rows with these columns: a name, or a (table title, JSON key) pair.
    pub fn new<C: Into<Column>>(columns: impl IntoIterator<Item = C>) -> Rows {
        Rows {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per column).
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Renders the rows.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Csv => self.csv(),
            Format::Json => {
                serde_json::to_string_pretty(&self.objects()).unwrap_or_default() + "\n"
            }
            Format::Jsonl => self
                .objects()
                .iter()
                .map(|o| serde_json::to_string(o).unwrap_or_default() + "\n")
                .collect(),
        }
    }

    /// Each row as a JSON object keyed by the columns' keys, in column order.
    pub fn objects(&self) -> Vec<RowObject<'_>> {
        self.rows
            .iter()
            .map(|row| RowObject {
                columns: &self.columns,
                row,
            })
            .collect()
    }

    fn table(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.title.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.text.chars().count());
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                // Padded by hand: `format!`'s width is limited to u16, and a
                // cell (an imported id) may be longer than any width it takes.
                .map(|(c, w)| {
                    let pad = w.saturating_sub(c.chars().count());
                    format!("{c}{}", " ".repeat(pad))
                })
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(self.columns.iter().map(|c| c.title).collect());
        let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out += &line(rules.iter().map(String::as_str).collect());
        for row in &self.rows {
            out += &line(row.iter().map(|c| c.text.as_str()).collect());
        }
        out
    }

    fn csv(&self) -> String {
        let escape = |s: &str| {
            // A carriage return ends a record for CSV readers, like a newline.
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let keys: Vec<&str> = self.columns.iter().map(|c| c.key).collect();
        let mut out = keys.join(",") + "\n";
        for row in &self.rows {
            out += &(row
                .iter()
                .map(|c| escape(&c.csv()))
                .collect::<Vec<_>>()
                .join(",")
                + "\n");
        }
        out
    }
}

/// A value without a trailing `.0` for whole numbers.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object's keys in the order the text gives them.
    struct KeysInOrder(Vec<String>);

    impl<'de> serde::Deserialize<'de> for KeysInOrder {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = KeysInOrder;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<KeysInOrder, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                        keys.push(key);
                    }
                    Ok(KeysInOrder(keys))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }

    fn rows() -> Rows {
        let mut r = Rows::new([("source", "source"), ("started (UTC)", "started_at")]);
        let t = DateTime::parse_from_rfc3339("2026-06-05T14:00:00Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        r.push(vec![Cell::text("a,b"), Cell::time(t)]);
        r
    }

    #[test]
    fn csv_quotes_commas_and_uses_keys_and_rfc3339() {
        assert_eq!(
            rows().render(Format::Csv),
            "source,started_at\n\"a,b\",2026-06-05T14:00:00Z\n"
        );
    }

    #[test]
    fn a_cell_wider_than_any_format_width_is_printed_whole() {
        let mut r = Rows::new(["entity", "value"]);
        let long = "x".repeat(70_000);
        r.push(vec![Cell::text(long.clone()), Cell::count(1)]);
        r.push(vec![Cell::text("short"), Cell::count(2)]);
        let t = r.render(Format::Table);
        assert_eq!(t.lines().nth(2), Some(format!("{long}  1").as_str()));
        assert!(t.lines().nth(3).is_some_and(|l| l.len() == 70_003));
    }

    #[test]
    fn json_is_typed_from_the_data_not_the_text() {
        let mut r = Rows::new(["id", "run", "value", "dimensions", "reason"]);
        r.push(vec![
            Cell::text("117222711073972136"),
            Cell::count(5),
            Cell::number(2.5),
            Cell::dimensions(&BTreeMap::new()),
            Cell::opt_text(None::<String>),
        ]);
        assert_eq!(
            r.render(Format::Jsonl),
            "{\"id\":\"117222711073972136\",\"run\":5,\"value\":2.5,\"dimensions\":{},\"reason\":null}\n"
        );
    }

    #[test]
    fn table_aligns_columns_under_titles() {
        let t = rows().render(Format::Table);
        assert_eq!(t.lines().next(), Some("source  started (UTC)"));
        assert_eq!(t.lines().nth(2), Some("a,b     2026-06-05 14:00:00"));
    }

    /// Rows of three columns whose cells are any text, any finite number or nothing.
    fn any_rows() -> impl proptest::strategy::Strategy<Value = Vec<Vec<Cell>>> {
        use proptest::prelude::*;
        let cell = prop_oneof![
            any::<String>().prop_map(Cell::text),
            "[a-z,\"\r\n ]{0,6}".prop_map(Cell::text),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(Cell::number),
            Just(Cell::opt_text(None::<String>)),
        ];
        prop::collection::vec(prop::collection::vec(cell, 3), 0..6)
    }

    fn render(cells: &[Vec<Cell>], format: Format) -> String {
        let mut r = Rows::new([
            ("source", "source"),
            ("value (n)", "value"),
            ("note", "note"),
        ]);
        for row in cells {
            r.push(row.clone());
        }
        r.render(format)
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn csv_of_any_cells_reads_back_as_the_same_fields(cells in any_rows()) {
            let text = render(&cells, Format::Csv);
            let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
            proptest::prop_assert_eq!(headers, vec!["source", "value", "note"]);
            let records: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect();
            let expected: Vec<Vec<String>> =
                cells.iter().map(|row| row.iter().map(Cell::csv).collect()).collect();
            proptest::prop_assert_eq!(records, expected, "{}", text);
        }

        #[test]
        fn json_and_jsonl_of_any_cells_are_the_typed_values_under_the_keys(cells in any_rows()) {
            let expected: Vec<Value> = cells
                .iter()
                .map(|row| serde_json::json!({
                    "source": row[0].value, "value": row[1].value, "note": row[2].value,
                }))
                .collect();
            let json: Vec<Value> = serde_json::from_str(&render(&cells, Format::Json)).unwrap();
            proptest::prop_assert_eq!(&json, &expected);
            let jsonl = render(&cells, Format::Jsonl);
            let lines: Vec<Value> = jsonl
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            proptest::prop_assert_eq!(&lines, &expected);
            for line in jsonl.lines() {
                let keys: KeysInOrder = serde_json::from_str(line).unwrap();
                proptest::prop_assert_eq!(keys.0, vec!["source", "value", "note"]);
            }
        }
    }
}
