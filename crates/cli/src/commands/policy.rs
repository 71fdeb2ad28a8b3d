//! `aegisclaw policy`: show, choose, check, evaluate and explain the policy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, write_atomic};
use aegisclaw_core::{
    Action, ActionKind, Config, Decision, PolicyTemplate, SignatureStatus, SkillRef, Verdict,
};
use aegisclaw_policy::{
    CheckReport, Explanation, PolicyEngine, PolicySource, ScopeRegistry, Severity,
    active_policy_path, templates,
};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::commands::Ctx;
use crate::commands::init::backup;
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::{print_json, print_table};

/// Exit code of `policy eval` and `policy explain` when the decision is "ask".
pub(crate) const EXIT_ASK: u8 = 3;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Print the active policy: where it is, its template and digest, then its Rego text
    Show {
        /// JSON: {"path", "template", "custom", "digest", "error", "text"}
        #[arg(long)]
        json: bool,
    },
    /// Make a template the active policy: write policies/TEMPLATE.rego and set policy.template
    ///
    /// An existing policies/TEMPLATE.rego that differs from the template (an edited copy) is
    /// kept unless --force is given; with --force it is kept as a timestamped backup.
    Use {
        /// strict, standard or permissive
        #[arg(value_enum)]
        template: PolicyTemplate,
        /// Replace an edited policies/TEMPLATE.rego (the old file is kept as a backup)
        #[arg(long)]
        force: bool,
    },
    /// Compile and lint a policy and run its own `test_*` rules
    ///
    /// Exit 0 when it compiles, has no lint error and every test passes; 1 otherwise; 2 when
    /// the file cannot be read.
    Check {
        /// The policy file [default: the active policy]
        file: Option<PathBuf>,
        /// JSON: {"name", "error", "lints": [{"severity", "line", "message"}], "tests": [{"name", "passed", "error"}]}
        #[arg(long)]
        json: bool,
    },
    /// Decide about an action described by flags
    ///
    /// Exit codes: 0 allow, 1 deny, 3 ask, 2 when the action cannot be built (an unknown or
    /// malformed scope, an invalid configuration).
    Eval(EvalArgs),
    /// Decide about an action and show which rules fired and why (exit codes as `eval`)
    Explain(EvalArgs),
    /// List the built-in policy templates
    Templates {
        #[arg(long)]
        json: bool,
    },
    /// List the scopes the policy knows (built-in and [[scopes.custom]]), with risk and enforcement
    Scopes {
        #[arg(long)]
        json: bool,
    },
}

/// The action `eval` and `explain` decide about.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// A scope the action needs, e.g. files.read:/home/me/docs (repeat for several)
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The skill the action comes from [default: none, the agent itself]
    #[arg(long, value_name = "NAME")]
    skill: Option<String>,
    /// The skill's signature verifies against a trusted key
    #[arg(long, requires = "skill")]
    signed: bool,
    /// Untrusted content (a tool result, a fetched page) shaped the action
    #[arg(long)]
    tainted: bool,
    /// The kind of action
    #[arg(long, value_enum, default_value = "exec")]
    kind: ActionKind,
    /// Decide as if lockdown were on
    #[arg(long)]
    lockdown: bool,
    /// Evaluate this policy file instead of the active policy
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Evaluate a built-in template instead of the active policy
    #[arg(long, value_enum, conflicts_with = "policy")]
    template: Option<PolicyTemplate>,
    /// JSON output (`eval`: the verdict {"decision", "reasons", "obligations"}; `explain`:
    /// {"policy", "input", "fired", "scopes", "verdict", "error"})
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &Ctx, cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Show { json } => show(ctx, json),
        PolicyCommand::Use { template, force } => use_template(ctx, template, force),
        PolicyCommand::Check { file, json } => check(ctx, file, json),
        PolicyCommand::Eval(args) => eval(ctx, &args, false),
        PolicyCommand::Explain(args) => eval(ctx, &args, true),
        PolicyCommand::Templates { json } => list_templates(ctx, json),
        PolicyCommand::Scopes { json } => list_scopes(ctx, json),
    }
}

#[derive(Debug, Serialize)]
struct Shown {
    path: PathBuf,
    template: PolicyTemplate,
    /// `policy.file` of the configuration chose the file (not the template).
    custom: bool,
    digest: Option<String>,
    error: Option<String>,
    text: Option<String>,
}

fn show(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let path = active_policy_path(&ctx.home, &config);
    let engine = PolicyEngine::for_home(&ctx.home, &config);
    let status = engine.status();
    let shown = Shown {
        custom: config.policy.file.is_some(),
        template: config.policy.template,
        digest: status.as_ref().ok().map(|s| s.policy.digest.clone()),
        error: status.as_ref().err().map(ToString::to_string),
        text: std::fs::read_to_string(&path).ok(),
        path,
    };
    if json {
        print_json(&shown)?;
    } else {
        println!("# active policy: {}", shown.path.display());
        if shown.custom {
            println!("# chosen by policy.file in config.toml");
        } else {
            println!("# from the {} template", shown.template);
        }
        match (&shown.digest, &shown.error) {
            (Some(d), _) => println!("# digest: {d}"),
            (None, Some(e)) => println!("# UNUSABLE, every action is denied: {e}"),
            (None, None) => {}
        }
        println!();
        if let Some(text) = &shown.text {
            print!("{text}");
        }
    }
    Ok(if shown.error.is_some() {
        ExitCode::from(EXIT_NEGATIVE)
    } else {
        ExitCode::SUCCESS
    })
}

