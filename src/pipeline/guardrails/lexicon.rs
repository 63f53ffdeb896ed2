//! Phrases that, in a drafted reply, mean the writer was steered: claiming
//! an action is done, adopting a persona, talking about its instructions.
//! Lower-case; matched against the lower-cased reply.

/// A draft never says an account action was carried out: people and
/// systems do that after approval, and a screenshot of such a sentence is a
/// promise.
pub const CLAIMED_ACTIONS: &[&str] = &[
    r"\b(refund|discount|credit|code|promo ?code|subscription|exception|request)s? (is |has been |was )?(approved|activated|applied|granted|issued|processed|confirmed|done)\b",
    r"\b(i|we)('ve| have| will|'ll)? ?(approved|activated|applied|granted|issued|refunded|credited|waived)\b",
    r"\b(i|we) (can )?confirm (the|your|that|it)\b",
    r"\b(approved|activated|done|granted)!",
    r"\brefunded to your\b",
    r"\bexception (has been|was|is) made\b",
    r"\b(caps?|limits?|rules?) (are|is|have been|has been) (lifted|removed|waived)\b",
    r"\bготово\b",
    r"\b(подтверждаю|подтверждаем)\b",
    r"(возврат|скидк|промокод|подписк|исключени)[а-яё]* [^.!?]{0,30}(оформлен|выполнен|сделан|проведён|проведен|активирован|применён|применен|одобрен|подключен)",
    r"\b(оформил|оформили|активировал|активировали|подключил|подключили|одобрил|одобрили|разрешил|разрешили|добавил|добавили|отправил|отправили|вышлю|вышлем)[а-яё]* [^.!?]{0,40}(бесплатн|в подарок|скидк|возврат|пропуск)",
];

/// A draft speaks as the shop's team, never as someone it was told to be.
pub const PERSONAS: &[&str] = &[
    r"\bas (the )?(ceo|director|owner|dan|manager|admin|administrator|developer|founder)\b",
    r"\b(i am|i'm) (the )?(ceo|director|owner|dan|founder|your friend)\b",
    r"\bdan:",
    r"\bno rules\b",
    r"\b(sincerely|regards),?[^.]{0,30}\b(ceo|director|owner|founder)\b",
    r"\bя,? (гоша|ваш друг|директор|руководитель|владелец|дан)\b",
    r"\b(без правил|нет правил)\b",
];

/// A draft never talks about how it works.
pub const INTERNAL: &[&str] = &[
    "```",
    r"\bsystem prompt\b",
    r"\b(my|the) (instructions|rules) (say|are|tell)\b",
    r"\bсистемн[а-яё]* (промпт|инструкци)",
    r"\bмои инструкци",
    r"\byou are (a|an) [a-z ]{0,30}(assistant|agent|bot|model)\b",
    r"\bты\s*[-—–]\s*(помощник|ассистент|бот)",
    r"\b(api[_ ]?token|hmac|postgres_url|api_key|base_url)\b",
    r"\bretention (offer|catalog|catalogue|manager|rules?)\b",
    r"(каталог[а-яё]* удерживающ|менеджер[а-яё]* по удержанию)",
    r"\bhard (cap|limit)s?\b",
];

/// Street addresses (the shop's own come from the knowledge base and are
/// allowed when grounded).
pub const ADDRESSES: &[&str] = &[
    r"\bул\. ?[а-яё]",
    r"\bулиц[аеы] [а-яё]",
    r"\bкв\.? ?\d",
    r"\bквартир[аеы] \d",
    r"\bдом \d",
    r"\b(street|st\.|apt|apartment|avenue|ave\.) ?\d",
];

/// A draft talks about the customer in front of it, never about someone
/// else's orders, address or contact data (whoever asks for them).
pub const THIRD_PARTY: &[&str] = &[
    r"\b(she|he) (has |had )?(ordered|bought|purchased|paid|lives|is subscribed|subscribed)\b",
    r"\b(her|his) (last )?(orders?|address|phone|email|card|passport|subscription|delivery|deliveries)\b",
    r"\byour (wife|husband|partner|neighbou?r|friend|colleague|son|daughter|mother|father)('s)? (orders?|address|phone|email|ordered|bought|is subscribed)\b",
    r"\b(его|её|ее) (заказ|адрес|телефон|почт|паспорт|карт|подписк|доставк)",
    r"\b(он|она) (заказывал|заказала|заказал|покупал|купил|оплатил|живёт|живет|проживает|подписан)",
    r"\bпаспорт[а-яё]* [^.!?]{0,20}\d",
    r"\bpassport [^.!?]{0,20}\d",
];

/// Numbers written as words, with the figure they stand for: a count or a
/// share spelled out must be grounded like its digits ("five free packs",
/// "half price", "пять пачек"). "One" is free, as 1 is.
pub const NUMBER_WORDS: &[(&str, &str)] = &[
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
    ("hundred", "100"),
    ("half", "50"),
    ("дв[ае]|двух|двум", "2"),
    ("три|трёх|трех|трём", "3"),
    ("четыре|четырёх|четырех", "4"),
    ("пять|пяти", "5"),
    ("шесть|шести", "6"),
    ("семь|семи", "7"),
    ("восемь|восьми", "8"),
    ("девять|девяти", "9"),
    ("десять|десяти", "10"),
    ("двадцать|двадцати", "20"),
    ("тридцать|тридцати", "30"),
    ("пятьдесят|пятидесяти", "50"),
    ("сто", "100"),
    ("половин[а-яё]*|полцены", "50"),
];
