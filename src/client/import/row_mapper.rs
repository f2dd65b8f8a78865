//! Mapping one row: the readers of single fields (times, sources, scores, tags, metadata), the
//! checks a row must pass before it is sent (a refusal names its column), and the stable external
//! ids of rows that bring none.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::mapping::{parse_source, Mapping, MetadataColumns};
use super::readers::{Header, Input, Row};
use super::time::parse_timestamp;
use super::RowError;
use crate::proto;

/// Why a row is refused: the column and the reason.
struct Refusal<'a> {
    column: &'a str,
    reason: String,
}

impl<'a> Refusal<'a> {
    fn new(column: &'a str, reason: String) -> Refusal<'a> {
        Refusal { column, reason }
    }
}

/// `Some((column, trimmed cell))` when `column` is mapped.
fn mapped_cell<'m, 'r>(
    column: &'m Option<String>,
    header: &Header,
    row: &'r Row,
) -> Option<(&'m str, &'r str)> {
    column.as_deref().map(|c| (c, row.get(header, c)))
}

/// The readers of single fields; each takes `Some((column, trimmed cell))` when the field is
/// mapped, and treats a blank cell as absent.
impl Mapping {
    fn read_created_at<'a>(
        &self,
        cell: Option<(&'a str, &str)>,
    ) -> Result<Option<prost_types::Timestamp>, Refusal<'a>> {
        let Some((column, raw)) = cell.filter(|(_, raw)| !raw.is_empty()) else {
            return Ok(None);
        };
        let parsed = match &self.time_format {
            Some(format) => format.parse(raw),
            None => parse_timestamp(raw),
        };
        let micros = parsed.ok_or_else(|| {
            let expected = self
                .time_format
                .as_ref()
                .map_or(String::new(), |f| format!(" (expected {})", f.pattern()));
            Refusal::new(column, format!("unparseable date {raw:?}{expected}"))
        })?;
        Ok(Some(proto::timestamp(micros)))
    }

    fn read_source<'a>(&self, cell: Option<(&'a str, &str)>) -> Result<proto::Source, Refusal<'a>> {
        match cell.filter(|(_, name)| !name.is_empty()) {
            Some((column, name)) => {
                parse_source(name).map_err(|reason| Refusal::new(column, reason))
            }
            None => Ok(self.source),
        }
    }

    fn read_scores<'a>(&'a self, header: &Header, row: &Row) -> Result<proto::Scores, Refusal<'a>> {
        let mut scores = proto::Scores::default();
        for (score, column) in &self.scores {
            let raw = row.get(header, column);
            if raw.is_empty() {
                continue;
            }
            let range = score.range();
            let value = parse_whole_number(raw)
                .filter(|v| range.contains(v))
                .ok_or_else(|| {
                    let reason = format!(
                        "{} score {raw:?} is not a whole number in {}-{}",
                        score.name(),
                        range.start(),
                        range.end()
                    );
                    Refusal::new(column, reason)
                })?;
            *score.slot(&mut scores) = Some(value);
        }
        Ok(scores)
    }

    fn read_tags<'a>(
        &'a self,
        header: &Header,
        row: &Row,
    ) -> Result<proto::GivenTags, Refusal<'a>> {
        let mut tags = proto::GivenTags::default();
        for (dimension, column) in &self.tags {
            let raw = row.get(header, column);
            if !raw.is_empty() {
                dimension
                    .apply(raw, &mut tags)
                    .map_err(|reason| Refusal::new(column, reason))?;
            }
        }
        Ok(tags)
    }
}

/// Turns rows of one input into new verbatims, deriving ids where the rows bring none.
#[derive(Debug)]
pub struct RowMapper<'a> {
    mapping: &'a Mapping,
    field_columns: HashSet<&'a str>,
    derived_ids: DerivedIds,
}

impl<'a> RowMapper<'a> {
    pub fn new(mapping: &'a Mapping, input: &Input) -> RowMapper<'a> {
        RowMapper {
            mapping,
            field_columns: mapping.field_columns().collect(),
            derived_ids: DerivedIds::new(input.identity()),
        }
    }

    /// Maps one row, or says which column is wrong and why (blank text, a date that does not
    /// parse, a score out of range, an unknown source, severity or sentiment).
    pub fn map(&mut self, header: &Header, row: &Row) -> Result<proto::NewVerbatim, RowError> {
        self.map_fields(header, row)
            .map_err(|Refusal { column, reason }| RowError {
                line: row.line,
                column: column.to_string(),
                reason,
                raw: row.raw.clone(),
            })
    }

    fn map_fields(
        &mut self,
        header: &Header,
        row: &Row,
    ) -> Result<proto::NewVerbatim, Refusal<'a>> {
        let mapping = self.mapping;
        let cell = |column| mapped_cell(column, header, row).map_or("", |(_, value)| value);
        let text = row.get(header, &mapping.text);
        if text.is_empty() {
            return Err(Refusal::new(&mapping.text, "missing text".into()));
        }
        let created_at = mapping.read_created_at(mapped_cell(&mapping.created_at, header, row))?;
        let source = mapping.read_source(mapped_cell(&mapping.source_column, header, row))?;
        let scores = mapping.read_scores(header, row)?;
        let tags = mapping.read_tags(header, row)?;
        let external_id = match cell(&mapping.external_id) {
            "" => self.derived_ids.next(header, row),
            id => id.to_string(),
        };
        Ok(proto::NewVerbatim {
            source: source as i32,
            external_id,
            // The API takes `\n` line breaks only; exports from Windows end lines with `\r\n`.
            text: text.replace("\r\n", "\n").replace('\r', "\n"),
            created_at,
            customer_id: cell(&mapping.customer_id).to_string(),
            account_id: cell(&mapping.account_id).to_string(),
            language: cell(&mapping.language).to_string(),
            metadata: self.metadata(header, row),
            scores: (scores != proto::Scores::default()).then_some(scores),
            tags: (tags != proto::GivenTags::default()).then_some(tags),
        })
    }

