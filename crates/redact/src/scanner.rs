//! Finding secrets that are not in the store, by their published formats.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;
use serde::Serialize;

use crate::rules::{Candidate, Check, RULES, Rule};

/// One secret found by the [`Scanner`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule that matched, e.g. `github-token`.
    pub rule: &'static str,
    /// Byte offset of the secret's first byte.
    pub start: usize,
    /// Byte offset one past the secret's last byte.
    pub end: usize,
    /// A preview that does not reveal the secret: at most its first four characters and its
    /// length, e.g. `ghp_… (40 bytes)`.
    pub preview: String,
}

impl Finding {
    /// The byte range of the secret in the scanned input.
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// The id and description of a rule, for documentation and `--list` style output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub description: &'static str,
}

/// Scans text for secrets by format: cloud provider keys, API tokens, private keys, JWTs,
/// URLs with passwords and high-entropy values assigned to secret-like names.
///
/// Building compiles every rule (a few milliseconds); build once and share, or use
/// [`Scanner::global`].
///
/// ```
/// let scanner = aegisclaw_redact::Scanner::global();
/// let text = "export GITHUB_TOKEN=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";
/// let findings = scanner.scan(text);
/// assert_eq!(findings.len(), 1);
/// assert_eq!(findings[0].rule, "github-token");
/// assert_eq!(&text[findings[0].span()], "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");
/// assert_eq!(scanner.redact(text), "export GITHUB_TOKEN=[REDACTED:github-token]");
/// ```
pub struct Scanner {
    rules: Vec<Compiled>,
    /// ASCII case-insensitive matcher over every rule's keywords.
    keywords: AhoCorasick,
    /// Keyword pattern id → index of the rule it belongs to.
    keyword_rule: Vec<usize>,
}

struct Compiled {
    rule: &'static Rule,
    regex: Regex,
    /// Capture groups named `secret…`, in order; the first that took part is the span.
    secret_groups: Vec<usize>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

static GLOBAL: LazyLock<Scanner> = LazyLock::new(Scanner::new);

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// A scanner with every built-in rule.
    #[expect(
        clippy::expect_used,
        reason = "the rule table is a constant; its tests compile every pattern"
    )]
    pub fn new() -> Self {
        let mut rules = Vec::with_capacity(RULES.len());
        let mut keyword_patterns = Vec::new();
        let mut keyword_rule = Vec::new();
        for (index, rule) in RULES.iter().enumerate() {
            let regex = regex::bytes::RegexBuilder::new(rule.pattern)
                .unicode(false)
                .size_limit(32 << 20)
                .build()
                .expect("invariant failed: built-in scanner patterns compile");
            let secret_groups = regex
                .capture_names()
                .enumerate()
                .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
                .map(|(i, _)| i)
                .collect();
            for keyword in rule.keywords {
                keyword_patterns.push(*keyword);
                keyword_rule.push(index);
            }
            rules.push(Compiled {
                rule,
                regex,
                secret_groups,
            });
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&keyword_patterns)
            .expect("invariant failed: built-in scanner keywords compile");
        Self {
            rules,
            keywords,
            keyword_rule,
        }
    }

    /// A scanner shared by the whole process, built on first use.
    pub fn global() -> &'static Self {
        &GLOBAL
    }

    /// The rules, most specific first.
    pub fn rules(&self) -> impl Iterator<Item = RuleInfo> + '_ {
        self.rules.iter().map(|c| RuleInfo {
            id: c.rule.id,
            description: c.rule.description,
        })
    }

    /// Scans a text. Findings are ordered by position and never overlap.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        self.scan_bytes(text.as_bytes())
    }

    /// Scans bytes (need not be UTF-8).
    pub fn scan_bytes(&self, data: &[u8]) -> Vec<Finding> {
        let mut active = vec![false; self.rules.len()];
        // Windows around keyword hits, for rules restricted to them (ascending by start).
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        for m in self.keywords.find_overlapping_iter(data) {
            let index = self.keyword_rule[m.pattern().as_usize()];
            let compiled = &self.rules[index];
            match compiled.rule.near {
                None => active[index] = true,
                Some(near) => {
                    if near
                        .gate
                        .is_some_and(|gate| !gate(data, m.start(), m.end()))
                    {
                        continue;
                    }
                    active[index] = true;
                    let from = m.start().saturating_sub(near.before);
                    let to = data.len().min(m.end() + near.after);
                    let list = &mut windows[index];
                    match list.last_mut() {
                        Some(last) if from <= last.1 => last.1 = last.1.max(to),
                        _ => list.push((from, to)),
                    }
                }
            }
        }
        let mut found: Vec<(usize, Finding)> = Vec::new();
        for (priority, compiled) in self.rules.iter().enumerate() {
            if !active[priority] {
                continue;
            }
            let mut emit = |f| found.push((priority, f));
            if compiled.rule.near.is_some() {
                let mut resume = 0;
                for &(from, to) in &windows[priority] {
                    resume = compiled.find_all(&data[..to], from.max(resume), &mut emit);
                }
            } else {
                compiled.find_all(data, 0, &mut emit);
            }
        }
        resolve_overlaps(found)
    }

    /// Replaces every finding with `[REDACTED:<rule id>]`. Borrowed when nothing was found.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let findings = self.scan(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in &findings {
            // Spans come from ASCII patterns, so they fall on character boundaries; `get`
            // keeps this total all the same.
            out.push_str(text.get(last..f.start).unwrap_or_default());
            out.push_str("[REDACTED:");
            out.push_str(f.rule);
            out.push(']');
            last = f.end;
        }
        out.push_str(text.get(last..).unwrap_or_default());
        Cow::Owned(out)
    }
}

