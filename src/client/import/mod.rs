//! Bulk import: reads CSV and JSON Lines files row by row, maps columns to verbatim fields, and
//! streams them to a server over `StreamVerbatims`. Never touches the store directly; everything
//! goes through the gRPC API, so the server's validation and idempotency apply to every row.
//!
//! - [`readers`]: CSV (delimiter sniffed) and JSON Lines, with physical line numbers (`rows`:
//!   what they produce).
//! - [`mapping`]: columns → fields; `row_mapper`: one row → a verbatim, row checks, stable
//!   derived external ids (resume).
//! - [`time`]: timestamp formats, including `--time-format` patterns.
//! - [`stream`]: batches over successive `StreamVerbatims` calls, bounded queues, the API key.
//! - [`progress`], [`report`]: what the user sees during and after an import.
//! - `run` (the import itself) and `dry_run` (`--dry-run`).

mod dry_run;
pub mod mapping;
pub mod progress;
pub mod readers;
pub mod report;
mod row_mapper;
mod rows;
mod run;
pub mod stream;
pub mod time;

use std::path::{Path, PathBuf};

pub use dry_run::dry_run;
pub use mapping::{Mapping, MetadataColumns, RowMapper, Score, TagDimension};
pub use progress::ProgressStyle;
pub use readers::{Format, Input, ReadOptions};
pub use report::Summary;
pub use run::run;
pub use stream::{stream_items, IngestClient};
pub use time::{parse_timestamp, TimeFormat};

use crate::proto;
use readers::{NextRow, RowReader};

/// The prefix of the external ids derived for rows that bring none.
pub const DERIVED_ID_PREFIX: &str = "imp-";

/// Import errors: an input, the mapping, the error report, or the server. A single bad row is
/// not an error: it becomes a [`RowError`] and the import goes on.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {input}: {source}")]
    Io {
        input: String,
        source: std::io::Error,
    },
    #[error("cannot read {input}: {source}")]
    Csv { input: String, source: csv::Error },
    #[error("{0} is empty: a csv file needs a header row")]
    Empty(String),
    #[error("column {column:?} is not in the header of {input} (columns: {found})")]
    MissingColumn {
        column: String,
        input: String,
        found: String,
    },
    #[error("invalid time format {pattern:?}: {reason}")]
    TimeFormat { pattern: String, reason: String },
    #[error("cannot write the error report {path}: {source}")]
    Report { path: PathBuf, source: csv::Error },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    #[error(
        "the server failed the import: {status} ({acknowledged} rows were stored or found \
         stored before; running the same import again imports the rest)"
    )]
    Server {
        status: tonic::Status,
        acknowledged: u64,
    },
}

/// A row that could not be turned into a verbatim, or that the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based physical line the row starts on (a CSV header is line 1).
    pub line: u64,
    /// The offending column (empty when the whole row is unreadable).
    pub column: String,
    pub reason: String,
    /// The row as text (JSON line, or CSV record re-encoded with the file's delimiter).
    pub raw: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.reason)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.reason
            )
        }
    }
}

/// Everything an import needs besides the server connection.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Read one after the other.
    pub inputs: Vec<Input>,
    pub read: ReadOptions,
    pub mapping: Mapping,
    /// Items per stream message (at most the server's `limits.max_batch_items`).
    pub batch_size: usize,
    /// Stop at the first refused row.
    pub strict: bool,
    /// Write refused rows to this CSV file.
    pub errors: Option<PathBuf>,
    pub progress: ProgressStyle,
}

/// One step of reading and mapping an input.
#[derive(Debug)]
pub enum Mapped {
    Row {
        line: u64,
        raw: String,
        item: Box<proto::NewVerbatim>,
    },
    /// A row the reader or the mapping refused; reading goes on after it.
    Refused(RowError),
    End,
}

/// The rows of one input, read and mapped one at a time.
pub struct MappedRows<'a> {
    input: &'a Input,
    reader: RowReader,
    mapper: RowMapper<'a>,
}