    fn metadata(&self, header: &Header, row: &Row) -> HashMap<String, String> {
        let pair = |(name, value): (&str, &str)| (name.to_string(), value.to_string());
        match &self.mapping.metadata {
            MetadataColumns::None => HashMap::new(),
            MetadataColumns::Listed(columns) => columns
                .iter()
                .map(|column| (column.as_str(), row.get(header, column)))
                .filter(|(_, value)| !value.is_empty())
                .map(pair)
                .collect(),
            MetadataColumns::AllUnmapped => row
                .cells(header)
                .filter(|(name, _)| !self.field_columns.contains(name))
                .map(pair)
                .collect(),
        }
    }
}

/// Reads `7` or `7.0` (spreadsheets export whole numbers either way).
fn parse_whole_number(raw: &str) -> Option<i32> {
    raw.parse::<i32>().ok().or_else(|| {
        let value = raw.parse::<f64>().ok()?;
        (value.fract() == 0.0 && value.abs() <= f64::from(i32::MAX)).then_some(value as i32)
    })
}

/// Stable external ids for rows without one: `imp-` and 16 hex digits of a SHA-256 over the
/// input's base name, the row's content (its non-empty cells, by column name, so column order,
/// quoting and the mapping do not matter) and how many identical rows came before it.
#[derive(Debug)]
struct DerivedIds {
    input_identity: String,
    seen: HashMap<[u8; 16], u32>,
}

impl DerivedIds {
    fn new(input_identity: String) -> DerivedIds {
        DerivedIds {
            input_identity,
            seen: HashMap::new(),
        }
    }

    fn next(&mut self, header: &Header, row: &Row) -> String {
        let mut cells: Vec<(&str, &str)> = row.cells(header).collect();
        cells.sort_unstable();
        let content = content_digest(&cells);
        let key: [u8; 16] = content[..16].try_into().expect("a digest has 32 bytes");
        let count = self.seen.entry(key).or_insert(0);
        let occurrence = *count;
        *count += 1;
        derived_external_id(&self.input_identity, &content, occurrence)
    }
}

/// Feeds a length-prefixed byte string, so that concatenations cannot collide.
fn hash_field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// SHA-256 of `(column, value)` pairs in the given order.
fn content_digest(cells: &[(&str, &str)]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (column, value) in cells {
        hash_field(&mut hasher, column.as_bytes());
        hash_field(&mut hasher, value.as_bytes());
    }
    hasher.finalize().into()
}

