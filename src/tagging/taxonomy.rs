//! The taxonomy: categories of three dimensions (journey stage, driver, product area) and
//! severity rules, as data (TOML). A taxonomy is validated whole and compiled into a matcher.
//!
//! Phrases are matched as whole words after the shared analysis (lowercase, stemmed in the
//! taxonomy's language), so "crash" matches "crashed"; a phrase starting with `re:` is a
//! case-insensitive regular expression over the lowercased text.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::model::tags::Severity;
use crate::text::{normalize, stem, tokenize, StemLanguage, Token, TokenKind};

/// The built-in taxonomy for a SaaS product.
pub const DEFAULT_TAXONOMY: &str = include_str!("../../taxonomy/default.toml");

/// A taxonomy that cannot be used; nothing of it is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    #[error("taxonomy is not valid toml: {0}")]
    Parse(String),
    #[error("taxonomy {entry}: {message}")]
    Invalid { entry: String, message: String },
}

/// The three category dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    JourneyStage,
    Driver,
    ProductArea,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [
        Dimension::JourneyStage,
        Dimension::Driver,
        Dimension::ProductArea,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::JourneyStage => "journey_stage",
            Dimension::Driver => "driver",
            Dimension::ProductArea => "product_area",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// The file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyFile {
    pub name: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default, rename = "category")]
    pub categories: Vec<CategoryDef>,
    #[serde(default, rename = "severity")]
    pub severity_rules: Vec<SeverityRuleDef>,
    #[serde(default)]
    pub severity_from_sentiment: SentimentThresholds,
}

fn default_language() -> String {
    "en".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub dimension: String,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub priority: i32,
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityRuleDef {
    pub level: String,
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Severity for verbatims no rule matched, from sentiment strength.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentimentThresholds {
    pub high_at_or_below: f32,
    pub medium_at_or_below: f32,
}

impl Default for SentimentThresholds {
    fn default() -> Self {
        SentimentThresholds {
            high_at_or_below: -0.6,
            medium_at_or_below: -0.2,
        }
    }
}

/// A compiled phrase.
#[derive(Debug, Clone)]
enum Pattern {
    /// Stems to match contiguously.
    Words(Vec<String>),
    Regex(Regex),
}

/// A compiled category.
#[derive(Debug, Clone)]
pub struct Category {
    pub dimension: Dimension,
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub priority: i32,
}

/// A compiled severity rule.
#[derive(Debug, Clone)]
pub struct SeverityRule {
    pub level: Severity,
    pub id: String,
    pub description: String,
}

/// What a phrase belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Category(usize),
    Severity(usize),
}

/// One phrase match in a text: token range or byte range, and whether it includes or excludes.
#[derive(Debug, Clone, PartialEq)]
pub struct PhraseMatch {
    pub target: Target,
    pub exclude: bool,
    /// Byte span in the text.
    pub start: usize,
    pub end: usize,
    /// Number of words in the phrase (a regex counts as 2).
    pub words: usize,
}

/// A validated, compiled taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    pub file: TaxonomyFile,
    pub language: StemLanguage,
    pub categories: Vec<Category>,
    pub severity_rules: Vec<SeverityRule>,
    /// First stem → (target, exclude, remaining stems).
    words: HashMap<String, Vec<(Target, bool, Vec<String>)>>,
    regexes: Vec<(Target, bool, Regex)>,
}

impl Taxonomy {
    /// The built-in default.
    pub fn default_saas() -> Taxonomy {
        Taxonomy::parse(DEFAULT_TAXONOMY).expect("the built-in taxonomy is valid")
    }

    /// Parses and validates a TOML taxonomy. Any problem refuses it whole, naming the entry.
    pub fn parse(toml_text: &str) -> Result<Taxonomy, TaxonomyError> {
        let file: TaxonomyFile =
            toml::from_str(toml_text).map_err(|e| TaxonomyError::Parse(e.to_string()))?;
        Taxonomy::compile(file)
    }

