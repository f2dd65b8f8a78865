//! `--dry-run`: shows how the first rows of every input map, field by field, without contacting
//! any server.

use std::io::Write;

use super::mapping::describe;
use super::{ImportError, ImportOptions, Mapped, MappedRows};

/// Reads the first `rows` rows of every input and writes how each maps (`field: value`) or why
/// it is refused. Returns whether every row shown maps.
pub fn dry_run(
    options: &ImportOptions,
    rows: usize,
    out: &mut impl Write,
) -> Result<bool, ImportError> {
    let mut clean = true;
    for input in &options.inputs {
        let mut mapped = MappedRows::open(input, options.read, &options.mapping)?;
        writeln!(out, "{} ({})", input.display(), mapped.layout()).map_err(ImportError::Output)?;
        for _ in 0..rows {
            match mapped.next_row()? {
                Mapped::Row { line, item, .. } => {
                    writeln!(out, "line {line}").map_err(ImportError::Output)?;
                    for (field, value) in describe(&item) {
                        writeln!(out, "  {field}: {}", single_line(&value))
                            .map_err(ImportError::Output)?;
                    }
                }
                Mapped::Refused(error) => {
                    clean = false;
                    writeln!(out, "{error} (refused)").map_err(ImportError::Output)?;
                }
                Mapped::End => break,
            }
        }
    }
    Ok(clean)
}

/// Shows line breaks and tabs as `\n`, `\r`, `\t`, so one field stays on one line.
fn single_line(value: &str) -> String {
    value
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::import::{Format, Input, Mapping, ProgressStyle, ReadOptions};

    #[test]
    fn dry_run_shows_fields_and_refusals_of_the_first_rows_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reviews.jsonl");
        std::fs::write(
            &path,
            "{\"body\": \"two\\nlines\", \"id\": 7}\n{\"id\": 8}\n{\"body\": \"third\"}\n",
        )
        .unwrap();
        let options = ImportOptions {
            inputs: vec![Input::File(path)],
            read: ReadOptions {
                format: Some(Format::Jsonl),
                delimiter: None,
            },
            mapping: Mapping {
                text: "body".into(),
                external_id: Some("id".into()),
                ..Mapping::default()
            },
            batch_size: 10,
            strict: false,
            errors: None,
            progress: ProgressStyle::Quiet,
        };
        let mut out = Vec::new();
        assert!(!dry_run(&options, 2, &mut out).unwrap());
        let out = String::from_utf8(out).unwrap();
        let shown: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            shown,
            [
                "line 1",
                "  text: two\\nlines",
                "  external_id: 7",
                "line 2, column body: missing text (refused)",
            ]
        );
    }
}
