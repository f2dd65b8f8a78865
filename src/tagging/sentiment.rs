//! Sentiment: a lexicon scorer that understands negation, intensifiers, contrast ("but"),
//! emoticons and emoji, and the language of customer service ("still waiting", "on hold for
//! 2 hours", "third time I ask", "cancelled", "refund").
//!
//! Word valences start from the VADER lexicon (the `vader_sentiment` crate's word list, -4..4),
//! overridden and extended by this module's customer-experience lexicon. The score is in [-1, 1];
//! the label is Mixed when clearly positive and clearly negative clauses meet.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::text::{squash_apostrophes, Token, TokenKind};

/// Sentiment labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

impl SentimentLabel {
    pub const ALL: [SentimentLabel; 4] = [
        SentimentLabel::Positive,
        SentimentLabel::Neutral,
        SentimentLabel::Negative,
        SentimentLabel::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Positive => "positive",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Negative => "negative",
            SentimentLabel::Mixed => "mixed",
        }
    }

    pub fn parse(name: &str) -> Option<SentimentLabel> {
        SentimentLabel::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

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

/// Neutral words that are complaints when negated.
const NEGATED_FUNCTION_WORDS: &[&str] = &[
    "work",
    "works",
    "working",
    "worked",
    "load",
    "loads",
    "loading",
    "loaded",
    "respond",
    "responded",
    "responding",
    "response",
    "answer",
    "answered",
    "answering",
    "arrive",
    "arrived",
    "show",
    "showed",
    "open",
    "opens",
    "sync",
    "syncing",
    "update",
    "updated",
    "reply",
    "replied",
    "received",
    "receive",
    "get",
    "got",
    "getting",
    "come",
    "came",
    "connect",
    "connecting",
    "help",
    "helped",
    "helping",
    "refunded",
    "fixed",
    "resolved",
    "solved",
    "called",
    "contacted",
    "heard",
    "possible",
    "available",
    "able",
    "happy",
    "acceptable",
    "sure",
];

const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "so",
    "extremely",
    "totally",
    "absolutely",
    "super",
    "incredibly",
    "completely",
    "utterly",
    "truly",
    "highly",
    "seriously",
    "especially",
    "most",
    "such",
    "beyond",
    "insanely",
    "ridiculously",
    "terribly",
    "awfully",
    "deeply",
    "literally",
];

const DAMPENERS: &[&str] = &[
    "slightly",
    "somewhat",
    "kinda",
    "kind",
    "sort",
    "sorta",
    "barely",
    "hardly",
    "little",
    "marginally",
    "partly",
    "occasionally",
    "mostly",
];