    /// Validates and compiles a parsed file.
    pub fn compile(file: TaxonomyFile) -> Result<Taxonomy, TaxonomyError> {
        let invalid = |entry: String, message: String| TaxonomyError::Invalid { entry, message };
        if file.name.trim().is_empty() {
            return Err(invalid("name".into(), "must not be empty".into()));
        }
        crate::model::validate_language_tag(&file.language)
            .map_err(|e| invalid("language".into(), e.message))?;
        let language = StemLanguage::from_tag(&file.language);
        let t = &file.severity_from_sentiment;
        if !(-1.0..=1.0).contains(&t.high_at_or_below)
            || !(-1.0..=1.0).contains(&t.medium_at_or_below)
            || t.high_at_or_below > t.medium_at_or_below
        {
            return Err(invalid(
                "severity_from_sentiment".into(),
                "thresholds must be in [-1, 1] with high_at_or_below <= medium_at_or_below".into(),
            ));
        }

        let mut compiled = Taxonomy {
            language,
            categories: Vec::new(),
            severity_rules: Vec::new(),
            words: HashMap::new(),
            regexes: Vec::new(),
            file: file.clone(),
        };
        let mut seen = HashSet::new();
        for (i, def) in file.categories.iter().enumerate() {
            let entry = format!("category[{i}] ({}.{})", def.dimension, def.id);
            let dimension = Dimension::parse(&def.dimension).ok_or_else(|| {
                invalid(
                    entry.clone(),
                    format!(
                        "unknown dimension {:?} (journey_stage, driver or product_area)",
                        def.dimension
                    ),
                )
            })?;
            validate_id(&def.id).map_err(|m| invalid(entry.clone(), m))?;
            if !seen.insert((dimension, def.id.clone())) {
                return Err(invalid(entry, "duplicate id in its dimension".into()));
            }
            if def.name.trim().is_empty() {
                return Err(invalid(entry, "name must not be empty".into()));
            }
            let target = Target::Category(compiled.categories.len());
            compiled.add_phrases(&entry, target, &def.include, &def.exclude)?;
            compiled.categories.push(Category {
                dimension,
                id: def.id.clone(),
                name: def.name.clone(),
                description: def.description.clone(),
                owner: def.owner.clone(),
                priority: def.priority,
            });
        }
        let mut seen_rules = HashSet::new();
        for (i, def) in file.severity_rules.iter().enumerate() {
            let entry = format!("severity[{i}] ({})", def.id);
            let level = Severity::parse(&def.level)
                .filter(|l| *l != Severity::Low)
                .ok_or_else(|| {
                    invalid(
                        entry.clone(),
                        format!("unknown level {:?} (critical, high or medium)", def.level),
                    )
                })?;
            validate_id(&def.id).map_err(|m| invalid(entry.clone(), m))?;
            if !seen_rules.insert(def.id.clone()) {
                return Err(invalid(entry, "duplicate severity rule id".into()));
            }
            let target = Target::Severity(compiled.severity_rules.len());
            compiled.add_phrases(&entry, target, &def.include, &def.exclude)?;
            compiled.severity_rules.push(SeverityRule {
                level,
                id: def.id.clone(),
                description: def.description.clone(),
            });
        }
        Ok(compiled)
    }

    fn add_phrases(
        &mut self,
        entry: &str,
        target: Target,
        include: &[String],
        exclude: &[String],
    ) -> Result<(), TaxonomyError> {
        if include.is_empty() {
            return Err(TaxonomyError::Invalid {
                entry: entry.to_string(),
                message: "include must list at least one phrase".into(),
            });
        }
        for (list, phrases, is_exclude) in [("include", include, false), ("exclude", exclude, true)]
        {
            for (j, phrase) in phrases.iter().enumerate() {
                let invalid = |message: String| TaxonomyError::Invalid {
                    entry: format!("{entry} {list}[{j}]"),
                    message,
                };
                match self.compile_pattern(phrase).map_err(invalid)? {
                    Pattern::Words(stems) => {
                        let (first, rest) = stems.split_first().expect("phrases are not empty");
                        self.words.entry(first.clone()).or_default().push((
                            target,
                            is_exclude,
                            rest.to_vec(),
                        ));
                    }
                    Pattern::Regex(regex) => self.regexes.push((target, is_exclude, regex)),
                }
            }
        }
        Ok(())
    }

    fn compile_pattern(&self, phrase: &str) -> Result<Pattern, String> {
        if let Some(pattern) = phrase.strip_prefix("re:") {
            if pattern.trim().is_empty() {
                return Err("empty regular expression".into());
            }
            return regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map(Pattern::Regex)
                .map_err(|e| format!("regular expression does not compile: {e}"));
        }
        let stems = match_keys(&tokenize(phrase), self.language);
        if stems.is_empty() || stems.iter().any(String::is_empty) {
            return Err(format!("{phrase:?} is an empty phrase (it has no words)"));
        }
        Ok(Pattern::Words(stems))
    }

