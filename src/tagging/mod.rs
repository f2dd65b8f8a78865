//! Tagging: every verbatim gets a journey stage, driver, product areas, severity and sentiment,
//! each with its confidence, the evidence that produced it and where it came from.
//!
//! Categories come from the workspace's [`taxonomy`]: the category with the most (and longest)
//! matching include phrases wins its dimension, unless an exclude phrase matches; ties go to the
//! higher priority. Product areas keep every matched category, strongest first. Severity is the
//! most severe of (a) the matching severity rules and (b) the level sentiment strength implies
//! (`severity_from_sentiment`). Tags a caller sends, and people's corrections, win over rules.
//!
//! [`service`] is the stateful side: each workspace's taxonomy in force over the store, and
//! the re-tagging a new version starts.

pub mod sentiment;
pub mod service;
pub mod taxonomy;

use std::collections::HashMap;

use self::sentiment::SentimentScore;
use self::taxonomy::{match_keys, Dimension, PhraseMatch, Target, Taxonomy};
use crate::model::tags::{Evidence, GivenTags, Origin, Sentiment, Severity, Tag, Tags};
use crate::model::{quoted, ValidationError, Verbatim};
use crate::text::{char_offset, tokenize};

/// Most product areas kept per verbatim.
const MAX_PRODUCT_AREAS: usize = 3;
/// Evidence items kept per tag.
const MAX_EVIDENCE: usize = 5;

/// Tags `text` with `taxonomy` (at `version`), then applies `given` tags with `origin`.
pub fn tag_text(
    taxonomy: &Taxonomy,
    version: u64,
    text: &str,
    given: &GivenTags,
    origin: Origin,
) -> Tags {
    let tokens = tokenize(text);
    let keys = match_keys(&tokens, taxonomy.language);
    let matches = taxonomy.find(text, &tokens, &keys);
    let sentiment = sentiment::score(&tokens);
    let mut tags = Tags {
        journey_stage: best_categories(taxonomy, text, &matches, Dimension::JourneyStage)
            .into_iter()
            .next(),
        driver: best_categories(taxonomy, text, &matches, Dimension::Driver)
            .into_iter()
            .next(),
        product_areas: {
            let mut areas = best_categories(taxonomy, text, &matches, Dimension::ProductArea);
            areas.truncate(MAX_PRODUCT_AREAS);
            areas
        },
        severity: Some(severity(taxonomy, text, &matches, &sentiment)),
        sentiment: Some(Sentiment {
            score: sentiment.score,
            label: sentiment.label,
            confidence: sentiment.confidence,
            evidence: sentiment
                .cues
                .iter()
                .take(MAX_EVIDENCE)
                .map(|c| evidence(text, c.start, c.end))
                .collect(),
            origin: Origin::Rule,
        }),
        taxonomy_version: version,
    };
    apply_given(&mut tags, given, origin);
    tags
}

/// Overrides rule tags with the given ones.
pub fn apply_given(tags: &mut Tags, given: &GivenTags, origin: Origin) {
    if let Some(stage) = &given.journey_stage {
        tags.journey_stage = Some(Tag::given(stage, origin));
    }
    if let Some(driver) = &given.driver {
        tags.driver = Some(Tag::given(driver, origin));
    }
    if !given.product_areas.is_empty() {
        tags.product_areas = given
            .product_areas
            .iter()
            .map(|a| Tag::given(a, origin))
            .collect();
    }
    if let Some(level) = given.severity {
        tags.severity = Some(Tag::given(level.as_str(), origin));
    }
    if let Some(label) = given.sentiment {
        let score = tags.sentiment.as_ref().map_or(0.0, |s| s.score);
        tags.sentiment = Some(Sentiment {
            score,
            label,
            confidence: 1.0,
            evidence: Vec::new(),
            origin,
        });
    }
}

/// Fresh rule tags, keeping every client or person tag of `previous`.
pub fn keep_sticky(previous: &Tags, mut fresh: Tags) -> Tags {
    let sticky = |t: &Option<Tag>| t.as_ref().is_some_and(|t| t.origin.is_sticky());
    if sticky(&previous.journey_stage) {
        fresh.journey_stage = previous.journey_stage.clone();
    }
    if sticky(&previous.driver) {
        fresh.driver = previous.driver.clone();
    }
    if previous.product_areas.iter().any(|t| t.origin.is_sticky()) {
        fresh.product_areas = previous.product_areas.clone();
    }
    if sticky(&previous.severity) {
        fresh.severity = previous.severity.clone();
    }
    if previous
        .sentiment
        .as_ref()
        .is_some_and(|s| s.origin.is_sticky())
    {
        fresh.sentiment = previous.sentiment.clone();
    }
    fresh
}

