//! What an import tells afterwards: the error report of refused rows, and the summary.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{ImportError, RowError};

/// The `--errors` file: a CSV with one row per refused row, header `line,column,reason,raw`
/// (with a leading `file` column when an import reads several inputs). Rows refused by the reader
/// come in reading order, rows refused by the server when the server answers for them.
pub struct ErrorReport {
    path: PathBuf,
    writer: csv::Writer<File>,
    names_inputs: bool,
}

impl ErrorReport {
    /// Creates (or truncates) the report and writes its header.
    pub fn create(path: &Path, names_inputs: bool) -> Result<ErrorReport, ImportError> {
        let failed = |source| ImportError::Report {
            path: path.to_path_buf(),
            source,
        };
        let mut writer = csv::Writer::from_path(path).map_err(failed)?;
        let header: &[&str] = if names_inputs {
            &["file", "line", "column", "reason", "raw"]
        } else {
            &["line", "column", "reason", "raw"]
        };
        writer.write_record(header).map_err(failed)?;
        Ok(ErrorReport {
            path: path.to_path_buf(),
            writer,
            names_inputs,
        })
    }

    /// Appends one refused row of `input`.
    pub fn record(&mut self, input: &str, error: &RowError) -> Result<(), ImportError> {
        let line = error.line.to_string();
        let mut fields = vec![
            line.as_str(),
            error.column.as_str(),
            error.reason.as_str(),
            error.raw.as_str(),
        ];
        if self.names_inputs {
            fields.insert(0, input);
        }
        self.writer
            .write_record(&fields)
            .map_err(|source| self.failed(source))
    }

    /// Flushes the report to disk.
    pub fn finish(mut self) -> Result<(), ImportError> {
        self.writer
            .flush()
            .map_err(|e| self.failed(csv::Error::from(e)))
    }

    fn failed(&self, source: csv::Error) -> ImportError {
        ImportError::Report {
            path: self.path.clone(),
            source,
        }
    }
}

/// The counts of an import. `read` = `imported` + `duplicates` + `rejected` + `conflicts` unless
/// the import stopped early (`--strict`, or a server failure).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Rows read, refused ones included.
    pub read: u64,
    /// Rows stored as new verbatims.
    pub imported: u64,
    /// Rows whose external id was already stored (a re-run, or a repeated id in the file).
    pub duplicates: u64,
    /// Rows refused by the reader or by the server.
    pub rejected: u64,
    /// Rows whose external id is already the key of a stored verbatim with other content: nothing
    /// was stored for them (a reused or mistaken id column).
    pub conflicts: u64,
    /// Rows whose id (from the id column) repeats an earlier row's in this import.
    pub repeated_ids: u64,
    /// Rejections the server counted without listing them (beyond its `max_reported_failures`),
    /// so they are missing from the error report.
    pub unlisted_rejections: u64,
    /// `--strict` stopped the import at the first refused row.
    pub stopped_early: bool,
    pub elapsed_seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
}

impl Summary {
    /// True when every row read was stored (as new or as a duplicate).
    pub fn is_clean(&self) -> bool {
        self.rejected == 0 && self.conflicts == 0 && !self.stopped_early
    }

    /// The summary as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary serialises")
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {}, imported {}, duplicates {}, rejected {}, conflicts {}, elapsed {:.2} s, {:.0} rows/s",
            self.read,
            self.imported,
            self.duplicates,
            self.rejected,
            self.conflicts,
            self.elapsed_seconds,
            self.rows_per_second
        )?;
        if self.unlisted_rejections > 0 {
            write!(
                f,
                " ({} rejections not itemised by the server)",
                self.unlisted_rejections
            )?;
        }
        if self.stopped_early {
            write!(f, "; stopped at the first refused row (--strict)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_rows_are_csv_with_the_raw_row_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errors.csv");
        let mut report = ErrorReport::create(&path, false).unwrap();
        report
            .record(
                "a.csv",
                &RowError {
                    line: 7,
                    column: "when".into(),
                    reason: "unparseable date \"soon\"".into(),
                    raw: "3,\"slow, very\",soon".into(),
                },
            )
            .unwrap();
        report.finish().unwrap();
        let mut rows = csv::Reader::from_path(&path).unwrap();
        assert_eq!(
            rows.headers().unwrap(),
            vec!["line", "column", "reason", "raw"]
        );
        let row = rows.records().next().unwrap().unwrap();
        assert_eq!(
            row,
            vec![
                "7",
                "when",
                "unparseable date \"soon\"",
                "3,\"slow, very\",soon"
            ]
        );
    }

    #[test]
    fn summary_reads_as_text_and_json() {
        let summary = Summary {
            read: 10,
            imported: 7,
            duplicates: 2,
            rejected: 1,
            elapsed_seconds: 0.5,
            rows_per_second: 20.0,
            ..Summary::default()
        };
        assert_eq!(
            summary.to_string(),
            "read 10, imported 7, duplicates 2, rejected 1, conflicts 0, elapsed 0.50 s, 20 rows/s"
        );
        assert!(!summary.is_clean());
        let conflicted = Summary {
            rejected: 0,
            conflicts: 1,
            ..summary.clone()
        };
        assert!(!conflicted.is_clean(), "a conflicting row was not stored");
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["imported"], 7);
        assert_eq!(json["rows_per_second"], 20.0);
    }
}
