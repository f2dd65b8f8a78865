//! The sentiment lexicon: the customer-experience words, phrases and emoji this scorer adds to
//! (or overrides in) VADER's word list, intensifiers and dampeners, and the merged lookup table.
//! Data tables first, then [`Lexicon`].

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::text::{squash_apostrophes, Token};

/// Neutral words that are complaints when negated.
pub(super) const NEGATED_FUNCTION_WORDS: &[&str] = &[
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

pub(super) const INTENSIFIERS: &[&str] = &[
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

pub(super) const DAMPENERS: &[&str] = &[
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
pub(super) const CX_WORDS: &[(&str, f32)] = &[
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
pub(super) const CX_PHRASES: &[(&str, f32)] = &[
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
pub(super) const EMOJI: &[(&str, f32)] = &[
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
pub(super) struct Lexicon {
    words: HashMap<String, f32>,
    /// First word → (remaining words, valence), longest first.
    phrases: HashMap<&'static str, Vec<(Vec<&'static str>, f32)>>,
    symbols: HashMap<String, f32>,
}

impl Lexicon {
    pub(super) fn get() -> &'static Lexicon {
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

    pub(super) fn word(&self, word: &str) -> Option<f32> {
        self.words
            .get(word)
            .or_else(|| self.words.get(squash_apostrophes(word).as_ref()))
            .copied()
    }

    pub(super) fn symbol(&self, symbol: &str) -> Option<f32> {
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
    pub(super) fn phrase_at(&self, tokens: &[Token], i: usize) -> Option<(f32, usize)> {
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