fn derived_external_id(input_identity: &str, content: &[u8; 32], occurrence: u32) -> String {
    let mut hasher = Sha256::new();
    hash_field(&mut hasher, b"tideline-import-v1");
    hash_field(&mut hasher, input_identity.as_bytes());
    hasher.update(content);
    hasher.update(occurrence.to_le_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", super::DERIVED_ID_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::import::mapping::{describe, Score, TagDimension};
    use crate::client::import::readers::{NextRow, ReadOptions, RowReader};
    use crate::client::import::time::TimeFormat;

    /// Reads every row of `content` (a file named `name`) through a mapper.
    fn map_all(
        name: &str,
        content: &str,
        mapping: &Mapping,
    ) -> Vec<Result<proto::NewVerbatim, RowError>> {
        let dir = tempfile::tempdir().unwrap();
        let input = Input::File(dir.path().join(name));
        std::fs::write(dir.path().join(name), content).unwrap();
        let mut reader = RowReader::open(&input, ReadOptions::default()).unwrap();
        let mut mapper = RowMapper::new(mapping, &input);
        let mut mapped = Vec::new();
        loop {
            match reader.next_row(&input).unwrap() {
                NextRow::Row(row) => mapped.push(mapper.map(reader.header(), &row)),
                NextRow::Bad(error) => mapped.push(Err(error)),
                NextRow::End => return mapped,
            }
        }
    }

    fn text_only() -> Mapping {
        Mapping {
            text: "text".into(),
            ..Mapping::default()
        }
    }

    fn ids(mapped: &[Result<proto::NewVerbatim, RowError>]) -> Vec<String> {
        mapped
            .iter()
            .map(|m| m.as_ref().unwrap().external_id.clone())
            .collect()
    }

    #[test]
    fn derived_ids_are_pinned() {
        // These values are stored as idempotency keys: changing them would make every re-run of an
        // earlier import create duplicates. (Checked independently: Python's hashlib over the same
        // length-prefixed fields gives the same digests.)
        let content = content_digest(&[("text", "the app crashed")]);
        assert_eq!(
            derived_external_id("export.csv", &content, 0),
            "imp-09de9c41da46a96f"
        );
        assert_eq!(
            derived_external_id("export.csv", &content, 1),
            "imp-e8bc3ccdcb9b4408"
        );
    }

    #[test]
    fn derived_ids_depend_on_file_name_and_content_not_on_layout() {
        let original = ids(&map_all(
            "a.csv",
            "text,team\nslow,emea\nslow,emea\nfast,amer\n",
            &text_only(),
        ));
        assert_eq!(original.len(), 3);
        assert!(original
            .iter()
            .all(|id| id.len() == 20 && id.starts_with("imp-")));
        assert_ne!(original[0], original[1], "identical rows are counted apart");
        // Same rows, columns swapped, another delimiter, quoted, in another directory: same ids.
        let relaid = ids(&map_all(
            "a.csv",
            "team;text\n\"emea\";slow\nemea;slow\namer;fast\n",
            &text_only(),
        ));
        assert_eq!(relaid, original);
        // A row inserted before the others does not change their ids.
        let inserted = ids(&map_all(
            "a.csv",
            "text,team\nnew,emea\nslow,emea\nslow,emea\nfast,amer\n",
            &text_only(),
        ));
        assert_eq!(inserted[1..], original[..]);
        // Another file name gives other ids.
        let renamed = ids(&map_all(
            "b.csv",
            "text,team\nslow,emea\nslow,emea\nfast,amer\n",
            &text_only(),
        ));
        assert!(renamed.iter().all(|id| !original.contains(id)));
    }

    #[test]
    fn every_field_maps_and_bad_cells_name_their_column() {
        let mapping = Mapping {
            text: "comment".into(),
            external_id: Some("id".into()),
            created_at: Some("when".into()),
            time_format: Some(TimeFormat::new("%d.%m.%Y %H:%M").unwrap()),
            source: proto::Source::Survey,
            source_column: Some("channel".into()),
            customer_id: Some("customer".into()),
            account_id: Some("account".into()),
            language: Some("lang".into()),
            scores: vec![(Score::Nps, "nps".into()), (Score::Csat, "csat".into())],
            tags: vec![
                (TagDimension::ProductArea, "areas".into()),
                (TagDimension::Severity, "sev".into()),
            ],
            metadata: MetadataColumns::AllUnmapped,
        };
        let mapped = map_all(
            "export.csv",
            "id,comment,when,channel,customer,account,lang,nps,csat,areas,sev,team\n\
             1,great,24.02.2015 11:35,ticket,c1,a1,en,9,5.0,billing|mobile_app,High,emea\n\
             2,ok,,,,,,,,,,\n\
             3,   ,24.02.2015 11:35,,,,,,,,,\n\
             4,late,2015-02-24,,,,,,,,,\n\
             5,bad,,fax,,,,,,,,\n\
             6,bad,,,,,,11,,,,\n\
             7,bad,,,,,,,0,,,\n\
             8,bad,,,,,,,,,urgent,\n",
            &mapping,
        );
        let full = mapped[0].as_ref().unwrap();
        assert_eq!(
            describe(full),
            [
                ("text", "great"),
                ("external_id", "1"),
                ("created_at", "2015-02-24T11:35:00Z"),
                ("source", "ticket"),
                ("customer_id", "c1"),
                ("account_id", "a1"),
                ("language", "en"),
                ("scores.nps", "9"),
                ("scores.csat", "5"),
                ("tags.product_areas", "billing, mobile_app"),
                ("tags.severity", "high"),
                ("metadata.team", "emea"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let sparse = mapped[1].as_ref().unwrap();
        assert_eq!(sparse.source, proto::Source::Survey as i32);
        assert_eq!((sparse.scores, sparse.tags.as_ref()), (None, None));
        assert!(sparse.metadata.is_empty() && sparse.created_at.is_none());
        let refusals: Vec<(u64, &str)> = mapped[2..]
            .iter()
            .map(|m| {
                let e = m.as_ref().unwrap_err();
                (e.line, e.column.as_str())
            })
            .collect();
        assert_eq!(
            refusals,
            [
                (4, "comment"),
                (5, "when"),
                (6, "channel"),
                (7, "nps"),
                (8, "csat"),
                (9, "sev")
            ]
        );
        assert_eq!(
            mapped[3].as_ref().unwrap_err().raw,
            "4,late,2015-02-24,,,,,,,,,"
        );
    }
}
