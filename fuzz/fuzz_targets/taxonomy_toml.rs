//! A taxonomy from arbitrary TOML: parsing and validation never panic; a taxonomy that is
//! accepted tags texts (ASCII and not) without panicking and with evidence inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tideline::model::tags::{GivenTags, Origin};
use tideline::tagging::{tag_text, taxonomy::Taxonomy};

const TEXTS: [&str; 4] = [
    "The app crashed twice while importing my report, support never answered :(",
    "Billing charged me twice! Refund please, this is unusable. HTTP 502 errors on /v2/export",
    "İİ importing \u{212A} — Straße ŉ ǅ ﬁle café 😀 can't log in on iOS 17",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Ok(toml) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(taxonomy) = Taxonomy::parse(toml) else {
        return;
    };
    assert!(!taxonomy.file.name.trim().is_empty());
    for text in TEXTS {
        let tags = tag_text(&taxonomy, 3, text, &GivenTags::default(), Origin::Rule);
        tideline_fuzz::check_tags(text, &tags);
    }
});
