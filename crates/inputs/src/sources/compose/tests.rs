use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with(pairs: &[(&str, &str)], text: &str) -> Result<String, Fault> {
    let e = vars(pairs);
    interpolate(text, &|name: &str| e.get(name).cloned())
}

/// Cases from compose-go `template/template_test.go` semantics, checked
/// against docker-compose 2.26 (`tests/integration/compose_differential`
/// runs the binary itself).
#[test]
fn interpolation_follows_compose() {
    let e = [("SET", "val"), ("EMPTY", "")];
    assert_eq!(with(&e, "app:${SET}").unwrap(), "app:val");
    assert_eq!(with(&e, "$SET.x").unwrap(), "val.x");
    assert_eq!(with(&e, "$SET_x").unwrap(), "");
    assert_eq!(with(&e, "${UNSET:-d}").unwrap(), "d");
    assert_eq!(with(&e, "${EMPTY:-d}").unwrap(), "d");
    assert_eq!(with(&e, "${EMPTY-d}").unwrap(), "");
    assert_eq!(with(&e, "${SET:+a}").unwrap(), "a");
    assert_eq!(with(&e, "${EMPTY:+a}").unwrap(), "");
    assert_eq!(with(&e, "${EMPTY+a}").unwrap(), "a");
    assert_eq!(with(&e, "${UNSET:-${ALSO:-deep}}").unwrap(), "deep");
    assert_eq!(with(&e, "${U:-pre-${SET}-post}").unwrap(), "pre-val-post");
    assert_eq!(with(&e, "${U:-a:-b}").unwrap(), "a:-b");
    assert_eq!(with(&e, "${U:-a}b}").unwrap(), "ab}");
    assert_eq!(with(&e, "$$SET").unwrap(), "$SET");
    // compose-go's brace counter skips the character after each `{`, and
    // a form with an operator runs to the last `}` of the line.
    assert_eq!(with(&e, "host${NOPE:+{}}").unwrap(), "host");
    assert_eq!(with(&e, "${A-$${}").unwrap(), "${");
    assert_eq!(with(&e, "${U:-a}b${SET}c}").unwrap(), "abvalc}");
    for literal in ["$1", "$", "$-", "cost$"] {
        assert_eq!(with(&e, literal).unwrap(), literal);
    }
    assert_eq!(
        with(&e, "${UNSET:?must be set}").unwrap_err().message("services.s.labels.l"),
        "error while interpolating services.s.labels.l: required variable UNSET is missing a value: must be set"
    );
    assert_eq!(
        with(&e, "${X Y}").unwrap_err().message("services.s.labels.l"),
        "invalid interpolation format for services.s.labels.l.\nYou may need to escape any $ with another $.\n${X Y}"
    );
    for invalid in ["${}", "${X", "${X:=d}", "${!X}", "${1DIGIT}"] {
        assert!(
            matches!(with(&e, invalid), Err(Fault::Invalid(_))),
            "{invalid}"
        );
    }
}

