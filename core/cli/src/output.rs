//! Printing data as an aligned table, CSV or JSON.

use clap::ValueEnum;

/// How data commands print their rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array.
    Json,
}

/// Rows of named columns, printed in any [`Format`].
pub struct Rows {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Rows {
    /// Rows with these column names.
    pub fn new(headers: Vec<&'static str>) -> Rows {
        Rows {
            headers,
            rows: Vec::new(),
        }
    }

    /// Adds a row (one cell per header).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Renders the rows.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn table(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
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
        let mut out = line(self.headers.clone());
        out += &line(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect(),
        );
        for row in &self.rows {
            out += &line(row.iter().map(String::as_str).collect());
        }
        out
    }

    fn csv(&self) -> String {
        let escape = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = self.headers.join(",") + "\n";
        for row in &self.rows {
            out += &(row.iter().map(|c| escape(c)).collect::<Vec<_>>().join(",") + "\n");
        }
        out
    }

    fn json(&self) -> String {
        let items: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let map = self
                    .headers
                    .iter()
                    .zip(row)
                    .map(|(h, c)| {
                        let value = c.parse::<f64>().map_or_else(
                            |_| serde_json::Value::String(c.clone()),
                            serde_json::Value::from,
                        );
                        (h.to_string(), value)
                    })
                    .collect();
                serde_json::Value::Object(map)
            })
            .collect();
        serde_json::to_string_pretty(&items).unwrap_or_default() + "\n"
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

    fn rows() -> Rows {
        let mut r = Rows::new(vec!["source", "value"]);
        r.push(vec!["a,b".into(), "12".into()]);
        r
    }

    #[test]
    fn csv_quotes_commas_and_json_keeps_numbers() {
        assert_eq!(rows().render(Format::Csv), "source,value\n\"a,b\",12\n");
        assert!(rows().render(Format::Json).contains("\"value\": 12.0"));
    }

    #[test]
    fn a_cell_wider_than_any_format_width_is_printed_whole() {
        let mut r = Rows::new(vec!["entity", "value"]);
        let long = "x".repeat(70_000);
        r.push(vec![long.clone(), "1".into()]);
        r.push(vec!["short".into(), "2".into()]);
        let t = r.render(Format::Table);
        assert_eq!(t.lines().nth(2), Some(format!("{long}  1").as_str()));
        assert!(t.lines().nth(3).is_some_and(|l| l.len() == 70_003));
    }

    #[test]
    fn table_aligns_columns() {
        let t = rows().render(Format::Table);
        assert_eq!(t.lines().next(), Some("source  value"));
        assert_eq!(t.lines().nth(2), Some("a,b     12"));
    }
}
