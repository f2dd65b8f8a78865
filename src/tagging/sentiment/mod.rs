//! Sentiment: a lexicon scorer that understands negation, intensifiers, contrast ("but"),
//! emoticons and emoji, and the language of customer service ("still waiting", "on hold for
//! 2 hours", "third time I ask", "cancelled", "refund").
//!
//! Word valences start from the VADER lexicon (the `vader_sentiment` crate's word list, -4..4),
//! overridden and extended by this module's customer-experience lexicon. The score is in [-1, 1];
//! the label is Mixed when clearly positive and clearly negative clauses meet.

mod lexicon;

use self::lexicon::{Lexicon, DAMPENERS, INTENSIFIERS, NEGATED_FUNCTION_WORDS};
use crate::model::tags::SentimentLabel;
use crate::text::{Token, TokenKind};

/// A token (or phrase) that moved the score, with its byte span and contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start: usize,
    pub end: usize,
    pub valence: f32,
}

/// The scorer's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentScore {
    /// In [-1, 1].
    pub score: f32,
    pub label: SentimentLabel,
    /// How sure the label is, in [0, 1].
    pub confidence: f32,
    /// The strongest cues, strongest first.
    pub cues: Vec<Cue>,
}

/// Scores at or above this are Positive.
const POSITIVE_AT: f32 = 0.3;
/// Scores at or below this are Negative.
const NEGATIVE_AT: f32 = -0.15;
/// Normalisation constant: score = sum / sqrt(sum² + ALPHA).
const ALPHA: f32 = 15.0;
/// Negation flips and dampens a valence (VADER's factor).
const NEGATION: f32 = -0.74;
/// What an intensifier adds to a valence's magnitude.
const BOOST: f32 = 0.293;
/// Words within this many tokens after a negation are negated.
const NEGATION_SCOPE: usize = 3;

/// Scores analysed tokens.
pub fn score(tokens: &[Token]) -> SentimentScore {
    let lexicon = Lexicon::get();
    let mut cues: Vec<Cue> = Vec::new();
    // Positive and negative mass before contrast weighting, for the Mixed decision.
    let (mut raw_positive, mut raw_negative) = (0.0f32, 0.0f32);
    let contrast_at = tokens.iter().rposition(|t| {
        t.is_word()
            && matches!(
                t.text.as_str(),
                "but" | "however" | "although" | "though" | "except"
            )
    });
    let all_shouted = tokens.iter().filter(|t| t.is_word()).all(|t| t.shouted);

    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let (mut valence, consumed) = match token.kind {
            TokenKind::Word => match lexicon.phrase_at(tokens, i) {
                Some((valence, len)) => (valence, len),
                None => (lexicon.word(&token.text).unwrap_or(0.0), 1),
            },
            TokenKind::Emoticon | TokenKind::Emoji => {
                (lexicon.symbol(&token.text).unwrap_or(0.0), 1)
            }
            TokenKind::Quantity if is_duration(&token.text) => (DURATION_VALENCE, 1),
            _ => (0.0, 1),
        };
        let negated = is_negated(tokens, i);
        if valence == 0.0
            && negated
            && token.is_word()
            && NEGATED_FUNCTION_WORDS.contains(&token.text.as_str())
        {
            // "doesn't work", "never arrived", "not helpful at all".
            valence = NEGATED_FUNCTION_VALENCE;
        } else if valence != 0.0 {
            valence += valence.signum() * boost(tokens, i);
            if token.shouted && !all_shouted {
                valence += valence.signum() * 0.733;
            }
            if negated && token.is_word() {
                valence *= NEGATION;
            }
        }
        if valence != 0.0 {
            if valence > 0.0 {
                raw_positive += valence;
            } else {
                raw_negative -= valence;
            }
            if let Some(at) = contrast_at {
                valence *= if i < at { 0.5 } else { 1.5 };
            }
            let end = tokens[i + consumed - 1].end;
            cues.push(Cue {
                start: token.start,
                end,
                valence,
            });
        }
        i += consumed;
    }

    let positive: f32 = cues.iter().map(|c| c.valence.max(0.0)).sum();
    let negative: f32 = cues.iter().map(|c| (-c.valence).max(0.0)).sum();
    let mut sum = positive - negative;
    let exclamations = tokens.iter().filter(|t| t.text == "!").count().min(4) as f32;
    if sum != 0.0 {
        sum += sum.signum() * exclamations * 0.292;
    }
    // A question asks rather than judges: mild positive words ("please help?") do not make it positive.
    let is_question = tokens
        .iter()
        .rev()
        .find(|t| t.kind == TokenKind::Punct)
        .is_some_and(|t| t.text == "?");
    if is_question && sum > 0.0 && sum < 2.0 {
        sum *= 0.5;
    }
    let score = (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0);

    let (low, high) = (
        raw_positive.min(raw_negative),
        raw_positive.max(raw_negative),
    );
    let label = if low >= 1.0 && low >= 0.4 * high {
        SentimentLabel::Mixed
    } else if score >= POSITIVE_AT {
        SentimentLabel::Positive
    } else if score <= NEGATIVE_AT {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    };
    let confidence = match label {
        SentimentLabel::Neutral => 1.0 - score.abs() / POSITIVE_AT.max(-NEGATIVE_AT),
        SentimentLabel::Mixed => low / high,
        _ => score.abs(),
    }
    .clamp(0.05, 1.0);
    cues.sort_by(|a, b| b.valence.abs().total_cmp(&a.valence.abs()));
    cues.truncate(8);
    SentimentScore {
        score,
        label,
        confidence,
        cues,
    }
}

