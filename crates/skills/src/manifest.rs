//! `skill.yaml`: what a skill is, what it runs, and what it needs.
//!
//! ```yaml
//! name: file-organiser            # lowercase letters, digits and '-'
//! version: 1.0.0                  # semver
//! description: Sorts the files of a directory into folders by type
//! publisher: AegisClaw
//! entrypoint:
//!   command: [python3, organise.py]   # run in the skill directory, mounted read-only
//!   args: ["{dir}", "{dry-run}"]      # "{param}" is replaced by the parameter's value
//! parameters:
//!   - name: dir
//!     type: path                  # string | path | integer | flag
//!     required: true
//!   - name: dry-run
//!     type: flag                  # present on the command line as --dry-run
//! runtime: native                 # or: { image: "name@sha256:<64 hex>" }
//! scopes:
//!   - files.write:{dir}           # resources may use parameters
//! limits: { memory: 128MiB, pids: 32, timeout: 30s }
//! network:
//!   allow: []                     # must list exactly the hosts of the net.outbound scopes
//! secrets:
//!   - name: GITHUB_TOKEN          # needs a secrets.access:GITHUB_TOKEN scope
//!     env: GITHUB_TOKEN           # optional: also as an environment variable (policy decides)
//! ```
//!
//! Parsing is strict: unknown keys, a scope spelled differently from the registry
//! (`SHELL.EXEC`), a parameter used but not declared, a network allowlist that differs from the
//! `net.outbound` scopes, or an image not pinned by digest are all errors that say where.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use aegisclaw_core::{FilePath, HostRule, Scope, SecretName};
use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

/// The manifest file name inside a skill directory.
pub const MANIFEST_FILE: &str = "skill.yaml";

/// A manifest that cannot be used; the message names the file, the place and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ManifestError {
    pub file: String,
    /// Line and column, when the problem is tied to one place.
    pub location: Option<(usize, usize)>,
    pub message: String,
}

/// A parsed, validated `skill.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub publisher: String,
    pub entrypoint: Entrypoint,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub runtime: Runtime,
    /// Scope templates: resources may contain `{param}`.
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub limits: SkillLimits,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub secrets: Vec<SecretRequest>,
}

/// What the skill runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entrypoint {
    /// The program and its fixed arguments.
    pub command: Vec<String>,
    /// Arguments after the command; `"{param}"` is replaced by the parameter's value.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A declared parameter of the skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParameterKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// Used when the parameter is not given.
    #[serde(default)]
    pub default: Option<String>,
    /// For strings: a regular expression the whole value must match.
    #[serde(default)]
    pub pattern: Option<String>,
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterKind {
    String,
    /// A host path; made absolute and normalised before use.
    Path,
    Integer,
    /// Present (`--name`) or absent; `{name}` becomes `--name` or disappears.
    Flag,
}

/// Where the skill runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuntimeRepr", into = "RuntimeRepr")]
pub enum Runtime {
    /// The native sandbox, with the host's system binaries read-only.
    #[default]
    Native,
    /// A container image for the Docker backend, pinned by digest.
    Image(String),
}

/// How a runtime is written: `native` or `{ image: NAME@sha256:... }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum RuntimeRepr {
    Name(String),
    Image(ImageRuntime),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageRuntime {
    image: String,
}

impl TryFrom<RuntimeRepr> for Runtime {
    type Error = String;

    fn try_from(repr: RuntimeRepr) -> Result<Self, String> {
        match repr {
            RuntimeRepr::Name(name) if name == "native" => Ok(Self::Native),
            RuntimeRepr::Name(other) => Err(format!(
                "runtime: expected `native` or {{ image: NAME@sha256:... }}, got {other:?}"
            )),
            RuntimeRepr::Image(ImageRuntime { image }) => Ok(Self::Image(image)),
        }
    }
}

impl From<Runtime> for RuntimeRepr {
    fn from(runtime: Runtime) -> Self {
        match runtime {
            Runtime::Native => Self::Name("native".into()),
            Runtime::Image(image) => Self::Image(ImageRuntime { image }),
        }
    }
}

