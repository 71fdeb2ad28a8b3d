//! HashiCorp Vault (or OpenBao) KV version 2, over its HTTP API.
//!
//! A secret `NAME` is the KV entry `<mount>/data/<prefix>/NAME` with one key, `value` (a UTF-8
//! value), or `value_base64` (any other bytes). Entries written by other tools work when they
//! have a `value` key. Listing reads each entry's metadata for its dates; removing deletes every
//! version and the metadata.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use aegisclaw_core::{SecretName, VaultConfig};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::store::{SecretInfo, Store};

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A Vault KV v2 store.
pub struct VaultStore {
    agent: ureq::Agent,
    /// The address without a trailing `/`.
    base: String,
    mount: String,
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
    token: Zeroizing<String>,
    namespace: Option<String>,
}

impl fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultStore")
            .field("address", &self.base)
            .field("mount", &self.mount)
            .field("prefix", &self.prefix)
            .field("namespace", &self.namespace)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl VaultStore {
    /// A store as `config` describes it. The token is read now: from `token_file` when it is
    /// set, else from the environment variable `token_env`.
    pub fn new(config: &VaultConfig) -> Result<Self> {
        let token = match &config.token_file {
            Some(path) => {
                let mut raw = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| Error::VaultToken(format!("read {}: {e}", path.display())))?,
                );
                let token = Zeroizing::new(raw.trim().to_string());
                raw.zeroize();
                token
            }
            None => Zeroizing::new(
                std::env::var(&config.token_env)
                    .map_err(|_| {
                        Error::VaultToken(format!(
                            "secrets.vault.token_file is not set and ${} is empty",
                            config.token_env
                        ))
                    })?
                    .trim()
                    .to_string(),
            ),
        };
        if token.is_empty() {
            return Err(Error::VaultToken("the token is empty".into()));
        }
        Ok(Self::with_token(config, token))
    }

    /// A store with an explicit token (tests, callers with their own token source).
    pub fn with_token(config: &VaultConfig, token: Zeroizing<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            base: config.address.as_str().trim_end_matches('/').to_string(),
            mount: config.mount.clone(),
            prefix: config.prefix.trim_matches('/').to_string(),
            token,
            namespace: config.namespace.clone().filter(|n| !n.is_empty()),
        }
    }

    /// `<mount>/<kind>/<prefix>[/<name>]`, the path after `/v1/`.
    fn path(&self, kind: &str, name: Option<&SecretName>) -> String {
        let mut p = format!("{}/{kind}", self.mount);
        if !self.prefix.is_empty() {
            p.push('/');
            p.push_str(&self.prefix);
        }
        if let Some(name) = name {
            p.push('/');
            p.push_str(name.as_str());
        }
        p
    }

    /// Sends a request; `Ok(None)` for 404, the body for 2xx, an error naming the path and
    /// Vault's messages otherwise.
    fn request(
        &self,
        method: &'static str,
        path: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let url = format!("{}/v1/{path}{query}", self.base);
        let fail = |reason: String| Error::Vault {
            method,
            path: path.to_string(),
            reason,
        };
        let result = match method {
            "GET" => self.with_headers(self.agent.get(&url)).call(),
            "DELETE" => self.with_headers(self.agent.delete(&url)).call(),
            _ => self
                .with_headers(self.agent.post(&url))
                .content_type("application/json")
                .send(body.unwrap_or(b"{}")),
        };
        let mut response = result.map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = Zeroizing::new(
            response
                .body_mut()
                .read_to_vec()
                .map_err(|e| fail(format!("HTTP {status}, unreadable body: {e}")))?,
        );
        match status {
            200..=299 => Ok(Some(bytes)),
            404 => Ok(None),
            _ => Err(fail(describe_failure(status, &bytes))),
        }
    }

    fn with_headers<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let req = req.header("X-Vault-Token", self.token.as_str());
        match &self.namespace {
            Some(ns) => req.header("X-Vault-Namespace", ns),
            None => req,
        }
    }

    fn metadata(&self, name: &SecretName) -> Result<Option<Metadata>> {
        let path = self.path("metadata", Some(name));
        let Some(body) = self.request("GET", &path, "", None)? else {
            return Ok(None);
        };
        let parsed: Envelope<Metadata> =
            serde_json::from_slice(&body).map_err(|e| Error::Vault {
                method: "GET",
                path,
                reason: format!("unexpected response: {e}"),
            })?;
        Ok(Some(parsed.data))
    }
}

