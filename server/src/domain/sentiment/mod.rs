//! How a customer's messages feel: VADER (Hutto & Gilbert, 2014), the lexicon- and rule-based analyzer
//! for short informal text, ported faithfully from vaderSentiment 3.3.2 (MIT; its lexicon and emoji
//! descriptions are in `server/data/sentiment/` with the licence). A message's score is VADER's
//! compound, from -1 to 1; a conversation's level is the seven-level scale of its recent customer
//! messages.
//!
//! The port keeps the original's behaviour, quirks included (the `but` rule's first-equal-value lookup,
//! the `so`/`this` precedence in the three-word negation check), so its scores match the reference
//! implementation's: the tests hold it to the examples vaderSentiment prints.

mod french;

use std::collections::HashMap;
use std::sync::LazyLock;

use protocol::Sentiment;

pub use french::fold;

/// The languages with an analyzer of their own; every other language is scored as English.
pub const LANGUAGES: &[&str] = &["en", "fr"];

/// A message's compound score in the conversation's language (a primary subtag, `fr`): French by
/// VADER-FR, anything else by VADER.
pub fn score_in(language: &str, text: &str) -> f64 {
    match language {
        "fr" => french::score(text),
        _ => score(text),
    }
}

/// The lexicon: word (or emoticon) → mean valence, from -4 to 4.
static LEXICON: LazyLock<HashMap<&'static str, f64>> = LazyLock::new(|| {
    include_str!("../../../data/sentiment/vader_lexicon.tsv")
        .lines()
        .filter_map(|line| {
            let (word, valence) = line.split_once('\t')?;
            Some((word, valence.trim().parse().ok()?))
        })
        .collect()
});

/// Single-character emoji → its words ("😁" → "beaming face with smiling eyes"), which the lexicon
/// then scores.
static EMOJI: LazyLock<HashMap<char, &'static str>> = LazyLock::new(|| {
    include_str!("../../../data/sentiment/vader_emoji.tsv")
        .lines()
        .filter_map(|line| {
            let (emoji, words) = line.split_once('\t')?;
            let mut chars = emoji.chars();
            let only = chars.next()?;
            chars.next().is_none().then_some((only, words))
        })
        .collect()
});

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Booster and dampener words, as VADER lists them.
fn booster(word: &str) -> Option<f64> {
    const UP: &[&str] = &[
        "absolutely",
        "amazingly",
        "awfully",
        "completely",
        "considerable",
        "considerably",
        "decidedly",
        "deeply",
        "effing",
        "enormous",
        "enormously",
        "entirely",
        "especially",
        "exceptional",
        "exceptionally",
        "extreme",
        "extremely",
        "fabulously",
        "flipping",
        "flippin",
        "frackin",
        "fracking",
        "fricking",
        "frickin",
        "frigging",
        "friggin",
        "fully",
        "fuckin",
        "fucking",
        "fuggin",
        "fugging",
        "greatly",
        "hella",
        "highly",
        "hugely",
        "incredible",
        "incredibly",
        "intensely",
        "major",
        "majorly",
        "more",
        "most",
        "particularly",
        "purely",
        "quite",
        "really",
        "remarkably",
        "so",
        "substantially",
        "thoroughly",
        "total",
        "totally",
        "tremendous",
        "tremendously",
        "uber",
        "unbelievably",
        "unusually",
        "utter",
        "utterly",
        "very",
    ];
    const DOWN: &[&str] = &[
        "almost",
        "barely",
        "hardly",
        "just enough",
        "kind of",
        "kinda",
        "kindof",
        "kind-of",
        "less",
        "little",
        "marginal",
        "marginally",
        "occasional",
        "occasionally",
        "partly",
        "scarce",
        "scarcely",
        "slight",
        "slightly",
        "somewhat",
        "sort of",
        "sorta",
        "sortof",
        "sort-of",
    ];
    if UP.contains(&word) {
        Some(B_INCR)
    } else if DOWN.contains(&word) {
        Some(B_DECR)
    } else {
        None
    }
}

