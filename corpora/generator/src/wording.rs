//! From a template to the words a customer writes: slots filled, then dressed the way each
//! source is written (greetings and sign-offs, extra details, typos, all-lowercase or
//! shouting, personal data, emoji).

use time::Month;

use super::phrases::{self, Slots, Template, Tone};
use super::population::MobileOs;
use super::rng::SplitMix64;
use super::{Plan, Source};

/// What the row-dependent slots are filled with.
pub(super) struct SlotContext {
    pub(super) os: MobileOs,
    pub(super) plan: Plan,
    /// A paid plan other than `plan` (the plan before a change).
    pub(super) old_plan: Plan,
    /// The month the row was written (filled in as "October").
    pub(super) month: Month,
}

/// Personal data a text can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PiiKind {
    Email,
    Phone,
    Card,
}

/// Fills a template's `{slot}`s, from the topic's own `slots` first, then from the shared
/// [`phrases::SLOTS`], then from the row context; values that contain slots are filled in turn.
///
/// Panics on an unknown slot name: that is a bug in the phrase tables, which the tests fill
/// exhaustively.
pub(super) fn fill(
    template: &str,
    slots: Slots,
    ctx: &SlotContext,
    rng: &mut SplitMix64,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open
            + rest[open..]
                .find('}')
                .unwrap_or_else(|| panic!("unclosed slot in {template:?}"));
        let name = &rest[open + 1..close];
        let listed = |table: Slots| {
            table
                .iter()
                .find(|(slot, _)| *slot == name)
                .map(|(_, values)| *values)
        };
        match listed(slots).or_else(|| listed(phrases::SLOTS)) {
            Some(values) => {
                let value = rng.pick(values);
                out.push_str(&fill(value, slots, ctx, rng));
            }
            None => out.push_str(
                &context_slot(name, ctx, rng)
                    .unwrap_or_else(|| panic!("unknown slot {name:?} in {template:?}")),
            ),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The value of a slot that depends on the row, or `None` for an unknown name.
fn context_slot(name: &str, ctx: &SlotContext, rng: &mut SplitMix64) -> Option<String> {
    let os = ctx.os.index();
    let value = match name {
        "mobile_app" => rng.pick(phrases::MOBILE_APP_NAMES[os]).to_string(),
        "device" => rng.pick(phrases::DEVICES[os]).to_string(),
        "os_version" => rng.pick(phrases::OS_VERSIONS[os]).to_string(),
        "os" => ctx.os.name().to_string(),
        "plan" => ctx.plan.display_name().to_string(),
        "old_plan" => ctx.old_plan.display_name().to_string(),
        "month" => ctx.month.to_string(),
        "invoice_no" => format!("INV-{}", 10_000 + rng.below(90_000)),
        "email" => random_email(rng),
        "phone" => {
            let format = rng.pick(phrases::PHONE_FORMATS);
            random_digits(rng, format)
        }
        "card" => rng.pick(phrases::TEST_CARDS).to_string(),
        _ => return None,
    };
    Some(value)
}

/// `format` with every `#` replaced by a random digit.
fn random_digits(rng: &mut SplitMix64, format: &str) -> String {
    format
        .chars()
        .map(|c| {
            if c == '#' {
                char::from(b'0' + rng.below(10) as u8)
            } else {
                c
            }
        })
        .collect()
}

/// An address at a reserved example domain: "jane.doe@example.com", "jdoe@example.org".
fn random_email(rng: &mut SplitMix64) -> String {
    let first = rng.pick(phrases::FIRST_NAMES);
    let last = rng.pick(phrases::LAST_NAMES);
    let domain = rng.pick(phrases::EMAIL_DOMAINS);
    match rng.below(3) {
        0 => format!("{first}.{last}@{domain}"),
        1 => format!("{}{last}@{domain}", &first[..1]),
        _ => format!("{first}.{last}{}@{domain}", rng.below(100)),
    }
}

/// The text of one verbatim: `template` filled and dressed the way `source` is written, with a
/// sentence carrying `pii` when given.
pub(super) fn compose(
    rng: &mut SplitMix64,
    template: &Template,
    slots: Slots,
    source: Source,
    ctx: &SlotContext,
    pii: Option<PiiKind>,
) -> String {
    let tone = template.tone;
    let mut body = capitalize_first(&fill(template.text, slots, ctx, rng));
    for typo_rate in [0.06, 0.01] {
        if rng.chance(typo_rate) {
            body = add_typo(rng, &body);
        }
    }
    end_sentence(rng, &mut body, source, tone);
    let opener = opener(rng, source, tone);
    let detail_rate = match (source, tone) {
        (_, Tone::Positive) => 0.0,
        (Source::Ticket, _) => 0.2,
        (Source::Chat, _) => 0.1,
        (Source::Survey | Source::Review, _) => 0.0,
    };
    let detail = if rng.chance(detail_rate) {
        Some(fill(rng.pick(phrases::DETAILS), &[], ctx, rng))
    } else {
        None
    };
    let closer = closer(rng, source, tone);
    let case = letter_case(rng, source, tone);

    let mut text = String::new();
    if let Some(opener) = opener {
        text.push_str(&case.apply(opener));
        if source == Source::Ticket && rng.chance(0.4) {
            text.push('\n');
        } else {
            // The message goes on in the same sentence: "hi the dashboard ...".
            text.push(' ');
            body = lowercase_first_word(&body);
        }
    }
    text.push_str(&case.apply(&body));
    if let Some(detail) = detail {
        text.push(' ');
        text.push_str(&case.apply(&detail));
    }
    // Personal data keeps its own spelling whatever the case of the rest.
    if let Some(kind) = pii {
        text.push(' ');
        text.push_str(&pii_sentence(rng, kind, ctx));
    }
    if let Some(closer) = closer {
        text.push_str(if source == Source::Ticket { "\n" } else { " " });
        text.push_str(&case.apply(closer));
    }
    if let Some(emoji) = emoji(rng, source, tone) {
        text.push(' ');
        text.push_str(emoji);
    }
    text
}

/// How a whole message is cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LetterCase {
    AsWritten,
    Lower,
    Shouted,
}

impl LetterCase {
    fn apply(self, text: &str) -> String {
        match self {
            LetterCase::AsWritten => text.to_string(),
            LetterCase::Lower => text.to_lowercase(),
            LetterCase::Shouted => text.to_uppercase(),
        }
    }
}

/// Chats are often typed all in lowercase; angry reviews, chats and surveys are sometimes
/// shouted.
fn letter_case(rng: &mut SplitMix64, source: Source, tone: Tone) -> LetterCase {
    let lowercase_rate = match source {
        Source::Chat => 0.35,
        Source::Survey | Source::Review => 0.08,
        Source::Ticket => 0.03,
    };
    if tone == Tone::Negative && source != Source::Ticket && rng.chance(0.03) {
        LetterCase::Shouted
    } else if rng.chance(lowercase_rate) {
        LetterCase::Lower
    } else {
        LetterCase::AsWritten
    }
}

/// A greeting before the message, as tickets, chats and some reviews start.
fn opener(rng: &mut SplitMix64, source: Source, tone: Tone) -> Option<&'static str> {
    let (rate, openers) = match (source, tone) {
        (Source::Ticket, _) => (0.6, phrases::TICKET_OPENERS),
        (Source::Chat, _) => (0.5, phrases::CHAT_OPENERS),
        (Source::Review, Tone::Positive) => (0.3, phrases::REVIEW_OPENERS_POSITIVE),
        (Source::Review, Tone::Negative) => (0.3, phrases::REVIEW_OPENERS_NEGATIVE),
        (Source::Review, Tone::Mixed) => (0.3, phrases::REVIEW_OPENERS_MIXED),
        (Source::Review, Tone::Neutral) | (Source::Survey, _) => return None,
    };
    rng.chance(rate).then(|| rng.pick(openers))
}

