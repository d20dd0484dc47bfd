//! VADER for French: a faithful port of vaderSentiment-fr 1.3.4 (Deprez & Ek, MIT, after Hutto's
//! VADER; its lexicon, emoji descriptions and words never negated are in
//! `server/data/sentiment/fr/` with the licence), as its `polarity_scores` computes: French negations
//! and intensifiers, accents folded for the lexicon, words split at spaces and apostrophes, no `mais`
//! rule (the original leaves it off), and emphasis from `!`, `?`, suspension points and capitals.
//!
//! Its quirks are kept, so scores match the reference's: the empty words two separators in a row make
//! still count as words, intensifiers and negations are compared before accents are folded, and a text
//! whose words sum to nothing is pulled below zero by its punctuation. The tests hold it to the
//! reference implementation's scores.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::{B_DECR, B_INCR, N_SCALAR, allcap_differential, normalize};

/// Word (accents folded) → mean valence, from -4 to 4.
static LEXICON: LazyLock<HashMap<String, f64>> = LazyLock::new(|| {
    let mut lexicon = HashMap::new();
    for line in include_str!("../../../data/sentiment/fr/fr_lexicon.txt").lines() {
        let mut parts = line.trim().split("->");
        let (Some(word), Some(valence)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Ok(valence) = valence.trim().parse::<f64>() {
            lexicon.insert(fold(word), valence);
        }
    }
    lexicon
});

/// Single-character emoji → its French words, which the lexicon then scores.
static EMOJI: LazyLock<HashMap<char, &'static str>> = LazyLock::new(|| {
    include_str!("../../../data/sentiment/fr/emojis_fr.txt")
        .lines()
        .filter_map(|line| {
            let mut parts = line.trim().split('\t');
            let (emoji, words) = (parts.next()?, parts.next()?);
            let mut chars = emoji.chars();
            let only = chars.next()?;
            chars.next().is_none().then_some((only, words))
        })
        .collect()
});

/// Words a negation never turns round ("sérieux"), accents folded, as the original compares them.
static NO_NEGATE: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("../../../data/sentiment/fr/no_negate.txt")
        .trim()
        .split('\n')
        .map(fold)
        .collect()
});

const NEGATE: &[&str] = &[
    "pas",
    "jamais",
    "plus",
    "rien",
    "aucunement",
    "nullement",
    "sans",
    "ni",
];

fn booster(word: &str) -> Option<f64> {
    const UP: &[&str] = &[
        "absolument",
        "ainsi",
        "archi",
        "beaucoup",
        "bigrement",
        "bougrement",
        "carrément",
        "complètement",
        "considérablement",
        "davantage",
        "diablement",
        "diantrement",
        "divinement",
        "drôlement",
        "délicieusement",
        "entièrement",
        "exceptionnel",
        "exceptionnelle",
        "exceptionnellement",
        "exceptionnelles",
        "exceptionnels",
        "excessivement",
        "extra",
        "extrême",
        "extrêmement",
        "fabuleusement",
        "fichtrement",
        "fort",
        "forte",
        "fortes",
        "forts",
        "grandement",
        "hyper",
        "impeccablement",
        "incroyablement",
        "infiniment",
        "joliment",
        "merveilleusement",
        "prodigieusement",
        "profondément",
        "putain de",
        "rudement",
        "sacrément",
        "spécialement",
        "sublimement",
        "super",
        "superbement",
        "tant",
        "tellement",
        "terriblement",
        "totalement",
        "trop",
        "très",
        "ultra",
        "vachement",
        "vraiment",
        "énormément",
    ];
    const DOWN: &[&str] = &[
        "approximativement",
        "assez",
        "difficilement",
        "environ",
        "guère",
        "insuffisament",
        "insuffisamment",
        "juste",
        "léger",
        "légers",
        "légère",
        "légèrement",
        "légères",
        "moins",
        "peu",
        "plutôt",
        "presque",
        "quasi",
        "quasiment",
        "quelque",
        "quelque peu",
        "rare",
        "rarement",
        "à peine",
        "à peu près",
    ];
    if UP.contains(&word) {
        Some(B_INCR)
    } else if DOWN.contains(&word) {
        Some(B_DECR)
    } else {
        None
    }
}

