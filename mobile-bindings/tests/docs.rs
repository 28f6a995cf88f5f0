//! The worked example in `docs/mobile.md` is the code the binding tests run:
//! the lines between the "docs/mobile.md" markers of each test file must
//! appear in the page verbatim, in a fenced block of their language.

use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines between `<comment> docs/mobile.md: begin` and `… end`.
fn example(source: &str, comment: &str) -> String {
    let begin = format!("{comment} docs/mobile.md: begin\n");
    let end = format!("{comment} docs/mobile.md: end\n");
    let start = source.find(&begin).map(|i| i + begin.len()).expect("a begin marker");
    let stop = source[start..].find(&end).map(|i| start + i).expect("an end marker");
    source[start..stop].to_owned()
}

#[test]
fn the_worked_example_in_the_docs_is_the_tested_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = read(&root.join("../docs/mobile.md"));
    for (file, comment, lang) in
        [("tests/kotlin/FirstDay.kt", "//", "kotlin"), ("tests/python/first_day.py", "#", "python")]
    {
        let code = example(&read(&root.join(file)), comment);
        assert!(code.lines().count() > 20, "{file}: the example is there");
        let block = format!("```{lang}\n{code}```\n");
        assert!(
            doc.contains(&block),
            "docs/mobile.md no longer holds the example of {file} verbatim: copy the lines between its markers into the ```{lang} block"
        );
    }
}
