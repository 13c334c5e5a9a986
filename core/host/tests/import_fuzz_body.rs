//! What must hold for any file given to `tally import`, run by the property tests
//! (`import_properties.rs`) and by the fuzz target `import` (`fuzz/`).

use tally_host::import::{parse, Format, ImportError, ImportErrors};

/// Reads `text` as CSV and as JSON Lines: never a panic; every row read is a
/// point that passes the schema; every refusal names the file and a line of it.
pub fn rows(text: &str) {
    let lines = text.split('\n').count() as u64;
    for (file, format) in [("fuzz.csv", Format::Csv), ("fuzz.jsonl", Format::JsonLines)] {
        match parse(file, text, format, &|_| chrono_tz::America::Chicago) {
            Ok(rows) => {
                for row in rows {
                    assert!((1..=lines).contains(&row.line), "row at line {}", row.line);
                    if let Err(e) = row.point.validate() {
                        panic!("{file}: an imported point fails the schema ({e}) from {text:?}");
                    }
                }
            }
            Err(ImportErrors(errors)) => {
                assert!(!errors.is_empty());
                for e in errors {
                    let (named, message) = match &e {
                        ImportError::Row {
                            file: named,
                            line,
                            message,
                        } => {
                            assert!((1..=lines).contains(line), "{e} is past line {lines}");
                            (named, message)
                        }
                        ImportError::File {
                            file: named,
                            message,
                        } => (named, message),
                    };
                    assert_eq!(named, file);
                    assert!(!message.trim().is_empty(), "{e}");
                }
            }
        }
    }
}

/// The fuzz target's entry: the bytes as the text of a file.
pub fn any(data: &[u8]) {
    rows(&String::from_utf8_lossy(data));
}
