//! The template drafter: composes a reply from the best retrieved passage
//! and the chosen offer, per intent and language, with no LLM. Every fact
//! in its output is quoted from a passage, so its replies are grounded by
//! construction; it marks its drafts as template-made.

use crate::domain::{Intent, Lang};
use crate::pipeline::grounding::{Evidence, Passage};
use crate::pipeline::offers::ChosenOffer;

pub struct TemplateInput<'a> {
    pub lang: Lang,
    pub intent: Intent,
    pub question: &'a str,
    pub evidence: &'a Evidence,
    pub offer: Option<&'a ChosenOffer>,
    pub shop_name: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateDraft {
    pub text: String,
    pub citations: Vec<String>,
    /// The fixed phrases used (they count as grounding for the policy check).
    pub phrases: Vec<String>,
}

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| w.to_lowercase().chars().take(5).collect())
        .collect()
}

/// Markdown to plain sentences: table rows become "a: b, c", list markers
/// and emphasis go.
fn plain_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty()
            || l.starts_with('#')
            || l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
        {
            continue;
        }
        if l.starts_with('|') {
            let cells: Vec<&str> = l
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            if let Some((first, rest)) = cells.split_first() {
                out.push(format!("{first}: {}.", rest.join(", ")));
            }
            continue;
        }
        let l = l
            .trim_start_matches(['-', '*', '•', ' '])
            .replace("**", "")
            .replace('*', "");
        let mut buf = String::new();
        for ch in l.chars() {
            buf.push(ch);
            if matches!(ch, '.' | '!' | '?') && buf.trim().chars().count() > 12 {
                out.push(buf.trim().to_owned());
                buf.clear();
            }
        }
        if buf.trim().chars().count() > 3 {
            out.push(buf.trim().to_owned());
        }
    }
    out
}

/// The one or two sentences of a passage that best answer the question.
fn best_sentences(p: &Passage, question: &str, max: usize) -> Vec<String> {
    let q = tokens(question);
    let sentences = plain_sentences(&p.text);
    let mut scored: Vec<(usize, usize)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| (i, tokens(s).iter().filter(|t| q.contains(t)).count()))
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut pick: Vec<usize> = scored
        .iter()
        .take(max)
        .filter(|(_, n)| *n > 0)
        .map(|(i, _)| *i)
        .collect();
    if pick.is_empty() {
        pick = (0..sentences.len().min(max)).collect();
    }
    pick.sort_unstable();
    pick.into_iter().map(|i| sentences[i].clone()).collect()
}

struct Phrases {
    hello: &'static str,
    thanks_praise: &'static str,
    sorry: &'static str,
    budget: &'static str,
    cancel: &'static str,
    alternative: &'static str,
    offer: &'static str,
    apology_offer: &'static str,
    handed_over: &'static str,
    unknown: &'static str,
    source: &'static str,
    team: &'static str,
}

const RU: Phrases = Phrases {
    hello: "Здравствуйте!",
    thanks_praise: "Спасибо за тёплые слова, нам очень приятно!",
    sorry: "Нам очень жаль, что так вышло.",
    budget: "Понимаем, что бюджет важен.",
    cancel: "Мы получили вашу просьбу об отмене подписки и передали её коллеге, отмена бесплатная.",
    alternative: "Если вам так удобнее, вместо отмены можно выбрать:",
    offer: "Можем предложить:",
    apology_offer: "После проверки коллега может предложить в качестве извинения:",
    handed_over: "Мы передали ваше сообщение коллеге, он ответит вам в ближайшее время.",
    unknown: "Точного ответа в наших материалах нет, поэтому мы передали ваш вопрос коллеге, он ответит вам в ближайшее время.",
    source: "Источник",
    team: "Команда",
};

const EN: Phrases = Phrases {
    hello: "Hello!",
    thanks_praise: "Thank you for the kind words, it means a lot to us!",
    sorry: "We are sorry this happened.",
    budget: "We understand that budget matters.",
    cancel: "We have received your request to cancel the subscription and passed it to a colleague; cancelling is free.",
    alternative: "If it suits you better, instead of cancelling you could choose:",
    offer: "We can offer:",
    apology_offer: "Once a colleague has checked, we can offer as an apology:",
    handed_over: "We have passed your message to a colleague who will get back to you shortly.",
    unknown: "Our materials do not answer this exactly, so we have passed your question to a colleague who will get back to you shortly.",
    source: "Source",
    team: "The team of",
};

