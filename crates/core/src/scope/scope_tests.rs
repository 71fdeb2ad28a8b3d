use super::*;
use pretty_assertions::assert_eq;
use proptest::prelude::*;

fn s(raw: &str) -> Scope {
    raw.parse()
        .unwrap_or_else(|e| panic!("{raw} should parse: {e}"))
}

fn err(raw: &str) -> String {
    match raw.parse::<Scope>() {
        Ok(scope) => panic!("{raw} should be rejected, parsed as {scope:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_builtin_example_round_trips() {
    for b in BuiltinScope::ALL {
        let scope = b.example();
        assert_eq!(scope.builtin(), Some(b));
        assert_eq!(scope.name(), b.name());
        assert_eq!(s(&scope.to_string()), scope);
    }
}

#[test]
fn typed_resources() {
    assert_eq!(
        s("files.read:/home/me/docs"),
        Scope::FilesRead(FilePath::parse("/home/me/docs").unwrap())
    );
    let Scope::NetOutbound(rule) = s("net.outbound:api.github.com:443") else {
        panic!("not a net scope")
    };
    assert_eq!(rule.host(), &HostPattern::Name("api.github.com".into()));
    assert_eq!(rule.port(), Some(443));
    let Scope::McpTool(tool) = s("mcp.tool:github/create_issue") else {
        panic!("not an mcp scope")
    };
    assert_eq!(
        (tool.server(), tool.tool()),
        ("github", Some("create_issue"))
    );
    let Scope::LlmCall(model) = s("llm.call:openrouter/meta-llama/llama-3-8b") else {
        panic!("not an llm scope")
    };
    assert_eq!(model.provider(), "openrouter");
    assert_eq!(model.model(), Some("meta-llama/llama-3-8b"));
    assert_eq!(
        s("secrets.access:GITHUB_TOKEN").resource().as_deref(),
        Some("GITHUB_TOKEN")
    );
    assert_eq!(s("shell.exec"), Scope::ShellExec);
}

#[test]
fn names_are_exact() {
    assert!(err("SHELL.EXEC").contains("lowercase"));
    assert!(err("Shell.exec").contains("lowercase"));
    assert!(err("shell").contains("domain.verb"));
    assert!(err("shell.exec.now").contains("domain.verb"));
    assert!(err(" shell.exec").contains("domain.verb"));
    assert!(err("shell.exec ").contains("domain.verb"));
    assert!(err("").contains("domain.verb"));
}

#[test]
fn resources_are_required_or_refused() {
    assert!(err("files.read").contains("needs a resource"));
    assert!(err("files.read:").contains("needs a resource"));
    assert!(err("net.outbound").contains("host[:port]"));
    assert!(err("shell.exec:/bin/sh").contains("takes no resource"));
    assert!(err("files.read:docs").contains("absolute path"));
    assert!(err("files.read:~/docs").contains("absolute path"));
    assert!(err("secrets.access:1TOKEN").contains("secret name"));
    assert!(err("secrets.access:../x").contains("secret name"));
    assert!(err("mcp.tool:github").contains("server/tool"));
    assert!(err("mcp.tool:*/x").contains("server/tool"));
    assert!(err("llm.call:OpenAI/gpt-4o").contains("provider/model"));
    assert!(err("net.outbound:http://x.com").contains("host[:port]"));
    assert!(err("browser.navigate:a b").contains("host[:port]"));
}

#[test]
fn custom_scopes_parse_with_free_resources() {
    let scope = s("jira.write:PROJ-1");
    let Scope::Custom(custom) = &scope else {
        panic!("not custom")
    };
    assert_eq!(custom.name().as_str(), "jira.write");
    assert_eq!(custom.resource(), Some("PROJ-1"));
    assert_eq!(scope.builtin(), None);
    assert!(err("jira.write:a b").contains("without spaces"));
}

#[test]
fn path_normalisation() {
    for (raw, normal) in [
        ("/", "/"),
        ("//", "/"),
        ("/tmp/", "/tmp"),
        ("/tmp/./x//y/", "/tmp/x/y"),
        ("/tmp/../etc/shadow", "/etc/shadow"),
        ("/../../etc", "/etc"),
        ("/a/b/../../..", "/"),
        ("/a/..b", "/a/..b"),
    ] {
        assert_eq!(FilePath::parse(raw).unwrap().as_str(), normal, "{raw}");
    }
    assert!(FilePath::parse("/a\0b").is_err());
    assert!(FilePath::parse("/a\nb").is_err());
}

#[test]
fn path_containment_is_component_wise() {
    let p = |x: &str| FilePath::parse(x).unwrap();
    assert!(p("/tmp").covers(&p("/tmp")));
    assert!(p("/tmp").covers(&p("/tmp/x/y")));
    assert!(!p("/tmp").covers(&p("/tmpfoo")));
    assert!(!p("/tmp").covers(&p("/tmp/../etc/shadow")));
    assert!(!p("/tmp/x").covers(&p("/tmp")));
    assert!(p("/").covers(&p("/etc")));
    assert!(s("files.read:/tmp").covers(&s("files.read:/tmp/a")));
    assert!(!s("files.read:/tmp").covers(&s("files.write:/tmp/a")));
    assert!(s("files.write:/tmp").covers(&s("files.read:/tmp/a")));
}

#[test]
fn host_rules_match_connections() {
    let r = |x: &str| HostRule::parse(x).unwrap();
    assert!(r("api.github.com:443").matches("API.GitHub.com.", 443));
    assert!(!r("api.github.com:443").matches("api.github.com", 80));
    assert!(r("api.github.com").matches("api.github.com", 80));
    assert!(r("*.example.com").matches("a.b.example.com", 443));
    assert!(!r("*.example.com").matches("example.com", 443));
    assert!(!r("*.example.com").matches("badexample.com", 443));
    assert!(!r("*.example.com").matches("example.com.evil.net", 443));
    assert!(r("10.0.0.1:22").matches("::ffff:10.0.0.1", 22));
    assert!(r("[::1]:8080").matches("[0:0::1]", 8080));
    assert!(!r("*.example.com").matches("93.184.216.34", 443));
    assert!(!r("localhost").matches("127.0.0.1", 80));
    for bad in [
        "127.1",
        "0x7f.1",
        "a.123",
        "xn--ü.com",
        "a.com:080",
        "a.com:+80",
        "[::1]x",
    ] {
        assert!(HostRule::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(r("::1").to_string(), "[::1]");
    assert_eq!(r("EXAMPLE.com.").to_string(), "example.com");
}

#[test]
fn host_rules_cover_narrower_rules() {
    let r = |x: &str| HostRule::parse(x).unwrap();
    assert!(r("*.github.com").covers(&r("api.github.com:443")));
    assert!(r("*.github.com").covers(&r("*.api.github.com")));
    assert!(!r("*.github.com").covers(&r("github.com")));
    assert!(!r("github.com:443").covers(&r("github.com")));
    assert!(r("github.com").covers(&r("github.com:443")));
}

#[test]
fn scope_set_projections() {
    let set: ScopeSet = [
        "files.read:/home/me/docs",
        "files.read:/home/me/docs/sub",
        "files.read:/home/me/out/x",
        "files.write:/home/me/out",
        "files.write:/home/me/out/deep",
        "files.read:/srv",
        "files.write:/srv/cache",
        "net.outbound:*.github.com",
        "net.outbound:api.github.com:443",
        "net.outbound:pypi.org:443",
        "secrets.access:GITHUB_TOKEN",
        "mcp.tool:github/*",
        "llm.call:anthropic/claude-sonnet-4",
        "browser.navigate:example.com",
        "email.send",
    ]
    .iter()
    .map(|x| s(x))
    .collect();
    let strs = |v: Vec<&FilePath>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(strs(set.read_only_paths()), ["/home/me/docs", "/srv"]);
    assert_eq!(strs(set.read_write_paths()), ["/home/me/out", "/srv/cache"]);
    let rules: Vec<String> = set.egress_rules().iter().map(ToString::to_string).collect();
    assert_eq!(rules, ["pypi.org:443", "*.github.com"]);
    assert_eq!(set.secret_names()[0].as_str(), "GITHUB_TOKEN");
    assert!(set.mcp_tools()[0].matches("github", "create_issue"));
    assert!(set.llm_models()[0].matches("anthropic", "claude-sonnet-4"));
    assert_eq!(set.browser_hosts().len(), 1);
    assert!(!set.shell_exec());
    assert!(set.covers(&s("files.read:/home/me/out/a/b")));
    assert!(!set.covers(&s("files.read:/home/me/outside")));
    assert!(!set.covers(&s("secrets.access:AWS_KEY")));
}

#[test]
fn empty_set_grants_nothing() {
    let set = ScopeSet::new();
    assert!(set.read_only_paths().is_empty() && set.egress_rules().is_empty());
    assert!(!set.covers(&s("shell.exec")));
}

#[test]
fn serde_is_the_string_form() {
    let scope = s("net.outbound:[::1]:80");
    assert_eq!(
        serde_json::to_string(&scope).unwrap(),
        "\"net.outbound:[::1]:80\""
    );
    let back: Scope = serde_json::from_str("\"files.read:/a/../b\"").unwrap();
    assert_eq!(back.to_string(), "files.read:/b");
    assert!(serde_json::from_str::<Scope>("\"SHELL.EXEC\"").is_err());
}

/// Path-like strings with the tricky pieces over-represented.
fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just(String::new()),
            "[a-z.]{1,4}"
        ],
        0..8,
    )
    .prop_map(|parts| format!("/{}", parts.join("/")))
}

proptest! {
    #[test]
    fn parse_never_panics_and_round_trips(raw in "\\PC{0,40}") {
        if let Ok(scope) = raw.parse::<Scope>() {
            let shown = scope.to_string();
            let again: Scope = shown.parse().unwrap();
            prop_assert_eq!(&again, &scope);
            prop_assert_eq!(again.to_string(), shown);
        }
    }

    #[test]
    fn structured_scopes_round_trip(
        name in prop::sample::select(BuiltinScope::ALL.to_vec()),
        res in "[a-zA-Z0-9_./:*-]{0,30}",
    ) {
        let raw = format!("{}:{res}", name.name());
        if let Ok(scope) = raw.parse::<Scope>() {
            prop_assert_eq!(scope.builtin(), Some(name));
            prop_assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
    }

    #[test]
    fn normalised_paths_are_canonical(raw in path_strategy()) {
        let p = FilePath::parse(&raw).unwrap();
        let s = p.as_str();
        prop_assert!(s.starts_with('/'));
        prop_assert!(s == "/" || !s.ends_with('/'));
        prop_assert!(!s.contains("//"));
        prop_assert!(s.split('/').all(|c| c != "." && c != ".."));
        // Idempotent.
        prop_assert_eq!(FilePath::parse(s).unwrap(), p.clone());
        // Agrees with a component-stack model of the kernel's lexical walk.
        let mut stack: Vec<&str> = Vec::new();
        for c in raw.split('/') {
            match c { "" | "." => {}, ".." => { stack.pop(); }, c => stack.push(c) }
        }
        prop_assert_eq!(s, format!("/{}", stack.join("/")));
    }

    #[test]
    fn containment_matches_std_components(a in path_strategy(), b in path_strategy()) {
        let (a, b) = (FilePath::parse(&a).unwrap(), FilePath::parse(&b).unwrap());
        prop_assert_eq!(a.covers(&b), b.as_path().starts_with(a.as_path()));
    }

    #[test]
    fn normalised_child_escaping_with_dotdot_is_not_covered(
        base in "/[a-z]{1,5}(/[a-z]{1,5}){0,3}",
        ups in 1usize..6,
        tail in "[a-z]{1,5}",
    ) {
        let base_path = FilePath::parse(&base).unwrap();
        let escaped = FilePath::parse(&format!("{base}/{}{tail}x", "../".repeat(ups))).unwrap();
        // Climbing out of the base never stays beneath it: at best it lands on the base itself
        // (when the climbed-to name happens to be the base's last component).
        prop_assert!(!base_path.covers(&escaped) || escaped == base_path);
    }

    #[test]
    fn host_rule_parse_never_panics_and_round_trips(raw in "\\PC{0,30}") {
        if let Ok(rule) = HostRule::parse(&raw) {
            let again = HostRule::parse(&rule.to_string()).unwrap();
            prop_assert_eq!(again, rule);
        }
    }

    #[test]
    fn wildcard_matches_exactly_the_subdomains(
        domain in "[a-z]{1,6}\\.[a-z]{2,4}",
        sub in "[a-z]{1,6}",
        lookalike in "[a-z]{1,6}",
    ) {
        let rule = HostRule::parse(&format!("*.{domain}")).unwrap();
        let sub_host = format!("{sub}.{domain}");
        let lookalike_host = format!("{lookalike}{domain}");
        let suffix_host = format!("{domain}.{sub}.net");
        prop_assert!(rule.matches(&sub_host, 443));
        prop_assert!(!rule.matches(&domain, 443));
        prop_assert!(!rule.matches(&lookalike_host, 443));
        prop_assert!(!rule.matches(&suffix_host, 443));
    }
}