/// Limits of the skill's runs; they can only lower the configured defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillLimits {
    #[serde(default)]
    pub memory: Option<ByteSize>,
    #[serde(default)]
    pub pids: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub cpu_time: Option<Duration>,
    #[serde(default)]
    pub file_size: Option<ByteSize>,
}

/// The network the skill needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Must list exactly the hosts of the `net.outbound` scopes.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// A secret the skill needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    pub name: String,
    /// Also deliver it as this environment variable (only if the policy allows).
    #[serde(default)]
    pub env: Option<String>,
}

/// Concrete values for a run, after parsing the command line against the parameters.
pub type Arguments = BTreeMap<String, ArgValue>;

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ArgValue {
    Text(String),
    Flag(bool),
}

/// What a run of the skill needs, with every parameter substituted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    pub argv: Vec<String>,
    pub scopes: Vec<Scope>,
    pub arguments: Arguments,
}

impl Manifest {
    /// Reads and validates `dir/skill.yaml`. `custom_scopes` are the names of the custom scopes
    /// declared in the configuration; any other non-built-in scope is rejected.
    pub fn load(dir: &Path, custom_scopes: &[&str]) -> Result<Self, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ManifestError {
            file: path.display().to_string(),
            location: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &path.display().to_string(), custom_scopes)
    }

    /// Parses and validates manifest text; `file` names it in errors.
    pub fn parse(text: &str, file: &str, custom_scopes: &[&str]) -> Result<Self, ManifestError> {
        let manifest: Self = serde_norway::from_str(text).map_err(|e| ManifestError {
            file: file.into(),
            location: e.location().map(|l| (l.line(), l.column())),
            message: e.to_string(),
        })?;
        manifest
            .validate(custom_scopes)
            .map_err(|message| ManifestError {
                file: file.into(),
                location: None,
                message,
            })?;
        Ok(manifest)
    }

    fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    fn validate(&self, custom_scopes: &[&str]) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.name.starts_with('-');
        if !name_ok {
            return Err(format!(
                "name {:?}: expected 1-64 lowercase letters, digits and '-', not starting with '-'",
                self.name
            ));
        }
        semver::Version::parse(&self.version).map_err(|e| {
            format!(
                "version {:?}: expected a semantic version such as 1.0.0 ({e})",
                self.version
            )
        })?;
        for (field, value) in [
            ("description", &self.description),
            ("publisher", &self.publisher),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{field}: must not be empty"));
            }
        }
        let Some(program) = self.entrypoint.command.first() else {
            return Err(
                "entrypoint.command: expected the program and its fixed arguments, got []".into(),
            );
        };
        if program.contains('{') {
            return Err("entrypoint.command: the program cannot come from a parameter".into());
        }

        let mut seen = BTreeSet::new();
        for p in &self.parameters {
            let ok = p
                .name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase())
                && p.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(format!(
                    "parameters: name {:?}: expected lowercase letters, digits and '-'",
                    p.name
                ));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(format!("parameters: {:?} is declared twice", p.name));
            }
            if p.kind == ParameterKind::Flag && (p.required || p.default.is_some()) {
                return Err(format!(
                    "parameters: flag {:?} cannot be required or have a default",
                    p.name
                ));
            }
            if p.pattern.is_some() && p.kind != ParameterKind::String {
                return Err(format!(
                    "parameters: {:?}: only string parameters take a pattern",
                    p.name
                ));
            }
            if let Some(pattern) = &p.pattern {
                regex::Regex::new(pattern)
                    .map_err(|e| format!("parameters: {:?}: bad pattern: {e}", p.name))?;
            }
            if let Some(default) = &p.default {
                check_value(p, default)
                    .map_err(|e| format!("parameters: {:?}: default: {e}", p.name))?;
            }
        }

        for (field, list) in [
            ("entrypoint.command", &self.entrypoint.command),
            ("entrypoint.args", &self.entrypoint.args),
        ] {
            for item in list {
                for used in placeholders(item)? {
                    if self.parameter(used).is_none() {
                        return Err(format!(
                            "{field}: {item:?} uses {{{used}}}, which is not a declared parameter"
                        ));
                    }
                }
            }
        }

        // Scopes must parse with every parameter filled by a representative value.
        let mut egress = BTreeSet::new();
        let mut secret_scopes = BTreeSet::new();
        for template in &self.scopes {
            for used in placeholders(template)? {
                match self.parameter(used) {
                    None => {
                        return Err(format!(
                            "scopes: {template:?} uses {{{used}}}, which is not a declared parameter"
                        ));
                    }
                    Some(p) if p.kind == ParameterKind::Flag => {
                        return Err(format!(
                            "scopes: {template:?}: a flag cannot be a scope resource"
                        ));
                    }
                    Some(_) => {}
                }
            }
            let sample = substitute(
                template,
                &|name| match self.parameter(name).map(|p| p.kind) {
                    Some(ParameterKind::Path) => Some("/placeholder".into()),
                    Some(ParameterKind::Integer) => Some("1".into()),
                    _ => Some("placeholder".into()),
                },
            )?;
            let scope =
                Scope::parse(&sample).map_err(|e| format!("scopes: {template:?}: {}", e.reason))?;
            if scope.builtin().is_none() && !custom_scopes.contains(&scope.name()) {
                return Err(format!(
                    "scopes: {template:?}: unknown scope `{}`; use a built-in scope (README.md, section Scopes, lists them) \
                     or declare it under [[scopes.custom]] in config.toml",
                    scope.name()
                ));
            }
            match &scope {
                Scope::NetOutbound(rule) => {
                    egress.insert(rule.to_string());
                }
                Scope::SecretsAccess(name) => {
                    secret_scopes.insert(name.to_string());
                }
                _ => {}
            }
        }
        let mut allowed = BTreeSet::new();
        for host in &self.network.allow {
            let rule =
                HostRule::parse(host).map_err(|e| format!("network.allow: {host:?}: {e}"))?;
            allowed.insert(rule.to_string());
        }
        if allowed != egress {
            return Err(format!(
                "network.allow {allowed:?} must list exactly the hosts of the net.outbound scopes {egress:?}"
            ));
        }
        let mut requested = BTreeSet::new();
        for secret in &self.secrets {
            SecretName::parse(&secret.name)
                .map_err(|e| format!("secrets: {:?}: {e}", secret.name))?;
            if !requested.insert(secret.name.clone()) {
                return Err(format!("secrets: {:?} is listed twice", secret.name));
            }
            if let Some(env) = &secret.env {
                let ok = env
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                    && env
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(format!(
                        "secrets: {:?}: env {env:?} is not an upper-case variable name",
                        secret.name
                    ));
                }
            }
        }
        if requested != secret_scopes {
            return Err(format!(
                "secrets {requested:?} must match the secrets.access scopes {secret_scopes:?}"
            ));
        }
        if let Runtime::Image(image) = &self.runtime {
            let pinned = image.rsplit_once("@sha256:").is_some_and(|(name, hex)| {
                !name.is_empty() && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
            if !pinned {
                return Err(format!(
                    "runtime.image {image:?}: expected an image pinned by digest, NAME@sha256:<64 hex>"
                ));
            }
        }
        if self.limits.pids == Some(0) {
            return Err("limits.pids: expected at least 1".into());
        }
        Ok(())
    }

    /// Parses run arguments (`--name value`, `--name=value`, `--flag`) against the declared
    /// parameters and substitutes them into the command line and the scopes.
    /// Relative paths are resolved against `cwd`.
    pub fn invocation(&self, args: &[String], cwd: &Path) -> Result<Invocation, String> {
        let mut values: Arguments = BTreeMap::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let Some(spec) = arg.strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument {arg:?}: parameters are given as --name value ({})",
                    self.usage()
                ));
            };
            let (name, inline) = match spec.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (spec, None),
            };
            let param = self
                .parameter(name)
                .ok_or_else(|| format!("unknown parameter --{name} ({})", self.usage()))?;
            if values.contains_key(name) {
                return Err(format!("--{name} is given twice"));
            }
            let value = if param.kind == ParameterKind::Flag {
                if inline.is_some() {
                    return Err(format!("--{name} is a flag and takes no value"));
                }
                ArgValue::Flag(true)
            } else {
                let raw = match inline {
                    Some(v) => v,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                ArgValue::Text(normalise_value(param, &raw, cwd)?)
            };
            values.insert(name.to_string(), value);
        }
        for p in &self.parameters {
            if values.contains_key(&p.name) {
                continue;
            }
            match (&p.default, p.required, p.kind) {
                (_, _, ParameterKind::Flag) => {
                    values.insert(p.name.clone(), ArgValue::Flag(false));
                }
                (Some(d), _, _) => {
                    values.insert(p.name.clone(), ArgValue::Text(normalise_value(p, d, cwd)?));
                }
                (None, true, _) => {
                    return Err(format!(
                        "missing required parameter --{} ({})",
                        p.name,
                        self.usage()
                    ));
                }
                (None, false, _) => {}
            }
        }
        let lookup = |name: &str| match values.get(name) {
            Some(ArgValue::Text(v)) => Some(v.clone()),
            Some(ArgValue::Flag(true)) => Some(format!("--{name}")),
            _ => None,
        };
        let mut argv = self.entrypoint.command.clone();
        for template in &self.entrypoint.args {
            // An argument that is only an absent parameter disappears; one that embeds an
            // absent parameter is an error (it would run with half an argument).
            let names = placeholders(template)?;
            if names.len() == 1
                && template == &format!("{{{}}}", names[0])
                && lookup(names[0]).is_none()
            {
                continue;
            }
            argv.push(substitute(template, &lookup)?);
        }
        let mut scopes = Vec::new();
        for template in &self.scopes {
            let concrete = substitute(template, &lookup)?;
            scopes.push(Scope::parse(&concrete).map_err(|e| e.to_string())?);
        }
        Ok(Invocation {
            argv,
            scopes,
            arguments: values,
        })
    }

    /// A one-line summary of the parameters, for error messages.
    pub fn usage(&self) -> String {
        if self.parameters.is_empty() {
            return format!("{} takes no parameters", self.name);
        }
        let parts: Vec<String> = self
            .parameters
            .iter()
            .map(|p| {
                let shown = match p.kind {
                    ParameterKind::Flag => format!("--{}", p.name),
                    kind => format!("--{} <{}>", p.name, format!("{kind:?}").to_lowercase()),
                };
                if p.required {
                    shown
                } else {
                    format!("[{shown}]")
                }
            })
            .collect();
        format!("usage: {} {}", self.name, parts.join(" "))
    }
}

