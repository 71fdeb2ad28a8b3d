//! Skills: what a skill is made of, who signed it, and whether that signer is trusted.
//!
//! - [`SkillDigest`]: a deterministic digest of a whole skill directory (every file, its
//!   executable bit and its path), the thing that gets signed.
//! - [`sign`] and [`verify`]: cosign-style ECDSA P-256 signatures (`skill.sig`, what
//!   `cosign sign-blob --key` produces) and minisign Ed25519 signatures (`skill.minisig`),
//!   verified offline against the [`TrustStore`].

mod digest;
mod error;
mod signature;
mod trust;

pub use digest::{SIGNATURE_FILES, SkillDigest};
pub use error::{Error, Result};
pub use signature::{SignatureStatus, generate_key_pair, sign, verify};
pub use trust::{Scheme, TrustStore, TrustedKey};
