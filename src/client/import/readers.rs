//! File readers: CSV (header row, delimiter sniffed from it) and JSON Lines, row by row, with the
//! physical line number of every row and without holding the file in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};

pub use super::rows::{Format, Header, Input, NextRow, ReadOptions, Row};
use super::{ImportError, RowError};

/// Delimiters a CSV header is sniffed for, in the order that breaks ties.
pub const CSV_DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

const READ_BUFFER_BYTES: usize = 256 * 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads rows from one input.
pub struct RowReader {
    header: Header,
    format: Format,
    bytes_read: u64,
    source: RowSource,
}

enum RowSource {
    Csv {
        records: csv::Reader<Recorder<Box<dyn Read + Send>>>,
        record: csv::ByteRecord,
        delimiter: u8,
    },
    Jsonl {
        lines: Box<dyn BufRead + Send>,
        line_number: u64,
        buffer: Vec<u8>,
    },
}

impl std::fmt::Debug for RowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader")
            .field("format", &self.format)
            .field("delimiter", &self.delimiter().map(char::from))
            .field("header", &self.header.names)
            .finish()
    }
}

impl RowReader {
    /// Opens an input, detects its format and (for CSV) its delimiter, and reads the CSV header.
    pub fn open(input: &Input, options: ReadOptions) -> Result<RowReader, ImportError> {
        let io_error = |source| ImportError::Io {
            input: input.display(),
            source,
        };
        let stream: Box<dyn Read + Send> = match input {
            Input::Stdin => Box::new(std::io::stdin()),
            Input::File(path) => Box::new(File::open(path).map_err(io_error)?),
        };
        let mut buffered = BufReader::with_capacity(READ_BUFFER_BYTES, stream);
        let (prefix, first_line) =
            read_through_first_nonblank_line(&mut buffered).map_err(io_error)?;
        let format = options
            .format
            .or_else(|| input.format_by_extension())
            .unwrap_or(if first_line.trim_ascii_start().starts_with(b"{") {
                Format::Jsonl
            } else {
                Format::Csv
            });
        let whole: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(buffered));
        match format {
            Format::Csv => {
                let delimiter = options
                    .delimiter
                    .unwrap_or_else(|| sniff_delimiter(&first_line));
                let mut records = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .has_headers(false)
                    .from_reader(Recorder::new(whole));
                let mut record = csv::ByteRecord::new();
                let csv_error = |source| ImportError::Csv {
                    input: input.display(),
                    source,
                };
                if !records.read_byte_record(&mut record).map_err(csv_error)? {
                    return Err(ImportError::Empty(input.display()));
                }
                let header_end = records.position().byte();
                records.get_mut().take_through(header_end);
                let header = Header::from_names(
                    record
                        .iter()
                        .map(|name| String::from_utf8_lossy(name).trim().to_string()),
                );
                Ok(RowReader {
                    header,
                    format,
                    bytes_read: records.position().byte(),
                    source: RowSource::Csv {
                        records,
                        record,
                        delimiter,
                    },
                })
            }
            Format::Jsonl => Ok(RowReader {
                header: Header::default(),
                format,
                bytes_read: 0,
                source: RowSource::Jsonl {
                    lines: Box::new(BufReader::new(whole)),
                    line_number: 0,
                    buffer: Vec::new(),
                },
            }),
        }
    }

    /// The columns seen so far: the CSV header, or the JSON keys read up to now.
    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The CSV delimiter; `None` for JSON Lines.
    pub fn delimiter(&self) -> Option<u8> {
        match &self.source {
            RowSource::Csv { delimiter, .. } => Some(*delimiter),
            RowSource::Jsonl { .. } => None,
        }
    }

    /// Bytes consumed from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next row. Errors are input failures (I/O, broken CSV quoting at the end of input)
    /// that end the import; a single unreadable row is [`NextRow::Bad`].
    pub fn next_row(&mut self, input: &Input) -> Result<NextRow, ImportError> {
        match &mut self.source {
            RowSource::Csv {
                records, record, ..
            } => {
                let more = records
                    .read_byte_record(record)
                    .map_err(|source| ImportError::Csv {
                        input: input.display(),
                        source,
                    })?;
                self.bytes_read = records.position().byte();
                if !more {
                    return Ok(NextRow::End);
                }
                let consumed = records.get_mut().take_through(self.bytes_read);
                let line_before = record.position().map_or(1, |p| p.line());
                let (line, text) = locate_record(&consumed, line_before);
                Ok(csv_row(&self.header, record, line, text))
            }
            RowSource::Jsonl {
                lines,
                line_number,
                buffer,
            } => loop {
                buffer.clear();
                let read = lines
                    .read_until(b'\n', buffer)
                    .map_err(|source| ImportError::Io {
                        input: input.display(),
                        source,
                    })?;
                if read == 0 {
                    return Ok(NextRow::End);
                }
                self.bytes_read += read as u64;
                *line_number += 1;
                if buffer.trim_ascii().is_empty() {
                    continue;
                }
                return Ok(json_row(&mut self.header, buffer, *line_number));
            },
        }
    }
}

