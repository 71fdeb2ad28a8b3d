//! The local age store, attacked: wrong key, damage, concurrent writers, loose permissions, and
//! a search of the whole home for the plaintext.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;

use aegisclaw_core::Home;
use aegisclaw_secrets::{AgeStore, Error, InitOutcome, Store};
use base64::Engine as _;

use super::{name, temp_home};

fn init(home: &Home) -> AgeStore {
    let (store, outcome) = AgeStore::init(home).unwrap();
    assert_eq!(outcome, InitOutcome::Created);
    store
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn identity_of(path: &Path) -> age::pq::Identity {
    let text = fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    age::pq::Identity::from_str(line).unwrap()
}

#[test]
fn values_round_trip_and_dates_are_kept() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    let binary: Vec<u8> = (0..=255u8).collect();
    store.set(&name("BINARY"), &binary).unwrap();
    store.set(&name("API_KEY"), b"first-value").unwrap();
    assert_eq!(&store.get(&name("BINARY")).unwrap()[..], &binary[..]);
    assert_eq!(&store.get(&name("API_KEY")).unwrap()[..], b"first-value");

    let before = store.list().unwrap();
    let names: Vec<_> = before.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["API_KEY", "BINARY"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    store.set(&name("API_KEY"), b"second-value").unwrap();
    assert_eq!(&store.get(&name("API_KEY")).unwrap()[..], b"second-value");
    let after = store.list().unwrap();
    assert_eq!(after[0].created, before[0].created, "created is kept");
    assert!(after[0].updated > before[0].updated, "updated moves");

    // A second handle (another process would do the same) sees the same store.
    let again = AgeStore::open(&home).unwrap();
    assert_eq!(&again.get(&name("BINARY")).unwrap()[..], &binary[..]);

    store.remove(&name("API_KEY")).unwrap();
    let e = store.get(&name("API_KEY")).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }));
    assert!(e.to_string().contains("API_KEY"), "{e}");
    assert!(matches!(
        store.remove(&name("API_KEY")),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn open_before_init_says_how_to_fix() {
    let (_dir, home) = temp_home();
    let e = AgeStore::open(&home).unwrap_err();
    assert!(matches!(e, Error::NotInitialised { .. }), "{e}");
    assert!(e.hint().unwrap().contains("aegisclaw secrets init"));
}

#[test]
fn init_never_replaces_an_identity() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    store.set(&name("KEEP"), b"kept-value").unwrap();
    let identity = fs::read(store.identity_path()).unwrap();
    let (again, outcome) = AgeStore::init(&home).unwrap();
    assert_eq!(outcome, InitOutcome::AlreadyInitialised);
    assert_eq!(fs::read(again.identity_path()).unwrap(), identity);
    assert_eq!(&again.get(&name("KEEP")).unwrap()[..], b"kept-value");

    // A store without its identity is not "fixed" with a new key that cannot read it.
    fs::remove_file(store.identity_path()).unwrap();
    let e = AgeStore::init(&home).unwrap_err();
    assert!(matches!(e, Error::BadIdentity { .. }), "{e}");
    assert!(!store.identity_path().exists());
}

#[test]
fn files_and_directories_are_owner_only() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    store.set(&name("A_SECRET"), b"value-one").unwrap();
    store.set(&name("A_SECRET"), b"value-two").unwrap();
    assert_eq!(mode(&home.keys_dir()), 0o700);
    assert_eq!(mode(&home.secrets_dir()), 0o700);
    for entry in fs::read_dir(home.keys_dir())
        .unwrap()
        .chain(fs::read_dir(home.secrets_dir()).unwrap())
    {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(home.secrets_dir().join("store.age.prev").exists());

    // An identity others can read is refused, not used.
    fs::set_permissions(store.identity_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let e = store.get(&name("A_SECRET")).unwrap_err();
    assert!(
        matches!(e, Error::InsecurePermissions { mode: 0o644, .. }),
        "{e}"
    );
    assert!(e.hint().unwrap().contains("chmod 600"));
}

/// Every file under `root`, recursively.
fn all_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn no_plaintext_anywhere_in_the_home() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    let value = b"plaintext-canary-7f3a9c1e5b";
    store.set(&name("CANARY"), value).unwrap();
    store.set(&name("OTHER"), b"another-value-123").unwrap();
    store.rotate_key().unwrap();
    let needles = [
        value.to_vec(),
        hex::encode(value).into_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(value)
            .into_bytes(),
    ];
    let files = all_files(home.root());
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let data = fs::read(&path).unwrap();
        for needle in &needles {
            assert!(
                !data.windows(needle.len()).any(|w| w == &needle[..]),
                "{} holds the value in clear",
                path.display()
            );
        }
    }
}