/// The most common primary product area among some verbatims (ties: the smaller id).
pub fn most_common_area<'a>(verbatims: impl IntoIterator<Item = &'a Verbatim>) -> Option<&'a str> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in verbatims {
        if let Some(area) = v.tags.product_areas.first() {
            *counts.entry(area.value.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(area, _)| area)
}

/// Checks given tags against a taxonomy; the error names the offending field.
pub fn validate_given(taxonomy: &Taxonomy, given: &GivenTags) -> Result<(), ValidationError> {
    let check = |field: String, dimension: Dimension, id: &str| {
        if taxonomy.category(dimension, id).is_some() {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                format!("unknown {} {}", dimension.as_str(), quoted(id)),
            ))
        }
    };
    if let Some(stage) = &given.journey_stage {
        check("tags.journey_stage".into(), Dimension::JourneyStage, stage)?;
    }
    if let Some(driver) = &given.driver {
        check("tags.driver".into(), Dimension::Driver, driver)?;
    }
    for (i, area) in given.product_areas.iter().enumerate() {
        check(
            format!("tags.product_areas[{i}]"),
            Dimension::ProductArea,
            area,
        )?;
    }
    Ok(())
}

fn evidence(text: &str, start: usize, end: usize) -> Evidence {
    Evidence {
        term: text.get(start..end).unwrap_or_default().to_string(),
        start: char_offset(text, start) as u32,
        end: char_offset(text, end) as u32,
    }
}

/// Weight of one matching phrase: longer phrases are more specific.
fn phrase_weight(m: &PhraseMatch) -> f32 {
    1.0 + 0.5 * (m.words.saturating_sub(1)) as f32
}

/// Matched categories of one dimension, best first.
fn best_categories(
    taxonomy: &Taxonomy,
    text: &str,
    matches: &[PhraseMatch],
    dimension: Dimension,
) -> Vec<Tag> {
    let mut scores: HashMap<usize, (f32, Vec<Evidence>)> = HashMap::new();
    let excluded: Vec<usize> = matches
        .iter()
        .filter_map(|m| match m.target {
            Target::Category(c) if m.exclude => Some(c),
            _ => None,
        })
        .collect();
    for m in matches {
        let Target::Category(c) = m.target else {
            continue;
        };
        if m.exclude || excluded.contains(&c) || taxonomy.categories[c].dimension != dimension {
            continue;
        }
        let entry = scores.entry(c).or_default();
        entry.0 += phrase_weight(m);
        if entry.1.len() < MAX_EVIDENCE {
            entry.1.push(evidence(text, m.start, m.end));
        }
    }
    let mut ranked: Vec<(usize, f32, Vec<Evidence>)> =
        scores.into_iter().map(|(c, (s, e))| (c, s, e)).collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(
                taxonomy.categories[b.0]
                    .priority
                    .cmp(&taxonomy.categories[a.0].priority),
            )
            .then(a.0.cmp(&b.0))
    });
    ranked
        .into_iter()
        .map(|(c, score, evidence)| {
            let category = &taxonomy.categories[c];
            Tag {
                value: category.id.clone(),
                confidence: 1.0 - (-0.8 * score).exp(),
                reason: format!("matched {} phrase(s) of {}", evidence.len(), category.name),
                evidence,
                origin: Origin::Rule,
            }
        })
        .collect()
}

