//! The one table of error messages: each error's stable code (documented
//! in `docs/mobile.md`, never renamed) and its message in Kazakh, Russian
//! and English. Apps show `message(lang)` in the user's language. Details
//! carried by an error (a field's name, the server's words) are inserted
//! as they are; the reasons validation gives most often are translated.

use crate::error::Error;
use crate::model::Lang;

/// One line of the table: Kazakh, Russian, English.
fn pick(lang: Lang, kk: String, ru: String, en: String) -> String {
    match lang {
        Lang::Kk => kk,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// A line of a translation table: English, Kazakh, Russian.
type Line = (&'static str, &'static str, &'static str);

/// The reasons validation gives, translated (terms as in the domain
/// glossary); a reason not in the table is shown as given.
const REASONS: &[Line] = &[
    ("is required", "міндетті", "обязательно"),
    ("is required and empty", "міндетті, бірақ бос", "обязательно, но пусто"),
    ("is empty", "бос", "пусто"),
    ("is in the future", "болашақ күн", "дата в будущем"),
    ("contains control characters", "басқару таңбалары бар", "содержит управляющие символы"),
    (
        "an id is 32 hexadecimal digits",
        "идентификатор 32 он алтылық цифрдан тұрады",
        "идентификатор состоит из 32 шестнадцатеричных цифр",
    ),
    ("expected YYYY-MM-DD", "ЖЖЖЖ-АА-КК күтілген", "ожидается ГГГГ-ММ-ДД"),
    (
        "the person is 18 or older, not a child",
        "адам 18 жаста немесе үлкен, бала емес",
        "человеку 18 лет или больше, это не ребёнок",
    ),
    ("an IIN has exactly 12 digits", "ЖСН дәл 12 цифрдан тұрады", "ИИН состоит ровно из 12 цифр"),
    (
        "the 7th digit (century and sex) must be 1 to 6",
        "7-цифр (ғасыр мен жыныс) 1-ден 6-ға дейін болуы керек",
        "7-я цифра (век и пол) должна быть от 1 до 6",
    ),
    (
        "the first six digits are not a valid date of birth",
        "алғашқы алты цифр дұрыс туған күн емес",
        "первые шесть цифр не являются допустимой датой рождения",
    ),
    ("the check digit does not match", "бақылау цифры сәйкес келмейді", "контрольная цифра не совпадает"),
    (
        "the number fails the checksum and is never issued",
        "нөмір бақылау сомасынан өтпейді, мұндай нөмір берілмейді",
        "номер не проходит проверку контрольной суммы и никогда не выдаётся",
    ),
    (
        "an IIN is assigned once for life and never changed",
        "ЖСН өмір бойы бір рет беріледі және өзгертілмейді",
        "ИИН присваивается один раз на всю жизнь и не меняется",
    ),
    ("a КАТО code has exactly 9 digits", "ӘАОЖ коды дәл 9 цифрдан тұрады", "код КАТО состоит ровно из 9 цифр"),
    (
        "the first two digits are not a known region code",
        "алғашқы екі цифр белгілі өңір коды емес",
        "первые две цифры не являются известным кодом региона",
    ),
    ("the district is not in the child's region", "аудан баланың өңірінде емес", "район не входит в регион ребёнка"),
    (
        "the district is not in the mentor's region",
        "аудан тәлімгердің өңірінде емес",
        "район не входит в регион наставника",
    ),
    (
        "a phone number has 10 to 15 digits",
        "телефон нөмірі 10–15 цифрдан тұрады",
        "номер телефона состоит из 10–15 цифр",
    ),
    (
        "a legal representative must be an adult",
        "заңды өкіл кәмелетке толған болуы керек",
        "законный представитель должен быть совершеннолетним",
    ),
    ("is before the child's birth", "баланың туған күнінен бұрын", "раньше даты рождения ребёнка"),
    (
        "guardianship is for a child under 14; use trusteeship",
        "қорғаншылық 14 жасқа толмаған балаға белгіленеді; қамқоршылықты таңдаңыз",
        "опека устанавливается над ребёнком до 14 лет; выберите попечительство",
    ),
    ("is required for this form", "осы нысан үшін міндетті", "обязательно для этой формы"),
    ("is required for a family form", "отбасылық нысан үшін міндетті", "обязательно для семейной формы"),
    ("an institution is not kin", "ұйым туыс емес", "организация не является родственником"),
    ("is before the start date", "басталу күнінен бұрын", "раньше даты начала"),
    ("is required when a placement ends", "орналастыру аяқталғанда міндетті", "обязательно при завершении устройства"),
    (
        "is required for a child aged 10 or older",
        "10 жастағы және одан үлкен бала үшін міндетті",
        "обязательно для ребёнка 10 лет и старше",
    ),
    ("must be after the visit", "бару күнінен кейін болуы керек", "должна быть позже посещения"),
    ("is before the date of issue", "берілген күнінен бұрын", "раньше даты выдачи"),
    ("is before the mentorship started", "тәлімгерлік басталғанға дейін", "раньше начала наставничества"),
    (
        "the mentorship is not in force on this date",
        "бұл күні тәлімгерлік күшінде емес",
        "на эту дату наставничество не действует",
    ),
    (
        "must say why the flag was wrong",
        "белгінің неліктен қате болғанын көрсету керек",
        "нужно указать, почему отметка была ошибочной",
    ),
    ("lists a factor twice", "бір фактор екі рет көрсетілген", "фактор указан дважды"),
    ("is not one of the competing values", "бәсекелес мәндердің бірі емес", "не входит в число конкурирующих значений"),
    ("no open conflict at this path", "бұл жолда ашық қайшылық жоқ", "по этому пути нет открытого конфликта"),
    (
        "is not a JPEG, PNG or PDF file (told by its content)",
        "мазмұны бойынша JPEG, PNG немесе PDF файлы емес",
        "по содержимому это не файл JPEG, PNG или PDF",
    ),
    ("is larger than 25 MiB", "25 МиБ-тан үлкен", "больше 25 МиБ"),
    (
        "names no event recorded in this file",
        "бұл істе тіркелген оқиғаны көрсетпейді",
        "не указывает событие, записанное в этом деле",
    ),
];

/// The domain rules' sentences, translated; a sentence not in the table
/// (those naming a record) is shown as given.
const RULES: &[Line] = &[
    (
        "the mentor has no valid certificate on the meeting date; a mentor without a valid certificate may not work with children",
        "кездесу күні тәлімгердің жарамды сертификаты жоқ; жарамды сертификаты жоқ тәлімгер балалармен жұмыс істей алмайды",
        "на дату встречи у наставника нет действующего сертификата; наставник без действующего сертификата не может работать с детьми",
    ),
    (
        "removal from duties is the office's decision: record it with its order's number and date (decide_removal)",
        "міндеттерін атқарудан шеттету — органның шешімі: оны бұйрықтың нөмірі мен күнімен тіркеңіз (decide_removal)",
        "отстранение от исполнения обязанностей — решение органа: запишите его с номером и датой приказа (decide_removal)",
    ),
    (
        "the representative is already removed from duties",
        "заңды өкіл міндеттерін атқарудан әлдеқашан шеттетілген",
        "законный представитель уже отстранён от исполнения обязанностей",
    ),
    (
        "no removal recommendation is raised on the representative",
        "заңды өкілді шеттету туралы ұсыныс жоқ",
        "рекомендации об отстранении законного представителя нет",
    ),
    (
        "a raised risk factor is ground for removal: clear it first if it was recorded in error",
        "белгіленген тәуекел факторы шеттетуге негіз болады: егер ол қате жазылса, алдымен оны алып тастаңыз",
        "отмеченный фактор риска — основание для отстранения: если он записан ошибочно, сначала снимите его",
    ),
    (
        "the child already has an active placement; end it before placing the child again",
        "баланың қазір қолданыстағы орналастыруы бар; баланы қайта орналастырмас бұрын оны аяқтаңыз",
        "у ребёнка уже есть действующее устройство; завершите его, прежде чем устраивать ребёнка снова",
    ),
    ("this placement is already recorded", "бұл орналастыру әлдеқашан тіркелген", "это устройство уже записано"),
    (
        "the representative is not active and cannot take a child",
        "заңды өкіл белсенді емес, баланы қабылдай алмайды",
        "законный представитель не активен и не может принять ребёнка",
    ),
    (
        "the representative carries a risk factor or a removal recommendation and cannot take a child until it is cleared",
        "заңды өкілде тәуекел факторы немесе шеттету туралы ұсыныс бар; ол алынғанша баланы қабылдай алмайды",
        "у законного представителя есть фактор риска или рекомендация об отстранении; пока они не сняты, он не может принять ребёнка",
    ),
    ("this placement has already ended", "бұл орналастыру әлдеқашан аяқталған", "это устройство уже завершено"),
    (
        "the representative is not removed from duties: record the office's decision first",
        "заңды өкіл міндеттерін атқарудан шеттетілмеген: алдымен органның шешімін тіркеңіз",
        "законный представитель не отстранён от исполнения обязанностей: сначала запишите решение органа",
    ),
    (
        "the correction changes nothing in the placement",
        "түзету орналастыруда ештеңені өзгертпейді",
        "исправление ничего не меняет в устройстве",
    ),
    (
        "this risk factor is not raised on the representative",
        "бұл тәуекел факторы заңды өкілге белгіленбеген",
        "этот фактор риска у законного представителя не отмечен",
    ),
    ("this mentorship has already ended", "бұл тәлімгерлік әлдеқашан аяқталған", "это наставничество уже завершено"),
    (
        "only a record the server refused can be discarded; this one is kept",
        "тек сервер қабылдамаған жазбаны ғана алып тастауға болады; бұл жазба сақталады",
        "удалить можно только запись, отклонённую сервером; эта запись сохраняется",
    ),
    (
        "this file did not absorb that one (or the merge was undone)",
        "бұл іс ол істі біріктірмеген (немесе біріктіру болдырылмаған)",
        "это дело не поглощало то (или объединение было отменено)",
    ),
    (
        "only children's cases and representatives' files are merged",
        "тек балалардың істері мен заңды өкілдердің істері ғана біріктіріледі",
        "объединяются только дела детей и дела законных представителей",
    ),
    (
        "two different files of the same kind are merged",
        "бір түрдегі екі түрлі іс біріктіріледі",
        "объединяются два разных дела одного вида",
    ),
    (
        "an event is written once: this id is already recorded; record a correction that supersedes it",
        "оқиға бір рет жазылады: бұл идентификатор әлдеқашан тіркелген; оның орнына түзету жазыңыз",
        "событие записывается один раз: этот идентификатор уже записан; запишите исправление, заменяющее его",
    ),
];

/// `text` in `lang` from `table`, or as given.
fn translated(lang: Lang, table: &[Line], text: &str) -> String {
    match (lang, table.iter().find(|(en, _, _)| *en == text)) {
        (Lang::Kk, Some((_, kk, _))) => (*kk).to_owned(),
        (Lang::Ru, Some((_, _, ru))) => (*ru).to_owned(),
        _ => text.to_owned(),
    }
}

fn reason(lang: Lang, r: &str) -> String {
    translated(lang, REASONS, r)
}

impl Error {
    /// The error's stable code, for apps to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::UnknownCode { .. } => "unknown_code",
            Error::Rule(_) => "rule",
            Error::NotFound { .. } => "not_found",
            Error::WrongKey => "wrong_key",
            Error::KeyLength(_) => "key_length",
            Error::AlreadyOpen => "already_open",
            Error::Closed => "closed",
            Error::UpdateRequired => "update_required",
            Error::Corrupt(_) => "corrupt",
            Error::Network(_) => "network",
            Error::Server { .. } => "server",
            Error::TokenExpired => "token_expired",
            Error::Unauthorized(_) => "unauthorized",
            Error::InsecureUrl => "insecure_url",
            Error::TooManyRounds(_) => "too_many_rounds",
            Error::Cancelled => "cancelled",
            Error::Storage(_) => "storage",
            Error::Document(_) => "document",
            Error::Io(_) => "io",
        }
    }

    /// The error's message in `lang` (never empty, never personal data).
    pub fn message(&self, lang: Lang) -> String {
        let s = |kk: &str, ru: &str| pick(lang, kk.to_owned(), ru.to_owned(), self.to_string());
        match self {
            Error::Invalid { field, reason: r } => pick(
                lang,
                format!("{field} өрісінің мәні жарамсыз: {}", reason(Lang::Kk, r)),
                format!("недопустимое значение поля {field}: {}", reason(Lang::Ru, r)),
                self.to_string(),
            ),
            Error::UnknownCode { list, code } => pick(
                lang,
                format!("белгісіз код ({list}): {code:?}"),
                format!("неизвестный код ({list}): {code:?}"),
                self.to_string(),
            ),
            Error::Rule(m) => translated(lang, RULES, m),
            Error::NotFound { kind, id } => pick(
                lang,
                format!("бұл телефонда {id} идентификаторлы жазба ({kind}) жоқ"),
                format!("на этом телефоне нет записи ({kind}) с идентификатором {id}"),
                self.to_string(),
            ),
            Error::WrongKey => s(
                "кілт бұл қойманы ашпайды (кілт қате немесе файл Qamqor қоймасы емес)",
                "ключ не открывает это хранилище (неверный ключ или файл не является хранилищем Qamqor)",
            ),
            Error::KeyLength(n) => pick(
                lang,
                format!("қойма кілті дәл 32 байт (256 бит) болуы керек, берілгені {n}"),
                format!("ключ хранилища должен быть ровно 32 байта (256 бит), получено {n}"),
                self.to_string(),
            ),
            Error::AlreadyOpen => s(
                "бұл қойма әлдеқашан ашық (осы қолданбада немесе телефонның басқа процесінде); алдымен сонда жабыңыз",
                "это хранилище уже открыто (в этом приложении или в другом процессе телефона); сначала закройте его там",
            ),
            Error::Closed => s("қойма жабық", "хранилище закрыто"),
            Error::UpdateRequired => s(
                "бұл жазбаны қолданбаның жаңа нұсқасы жазған; өзгерту үшін қолданбаны жаңартыңыз",
                "эта запись создана более новой версией приложения; обновите приложение, чтобы изменить её",
            ),
            Error::Corrupt(d) => pick(
                lang,
                format!("сақталған құжат бүлінген: {d}"),
                format!("сохранённый документ повреждён: {d}"),
                self.to_string(),
            ),
            Error::Network(d) => pick(lang, format!("желі: {d}"), format!("сеть: {d}"), self.to_string()),
            Error::Server { status, code, message } => pick(
                lang,
                format!("сервер сұрауды қабылдамады ({status} {code}): {message}"),
                format!("сервер отклонил запрос ({status} {code}): {message}"),
                self.to_string(),
            ),
            Error::TokenExpired => s(
                "құрылғы токенінің мерзімі өтті; құрылғыны жаңа кодпен қайта тіркеңіз",
                "срок действия токена устройства истёк; зарегистрируйте устройство заново с новым кодом",
            ),
            Error::Unauthorized(d) => pick(
                lang,
                format!("сервер бұл құрылғыны қабылдамайды: {d}"),
                format!("сервер не принимает это устройство: {d}"),
                self.to_string(),
            ),
            Error::InsecureUrl => s(
                "қашықтағы серверге ашық HTTP-ге тыйым салынған: https:// қолданыңыз",
                "открытый HTTP к удалённому серверу запрещён: используйте https://",
            ),
            Error::TooManyRounds(n) => pick(
                lang,
                format!("синхрондау {n} раундта аяқталмады; келесі жолы жалғасады"),
                format!("синхронизация не завершилась за {n} раундов; она продолжится в следующий раз"),
                self.to_string(),
            ),
            Error::Cancelled => s("синхрондау тоқтатылды", "синхронизация отменена"),
            Error::Storage(e) => {
                pick(lang, format!("қойма қатесі: {e}"), format!("ошибка хранилища: {e}"), self.to_string())
            }
            Error::Document(e) => {
                pick(lang, format!("құжат қатесі: {e}"), format!("ошибка документа: {e}"), self.to_string())
            }
            Error::Io(e) => pick(lang, format!("файл қатесі: {e}"), format!("ошибка файла: {e}"), self.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_a_message_in_each_language() {
        let errors = [
            Error::invalid("child.birth_date", "is in the future"),
            Error::UnknownCode { list: "region", code: "99".into() },
            Error::Rule("a rule".into()),
            Error::not_found("child", "abc"),
            Error::WrongKey,
            Error::KeyLength(3),
            Error::AlreadyOpen,
            Error::Closed,
            Error::UpdateRequired,
            Error::Corrupt("x".into()),
            Error::Network("down".into()),
            Error::Server { status: 403, code: "forbidden".into(), message: "no".into() },
            Error::TokenExpired,
            Error::Unauthorized("revoked".into()),
            Error::InsecureUrl,
            Error::TooManyRounds(12),
            Error::Cancelled,
        ];
        let mut codes = std::collections::HashSet::new();
        for e in &errors {
            assert!(codes.insert(e.code()), "{} twice", e.code());
            for lang in [Lang::Kk, Lang::Ru, Lang::En] {
                assert!(!e.message(lang).trim().is_empty(), "{} in {lang:?}", e.code());
            }
        }
        let e = Error::invalid("child.birth_date", "is in the future");
        assert_eq!(e.message(Lang::Ru), "недопустимое значение поля child.birth_date: дата в будущем");
        assert_eq!(e.message(Lang::Kk), "child.birth_date өрісінің мәні жарамсыз: болашақ күн");
        assert_eq!(e.message(Lang::En), "invalid child.birth_date: is in the future");
        assert_ne!(Error::WrongKey.message(Lang::Kk), Error::WrongKey.message(Lang::Ru));
        let rule = Error::Rule("this placement has already ended".into());
        assert_eq!(rule.message(Lang::Kk), "бұл орналастыру әлдеқашан аяқталған");
        assert_eq!(rule.message(Lang::En), "this placement has already ended");
    }

    /// Every sentence a rule of the core gives without naming a record is
    /// in the table, and every line of both tables is filled in.
    #[test]
    fn the_rules_sentences_are_translated() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("messages.rs") {
                    sources.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut found = 0;
        for source in &sources {
            for (i, _) in source.match_indices("Error::Rule(") {
                let rest = source[i..].trim_start_matches("Error::Rule(").trim_start();
                let Some(body) = rest.strip_prefix('"') else { continue }; // format!: names a record
                // The literal up to its closing quote; a `\` at a line's end
                // joins it to the next line's text.
                let (mut sentence, mut chars) = (String::new(), body.chars().peekable());
                while let Some(c) = chars.next() {
                    match (c, chars.peek()) {
                        ('"', _) => break,
                        ('\\', Some('\n')) => {
                            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        ('\\', Some(_)) => sentence.extend(chars.next()),
                        _ => sentence.push(c),
                    }
                }
                assert!(RULES.iter().any(|(en, _, _)| *en == sentence), "no translation of the rule {sentence:?}");
                found += 1;
            }
        }
        assert!(found >= 15, "the rules were found ({found})");
        for (en, kk, ru) in RULES.iter().chain(REASONS) {
            assert!(!en.is_empty() && !kk.is_empty() && !ru.is_empty() && kk != ru, "{en}");
        }
    }
}