#[test]
fn another_key_cannot_read_the_store_and_it_is_left_alone() {
    let (_a, home_a) = temp_home();
    let (_b, home_b) = temp_home();
    let a = init(&home_a);
    let b = init(&home_b);
    a.set(&name("TOKEN"), b"belongs-to-a").unwrap();
    // The attacker has the ciphertext but only their own key.
    fs::copy(a.store_path(), b.store_path()).unwrap();
    let before = fs::read(b.store_path()).unwrap();
    let e = b.get(&name("TOKEN")).unwrap_err();
    assert!(matches!(e, Error::Undecryptable { .. }), "{e}");
    assert!(e.to_string().contains("left as it is"), "{e}");
    // A write does not "repair" it by starting a new store over it.
    assert!(b.set(&name("NEW"), b"new-value-x").is_err());
    assert!(b.remove(&name("TOKEN")).is_err());
    assert!(b.rotate_key().is_err());
    assert_eq!(fs::read(b.store_path()).unwrap(), before);
    // The oracle: the rightful key still reads it.
    let plain = age::decrypt(&identity_of(a.identity_path()), &before).unwrap();
    assert!(plain.windows(12).any(|w| w == b"belongs-to-a"));
}

#[test]
fn a_corrupt_store_is_an_error_and_the_previous_version_is_kept() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    store.set(&name("FIRST"), b"first-value").unwrap();
    store.set(&name("SECOND"), b"second-value").unwrap();
    let good = fs::read(store.store_path()).unwrap();
    let prev = home.secrets_dir().join("store.age.prev");

    // Flip one byte of the payload: authenticated encryption notices.
    let mut damaged = good.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    fs::write(store.store_path(), &damaged).unwrap();
    let e = store.get(&name("FIRST")).unwrap_err();
    assert!(matches!(e, Error::Undecryptable { .. }), "{e}");
    assert!(e.hint().unwrap().contains("store.age.prev"));
    assert!(store.set(&name("THIRD"), b"third-value").is_err());
    assert_eq!(
        fs::read(store.store_path()).unwrap(),
        damaged,
        "not overwritten"
    );

    // Truncation, and a valid age file whose content is not a store.
    fs::write(store.store_path(), &good[..good.len() / 2]).unwrap();
    assert!(store.list().is_err());
    let recipient = identity_of(store.identity_path()).to_public();
    let garbage = age::encrypt(&recipient, b"not a store at all").unwrap();
    fs::write(store.store_path(), &garbage).unwrap();
    let e = store.list().unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(store.set(&name("THIRD"), b"third-value").is_err());
    assert_eq!(fs::read(store.store_path()).unwrap(), garbage);

    // The previous version (before SECOND) decrypts and restores.
    fs::copy(&prev, store.store_path()).unwrap();
    let names: Vec<_> = store.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["FIRST"]);
    assert_eq!(&store.get(&name("FIRST")).unwrap()[..], b"first-value");
}

#[test]
fn rotate_key_re_encrypts_and_retires_the_old_identity() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    store.set(&name("ALPHA"), b"alpha-value").unwrap();
    store.set(&name("BETA"), b"beta-value").unwrap();
    let old = identity_of(store.identity_path());
    let old_recipient = old.to_public().to_string();
    store.rotate_key().unwrap();
    let new = identity_of(store.identity_path());
    assert_ne!(new.to_public().to_string(), old_recipient);
    assert_eq!(
        store.recipient().unwrap().to_string(),
        new.to_public().to_string()
    );
    assert_eq!(mode(store.identity_path()), 0o600);
    assert!(!home.keys_dir().join("secrets.age-identity.next").exists());
    // The oracle: the old key reads neither the store nor its previous version.
    let ciphertext = fs::read(store.store_path()).unwrap();
    assert!(age::decrypt(&old, &ciphertext).is_err());
    let prev = fs::read(home.secrets_dir().join("store.age.prev")).unwrap();
    assert!(age::decrypt(&old, &prev).is_err());
    assert!(age::decrypt(&new, &prev).is_ok());
    assert_eq!(&store.get(&name("ALPHA")).unwrap()[..], b"alpha-value");
    assert_eq!(&store.get(&name("BETA")).unwrap()[..], b"beta-value");
}

