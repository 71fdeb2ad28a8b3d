use std::fs;

use super::*;
use crate::signature::{generate_key_pair, sign};
use crate::trust::Scheme;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let f = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let src = f.source();
        fs::create_dir_all(src.join("lib")).unwrap();
        fs::write(
            src.join("skill.yaml"),
            "name: hello\nversion: 1.0.0\ndescription: greets\npublisher: test\nentrypoint:\n  command: [sh, run.sh]\n",
        )
        .unwrap();
        fs::write(src.join("run.sh"), "echo hello\n").unwrap();
        fs::write(src.join("lib/data.txt"), "data\n").unwrap();
        f
    }
    fn source(&self) -> PathBuf {
        self.dir.path().join("src")
    }
    fn store(&self) -> SkillStore {
        SkillStore::new(self.dir.path().join("home/skills"))
    }
    fn trust(&self) -> TrustStore {
        TrustStore::open(&self.dir.path().join("home/trust")).unwrap()
    }
}

#[test]
fn install_list_load_remove() {
    let f = Fixture::new();
    let store = f.store();
    let trust = f.trust();
    let installed = store.install(&f.source(), &trust, &[], false).unwrap();
    assert_eq!(installed.manifest.name, "hello");
    assert_eq!(installed.signature, SignatureStatus::Unsigned);
    assert_eq!(
        fs::read_to_string(installed.dir.join("lib/data.txt")).unwrap(),
        "data\n"
    );
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].digest,
        SkillDigest::of_dir(&f.source()).unwrap().to_string()
    );
    let loaded = store.load("hello", &trust, &[]).unwrap();
    assert_eq!(loaded.digest, installed.digest);
    assert!(matches!(
        store.install(&f.source(), &trust, &[], false),
        Err(Error::AlreadyInstalled(_))
    ));
    store.install(&f.source(), &trust, &[], true).unwrap();
    store.remove("hello").unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(matches!(
        store.load("hello", &trust, &[]),
        Err(Error::NotInstalled(_))
    ));
    assert!(matches!(store.remove("hello"), Err(Error::NotInstalled(_))));
    // Nothing but the lock file is left behind.
    let left: Vec<_> = fs::read_dir(f.dir.path().join("home/skills"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(".lock")]);
}

#[test]
fn tampered_signed_skill_is_refused_at_install() {
    let f = Fixture::new();
    let (key, public) = generate_key_pair(&f.dir.path().join("k"), Scheme::Minisign).unwrap();
    sign(&f.source(), &key, None).unwrap();
    let mut trust = f.trust();
    trust.add(&public, Some("alice")).unwrap();
    fs::write(f.source().join("run.sh"), "rm -rf ~\n").unwrap();
    match f.store().install(&f.source(), &trust, &[], false) {
        Err(Error::SignatureRejected { reason, .. }) => {
            assert!(reason.contains("changed after signing"), "{reason}")
        }
        other => panic!("tampered skill installed: {other:?}"),
    }
    assert!(f.store().list().unwrap().is_empty());
}

#[test]
fn installed_copy_changed_later_is_refused_at_load() {
    let f = Fixture::new();
    let store = f.store();
    let trust = f.trust();
    let installed = store.install(&f.source(), &trust, &[], false).unwrap();
    fs::write(installed.dir.join("run.sh"), "echo pwned\n").unwrap();
    match store.load("hello", &trust, &[]) {
        Err(Error::Tampered { name, .. }) => assert_eq!(name, "hello"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn signed_skill_stays_verified_only_while_trusted() {
    let f = Fixture::new();
    let (key, public) =
        generate_key_pair(&f.dir.path().join("k"), Scheme::CosignEcdsaP256).unwrap();
    sign(&f.source(), &key, None).unwrap();
    let mut trust = f.trust();
    trust.add(&public, Some("alice")).unwrap();
    let store = f.store();
    let installed = store.install(&f.source(), &trust, &[], false).unwrap();
    assert_eq!(installed.signature.signer(), Some("alice"));
    assert_eq!(
        store.load("hello", &trust, &[]).unwrap().signature.signer(),
        Some("alice")
    );
    trust.remove("alice").unwrap();
    assert!(matches!(
        store.load("hello", &trust, &[]),
        Err(Error::SignatureRejected { .. })
    ));
}

#[test]
fn invalid_manifest_is_refused() {
    let f = Fixture::new();
    fs::write(
        f.source().join("skill.yaml"),
        "name: hello\nversion: 1.0.0\n",
    )
    .unwrap();
    let e = f
        .store()
        .install(&f.source(), &f.trust(), &[], false)
        .unwrap_err();
    assert!(e.to_string().contains("skill.yaml"), "{e}");
}