/// A French message's compound score, from -1 to 1.
pub fn score(text: &str) -> f64 {
    let plain = super::emoji_to_words(text, &EMOJI);
    let text = plain.trim();
    // Split at every space and straight apostrophe: "l'amour" is two words, and two separators in a
    // row leave an empty word between them, as `re.split(r"[\s']")` does.
    let words: Vec<&str> = text
        .split(|c: char| c == '\'' || python_space(c))
        .map(super::strip_punctuation)
        .collect();
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
        sentiments.push(super::valence(
            &FRENCH,
            &words,
            &lower,
            i,
            word,
            cap_differential,
        ));
    }
    compound(&sentiments, text)
}

/// What Python's `\s` matches in a `str` pattern: Unicode white space, and the separators
/// `str.isspace` counts besides.
fn python_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Accents folded as `unidecode` folds the Latin letters French writes (`é` → `e`, `œ` → `oe`), and
/// its typographic quotes and dashes; other characters are kept.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        let plain =
            match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
                'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
                'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
                'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ế' | 'ề' | 'ể' | 'ễ'
                | 'ệ' => "e",
                'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' | 'Ế' | 'Ề' | 'Ể' | 'Ễ'
                | 'Ệ' => "E",
                'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
                'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
                'ñ' | 'ń' | 'ņ' | 'ň' => "n",
                'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
                'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
                'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
                'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
                'ý' | 'ÿ' => "y",
                'Ý' | 'Ÿ' => "Y",
                'œ' => "oe",
                'Œ' => "OE",
                'æ' => "ae",
                'Æ' => "AE",
                'ß' => "ss",
                'þ' => "th",
                'Þ' => "Th",
                'ð' => "d",
                'Ð' => "D",
                '’' | '‘' | '‚' | '′' => "'",
                '“' | '”' | '„' | '″' => "\"",
                '«' => "<<",
                '»' => ">>",
                '–' | '‐' | '‑' => "-",
                '—' => "--",
                '…' => "...",
                '\u{a0}' => " ",
                other => {
                    folded.push(other);
                    continue;
                }
            };
        folded.push_str(plain);
    }
    folded
}

fn in_lexicon(word: &str) -> bool {
    // As the original: a preceding word is looked up as it is written, accents and all.
    LEXICON.contains_key(word)
}

fn negated(word: &str) -> bool {
    NEGATE.contains(&word) || word.contains("n't")
}

/// A word that is never negated keeps its valence; otherwise a negation `start + 1` words before turns
/// it round.
fn negation_check(valence: f64, lower: &[String], start: usize, i: usize) -> f64 {
    let at = |index: usize| lower.get(index).map_or("", String::as_str);
    if !NO_NEGATE.contains(at(i)) && negated(at(i - (start + 1))) {
        valence * N_SCALAR
    } else {
        valence
    }
}

/// VADER-FR: its lexicon is keyed without accents, and a neighbouring word is looked up as written.
/// The original kept the English VADER's idioms, with its own two- and three-word boosters.
const FRENCH: super::Language = super::Language {
    key: |word| std::borrow::Cow::Owned(fold(word)),
    lookup: |key| LEXICON.get(key).copied(),
    in_lexicon,
    booster,
    negation_check,
};

/// The sum of the valences, emphasised by `!`, `?`, suspension points and words in capitals,
/// normalised into -1..1.
fn compound(sentiments: &[f64], text: &str) -> f64 {
    if sentiments.is_empty() {
        return 0.0;
    }
    let mut sum: f64 = sentiments.iter().sum();
    let emphasis = super::marks_emphasis(text) + suspension(text);
    let capitals = capitals(text);
    if sum > 0.0 {
        sum += emphasis;
        if sum >= 0.05 {
            sum += capitals;
        }
    } else if sum < 0.0 {
        sum -= emphasis;
        if sum <= -0.05 {
            sum -= capitals;
        }
    } else {
        sum -= 0.5 * emphasis;
    }
    normalize(sum)
}

/// Suspension points: every run of two dots or more, counted together.
fn suspension(text: &str) -> f64 {
    let mut dots = 0;
    let mut run = 0;
    for c in text.chars().chain(std::iter::once(' ')) {
        if c == '.' {
            run += 1;
        } else {
            if run >= 2 {
                dots += run;
            }
            run = 0;
        }
    }
    match dots {
        0 | 1 => 0.0,
        2 | 3 => 0.21,
        4..=6 => (dots - 2) as f64 * 0.21,
        _ => 4.0 * 0.21,
    }
}