impl<'a> MappedRows<'a> {
    /// Opens an input and, for CSV, checks that its header has every mapped column.
    pub fn open(
        input: &'a Input,
        options: ReadOptions,
        mapping: &'a Mapping,
    ) -> Result<MappedRows<'a>, ImportError> {
        let reader = RowReader::open(input, options)?;
        if reader.format() == Format::Csv {
            mapping.check_columns(reader.header(), input)?;
        }
        Ok(MappedRows {
            input,
            reader,
            mapper: RowMapper::new(mapping, input),
        })
    }

    /// Reads and maps the next row. An error is the input failing (and ends it).
    pub fn next_row(&mut self) -> Result<Mapped, ImportError> {
        Ok(match self.reader.next_row(self.input)? {
            NextRow::Row(row) => match self.mapper.map(self.reader.header(), &row) {
                Ok(item) => Mapped::Row {
                    line: row.line,
                    raw: row.raw,
                    item: Box::new(item),
                },
                Err(error) => Mapped::Refused(error),
            },
            NextRow::Bad(error) => Mapped::Refused(error),
            NextRow::End => Mapped::End,
        })
    }

    /// Bytes consumed from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// The format, delimiter and columns, in words: `csv, delimiter ';', columns: id, text`.
    pub fn layout(&self) -> String {
        match self.reader.delimiter() {
            Some(delimiter) => format!(
                "csv, delimiter {:?}, columns: {}",
                char::from(delimiter),
                self.reader.header().names().join(", ")
            ),
            None => "json lines".to_string(),
        }
    }
}

/// Which CSV columns become which verbatim fields (the fields the first import tool knew; see
/// [`Mapping`] for all of them).
#[derive(Debug, Clone)]
pub struct CsvMapping {
    pub text: String,
    pub external_id: Option<String>,
    pub created_at: Option<String>,
    pub source: proto::Source,
    /// Columns copied into metadata under their header name.
    pub metadata: Vec<String>,
}

impl From<&CsvMapping> for Mapping {
    fn from(csv: &CsvMapping) -> Mapping {
        Mapping {
            text: csv.text.clone(),
            external_id: csv.external_id.clone(),
            created_at: csv.created_at.clone(),
            source: csv.source,
            metadata: MetadataColumns::from_list(csv.metadata.clone()),
            ..Mapping::default()
        }
    }
}

/// Verbatims read from a file, and the rows that were refused.
#[derive(Debug, Default)]
pub struct ReadRows {
    pub items: Vec<proto::NewVerbatim>,
    pub errors: Vec<RowError>,
}

/// Reads a whole CSV file (delimiter sniffed) into memory as new verbatims, for tests and
/// benchmarks; `tideline import` streams instead.
pub fn read_csv(path: &Path, mapping: &CsvMapping) -> Result<ReadRows, ImportError> {
    let input = Input::File(path.to_path_buf());
    let mapping = Mapping::from(mapping);
    let options = ReadOptions {
        format: Some(Format::Csv),
        delimiter: None,
    };
    let mut rows = MappedRows::open(&input, options, &mapping)?;
    let mut read = ReadRows::default();
    loop {
        match rows.next_row()? {
            Mapped::Row { item, .. } => read.items.push(*item),
            Mapped::Refused(error) => read.errors.push(error),
            Mapped::End => return Ok(read),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_map_to_verbatims_and_bad_rows_are_reported_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(
            &path,
            "id,comment,when,team\n1,great support,2/24/2015 11:35,emea\n2,,2/24/2015 11:36,amer\n3,slow,not a date,amer\n4,\"quoted, with comma\",,\n",
        )
        .unwrap();
        let mapping = CsvMapping {
            text: "comment".into(),
            external_id: Some("id".into()),
            created_at: Some("when".into()),
            source: proto::Source::Survey,
            metadata: vec!["team".into()],
        };
        let rows = read_csv(&path, &mapping).unwrap();
        assert_eq!(rows.items.len(), 2);
        assert_eq!(rows.items[0].external_id, "1");
        assert_eq!(
            rows.items[0].metadata.get("team").map(String::as_str),
            Some("emea")
        );
        assert_eq!(rows.items[1].text, "quoted, with comma");
        assert_eq!(rows.items[1].created_at, None);
        let lines: Vec<_> = rows
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(lines, vec![(3, "comment"), (4, "when")]);
        assert_eq!(rows.errors[1].raw, "3,slow,not a date,amer");
        let missing = CsvMapping {
            text: "body".into(),
            ..mapping
        };
        assert!(matches!(
            read_csv(&path, &missing),
            Err(ImportError::MissingColumn { column, .. }) if column == "body"
        ));
    }
}
