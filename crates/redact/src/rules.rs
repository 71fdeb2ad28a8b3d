//! The rules of the pattern scanner, most specific first.
//!
//! Each rule is built from the token format its issuer publishes (a fixed prefix, a length, an
//! alphabet, sometimes a checksum). A rule has keywords (ASCII case-insensitive; the rule runs
//! only on input that contains one of them), a pattern whose `secret` group is the finding's
//! span, and a check that cuts false positives: a checksum where the format has one, entropy,
//! placeholders, structure.
//!
//! Order matters: when two findings overlap, the rule listed first wins, so the generic rules
//! come last.

use crate::checks::{
    age_key_ok, base62_crc32_ok, basic_auth_ok, char_classes, contains, entropy,
    is_default_password, is_placeholder, jwt_ok, pypi_ok,
};

/// What a rule's pattern captured.
#[derive(Debug)]
pub(crate) struct Candidate<'a> {
    /// The `secret` group (or the whole match).
    pub(crate) secret: &'a [u8],
    /// The `key` group: the name a value is assigned to.
    pub(crate) key: Option<&'a [u8]>,
    /// The `user` group: the user name beside a password.
    pub(crate) user: Option<&'a [u8]>,
}

/// How a rule confirms a match.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    /// Not a placeholder, and at least this many bits of entropy per character.
    Entropy(f64),
    /// A check of its own.
    Custom(fn(&Candidate<'_>) -> bool),
}

/// Extends a match past what the pattern can express: `(haystack, start, end) → new end`, or
/// `None` to drop the match.
pub(crate) type Extend = fn(&[u8], usize, usize) -> Option<usize>;

/// A test at a keyword hit: `(haystack, keyword start, keyword end) → worth searching`.
pub(crate) type Gate = fn(&[u8], usize, usize) -> bool;

/// Restricts a rule's pattern to windows around its keyword hits, for patterns the regex
/// engine cannot find quickly on its own (case-insensitive names, a literal in the middle).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Near {
    /// How far before a keyword hit a match may start.
    pub(crate) before: usize,
    /// How far after a keyword hit a match may end.
    pub(crate) after: usize,
    /// A cheap test at the hit `(haystack, keyword start, keyword end)`; the window is searched
    /// only when it passes.
    pub(crate) gate: Option<Gate>,
}

/// One rule of the scanner.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) id: &'static str,
    pub(crate) description: &'static str,
    pub(crate) keywords: &'static [&'static str],
    pub(crate) pattern: &'static str,
    pub(crate) check: Check,
    pub(crate) extend: Option<Extend>,
    /// `None`: the pattern runs over the whole input when a keyword occurs.
    pub(crate) near: Option<Near>,
}

const fn rule(
    id: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    check: Check,
) -> Rule {
    Rule {
        id,
        description,
        keywords,
        pattern,
        check,
        extend: None,
        near: None,
    }
}

/// `rule` whose pattern runs only near its keyword hits.
const fn near_rule(
    id: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    check: Check,
    near: Near,
) -> Rule {
    Rule {
        id,
        description,
        keywords,
        pattern,
        check,
        extend: None,
        near: Some(near),
    }
}

/// After a name at `end`: more name characters, an optional closing quote or bracket, spaces,
/// then `=`, `:` or `->`. Cuts keyword hits in prose and code that are not assignments.
fn assignment_follows(haystack: &[u8], _start: usize, end: usize) -> bool {
    let rest = &haystack[end..haystack.len().min(end + 64)];
    let mut i = 0;
    while i < rest.len()
        && (rest[i].is_ascii_alphanumeric() || matches!(rest[i], b'_' | b'.' | b'-'))
    {
        i += 1;
    }
    if i < rest.len() && matches!(rest[i], b'"' | b'\'' | b']') {
        i += 1;
    }
    while i < rest.len() && rest[i].is_ascii_whitespace() {
        i += 1;
    }
    match rest.get(i) {
        Some(b'=' | b':') => true,
        Some(b'-') => rest.get(i + 1) == Some(&b'>'),
        _ => false,
    }
}

/// End of a token whose alphabet has `-` and `_`: the next byte is not one of them.
macro_rules! end_dash {
    () => {
        r"(?:[^A-Za-z0-9_\-]|$)"
    };
}

