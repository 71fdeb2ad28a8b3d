use super::*;
use pretty_assertions::assert_eq;

fn parse(src: &str) -> Result<Config, ConfigError> {
    Config::from_toml(src, Path::new("/h/config.toml"))
}

fn err(src: &str) -> ConfigError {
    parse(src).expect_err("config should be rejected")
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(parse("").unwrap(), Config::default());
}

#[test]
fn defaults_round_trip_through_toml() {
    let rendered = Config::default().to_toml();
    assert_eq!(parse(&rendered).unwrap(), Config::default());
}

#[test]
fn full_example_parses() {
    let cfg = parse(
        r#"
[sandbox]
backend = "docker"
runtime = "runsc"
uid_range = { start = 3000000, count = 1000 }
allow_degraded = ["cgroups", "idmap"]
[sandbox.limits]
memory = "1GiB"
pids = 64
timeout = "2m"
cpu_time = "90s"
file_size = "10MiB"
open_files = 128
tmp_size = "32MiB"

[policy]
template = "strict"

[approvals]
timeout = "1m"
grant_ttl = "1h"

[network]
allow = ["api.github.com:443", "*.example.com", "[::1]:8080", "10.0.0.1:22"]

[secrets]
backend = "vault"
[secrets.vault]
address = "https://vault.internal:8200"
mount = "kv"
prefix = "team/agents"
token_file = "/run/vault-token"
namespace = "ns1"

[audit]
checkpoint_every = 500
checkpoint_interval = "30s"
segment_size = "64KiB"

[guard]
host = "warn"
tools = "block"
model = "off"
network = "block"

[server]
socket = "/run/user/1000/aegisclaw.sock"
port = 9000

[telemetry]
metrics = false
otlp_endpoint = "http://127.0.0.1:4318"
otlp_protocol = "grpc"

[[notifications.webhooks]]
url = "https://hooks.slack.com/services/T/B/X"
kind = "slack"
events = ["approval_needed", "lockdown"]
secret_env = "SLACK_SIGNING"
"#,
    )
    .unwrap();
    assert_eq!(cfg.sandbox.backend, SandboxBackend::Docker);
    assert_eq!(cfg.sandbox.runtime, DockerRuntime::Runsc);
    assert_eq!(cfg.sandbox.limits.memory, ByteSize::gib(1));
    assert_eq!(cfg.sandbox.limits.timeout, Duration::from_secs(120));
    assert_eq!(
        cfg.sandbox.allow_degraded,
        vec![SandboxLayer::Cgroups, SandboxLayer::Idmap]
    );
    assert_eq!(cfg.policy.template, PolicyTemplate::Strict);
    assert_eq!(cfg.network.allow.len(), 4);
    assert_eq!(cfg.secrets.backend, SecretsBackend::Vault);
    assert_eq!(cfg.secrets.vault.namespace.as_deref(), Some("ns1"));
    assert_eq!(cfg.audit.segment_size, ByteSize::kib(64));
    assert_eq!(cfg.guard.model, GuardMode::Off);
    assert_eq!(cfg.server.port, 9000);
    assert_eq!(cfg.telemetry.otlp_protocol, OtlpProtocol::Grpc);
    assert_eq!(cfg.notifications.webhooks[0].kind, WebhookKind::Slack);
    assert_eq!(
        cfg.notifications.webhooks[0].events,
        vec![WebhookEvent::ApprovalNeeded, WebhookEvent::Lockdown]
    );
}

#[test]
fn unknown_top_level_section_names_key_and_line() {
    let e = err("[sandbox]\nbackend = \"native\"\n\n[sandbx]\nx = 1\n");
    assert_eq!(e.key.as_deref(), Some("sandbx"));
    assert_eq!(e.position.map(|p| p.0), Some(4));
    assert!(e.message.contains("unknown field `sandbx`"), "{e}");
    assert!(e.message.contains("expected one of"), "{e}");
}

#[test]
fn unknown_nested_key_names_full_path() {
    let e = err("[sandbox.limits]\nmemory = \"1GiB\"\nmemroy = \"2GiB\"\n");
    assert_eq!(e.key.as_deref(), Some("sandbox.limits.memroy"));
    assert_eq!(e.position.map(|p| p.0), Some(3));
    assert!(e.message.contains("unknown field `memroy`"), "{e}");
}

