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
    title_national => "Qamqor — ұлттық деңгей", "Qamqor — национальный уровень", "Qamqor — national";
    regions => "Өңірлер", "Регионы", "Regions";
    tasks => "Жұмыс тізімі", "Рабочий список", "Work list";
    users => "Пайдаланушылар", "Пользователи", "Users";
    national_link => "Ұлттық серверге есеп", "Отчёт на национальный сервер", "Report to the national server";
    sent => "жіберілді", "отправлен", "sent";
    not_sent => "әлі жіберілген жоқ", "ещё не отправлен", "not sent yet";
    send_now => "Қазір жіберу", "Отправить сейчас", "Send now";
    report_sent => "Ұлттық сервер есепті сақтады", "Национальный сервер сохранил отчёт", "The national server stored the report";
    chart_checks => "Аудандар бойынша жыл сайынғы тексерулер: жасалды / мерзімі жақын / өтті", "Ежегодные проверки по районам: проведена / срок подходит / просрочена", "Annual checks by district: done / due / overdue";
    figures_by_district => "Өңір және аудандар бойынша көрсеткіштер", "Показатели региона и районов", "Figures of the region and its districts";
    country_figures => "Ел бойынша көрсеткіштер", "Показатели по стране", "The country's figures";
    country => "Ел", "Страна", "Country";
    suppressed_note => "Өңірлер тек сандарды жібереді; 5-тен аз сандар жасырылған («<5»), ал «≥» белгісі — төменгі шек", "Регионы передают только числа; значения меньше 5 скрыты («<5»), знак «≥» — нижняя граница", "Regions send counts only; counts below 5 are suppressed (\"<5\") and \"≥\" marks a lower bound";
    no_reports => "Өңірлерден әлі есеп келген жоқ", "Отчётов от регионов пока нет", "No region has reported yet";
    chart_regions => "Өңірлер бойынша орналастырылған балалар", "Устроенные дети по регионам", "Children placed by region";
    received => "Алынды", "Получен", "Received";
    credential => "Тіркелгі деректері", "Учётные данные", "Credential";
    issue_credential => "Жаңа тіркелгі деректерін беру", "Выдать новые учётные данные", "Issue a new credential";
    credential_for => "Өңір серверінің жаңа тіркелгі деректері", "Новые учётные данные сервера региона", "New credential of the region's server";
    credential_note => "Бір рет көрсетіледі; бұрынғысы жарамсыз. Өңір серверінде national-credential файлына салыңыз", "Показывается один раз; прежние больше не действуют. Поместите в файл national-credential на сервере региона", "Shown once; the earlier one no longer works. Put it in the national-credential file on the region's server";
    account_for => "Консольге кіру деректері:", "Данные для входа в консоль:", "Console sign-in for";
    totp_secret => "Аутентификатор кілті", "Ключ аутентификатора", "Authenticator secret";
    account_note => "Бір рет көрсетіледі: пайдаланушыға жеке беріңіз; ол QR-кодты аутентификатор қосымшасымен сканерлейді", "Показывается один раз: передайте пользователю лично; он сканирует QR-код приложением-аутентификатором", "Shown once: give it to the user in person; they scan the QR code with an authenticator app";
    name => "Аты-жөні", "Имя", "Name";
    role => "Рөлі", "Роль", "Role";
    districts => "Аудандар (КАТО)", "Районы (КАТО)", "Districts (KATO)";
    adoption => "Асырап алу деңгейі", "Уровень усыновления", "Adoption tier";
    save => "Сақтау", "Сохранить", "Save";
    yes => "иә", "да", "yes";
    grant => "Беру", "Предоставить", "Grant";
    withdraw => "Қайтарып алу", "Отозвать", "Withdraw";
    set_account => "Консольге кіруді орнату", "Задать вход в консоль", "Set console sign-in";
    add_user => "Пайдаланушы қосу", "Добавить пользователя", "Add a user";
    assignments => "Істі бекіту", "Закрепление дел", "Case assignments";
    assign => "Бекіту", "Закрепить", "Assign";
    unassign => "Бекітуді алу", "Снять закрепление", "Unassign";
    done => "Орындалды", "Выполнено", "Done";
    file => "Іс", "Дело", "File";
    file_note => "Тек оқу үшін. Бұл ашу аудитке жазылды", "Только для чтения. Этот просмотр записан в аудит", "Read-only. This reading is recorded in the audit";
    task => "Не істеу керек", "Что нужно сделать", "What needs doing";
    due => "Мерзімі", "Срок", "Due";
    holders => "Кімде", "У кого", "Held by";
    nobody => "ешкімде жоқ", "ни у кого", "nobody";
    role_specialist => "Маман", "Специалист", "Specialist";
    role_mentor => "Тәлімгер", "Наставник", "Mentor";
    role_admin => "Әкімші", "Администратор", "Administrator";
    role_analyst => "Талдаушы", "Аналитик", "Analyst";
    task_risk => "Қауіп факторы: шеттету негізі", "Фактор риска: основание для отстранения", "Risk factor: ground for removal";
    task_recommended => "Шеттету ұсынылды: кеңсенің шешімі күтілуде", "Рекомендовано отстранение: ждёт решения офиса", "Removal recommended: awaiting the office's decision";
    task_to_place => "Бала жаңа орналастыруды күтуде", "Ребёнок ждёт нового устройства", "Child awaiting a new placement";
    task_urgent => "Шұғыл: соңғы барудағы қараусыздық белгілері", "Срочно: признаки безнадзорности при последнем посещении", "Urgent: signs of neglect at the latest visit";
    task_duplicate => "Бір адамның екі файлы болуы мүмкін: телефонда біріктіріңіз немесе екі адам деп белгілеңіз", "Возможно, два дела одного человека: объедините их на телефоне или отметьте как двух людей", "Likely two files of one person: merge them on a phone, or mark them as two people";
    same_person_as => "Сол адамның болуы мүмкін файлы", "Возможно, дело того же человека", "Likely the same person as";
    import => "Тізілімді жүктеу", "Импорт реестра", "Import the register";
    import_help => "Кеңсенің тізілімі (XLSX немесе CSV, үлгідегі бағандармен) алдымен тексеріледі: ештеңе жазылмайды, әр жолдың нәтижесі есепте. Содан кейін растаңыз.", "Реестр офиса (XLSX или CSV, столбцы как в шаблоне) сначала проверяется: ничего не записывается, итог по каждой строке — в отчёте. Затем подтвердите.", "The office's register (XLSX or CSV, columns as in the template) is checked first: nothing is written, and the report gives each row's outcome. Then confirm.";
    import_template => "Үлгі (XLSX)", "Шаблон (XLSX)", "Template (XLSX)";
    import_file => "Тізілім файлы", "Файл реестра", "Register file";
    import_check => "Тексеру", "Проверить", "Check";
    import_checked => "Тексерілді: ештеңе жазылған жоқ", "Проверено: ничего не записано", "Checked: nothing was written";
    import_stored => "Сақталды", "Сохранено", "Stored";
    import_confirm => "Растау және сақтау", "Подтвердить и сохранить", "Confirm and store";
    import_report => "Есепті жүктеп алу (XLSX)", "Скачать отчёт (XLSX)", "Download the report (XLSX)";
    import_documents => "Құжаттар", "Документы", "Documents";
    import_expired => "Жүктелген файл енді жоқ (бір сағаттан кейін ұмытылады): қайта жүктеңіз", "Загруженного файла больше нет (он хранится час): загрузите его снова", "The upload is no longer kept (an hour at most): upload it again";
    caseload_max => "Ең үлкен жүктеме (балалар)", "Наибольшая нагрузка (дети)", "Largest caseload (children)";
    devices_active => "Белсенді құрылғылар", "Активные устройства", "Active devices";
    devices_revoked => "Кері қайтарылған құрылғылар", "Отозванные устройства", "Revoked devices";
    chart => "Аудандар бойынша орналастырылған балалар", "Устроенные дети по районам", "Children placed by district";
}
