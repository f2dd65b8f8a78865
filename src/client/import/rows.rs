//! What the readers produce: the input and its format, a header of column names, and rows of
//! cells with their physical line and source text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::RowError;

/// The two file formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-, semicolon-, tab- or pipe-separated values with a header row.
    Csv,
    /// One JSON object per line; its top-level keys are the columns.
    Jsonl,
}

/// Where rows come from: a file, or standard input (`-` on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// `-` is standard input; anything else is a file path.
    pub fn from_arg(arg: &Path) -> Input {
        if arg == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    /// The file's base name (`stdin` for standard input): the file identity behind derived ids,
    /// so a moved file keeps its ids.
    pub fn identity(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_string(),
            Input::File(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
        }
    }

    /// How the input is named in messages: its path as given, or `-`.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// The size in bytes, when the input is a file.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        }
    }

    /// The format its extension implies (`.jsonl`, `.ndjson`, `.csv`, `.tsv`), if any.
    pub(super) fn format_by_extension(&self) -> Option<Format> {
        let Input::File(path) = self else {
            return None;
        };
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" | "tsv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// How to read an input; `None` fields are detected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Otherwise from the extension, else sniffed: a first non-blank `{` means JSON Lines.
    pub format: Option<Format>,
    /// Otherwise sniffed from the CSV header line.
    pub delimiter: Option<u8>,
}

/// Column names, in the order they were first seen (for JSON Lines the header grows as new keys
/// appear).
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub(super) names: Vec<String>,
    positions: HashMap<String, usize>,
}

impl Header {
    /// A CSV header: names by field position; a repeated name refers to its first field.
    pub(super) fn from_names(names: impl IntoIterator<Item = String>) -> Header {
        let names: Vec<String> = names.into_iter().collect();
        let mut positions = HashMap::with_capacity(names.len());
        for (position, name) in names.iter().enumerate() {
            positions.entry(name.clone()).or_insert(position);
        }
        Header { names, positions }
    }

    /// Every column name.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The position of a column, if the header has it.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }

    pub(super) fn position_or_insert(&mut self, name: &str) -> usize {
        if let Some(position) = self.position(name) {
            return position;
        }
        self.names.push(name.to_string());
        self.positions
            .insert(name.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// One row: its values by header position, where it starts, and its source text for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Physical line the row starts on, 1-based (a CSV header is line 1).
    pub line: u64,
    pub(super) values: Vec<String>,
    /// The row's source text (a CSV record without its line terminator; a JSON line).
    pub raw: String,
}

impl Row {
    /// The trimmed value of a column; empty when the row lacks it.
    pub fn get(&self, header: &Header, column: &str) -> &str {
        header
            .position(column)
            .and_then(|position| self.values.get(position))
            .map_or("", |value| value.trim())
    }

    /// Every `(column, trimmed value)` pair with a column name and a value, in header order.
    pub fn cells<'a>(&'a self, header: &'a Header) -> impl Iterator<Item = (&'a str, &'a str)> {
        header
            .names()
            .iter()
            .zip(&self.values)
            .map(|(name, value)| (name.as_str(), value.trim()))
            .filter(|(name, value)| !name.is_empty() && !value.is_empty())
    }
}

/// What reading the next row gave.
#[derive(Debug)]
pub enum NextRow {
    Row(Row),
    /// A row that cannot be read (invalid UTF-8, invalid JSON); reading goes on after it.
    Bad(RowError),
    End,
}