#[test]
fn a_rotation_interrupted_by_a_crash_is_finished_or_undone() {
    let (_dir, home) = temp_home();
    let store = init(&home);
    store.set(&name("ALPHA"), b"alpha-value").unwrap();
    let identity = store.identity_path().to_path_buf();
    let next = home.keys_dir().join("secrets.age-identity.next");

    // Crash after the new identity was written, before the store: the new one is discarded.
    let old_text = fs::read(&identity).unwrap();
    store.rotate_key().unwrap();
    let new_text = fs::read(&identity).unwrap();
    fs::write(&next, &new_text).unwrap();
    fs::set_permissions(&next, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(&store.get(&name("ALPHA")).unwrap()[..], b"alpha-value");
    assert!(!next.exists());
    assert_eq!(fs::read(&identity).unwrap(), new_text);

    // Crash after the store was re-encrypted, before the rename: the new one becomes current.
    fs::write(&identity, &old_text).unwrap();
    fs::write(&next, &new_text).unwrap();
    fs::set_permissions(&next, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(&store.get(&name("ALPHA")).unwrap()[..], b"alpha-value");
    assert!(!next.exists());
    assert_eq!(fs::read(&identity).unwrap(), new_text);
}

const WRITERS: usize = 6;
const PER_WRITER: usize = 5;

#[test]
fn concurrent_writer_threads_lose_nothing() {
    let (_dir, home) = temp_home();
    init(&home);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let home = home.clone();
            s.spawn(move || {
                let store = AgeStore::open(&home).unwrap();
                for i in 0..PER_WRITER {
                    store
                        .set(
                            &name(&format!("T{w}_{i}")),
                            format!("value-{w}-{i}").as_bytes(),
                        )
                        .unwrap();
                }
            });
        }
    });
    let store = AgeStore::open(&home).unwrap();
    let names: BTreeSet<String> = store.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names.len(), WRITERS * PER_WRITER, "{names:?}");
    for w in 0..WRITERS {
        for i in 0..PER_WRITER {
            let v = store.get(&name(&format!("T{w}_{i}"))).unwrap();
            assert_eq!(&v[..], format!("value-{w}-{i}").as_bytes());
        }
    }
}

const CHILD_ENV: &str = "AEGISCLAW_SECRETS_TEST_CHILD";

/// Run by `concurrent_writer_processes_lose_nothing` in child processes (ignored otherwise).
#[test]
#[ignore = "a child process of concurrent_writer_processes_lose_nothing"]
fn child_writer() {
    let spec = std::env::var(CHILD_ENV).expect("run by the parent test");
    let (root, w) = spec.rsplit_once('|').unwrap();
    let store = AgeStore::open(&Home::at(root)).unwrap();
    for i in 0..PER_WRITER {
        store
            .set(
                &name(&format!("P{w}_{i}")),
                format!("value-{w}-{i}").as_bytes(),
            )
            .unwrap();
    }
}

#[test]
fn concurrent_writer_processes_lose_nothing() {
    let (_dir, home) = temp_home();
    init(&home);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            std::process::Command::new(&exe)
                .args(["--ignored", "--exact", "suite::age::child_writer"])
                .env(CHILD_ENV, format!("{}|{w}", home.root().display()))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let store = AgeStore::open(&home).unwrap();
    let names: BTreeSet<String> = store.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names.len(), WRITERS * PER_WRITER, "{names:?}");
    assert_eq!(&store.get(&name("P3_4")).unwrap()[..], b"value-3-4");
}

#[test]
fn a_passphrase_protects_the_identity() {
    use zeroize::Zeroizing;
    let (_dir, home) = temp_home();
    let pass = || Zeroizing::new("correct horse battery staple".to_string());
    let (store, outcome) = AgeStore::init_protected(&home, pass()).unwrap();
    assert_eq!(outcome, InitOutcome::Created);
    assert!(store.is_protected().unwrap());
    store.set(&name("LOCKED"), b"locked-value").unwrap();
    // The identity file is an age file itself: no key in clear.
    let raw = fs::read(store.identity_path()).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/"));
    assert!(!raw.windows(15).any(|w| w == b"AGE-SECRET-KEY-"));
    assert_eq!(mode(store.identity_path()), 0o600);

    let bare = AgeStore::open(&home).unwrap();
    let e = bare.get(&name("LOCKED")).unwrap_err();
    assert!(matches!(e, Error::PassphraseRequired { .. }), "{e}");
    let wrong = AgeStore::open(&home)
        .unwrap()
        .with_passphrase(Zeroizing::new("wrong".into()));
    let e = wrong.get(&name("LOCKED")).unwrap_err();
    assert!(matches!(e, Error::WrongPassphrase { .. }), "{e}");
    assert!(wrong.set(&name("OTHER"), b"other-value").is_err());

    // Rotation keeps the protection, with the same passphrase.
    let right = AgeStore::open(&home).unwrap().with_passphrase(pass());
    right.rotate_key().unwrap();
    assert!(right.is_protected().unwrap());
    assert_ne!(fs::read(store.identity_path()).unwrap(), raw);
    assert_eq!(&right.get(&name("LOCKED")).unwrap()[..], b"locked-value");
}
