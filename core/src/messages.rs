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

/// The reasons validation gives most often, translated; others as given.
fn reason(lang: Lang, r: &str) -> String {
    let table: &[(&str, &str, &str)] = &[
        ("is required", "міндетті", "обязательно"),
        ("is required and empty", "міндетті, бірақ бос", "обязательно, но пусто"),
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
    ];
    match (lang, table.iter().find(|(en, _, _)| *en == r)) {
        (Lang::Kk, Some((_, kk, _))) => (*kk).to_owned(),
        (Lang::Ru, Some((_, _, ru))) => (*ru).to_owned(),
        _ => r.to_owned(),
    }
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
            Error::Rule(m) => m.clone(),
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
    }
}