pub fn draft(input: &TemplateInput<'_>) -> TemplateDraft {
    let p = if input.lang == Lang::Ru { &RU } else { &EN };
    let mut parts: Vec<String> = vec![p.hello.to_owned()];
    let mut citations = Vec::new();
    let mut used = vec![p.hello, p.team];
    let facts =
        |parts: &mut Vec<String>, citations: &mut Vec<String>, used: &mut Vec<&'static str>| {
            if let Some(best) = input
                .evidence
                .passages
                .first()
                .filter(|_| input.evidence.answerable)
            {
                parts.push(best_sentences(best, input.question, 2).join(" "));
                parts.push(format!("({}: {})", p.source, best.title));
                used.push(p.source);
                citations.push(best.doc_id.clone());
                true
            } else {
                false
            }
        };
    let offer_line =
        |label: &'static str, parts: &mut Vec<String>, used: &mut Vec<&'static str>| {
            if let Some(o) = input.offer {
                parts.push(format!("{label} {}.", o.terms(input.lang)));
                used.push(label);
            }
        };
    match input.intent {
        Intent::Praise => {
            parts.push(p.thanks_praise.to_owned());
            used.push(p.thanks_praise);
        }
        Intent::CancelIntent => {
            parts.push(p.cancel.to_owned());
            used.push(p.cancel);
            offer_line(p.alternative, &mut parts, &mut used);
        }
        Intent::Complaint => {
            parts.push(p.sorry.to_owned());
            used.push(p.sorry);
            facts(&mut parts, &mut citations, &mut used);
            parts.push(p.handed_over.to_owned());
            used.push(p.handed_over);
            offer_line(p.apology_offer, &mut parts, &mut used);
        }
        Intent::PriceObjection => {
            parts.push(p.budget.to_owned());
            used.push(p.budget);
            facts(&mut parts, &mut citations, &mut used);
            offer_line(p.offer, &mut parts, &mut used);
            if input.offer.is_none() {
                parts.push(p.handed_over.to_owned());
                used.push(p.handed_over);
            }
        }
        Intent::Question | Intent::BuyingSignal | Intent::Other => {
            if !facts(&mut parts, &mut citations, &mut used) {
                parts.push(p.unknown.to_owned());
                used.push(p.unknown);
            }
            offer_line(p.offer, &mut parts, &mut used);
        }
    }
    parts.push(format!("{} {}", p.team, input.shop_name));
    TemplateDraft {
        text: parts.join("\n\n"),
        citations,
        phrases: used.into_iter().map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(answerable: bool) -> Evidence {
        Evidence {
            passages: vec![Passage {
                doc_id: "subscription-pause".into(),
                title: "Пауза подписки".into(),
                heading: "Пауза".into(),
                text: "## Пауза\nПаузу можно поставить от 2 до 8 недель. Не больше 3 пауз за 12 месяцев.\n\n| Тариф | Цена |\n|---|---|\n| Лист | 990 ₽ |".into(),
                score: 0.9,
            }],
            answerable,
            confidence: 0.8,
            history: vec![],
        }
    }

    #[test]
    fn questions_are_answered_from_the_best_passage_with_a_citation() {
        let ev = evidence(true);
        let d = draft(&TemplateInput {
            lang: Lang::Ru,
            intent: Intent::Question,
            question: "На сколько недель можно поставить паузу?",
            evidence: &ev,
            offer: None,
            shop_name: "Пеко",
        });
        assert!(d.text.contains("от 2 до 8 недель"), "{}", d.text);
        assert_eq!(d.citations, vec!["subscription-pause"]);
        assert!(d.text.ends_with("Команда Пеко"));
    }

    #[test]
    fn unanswerable_questions_are_handed_over() {
        let ev = evidence(false);
        let d = draft(&TemplateInput {
            lang: Lang::En,
            intent: Intent::Question,
            question: "Do you sell kettles?",
            evidence: &ev,
            offer: None,
            shop_name: "Pekoe",
        });
        assert!(d.text.contains("passed your question to a colleague"));
        assert!(d.citations.is_empty());
    }

    #[test]
    fn tables_read_as_sentences() {
        let s = plain_sentences("| Тариф | Цена |\n|---|---|\n| Лист | 990 ₽ |");
        assert!(s.contains(&"Лист: 990 ₽.".to_owned()), "{s:?}");
    }
}
