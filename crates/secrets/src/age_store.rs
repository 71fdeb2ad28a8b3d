//! The local store: one age-encrypted file under `secrets/`, its identity under `keys/`.
//!
//! The identity is age's hybrid post-quantum one (ML-KEM-768 combined with X25519,
//! `AGE-SECRET-KEY-PQ-1…`): the age crate deprecates plain X25519 for new recipients, and a
//! store file that leaks into a backup should stay closed to a future quantum computer too.
//!
//! ```text
//! keys/secrets.age-identity        the identity (0600), never visible in a sandbox
//! keys/secrets.age-identity.next   only while a key rotation is under way
//! secrets/store.age                every secret, encrypted to the identity's recipient
//! secrets/store.age.prev           the version before the last write (the same key)
//! secrets/.lock                    serialises every operation (flock)
//! ```
//!
//! Every change decrypts the whole store, changes it in memory and writes it back with
//! [`aegisclaw_core::fs::write_atomic`] (temporary file, fsync, rename, fsync of the directory)
//! under an exclusive lock, so concurrent writers (threads or processes) never lose each other's
//! changes. A store that cannot be decrypted or parsed is reported and never overwritten.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, sync_dir, write_atomic};
use aegisclaw_core::{Home, SecretName};
use age::pq;
use age::secrecy::ExposeSecret;
use nix::fcntl::{Flock, FlockArg};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{SecretInfo, Store, format_time};

const IDENTITY_FILE: &str = "secrets.age-identity";
const STORE_FILE: &str = "store.age";
const LOCK_FILE: &str = ".lock";
/// First bytes of the decrypted store, then a format version.
const MAGIC: &[u8] = b"AEGISCLAW-SECRETS\0";
const FORMAT_VERSION: u8 = 1;

/// Where the store's files are.
#[derive(Debug, Clone)]
struct Paths {
    identity: PathBuf,
    store: PathBuf,
    lock: PathBuf,
}

/// The local age store. See the module documentation for the layout.
#[derive(Clone)]
pub struct AgeStore {
    paths: Paths,
    /// Unlocks an identity file that is itself encrypted (age scrypt); also used to encrypt
    /// new identities (init, rotation) when set.
    passphrase: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeStore")
            .field("paths", &self.paths)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The first bytes of an age file (an identity protected by a passphrase is one).
const AGE_HEADER: &[u8] = b"age-encryption.org/";

/// What [`AgeStore::init`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// A new identity and an empty store were created.
    Created,
    /// Both existed already; nothing was changed.
    AlreadyInitialised,
}

/// One stored secret, as held in memory while the store is open.
struct Entry {
    value: Zeroizing<Vec<u8>>,
    created: u64,
    updated: u64,
}

/// The decrypted store, and the ciphertext it came from (kept as the previous version on the
/// next write).
struct Loaded {
    entries: BTreeMap<String, Entry>,
    ciphertext: Vec<u8>,
    identity: pq::Identity,
}

/// Proof that the store's exclusive lock is held; released on drop.
struct Guard {
    _lock: Flock<File>,
}

impl AgeStore {
    /// The store of `home` (its files need not exist yet).
    pub fn new(home: &Home) -> Self {
        let secrets = home.secrets_dir();
        Self {
            paths: Paths {
                identity: home.keys_dir().join(IDENTITY_FILE),
                store: secrets.join(STORE_FILE),
                lock: secrets.join(LOCK_FILE),
            },
            passphrase: None,
        }
    }