    /// Every include and exclude phrase found in a text.
    pub fn find(&self, text: &str, tokens: &[Token], keys: &[String]) -> Vec<PhraseMatch> {
        let mut found = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            if key.is_empty() {
                continue;
            }
            let Some(candidates) = self.words.get(key) else {
                continue;
            };
            for (target, exclude, rest) in candidates {
                let fits = i + rest.len() < keys.len()
                    && rest
                        .iter()
                        .zip(&keys[i + 1..])
                        .all(|(want, have)| want == have);
                if fits {
                    found.push(PhraseMatch {
                        target: *target,
                        exclude: *exclude,
                        start: tokens[i].start,
                        end: tokens[i + rest.len()].end,
                        words: rest.len() + 1,
                    });
                }
            }
        }
        if !self.regexes.is_empty() {
            let lowered = text.to_lowercase();
            let offsets = lowercase_offsets(text);
            for (target, exclude, regex) in &self.regexes {
                for m in regex.find_iter(&lowered) {
                    let (start, end) = match &offsets {
                        None => (m.start(), m.end()),
                        Some(offsets) => original_span(offsets, m.start(), m.end()),
                    };
                    found.push(PhraseMatch {
                        target: *target,
                        exclude: *exclude,
                        start,
                        end,
                        words: 2,
                    });
                }
            }
        }
        found
    }

    pub fn category(&self, dimension: Dimension, id: &str) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.dimension == dimension && c.id == id)
    }
}

/// Where each character of `text` starts in `text` and in its lowercase form, when lowercasing
/// changes the length of any character ("İ" becomes "i̇", the Kelvin sign "k"), followed by both
/// lengths; `None` when every byte offset stays the same. `str::to_lowercase` maps each
/// character as `char::to_lowercase` does, except a final sigma, which is as long as `σ`.
fn lowercase_offsets(text: &str) -> Option<Vec<(usize, usize)>> {
    if text.is_ascii() {
        return None;
    }
    let mut offsets = Vec::with_capacity(text.len() + 1);
    let mut lowered = 0;
    let mut changed = false;
    for (original, c) in text.char_indices() {
        offsets.push((lowered, original));
        let len: usize = c.to_lowercase().map(char::len_utf8).sum();
        changed |= len != c.len_utf8();
        lowered += len;
    }
    offsets.push((lowered, text.len()));
    changed.then_some(offsets)
}

/// The span of the original text whose lowercase form holds `start..end` of the lowercase text:
/// widened to whole characters where a match starts or ends inside one character's lowercase
/// form.
fn original_span(offsets: &[(usize, usize)], start: usize, end: usize) -> (usize, usize) {
    let first = offsets.partition_point(|&(lowered, _)| lowered <= start);
    let last = offsets.partition_point(|&(lowered, _)| lowered < end);
    let start = offsets[first.saturating_sub(1)].1;
    let end = offsets
        .get(last)
        .map_or(start, |&(_, original)| original.max(start));
    (start, end)
}

/// The keys phrases are matched on, one per token: stems for words, the text for numbers,
/// empty (a barrier) for punctuation and symbols.
pub fn match_keys(tokens: &[Token], language: StemLanguage) -> Vec<String> {
    tokens
        .iter()
        .map(|t| match t.kind {
            TokenKind::Word | TokenKind::Hashtag => stem(&t.text, language).into_owned(),
            TokenKind::Number | TokenKind::Quantity | TokenKind::Money => normalize(&t.text),
            _ => String::new(),
        })
        .collect()
}

