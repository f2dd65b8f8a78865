//! tideline on the committed demo corpus (`corpora/saas_feedback.csv`): the default taxonomy tags
//! it sensibly, the import tool reads its timestamps, and redaction finds exactly the personal
//! data the generator planted. That the file is the generator's output byte for byte, and what
//! the generator promises, is tested in its own crate (`corpora/generator/tests/`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use tideline::client::import::parse_timestamp;
use tideline::model::tags::{GivenTags, Origin};
use tideline::tagging::tag_text;
use tideline::tagging::taxonomy::Taxonomy;
use tideline::text::pii::{redact, PiiKind};
use tideline_corpus::{generate, CorpusParams};

/// The columns of the committed corpus these tests read.
#[derive(serde::Deserialize)]
struct CommittedRow {
    created_at: String,
    scenario: String,
    text: String,
}

fn committed_corpus() -> Vec<CommittedRow> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join("saas_feedback.csv");
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn default_taxonomy_tags_the_corpus_sensibly() {
    let taxonomy = Taxonomy::default_saas();
    // Areas per scenario: (rows, rows with any product area, rows with the expected area).
    let mut tally: HashMap<String, (usize, usize, usize)> = HashMap::new();
    for row in committed_corpus().into_iter().step_by(3) {
        let tags = tag_text(&taxonomy, 1, &row.text, &GivenTags::default(), Origin::Rule);
        let has_area = |area: &str| tags.product_areas.iter().any(|a| a.value == area);
        let expected = match row.scenario.as_str() {
            "mobile_regression" => has_area("mobile_app"),
            "billing_fixed" => has_area("billing"),
            "steady" => !tags.product_areas.is_empty(),
            other => panic!("unknown scenario {other:?}"),
        };
        let entry = tally.entry(row.scenario).or_default();
        entry.0 += 1;
        entry.1 += usize::from(!tags.product_areas.is_empty());
        entry.2 += usize::from(expected);
    }
    let share = |scenario: &str, pick: fn(&(usize, usize, usize)) -> usize| {
        let counts = tally[scenario];
        pick(&counts) as f64 / counts.0 as f64
    };
    let all_rows: usize = tally.values().map(|c| c.0).sum();
    let with_area: usize = tally.values().map(|c| c.1).sum();
    let coverage = with_area as f64 / all_rows as f64;
    assert!(coverage > 0.8, "product area on {coverage:.3} of rows");
    let mobile = share("mobile_regression", |c| c.2);
    assert!(
        mobile > 0.9,
        "mobile_app on {mobile:.3} of mobile_regression rows"
    );
    let billing = share("billing_fixed", |c| c.2);
    assert!(
        billing > 0.9,
        "billing on {billing:.3} of billing_fixed rows"
    );
}

#[test]
fn the_import_tool_reads_every_timestamp_of_the_corpus() {
    let rows = committed_corpus();
    assert!(!rows.is_empty());
    for row in &rows {
        assert!(
            parse_timestamp(&row.created_at).is_some(),
            "{}",
            row.created_at
        );
    }
}

#[test]
fn a_small_share_of_rows_carries_pii_that_redaction_finds() {
    // Which rows carry personal data is the generator's ground truth, not a CSV column.
    let rows = generate(&CorpusParams::default());
    let mut kinds = HashSet::new();
    for row in &rows {
        let found = redact(&row.text).found;
        assert_eq!(!found.is_empty(), row.pii, "{}", row.text);
        kinds.extend(found.into_iter().map(|(kind, _)| kind));
    }
    let pii = rows.iter().filter(|r| r.pii).count() as f64 / rows.len() as f64;
    assert!((0.01..0.05).contains(&pii), "{pii}");
    assert_eq!(
        kinds,
        HashSet::from([PiiKind::Email, PiiKind::Phone, PiiKind::Card])
    );
}
