//! The sample shop's people: names that agree with gender, phones typed
//! the messy ways people type them, archetypes that shape their history,
//! and the messages a few of them send.

use rand::RngExt;
use rand::rngs::StdRng;

/// (first name, surname) pools per gender, so that names agree.
pub(super) const NAMES: [(&[&str], &[&str]); 2] = [
    (
        &[
            "Анна",
            "Мария",
            "Ольга",
            "Елена",
            "Дарья",
            "Ирина",
            "Sofia",
            "Olga",
        ],
        &[
            "Смирнова",
            "Кузнецова",
            "Попова",
            "Волкова",
            "Petrova",
            "Zaitseva",
        ],
    ),
    (
        &[
            "Алексей",
            "Дмитрий",
            "Сергей",
            "Павел",
            "Никита",
            "Кирилл",
            "Maxim",
            "Ivan",
        ],
        &["Соколов", "Лебедев", "Новиков", "Морозов", "Orlov", "Belov"],
    ),
];

/// Eight spellings people really type; all normalise to one E.164 number.
pub(super) fn messy_phone(rng: &mut StdRng) -> String {
    let d: String = (0..7)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    let op = ["916", "903", "921", "911", "985", "999"][rng.random_range(0..6usize)];
    match rng.random_range(0..8) {
        0 => format!("8 ({op}) {}-{}-{}", &d[..3], &d[3..5], &d[5..]),
        1 => format!("+7 {op} {d}"),
        2 => format!("+7({op}){}-{}-{}", &d[..3], &d[3..5], &d[5..]),
        3 => format!("8{op}{d}"),
        4 => format!("7 {op} {} {} {}", &d[..3], &d[3..5], &d[5..]),
        5 => format!("+7 ({op}) {} {} {}", &d[..3], &d[3..5], &d[5..]),
        6 => format!("8-{op}-{}-{}-{}", &d[..3], &d[3..5], &d[5..]),
        _ => format!(" +7{op}{d} "),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Archetype {
    Loyal,
    Fading,
    New,
    Churned,
    AtRisk,
    Gifter,
}

pub(super) const PLANS: [(&str, &str); 3] =
    [("list", "990"), ("sad", "1790"), ("ceremonia", "2990")];

pub(super) struct Customer {
    pub(super) id: String,
    pub(super) arch: Archetype,
}

pub(super) fn demo_messages(customers: &[Customer]) -> Vec<(String, &'static str, &'static str)> {
    let pick = |arch: Archetype, n: usize| {
        customers
            .iter()
            .filter(|c| c.arch == arch)
            .nth(n)
            .map(|c| c.id.clone())
            .unwrap_or_else(|| "P001".into())
    };
    vec![
        (
            pick(Archetype::AtRisk, 0),
            "telegram",
            "Коробка опять пришла с опозданием на неделю, чай уже не радует. Подумываю отменить подписку.",
        ),
        (
            pick(Archetype::Loyal, 0),
            "telegram",
            "Можно ли поменять тариф с «Лист» на «Сад» со следующей коробки?",
        ),
        (
            pick(Archetype::Churned, 0),
            "email",
            "Hi, I cancelled last month. Is there a way to restore my subscription with the same plan?",
        ),
        (
            pick(Archetype::New, 0),
            "widget",
            "Сколько стоит доставка в Казань?",
        ),
        (
            pick(Archetype::Fading, 0),
            "email",
            "Your teas are lovely but 1790 a box is a lot for me right now.",
        ),
        (
            pick(Archetype::Loyal, 1),
            "telegram",
            "Спасибо за улун в прошлой коробке, это лучшее, что я пила в этом году!",
        ),
        (
            pick(Archetype::AtRisk, 1),
            "widget",
            "How do I pause my box for a month? Going on holiday.",
        ),
    ]
}

pub(super) fn translit(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let t = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'ё' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'й' => "y",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "sch",
            'ы' => "y",
            'э' => "e",
            'ю' => "yu",
            'я' => "ya",
            'ь' | 'ъ' => "",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(t);
    }
    out
}
