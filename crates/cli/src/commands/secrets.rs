//! `aegisclaw secrets …`: the secret store (age file or Vault, as `secrets.backend` says) and
//! the scanner for secrets that are not in it.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_audit::{AuditLog, Options as AuditOptions, Record};
use aegisclaw_core::{Config, SecretName, SecretsBackend};
use aegisclaw_redact::{MIN_SECRET_LEN, Scanner};
use aegisclaw_secrets::{AgeStore, InitOutcome, PASSPHRASE_ENV, Store, format_time, open_store};
use anyhow::Context;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::commands::Ctx;
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::{print_json, print_table};

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Create the store: an age identity in keys/ (0600) and an empty encrypted store in
    /// secrets/. Does nothing when both exist; never replaces a key
    Init(InitArgs),
    /// Store a secret. The value comes from a hidden prompt on a terminal, else from stdin (one
    /// trailing newline removed), or from --from-file (taken as is); never from the command line
    Set(SetArgs),
    /// List the stored secrets: names and dates, never values
    List(ListArgs),
    /// Print a secret's value on stdout. Refused without --reveal; every reveal is recorded in
    /// the audit log (the name, never the value)
    Get(GetArgs),
    /// Delete a secret
    Rm(NameArg),
    /// Re-encrypt the store under a new identity and delete the old one (age store only)
    RotateKey,
    /// Look for secrets by their published formats (cloud keys, GitHub/GitLab/Slack/Stripe/
    /// OpenAI/Anthropic/npm/PyPI tokens, private keys, JWTs, passwords in URLs, ...) in a file or
    /// stdin. One finding per line: rule, byte span, a preview that does not reveal it. Exit 0
    /// when clean, 1 when anything is found
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Also encrypt the identity with a passphrase (asked twice on the terminal, or taken from
    /// $AEGISCLAW_SECRETS_PASSPHRASE); every later use of the store then needs it
    #[arg(long)]
    passphrase: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The secret's name, e.g. GITHUB_TOKEN
    #[arg(value_name = "NAME", value_parser = SecretName::parse)]
    name: SecretName,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The secret's name, e.g. GITHUB_TOKEN
    #[arg(value_name = "NAME", value_parser = SecretName::parse)]
    name: SecretName,
    /// Read the value from this file (its exact bytes)
    #[arg(long, value_name = "FILE")]
    from_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON: [{"name","created","updated"}]
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The secret's name
    #[arg(value_name = "NAME", value_parser = SecretName::parse)]
    name: SecretName,
    /// Really print the value (the reveal is recorded in the audit log)
    #[arg(long)]
    reveal: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// The file to scan; `-` or nothing for stdin
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Print JSON: [{"rule","start","end","preview"}]
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &Ctx, cmd: SecretsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretsCommand::Init(args) => init(ctx, args),
        SecretsCommand::Set(args) => set(ctx, args),
        SecretsCommand::List(args) => list(ctx, args),
        SecretsCommand::Get(args) => get(ctx, args),
        SecretsCommand::Rm(args) => rm(ctx, args),
        SecretsCommand::RotateKey => rotate_key(ctx),
        SecretsCommand::Scan(args) => scan(args),
    }
}

/// A store error with its hint, for the binary's error report.
fn store_error(e: aegisclaw_secrets::Error) -> anyhow::Error {
    match e.hint() {
        Some(hint) => with_hint(e.to_string(), hint),
        None => anyhow::Error::new(e),
    }
}

fn store(ctx: &Ctx) -> anyhow::Result<Box<dyn Store>> {
    let config = ctx.config()?;
    open_secret_store(ctx, &config)
}

/// The store `secrets.backend` names; a passphrase-protected age identity is unlocked with
/// $AEGISCLAW_SECRETS_PASSPHRASE, else a prompt on the terminal.
pub(crate) fn open_secret_store(ctx: &Ctx, config: &Config) -> anyhow::Result<Box<dyn Store>> {
    if config.secrets.backend == SecretsBackend::Age {
        let store = AgeStore::open(&ctx.home).map_err(store_error)?;
        if store.is_protected().map_err(store_error)? {
            let passphrase = passphrase("passphrase of the secret store: ", false)?;
            return Ok(Box::new(store.with_passphrase(passphrase)));
        }
        return Ok(Box::new(store));
    }
    open_store(&ctx.home, &config.secrets).map_err(store_error)
}

