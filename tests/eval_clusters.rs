//! Clustering on meaning against clustering on words, on a slice of the public BANKING77 corpus
//! (see BENCHMARKS.md for the whole file): the embedding method must find the intents better.

mod common;

use std::collections::HashMap;

use tideline::client::eval::{clusters, ClusterMethod};

/// The first `intents` intents of `banking77_train.csv`, `per_intent` questions each, as a CSV.
fn slice(intents: usize, per_intent: usize) -> Option<tempfile::NamedTempFile> {
    let path = common::shared_data("banking77_train.csv")?;
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut taken: HashMap<String, usize> = HashMap::new();
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut writer = csv::Writer::from_path(file.path()).unwrap();
    writer.write_record(["text", "category"]).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        let category = row[1].to_string();
        if !taken.contains_key(&category) && taken.len() == intents {
            continue;
        }
        let count = taken.entry(category.clone()).or_default();
        if *count < per_intent {
            *count += 1;
            writer.write_record([&row[0], category.as_str()]).unwrap();
        }
    }
    writer.flush().unwrap();
    assert_eq!(taken.len(), intents);
    Some(file)
}

#[test]
fn embeddings_find_intents_that_words_split() {
    let Some(file) = slice(12, 40) else {
        return;
    };
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if tideline::embedding::open_default(Some(&model)).is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the embedding model is missing: .ci/run runs scripts/fetch-model.sh"
        );
        eprintln!("skipped: no embedding model (run scripts/fetch-model.sh)");
        return;
    }
    let run = |method| {
        clusters(
            file.path(),
            "text",
            "category",
            Some(12),
            method,
            0.9,
            tideline::embedding::DEFAULT_MODEL,
        )
        .unwrap()
    };
    let words = run(ClusterMethod::Tfidf);
    let meaning = run(ClusterMethod::Embedding);
    let joint = run(ClusterMethod::Joint);
    println!(
        "NMI on 12 intents x 40: tfidf {:.3}, embedding {:.3}, joint {:.3}; labels matching the \
         intent: {:.2} of {}, {:.2} of {}, {:.2} of {}",
        words.nmi,
        meaning.nmi,
        joint.nmi,
        words.label_match,
        words.pure_themes,
        meaning.label_match,
        meaning.pure_themes,
        joint.label_match,
        joint.pure_themes
    );
    assert!(meaning.pure_themes > 0 && meaning.label_match > 0.0);
    assert_eq!((words.rows, meaning.rows), (480, 480));
    assert!(meaning.encoding_seconds > 0.0 && words.encoding_seconds == 0.0);
    assert!(
        meaning.nmi > words.nmi + 0.05,
        "embedding {:.3} vs tfidf {:.3}",
        meaning.nmi,
        words.nmi
    );
    assert!(joint.nmi > words.nmi, "joint {:.3}", joint.nmi);
}