/// A sign-off after the message, as tickets and chats end.
fn closer(rng: &mut SplitMix64, source: Source, tone: Tone) -> Option<&'static str> {
    let (rate, closers) = match source {
        Source::Ticket if tone == Tone::Negative && rng.chance(0.4) => {
            (1.0, phrases::TICKET_CLOSERS_NEGATIVE)
        }
        Source::Ticket => (0.6, phrases::TICKET_CLOSERS),
        Source::Chat => (0.3, phrases::CHAT_CLOSERS),
        Source::Survey | Source::Review => return None,
    };
    rng.chance(rate).then(|| rng.pick(closers))
}

/// An emoji matching the tone, most often in reviews and chats.
fn emoji(rng: &mut SplitMix64, source: Source, tone: Tone) -> Option<&'static str> {
    let rate = match source {
        Source::Review => 0.12,
        Source::Chat => 0.08,
        Source::Survey => 0.04,
        Source::Ticket => 0.01,
    };
    let emoji = match tone {
        Tone::Positive => phrases::POSITIVE_EMOJI,
        Tone::Negative => phrases::NEGATIVE_EMOJI,
        Tone::Neutral | Tone::Mixed => phrases::NEUTRAL_EMOJI,
    };
    rng.chance(rate).then(|| rng.pick(emoji))
}

fn pii_sentence(rng: &mut SplitMix64, kind: PiiKind, ctx: &SlotContext) -> String {
    let sentences = match kind {
        PiiKind::Email => phrases::EMAIL_SENTENCES,
        PiiKind::Phone => phrases::PHONE_SENTENCES,
        PiiKind::Card => phrases::CARD_SENTENCES,
    };
    fill(rng.pick(sentences), &[], ctx, rng)
}

