//! Folding and ordering of Kazakh and Russian Cyrillic names.

/// The Kazakh Cyrillic alphabet in dictionary order; Russian order is the
/// same sequence without the Kazakh letters.
const ALPHABET: &str = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя";

/// Folds text for search: lower case (Ә→ә, І→і, …), and every letter that a
/// Russian keyboard lacks to its look-alike (ә→а, ғ→г, қ→к, ң→н, ө→о, ұ ү→у,
/// һ→х, і→и, ё→е), so "Кайрат" finds "Қайрат". Punctuation becomes a space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ә' => 'а',
            'ғ' => 'г',
            'қ' => 'к',
            'ң' => 'н',
            'ө' => 'о',
            'ұ' | 'ү' => 'у',
            'һ' => 'х',
            'і' | 'i' => 'и',
            'ё' => 'е',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        out.push(c);
    }
    out
}

/// The search tokens of a name: each folded word.
pub fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    fold(s).split_whitespace().map(str::to_owned).collect::<Vec<_>>().into_iter()
}

/// The Latin search form of a folded Cyrillic token: how the name reads
/// typed on a Latin keyboard, in a lossy form that Kazakh Latin spellings
/// and common transliterations also reach (й, ы and и all become `i`; ж is
/// `zh`, х `kh`, ш and щ `sh`). `None` for a token with no Cyrillic letter.
pub fn latin_form(folded: &str) -> Option<String> {
    if !folded.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
        return None;
    }
    let mut out = String::with_capacity(folded.len() + 4);
    for c in folded.chars() {
        let latin = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' | 'ы' => "i",
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
            'ш' | 'щ' => "sh",
            'ъ' | 'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(latin);
    }
    Some(out)
}

/// A search word typed on a Latin keyboard, in the same Latin search form:
/// Kazakh Latin letters (ä ğ ñ ö ş ū ü ı q), `j` for ж, `h` for х, `y` for
/// й or ы, a leading `ye`/`yo` for е/ё. `None` if the word has no Latin
/// letter.
pub fn latin_query(word: &str) -> Option<String> {
    let w: String = word.chars().flat_map(char::to_lowercase).collect();
    if !w.chars().any(|c| c.is_ascii_alphabetic() || "äğñöşūüıçéèá".contains(c)) {
        return None;
    }
    let w = w.strip_prefix("ye").or_else(|| w.strip_prefix("yo")).map_or(w.clone(), |rest| {
        let first = if w.starts_with("ye") { "e" } else { "o" };
        format!("{first}{rest}")
    });
    let mut out = String::with_capacity(w.len() + 4);
    let chars: Vec<char> = w.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (c, next) {
            // Digraphs already in the search form.
            ('z' | 'k' | 's' | 'c', Some('h')) => {
                out.push(c);
                out.push('h');
                i += 2;
                continue;
            }
            ('t', Some('s')) => {
                out.push_str("ts");
                i += 2;
                continue;
            }
            _ => {}
        }
        let latin = match c {
            'ä' | 'á' => "a",
            'ğ' => "g",
            'ñ' => "n",
            'ö' => "o",
            'ş' => "sh",
            'ū' | 'ü' | 'w' => "u",
            'ı' | 'y' => "i",
            'é' | 'è' => "e",
            'ç' => "ch",
            'q' => "k",
            'j' => "zh",
            'h' => "kh",
            'x' => "ks",
            'c' => "ts",
            c if c.is_alphanumeric() => {
                out.push(c);
                i += 1;
                continue;
            }
            _ => "",
        };
        out.push_str(latin);
        i += 1;
    }
    Some(out)
}

/// A key that sorts names in Kazakh (and so Russian) dictionary order with
/// plain byte comparison: ә after а, ғ after г, і after ы, case ignored.
pub fn sort_key(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match ALPHABET.chars().position(|a| a == c) {
            // Cyrillic letters map into a private-use block in alphabet order,
            // after every Latin letter and digit.
            Some(i) => char::from_u32(0xE000 + i as u32).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_keyboards_reach_cyrillic_names() {
        let form = |name: &str| latin_form(&fold(name)).unwrap();
        let query = |word: &str| latin_query(word).unwrap();
        for (typed, name) in [
            ("Nur", "Нұр"),
            ("Nursultan", "Нұрсұлтан"),
            ("Aigerim", "Айгерім"),
            ("Aygerim", "Айгерім"),
            ("Qairat", "Қайрат"),
            ("Kairat", "Қайрат"),
            ("Jansaya", "Жансая"),
            ("Zhansaya", "Жансая"),
            ("Yerlan", "Ерлан"),
            ("Shymkent", "Шымкент"),
            ("Dauren", "Дәурен"),
            ("Ğalym", "Ғалым"),
            ("Sheyitkyzy", "Шейітқызы"),
        ] {
            assert!(form(name).starts_with(&query(typed)), "{typed} → {} / {name} → {}", query(typed), form(name));
        }
        assert_eq!(latin_form("john"), None);
        assert_eq!(latin_query("Нұр"), None);
    }

    #[test]
    fn kazakh_letters_fold_case_insensitively() {
        assert_eq!(fold("ӘҒҚҢӨҰҮҺІ"), fold("әғқңөұүһі"));
        assert_eq!(fold("Қайрат"), fold("кайрат"));
        assert_eq!(fold("Нұрсұлтан"), "нурсултан");
        assert_eq!(fold("Алёна"), "алена");
        assert_eq!(tokens("Әбенов-Сейітқали  Ерлан").collect::<Vec<_>>(), ["абенов", "сейиткали", "ерлан"]);
    }

    #[test]
    fn kazakh_order() {
        let mut names = vec!["Ықылас", "Әлия", "Ілияс", "Бауыржан", "Ахмет", "Ғани", "Гүлнар", "Яна"];
        names.sort_by_key(|n| sort_key(n));
        assert_eq!(names, ["Ахмет", "Әлия", "Бауыржан", "Гүлнар", "Ғани", "Ықылас", "Ілияс", "Яна"]);
    }
}
