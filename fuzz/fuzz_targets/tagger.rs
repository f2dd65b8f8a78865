//! Tagging arbitrary text with the built-in taxonomy: never panics, evidence lies within the
//! text on character boundaries, confidences in [0, 1]; tagging is deterministic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tideline::model::tags::{GivenTags, Origin};
use tideline::tagging::{tag_text, taxonomy::Taxonomy};

fuzz_target!(|data: &[u8]| {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    let taxonomy = TAXONOMY.get_or_init(Taxonomy::default_saas);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tags = tag_text(taxonomy, 1, text, &GivenTags::default(), Origin::Rule);
    tideline_fuzz::check_tags(text, &tags);
    let redacted = tideline::text::pii::redact(text);
    let again = tag_text(
        taxonomy,
        1,
        &redacted.text,
        &GivenTags::default(),
        Origin::Rule,
    );
    tideline_fuzz::check_tags(&redacted.text, &again);
});