pub(crate) static RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        description: "PEM or OpenSSH private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)",
        keywords: &["PRIVATE KEY"],
        pattern: r"(?P<secret>-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)",
        check: Check::Custom(|_| true),
        extend: Some(extend_private_key),
        near: None,
    },
    rule(
        "putty-private-key",
        "PuTTY private key file",
        &["PuTTY-User-Key-File"],
        r"(?s)(?P<secret>PuTTY-User-Key-File-[23]: [^\r\n]{1,64}\r?\n.{0,2000}?Private-Lines: [0-9]{1,3}\r?\n[A-Za-z0-9+/=\r\n]{40,})",
        Check::Custom(|c| !is_placeholder(c.secret)),
    ),
    rule(
        "age-secret-key",
        "age X25519 secret key (bech32 checksum verified)",
        &["AGE-SECRET-KEY-1"],
        r"(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
        Check::Custom(|c| age_key_ok(c.secret)),
    ),
    rule(
        "aws-access-key-id",
        "AWS access key id (AKIA/ASIA/…)",
        &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b",
        Check::Entropy(3.0),
    ),
    rule(
        "aws-secret-access-key",
        "AWS secret access key assigned to an AWS-named key",
        &[
            "aws",
            "secret_access_key",
            "secretaccesskey",
            "secret-access-key",
        ],
        concat!(
            r"(?i)(?P<key>aws[A-Za-z0-9_.\-]{0,24}?(?:secret|sk)[A-Za-z0-9_.\-]{0,24}|secret[_\-]?access[_\-]?key)",
            r#"["']?\s*(?:=|:=|:|=>)\s*["']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#
        ),
        Check::Custom(|c| {
            !is_placeholder(c.secret) && entropy(c.secret) >= 4.0 && char_classes(c.secret) >= 3
        }),
    ),
    rule(
        "gcp-api-key",
        "Google Cloud / Firebase API key",
        &["AIza"],
        concat!(r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})", end_dash!()),
        Check::Entropy(3.5),
    ),
    rule(
        "gcp-oauth-client-secret",
        "Google OAuth client secret",
        &["GOCSPX-"],
        concat!(r"\b(?P<secret>GOCSPX-[0-9A-Za-z_\-]{28})", end_dash!()),
        Check::Entropy(3.5),
    ),
    rule(
        "google-oauth-access-token",
        "Google OAuth access token",
        &["ya29."],
        concat!(r"\b(?P<secret>ya29\.[0-9A-Za-z_\-]{30,})", end_dash!()),
        Check::Entropy(3.8),
    ),
    rule(
        "azure-storage-account-key",
        "Azure storage account key in a connection string",
        &["AccountKey="],
        r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
        Check::Entropy(4.5),
    ),
    near_rule(
        "azure-ad-client-secret",
        "Azure AD (Entra ID) application client secret",
        &["Q~"],
        r"(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        Check::Entropy(3.8),
        Near {
            before: 6,
            after: 40,
            gate: None,
        },
    ),
    rule(
        "github-token",
        "GitHub token: personal (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server (ghs_), refresh (ghr_); CRC-32 checksum verified",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36})\b",
        Check::Custom(|c| base62_crc32_ok(c.secret)),
    ),
    rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        &["github_pat_"],
        r"\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        Check::Entropy(4.5),
    ),
    rule(
        "gitlab-token",
        "GitLab token (personal, deploy, runner, trigger, OAuth, feed, …)",
        &[
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glsoat-",
            "glffct-",
            "glcbt-",
            "glft-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glwt-",
            "GR1348941",
        ],
        concat!(
            r"\b(?P<secret>(?:(?:glpat|gldt|glrt|glptt|glsoat|glffct|glcbt|glft|glimt|glagent|gloas|glwt)-|GR1348941)",
            r"[A-Za-z0-9_\-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?)",
            end_dash!()
        ),
        Check::Entropy(3.5),
    ),
    rule(
        "slack-token",
        "Slack bot, user, app or configuration token",
        &[
            "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxo-", "xoxe", "xapp-",
        ],
        concat!(
            r"\b(?P<secret>xox[bpaors]-(?:[0-9]{6,15}-){1,3}[A-Za-z0-9]{12,64}",
            r"|xox[bpaors]-[0-9A-Za-z]{10,48}",
            r"|xoxe(?:\.xox[bp])?-1-[A-Za-z0-9]{100,300}",
            r"|xapp-[0-9]-[A-Z0-9]{8,12}-[0-9]{10,14}-[a-f0-9]{64})\b"
        ),
        Check::Custom(|c| {
            !is_placeholder(c.secret)
                && entropy(&c.secret[5..]) >= 3.0
                && c.secret.iter().any(u8::is_ascii_digit)
        }),
    ),
    rule(
        "slack-webhook",
        "Slack incoming webhook URL",
        &["hooks.slack.com"],
        r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,12}/[A-Z0-9]{8,12}/[A-Za-z0-9]{20,32})\b",
        Check::Custom(|c| !is_placeholder(c.secret)),
    ),
    rule(
        "stripe-secret-key",
        "Stripe secret or restricted key (live or test), webhook signing secret",
        &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
        r"\b(?P<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247}|whsec_[A-Za-z0-9+/=]{32,})\b",
        Check::Entropy(3.5),
    ),
    rule(
        "openai-api-key",
        "OpenAI API key (user, project, service account, admin)",
        &["sk-"],
        concat!(
            r"\b(?P<secret>sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{16,200}T3BlbkFJ[A-Za-z0-9_\-]{16,200}",
            r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,300})",
            end_dash!()
        ),
        Check::Entropy(4.0),
    ),
    rule(
        "anthropic-api-key",
        "Anthropic API, admin or OAuth key",
        &["sk-ant-"],
        concat!(
            r"\b(?P<secret>sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_\-]{32,200})",
            end_dash!()
        ),
        Check::Entropy(4.0),
    ),
    rule(
        "npm-token",
        "npm access token (CRC-32 checksum verified)",
        &["npm_"],
        r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
        Check::Custom(|c| base62_crc32_ok(c.secret)),
    ),
    rule(
        "pypi-token",
        "PyPI or TestPyPI API token (macaroon location verified)",
        &["pypi-AgE"],
        concat!(r"\b(?P<secret>pypi-AgE[A-Za-z0-9_\-]{50,})", end_dash!()),
        Check::Custom(|c| pypi_ok(c.secret)),
    ),
    rule(
        "huggingface-token",
        "Hugging Face access token",
        &["hf_", "api_org_"],
        r"\b(?P<secret>(?:hf|api_org)_[A-Za-z]{34})\b",
        Check::Custom(|c| {
            let body = &c.secret[c.secret.len() - 34..];
            !is_placeholder(body)
                && entropy(body) >= 4.0
                && char_classes(body) >= 2
                && !contains(body, b"_")
        }),
    ),
    rule(
        "sendgrid-api-key",
        "SendGrid API key",
        &["SG."],
        concat!(
            r"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})",
            end_dash!()
        ),
        Check::Entropy(4.0),
    ),
    rule(
        "twilio-api-key",
        "Twilio API key",
        &["SK"],
        r"\b(?P<secret>SK[0-9a-f]{32})\b",
        Check::Entropy(3.3),
    ),
    rule(
        "digitalocean-token",
        "DigitalOcean personal, OAuth or refresh token",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        r"\b(?P<secret>do[opr]_v1_[a-f0-9]{64})\b",
        Check::Entropy(3.5),
    ),
    rule(
        "shopify-token",
        "Shopify access token or shared secret",
        &["shpat_", "shpca_", "shppa_", "shpss_"],
        r"\b(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        Check::Entropy(3.3),
    ),
    rule(
        "telegram-bot-token",
        "Telegram bot token",
        &[":AA"],
        concat!(
            r"\b(?P<secret>[0-9]{8,10}:AA[0-9A-Za-z_\-]{33})",
            end_dash!()
        ),
        Check::Entropy(3.8),
    ),
    rule(
        "discord-webhook",
        "Discord webhook URL",
        &["/api/webhooks/"],
        concat!(
            r"(?P<secret>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,80})",
            end_dash!()
        ),
        Check::Custom(|c| !is_placeholder(c.secret)),
    ),
    rule(
        "hashicorp-vault-token",
        "HashiCorp Vault / OpenBao service, batch or recovery token",
        &["hvs.", "hvb.", "hvr."],
        concat!(r"\b(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,})", end_dash!()),
        Check::Entropy(4.0),
    ),
    rule(
        "terraform-cloud-token",
        "Terraform Cloud / Enterprise API token",
        &[".atlasv1."],
        r"\b(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70})",
        Check::Entropy(4.0),
    ),
    rule(
        "databricks-token",
        "Databricks personal access token",
        &["dapi"],
        r"\b(?P<secret>dapi[a-f0-9]{32}(?:-[0-9])?)\b",
        Check::Entropy(3.3),
    ),
    rule(
        "groq-api-key",
        "Groq API key",
        &["gsk_"],
        r"\b(?P<secret>gsk_[A-Za-z0-9]{52})\b",
        Check::Entropy(4.0),
    ),
    rule(
        "xai-api-key",
        "xAI API key",
        &["xai-"],
        r"\b(?P<secret>xai-[A-Za-z0-9]{80})\b",
        Check::Entropy(4.0),
    ),
    rule(
        "linear-api-key",
        "Linear API key",
        &["lin_api_"],
        r"\b(?P<secret>lin_api_[A-Za-z0-9]{40})\b",
        Check::Entropy(4.0),
    ),
    rule(
        "replicate-api-token",
        "Replicate API token",
        &["r8_"],
        r"\b(?P<secret>r8_[A-Za-z0-9]{37})\b",
        Check::Entropy(4.0),
    ),
    rule(
        "postman-api-key",
        "Postman API key",
        &["PMAK-"],
        r"\b(?P<secret>PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
        Check::Entropy(3.3),
    ),
    rule(
        "doppler-token",
        "Doppler token",
        &[
            "dp.pt.",
            "dp.st.",
            "dp.sa.",
            "dp.ct.",
            "dp.scim.",
            "dp.audit.",
        ],
        r"\b(?P<secret>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})\b",
        Check::Entropy(4.0),
    ),
    rule(
        "sentry-token",
        "Sentry organisation or user auth token",
        &["sntrys_", "sntryu_"],
        r"\b(?P<secret>sntrys_[A-Za-z0-9+/=_]{60,}|sntryu_[a-f0-9]{64})",
        Check::Entropy(3.5),
    ),
    rule(
        "heroku-api-key",
        "Heroku API key (new format)",
        &["HRKU-"],
        concat!(r"\b(?P<secret>HRKU-[A-Za-z0-9_\-]{60})", end_dash!()),
        Check::Entropy(4.0),
    ),
    rule(
        "mailchimp-api-key",
        "Mailchimp API key",
        &["-us"],
        r"\b(?P<secret>[0-9a-f]{32}-us[0-9]{1,2})\b",
        Check::Entropy(3.3),
    ),
    rule(
        "square-token",
        "Square access token or OAuth secret",
        &["sq0atp-", "sq0csp-", "EAAA"],
        concat!(
            r"\b(?P<secret>sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}|EAAA[A-Za-z0-9_\-]{60})",
            end_dash!()
        ),
        Check::Entropy(3.8),
    ),
    rule(
        "atlassian-api-token",
        "Atlassian API token",
        &["ATATT3"],
        concat!(r"\b(?P<secret>ATATT3[A-Za-z0-9_\-=]{150,})", end_dash!()),
        Check::Entropy(4.0),
    ),
    rule(
        "jwt",
        "JSON Web Token (header and payload decode to JSON)",
        &["eyJ"],
        concat!(
            r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})",
            end_dash!()
        ),
        Check::Custom(|c| jwt_ok(c.secret)),
    ),
    near_rule(
        "database-url",
        "database or broker connection URL with a password",
        &[
            "postgres",
            "mysql",
            "mariadb",
            "mongodb",
            "redis",
            "amqp",
            "mssql",
            "sqlserver",
            "oracle",
            "db2",
            "clickhouse",
            "cockroach",
            "couchdb",
            "neo4j",
            "bolt",
            "cassandra",
            "nats",
            "kafka",
            "jdbc:",
        ],
        concat!(
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|db2|clickhouse|cockroachdb|couchdbs?|neo4j(?:\+s)?|bolt|cassandra|nats|kafka|jdbc:[a-z0-9]+)",
            r#"://(?P<user>[^\s:/@'"`]{0,64}):(?P<secret>[^\s@'"`/]{1,128})@[A-Za-z0-9.\-_\[\]]+"#
        ),
        Check::Custom(url_password_ok),
        Near {
            before: 8,
            after: 400,
            gate: None,
        },
    ),
    near_rule(
        "url-credentials",
        "URL with a user name and password",
        &["://"],
        r#"(?i)\b(?:https?|ftps?|sftp|smtps?|imaps?|git|ssh|ldaps?|svn|ws|wss)://(?P<user>[^\s:/@'"`]{1,64}):(?P<secret>[^\s@'"`/]{3,128})@[A-Za-z0-9.\-_\[\]]+"#,
        Check::Custom(url_password_ok),
        Near {
            before: 8,
            after: 400,
            gate: None,
        },
    ),
    near_rule(
        "authorization-bearer",
        "bearer token in an Authorization header",
        &["authorization"],
        r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|token)\s+(?P<secret>[A-Za-z0-9._~+/\-]{16,}=*)"#,
        Check::Custom(|c| {
            !is_placeholder(c.secret) && entropy(c.secret) >= 3.5 && char_classes(c.secret) >= 2
        }),
        Near {
            before: 8,
            after: 1200,
            gate: Some(assignment_follows),
        },
    ),
    near_rule(
        "authorization-basic",
        "HTTP Basic credentials in an Authorization header",
        &["authorization"],
        r#"(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"#,
        Check::Custom(|c| basic_auth_ok(c.secret)),
        Near {
            before: 8,
            after: 400,
            gate: Some(assignment_follows),
        },
    ),
    near_rule(
        "generic-secret",
        "high-entropy value assigned to a secret-like name (password, token, api_key, …)",
        &[
            "secret",
            "token",
            "pass",
            "pwd",
            "key",
            "auth",
            "credential",
        ],
        concat!(
            r#"(?i)(?P<key>[A-Za-z0-9_.\-]{0,40}(?:secret|token|pass|pwd|key|auth|credential)[A-Za-z0-9_.\-]{0,40})"#,
            r#"["'\]]?\s*(?:=|:=|:|=>|->)\s*"#,
            r#"(?:"(?P<secret>[^"\r\n]{6,300})"|'(?P<secret2>[^'\r\n]{6,300})'|`(?P<secret3>[^`\r\n]{6,300})`|["'`]?(?P<secret4>[^\s"'`,;)}\]<>]{6,300}))"#
        ),
        Check::Custom(generic_ok),
        Near {
            before: 48,
            after: 420,
            gate: Some(assignment_follows),
        },
    ),
];

