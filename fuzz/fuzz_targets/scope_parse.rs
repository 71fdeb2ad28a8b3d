//! Scope, path and host-rule parsing: never panics; whatever parses prints back to itself;
//! normalised paths carry no `.`/`..`; projections of parsed scopes never panic.
#![no_main]

use aegisclaw_core::{FilePath, HostRule, Scope, ScopeSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scope) = text.parse::<Scope>() {
        let shown = scope.to_string();
        let again: Scope = shown.parse().expect("a printed scope parses");
        assert_eq!(again, scope, "round trip of {text:?}");
        assert!(scope.covers(&scope), "a scope covers itself: {text:?}");
        let set: ScopeSet = [scope].into_iter().collect();
        let _ = (
            set.read_only_paths(),
            set.read_write_paths(),
            set.egress_rules(),
            set.secret_names(),
            set.mcp_tools(),
            set.llm_models(),
        );
    }
    if let Ok(path) = FilePath::parse(text) {
        let s = path.as_str();
        assert!(s.starts_with('/') && !s.contains("//"), "{s:?}");
        assert!(s.split('/').all(|c| c != "." && c != ".."), "{s:?}");
        assert_eq!(FilePath::parse(s).as_ref(), Ok(&path));
    }
    if let Ok(rule) = HostRule::parse(text) {
        assert_eq!(
            HostRule::parse(&rule.to_string()).as_ref(),
            Ok(&rule),
            "{text:?}"
        );
        let _ = rule.matches(text, 443);
    }
});