impl Compiled {
    /// Reports every confirmed match in `data` that starts at or after `from`; returns where a
    /// following search should resume (past the last confirmed finding).
    fn find_all(&self, data: &[u8], from: usize, emit: &mut impl FnMut(Finding)) -> usize {
        let mut locs = self.regex.capture_locations();
        let mut at = from;
        let mut resume = from;
        while at <= data.len() {
            let Some(whole) = self.regex.captures_read_at(&mut locs, data, at) else {
                break;
            };
            let (start, end) = self
                .secret_groups
                .iter()
                .find_map(|&g| locs.get(g))
                .unwrap_or((whole.start(), whole.end()));
            let group = |name: &str| {
                self.regex
                    .capture_names()
                    .position(|n| n == Some(name))
                    .and_then(|g| locs.get(g))
                    .map(|(a, b)| &data[a..b])
            };
            let candidate = Candidate {
                secret: &data[start..end],
                key: group("key"),
                user: group("user"),
            };
            let confirmed = match self.rule.check {
                Check::Entropy(bits) => {
                    !crate::checks::is_placeholder(candidate.secret)
                        && crate::checks::entropy(candidate.secret) >= bits
                }
                Check::Custom(check) => check(&candidate),
            };
            let end = if confirmed {
                match self.rule.extend {
                    Some(extend) => extend(data, start, end),
                    None => Some(end),
                }
            } else {
                None
            };
            if let Some(end) = end {
                resume = end;
                emit(Finding {
                    rule: self.rule.id,
                    start,
                    end,
                    preview: preview(&data[start..end]),
                });
            }
            // Resume after the secret; after a rejected candidate, at its secret part, so that
            // it does not hide a real one starting inside it.
            at = match (confirmed, end) {
                (true, Some(end)) => end.max(whole.start() + 1),
                _ => next_char(data, whole.start()).max(start),
            };
        }
        resume
    }
}

fn next_char(data: &[u8], at: usize) -> usize {
    let mut next = at + 1;
    while next < data.len() && (data[next] & 0xC0) == 0x80 {
        next += 1;
    }
    next
}

/// Keeps the findings of the highest-priority rules where spans overlap; orders by position.
fn resolve_overlaps(mut found: Vec<(usize, Finding)>) -> Vec<Finding> {
    found.sort_by_key(|(priority, f)| (*priority, f.start));
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for (_, f) in found {
        if !kept.iter().any(|k| k.start < f.end && f.start < k.end) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.start);
    kept
}

/// At most the first four characters (fewer for short secrets: an eighth of the length) and
/// the length in bytes.
fn preview(secret: &[u8]) -> String {
    let shown = (secret.len() / 8).min(4);
    let head = String::from_utf8_lossy(&secret[..shown]);
    let head: String = head
        .chars()
        .filter(|c| *c != char::REPLACEMENT_CHARACTER && !c.is_control())
        .collect();
    format!("{head}\u{2026} ({} bytes)", secret.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles_and_has_a_secret_group() {
        let scanner = Scanner::new();
        for c in &scanner.rules {
            assert!(!c.secret_groups.is_empty(), "{}", c.rule.id);
        }
    }

    #[test]
    fn preview_hides_all_but_a_short_prefix() {
        assert_eq!(
            preview(b"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"),
            "ghp_\u{2026} (40 bytes)"
        );
        assert_eq!(preview(b"short"), "\u{2026} (5 bytes)");
        assert_eq!(preview(b"0123456789abcdef"), "01\u{2026} (16 bytes)");
    }

    #[test]
    fn overlaps_keep_the_specific_rule() {
        let f = |rule, start, end| Finding {
            rule,
            start,
            end,
            preview: String::new(),
        };
        let kept = resolve_overlaps(vec![
            (9, f("generic", 0, 50)),
            (1, f("github", 10, 50)),
            (9, f("generic", 60, 70)),
        ]);
        assert_eq!(kept, vec![f("github", 10, 50), f("generic", 60, 70)]);
    }
}
