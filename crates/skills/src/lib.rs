//! Skills: what a skill is made of, who signed it, and whether that signer is trusted.
//!
//! - [`SkillDigest`]: a deterministic digest of a whole skill directory (every file, its
//!   executable bit and its path), the thing that gets signed.
//! - [`sign`] and [`verify`]: cosign-style ECDSA P-256 signatures (`skill.sig`, what
//!   `cosign sign-blob --key` produces) and minisign Ed25519 signatures (`skill.minisig`),
//!   verified offline against the [`TrustStore`].
//! - [`Manifest`]: `skill.yaml`, strictly validated, and the [`Invocation`] of a run with its
//!   parameters substituted into the command line and the scopes.
//! - [`SkillStore`]: installed skills, re-verified every time one is loaded.

mod digest;
mod error;
mod manifest;
mod signature;
mod store;
mod trust;

pub use digest::{SIGNATURE_FILES, SkillDigest};
pub use error::{Error, Result};
pub use manifest::{
    ArgValue, Arguments, Entrypoint, Invocation, MANIFEST_FILE, Manifest, ManifestError, Network,
    Parameter, ParameterKind, Runtime, SecretRequest, SkillLimits,
};
pub use signature::{SignatureStatus, generate_key_pair, sign, verify};
pub use store::{InstallRecord, InstalledSkill, SkillStore};
pub use trust::{Scheme, TrustStore, TrustedKey};