/// A passphrase from the environment, else from the terminal (asked twice when `confirm`).
fn passphrase(prompt: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(p) = std::env::var_os(PASSPHRASE_ENV).filter(|p| !p.is_empty()) {
        return p
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| anyhow::anyhow!("${PASSPHRASE_ENV} is not valid UTF-8"));
    }
    if !std::io::stdin().is_terminal() {
        return Err(with_hint(
            "the secret store's passphrase is needed and there is no terminal to ask on",
            format!("set ${PASSPHRASE_ENV}"),
        ));
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt).context("read the passphrase")?);
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("the same again: ").context("read the passphrase")?,
        );
        if *again != *first {
            return Err(with_hint("the passphrases differ", "run the command again"));
        }
    }
    if first.is_empty() {
        return Err(with_hint("an empty passphrase", "type a passphrase"));
    }
    Ok(first)
}

fn init(ctx: &Ctx, args: InitArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    if config.secrets.backend == SecretsBackend::Vault {
        // Nothing to create: check that the server answers with this configuration.
        let store = open_store(&ctx.home, &config.secrets).map_err(store_error)?;
        let n = store.list().map_err(store_error)?.len();
        println!(
            "secrets.backend is vault: nothing to create; {} answers ({n} secrets under {}/{})",
            config.secrets.vault.address, config.secrets.vault.mount, config.secrets.vault.prefix
        );
        return Ok(ExitCode::SUCCESS);
    }
    ctx.home
        .create()
        .with_context(|| format!("create the home {}", ctx.home.root().display()))?;
    let (store, outcome) = if args.passphrase && !AgeStore::new(&ctx.home).identity_path().exists()
    {
        let passphrase = passphrase("passphrase for the new secret store: ", true)?;
        AgeStore::init_protected(&ctx.home, passphrase)
    } else {
        AgeStore::init(&ctx.home)
    }
    .map_err(store_error)?;
    match outcome {
        InitOutcome::Created => {
            println!("created the secret store");
            println!(
                "  identity  {} (0600{})",
                store.identity_path().display(),
                if args.passphrase {
                    ", passphrase-protected"
                } else {
                    ""
                }
            );
            println!("  store     {}", store.store_path().display());
            println!("keep a backup of the identity: without it the store cannot be read");
        }
        InitOutcome::AlreadyInitialised => {
            println!(
                "the secret store already exists ({}); nothing changed",
                store.store_path().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes one trailing `\n` or `\r\n` (what `echo` and the Enter key add).
fn strip_newline(value: &mut Zeroizing<Vec<u8>>) {
    if value.last() == Some(&b'\n') {
        value.pop();
        if value.last() == Some(&b'\r') {
            value.pop();
        }
    }
}

fn read_value(args: &SetArgs) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if let Some(path) = &args.from_file {
        return std::fs::read(path)
            .map(Zeroizing::new)
            .with_context(|| format!("read {}", path.display()));
    }
    let mut value = if std::io::stdin().is_terminal() {
        let text = Zeroizing::new(
            rpassword::prompt_password(format!("value of {} (hidden): ", args.name))
                .context("read the value from the terminal")?,
        );
        Zeroizing::new(text.as_bytes().to_vec())
    } else {
        let mut buf = Zeroizing::new(Vec::new());
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("read the value from stdin")?;
        buf
    };
    strip_newline(&mut value);
    Ok(value)
}

fn set(ctx: &Ctx, args: SetArgs) -> anyhow::Result<ExitCode> {
    let store = store(ctx)?;
    let value = read_value(&args)?;
    if value.is_empty() {
        return Err(with_hint(
            format!("no value given for {}", args.name),
            "type it at the prompt, pipe it on stdin, or use --from-file FILE",
        ));
    }
    if value.len() < MIN_SECRET_LEN {
        return Err(with_hint(
            format!(
                "the value of {} is {} bytes; secrets need at least {MIN_SECRET_LEN} so that output echoing them can be redacted reliably",
                args.name,
                value.len()
            ),
            "store the real (longer) token or key",
        ));
    }
    store.set(&args.name, &value).map_err(store_error)?;
    record(ctx, "secrets.set", &args.name, store.backend(), "stored");
    println!(
        "stored {} ({} bytes) in the {} store",
        args.name,
        value.len(),
        store.backend()
    );
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Ctx, args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = store(ctx)?;
    let secrets = store.list().map_err(store_error)?;
    if args.json {
        print_json(&secrets)?;
    } else if secrets.is_empty() {
        println!(
            "no secrets in the {} store; add one with `aegisclaw secrets set NAME`",
            store.backend()
        );
    } else {
        let mut rows = vec![vec!["NAME".to_string(), "CREATED".into(), "UPDATED".into()]];
        for s in &secrets {
            rows.push(vec![
                s.name.clone(),
                format_time(s.created),
                format_time(s.updated),
            ]);
        }
        print_table(&rows)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn get(ctx: &Ctx, args: GetArgs) -> anyhow::Result<ExitCode> {
    if !args.reveal {
        return Err(with_hint(
            format!(
                "refusing to print the value of {} without --reveal",
                args.name
            ),
            format!(
                "run `aegisclaw secrets get {} --reveal` (recorded in the audit log); to give it to a program, grant secrets.access:{} to its run instead",
                args.name, args.name
            ),
        ));
    }
    let config = ctx.config()?;
    let store = open_secret_store(ctx, &config)?;
    let value = store.get(&args.name).map_err(store_error)?;
    // No record, no reveal.
    let audit = AuditLog::new(&ctx.home, AuditOptions::from(&config.audit));
    audit
        .append(&[reveal_record(&args.name, store.backend())])
        .map_err(|e| {
            with_hint(
                format!("cannot record the reveal in the audit log: {e}"),
                "fix the audit log first (see `aegisclaw doctor` and `aegisclaw logs verify`); a reveal that cannot be audited does not happen",
            )
        })?;
    let mut out = std::io::stdout().lock();
    out.write_all(&value)?;
    if out.is_terminal() {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn rm(ctx: &Ctx, args: NameArg) -> anyhow::Result<ExitCode> {
    let store = store(ctx)?;
    store.remove(&args.name).map_err(store_error)?;
    record(ctx, "secrets.rm", &args.name, store.backend(), "removed");
    println!("removed {} from the {} store", args.name, store.backend());
    Ok(ExitCode::SUCCESS)
}

fn rotate_key(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = store(ctx)?;
    let count = store.list().map_err(store_error)?.len();
    store.rotate_key().map_err(|e| match e {
        aegisclaw_secrets::Error::Unsupported { .. } => with_hint(
            e.to_string(),
            "the Vault server holds its own keys; rotate them there (`bao operator rotate` / `vault operator rotate`)",
        ),
        e => store_error(e),
    })?;
    let config = ctx.config()?;
    let audit = AuditLog::new(&ctx.home, AuditOptions::from(&config.audit));
    let entry = Record::new(actor(), "secrets.rotate_key", "allow")
        .reason("requested on the command line")
        .result(format!("{count} secrets re-encrypted"));
    if let Err(e) = audit.append(&[entry]) {
        eprintln!(
            "aegisclaw: warning: the key rotation could not be recorded in the audit log: {e}"
        );
    }
    println!(
        "re-encrypted {count} secrets under a new identity; the old identity is deleted (backups of it no longer open the store)"
    );
    Ok(ExitCode::SUCCESS)
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let data = match args.file.as_deref() {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read(p).with_context(|| format!("read {}", p.display()))?,
    };
    let findings = Scanner::global().scan_bytes(&data);
    if args.json {
        print_json(&findings)?;
    } else {
        let mut out = std::io::stdout().lock();
        for f in &findings {
            writeln!(out, "{} {}..{} {}", f.rule, f.start, f.end, f.preview)?;
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .context("read stdin")?;
    Ok(buf)
}

/// Who is at the command line, for the audit log.
fn actor() -> String {
    format!("cli:{}", crate::commands::user_name())
}

fn reveal_record(name: &SecretName, backend: &str) -> Record {
    Record::new(actor(), "secrets.reveal", "allow")
        .scope(format!("secrets.access:{name}"))
        .reason("requested on the command line with --reveal")
        .result("value printed on stdout")
        .attr("secret", name.as_str())
        .attr("backend", backend)
}

/// Records a change to the store (name only). A change already made is not undone when the
/// log cannot be written; the failure is reported.
fn record(ctx: &Ctx, action: &str, name: &SecretName, backend: &str, result: &str) {
    let entry = Record::new(actor(), action, "allow")
        .scope(format!("secrets.access:{name}"))
        .reason("requested on the command line")
        .result(result)
        .attr("secret", name.as_str())
        .attr("backend", backend);
    let written = ctx
        .config()
        .map(|config| AuditLog::new(&ctx.home, AuditOptions::from(&config.audit)))
        .and_then(|audit| audit.append(&[entry]).map_err(anyhow::Error::new));
    if let Err(e) = written {
        eprintln!(
            "aegisclaw: warning: {action} of {name} could not be recorded in the audit log: {e}"
        );
    }
}