/// A password in a URL: not a placeholder, a variable, a default, or the user name again.
fn url_password_ok(c: &Candidate<'_>) -> bool {
    let password = c.secret;
    if c.user.is_some_and(|u| u.eq_ignore_ascii_case(password)) {
        return false;
    }
    password.len() >= 3
        && !is_placeholder(password)
        && !is_default_password(password)
        && !password.starts_with(b"$")
        && !password.starts_with(b"%")
        && !password.starts_with(b":")
        && !password.iter().all(|&b| b == b'*')
}

/// Values assigned to secret-like names that are code, not credentials.
fn is_reference(v: &[u8]) -> bool {
    let lower = v.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "process.env",
        "os.environ",
        "getenv",
        "env(",
        "env[",
        "env.",
        "secrets.",
        "vault:",
        "keyring",
        "()",
        "::",
        "->",
        "/run/secrets",
        "://",
        "[",
    ];
    if MARKERS.iter().any(|m| contains(&lower, m.as_bytes())) {
        return true;
    }
    if matches!(v.first(), Some(b'$' | b'%' | b'{' | b'(' | b'[' | b'<')) {
        return true;
    }
    // `&config.token`, `@token`, `*ptr`, `./file`, `~/.aws/credentials`: code or a path.
    if matches!(
        v.first(),
        Some(b'@' | b'&' | b'*' | b'/' | b'~' | b'.' | b'!')
    ) && v[1..]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
    {
        return true;
    }
    // A dotted identifier path (`config.api_key`, `self.token`) or a call.
    let ident = |part: &[u8]| {
        !part.is_empty()
            && !part[0].is_ascii_digit()
            && part.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let parts: Vec<&[u8]> = v.split(|&b| b == b'.').collect();
    parts.len() >= 2 && parts.iter().all(|p| ident(p)) && !v.iter().any(u8::is_ascii_digit)
        || v.ends_with(b"(")
        || contains(v, b"(")
}

