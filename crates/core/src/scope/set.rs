//! Granted scopes, projected onto what each enforcement layer consumes.

use std::collections::BTreeSet;

use super::{FilePath, HostRule, McpToolRef, ModelRef, Scope, SecretName};

/// A set of granted scopes and its enforcement projections.
///
/// The sandbox mounts [`read_only_paths`](Self::read_only_paths) and
/// [`read_write_paths`](Self::read_write_paths), the egress proxy allows
/// [`egress_rules`](Self::egress_rules), the secret broker materialises
/// [`secret_names`](Self::secret_names), the MCP gateway and the LLM proxy let through
/// [`mcp_tools`](Self::mcp_tools) and [`llm_models`](Self::llm_models). What is not granted
/// does not appear in any projection.
///
/// Mount lists are minimal and sorted (a parent before its children): a path already covered
/// by a read-write grant is not mounted again read-only, and a path covered by a grant of the
/// same kind is dropped. A read-write path beneath a read-only one stays (mount it after the
/// parent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    scopes: BTreeSet<Scope>,
}

impl ScopeSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, scope: Scope) {
        self.scopes.insert(scope);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.scopes.iter()
    }

    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Whether some granted scope covers `requested` (see [`Scope::covers`]).
    pub fn covers(&self, requested: &Scope) -> bool {
        self.scopes.iter().any(|g| g.covers(requested))
    }

    /// Paths to mount read-only.
    pub fn read_only_paths(&self) -> Vec<&FilePath> {
        let rw = self.read_write_paths();
        let ro: Vec<&FilePath> = self
            .scopes
            .iter()
            .filter_map(|s| match s {
                Scope::FilesRead(p) => Some(p),
                _ => None,
            })
            .filter(|p| !rw.iter().any(|w| w.covers(p)))
            .collect();
        minimal(ro)
    }

    /// Paths to mount read-write.
    pub fn read_write_paths(&self) -> Vec<&FilePath> {
        minimal(
            self.scopes
                .iter()
                .filter_map(|s| match s {
                    Scope::FilesWrite(p) => Some(p),
                    _ => None,
                })
                .collect(),
        )
    }

    /// Egress-proxy allow rules (minimal: a rule covered by another is dropped).
    pub fn egress_rules(&self) -> Vec<&HostRule> {
        minimal_rules(self.scopes.iter().filter_map(|s| match s {
            Scope::NetOutbound(h) => Some(h),
            _ => None,
        }))
    }

    /// Hosts the browser may open.
    pub fn browser_hosts(&self) -> Vec<&HostRule> {
        minimal_rules(self.scopes.iter().filter_map(|s| match s {
            Scope::BrowserNavigate(h) => Some(h),
            _ => None,
        }))
    }

    /// Secrets the broker hands to the run.
    pub fn secret_names(&self) -> Vec<&SecretName> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::SecretsAccess(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    /// MCP tools the gateway lets through.
    pub fn mcp_tools(&self) -> Vec<&McpToolRef> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::McpTool(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Models the LLM proxy lets through.
    pub fn llm_models(&self) -> Vec<&ModelRef> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::LlmCall(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// Whether commands may run at all.
    pub fn shell_exec(&self) -> bool {
        self.scopes.contains(&Scope::ShellExec)
    }
}

/// Drops every path covered by another one; the input is sorted, so parents come first.
fn minimal(mut paths: Vec<&FilePath>) -> Vec<&FilePath> {
    paths.sort();
    paths.dedup();
    let mut kept: Vec<&FilePath> = Vec::with_capacity(paths.len());
    for p in paths {
        if !kept.iter().any(|k| k.covers(p)) {
            kept.push(p);
        }
    }
    kept
}

fn minimal_rules<'a>(rules: impl Iterator<Item = &'a HostRule>) -> Vec<&'a HostRule> {
    let all: Vec<&HostRule> = rules.collect();
    let mut kept: Vec<&HostRule> = Vec::with_capacity(all.len());
    for (i, r) in all.iter().enumerate() {
        let covered = all
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && o.covers(r) && (!r.covers(o) || j < i));
        if !covered {
            kept.push(r);
        }
    }
    kept
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self {
            scopes: iter.into_iter().collect(),
        }
    }
}

impl<'a> FromIterator<&'a Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = &'a Scope>>(iter: I) -> Self {
        iter.into_iter().cloned().collect()
    }
}

impl Extend<Scope> for ScopeSet {
    fn extend<I: IntoIterator<Item = Scope>>(&mut self, iter: I) {
        self.scopes.extend(iter);
    }
}