fn use_template(ctx: &Ctx, template: PolicyTemplate, force: bool) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    if let Some(file) = &config.policy.file {
        return Err(with_hint(
            format!(
                "config.toml sets policy.file = {:?}, which overrides any template",
                file.display().to_string()
            ),
            "remove policy.file from the [policy] section of config.toml, then run this again",
        ));
    }
    let home = &ctx.home;
    home.create()?;
    let path = home.policies_dir().join(format!("{template}.rego"));
    let wanted = templates::source(template);
    let mut kept = None;
    match std::fs::read_to_string(&path) {
        Ok(current) if current == wanted => {}
        Ok(_) if !force => {
            return Err(with_hint(
                format!(
                    "{} exists and differs from the {template} template (edited?); nothing was changed",
                    path.display()
                ),
                "keep it by editing it, or pass --force to replace it (the current file is kept as a timestamped backup)",
            ));
        }
        Ok(_) => kept = Some(backup(&path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    write_atomic(&path, wanted.as_bytes(), PRIVATE_FILE_MODE)?;
    set_template_in_config(&home.config_file(), template)?;
    if let Some(saved) = kept {
        println!(
            "Kept the previous {} as {}",
            path.display(),
            saved.display()
        );
    }
    println!(
        "Active policy: {} (the {template} template)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets `policy.template` in config.toml, keeping everything else (comments included).
fn set_template_in_config(file: &Path, template: PolicyTemplate) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("cannot parse {}", file.display()))?;
    if !doc.contains_key("policy") {
        doc["policy"] = toml_edit::table();
    }
    doc["policy"]["template"] = toml_edit::value(template.as_str());
    let rendered = doc.to_string();
    Config::from_toml(&rendered, file).map_err(|e| {
        with_hint(
            format!("invalid configuration after setting policy.template: {e}"),
            "fix config.toml (see `aegisclaw config validate`), then run this again",
        )
    })?;
    write_atomic(file, rendered.as_bytes(), PRIVATE_FILE_MODE)?;
    Ok(())
}

fn check(ctx: &Ctx, file: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let (path, active) = match file {
        Some(f) => (f, false),
        None => (active_policy_path(&ctx.home, &ctx.config()?), true),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        with_hint(
            format!("cannot read the policy {}: {e}", path.display()),
            if active {
                "create it with `aegisclaw policy use standard` (or strict, permissive)"
            } else {
                "name a readable .rego file"
            },
        )
    })?;
    let mut report = aegisclaw_policy::check(&path.display().to_string(), &text);
    if active
        && let Err(e @ aegisclaw_policy::Error::Writable { .. }) =
            aegisclaw_policy::read_policy(&path)
    {
        report.lints.insert(
            0,
            aegisclaw_policy::Lint {
                severity: Severity::Error,
                line: None,
                message: e.to_string(),
            },
        );
    }
    if json {
        print_json(&report)?;
    } else {
        print_check(&report)?;
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

fn print_check(report: &CheckReport) -> anyhow::Result<()> {
    println!("policy: {}", report.name);
    match &report.error {
        None => println!("compile: ok"),
        Some(e) => println!("compile: FAILED: {e}"),
    }
    let errors = report
        .lints
        .iter()
        .filter(|l| l.severity == Severity::Error)
        .count();
    println!(
        "lint: {errors} errors, {} warnings",
        report.lints.len() - errors
    );
    for lint in &report.lints {
        let severity = match lint.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match lint.line {
            Some(line) => println!("  {severity} (line {line}): {}", lint.message),
            None => println!("  {severity}: {}", lint.message),
        }
    }
    let passed = report.tests.iter().filter(|t| t.passed).count();
    println!(
        "tests: {passed} passed, {} failed",
        report.tests.len() - passed
    );
    for test in &report.tests {
        match (&test.passed, &test.error) {
            (true, _) => println!("  pass  {}", test.name),
            (false, Some(e)) => println!("  FAIL  {}: {e}", test.name),
            (false, None) => println!("  FAIL  {} (not true)", test.name),
        }
    }
    println!("result: {}", if report.ok() { "ok" } else { "FAILED" });
    Ok(())
}

fn eval(ctx: &Ctx, args: &EvalArgs, explain: bool) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let registry = ScopeRegistry::from_config(&config.scopes);
    let mut scopes = Vec::new();
    for raw in &args.scopes {
        scopes.push(registry.parse(raw).map_err(|e| {
            with_hint(
                e.to_string(),
                "`aegisclaw policy scopes` lists the known scopes; write domain.verb[:resource]",
            )
        })?);
    }
    let mut action = Action::new("aegisclaw-cli", args.kind, scopes);
    action.actor.skill = args.skill.as_ref().map(|name| SkillRef {
        name: name.clone(),
        version: None,
        digest: None,
        signature: if args.signed {
            SignatureStatus::Signed
        } else {
            SignatureStatus::Unsigned
        },
        signer: None,
    });
    action.provenance.tainted = args.tainted;
    action.environment.lockdown = args.lockdown;
    let engine = match (&args.policy, args.template) {
        (Some(file), _) => PolicyEngine::new(PolicySource::File(file.clone()), registry),
        (None, Some(t)) => PolicyEngine::from_template(t, registry),
        (None, None) => PolicyEngine::for_home(&ctx.home, &config),
    };
    let verdict = if explain {
        let explanation = engine.explain(&action);
        if args.json {
            print_json(&explanation)?;
        } else {
            print_explanation(&explanation)?;
        }
        explanation.verdict
    } else {
        let verdict = engine.evaluate(&action).verdict;
        if args.json {
            print_json(&verdict)?;
        } else {
            print_verdict(&verdict);
        }
        verdict
    };
    Ok(ExitCode::from(match verdict.decision {
        Decision::Allow => 0,
        Decision::Deny => EXIT_NEGATIVE,
        Decision::Ask => EXIT_ASK,
    }))
}

fn print_verdict(verdict: &Verdict) {
    println!("{}", verdict.decision);
    for r in &verdict.reasons {
        match &r.scope {
            Some(s) => println!("  {s}: {} ({})", r.message, r.rule),
            None => println!("  {} ({})", r.message, r.rule),
        }
    }
    let o = &verdict.obligations;
    let mut parts = Vec::new();
    if let Some(ttl) = o.approval_ttl {
        parts.push(format!("approval_ttl {}", humantime::format_duration(ttl)));
    }
    if let Some(max) = o.max_runtime {
        parts.push(format!("max_runtime {}", humantime::format_duration(max)));
    }
    if o.redact {
        parts.push("redact".to_string());
    }
    if !parts.is_empty() {
        println!("obligations: {}", parts.join(", "));
    }
}

fn print_explanation(e: &Explanation) -> anyhow::Result<()> {
    match &e.policy {
        Some(p) => println!("policy: {} ({})", p.name, p.digest),
        None => println!("policy: none could be loaded"),
    }
    if let Some(error) = &e.error {
        println!("error: {error}");
    }
    if let Some(input) = &e.input {
        println!("scopes requested:");
        let rows: Vec<Vec<String>> = input["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        vec![
                            format!("  {}", s["scope"].as_str().unwrap_or_default()),
                            format!("risk {}", s["risk"].as_str().unwrap_or_default()),
                            if s["approved"] == true {
                                "approved earlier".into()
                            } else {
                                String::new()
                            },
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        print_table(&rows)?;
    }
    println!("rules that fired:");
    if e.fired.is_empty() {
        println!("  none");
    }
    let rows: Vec<Vec<String>> = e
        .fired
        .iter()
        .rev()
        .map(|f| {
            vec![
                format!("  {}", f.decision),
                f.rule.clone(),
                f.scope.clone().unwrap_or_else(|| "(whole action)".into()),
                f.message.clone(),
            ]
        })
        .collect();
    print_table(&rows)?;
    if !e.scopes.is_empty() {
        println!("decision per scope (strictest reason wins; no reason means deny):");
        let rows: Vec<Vec<String>> = e
            .scopes
            .iter()
            .map(|s| vec![format!("  {}", s.scope), s.decision.to_string()])
            .collect();
        print_table(&rows)?;
    }
    print!("verdict: ");
    print_verdict(&e.verdict);
    Ok(())
}

#[derive(Debug, Serialize)]
struct TemplateRow {
    name: PolicyTemplate,
    summary: &'static str,
    active: bool,
}

fn list_templates(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let rows: Vec<TemplateRow> = PolicyTemplate::ALL
        .into_iter()
        .map(|t| TemplateRow {
            name: t,
            summary: templates::summary(t),
            active: config.policy.file.is_none() && config.policy.template == t,
        })
        .collect();
    if json {
        print_json(&rows)?;
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    if r.active { "*" } else { " " }.to_string(),
                    r.name.to_string(),
                    r.summary.to_string(),
                ]
            })
            .collect();
        print_table(&table)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list_scopes(ctx: &Ctx, json: bool) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let entries = ScopeRegistry::from_config(&config.scopes).entries();
    if json {
        print_json(&entries)?;
    } else {
        let mut rows = vec![vec![
            "SCOPE".to_string(),
            "RISK".to_string(),
            "RESOURCE".to_string(),
            "ENFORCED AS".to_string(),
        ]];
        rows.extend(entries.iter().map(|e| {
            vec![
                e.name.clone(),
                e.risk.to_string(),
                e.resource.clone(),
                e.enforcement.clone(),
            ]
        }));
        print_table(&rows)?;
    }
    Ok(ExitCode::SUCCESS)
}