/// The most severe of the matching rules and the sentiment-implied level.
fn severity(
    taxonomy: &Taxonomy,
    text: &str,
    matches: &[PhraseMatch],
    sentiment: &SentimentScore,
) -> Tag {
    let thresholds = taxonomy.file.severity_from_sentiment;
    let from_sentiment = if sentiment.score <= thresholds.high_at_or_below {
        Severity::High
    } else if sentiment.score <= thresholds.medium_at_or_below {
        Severity::Medium
    } else {
        Severity::Low
    };
    let excluded: Vec<usize> = matches
        .iter()
        .filter_map(|m| match m.target {
            Target::Severity(r) if m.exclude => Some(r),
            _ => None,
        })
        .collect();
    let mut best: Option<(Severity, usize, Vec<Evidence>)> = None;
    for m in matches {
        let Target::Severity(r) = m.target else {
            continue;
        };
        if m.exclude || excluded.contains(&r) {
            continue;
        }
        let level = taxonomy.severity_rules[r].level;
        match &mut best {
            Some((best_level, best_rule, evidence)) if *best_level == level && *best_rule == r => {
                if evidence.len() < MAX_EVIDENCE {
                    evidence.push(self::evidence(text, m.start, m.end));
                }
            }
            Some((best_level, _, _)) if *best_level <= level => {}
            _ => best = Some((level, r, vec![self::evidence(text, m.start, m.end)])),
        }
    }
    match best {
        Some((level, rule, evidence)) if level <= from_sentiment => {
            let rule = &taxonomy.severity_rules[rule];
            Tag {
                value: level.as_str().to_string(),
                confidence: (0.7 + 0.1 * evidence.len() as f32).min(1.0),
                evidence,
                origin: Origin::Rule,
                reason: format!("rule {}: {}", rule.id, rule.description),
            }
        }
        _ => Tag {
            value: from_sentiment.as_str().to_string(),
            confidence: sentiment.confidence.max(0.3),
            evidence: sentiment
                .cues
                .iter()
                .take(MAX_EVIDENCE)
                .map(|c| evidence(text, c.start, c.end))
                .collect(),
            origin: Origin::Rule,
            reason: match from_sentiment {
                Severity::High => format!(
                    "sentiment {:.2} <= {}",
                    sentiment.score, thresholds.high_at_or_below
                ),
                Severity::Medium => format!(
                    "sentiment {:.2} <= {}",
                    sentiment.score, thresholds.medium_at_or_below
                ),
                _ => format!("no severity rule matched; sentiment {:.2}", sentiment.score),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tags(text: &str) -> Tags {
        tag_text(
            &Taxonomy::default_saas(),
            1,
            text,
            &GivenTags::default(),
            Origin::Client,
        )
    }

    fn severity_of(text: &str) -> (String, String) {
        let t = tags(text).severity.unwrap();
        (t.value, t.reason)
    }

    #[test]
    fn each_critical_severity_rule_fires() {
        for (text, rule) in [
            (
                "the whole platform is down, total outage since 9am",
                "outage",
            ),
            (
                "after the sync all my projects were deleted, I lost my data",
                "data_loss",
            ),
            (
                "someone hacked my account and changed the password",
                "security",
            ),
            (
                "I was charged twice for the same invoice this month",
                "double_charge",
            ),
            ("I can't log in since yesterday", "cant_log_in"),
            (
                "if this is not fixed I will contact my lawyer",
                "legal_threat",
            ),
        ] {
            let (level, reason) = severity_of(text);
            assert_eq!(level, "critical", "{text}: {reason}");
            assert!(
                reason.starts_with(&format!("rule {rule}")),
                "{text}: {reason}"
            );
        }
    }

    #[test]
    fn every_severity_rule_of_the_default_taxonomy_fires_on_its_own_phrases() {
        let taxonomy = Taxonomy::default_saas();
        for (i, def) in taxonomy.file.severity_rules.iter().enumerate() {
            let rule = &taxonomy.severity_rules[i];
            for phrase in def.include.iter().filter(|p| !p.starts_with("re:")).take(3) {
                let text = format!("update on account 42: {phrase}");
                let tag = tag_text(&taxonomy, 1, &text, &GivenTags::default(), Origin::Rule)
                    .severity
                    .unwrap();
                let level = Severity::parse(&tag.value).unwrap();
                assert!(
                    level <= rule.level,
                    "{text:?} gave {level:?}, rule {} is {:?}",
                    rule.id,
                    rule.level
                );
                if level == rule.level && !tag.reason.contains(&rule.id) {
                    // Another rule of the same level matched first; it must still be a rule.
                    assert!(tag.reason.starts_with("rule "), "{text:?}: {}", tag.reason);
                }
            }
        }
    }

    #[test]
    fn severity_without_rules_follows_sentiment_strength() {
        assert_eq!(
            severity_of("the export is terrible, awful and useless, I hate it").0,
            "high"
        );
        assert_eq!(severity_of("the export is a bit annoying").0, "medium");
        assert_eq!(severity_of("love the new dashboard").0, "low");
    }

    #[test]
    fn categories_carry_evidence_with_character_spans() {
        let text = "Über annoying: the mobile app crashes whenever I open an invoice";
        let t = tags(text);
        let primary = &t.product_areas[0];
        assert!(
            t.product_areas.iter().any(|a| a.value == "mobile_app"),
            "{:?}",
            t.product_areas
        );
        assert!(
            t.product_areas.iter().any(|a| a.value == "billing"),
            "{:?}",
            t.product_areas
        );
        for e in &primary.evidence {
            let chars: String = text
                .chars()
                .skip(e.start as usize)
                .take((e.end - e.start) as usize)
                .collect();
            assert_eq!(chars, e.term);
        }
        assert!(primary.confidence > 0.0 && primary.confidence <= 1.0);
        assert_eq!(
            t.sentiment.unwrap().label,
            crate::model::tags::SentimentLabel::Negative
        );
    }

    #[test]
    fn given_tags_win_and_survive_retagging() {
        let taxonomy = Taxonomy::default_saas();
        let given = GivenTags {
            product_areas: vec!["api".into()],
            severity: Some(Severity::Low),
            ..Default::default()
        };
        let t = tag_text(
            &taxonomy,
            1,
            "charged twice on my invoice",
            &given,
            Origin::Client,
        );
        assert_eq!(t.product_areas.len(), 1);
        assert_eq!(
            (t.product_areas[0].value.as_str(), t.product_areas[0].origin),
            ("api", Origin::Client)
        );
        assert_eq!(t.severity.as_ref().unwrap().value, "low");
        let fresh = tag_text(
            &taxonomy,
            2,
            "charged twice on my invoice",
            &GivenTags::default(),
            Origin::Rule,
        );
        let kept = keep_sticky(&t, fresh);
        assert_eq!(kept.product_areas[0].value, "api");
        assert_eq!(kept.severity.unwrap().value, "low");
        assert_eq!(kept.taxonomy_version, 2);
        assert!(validate_given(
            &taxonomy,
            &GivenTags {
                driver: Some("vibes".into()),
                ..Default::default()
            }
        )
        .unwrap_err()
        .to_string()
        .starts_with("tags.driver"));
    }

    /// Every piece of evidence of every tag is a character span of the text holding its term.
    fn assert_evidence_in(text: &str, tags: &Tags) -> Result<(), TestCaseError> {
        let chars: Vec<char> = text.chars().collect();
        let evidence = tags
            .journey_stage
            .iter()
            .chain(&tags.driver)
            .chain(&tags.product_areas)
            .chain(&tags.severity)
            .flat_map(|t| &t.evidence)
            .chain(tags.sentiment.iter().flat_map(|s| &s.evidence));
        for e in evidence {
            let (start, end) = (e.start as usize, e.end as usize);
            prop_assert!(start <= end && end <= chars.len(), "{e:?} outside {text:?}");
            prop_assert_eq!(&chars[start..end].iter().collect::<String>(), &e.term);
        }
        Ok(())
    }

    #[test]
    fn evidence_of_a_regex_is_found_when_lowercasing_changes_lengths() {
        // Tagging this text panicked: the "import" regex of the built-in taxonomy matched the
        // lowercase text, whose offsets differ from the original's, and the span was sliced
        // inside the Kelvin sign.
        let text = "İİ importing \u{212A}";
        let tags = tags(text);
        let stage = tags.journey_stage.as_ref().unwrap();
        assert_eq!(stage.value, "onboarding");
        let evidence = &stage.evidence[0];
        assert_eq!(
            (evidence.term.as_str(), evidence.start, evidence.end),
            ("importing", 3, 12)
        );
        assert_evidence_in(text, &tags).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn evidence_always_lies_in_the_text(
            text in "([a-z]{1,8}|[ .,!]|import|billing|crash|down|İ|\u{212A}|ẞ|É|ǅ|😡){0,24}",
        ) {
            static TAXONOMY: std::sync::OnceLock<Taxonomy> = std::sync::OnceLock::new();
            let taxonomy = TAXONOMY.get_or_init(Taxonomy::default_saas);
            let tags = tag_text(taxonomy, 1, &text, &GivenTags::default(), Origin::Rule);
            assert_evidence_in(&text, &tags)?;
        }
    }
}