/// Reads up to and including the first line that is not blank (skipping a UTF-8 byte-order mark).
/// Returns everything read, and that line.
fn read_through_first_nonblank_line(
    input: &mut impl BufRead,
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut prefix = Vec::new();
    loop {
        let start = prefix.len();
        if input.read_until(b'\n', &mut prefix)? == 0 {
            return Ok((prefix, Vec::new()));
        }
        if start == 0 && prefix.starts_with(UTF8_BOM) {
            prefix.drain(..UTF8_BOM.len());
        }
        let line = &prefix[start..];
        if !line.trim_ascii().is_empty() {
            let line = line.to_vec();
            return Ok((prefix, line));
        }
    }
}

/// The delimiter a CSV header line uses: the candidate that occurs most often outside quotes
/// (ties go to the earlier of `,` `;` tab `|`), or `,` when none occurs.
pub fn sniff_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; CSV_DELIMITERS.len()];
    let mut quoted = false;
    for &byte in header_line {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = CSV_DELIMITERS.iter().position(|&d| d == byte) {
                counts[i] += 1;
            }
        }
    }
    let (best, count) =
        counts.iter().enumerate().fold(
            (0, 0),
            |best, (i, &count)| if count > best.1 { (i, count) } else { best },
        );
    if count == 0 {
        b','
    } else {
        CSV_DELIMITERS[best]
    }
}

/// Keeps the bytes the CSV parser has read but not yet accounted for, so that every record's
/// first physical line and source text can be recovered: the csv crate dates a record from where
/// reading started, before the blank lines it skips.
struct Recorder<R> {
    inner: R,
    kept: Vec<u8>,
    /// Offset in the input of `kept[0]`.
    kept_from: u64,
}

impl<R> Recorder<R> {
    fn new(inner: R) -> Recorder<R> {
        Recorder {
            inner,
            kept: Vec::new(),
            kept_from: 0,
        }
    }

    /// Removes and returns the kept bytes before input offset `end`.
    fn take_through(&mut self, end: u64) -> Vec<u8> {
        let count = usize::try_from(end.saturating_sub(self.kept_from))
            .unwrap_or(usize::MAX)
            .min(self.kept.len());
        self.kept_from += count as u64;
        self.kept.drain(..count).collect()
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..read]);
        Ok(read)
    }
}

/// Given the bytes consumed for one record (blank lines, the record, its terminator) and the line
/// reading started on, returns the record's first line and its text without the terminator.
fn locate_record(consumed: &[u8], line_before: u64) -> (u64, &[u8]) {
    let blank = consumed
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let skipped_lines = consumed[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
    let text = &consumed[blank..];
    let end = text.len()
        - text
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
    (line_before + skipped_lines, &text[..end])
}

fn csv_row(header: &Header, record: &csv::ByteRecord, line: u64, text: &[u8]) -> NextRow {
    let raw = String::from_utf8_lossy(text).into_owned();
    let mut values = Vec::with_capacity(record.len());
    for (position, field) in record.iter().enumerate() {
        match std::str::from_utf8(field) {
            Ok(value) => values.push(value.to_string()),
            Err(_) => {
                return NextRow::Bad(RowError {
                    line,
                    column: header.names().get(position).cloned().unwrap_or_default(),
                    reason: "invalid utf-8".into(),
                    raw,
                })
            }
        }
    }
    NextRow::Row(Row { line, values, raw })
}

fn json_row(header: &mut Header, line_bytes: &[u8], line: u64) -> NextRow {
    let text = String::from_utf8_lossy(line_bytes).trim_end().to_string();
    let bad = |reason: String| {
        NextRow::Bad(RowError {
            line,
            column: String::new(),
            reason,
            raw: text.clone(),
        })
    };
    if std::str::from_utf8(line_bytes).is_err() {
        return bad("invalid utf-8".into());
    }
    let object = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => return bad("not a json object".into()),
        Err(e) => return bad(format!("invalid json: {e}")),
    };
    let mut values = vec![String::new(); header.names().len()];
    for (key, value) in object {
        let position = header.position_or_insert(&key);
        if position >= values.len() {
            values.resize(position + 1, String::new());
        }
        values[position] = json_value_text(value);
    }
    NextRow::Row(Row {
        line,
        values,
        raw: text,
    })
}