/// `text` with its first word in lowercase when it is an ordinary capitalised word ("The"),
/// not "I" or a name written in capitals ("SSO", "iOS").
fn lowercase_first_word(text: &str) -> String {
    let first_word = text.split(' ').next().unwrap_or_default();
    let mut chars = first_word.chars();
    let ordinary = chars.next().is_some_and(char::is_uppercase)
        && chars.clone().next().is_some()
        && chars.all(|c| !c.is_uppercase());
    if !ordinary || first_word.starts_with("I'") {
        return text.to_string();
    }
    let mut out = first_word.to_lowercase();
    out.push_str(&text[first_word.len()..]);
    out
}

fn capitalize_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Ends the sentence the way the source tends to: chats often without a full stop, praise
/// sometimes with "!", questions and finished sentences as they are.
fn end_sentence(rng: &mut SplitMix64, body: &mut String, source: Source, tone: Tone) {
    if body.ends_with(['.', '!', '?']) || (source == Source::Chat && rng.chance(0.5)) {
        return;
    }
    let exclaim = match tone {
        Tone::Positive => 0.25,
        Tone::Negative => 0.1,
        Tone::Neutral | Tone::Mixed => 0.0,
    };
    body.push(if rng.chance(exclaim) { '!' } else { '.' });
}

/// One typo in a random word of five letters or more: two letters swapped, one dropped or one
/// doubled (never the first letter). Texts without such a word are returned unchanged.
pub(super) fn add_typo(rng: &mut SplitMix64, text: &str) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    let candidates: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.len() >= 5 && w.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return text.to_string();
    }
    let word = &mut words[rng.pick(&candidates)];
    let mut letters: Vec<u8> = word.bytes().collect();
    let at = 1 + rng.below(letters.len() - 2);
    match rng.below(3) {
        0 => letters.swap(at, at + 1),
        1 => {
            letters.remove(at);
        }
        _ => letters.insert(at, letters[at]),
    }
    *word = String::from_utf8(letters).expect("ascii letters stay ascii");
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ordinary_first_words_are_lowercased_after_a_greeting() {
        assert_eq!(lowercase_first_word("The app crashes"), "the app crashes");
        assert_eq!(lowercase_first_word("Is this known?"), "is this known?");
        for unchanged in [
            "I can't log in",
            "I'm locked out",
            "SSO fails",
            "iOS app",
            "",
        ] {
            assert_eq!(lowercase_first_word(unchanged), unchanged);
        }
    }

    #[test]
    fn a_typo_changes_one_long_word_by_one_letter_at_most() {
        let mut rng = SplitMix64::new(3);
        let text = "The dashboard takes forever to load";
        for _ in 0..100 {
            let typo = add_typo(&mut rng, text);
            let changed: Vec<(&str, &str)> = text
                .split(' ')
                .zip(typo.split(' '))
                .filter(|(a, b)| a != b)
                .collect();
            assert!(changed.len() <= 1, "{typo}");
            for (word, mistyped) in changed {
                assert!(word.len() >= 5 && word.len().abs_diff(mistyped.len()) <= 1);
                assert_eq!(word[..1], mistyped[..1]);
            }
        }
        assert_eq!(add_typo(&mut rng, "hi I am ok"), "hi I am ok");
    }

    #[test]
    fn slot_values_with_slots_are_filled_in_turn() {
        let mut rng = SplitMix64::new(5);
        let ctx = SlotContext {
            os: MobileOs::Android,
            plan: Plan::Pro,
            old_plan: Plan::Starter,
            month: Month::October,
        };
        let slots: Slots = &[("outer", &["with {inner} on {os}"]), ("inner", &["{plan}"])];
        assert_eq!(
            fill("Try {outer} in {month}", slots, &ctx, &mut rng),
            "Try with Pro on Android in October"
        );
    }

    #[test]
    fn every_template_fills_every_slot() {
        let mut rng = SplitMix64::new(1);
        let topics = phrases::STEADY_TOPICS
            .iter()
            .chain([&phrases::MOBILE_REGRESSION, &phrases::BILLING_FIXED]);
        let sentences = phrases::DETAILS
            .iter()
            .chain(phrases::EMAIL_SENTENCES)
            .chain(phrases::PHONE_SENTENCES)
            .chain(phrases::CARD_SENTENCES);
        for os in [MobileOs::Ios, MobileOs::Android] {
            let ctx = SlotContext {
                os,
                plan: Plan::Pro,
                old_plan: Plan::Starter,
                month: Month::October,
            };
            let mut fills_completely = |text: &str, slots: phrases::Slots| {
                for _ in 0..20 {
                    let filled = fill(text, slots, &ctx, &mut rng);
                    assert!(!filled.contains(['{', '}']), "{filled}");
                }
            };
            for topic in topics.clone() {
                for template in topic.templates {
                    fills_completely(template.text, topic.slots);
                }
            }
            for sentence in sentences.clone() {
                fills_completely(sentence, &[]);
            }
        }
        assert!(phrases::MOBILE_REGRESSION
            .templates
            .iter()
            .all(|t| t.tone != Tone::Positive));
    }
}