/// Words in capitals after their first letter (single letters left out, at most five), as the
/// original counts them: punctuation removed, words split at plain spaces.
fn capitals(text: &str) -> f64 {
    let plain: String = text
        .chars()
        .filter(|c| !matches!(c, '?' | '!' | '.' | ',' | ';'))
        .collect();
    let count = plain
        .split(' ')
        .filter(|word| word.chars().count() > 1)
        .filter(|word| !word.chars().skip(1).any(char::is_lowercase))
        .take(5)
        .count();
    count as f64 * 0.292
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounded(text: &str) -> f64 {
        (score(text) * 10_000.0).round() / 10_000.0
    }

    /// Sentences and the compound scores vaderSentiment-fr 1.3.4's `polarity_scores` gives them.
    #[test]
    fn scores_match_the_reference_implementation() {
        for (text, expected) in REFERENCE {
            assert_eq!(rounded(text), *expected, "{text}");
        }
        assert_eq!(score(""), 0.0);
    }

    #[test]
    fn accents_fold_as_unidecode_folds_them() {
        assert_eq!(fold("décevant"), "decevant");
        assert_eq!(fold("cœur très ÉTÉ"), "coeur tres ETE");
        assert_eq!(fold("l’été…"), "l'ete...");
        assert_eq!(fold("plain"), "plain");
    }

    const REFERENCE: &[(&str, f64)] = &[
        ("Ce produit est vraiment génial !", 0.2244),
        ("Je ne suis pas content du tout.", 0.0),
        ("C'est nul, très décevant...", -0.6373),
        ("Bonjour !!!!", -0.1491),
        ("Livraison rapide, MERCI beaucoup 😀", 0.7433),
        ("Merci pour votre aide, c'est parfait.", 0.5859),
        ("Le colis n'est jamais arrivé, je suis furieux !", -0.3382),
        ("Service client excellent, je recommande.", 0.6705),
        ("La lampe est cassée et personne ne répond.", -0.4767),
        ("Pas mal du tout, franchement.", 0.1326),
        ("C'est pas terrible...", 0.1481),
        ("Je suis TRÈS déçu par cette commande.", -0.4621),
        ("Bof, ça va.", 0.0),
        ("Vous êtes des incompétents !!!", -0.6093),
        ("J'adore ce magasin ❤️", 0.2244),
        ("Le produit est bien mais la livraison est lente.", 0.0516),
        ("Sans doute le meilleur achat de l'année.", -0.3724),
        ("Rien ne fonctionne, c'est une honte.", -0.4767),
        ("Quelle horreur ??", -0.6199),
        ("Super  rapide  et  efficace", 0.4767),
        ("C’est très bien, merci", 0.5059),
        ("Je voudrais suivre ma commande numéro 1234.", 0.0),
        ("Ni bon ni mauvais.", -0.4293),
        ("Un peu cher mais de bonne qualité.", 0.6003),
        (
            "C'est absolument magnifique, bravo à toute l'équipe !",
            0.8207,
        ),
        ("Je suis assez satisfait.", 0.1298),
        ("Il est sérieux ce vendeur ?", -0.1531),
        (
            "Le remboursement prend trop de temps, c'est inadmissible.",
            -0.4588,
        ),
        ("HORRIBLE expérience, plus jamais.", -0.4069),
        ("Génial génial génial", 0.4215),
        ("Je ne recommande pas ce site.", 0.2023),
        ("Aucun problème, tout est parfait", -0.0772),
        (
            "Ma commande est arrivée abîmée. Je veux un remboursement.",
            0.0,
        ),
        ("Très bon rapport qualité prix 👍", 0.7346),
        ("C'est à peine correct.", -0.2732),
        ("Quelque peu décevant.", -0.3876),
        ("Putain de colis perdu !", -0.6476),
        ("Franchement, c'est vraiment pas terrible.", 0.0951),
        ("Merci !!", 0.4738),
        ("L'article ne correspond pas à la description.", 0.0),
    ];
}