/// The project's customer-experience words: overrides of the base list where customer feedback
/// uses a word differently ("like" is mostly a preposition, "please" a formula), and service
/// words the base list lacks.
const CX_WORDS: &[(&str, f32)] = &[
    // Formulas and fillers that are not sentiment in feedback.
    ("like", 0.0),
    ("please", 0.0),
    ("help", 0.0),
    ("care", 0.0),
    ("support", 0.0),
    ("sure", 0.0),
    ("want", 0.0),
    ("ok", 0.3),
    ("okay", 0.3),
    ("yes", 0.4),
    ("no", 0.0),
    ("well", 0.0),
    ("pretty", 0.5),
    ("hope", 0.6),
    ("hopefully", 0.4),
    ("kind", 0.6),
    ("free", 0.8),
    ("lol", 0.8),
    ("haha", 0.8),
    ("sorry", -0.5),
    ("apologies", -0.3),
    ("apologize", -0.3),
    ("seriously", -1.2),
    // Service failures.
    ("delayed", -1.6),
    ("delay", -1.4),
    ("delays", -1.4),
    ("late", -1.2),
    ("later", 0.0),
    ("cancelled", -1.6),
    ("canceled", -1.6),
    ("cancel", -1.0),
    ("cancellation", -1.3),
    ("cancellations", -1.3),
    ("refund", -1.0),
    ("refunds", -1.0),
    ("reimburse", -0.6),
    ("compensation", -0.8),
    ("waiting", -1.0),
    ("waited", -1.2),
    ("wait", -0.6),
    ("hold", -0.5),
    ("lost", -1.6),
    ("missing", -1.4),
    ("misplaced", -1.4),
    ("damaged", -1.9),
    ("broken", -1.9),
    ("broke", -1.5),
    ("crash", -1.8),
    ("crashed", -1.9),
    ("crashes", -1.9),
    ("crashing", -1.9),
    ("freeze", -1.5),
    ("freezes", -1.5),
    ("frozen", -1.4),
    ("bug", -1.4),
    ("bugs", -1.4),
    ("buggy", -1.9),
    ("glitch", -1.4),
    ("glitchy", -1.7),
    ("outage", -2.2),
    ("down", -0.4),
    ("unresponsive", -1.8),
    ("useless", -2.3),
    ("stuck", -1.5),
    ("stranded", -2.0),
    ("overcharged", -2.3),
    ("charged", -0.8),
    ("fee", -0.6),
    ("fees", -0.8),
    ("error", -1.3),
    ("errors", -1.3),
    ("slow", -1.4),
    ("slower", -1.2),
    ("sluggish", -1.5),
    ("laggy", -1.6),
    ("missed", -1.3),
    ("disconnected", -1.3),
    ("complaint", -1.3),
    ("complain", -1.3),
    ("issue", -0.8),
    ("issues", -0.8),
    ("problems", -1.6),
    ("nobody", -1.0),
    ("ignored", -1.8),
    ("ignoring", -1.8),
    ("unhelpful", -2.0),
    ("incompetent", -2.4),
    ("joke", -1.0),
    ("nightmare", -2.6),
    ("disaster", -2.6),
    ("mess", -1.8),
    ("worse", -2.1),
    ("terrible", -2.6),
    ("horrible", -2.6),
    ("awful", -2.6),
    ("pathetic", -2.5),
    ("disappointed", -2.1),
    ("disappointing", -2.1),
    ("frustrated", -2.1),
    ("frustrating", -2.1),
    ("annoyed", -1.8),
    ("annoying", -1.9),
    ("hours", -0.3),
    ("again", -0.3),
    ("still", -0.3),
    ("why", -0.4),
    ("rebook", -0.6),
    ("rebooked", -0.6),
    ("reschedule", -0.4),
    ("overbooked", -1.8),
    ("downgraded", -1.6),
    ("unreachable", -1.7),
    ("expired", -0.8),
    ("declined", -1.2),
    ("denied", -1.5),
    ("wrong", -1.6),
    ("fault", -1.2),
    ("failure", -2.0),
    ("fails", -2.0),
    // Service going well.
    ("thanks", 2.0),
    ("thank", 1.9),
    ("thx", 1.7),
    ("ty", 1.2),
    ("appreciate", 2.0),
    ("appreciated", 2.0),
    ("helpful", 2.0),
    ("quick", 0.9),
    ("quickly", 0.9),
    ("fast", 0.9),
    ("smooth", 1.3),
    ("seamless", 1.6),
    ("resolved", 1.2),
    ("solved", 1.2),
    ("kudos", 2.2),
    ("shoutout", 1.6),
    ("props", 1.2),
    ("lifesaver", 2.4),
    ("intuitive", 1.6),
    ("reliable", 1.5),
    ("responsive", 1.2),
    ("professional", 1.4),
    ("courteous", 1.8),
];

/// Multi-word customer-service expressions; matched on normalised words before single words.
const CX_PHRASES: &[(&str, f32)] = &[
    ("still waiting", -2.2),
    ("still no", -1.6),
    ("still not", -1.0),
    ("on hold", -1.6),
    ("no response", -2.0),
    ("no reply", -2.0),
    ("no answer", -1.8),
    ("no one", -1.2),
    ("no help", -2.0),
    ("no way", -0.8),
    ("never received", -2.2),
    ("never got", -1.8),
    ("never again", -2.6),
    ("third time", -1.8),
    ("second time", -1.2),
    ("fourth time", -2.0),
    ("yet again", -1.5),
    ("again and again", -1.8),
    ("over and over", -1.8),
    ("hung up", -2.2),
    ("waste of time", -2.6),
    ("waste of money", -2.6),
    ("wasted", -2.0),
    ("money back", -1.6),
    ("fed up", -2.6),
    ("let down", -2.2),
    ("what a joke", -2.4),
    ("get it together", -1.8),
    ("get your act together", -2.2),
    ("thanks for nothing", -2.6),
    ("no thanks", -1.0),
    ("not happy", -2.0),
    ("stopped working", -2.0),
    ("not working", -2.0),
    ("doesn't work", -2.0),
    ("does not work", -2.0),
    ("can't believe", -1.2),
    ("customer service", 0.0),
    ("customer care", 0.0),
    ("customer support", 0.0),
    ("thank you", 2.2),
    ("well done", 2.2),
    ("great job", 2.6),
    ("good job", 2.2),
    ("keep it up", 1.8),
    ("above and beyond", 2.6),
    ("worth it", 1.6),
    ("not worth", -1.8),
    ("love it", 2.8),
    ("no problem", 1.2),
    ("no problems", 1.2),
    ("no issues", 1.2),
    ("no complaints", 1.4),
    ("can't wait", 1.6),
    ("cannot wait", 1.6),
    ("no worries", 1.0),
    ("made my day", 2.6),
    ("out of stock", -1.2),
    ("out of service", -1.6),
    ("sold out", -1.0),
    ("on time", 1.2),
    ("for hours", -1.4),
    ("for days", -1.6),
    ("all day", -0.8),
    ("at least", 0.0),
    ("how long", -0.8),
    ("any update", -0.4),
    ("any updates", -0.4),
    ("good luck", 0.0),
    ("too long", -1.6),
];