/// Words that are values of secret-like keys in code and config but not secrets.
fn is_keyword_value(v: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "true",
        "false",
        "null",
        "none",
        "nil",
        "undefined",
        "required",
        "optional",
        "string",
        "boolean",
        "integer",
        "number",
        "object",
        "secret",
        "password",
        "token",
        "hidden",
        "masked",
        "private",
        "public",
        "bearer",
        "basic",
        "default",
        "unknown",
        "missing",
        "invalid",
        "expired",
        "disabled",
        "enabled",
    ];
    let lower = v.to_ascii_lowercase();
    WORDS.iter().any(|w| lower == w.as_bytes())
}

/// What a key name says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Password,
    Secret,
}

/// Splits a key name into lower-case words at `_ - . space` and camelCase humps.
fn key_words(key: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        word.push(char::from(b.to_ascii_lowercase()));
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Words of a key name that say the value is metadata about a secret, not the secret.
const META_WORDS: &[&str] = &[
    "name",
    "length",
    "len",
    "count",
    "size",
    "max",
    "min",
    "type",
    "field",
    "policy",
    "format",
    "pattern",
    "regex",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "ttl",
    "timeout",
    "url",
    "uri",
    "endpoint",
    "file",
    "path",
    "dir",
    "header",
    "prefix",
    "label",
    "hint",
    "env",
    "version",
    "hash",
    "hashed",
    "digest",
    "algorithm",
    "alg",
    "method",
    "mode",
    "scope",
    "scopes",
    "provider",
    "manager",
    "ref",
    "arn",
    "enabled",
    "required",
    "rotation",
    "id",
    "ids",
    "location",
    "reset",
    "confirm",
    "confirmation",
    "strength",
    "salt",
    "public",
    "pub",
];

fn key_kind(key: &[u8]) -> Option<KeyKind> {
    let words = key_words(key);
    if words.iter().any(|w| META_WORDS.contains(&w.as_str())) {
        return None;
    }
    let is = |w: &str, options: &[&str]| options.contains(&w);
    let password = words.iter().any(|w| {
        is(
            w,
            &["pass", "passwd", "password", "passphrase", "pwd", "pw"],
        ) || w.ends_with("password")
            || w.ends_with("passwd")
    });
    if password {
        return Some(KeyKind::Password);
    }
    let secret = words.iter().enumerate().any(|(i, w)| {
        let next = words.get(i + 1).map(String::as_str);
        is(
            w,
            &[
                "secret",
                "token",
                "apikey",
                "credential",
                "credentials",
                "auth",
                "creds",
            ],
        ) || w.ends_with("secret")
            || w.ends_with("token")
            || w.ends_with("apikey")
            || (is(
                w,
                &[
                    "api",
                    "access",
                    "auth",
                    "private",
                    "signing",
                    "encryption",
                    "master",
                    "secret",
                    "client",
                    "app",
                    "license",
                    "account",
                ],
            ) && next == Some("key"))
            || (w == "client" && next == Some("secret"))
    });
    secret.then_some(KeyKind::Secret)
}

/// Values with a prefix whose format has a checksum or a verified structure: when the specific
/// rule rejected them, the generic rule must not report them either.
fn has_verified_prefix(v: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"ghp_",
        b"gho_",
        b"ghu_",
        b"ghs_",
        b"ghr_",
        b"npm_",
        b"AGE-SECRET-KEY-",
        b"pypi-",
    ];
    PREFIXES.iter().any(|p| v.starts_with(p))
}

