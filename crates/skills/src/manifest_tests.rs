use std::path::Path;

use super::*;

const ORGANISER: &str = r#"
name: file-organiser
version: 1.2.0
description: Sorts files by type
publisher: AegisClaw
entrypoint:
  command: [python3, organise.py]
  args: ["{dir}", "{dry-run}", "--label={label}"]
parameters:
  - name: dir
    type: path
    required: true
  - name: dry-run
    type: flag
  - name: label
    type: string
    default: sorted
    pattern: "[a-z]+"
scopes:
  - files.write:{dir}
  - shell.exec
limits: { memory: 128MiB, pids: 32, timeout: 30s }
"#;

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, "skill.yaml", &["crm.export"])
}

fn err(text: &str) -> String {
    parse(text)
        .expect_err("manifest should be rejected")
        .to_string()
}

fn with(extra: &str) -> String {
    format!(
        "name: t\nversion: 1.0.0\ndescription: d\npublisher: p\nentrypoint:\n  command: [/bin/true]\n{extra}"
    )
}

#[test]
fn full_manifest_parses() {
    let m = parse(ORGANISER).unwrap();
    assert_eq!(m.name, "file-organiser");
    assert_eq!(m.limits.memory, Some(ByteSize::mib(128)));
    assert_eq!(m.limits.timeout, Some(Duration::from_secs(30)));
    assert_eq!(m.runtime, Runtime::Native);
}

#[test]
fn invocation_substitutes_parameters_everywhere() {
    let m = parse(ORGANISER).unwrap();
    let cwd = Path::new("/home/me");
    let inv = m
        .invocation(
            &[
                "--dir".into(),
                "Downloads/../Downloads".into(),
                "--dry-run".into(),
            ],
            cwd,
        )
        .unwrap();
    assert_eq!(
        inv.argv,
        [
            "python3",
            "organise.py",
            "/home/me/Downloads",
            "--dry-run",
            "--label=sorted"
        ]
    );
    assert_eq!(
        inv.scopes,
        vec![
            Scope::parse("files.write:/home/me/Downloads").unwrap(),
            Scope::ShellExec
        ]
    );
    let inv = m
        .invocation(
            &["--dir=/tmp/x".into(), "--label".into(), "pics".into()],
            cwd,
        )
        .unwrap();
    assert_eq!(
        inv.argv,
        ["python3", "organise.py", "/tmp/x", "--label=pics"]
    );
}

#[test]
fn bad_run_arguments_are_explained() {
    let m = parse(ORGANISER).unwrap();
    let cwd = Path::new("/");
    let cases: &[(&[&str], &str)] = &[
        (&[], "missing required parameter --dir"),
        (&["--dir"], "--dir needs a value"),
        (&["--dir", "/a", "--dir", "/b"], "given twice"),
        (&["--nope", "1"], "unknown parameter --nope"),
        (&["positional"], "unexpected argument"),
        (&["--dir", "/a", "--dry-run=yes"], "takes no value"),
        (&["--dir", "/a", "--label", "UPPER"], "does not match"),
        (&["--dir", "/a/{x}"], "cannot contain"),
    ];
    for (args, needle) in cases {
        let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
        let e = m.invocation(&args, cwd).expect_err("should fail");
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn strict_validation_names_the_problem() {
    let cases: &[(&str, &str)] = &[
        (&with("colour: red\n"), "unknown field `colour`"),
        (&with("scopes: [SHELL.EXEC]\n"), "SHELL.EXEC"),
        (
            &with("scopes: [shell.execute]\n"),
            "unknown scope `shell.execute`",
        ),
        (
            &with("scopes: [\"files.read:relative/path\"]\n"),
            "absolute path",
        ),
        (
            &with("scopes: [\"files.read:{nope}\"]\n"),
            "not a declared parameter",
        ),
        (
            &with("scopes: [\"net.outbound:api.github.com:443\"]\n"),
            "must list exactly",
        ),
        (
            &with("network: { allow: [\"api.github.com:443\"] }\n"),
            "must list exactly",
        ),
        (
            &with("scopes: [\"secrets.access:TOKEN\"]\n"),
            "must match the secrets.access",
        ),
        (
            &with("secrets: [{ name: TOKEN, env: lower }]\nscopes: [\"secrets.access:TOKEN\"]\n"),
            "upper-case",
        ),
        (
            &with("runtime: { image: busybox:latest }\n"),
            "pinned by digest",
        ),
        (&with("runtime: docker\n"), "expected `native`"),
        (
            &with("parameters: [{ name: a, type: flag }, { name: a, type: flag }]\n"),
            "declared twice",
        ),
        (
            &with("parameters: [{ name: n, type: integer, default: ten }]\n"),
            "expected an integer",
        ),
        (
            &with("parameters: [{ name: n, type: path, pattern: x }]\n"),
            "only string",
        ),
        (
            &with("parameters: [{ name: f, type: flag, required: true }]\n"),
            "cannot be required",
        ),
        (&with("limits: { pids: 0 }\n"), "at least 1"),
        (&with("limits: { memory: lots }\n"), "limits"),
        (
            "name: Bad_Name\nversion: 1.0.0\ndescription: d\npublisher: p\nentrypoint: { command: [x] }\n",
            "lowercase",
        ),
        (
            "name: t\nversion: one\ndescription: d\npublisher: p\nentrypoint: { command: [x] }\n",
            "semantic version",
        ),
        (
            "name: t\nversion: 1.0.0\ndescription: d\npublisher: p\nentrypoint: { command: [] }\n",
            "entrypoint.command",
        ),
        (
            "name: t\nversion: 1.0.0\ndescription: d\npublisher: p\nentrypoint: { command: [\"{p}\"] }\nparameters: [{name: p, type: string}]\n",
            "cannot come from a parameter",
        ),
    ];
    for (text, needle) in cases {
        let e = err(text);
        assert!(e.contains(needle), "{text}\n=> {e}");
    }
}

#[test]
fn yaml_errors_have_a_location() {
    let e = parse("name: t\nversion: [\n").unwrap_err();
    assert!(e.location.is_some(), "{e}");
}

#[test]
fn network_and_secrets_that_match_are_accepted() {
    let m = parse(&with(
        "scopes: [\"net.outbound:api.github.com:443\", \"secrets.access:GITHUB_TOKEN\"]\n\
         network: { allow: [\"api.github.com:443\"] }\n\
         secrets: [{ name: GITHUB_TOKEN, env: GITHUB_TOKEN }]\n\
         runtime: { image: \"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" }\n",
    ))
    .unwrap();
    assert!(matches!(m.runtime, Runtime::Image(_)));
}

#[test]
fn declared_custom_scopes_are_accepted() {
    let m = parse(&with("scopes: [crm.export]\n")).unwrap();
    assert_eq!(m.scopes, ["crm.export"]);
}

#[test]
fn starter_packs_are_valid() {
    let packs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../skills");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&packs).unwrap() {
        let dir = entry.unwrap().path();
        let manifest =
            Manifest::load(&dir, &[]).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(manifest.name, dir.file_name().unwrap().to_str().unwrap());
        names.push(manifest.name);
    }
    names.sort();
    assert_eq!(
        names,
        ["code-runner", "file-organiser", "git-stats", "hello-world"]
    );
}