fn validate_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id {id:?} must be 1-64 characters of a-z, 0-9, '_'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "small"
[[category]]
dimension = "product_area"
id = "billing"
name = "Billing"
include = ["invoice", "charged", "re:\\bvat\\b"]
exclude = ["in charge"]
[[severity]]
level = "critical"
id = "outage"
include = ["is down"]
"#;

    fn refused(toml_text: &str) -> String {
        Taxonomy::parse(toml_text).unwrap_err().to_string()
    }

    #[test]
    fn the_default_taxonomy_is_valid_and_complete() {
        let t = Taxonomy::default_saas();
        let ids = |d: Dimension| {
            t.categories
                .iter()
                .filter(|c| c.dimension == d)
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(Dimension::JourneyStage),
            [
                "awareness",
                "evaluation",
                "purchase",
                "onboarding",
                "active_use",
                "support",
                "renewal"
            ]
        );
        assert_eq!(
            ids(Dimension::Driver),
            [
                "performance",
                "usability",
                "value",
                "service",
                "reliability"
            ]
        );
        assert_eq!(
            ids(Dimension::ProductArea),
            [
                "billing",
                "dashboard",
                "api",
                "mobile_app",
                "integrations",
                "account_login",
                "notifications",
                "reporting"
            ]
        );
        assert!(t.categories.iter().all(|c| !c.owner.is_empty()));
    }

    #[test]
    fn the_airline_example_is_valid() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/taxonomy-airline.toml"
        ))
        .unwrap();
        let t = Taxonomy::parse(&text).unwrap();
        assert!(t.categories.len() >= 15);
    }

    #[test]
    fn phrases_match_stemmed_words_and_regexes() {
        let t = Taxonomy::parse(SMALL).unwrap();
        let text = "I was charged twice on the VAT invoices";
        let tokens = tokenize(text);
        let keys = match_keys(&tokens, t.language);
        let found = t.find(text, &tokens, &keys);
        let terms: Vec<&str> = found.iter().map(|m| &text[m.start..m.end]).collect();
        assert_eq!(terms, ["charged", "invoices", "VAT"]);
    }

    #[test]
    fn regex_matches_point_at_the_original_text_when_lowercasing_changes_lengths() {
        // "İ" lowercases to three bytes, the Kelvin sign to one: the lowercase text is as long
        // as the original, but "vat" sits two bytes later in it. Spans taken from the
        // lowercase text used to land inside the Kelvin sign (and slicing there panicked).
        let t = Taxonomy::parse(SMALL).unwrap();
        let text = "İİ VAT \u{212A} invoice";
        assert_eq!(text.to_lowercase().len(), text.len());
        let tokens = tokenize(text);
        let keys = match_keys(&tokens, t.language);
        let found = t.find(text, &tokens, &keys);
        let terms: Vec<&str> = found.iter().map(|m| &text[m.start..m.end]).collect();
        assert_eq!(terms, ["invoice", "VAT"]);
        // A match that starts or ends inside one character's lowercase form takes the whole
        // character.
        let offsets = lowercase_offsets("aİb").unwrap();
        assert_eq!(offsets, [(0, 0), (1, 1), (4, 3), (5, 4)]);
        assert_eq!(original_span(&offsets, 1, 2), (1, 3));
        assert_eq!(original_span(&offsets, 2, 4), (1, 3));
        assert_eq!(original_span(&offsets, 2, 2), (1, 3));
        assert_eq!(original_span(&offsets, 4, 5), (3, 4));
        assert_eq!(lowercase_offsets("ascii only"), None);
        assert_eq!(lowercase_offsets("café ΣΑΣ"), None);
    }

    #[test]
    fn bad_taxonomies_are_refused_naming_the_entry() {
        let duplicate = format!("{SMALL}\n[[category]]\ndimension = \"product_area\"\nid = \"billing\"\nname = \"Again\"\ninclude = [\"bill\"]\n");
        assert!(
            refused(&duplicate).contains("category[1] (product_area.billing): duplicate id"),
            "{}",
            refused(&duplicate)
        );
        let empty = SMALL.replace(r#""invoice", "#, r#"" ", "#);
        assert!(
            refused(&empty).contains("category[0] (product_area.billing) include[0]"),
            "{}",
            refused(&empty)
        );
        let unknown = SMALL.replace(r#"dimension = "product_area""#, r#"dimension = "mood""#);
        assert!(
            refused(&unknown).contains("unknown dimension \"mood\""),
            "{}",
            refused(&unknown)
        );
        let regex = SMALL.replace(r#""re:\\bvat\\b""#, r#""re:(unclosed""#);
        assert!(
            refused(&regex).contains("include[2]: regular expression does not compile"),
            "{}",
            refused(&regex)
        );
        let level = SMALL.replace(r#"level = "critical""#, r#"level = "urgent""#);
        assert!(
            refused(&level).contains("severity[0] (outage): unknown level"),
            "{}",
            refused(&level)
        );
        assert!(refused("name = \"x\"\n[[category]]\nfoo = 1\n").contains("not valid toml"));
    }
}
