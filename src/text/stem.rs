//! Stemming with rust-stemmers, chosen by the verbatim's language.

use std::borrow::Cow;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// A language rust-stemmers can stem. English is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StemLanguage {
    Arabic,
    Danish,
    Dutch,
    #[default]
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

const ALL: [(StemLanguage, &str, Algorithm); 18] = [
    (StemLanguage::Arabic, "ar", Algorithm::Arabic),
    (StemLanguage::Danish, "da", Algorithm::Danish),
    (StemLanguage::Dutch, "nl", Algorithm::Dutch),
    (StemLanguage::English, "en", Algorithm::English),
    (StemLanguage::Finnish, "fi", Algorithm::Finnish),
    (StemLanguage::French, "fr", Algorithm::French),
    (StemLanguage::German, "de", Algorithm::German),
    (StemLanguage::Greek, "el", Algorithm::Greek),
    (StemLanguage::Hungarian, "hu", Algorithm::Hungarian),
    (StemLanguage::Italian, "it", Algorithm::Italian),
    (StemLanguage::Norwegian, "no", Algorithm::Norwegian),
    (StemLanguage::Portuguese, "pt", Algorithm::Portuguese),
    (StemLanguage::Romanian, "ro", Algorithm::Romanian),
    (StemLanguage::Russian, "ru", Algorithm::Russian),
    (StemLanguage::Spanish, "es", Algorithm::Spanish),
    (StemLanguage::Swedish, "sv", Algorithm::Swedish),
    (StemLanguage::Tamil, "ta", Algorithm::Tamil),
    (StemLanguage::Turkish, "tr", Algorithm::Turkish),
];

impl StemLanguage {
    /// The stemmer for a BCP-47 tag's primary language ("pt-BR" → Portuguese; "nb"/"nn" →
    /// Norwegian); English when the tag is empty or the language has no stemmer.
    pub fn from_tag(tag: &str) -> StemLanguage {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let primary = match primary.as_str() {
            "nb" | "nn" => "no",
            other => other,
        };
        ALL.iter()
            .find(|(_, code, _)| *code == primary)
            .map_or(StemLanguage::English, |(lang, _, _)| *lang)
    }

    fn index(self) -> usize {
        ALL.iter().position(|(l, _, _)| *l == self).unwrap_or(3)
    }
}

fn stemmers() -> &'static [Stemmer] {
    static STEMMERS: OnceLock<Vec<Stemmer>> = OnceLock::new();
    STEMMERS.get_or_init(|| {
        ALL.iter()
            .map(|(_, _, algorithm)| Stemmer::create(*algorithm))
            .collect()
    })
}

/// The stem of a normalised (lowercase) word.
pub fn stem(word: &str, language: StemLanguage) -> Cow<'_, str> {
    stemmers()[language.index()].stem(word)
}