/// Identifiers such as `my-app-db-credentials` or `bert-base-uncased`: separated parts that are
/// each lower-case letters or a short number.
fn is_wordy(v: &[u8]) -> bool {
    let parts: Vec<&[u8]> = v
        .split(|&b| matches!(b, b'-' | b'_' | b'.' | b'/' | b' ' | b':'))
        .filter(|p| !p.is_empty())
        .collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            p.iter().all(u8::is_ascii_lowercase)
                || (p.len() <= 4 && p.iter().all(u8::is_ascii_digit))
        })
}

/// The generic assignment rule: a password-like name takes a value of moderate entropy with
/// several character classes; a token- or key-like name takes a long, high-entropy value.
fn generic_ok(c: &Candidate<'_>) -> bool {
    let v = c.secret;
    let Some(kind) = key_kind(c.key.unwrap_or_default()) else {
        return false;
    };
    if is_placeholder(v)
        || is_reference(v)
        || is_keyword_value(v)
        || is_default_password(v)
        || has_verified_prefix(v)
        || is_wordy(v)
    {
        return false;
    }
    let classes = char_classes(v);
    let bits = entropy(v);
    let hex = v.iter().all(u8::is_ascii_hexdigit);
    match kind {
        KeyKind::Password => {
            v.len() >= 8 && bits >= 2.8 && classes >= 2 && (classes >= 3 || v.len() >= 10)
        }
        KeyKind::Secret if hex => v.len() >= 32 && bits >= 3.0,
        KeyKind::Secret => v.len() >= 16 && bits >= 3.5 && classes >= 2,
    }
}

