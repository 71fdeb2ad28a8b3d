//! Keeping secrets out of what people and logs see.
//!
//! Two tools, both fast enough to sit on every output stream:
//!
//! - [`Redactor`]: replaces *known* secret values (the ones AegisClaw holds in its store and
//!   leases to a run) with a marker naming the secret, `[REDACTED:GITHUB_TOKEN]`. It also finds
//!   the common encodings of each value: base64 (standard and URL-safe, including a value that
//!   sits at any offset inside a larger base64 message), hex, URL-encoding and JSON string
//!   escaping. [`Redactor::redact`] works on a whole text; [`Redactor::stream`] gives a
//!   [`RedactStream`] for output that arrives in chunks, which finds a value split across chunk
//!   boundaries and produces exactly what the one-shot call would. [`RedactWriter`] wraps any
//!   [`std::io::Write`].
//! - [`Scanner`]: finds *unknown* secrets by their published formats (cloud provider keys,
//!   GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, npm and PyPI tokens, private key blocks,
//!   JWTs, URLs with passwords, high-entropy values assigned to secret-like names), with checks
//!   that cut false positives: checksums where the format has one (GitHub and npm CRC-32, age
//!   bech32), entropy, placeholders such as `xxxx` or `EXAMPLE`, and structure. Each
//!   [`Finding`] has a rule id, a byte span and a preview that does not reveal the secret.
//!
//! ```
//! use aegisclaw_redact::{Redactor, Scanner};
//!
//! let mut builder = Redactor::builder();
//! builder.secret("API_KEY", b"k3y-0f-the-day")?;
//! let redactor = builder.build();
//! // The value itself, and its base64 form (`azN5LTBmLXRoZS1kYXk=`), are both replaced.
//! assert_eq!(
//!     redactor.redact("key=k3y-0f-the-day b64=azN5LTBmLXRoZS1kYXk="),
//!     "key=[REDACTED:API_KEY] b64=[REDACTED:API_KEY]"
//! );
//!
//! let findings = Scanner::global().scan("AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2");
//! assert_eq!(findings[0].rule, "aws-access-key-id");
//! # Ok::<(), aegisclaw_redact::Error>(())
//! ```

mod checks;
mod encodings;
mod error;
mod matcher;
mod redactor;
mod rules;
mod scanner;
mod stream;

pub use error::{Error, Result};
pub use redactor::{MIN_SECRET_LEN, Redactor, RedactorBuilder};
pub use scanner::{Finding, RuleInfo, Scanner};
pub use stream::{RedactStream, RedactWriter};