    /// The passphrase that unlocks a protected identity (see [`AgeStore::init_protected`]).
    #[must_use]
    pub fn with_passphrase(mut self, passphrase: Zeroizing<String>) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// Whether the identity file is protected by a passphrase (it is then an age file itself).
    pub fn is_protected(&self) -> Result<bool> {
        let mut head = [0u8; AGE_HEADER.len()];
        let mut file = File::open(&self.paths.identity).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotInitialised {
                path: self.paths.identity.clone(),
            },
            _ => Error::io("open", &self.paths.identity, e),
        })?;
        Ok(match file.read_exact(&mut head) {
            Ok(()) => head == AGE_HEADER,
            Err(_) => false,
        })
    }

    /// Opens an initialised store; [`Error::NotInitialised`] when `secrets init` has not run.
    pub fn open(home: &Home) -> Result<Self> {
        let store = Self::new(home);
        for path in [&store.paths.identity, &store.paths.store] {
            if !path.exists() {
                return Err(Error::NotInitialised { path: path.clone() });
            }
        }
        Ok(store)
    }

    /// Creates the identity (0600) and an empty store when they do not exist. Never replaces an
    /// existing identity or store; refuses when a store exists without its identity.
    pub fn init(home: &Home) -> Result<(Self, InitOutcome)> {
        Self::init_store(Self::new(home), home)
    }

    /// Like [`AgeStore::init`], but a new identity file is encrypted with `passphrase` (age's
    /// scrypt passphrase encryption): every later use needs it, see
    /// [`AgeStore::with_passphrase`]. An existing identity is left as it is.
    pub fn init_protected(
        home: &Home,
        passphrase: Zeroizing<String>,
    ) -> Result<(Self, InitOutcome)> {
        Self::init_store(Self::new(home).with_passphrase(passphrase), home)
    }

    fn init_store(store: Self, home: &Home) -> Result<(Self, InitOutcome)> {
        ensure_private_dir(&home.keys_dir())?;
        ensure_private_dir(&home.secrets_dir())?;
        let _guard = store.lock()?;
        let have_identity = store.paths.identity.exists();
        let have_store = store.paths.store.exists();
        let outcome = match (have_identity, have_store) {
            (true, true) => InitOutcome::AlreadyInitialised,
            (false, true) => {
                return Err(Error::BadIdentity {
                    path: store.paths.identity.clone(),
                    reason: format!(
                        "the file is missing but the store {} exists; restore the identity from a backup (a new one could not decrypt the store)",
                        store.paths.store.display()
                    ),
                });
            }
            (false, false) => {
                let identity = pq::Identity::generate();
                store.write_identity(&store.paths.identity, &identity)?;
                store.write_store(&BTreeMap::new(), None, &identity.to_public())?;
                InitOutcome::Created
            }
            (true, false) => {
                store.write_store(&BTreeMap::new(), None, &store.recipient()?)?;
                InitOutcome::Created
            }
        };
        Ok((store, outcome))
    }

    /// The identity file.
    pub fn identity_path(&self) -> &Path {
        &self.paths.identity
    }

    /// The encrypted store file.
    pub fn store_path(&self) -> &Path {
        &self.paths.store
    }

    /// The public half of the identity (`age1pq1…`), the recipient the store is encrypted to.
    pub fn recipient(&self) -> Result<pq::Recipient> {
        Ok(self.read_identity(&self.paths.identity)?.to_public())
    }

    fn next_identity_path(&self) -> PathBuf {
        with_suffix(&self.paths.identity, ".next")
    }

    fn prev_store_path(&self) -> PathBuf {
        with_suffix(&self.paths.store, ".prev")
    }

    fn lock(&self) -> Result<Guard> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&self.paths.lock)
            .map_err(|e| Error::io("open the lock file", &self.paths.lock, e))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
            Error::io("lock", &self.paths.lock, std::io::Error::from(errno))
        })?;
        Ok(Guard { _lock: lock })
    }

    fn write_identity(&self, path: &Path, identity: &pq::Identity) -> Result<()> {
        let text = Zeroizing::new(format!(
            "# AegisClaw secret store identity (age, hybrid ML-KEM-768 + X25519); keep it secret, keep a backup\n# created: {}\n{}\n",
            format_time(SystemTime::now()),
            identity.to_string().expose_secret()
        ));
        match &self.passphrase {
            None => write_atomic(path, text.as_bytes(), PRIVATE_FILE_MODE)?,
            Some(passphrase) => {
                let recipient = age::scrypt::Recipient::new(passphrase.as_str().to_owned().into());
                let sealed = age::encrypt(&recipient, text.as_bytes())
                    .map_err(|e| Error::Encrypt(e.to_string()))?;
                write_atomic(path, &sealed, PRIVATE_FILE_MODE)?;
            }
        }
        Ok(())
    }

    fn read_identity(&self, path: &Path) -> Result<pq::Identity> {
        let mut file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotInitialised {
                path: path.to_path_buf(),
            },
            _ => Error::io("open", path, e),
        })?;
        let mode = file
            .metadata()
            .map_err(|e| Error::io("inspect", path, e))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        let mut raw = Zeroizing::new(Vec::new());
        file.read_to_end(&mut raw)
            .map_err(|e| Error::io("read", path, e))?;
        let raw = if raw.starts_with(AGE_HEADER) {
            let passphrase = self
                .passphrase
                .as_ref()
                .ok_or_else(|| Error::PassphraseRequired {
                    path: path.to_path_buf(),
                })?;
            let identity = age::scrypt::Identity::new(passphrase.as_str().to_owned().into());
            Zeroizing::new(
                age::decrypt(&identity, &raw).map_err(|_| Error::WrongPassphrase {
                    path: path.to_path_buf(),
                })?,
            )
        } else {
            raw
        };
        let text = std::str::from_utf8(&raw).map_err(|_| Error::BadIdentity {
            path: path.to_path_buf(),
            reason: "not text".into(),
        })?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| Error::BadIdentity {
                path: path.to_path_buf(),
                reason: "no AGE-SECRET-KEY-PQ-1… line".into(),
            })?;
        pq::Identity::from_str(line).map_err(|reason| Error::BadIdentity {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        })
    }

    /// Finishes (or discards) a key rotation that a crash interrupted: the store is encrypted
    /// either to the current identity (the new one is discarded) or to the next one (it
    /// becomes current). Runs under the lock.
    fn recover(&self, _guard: &Guard) -> Result<()> {
        let next = self.next_identity_path();
        if !next.exists() || !self.paths.store.exists() {
            return Ok(());
        }
        let ciphertext = self.read_store_file()?;
        let current = self.read_identity(&self.paths.identity)?;
        if decrypt(&ciphertext, &current).is_ok() {
            fs::remove_file(&next).map_err(|e| Error::io("remove", &next, e))?;
        } else {
            let new = self.read_identity(&next)?;
            if decrypt(&ciphertext, &new).is_ok() {
                fs::rename(&next, &self.paths.identity)
                    .map_err(|e| Error::io("rename", &next, e))?;
            }
        }
        sync_dir(parent(&self.paths.identity))?;
        Ok(())
    }

    fn read_store_file(&self) -> Result<Vec<u8>> {
        fs::read(&self.paths.store).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotInitialised {
                path: self.paths.store.clone(),
            },
            _ => Error::io("read", &self.paths.store, e),
        })
    }

    /// Locks, recovers an interrupted rotation, decrypts and parses the store.
    fn load(&self) -> Result<(Guard, Loaded)> {
        let guard = self.lock()?;
        self.recover(&guard)?;
        let identity = self.read_identity(&self.paths.identity)?;
        let ciphertext = self.read_store_file()?;
        let plain = decrypt(&ciphertext, &identity).map_err(|reason| Error::Undecryptable {
            path: self.paths.store.clone(),
            identity: self.paths.identity.clone(),
            reason,
        })?;
        let entries = parse(&plain).map_err(|reason| Error::Corrupt {
            path: self.paths.store.clone(),
            reason,
        })?;
        Ok((
            guard,
            Loaded {
                entries,
                ciphertext,
                identity,
            },
        ))
    }

    /// Encrypts `entries` to `recipient` and replaces the store; `previous` (the ciphertext
    /// being replaced, known to decrypt) is kept as `store.age.prev` first.
    fn write_store(
        &self,
        entries: &BTreeMap<String, Entry>,
        previous: Option<&[u8]>,
        recipient: &pq::Recipient,
    ) -> Result<Vec<u8>> {
        let plain = serialise(entries);
        let ciphertext =
            age::encrypt(recipient, &plain).map_err(|e| Error::Encrypt(e.to_string()))?;
        if let Some(previous) = previous {
            write_atomic(&self.prev_store_path(), previous, PRIVATE_FILE_MODE)?;
        }
        write_atomic(&self.paths.store, &ciphertext, PRIVATE_FILE_MODE)?;
        Ok(ciphertext)
    }

    fn modify<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Entry>) -> Result<T>,
    ) -> Result<T> {
        let (_guard, mut loaded) = self.load()?;
        let out = change(&mut loaded.entries)?;
        let recipient = loaded.identity.to_public();
        self.write_store(&loaded.entries, Some(&loaded.ciphertext), &recipient)?;
        Ok(out)
    }
}