/// Idioms and phrases with lexicon words whose valence they replace.
fn special_case(phrase: &str) -> Option<f64> {
    match phrase {
        "the shit" | "the bomb" | "to die for" => Some(3.0),
        "bad ass" | "badass" => Some(1.5),
        "bus stop" => Some(0.0),
        "yeah right" => Some(-2.0),
        "kiss of death" => Some(-1.5),
        "beating heart" => Some(3.5),
        _ => None,
    }
}

/// Emoji become their words, separated from what precedes them.
fn emoji_to_words(text: &str, emoji: &HashMap<char, &str>) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut previous_space = true;
    for character in text.chars() {
        if let Some(words) = emoji.get(&character) {
            if !previous_space {
                plain.push(' ');
            }
            plain.push_str(words);
            previous_space = false;
        } else {
            plain.push(character);
            previous_space = character == ' ';
        }
    }
    plain
}

/// A message's compound score, from -1 (most negative) to 1 (most positive); 0 for no sentiment.
pub fn score(text: &str) -> f64 {
    let plain = emoji_to_words(text, &EMOJI);
    let text = plain.trim();
    let words: Vec<&str> = text.split_whitespace().map(strip_punctuation).collect();
    let lower: Vec<String> = words.iter().map(|word| word.to_lowercase()).collect();
    let cap_differential = allcap_differential(&words);

    let mut sentiments = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let this = lower.get(i).map_or("", String::as_str);
        if booster(this).is_some()
            || (this == "kind" && lower.get(i + 1).is_some_and(|next| next == "of"))
        {
            sentiments.push(0.0);
            continue;
        }
        sentiments.push(valence(&ENGLISH, &words, &lower, i, word, cap_differential));
    }
    but_check(&lower, &mut sentiments);
    compound(&sentiments, text)
}

/// Removes leading and trailing ASCII punctuation, unless that leaves two characters or fewer (an
/// emoticon such as `:)`).
fn strip_punctuation(token: &str) -> &str {
    let stripped = token.trim_matches(|c: char| c.is_ascii_punctuation());
    if stripped.chars().count() <= 2 {
        token
    } else {
        stripped
    }
}

/// Python's `str.isupper`: some cased character, and no lowercase one.
fn is_upper(word: &str) -> bool {
    word.chars().any(char::is_uppercase) && !word.chars().any(char::is_lowercase)
}

/// Whether some, but not all, words are in capitals.
fn allcap_differential(words: &[&str]) -> bool {
    let capitals = words.iter().filter(|word| is_upper(word)).count();
    let differential = words.len() - capitals;
    0 < differential && differential < words.len()
}

fn in_lexicon(word: &str) -> bool {
    LEXICON.contains_key(word)
}

fn negated(word: &str) -> bool {
    NEGATE.contains(&word) || word.contains("n't")
}

/// What a port of VADER puts into the steps the ports share: how its lexicon is keyed and read, its
/// boosters and dampeners, and its negation rule.
struct Language {
    /// The form of a word of the text that the lexicon is keyed by.
    key: fn(&str) -> std::borrow::Cow<'_, str>,
    /// The valence of a key.
    lookup: fn(&str) -> Option<f64>,
    /// Whether a neighbouring word, as written, is in the lexicon.
    in_lexicon: fn(&str) -> bool,
    booster: fn(&str) -> Option<f64>,
    /// Turns `valence` round when the word `start + 1` before word `i` negates it.
    negation_check: fn(f64, &[String], usize, usize) -> f64,
}

const ENGLISH: Language = Language {
    key: |word| std::borrow::Cow::Borrowed(word),
    lookup: |key| LEXICON.get(key).copied(),
    in_lexicon,
    booster,
    negation_check,
};