impl fmt::Display for ParameterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "string",
            Self::Path => "path",
            Self::Integer => "integer",
            Self::Flag => "flag",
        })
    }
}

fn check_value(p: &Parameter, value: &str) -> Result<(), String> {
    match p.kind {
        ParameterKind::Integer => value
            .parse::<i64>()
            .map(|_| ())
            .map_err(|_| format!("expected an integer, got {value:?}")),
        ParameterKind::String => match &p.pattern {
            Some(pattern) => {
                let anchored = format!("^(?:{pattern})$");
                let re = regex::Regex::new(&anchored).map_err(|e| e.to_string())?;
                if re.is_match(value) {
                    Ok(())
                } else {
                    Err(format!("{value:?} does not match {pattern:?}"))
                }
            }
            None => Ok(()),
        },
        ParameterKind::Path | ParameterKind::Flag => Ok(()),
    }
}

fn normalise_value(p: &Parameter, raw: &str, cwd: &Path) -> Result<String, String> {
    if raw.contains(['{', '}']) {
        return Err(format!("--{}: values cannot contain '{{' or '}}'", p.name));
    }
    check_value(p, raw).map_err(|e| format!("--{}: {e}", p.name))?;
    if p.kind == ParameterKind::Path {
        let absolute = if raw.starts_with('/') {
            raw.to_string()
        } else {
            cwd.join(raw).display().to_string()
        };
        return FilePath::parse(&absolute)
            .map(|f| f.to_string())
            .map_err(|e| format!("--{}: {e}", p.name));
    }
    Ok(raw.to_string())
}

/// The parameter names used as `{name}` in a template.
fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{template:?}: '{{' without a closing '}}'"))?;
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    if rest.contains('}') {
        return Err(format!("{template:?}: '}}' without an opening '{{'"));
    }
    Ok(names)
}

fn substitute(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{template:?}: '{{' without a closing '}}'"))?;
        let name = &after[..end];
        let v = value(name)
            .ok_or_else(|| format!("{template:?} needs --{name}, which was not given"))?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