impl Store for AgeStore {
    fn backend(&self) -> &'static str {
        "age"
    }

    fn get(&self, name: &SecretName) -> Result<Zeroizing<Vec<u8>>> {
        let (_guard, loaded) = self.load()?;
        loaded
            .entries
            .get(name.as_str())
            .map(|e| e.value.clone())
            .ok_or_else(|| not_found(name))
    }

    fn set(&self, name: &SecretName, value: &[u8]) -> Result<()> {
        let now = unix_now();
        self.modify(|entries| {
            let created = entries.get(name.as_str()).map_or(now, |e| e.created);
            entries.insert(
                name.as_str().to_string(),
                Entry {
                    value: Zeroizing::new(value.to_vec()),
                    created,
                    updated: now,
                },
            );
            Ok(())
        })
    }

    fn list(&self) -> Result<Vec<SecretInfo>> {
        let (_guard, loaded) = self.load()?;
        Ok(loaded
            .entries
            .iter()
            .map(|(name, e)| SecretInfo {
                name: name.clone(),
                created: from_unix(e.created),
                updated: from_unix(e.updated),
            })
            .collect())
    }

    fn remove(&self, name: &SecretName) -> Result<()> {
        self.modify(|entries| {
            entries
                .remove(name.as_str())
                .map(drop)
                .ok_or_else(|| not_found(name))
        })
    }

    /// Generates a new identity, re-encrypts the store to it and replaces the old identity.
    ///
    /// Crash-safe: the new identity is written beside the old one first, then the store, then
    /// the new identity is renamed over the old; whichever step a crash interrupts, the next
    /// operation finds the identity that decrypts the store and finishes or undoes the rotation.
    fn rotate_key(&self) -> Result<()> {
        let (guard, loaded) = self.load()?;
        let new = pq::Identity::generate();
        let next = self.next_identity_path();
        self.write_identity(&next, &new)?;
        let ciphertext = self.write_store(&loaded.entries, None, &new.to_public())?;
        // The previous version must stay readable with the identity that remains.
        write_atomic(&self.prev_store_path(), &ciphertext, PRIVATE_FILE_MODE)?;
        fs::rename(&next, &self.paths.identity).map_err(|e| Error::io("rename", &next, e))?;
        sync_dir(parent(&self.paths.identity))?;
        drop(guard);
        Ok(())
    }
}