/// What a preceding booster or dampener of `booster`'s list adds to `valence`.
fn scalar_inc_dec(
    word: &str,
    lower: &str,
    valence: f64,
    cap_differential: bool,
    booster: fn(&str) -> Option<f64>,
) -> f64 {
    let Some(mut scalar) = booster(lower) else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if is_upper(word) && cap_differential {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

/// The valence of word `i` in `language`: its lexicon value, turned round by "no" and negations,
/// raised by capitals and the boosters before it, replaced by idioms.
fn valence(
    language: &Language,
    words: &[&str],
    lower: &[String],
    i: usize,
    word: &str,
    cap_differential: bool,
) -> f64 {
    let at = |index: usize| lower.get(index).map_or("", String::as_str);
    let key = (language.key)(at(i));
    let Some(base) = (language.lookup)(&key) else {
        return 0.0;
    };
    let in_lexicon = language.in_lexicon;
    let mut valence = base;
    // "no" before a lexicon word negates it rather than counting itself.
    if key == "no" && i + 1 < words.len() && in_lexicon(at(i + 1)) {
        valence = 0.0;
    }
    if (i > 0 && at(i - 1) == "no")
        || (i > 1 && at(i - 2) == "no")
        || (i > 2 && at(i - 3) == "no" && matches!(at(i - 1), "or" | "nor"))
    {
        valence = base * N_SCALAR;
    }
    if is_upper(word) && cap_differential {
        valence += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    for start in 0..3 {
        if i > start && !in_lexicon(at(i - (start + 1))) {
            let before = words.get(i - (start + 1)).copied().unwrap_or_default();
            let mut s = scalar_inc_dec(
                before,
                at(i - (start + 1)),
                valence,
                cap_differential,
                language.booster,
            );
            if start == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = (language.negation_check)(valence, lower, start, i);
            if start == 2 {
                valence = special_idioms_check(valence, lower, i, language.booster);
            }
        }
    }
    least_check(valence, lower, i, in_lexicon)
}

fn negation_check(valence: f64, lower: &[String], start: usize, i: usize) -> f64 {
    let at = |index: usize| lower.get(index).map_or("", String::as_str);
    match start {
        0 if negated(at(i - 1)) => valence * N_SCALAR,
        1 => {
            if at(i - 2) == "never" && matches!(at(i - 1), "so" | "this") {
                valence * 1.25
            } else if at(i - 2) == "without" && at(i - 1) == "doubt" {
                valence
            } else if negated(at(i - 2)) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            // As the original reads: `never` before `so`/`this` two back, or `so`/`this` right before.
            if (at(i - 3) == "never" && matches!(at(i - 2), "so" | "this"))
                || matches!(at(i - 1), "so" | "this")
            {
                valence * 1.25
            } else if at(i - 3) == "without" && (at(i - 2) == "doubt" || at(i - 1) == "doubt") {
                valence
            } else if negated(at(i - 3)) {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

/// The idioms around word `i` replace its valence; `booster`'s two- and three-word boosters before
/// it add theirs.
fn special_idioms_check(
    mut valence: f64,
    lower: &[String],
    i: usize,
    booster: fn(&str) -> Option<f64>,
) -> f64 {
    let at = |index: usize| lower.get(index).map_or("", String::as_str);
    let one_zero = format!("{} {}", at(i - 1), at(i));
    let two_one_zero = format!("{} {} {}", at(i - 2), at(i - 1), at(i));
    let two_one = format!("{} {}", at(i - 2), at(i - 1));
    let three_two_one = format!("{} {} {}", at(i - 3), at(i - 2), at(i - 1));
    let three_two = format!("{} {}", at(i - 3), at(i - 2));
    if let Some(value) = [
        &one_zero,
        &two_one_zero,
        &two_one,
        &three_two_one,
        &three_two,
    ]
    .into_iter()
    .find_map(|sequence| special_case(sequence))
    {
        valence = value;
    }
    if lower.len() - 1 > i
        && let Some(value) = special_case(&format!("{} {}", at(i), at(i + 1)))
    {
        valence = value;
    }
    if lower.len() - 1 > i + 1
        && let Some(value) = special_case(&format!("{} {} {}", at(i), at(i + 1), at(i + 2)))
    {
        valence = value;
    }
    for n_gram in [&three_two_one, &three_two, &two_one] {
        if let Some(boost) = booster(n_gram) {
            valence += boost;
        }
    }
    valence
}

/// "least" before a word turns it round, unless it is "at least" or "very least".
fn least_check(valence: f64, lower: &[String], i: usize, in_lexicon: fn(&str) -> bool) -> f64 {
    let at = |index: usize| lower.get(index).map_or("", String::as_str);
    if i > 1 && !in_lexicon(at(i - 1)) && at(i - 1) == "least" {
        if at(i - 2) != "at" && at(i - 2) != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !in_lexicon(at(i - 1)) && at(i - 1) == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// After "but", sentiment counts half before it and half again after it. As the original does, each
/// value is looked up by its first equal value's position.
fn but_check(lower: &[String], sentiments: &mut [f64]) {
    let Some(but) = lower.iter().position(|word| word == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let Some(&value) = sentiments.get(k) else {
            continue;
        };
        let Some(first) = sentiments.iter().position(|other| *other == value) else {
            continue;
        };
        if let Some(slot) = sentiments.get_mut(first) {
            if first < but {
                *slot = value * 0.5;
            } else if first > but {
                *slot = value * 1.5;
            }
        }
    }
}

/// The sum of the valences, emphasised by `!` and `?`, normalised into -1..1.
fn compound(sentiments: &[f64], text: &str) -> f64 {
    if sentiments.is_empty() {
        return 0.0;
    }
    let mut sum: f64 = sentiments.iter().sum();
    let emphasis = marks_emphasis(text);
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    normalize(sum)
}

/// The emphasis of `!` (up to four) and of two `?` or more.
fn marks_emphasis(text: &str) -> f64 {
    let exclamations = text.matches('!').count().min(4) as f64 * 0.292;
    let questions = match text.matches('?').count() {
        count @ 2..=3 => count as f64 * 0.18,
        count if count > 3 => 0.96,
        _ => 0.0,
    };
    exclamations + questions
}

/// A sum of valences into -1..1, as VADER normalises it.
fn normalize(sum: f64) -> f64 {
    (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// How many of the customer's latest messages a conversation's level weighs.
pub const RECENT_MESSAGES: usize = 5;

/// The seven-level scale of a compound score. ±0.05 is VADER's own line between neutral and not.
pub fn level(compound: f64) -> Sentiment {
    match compound {
        c if c <= -0.6 => Sentiment::VeryNegative,
        c if c <= -0.3 => Sentiment::Negative,
        c if c <= -0.05 => Sentiment::SlightlyNegative,
        c if c < 0.05 => Sentiment::Neutral,
        c if c < 0.3 => Sentiment::SlightlyPositive,
        c if c < 0.6 => Sentiment::Positive,
        _ => Sentiment::VeryPositive,
    }
}

/// A conversation's level: the mean score of its customer's latest `RECENT_MESSAGES` messages, newest
/// last; neutral before the first.
pub fn of_recent(scores: &[f64]) -> Sentiment {
    let recent = scores
        .get(scores.len().saturating_sub(RECENT_MESSAGES)..)
        .unwrap_or_default();
    if recent.is_empty() {
        return Sentiment::Neutral;
    }
    level(recent.iter().sum::<f64>() / recent.len() as f64)
}

/// The most points a trend keeps: the latest.
pub const TREND_POINTS: usize = 20;

/// How the conversation's level went: the levels it took, one after another, as the customer's
/// messages (oldest first) moved it; a message that left it where it was adds nothing. The latest
/// `TREND_POINTS`.
pub fn trend(scores: &[f64]) -> Vec<Sentiment> {
    let mut levels: Vec<Sentiment> = Vec::new();
    for last in 0..scores.len() {
        let level = of_recent(&scores[..=last]);
        if levels.last() != Some(&level) {
            levels.push(level);
        }
    }
    let first = levels.len().saturating_sub(TREND_POINTS);
    levels.split_off(first)
}

/// A score as the store keeps it: in ten-thousandths, VADER's own precision.
pub fn to_ten_thousandths(compound: f64) -> i64 {
    (compound * 10_000.0).round() as i64
}

pub fn from_ten_thousandths(stored: i64) -> f64 {
    stored as f64 / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounded(text: &str) -> f64 {
        from_ten_thousandths(to_ten_thousandths(score(text)))
    }

    /// The examples vaderSentiment 3.3.2 prints, with the compound scores it prints for them.
    #[test]
    fn scores_match_the_reference_implementation_s_examples() {
        for (text, expected) in [
            ("VADER is smart, handsome, and funny.", 0.8316),
            ("VADER is smart, handsome, and funny!", 0.8439),
            ("VADER is very smart, handsome, and funny.", 0.8545),
            ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
            ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
            (
                "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
                0.9469,
            ),
            ("VADER is not smart, handsome, nor funny.", -0.7424),
            ("The book was good.", 0.4404),
            ("At least it isn't a horrible book.", 0.431),
            ("The book was only kind of good.", 0.3832),
            (
                "The plot was good, but the characters are uncompelling and the dialog is not great.",
                -0.7042,
            ),
            ("Today SUX!", -0.5461),
            ("Today only kinda sux! But I'll get by, lol", 0.5249),
            ("Make sure you :) or :D today!", 0.8633),
            ("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.875),
            ("Not bad at all", 0.431),
            ("Sentiment analysis has never been good.", -0.3412),
            ("Sentiment analysis has never been this good!", 0.5672),
            ("Most automated sentiment analysis tools are shit.", -0.5574),
            ("With VADER, sentiment analysis is the shit!", 0.6476),
            ("Other sentiment analysis tools can be quite bad.", -0.5849),
            ("On the other hand, VADER is quite bad ass", 0.802),
            ("VADER is such a badass!", 0.4003),
            ("Without a doubt, excellent idea.", 0.7013),
            (
                "Roger Dodger is one of the most compelling variations on this theme.",
                0.2944,
            ),
            (
                "Roger Dodger is at least compelling as a variation on the theme.",
                0.2263,
            ),
            (
                "Roger Dodger is one of the least compelling variations on this theme.",
                -0.1695,
            ),
            ("Not such a badass after all.", -0.2584),
            ("Without a doubt, an excellent idea.", 0.7013),
        ] {
            assert_eq!(rounded(text), expected, "{text}");
        }
        assert_eq!(score(""), 0.0);
        assert_eq!(score("   "), 0.0);
    }

    #[test]
    fn the_seven_levels_come_from_the_latest_messages() {
        assert_eq!(level(-0.9), Sentiment::VeryNegative);
        assert_eq!(level(-0.3), Sentiment::Negative);
        assert_eq!(level(-0.1), Sentiment::SlightlyNegative);
        assert_eq!(level(0.0), Sentiment::Neutral);
        assert_eq!(level(0.05), Sentiment::SlightlyPositive);
        assert_eq!(level(0.45), Sentiment::Positive);
        assert_eq!(level(0.6), Sentiment::VeryPositive);
        assert_eq!(of_recent(&[]), Sentiment::Neutral);
        // An angry start weighs nothing once five calmer messages followed it.
        assert_eq!(
            of_recent(&[-0.9, -0.9, 0.4, 0.4, 0.4, 0.4, 0.4]),
            Sentiment::Positive
        );
        assert_eq!(
            of_recent(&[0.5, score("This is useless, I am really angry.")]),
            Sentiment::SlightlyNegative
        );
    }

    #[test]
    fn the_trend_is_each_level_the_messages_moved_it_to_the_latest_twenty() {
        assert!(trend(&[]).is_empty());
        let levels = trend(&[-0.9, -0.9, 0.9, 0.9, 0.9, 0.9]);
        assert_eq!(levels.first(), Some(&Sentiment::VeryNegative));
        assert_eq!(
            levels.last(),
            Some(&of_recent(&[-0.9, -0.9, 0.9, 0.9, 0.9, 0.9]))
        );
        assert!(
            levels.windows(2).all(|pair| pair[0] != pair[1]),
            "{levels:?}"
        );
        // Swinging every message: forty changes, the latest twenty kept.
        let swings: Vec<f64> = (0..40)
            .map(|n| if n % 2 == 0 { -0.99 } else { 0.99 })
            .collect();
        let levels = trend(&swings);
        assert_eq!(levels.len(), TREND_POINTS);
        assert_eq!(levels.last(), Some(&of_recent(&swings)));
    }
}