/// A negation among the few words before `i`, in the same clause.
fn is_negated(tokens: &[Token], i: usize) -> bool {
    tokens[..i]
        .iter()
        .rev()
        .take_while(|t| t.kind != TokenKind::Punct)
        .filter(|t| t.is_word())
        .take(NEGATION_SCOPE)
        .any(|t| t.is_negation() && !(t.text == "no" && i > 0 && tokens[i - 1].text == "doubt"))
}

/// Intensifiers ("very", "so", "extremely") and dampeners ("slightly") just before `i`.
fn boost(tokens: &[Token], i: usize) -> f32 {
    tokens[..i]
        .iter()
        .rev()
        .take(2)
        .filter(|t| t.is_word())
        .map(|t| {
            if INTENSIFIERS.contains(&t.text.as_str()) {
                BOOST
            } else if DAMPENERS.contains(&t.text.as_str()) {
                -BOOST
            } else {
                0.0
            }
        })
        .sum()
}

fn is_duration(quantity: &str) -> bool {
    ["min", "hour", "hr", "day", "week", "month"]
        .iter()
        .any(|unit| quantity.contains(unit))
}

/// A stated waiting time ("2 hours", "3 days") in feedback is almost always a complaint.
const DURATION_VALENCE: f32 = -0.9;
/// Valence of a negated function word: "doesn't work", "never arrived".
const NEGATED_FUNCTION_VALENCE: f32 = -1.6;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    fn label(text: &str) -> SentimentLabel {
        score(&tokenize(text)).label
    }

    fn value(text: &str) -> f32 {
        score(&tokenize(text)).score
    }

    #[test]
    fn plain_polarity() {
        assert_eq!(
            label("I love this app, the support team is amazing"),
            SentimentLabel::Positive
        );
        assert_eq!(
            label("This is the worst update ever, totally useless"),
            SentimentLabel::Negative
        );
        assert_eq!(
            label("I changed my email address last week"),
            SentimentLabel::Neutral
        );
    }

    #[test]
    fn negation_flips() {
        assert!(value("the new design is good") > 0.3);
        assert!(value("the new design is not good") < 0.0);
        assert_eq!(label("the export doesn't work"), SentimentLabel::Negative);
        assert_eq!(label("support never answered"), SentimentLabel::Negative);
        // A negation does not reach past the clause.
        assert!(value("not sure why, but great service") > 0.3);
    }

    #[test]
    fn intensifiers_and_shouting_strengthen() {
        assert!(value("the app is extremely slow") < value("the app is slow"));
        assert!(value("support was very helpful") > value("support was helpful"));
        assert!(value("the app is SLOW today") < value("the app is slow today"));
    }

    #[test]
    fn contrast_makes_mixed() {
        assert_eq!(
            label("great app but billing is a mess"),
            SentimentLabel::Mixed
        );
        assert_eq!(
            label("love the features, but the app keeps crashing and support is useless"),
            SentimentLabel::Mixed
        );
        // The clause after "but" weighs more.
        assert!(value("a bit slow but really great overall") > 0.0);
    }

    #[test]
    fn emoticons_and_emoji() {
        assert_eq!(label("new dashboard :)"), SentimentLabel::Positive);
        assert_eq!(label("new dashboard :("), SentimentLabel::Negative);
        assert_eq!(label("checkout again 😡"), SentimentLabel::Negative);
        assert_eq!(label("new release 😍🎉"), SentimentLabel::Positive);
    }

    #[test]
    fn customer_service_language() {
        for text in [
            "still waiting for my refund",
            "on hold for 2 hours",
            "this is the third time I ask for an invoice",
            "my order was cancelled",
            "I want a refund",
            "nobody responded to my ticket in 3 days",
        ] {
            assert_eq!(label(text), SentimentLabel::Negative, "{text}");
        }
        assert_eq!(
            label("thank you for the quick fix"),
            SentimentLabel::Positive
        );
        assert_eq!(label("thanks for nothing"), SentimentLabel::Negative);
    }

    #[test]
    fn polite_questions_are_neutral() {
        assert_eq!(
            label("can you please help me change my plan?"),
            SentimentLabel::Neutral
        );
        assert_eq!(label("how do I export to csv?"), SentimentLabel::Neutral);
    }

    #[test]
    fn cues_point_at_the_words() {
        let text = "great app but billing is a mess";
        let result = score(&tokenize(text));
        let spans: Vec<&str> = result.cues.iter().map(|c| &text[c.start..c.end]).collect();
        assert!(
            spans.contains(&"great") && spans.contains(&"mess"),
            "{spans:?}"
        );
    }
}