fn dotenv(process: &[(&str, &str)], text: &str) -> Result<Vec<(String, String)>, String> {
    let p = vars(process);
    read_env_file(text, &|name: &str| p.get(name).cloned())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `.env` syntax of compose-go `dotenv/parser.go`, with the cases of
/// the `dotenv1`-`dotenv3` differential corpus.
#[test]
fn env_files_follow_compose() {
    let text = "\u{feff}# comment\nINLINE=value # comment\nNOSPACEHASH=value#notcomment\n\
                SQ='single $PLAIN \\n \\' end'\nPLAIN=hello\nDQ=\"q\\\" dollar\\$ ${PLAIN} \\n\"\n  export   EXPORTED = exp\n\
                YAMLSTYLE: yamlv\nEMPTYHASH= #comment\nMULTI=\"a\nb\"\nDEF=${UNSET_X:-dflt}/a\nDOLLARS=$$PLAIN\nBARE\n";
    assert_eq!(
        dotenv(&[("BARE", "frombare")], text).unwrap(),
        pairs(&[
            ("INLINE", "value"),
            ("NOSPACEHASH", "value#notcomment"),
            ("SQ", "single $PLAIN \\n ' end"),
            ("PLAIN", "hello"),
            ("DQ", "q\" dollar$ hello \n"),
            ("EXPORTED", "exp"),
            ("YAMLSTYLE", "yamlv"),
            ("EMPTYHASH", "#comment"),
            ("MULTI", "a\nb"),
            ("DEF", "dflt/a"),
            ("DOLLARS", "$PLAIN"),
            ("BARE", "frombare"),
        ])
    );
    // White space compose-go trims, and its `\0NNN` octal escapes.
    assert_eq!(
        dotenv(&[], "A=\u{a0}host\nB=\"\\0150ost\"\nC=\"\\01x\"\n").unwrap(),
        pairs(&[("A", "host"), ("B", "host"), ("C", "\\1x")])
    );
    // The process environment beats an earlier line of the file.
    assert_eq!(
        dotenv(&[("A", "proc")], "A=x\nB=${A}\n").unwrap(),
        pairs(&[("A", "x"), ("B", "proc")])
    );
    assert_eq!(
        dotenv(&[], "A$=1\n").unwrap_err(),
        "line 1: unexpected character \"$\" in variable name \"A$=1\""
    );
    assert_eq!(
        dotenv(&[], "OK=1\nA B=1\n").unwrap_err(),
        "line 2: key cannot contain a space"
    );
    assert_eq!(
        dotenv(&[], "A=\"open\n").unwrap_err(),
        "line 1: unterminated quoted value \"\\\"open\""
    );
}

fn project_in(
    dir: &Path,
    files: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<Vec<Target>, InputError> {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let mut env = vars(env);
    env.insert("HOME".into(), "/home/op".into());
    Project::discover(dir, &env, &Options::default())
        .expect("a compose file")
        .and_then(|p| p.targets())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockgate-compose-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

fn sources(target: &Target) -> Vec<String> {
    let mut found: Vec<String> = target
        .workload
        .mounts
        .iter()
        .map(|m| format!("{:?}", m.kind))
        .collect();
    found.sort();
    found
}

#[test]
fn discovery_adds_the_override_file_and_reads_the_project_env() {
    let dir = scratch("discover");
    let targets = project_in(
        &dir,
        &[
            ("compose.yaml", "services:\n  web:\n    image: ${IMG}\n"),
            (
                "docker-compose.override.yaml",
                "services:\n  web:\n    privileged: \"yes\"\n",
            ),
            (".env", "IMG=app:1\n"),
            ("sub/empty", ""),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].workload.image.as_ref().unwrap().value, "app:1");
    assert!(targets[0].workload.privileged.as_ref().unwrap().value);
    // From a directory below, the same project is found.
    let below = project_in(&dir.join("sub"), &[], &[]).unwrap();
    assert_eq!(below[0].workload.image.as_ref().unwrap().value, "app:1");
}

#[test]
fn extends_from_another_file_keeps_that_files_paths() {
    let dir = scratch("extends");
    let targets = project_in(
        &dir,
        &[
            (
                "compose.yaml",
                "services:\n  child:\n    extends: {file: sub/base.yml, service: base}\n    volumes: [\"./own:/own\"]\n",
            ),
            (
                "sub/base.yml",
                "services:\n  base:\n    image: a\n    volumes: [\"./odata:/data\"]\n    cap_add: [SYS_ADMIN]\n",
            ),
        ],
        &[],
    )
    .unwrap();
    let mounts = sources(&targets[0]);
    assert!(
        mounts
            .iter()
            .any(|m| m.contains(&format!("{}/sub/odata", dir.display()))),
        "{mounts:?}"
    );
    assert!(
        mounts
            .iter()
            .any(|m| m.contains(&format!("{}/own", dir.display()))),
        "{mounts:?}"
    );
    assert_eq!(targets[0].workload.cap_add.len(), 1);
}

#[test]
fn extends_cycles_are_reported_like_compose() {
    let dir = scratch("cycle");
    let error = project_in(
        &dir,
        &[(
            "compose.yaml",
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
        )],
        &[],
    )
    .unwrap_err();
    let file = dir.join("compose.yaml").display().to_string();
    assert_eq!(
        error.message,
        format!("Circular reference:\n  a in {file}\n  extends b in {file}\n  extends a in {file}")
    );
}

#[test]
fn reset_and_override_tags_replace_what_was_merged() {
    let dir = scratch("reset");
    let targets = project_in(
        &dir,
        &[
            (
                "compose.yaml",
                "services:\n  s:\n    image: a\n    cap_add: [NET_ADMIN]\n    volumes: [\"/:/host\"]\n",
            ),
            (
                "compose.override.yml",
                "services:\n  s:\n    cap_add: !override [CHOWN]\n    volumes: !reset []\n",
            ),
        ],
        &[],
    )
    .unwrap();
    assert!(targets[0].workload.mounts.is_empty());
    let caps: Vec<&str> = targets[0]
        .workload
        .cap_add
        .iter()
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(caps, ["CHOWN"]);
}

#[test]
fn profiles_choose_services_and_depends_on_does_not_enable_them() {
    let dir = scratch("profiles");
    let file = "services:\n  always:\n    image: a\n  dbg:\n    image: a\n    privileged: true\n    profiles: [debug]\n";
    let names = |env: &[(&str, &str)]| -> Vec<String> {
        project_in(&dir, &[("compose.yaml", file)], env)
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect()
    };
    assert_eq!(names(&[]), ["always"]);
    assert_eq!(names(&[("COMPOSE_PROFILES", "debug")]), ["always", "dbg"]);
    assert_eq!(names(&[("COMPOSE_PROFILES", "*")]), ["always", "dbg"]);
    let needing = "services:\n  needs:\n    image: a\n    depends_on: [dbg]\n  dbg:\n    image: a\n    profiles: [debug]\n";
    let error = project_in(&dir, &[("compose.yaml", needing)], &[]).unwrap_err();
    assert_eq!(
        error.message,
        "service \"needs\" depends on undefined service \"dbg\": invalid compose project"
    );
}

#[test]
fn env_file_and_secrets_reach_the_container() {
    let dir = scratch("envfile");
    let targets = project_in(
        &dir,
        &[
            (
                "compose.yaml",
                "services:\n  s:\n    image: a\n    env_file: [app.env]\n    environment: [E1=override, BARE]\n    secrets: [key, {source: key, target: custom}]\n    configs: [conf]\nsecrets:\n  key: {file: ./key.pem}\nconfigs:\n  conf: {file: ~/conf.toml}\n",
            ),
            ("app.env", "E1=file\nE2=${FROM_PROCESS}\n"),
            ("key.pem", "k"),
        ],
        &[("FROM_PROCESS", "p"), ("BARE", "b")],
    )
    .unwrap();
    let env: Vec<String> = targets[0]
        .workload
        .env
        .iter()
        .map(|e| format!("{}={}", e.name, e.value.clone().unwrap_or_default()))
        .collect();
    assert_eq!(env, ["E2=p", "E1=override", "BARE=b"]);
    let mounts = sources(&targets[0]);
    let key = dir.join("key.pem").display().to_string();
    assert_eq!(mounts.len(), 3, "{mounts:?}");
    assert!(
        mounts.iter().filter(|m| m.contains(&key)).count() == 2,
        "{mounts:?}"
    );
    assert!(
        mounts.iter().any(|m| m.contains("/home/op/conf.toml")),
        "{mounts:?}"
    );
}

#[test]
fn booleans_are_cast_as_compose_casts_them() {
    let dir = scratch("bools");
    let privileged = |value: &str| {
        project_in(
            &dir,
            &[(
                "compose.yaml",
                &format!("services:\n  s:\n    image: a\n    privileged: {value}\n"),
            )],
            &[("P", "on")],
        )
        .map(|t| t[0].workload.privileged.as_ref().is_some_and(|p| p.value))
        .map_err(|e| e.message)
    };
    for yes in ["true", "\"TRUE\"", "yes", "Y", "on", "${P}"] {
        assert_eq!(privileged(yes), Ok(true), "{yes}");
    }
    assert_eq!(privileged("off"), Ok(false));
    assert_eq!(
        privileged("\"1\""),
        Err("services.s.privileged: failed to cast to expected type: invalid boolean: 1".into())
    );
    assert_eq!(
        privileged("1"),
        Err("services.s.privileged: must be a boolean or string".into())
    );
}