/// Emoji valences (text emoticons come from the base list).
const EMOJI: &[(&str, f32)] = &[
    ("😀", 2.0),
    ("😁", 2.0),
    ("😃", 2.0),
    ("😄", 2.0),
    ("😊", 2.0),
    ("🙂", 1.2),
    ("😍", 3.0),
    ("🥰", 3.0),
    ("😘", 2.2),
    ("❤", 2.6),
    ("💕", 2.6),
    ("💖", 2.6),
    ("💙", 2.2),
    ("👍", 1.8),
    ("👏", 2.0),
    ("🙌", 2.2),
    ("🎉", 2.2),
    ("💯", 1.8),
    ("✨", 1.2),
    ("😎", 1.6),
    ("🙏", 1.0),
    ("🤩", 2.8),
    ("😂", 0.6),
    ("🤣", 0.6),
    ("😆", 1.4),
    ("😉", 1.2),
    ("☺", 1.8),
    ("😡", -3.0),
    ("😠", -2.6),
    ("🤬", -3.2),
    ("😤", -2.2),
    ("😞", -2.0),
    ("😢", -2.2),
    ("😭", -2.4),
    ("👎", -2.2),
    ("💩", -2.4),
    ("😩", -2.2),
    ("😫", -2.2),
    ("🙄", -1.8),
    ("😒", -1.8),
    ("😔", -1.8),
    ("😕", -1.2),
    ("😟", -1.6),
    ("😣", -1.8),
    ("😖", -2.0),
    ("😱", -1.6),
    ("🤦", -2.0),
    ("😑", -1.2),
    ("😐", -0.6),
    ("💔", -2.4),
    ("😪", -1.4),
];

/// Word, phrase and symbol valences.
struct Lexicon {
    words: HashMap<String, f32>,
    /// First word → (remaining words, valence), longest first.
    phrases: HashMap<&'static str, Vec<(Vec<&'static str>, f32)>>,
    symbols: HashMap<String, f32>,
}

impl Lexicon {
    fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::build)
    }

    fn build() -> Lexicon {
        let mut words = HashMap::with_capacity(8000);
        let mut symbols = HashMap::new();
        for (word, valence) in vader_sentiment::LEXICON.iter() {
            let word = word.to_lowercase();
            if word.chars().any(char::is_alphabetic)
                && !word.contains(|c: char| c.is_ascii_punctuation() && c != '\'')
            {
                words.insert(word, *valence as f32);
            } else {
                symbols.insert(word, *valence as f32);
            }
        }
        for (word, valence) in CX_WORDS {
            words.insert(word.to_string(), *valence);
        }
        for (emoji, valence) in EMOJI {
            symbols.insert(emoji.to_string(), *valence);
        }
        // Emoticons the base list spells with letters (":D", "xD").
        for (emoticon, valence) in [
            (":d", 2.2),
            (":-d", 2.2),
            ("xd", 1.6),
            (":p", 0.8),
            (":-p", 0.8),
            ("=d", 2.0),
            (":o", -0.4),
        ] {
            symbols.insert(emoticon.to_string(), valence);
        }
        let mut phrases: HashMap<&'static str, Vec<(Vec<&'static str>, f32)>> = HashMap::new();
        for (phrase, valence) in CX_PHRASES {
            let mut parts = phrase.split(' ');
            let first = parts.next().expect("phrases are not empty");
            let rest: Vec<&str> = parts.collect();
            if rest.is_empty() {
                continue;
            }
            phrases.entry(first).or_default().push((rest, *valence));
        }
        for candidates in phrases.values_mut() {
            candidates.sort_by_key(|(rest, _)| std::cmp::Reverse(rest.len()));
        }
        Lexicon {
            words,
            phrases,
            symbols,
        }
    }

    fn word(&self, word: &str) -> Option<f32> {
        self.words
            .get(word)
            .or_else(|| self.words.get(squash_apostrophes(word).as_ref()))
            .copied()
    }

    fn symbol(&self, symbol: &str) -> Option<f32> {
        let base: String = symbol
            .chars()
            .filter(|c| !matches!(*c as u32, 0xFE0F | 0x200D))
            .collect();
        self.symbols
            .get(&base)
            .or_else(|| self.symbols.get(&base.to_lowercase()))
            .copied()
    }

    /// A phrase starting at token `i`: its valence and how many tokens it covers.
    fn phrase_at(&self, tokens: &[Token], i: usize) -> Option<(f32, usize)> {
        let candidates = self.phrases.get(tokens[i].text.as_str())?;
        candidates.iter().find_map(|(rest, valence)| {
            let matches = rest.len() < tokens.len() - i
                && rest
                    .iter()
                    .zip(&tokens[i + 1..])
                    .all(|(word, token)| token.is_word() && token.text == *word);
            matches.then_some((*valence, rest.len() + 1))
        })
    }
}

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