#[test]
fn bad_enum_value_lists_the_expected_ones() {
    let e = err("[sandbox]\nbackend = \"dockr\"\n");
    assert_eq!(e.key.as_deref(), Some("sandbox.backend"));
    assert_eq!(e.position, Some((2, 11)));
    assert!(e.message.contains("`native`, `docker`"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("/h/config.toml:2:11: key `sandbox.backend`: "),
        "{shown}"
    );
}

#[test]
fn wrong_type_says_what_was_expected() {
    let e = err("[sandbox.limits]\npids = \"many\"\n");
    assert_eq!(e.key.as_deref(), Some("sandbox.limits.pids"));
    assert_eq!(e.position.map(|p| p.0), Some(2));
    assert!(e.message.contains("expected u32"), "{e}");
}

#[test]
fn bad_duration_and_size() {
    let e = err("[approvals]\ntimeout = \"soon\"\n");
    assert_eq!(e.key.as_deref(), Some("approvals.timeout"));
    assert_eq!(e.position.map(|p| p.0), Some(2));
    let e = err("[sandbox.limits]\nmemory = \"lots\"\n");
    assert_eq!(e.key.as_deref(), Some("sandbox.limits.memory"));
}

#[test]
fn syntax_error_has_a_line() {
    let e = err("[sandbox]\nbackend = \n");
    assert_eq!(e.position.map(|p| p.0), Some(2));
    assert_eq!(e.key, None);
}

#[test]
fn semantic_errors_are_located() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "[sandbox.limits]\nmemory = \"1MiB\"\n",
            "sandbox.limits.memory",
            2,
            "at least 16MiB",
        ),
        (
            "[sandbox.limits]\npids = 0\n",
            "sandbox.limits.pids",
            2,
            "at least 1",
        ),
        (
            "[sandbox.limits]\ntimeout = \"0s\"\n",
            "sandbox.limits.timeout",
            2,
            "positive duration",
        ),
        (
            "[sandbox]\nuid_range = { start = 0, count = 10 }\n",
            "sandbox.uid_range",
            2,
            "unprivileged",
        ),
        (
            "[sandbox]\nallow_degraded = [\"landlock\", \"landlock\"]\n",
            "sandbox.allow_degraded",
            2,
            "listed twice",
        ),
        (
            "[network]\nallow = [\"ok.com\", \"http://bad.com\"]\n",
            "network.allow[1]",
            2,
            "host[:port]",
        ),
        (
            "[network]\nallow = [\"a.com:0\"]\n",
            "network.allow[0]",
            2,
            "1-65535",
        ),
        (
            "[server]\nbind = \"0.0.0.0\"\n",
            "server.bind",
            2,
            "allow_remote",
        ),
        (
            "[secrets.vault]\naddress = \"ftp://x\"\n",
            "secrets.vault.address",
            2,
            "http",
        ),
        (
            "[audit]\ncheckpoint_every = 0\n",
            "audit.checkpoint_every",
            2,
            "at least 1",
        ),
        (
            "[audit]\nsegment_size = \"1KiB\"\n",
            "audit.segment_size",
            2,
            "from 4.0 KiB to 1.0 GiB",
        ),
        (
            "[audit]\nsegment_size = \"2GiB\"\n",
            "audit.segment_size",
            2,
            "got 2.0 GiB",
        ),
        (
            "[[notifications.webhooks]]\nurl = \"https://x\"\nsecret_env = \"A\"\nsecret_file = \"/k\"\n",
            "notifications.webhooks[0]",
            1,
            "at most one",
        ),
    ];
    for (src, key, line, needle) in cases {
        let e = err(src);
        assert_eq!(e.key.as_deref(), Some(*key), "{src}");
        assert_eq!(e.position.map(|p| p.0), Some(*line), "{src}: {e}");
        assert!(e.message.contains(needle), "{src}: {e}");
    }
}

#[test]
fn remote_bind_allowed_only_with_flag() {
    let cfg = parse("[server]\nbind = \"0.0.0.0\"\nallow_remote = true\n").unwrap();
    assert!(cfg.server.allow_remote);
}

#[test]
fn missing_file_is_defaults_but_unreadable_is_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        Config::load(&dir.path().join("none.toml")).unwrap(),
        Config::default()
    );
    let e = Config::load(dir.path()).expect_err("a directory is not a config file");
    assert!(e.message.contains("cannot read"), "{e}");
}

#[test]
fn host_rules() {
    for ok in [
        "a.com",
        "a.com:443",
        "*.a.com",
        "x-y.z",
        "[fe80::1]:22",
        "[::1]",
        "127.0.0.1:80",
    ] {
        assert!(HostRule::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "*",
        "a..com",
        "-a.com",
        "a.com:99999",
        "a.com:",
        "https://a.com",
        "a.com/x",
        "[zz]:1",
        "*.*.a.com",
    ] {
        assert!(HostRule::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn network_allow_is_typed() {
    let cfg = parse("[network]\nallow = [\"API.GitHub.com:443\", \"*.example.com\"]\n").unwrap();
    let shown: Vec<String> = cfg.network.allow.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["api.github.com:443", "*.example.com"]);
    assert!(cfg.network.allow[0].matches("api.github.com", 443));
}

#[test]
fn custom_scopes() {
    let cfg = parse(
        "[[scopes.custom]]\nname = \"jira.write\"\nrisk = \"high\"\ndescription = \"edit Jira issues\"\n",
    )
    .unwrap();
    assert_eq!(cfg.scopes.custom[0].name.as_str(), "jira.write");
    assert_eq!(cfg.scopes.custom[0].risk, Risk::High);
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "[[scopes.custom]]\nname = \"shell.exec\"\nrisk = \"low\"\n",
            "scopes.custom[0].name",
            2,
            "built-in",
        ),
        (
            "[[scopes.custom]]\nname = \"a.b\"\nrisk = \"low\"\n[[scopes.custom]]\nname = \"a.b\"\nrisk = \"high\"\n",
            "scopes.custom[1].name",
            5,
            "twice",
        ),
        (
            "[[scopes.custom]]\nname = \"Jira.Write\"\nrisk = \"low\"\n",
            "scopes.custom[0].name",
            2,
            "lowercase",
        ),
        (
            "[[scopes.custom]]\nname = \"jira.write\"\nrisk = \"severe\"\n",
            "scopes.custom[0].risk",
            3,
            "low",
        ),
    ];
    for (src, key, line, needle) in cases {
        let e = err(src);
        assert_eq!(e.key.as_deref(), Some(*key), "{src}: {e}");
        assert_eq!(e.position.map(|p| p.0), Some(*line), "{src}: {e}");
        assert!(e.message.contains(needle), "{src}: {e}");
    }
}

#[test]
fn unknown_degraded_layer_names_the_choices() {
    let e = err("[sandbox]\nallow_degraded = [\"capabilities\"]\n");
    assert_eq!(e.key.as_deref(), Some("sandbox.allow_degraded[0]"));
    assert!(e.message.contains("landlock"), "{e}");
}