/// A private key block: the header, then base64 body lines (or `\n`-escaped ones inside a JSON
/// string), then the matching END line. Without an END line, the block runs to the end of the
/// body lines. At least 64 base64 characters of body are required (cuts a `-----BEGIN … KEY-----`
/// mentioned in prose or followed by `...`).
fn extend_private_key(haystack: &[u8], _start: usize, end: usize) -> Option<usize> {
    const LIMIT: usize = 64 * 1024;
    let window = &haystack[end..haystack.len().min(end + LIMIT)];
    if let Some(pos) = find(window, b"-----END")
        && !contains(&window[..pos], b"-----BEGIN")
    {
        let close = window[pos + 8..]
            .windows(5)
            .position(|w| w == b"-----")
            .filter(|&p| p <= 60)?;
        let mut body = Vec::new();
        for (a, b) in lines(&window[..pos]) {
            let line = &window[a..b];
            if !line.contains(&b':') {
                body.extend(line.iter().filter(|&&c| is_base64(c)));
            }
        }
        return body_ok(&body).then_some(end + pos + 8 + close + 5);
    }
    let mut body = Vec::new();
    let mut body_end = 0;
    for (a, b) in lines(window) {
        let line = window[a..b].trim_ascii();
        let line = trim_quotes(line);
        if line.is_empty() {
            continue;
        }
        if line.iter().all(|&c| is_base64(c)) {
            body.extend_from_slice(line);
            body_end = b;
        } else if body.is_empty() && line.contains(&b':') {
            continue;
        } else {
            break;
        }
    }
    body_ok(&body).then_some(end + body_end)
}

