//! The console's words in Kazakh, Russian and English. Code lists (forms
//! of placement, regions) take their labels from the core's one table.

use qamqor_core::model::Lang;

/// A console language from its code (`kk`, `ru`, `en`); Russian otherwise.
pub fn lang(code: &str) -> Lang {
    match code {
        "kk" => Lang::Kk,
        "en" => Lang::En,
        _ => Lang::Ru,
    }
}

/// The code of a language.
pub fn code(l: Lang) -> &'static str {
    match l {
        Lang::Kk => "kk",
        Lang::Ru => "ru",
        Lang::En => "en",
    }
}

macro_rules! words {
    ($($key:ident => $kk:literal, $ru:literal, $en:literal;)+) => {
        /// Every word of the console.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum W { $($key,)+ }

        /// The word in `l`.
        pub fn t(l: Lang, w: W) -> &'static str {
            match (w, l) {
                $((W::$key, Lang::Kk) => $kk, (W::$key, Lang::Ru) => $ru, (W::$key, Lang::En) => $en,)+
            }
        }
    };
}

words! {
    title => "Qamqor — өңірлік кеңсе", "Qamqor — региональный офис", "Qamqor — regional office";
    sign_in => "Кіру", "Войти", "Sign in";
    user => "Пайдаланушы", "Пользователь", "User";
    password => "Құпиясөз", "Пароль", "Password";
    code => "Растау коды (қосымшадан)", "Код подтверждения (из приложения)", "Verification code (from the app)";
    wrong => "Пайдаланушы, құпиясөз немесе код қате", "Неверный пользователь, пароль или код", "Wrong user, password or code";
    locked => "Тым көп сәтсіз әрекет: 15 минуттан кейін қайталаңыз", "Слишком много неудачных попыток: повторите через 15 минут", "Too many failed attempts: try again in 15 minutes";
    sign_out => "Шығу", "Выйти", "Sign out";
    sign_out_all => "Барлық құрылғыдан шығу", "Выйти на всех устройствах", "Sign out everywhere";
    dashboard => "Көрсеткіштер", "Показатели", "Figures";
    devices => "Құрылғылар", "Устройства", "Devices";
    codes => "Тіркеу кодтары", "Коды регистрации", "Enrollment codes";
    audit => "Аудит", "Аудит", "Audit";
    as_of => "Күні", "На дату", "As of";
    show => "Көрсету", "Показать", "Show";
    region => "Өңір", "Регион", "Region";
    district => "Аудан", "Район", "District";
    children_placed => "Орналастырылған балалар", "Устроенные дети", "Children placed";
    in_families => "Отбасында", "В семьях", "In families";
    family_share => "Отбасындағылар үлесі, %", "Доля в семьях, %", "Share in families, %";
    kinship => "Туыстарында", "У родственников", "With kin";
    awaiting => "Орналастыруды күтуде", "Ожидают устройства", "Awaiting placement";
    representatives => "Заңды өкілдер", "Законные представители", "Legal representatives";
    checks_done => "Тексеру жасалды", "Проверка проведена", "Check done";
    checks_due => "Тексеру мерзімі жақын", "Срок проверки подходит", "Check due";
    checks_overdue => "Тексеру мерзімі өтті", "Проверка просрочена", "Check overdue";
    open_risk => "Ашық қауіп жағдайлары", "Открытые случаи риска", "Open risk cases";
    recommendations => "Шеттету ұсынымдары", "Рекомендации об отстранении", "Removal recommendations";
    removals => "Шеттетулер (12 ай)", "Отстранения (12 мес.)", "Removals (12 months)";
    visits => "Үйге барулар (6 ай)", "Посещения (6 мес.)", "Home visits (6 months)";
    visited => "Барылған балалар (6 ай)", "Посещённые дети (6 мес.)", "Children visited (6 months)";
    mentorships => "Тәлімгерлік", "Наставничество", "Mentorships";
    by_form => "Орналастыру нысаны бойынша", "По форме устройства", "By form of placement";
    mentors => "Тәлімгерлер", "Наставники", "Mentors";
    cert_valid => "Сертификаты жарамды", "Сертификат действует", "Certificate valid";
    cert_expiring => "60 күнде бітеді", "Истекает за 60 дней", "Expires within 60 days";
    cert_expired => "Сертификаты бітті", "Сертификат истёк", "Certificate expired";
    cert_none => "Сертификаты жоқ", "Нет сертификата", "No certificate";
    meetings => "Кездесулер, ай сайын", "Встречи по месяцам", "Meetings per month";
    specialists => "Мамандар", "Специалисты", "Specialists";
    children => "Балалар", "Дети", "Children";
    active => "Белсенді", "Активные", "Active";
    synced_7d => "7 күнде синхрондалды", "Синхронизированы за 7 дней", "Synced in 7 days";
    silent => "7 күннен астам үнсіз", "Молчат более 7 дней", "Silent over 7 days";
    revoked => "Кері қайтарылған", "Отозваны", "Revoked";
    last_sync => "Соңғы синхрондау", "Последняя синхронизация", "Last sync";
    pending_urgent => "Шұғыл күтуде", "Ожидает срочных", "Urgent pending";
    label => "Атауы", "Название", "Label";
    revoke => "Кері қайтару", "Отозвать", "Revoke";
    revoked_done => "Құрылғы кері қайтарылды: келесі байланыста деректері өшіріледі", "Устройство отозвано: данные будут стёрты при следующей связи", "Device revoked: its data is wiped at its next contact";
    issue_code => "Код беру", "Выдать код", "Issue a code";
    hours => "Сағат", "Часов", "Hours";
    code_for => "Телефонға арналған тіркеу коды", "Код регистрации телефона", "Phone enrollment code";
    code_note => "Кодты немесе QR-кодты пайдаланушыға беріңіз; ол бір рет жарамды", "Передайте код или QR-код пользователю; он действует один раз", "Give the code or QR code to the user; it works once";
    action => "Әрекет", "Действие", "Action";
    when => "Уақыты", "Время", "When";
    document => "Құжат", "Документ", "Document";
    filter => "Сүзу", "Фильтр", "Filter";
    export_csv => "CSV жүктеу", "Скачать CSV", "Download CSV";
    export_xlsx => "XLSX жүктеу", "Скачать XLSX", "Download XLSX";
    language => "Тіл", "Язык", "Language";
    forbidden => "Бұл бет сіздің рөліңізге қолжетімсіз", "Эта страница недоступна для вашей роли", "This page is not available to your role";
    figure => "Көрсеткіш", "Показатель", "Figure";
    value => "Мәні", "Значение", "Value";
    chart => "Аудандар бойынша орналастырылған балалар", "Устроенные дети по районам", "Children placed by district";
}
