//! Bulk import: reads CSV exports and streams them to a server over `StreamVerbatims`.
//! Never touches the store directly; everything goes through the gRPC API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tonic::transport::Channel;

use crate::model::Micros;
use crate::proto;
use crate::proto::ingest_service_client::IngestServiceClient;

/// Import errors: the file, its header, or the server.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: csv::Error },
    #[error("column {0:?} is not in the header")]
    MissingColumn(String),
    #[error("server refused the import: {0}")]
    Server(#[from] tonic::Status),
}

/// Which CSV columns become which verbatim fields.
#[derive(Debug, Clone)]
pub struct CsvMapping {
    pub text: String,
    pub external_id: Option<String>,
    pub created_at: Option<String>,
    pub source: proto::Source,
    /// Columns copied into metadata under their header name.
    pub metadata: Vec<String>,
}

/// A row that could not be turned into a verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// Verbatims read from a file, and the rows that were refused.
#[derive(Debug, Default)]
pub struct ReadRows {
    pub items: Vec<proto::NewVerbatim>,
    pub errors: Vec<RowError>,
}

/// Reads a CSV file with a header row into new verbatims.
pub fn read_csv(path: &Path, mapping: &CsvMapping) -> Result<ReadRows, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(read_error)?;
    let header: HashMap<String, usize> = reader
        .headers()
        .map_err(read_error)?
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), i))
        .collect();
    let column = |name: &str| {
        header
            .get(name)
            .copied()
            .ok_or_else(|| ImportError::MissingColumn(name.to_string()))
    };
    let text_col = column(&mapping.text)?;
    let id_col = mapping.external_id.as_deref().map(column).transpose()?;
    let time_col = mapping.created_at.as_deref().map(column).transpose()?;
    let metadata_cols = mapping
        .metadata
        .iter()
        .map(|name| column(name).map(|i| (name.clone(), i)))
        .collect::<Result<Vec<_>, _>>()?;

    let mut rows = ReadRows::default();
    for record in reader.records() {
        let record = record.map_err(read_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or_default().trim();
        let text = field(text_col);
        if text.is_empty() {
            rows.errors.push(RowError {
                line,
                column: mapping.text.clone(),
                reason: "missing text".into(),
            });
            continue;
        }
        let created_at = match time_col.map(field).filter(|t| !t.is_empty()) {
            None => None,
            Some(raw) => match parse_timestamp(raw) {
                Some(micros) => Some(crate::api::timestamp(micros)),
                None => {
                    rows.errors.push(RowError {
                        line,
                        column: mapping.created_at.clone().unwrap_or_default(),
                        reason: format!("unparseable date {raw:?}"),
                    });
                    continue;
                }
            },
        };
        rows.items.push(proto::NewVerbatim {
            source: mapping.source as i32,
            external_id: id_col.map(field).unwrap_or_default().to_string(),
            text: text.to_string(),
            created_at,
            metadata: metadata_cols
                .iter()
                .filter(|(_, i)| !field(*i).is_empty())
                .map(|(name, i)| (name.clone(), field(*i).to_string()))
                .collect(),
            ..Default::default()
        });
    }
    Ok(rows)
}

/// Streams `items` in messages of `batch_size` and returns the server's summary.
pub async fn stream_items(
    client: &mut IngestServiceClient<Channel>,
    workspace: &str,
    items: Vec<proto::NewVerbatim>,
    batch_size: usize,
) -> Result<proto::StreamVerbatimsResponse, ImportError> {
    let workspace = workspace.to_string();
    let mut messages = Vec::with_capacity(items.len() / batch_size.max(1) + 1);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        messages.push(proto::StreamVerbatimsRequest {
            workspace: workspace.clone(),
            items: items.by_ref().take(batch_size.max(1)).collect(),
        });
    }
    Ok(client
        .stream_verbatims(futures::stream::iter(messages))
        .await?
        .into_inner())
}

/// Parses the timestamp formats exports commonly use, as UTC: RFC 3339
/// (`2015-02-24T11:35:52Z`, `+01:00` offsets), `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DD`,
/// `M/D/YYYY H:MM[:SS]`, and unix seconds.
pub fn parse_timestamp(raw: &str) -> Option<Micros> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse::<i64>().ok()?.checked_mul(1_000_000);
    }
    let (date, time) = match raw.find(['T', ' ']) {
        Some(at) => (&raw[..at], raw[at + 1..].trim()),
        None => (raw, ""),
    };
    let (year, month, day) = if date.contains('/') {
        let mut parts = date.split('/').map(|p| p.parse::<i64>().ok());
        let (m, d, y) = (parts.next()??, parts.next()??, parts.next()??);
        (y, m, d)
    } else {
        let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
        (parts.next()??, parts.next()??, parts.next()??)
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let (clock, offset_secs) = split_offset(time)?;
    let mut hms = clock.split(':');
    let hour: i64 = hms
        .next()
        .filter(|h| !h.is_empty())
        .map_or(Some(0), |h| h.parse().ok())?;
    let minute: i64 = hms.next().map_or(Some(0), |m| m.parse().ok())?;
    let (second, micros) = match hms.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let digits: String = frac.chars().chain("000000".chars()).take(6).collect();
            (whole.parse().ok()?, digits.parse::<i64>().ok()?)
        }
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(seconds * 1_000_000 + micros)
}

/// Splits `11:35:00+01:00` / `11:35Z` into the clock and the offset in seconds.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z').or_else(|| time.strip_suffix('z')) {
        return Some((clock, 0));
    }
    match time.rfind(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            Some((
                clock,
                sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
            ))
        }
        None => Some((time, 0)),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    #[test]
    fn timestamps_in_common_export_formats() {
        let expected = 1_424_777_700 * SECOND; // 2015-02-24T11:35:00Z
        assert_eq!(parse_timestamp("2/24/2015 11:35"), Some(expected));
        assert_eq!(parse_timestamp("2015-02-24 11:35"), Some(expected));
        assert_eq!(parse_timestamp("2015-02-24T11:35:00Z"), Some(expected));
        assert_eq!(parse_timestamp("2015-02-24T12:35:00+01:00"), Some(expected));
        assert_eq!(
            parse_timestamp("2015-02-24T11:35:00.25Z"),
            Some(expected + SECOND / 4)
        );
        assert_eq!(parse_timestamp("1424777700"), Some(expected));
        assert_eq!(
            parse_timestamp("2015-02-24"),
            Some(expected - (11 * 3600 + 35 * 60) * SECOND)
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2024-02-29 00:00"),
            Some(1_709_164_800 * SECOND)
        );
        for bad in [
            "",
            "yesterday",
            "13/1/2015 10:00",
            "2015-02-30x",
            "2015-02-24 25:00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

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
        let missing = CsvMapping {
            text: "body".into(),
            ..mapping
        };
        assert!(
            matches!(read_csv(&path, &missing), Err(ImportError::MissingColumn(c)) if c == "body")
        );
    }
}