/// A body line inside string concatenation: `"MIIE…" +` or `'MIIE…',`.
fn trim_quotes(mut line: &[u8]) -> &[u8] {
    let junk = |c: &u8| matches!(c, b'"' | b'\'' | b',' | b'+' | b' ' | b'\t');
    while let Some((first, rest)) = line.split_first()
        && junk(first)
    {
        line = rest;
    }
    while let Some((last, rest)) = line.split_last()
        && junk(last)
    {
        line = rest;
    }
    line
}

fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Line ranges of `s`, split at real line breaks and at the two-character escapes `\n` and
/// `\r` (a key inside a JSON string).
fn lines(s: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut begin = 0;
    let mut i = 0;
    while i < s.len() {
        let escaped = s[i] == b'\\' && matches!(s.get(i + 1), Some(b'n' | b'r'));
        if s[i] == b'\n' || s[i] == b'\r' || escaped {
            out.push((begin, i));
            i += if escaped { 2 } else { 1 };
            begin = i;
        } else {
            i += 1;
        }
    }
    out.push((begin, s.len()));
    out
}

/// Key bodies are random base64, but DER and OpenSSH encodings have long runs of `A`, so the
/// run-of-equal-characters placeholder test does not apply here.
fn body_ok(body: &[u8]) -> bool {
    let lower = body.to_ascii_lowercase();
    body.len() >= 64
        && entropy(body) >= 4.5
        && !contains(&lower, b"example")
        && !contains(&lower, b"xxxxxxxx")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert!(ids.iter().all(|id| {
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(RULES.iter().all(|r| !r.keywords.is_empty()));
    }
}
