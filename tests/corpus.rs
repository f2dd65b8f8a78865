//! The committed demo corpus: it is exactly the generator's output, the default taxonomy tags it
//! sensibly, and its README states the ground truth the generator plants.

use std::collections::HashMap;
use std::path::PathBuf;

use tideline::corpus::{generate, write_csv, CorpusParams, CorpusRow, Scenario};
use tideline::tagging::tag_text;
use tideline::tagging::tags::{GivenTags, Origin};
use tideline::tagging::taxonomy::Taxonomy;

fn corpora_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpora")
        .join(name)
}

fn default_corpus() -> Vec<CorpusRow> {
    generate(&CorpusParams::default())
}

#[test]
fn committed_corpus_is_the_generators_output_byte_for_byte() {
    let committed = std::fs::read(corpora_file("saas_feedback.csv")).unwrap();
    let mut generated = Vec::new();
    write_csv(&default_corpus(), &mut generated).unwrap();
    if committed != generated {
        let first_difference = committed
            .split(|b| *b == b'\n')
            .zip(generated.split(|b| *b == b'\n'))
            .position(|(a, b)| a != b);
        panic!(
            "corpora/saas_feedback.csv differs from `tideline gen-corpus` output \
             ({} vs {} bytes, first differing line {first_difference:?}); regenerate it",
            committed.len(),
            generated.len()
        );
    }
}

#[test]
fn default_taxonomy_tags_the_corpus_sensibly() {
    let taxonomy = Taxonomy::default_saas();
    let rows = default_corpus();
    // Areas per scenario: (rows, rows with any product area, rows with the expected area).
    let mut tally: HashMap<Scenario, (usize, usize, usize)> = HashMap::new();
    for row in rows.iter().step_by(3) {
        let tags = tag_text(&taxonomy, 1, &row.text, &GivenTags::default(), Origin::Rule);
        let has_area = |area: &str| tags.product_areas.iter().any(|a| a.value == area);
        let expected = match row.scenario {
            Scenario::MobileRegression => has_area("mobile_app"),
            Scenario::BillingFixed => has_area("billing"),
            Scenario::Steady => !tags.product_areas.is_empty(),
        };
        let entry = tally.entry(row.scenario).or_default();
        entry.0 += 1;
        entry.1 += usize::from(!tags.product_areas.is_empty());
        entry.2 += usize::from(expected);
    }
    let share = |scenario: Scenario, pick: fn(&(usize, usize, usize)) -> usize| {
        let counts = tally[&scenario];
        pick(&counts) as f64 / counts.0 as f64
    };
    let all_rows: usize = tally.values().map(|c| c.0).sum();
    let with_area: usize = tally.values().map(|c| c.1).sum();
    let coverage = with_area as f64 / all_rows as f64;
    assert!(coverage > 0.8, "product area on {coverage:.3} of rows");
    let mobile = share(Scenario::MobileRegression, |c| c.2);
    assert!(
        mobile > 0.9,
        "mobile_app on {mobile:.3} of mobile_regression rows"
    );
    let billing = share(Scenario::BillingFixed, |c| c.2);
    assert!(
        billing > 0.9,
        "billing on {billing:.3} of billing_fixed rows"
    );
}

#[test]
fn readme_states_the_command_and_the_scenario_dates() {
    let readme = std::fs::read_to_string(corpora_file("README.md")).unwrap();
    let params = CorpusParams::default();
    for expected in [
        "tideline gen-corpus --out corpora/saas_feedback.csv".to_string(),
        params.release_date().to_string(),
        params.fix_date().to_string(),
        params.first_day().to_string(),
    ] {
        assert!(readme.contains(&expected), "README lacks {expected:?}");
    }
}
