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