fn not_found(name: &SecretName) -> Error {
    Error::NotFound {
        name: name.to_string(),
        backend: "age",
    }
}

fn decrypt(ciphertext: &[u8], identity: &pq::Identity) -> Result<Zeroizing<Vec<u8>>, String> {
    age::decrypt(identity, ciphertext)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// The plaintext format: `MAGIC`, a version byte, a u32 count, then per entry a u16 name length,
/// the name, u64 created, u64 updated (Unix seconds), a u32 value length and the value; all
/// integers little-endian. No intermediate copies of values outside zeroized buffers.
fn serialise(entries: &BTreeMap<String, Entry>) -> Zeroizing<Vec<u8>> {
    let size = MAGIC.len()
        + 5
        + entries
            .iter()
            .map(|(n, e)| 2 + n.len() + 16 + 4 + e.value.len())
            .sum::<usize>();
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (name, e) in entries {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&e.created.to_le_bytes());
        out.extend_from_slice(&e.updated.to_le_bytes());
        out.extend_from_slice(&(e.value.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.value);
    }
    out
}

struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.data.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
}

fn parse(plain: &[u8]) -> Result<BTreeMap<String, Entry>, String> {
    let mut r = Reader { data: plain };
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not an AegisClaw secret store".into());
    }
    let version = r.array::<1>()?[0];
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version} is not supported (this build reads {FORMAT_VERSION})"
        ));
    }
    let count = u32::from_le_bytes(r.array()?);
    let mut entries = BTreeMap::new();
    for _ in 0..count {
        let len = u16::from_le_bytes(r.array()?) as usize;
        let name = std::str::from_utf8(r.take(len)?)
            .map_err(|_| "a secret name is not UTF-8".to_string())?;
        SecretName::parse(name)?;
        let created = u64::from_le_bytes(r.array()?);
        let updated = u64::from_le_bytes(r.array()?);
        let len = u32::from_le_bytes(r.array()?) as usize;
        let value = Zeroizing::new(r.take(len)?.to_vec());
        if entries
            .insert(
                name.to_string(),
                Entry {
                    value,
                    created,
                    updated,
                },
            )
            .is_some()
        {
            return Err(format!("secret {name} appears twice"));
        }
    }
    if !r.data.is_empty() {
        return Err("trailing bytes after the last secret".into());
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn format_round_trips_and_rejects_damage() {
        let mut entries = BTreeMap::new();
        entries.insert(
            "A".to_string(),
            Entry {
                value: Zeroizing::new(b"\x00binary\xff".to_vec()),
                created: 1,
                updated: 2,
            },
        );
        entries.insert(
            "B_2".to_string(),
            Entry {
                value: Zeroizing::new(Vec::new()),
                created: 3,
                updated: 4,
            },
        );
        let plain = serialise(&entries);
        let back = parse(&plain).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(&back["A"].value[..], b"\x00binary\xff");
        assert_eq!((back["B_2"].created, back["B_2"].updated), (3, 4));
        // Every truncation is an error, never a partial store.
        for cut in 0..plain.len() {
            assert!(parse(&plain[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = plain.to_vec();
        extra.push(0);
        assert!(parse(&extra).is_err());
    }
}
