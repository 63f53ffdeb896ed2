//! BM25 sparse vectors with language-aware tokenisation. Texts mix Russian
//! and English (prices, brand names, Latin terms in Russian text), so each
//! word is stemmed by its own script: Cyrillic with the Russian Snowball
//! stemmer, Latin with the English one, after dropping that language's stop
//! words. The index keeps IDF (Qdrant's `idf` modifier); documents carry the
//! BM25 term-frequency part, queries a weight of one per distinct term.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::pipeline::ports::SparseVec;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    pub k1: f32,
    pub b: f32,
    /// Expected document length in terms.
    pub avg_len: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self {
            k1: 1.2,
            b: 0.75,
            avg_len: 120.0,
        }
    }
}

const EN_STOP: &str = "a about above after again against all am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further had has have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some such than that the their theirs them themselves then there these they this those through to too under until up very was we were what when where which while who whom why will with would you your yours yourself yourselves i'm it's don't can't";

const RU_STOP: &str = "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее неё сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это мне";

fn stop_words() -> &'static HashSet<&'static str> {
    static S: OnceLock<HashSet<&'static str>> = OnceLock::new();
    S.get_or_init(|| EN_STOP.split(' ').chain(RU_STOP.split(' ')).collect())
}

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4ff}').contains(&c)
}

/// Stemmed terms of a text, stop words dropped, in order.
pub fn terms(text: &str) -> Vec<String> {
    thread_local! {
        static STEMMERS: (Stemmer, Stemmer) =
            (Stemmer::create(Algorithm::Russian), Stemmer::create(Algorithm::English));
    }
    let lower = text.to_lowercase().replace('ё', "е");
    let stop = stop_words();
    let mut out = Vec::new();
    STEMMERS.with(|(ru, en)| {
        for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let word = word.trim_matches('\'');
            if word.is_empty() || stop.contains(word) {
                continue;
            }
            // Numbers are terms too ("350", "14"); one-letter words are not.
            if word.chars().count() < 2 && !word.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let stem = if word.chars().any(is_cyrillic) {
                ru.stem(word)
            } else if word.chars().any(|c| c.is_ascii_alphabetic()) {
                en.stem(word)
            } else {
                word.into()
            };
            out.push(stem.into_owned());
        }
    });
    out
}

/// A term's dimension: a stable 32-bit hash (FNV-1a), so vectors need no
/// vocabulary and stay valid as the corpus changes.
pub fn term_id(term: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn to_sparse(weights: BTreeMap<u32, f32>) -> SparseVec {
    let (indices, values) = weights.into_iter().unzip();
    SparseVec { indices, values }
}

/// The document side: BM25 term-frequency saturation and length norm.
pub fn document_vector(text: &str, p: Bm25Params) -> SparseVec {
    let ts = terms(text);
    let len = ts.len() as f32;
    let mut tf: BTreeMap<u32, f32> = BTreeMap::new();
    for t in &ts {
        *tf.entry(term_id(t)).or_default() += 1.0;
    }
    let norm = p.k1 * (1.0 - p.b + p.b * len / p.avg_len);
    to_sparse(
        tf.into_iter()
            .map(|(k, f)| (k, f * (p.k1 + 1.0) / (f + norm)))
            .collect(),
    )
}

/// The query side: one per distinct term (IDF comes from the index).
pub fn query_vector(text: &str) -> SparseVec {
    to_sparse(terms(text).iter().map(|t| (term_id(t), 1.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_each_script_with_its_own_language_and_drops_stop_words() {
        assert_eq!(terms("Доставки доставка"), vec!["доставк", "доставк"]);
        assert_eq!(
            terms("the deliveries of Delivery"),
            vec!["deliveri", "deliveri"]
        );
        assert_eq!(
            terms("Тариф «Дуэт» costs 1690 ₽"),
            vec!["тариф", "дуэт", "cost", "1690"]
        );
        assert_eq!(terms("ёлка елка"), vec!["елк", "елк"]);
    }

    #[test]
    fn vectors_are_sorted_and_weighted() {
        let d = document_vector("чай чай чай зелёный", Bm25Params::default());
        assert!(d.indices.windows(2).all(|w| w[0] < w[1]));
        let tea_id = term_id(&terms("чай")[0]);
        let tea = d.values[d.indices.iter().position(|i| *i == tea_id).unwrap()];
        assert!(d.values.iter().all(|v| *v > 0.0 && *v <= tea));
        assert!(
            d.values.iter().any(|v| *v < tea),
            "three mentions outweigh one"
        );
        let q = query_vector("чай чай");
        assert_eq!(q.values, vec![1.0]);
    }
}
