//! Cues that send a conversation to a person whatever the labels say:
//! anger and legal threats. Lower-cased substring and word matching.

const ANGER: &[&str] = &[
    "безобраз",
    "возмутит",
    "отвратит",
    "ужасн",
    "кошмар",
    "издевательств",
    "обман",
    "мошенник",
    "достали",
    "надоело",
    "хамств",
    "позор",
    "бесит",
    "верните деньги",
    "сколько можно",
    "unacceptable",
    "disgusting",
    "outrageous",
    "ridiculous",
    "terrible",
    "worst",
    "scam",
    "fraud",
    "furious",
    "fed up",
    "sick of",
    "rip-off",
    "ripoff",
    "ripped off",
    "never again",
];

const LEGAL: &[&str] = &[
    "суд",
    "иск",
    "юрист",
    "адвокат",
    "роспотребнадзор",
    "прокуратур",
    "претензи",
    "полици",
    "защите прав потребител",
    "чарджбэк",
    "chargeback",
    "lawyer",
    "attorney",
    "sue ",
    "lawsuit",
    "legal action",
    "court",
    "consumer protection",
    "ombudsman",
    "trading standards",
    "dispute the charge",
];

fn has_word_prefix(text: &str, prefix: &str) -> bool {
    // Prefixes match word starts, so "иск" finds "иском" but not "диск".
    text.match_indices(prefix).any(|(i, _)| {
        i == 0
            || !text[..i]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
    })
}

/// The message sounds angry: an anger word, or shouting (mostly capitals
/// with exclamation marks).
pub fn anger(text: &str) -> bool {
    let lower = text.to_lowercase();
    if ANGER.iter().any(|w| has_word_prefix(&lower, w)) {
        return true;
    }
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    letters.len() >= 12 && upper * 10 >= letters.len() * 7 && text.contains('!')
}

/// The message mentions courts, lawyers, regulators or chargebacks.
pub fn legal_threat(text: &str) -> bool {
    let lower = text.to_lowercase();
    LEGAL.iter().any(|w| has_word_prefix(&lower, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues() {
        assert!(anger("Это просто БЕЗОБРАЗИЕ, третий раз опоздание"));
        assert!(anger("WHERE IS MY ORDER?! THIS IS THE THIRD TIME!"));
        assert!(!anger("Спасибо, всё пришло вовремя"));
        assert!(legal_threat("Я подам в суд и напишу в Роспотребнадзор"));
        assert!(legal_threat("I will file a chargeback"));
        assert!(!legal_threat("Купил диск с музыкой"));
        assert!(!legal_threat("Курс доллара"));
    }
}
