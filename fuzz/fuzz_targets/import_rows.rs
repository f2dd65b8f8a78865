//! The import tool's row readers and mapper over arbitrary file bytes (CSV with a sniffed
//! delimiter, JSON Lines, or sniffed from the content): never panic; rows come with increasing
//! physical lines; what maps is a non-empty text with `\n` line breaks only.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tideline::client::import::{
    Input, Mapped, MappedRows, Mapping, MetadataColumns, ReadOptions, Score, TagDimension,
    TimeFormat,
};

struct Fixture {
    dir: tempfile::TempDir,
    mapping: Mapping,
    patterned: Mapping,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // The columns of corpora/saas_feedback.csv.
        let mapping = Mapping {
            text: "text".into(),
            external_id: Some("id".into()),
            created_at: Some("created_at".into()),
            source_column: Some("source".into()),
            customer_id: Some("customer_id".into()),
            account_id: Some("account_id".into()),
            language: Some("language".into()),
            scores: vec![
                (Score::Nps, "nps".into()),
                (Score::Csat, "csat".into()),
                (Score::Ces, "ces".into()),
            ],
            tags: vec![
                (TagDimension::ProductArea, "platform".into()),
                (TagDimension::Severity, "severity".into()),
                (TagDimension::Sentiment, "sentiment".into()),
            ],
            metadata: MetadataColumns::AllUnmapped,
            ..Mapping::default()
        };
        let patterned = Mapping {
            external_id: None,
            time_format: Some(TimeFormat::new("%d/%m/%Y %H:%M %z").unwrap()),
            metadata: MetadataColumns::Listed(vec!["plan".into(), "topic".into()]),
            ..mapping.clone()
        };
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            mapping,
            patterned,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, content)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let name = match mode % 3 {
        0 => "rows.csv",
        1 => "rows.jsonl",
        _ => "rows.txt",
    };
    let path = fixture.dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let input = Input::File(path);
    let options = ReadOptions {
        format: None,
        delimiter: (mode & 8 != 0).then_some(b';'),
    };
    let mapping = if mode & 4 == 0 {
        &fixture.mapping
    } else {
        &fixture.patterned
    };
    let Ok(mut rows) = MappedRows::open(&input, options, mapping) else {
        return;
    };
    let _ = rows.layout();
    let csv = rows.layout().starts_with("csv");
    let mut last_line = if csv { 1 } else { 0 };
    loop {
        let line = match rows.next_row() {
            Ok(Mapped::Row { line, item, .. }) => {
                assert!(!item.text.trim().is_empty() && !item.text.contains('\r'));
                assert!(!item.external_id.is_empty());
                line
            }
            Ok(Mapped::Refused(error)) => error.line,
            Ok(Mapped::End) | Err(_) => break,
        };
        assert!(
            line > last_line,
            "row on line {line} after line {last_line}"
        );
        last_line = line;
        assert!(rows.bytes_read() <= content.len() as u64);
    }
});