/// A JSON value as a cell: strings as they are, numbers and booleans as written, `null` empty,
/// arrays and objects as compact JSON.
fn json_value_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn delimiter_is_the_most_frequent_candidate_outside_quotes() {
        assert_eq!(sniff_delimiter(b"id,text,created\n"), b',');
        assert_eq!(sniff_delimiter(b"id;text;created\r\n"), b';');
        assert_eq!(sniff_delimiter(b"id\ttext\tcreated"), b'\t');
        assert_eq!(sniff_delimiter(b"id|text|created"), b'|');
        assert_eq!(sniff_delimiter(b"\"a,b\";\"c,d\";e"), b';');
        assert_eq!(sniff_delimiter(b"id;note, with comma;x"), b';');
        assert_eq!(
            sniff_delimiter(b"a,b;c"),
            b',',
            "ties go to the earlier candidate"
        );
        assert_eq!(sniff_delimiter(b"text"), b',');
    }

    fn write(dir: &Path, name: &str, content: &str) -> Input {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        Input::File(path)
    }

    fn read_all(input: &Input, options: ReadOptions) -> (RowReader, Vec<Result<Row, RowError>>) {
        let mut reader = RowReader::open(input, options).unwrap();
        let mut rows = Vec::new();
        loop {
            match reader.next_row(input).unwrap() {
                NextRow::Row(row) => rows.push(Ok(row)),
                NextRow::Bad(error) => rows.push(Err(error)),
                NextRow::End => return (reader, rows),
            }
        }
    }

    #[test]
    fn csv_rows_carry_physical_lines_and_source_text() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            dir.path(),
            "export.txt",
            "\u{feff}\nid;comment\r\n1;\"two\nlines; quoted\"\n\n\r\n2;plain",
        );
        let (reader, rows) = read_all(&input, ReadOptions::default());
        assert_eq!(reader.format(), Format::Csv);
        assert_eq!(reader.delimiter(), Some(b';'));
        assert_eq!(reader.header().names(), ["id", "comment"]);
        let rows: Vec<Row> = rows.into_iter().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (3, 7));
        assert_eq!(
            rows[0].get(reader.header(), "comment"),
            "two\nlines; quoted"
        );
        assert_eq!(rows[0].raw, "1;\"two\nlines; quoted\"");
        assert_eq!(rows[1].get(reader.header(), "missing"), "");
    }

    #[test]
    fn json_lines_are_sniffed_and_keys_become_columns() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            dir.path(),
            "export.data",
            "{\"text\": \"hi\", \"nps\": 9}\n\nnot json\n[1]\n{\"text\": \"yo\", \"vip\": true, \"nps\": null, \"tags\": [\"a\"]}\n",
        );
        let (reader, rows) = read_all(&input, ReadOptions::default());
        assert_eq!(reader.format(), Format::Jsonl);
        let header = reader.header();
        let first = rows[0].as_ref().unwrap();
        assert_eq!((first.line, first.get(header, "nps")), (1, "9"));
        let errors: Vec<_> = rows[1..3]
            .iter()
            .map(|r| r.as_ref().unwrap_err().line)
            .collect();
        assert_eq!(errors, [3, 4]);
        let last = rows[3].as_ref().unwrap();
        assert_eq!(last.line, 5);
        assert_eq!(last.get(header, "vip"), "true");
        assert_eq!(last.get(header, "nps"), "");
        assert_eq!(last.get(header, "tags"), "[\"a\"]");
        assert_eq!(
            reader.bytes_read(),
            std::fs::metadata(dir.path().join("export.data"))
                .unwrap()
                .len()
        );
    }

    #[test]
    fn repeated_and_unnamed_csv_columns_keep_values_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path(), "export.csv", "a,b,a,c,\n1,2,3,4,5\n");
        let (reader, rows) = read_all(&input, ReadOptions::default());
        let row = rows[0].as_ref().unwrap();
        let header = reader.header();
        assert_eq!((row.get(header, "a"), row.get(header, "c")), ("1", "4"));
        let cells: Vec<_> = row.cells(header).collect();
        assert_eq!(cells, [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")]);
    }

    #[test]
    fn extension_and_options_override_sniffing() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path(), "odd.csv", "{a|b}\n1|2\n");
        let (reader, _) = read_all(&input, ReadOptions::default());
        assert_eq!(
            (reader.format(), reader.delimiter()),
            (Format::Csv, Some(b'|'))
        );
        let (reader, _) = read_all(
            &input,
            ReadOptions {
                format: None,
                delimiter: Some(b','),
            },
        );
        assert_eq!(reader.header().names(), ["{a|b}"]);
    }
}