fn describe_failure(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<String>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => format!("HTTP {status}: {}", e.errors.join("; ")),
        _ => format!("HTTP {status}"),
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct ReadData<'a> {
    #[serde(borrow)]
    data: Option<Value<'a>>,
}

#[derive(Deserialize)]
struct Value<'a> {
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value_base64: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct WriteBody<'a> {
    data: WriteValue<'a>,
}

#[derive(Serialize)]
struct WriteValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<&'a str>,
}

#[derive(Deserialize)]
struct Metadata {
    created_time: String,
    updated_time: String,
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<String>,
}

fn parse_time(s: &str) -> SystemTime {
    humantime::parse_rfc3339_weak(s)
        .or_else(|_| humantime::parse_rfc3339(s))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn wipe(cow: Option<Cow<'_, str>>) {
    if let Some(Cow::Owned(mut s)) = cow {
        s.zeroize();
    }
}

impl Store for VaultStore {
    fn backend(&self) -> &'static str {
        "vault"
    }

    fn get(&self, name: &SecretName) -> Result<Zeroizing<Vec<u8>>> {
        let path = self.path("data", Some(name));
        let not_found = || Error::NotFound {
            name: name.to_string(),
            backend: "vault",
        };
        let body = self
            .request("GET", &path, "", None)?
            .ok_or_else(not_found)?;
        let bad = |reason: String| Error::Vault {
            method: "GET",
            path: path.clone(),
            reason,
        };
        let parsed: Envelope<ReadData<'_>> =
            serde_json::from_slice(&body).map_err(|e| bad(format!("unexpected response: {e}")))?;
        // A deleted latest version reads as data: null.
        let value = parsed.data.data.ok_or_else(not_found)?;
        let out = match (&value.value, &value.value_base64) {
            (Some(v), _) => Ok(Zeroizing::new(v.as_bytes().to_vec())),
            (None, Some(b)) => STANDARD
                .decode(b.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| bad("the value_base64 key is not valid base64".into())),
            (None, None) => Err(bad(
                "the entry has neither a `value` nor a `value_base64` key".into(),
            )),
        };
        wipe(value.value);
        wipe(value.value_base64);
        out
    }

    fn set(&self, name: &SecretName, value: &[u8]) -> Result<()> {
        let path = self.path("data", Some(name));
        let encoded;
        let data = match std::str::from_utf8(value) {
            Ok(text) => WriteValue {
                value: Some(text),
                value_base64: None,
            },
            Err(_) => {
                encoded = Zeroizing::new(STANDARD.encode(value));
                WriteValue {
                    value: None,
                    value_base64: Some(encoded.as_str()),
                }
            }
        };
        let mut body = Zeroizing::new(Vec::new());
        serde_json::to_writer(&mut *body, &WriteBody { data }).map_err(|e| Error::Vault {
            method: "POST",
            path: path.clone(),
            reason: e.to_string(),
        })?;
        self.request("POST", &path, "", Some(&body))?
            .ok_or_else(|| Error::Vault {
                method: "POST",
                path: path.clone(),
                reason: format!(
                    "HTTP 404: is a KV version 2 engine mounted at {}/?",
                    self.mount
                ),
            })?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<SecretInfo>> {
        let path = self.path("metadata", None);
        let Some(body) = self.request("GET", &path, "?list=true", None)? else {
            return Ok(Vec::new());
        };
        let keys: Envelope<Keys> = serde_json::from_slice(&body).map_err(|e| Error::Vault {
            method: "LIST",
            path: path.clone(),
            reason: format!("unexpected response: {e}"),
        })?;
        let mut out = Vec::new();
        for key in keys.data.keys {
            // Sub-folders end in '/'; names that are not secret names are not ours.
            let Ok(name) = SecretName::parse(&key) else {
                continue;
            };
            if let Some(meta) = self.metadata(&name)? {
                out.push(SecretInfo {
                    name: key,
                    created: parse_time(&meta.created_time),
                    updated: parse_time(&meta.updated_time),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn remove(&self, name: &SecretName) -> Result<()> {
        if self.metadata(name)?.is_none() {
            return Err(Error::NotFound {
                name: name.to_string(),
                backend: "vault",
            });
        }
        let path = self.path("metadata", Some(name));
        self.request("DELETE", &path, "", None)?;
        Ok(())
    }
}
