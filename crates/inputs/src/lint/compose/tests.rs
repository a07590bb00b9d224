use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn interpolation_forms() {
    let e = env(&[("TAG", "1.2"), ("EMPTY", "")]);
    assert_eq!(interpolate("app:${TAG}", &e).unwrap(), "app:1.2");
    assert_eq!(interpolate("app:$TAG-x", &e).unwrap(), "app:1.2-x");
    assert_eq!(interpolate("${MISSING:-def}", &e).unwrap(), "def");
    assert_eq!(interpolate("${EMPTY:-def}", &e).unwrap(), "def");
    assert_eq!(interpolate("${EMPTY-def}", &e).unwrap(), "");
    assert_eq!(interpolate("${MISSING-def}", &e).unwrap(), "def");
    assert_eq!(interpolate("$$HOME", &e).unwrap(), "$HOME");
    assert_eq!(interpolate("${MISSING:-${TAG}}", &e).unwrap(), "1.2");
    assert_eq!(
        interpolate("${MISSING:?set it}", &e).unwrap_err(),
        "required variable MISSING is missing a value: set it"
    );
    assert_eq!(
        interpolate("${TAG", &e).unwrap_err(),
        "unterminated variable in \"${TAG\""
    );
}

#[test]
fn dotenv_files() {
    let vars = read_dotenv("# comment\nA=1\nexport B=\"two words\"\nC='3'\n\nbad line\n");
    assert_eq!(vars, env(&[("A", "1"), ("B", "two words"), ("C", "3")]));
}
