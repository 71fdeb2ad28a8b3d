//! The curated `/etc` inside the sandbox: a few synthesised files (users, hosts, name service),
//! copies of harmless host files programs need (the loader cache, time zone, MIME types), and
//! read-only binds of a few directories (certificates, Debian alternatives). Never the host's
//! `passwd`, `shadow`, `sudoers`, `ssh/` or anything else that names users or holds keys.

use std::path::{Path, PathBuf};

/// One entry of the sandbox's `/etc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EtcEntry {
    File { name: String, contents: Vec<u8> },
    Symlink { name: String, target: PathBuf },
}

const PASSWD: &str = "root:x:0:0:root:/root:/usr/sbin/nologin\n\
sandbox:x:1000:1000:AegisClaw sandbox:/home/sandbox:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";
const HOSTS: &str = "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n";
const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\n\
protocols: files\nservices: files\nethers: files\nrpc: files\n";

/// The sandbox's host name.
pub(crate) const HOSTNAME: &str = "sandbox";

/// Host files copied as they are (when present).
const COPIED: &[&str] = &[
    "ld.so.cache",
    "ld.so.conf",
    "localtime",
    "timezone",
    "protocols",
    "services",
    "mime.types",
    "os-release",
    "debian_version",
    "inputrc",
    "bash.bashrc",
    "profile",
    "shells",
    "magic",
    "gai.conf",
    "host.conf",
    "locale.alias",
    "ca-certificates.conf",
    "gitconfig",
];

/// Host directories bound read-only (when present).
const BOUND: &[&str] = &["alternatives", "ssl", "ca-certificates", "perl", "python3"];

/// The files and the directories of the sandbox's `/etc`.
pub(crate) fn curated() -> (Vec<EtcEntry>, Vec<PathBuf>) {
    curated_from(Path::new("/etc"))
}

fn curated_from(etc: &Path) -> (Vec<EtcEntry>, Vec<PathBuf>) {
    let mut files: Vec<EtcEntry> = [
        ("passwd", PASSWD),
        ("group", GROUP),
        ("hosts", HOSTS),
        ("nsswitch.conf", NSSWITCH),
    ]
    .into_iter()
    .map(|(name, contents)| EtcEntry::File {
        name: name.into(),
        contents: contents.as_bytes().to_vec(),
    })
    .collect();
    files.push(EtcEntry::File {
        name: "hostname".into(),
        contents: format!("{HOSTNAME}\n").into_bytes(),
    });
    for name in COPIED {
        let path = etc.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            if let Ok(target) = std::fs::read_link(&path) {
                files.push(EtcEntry::Symlink {
                    name: (*name).into(),
                    target,
                });
            }
        } else if meta.is_file()
            && meta.len() <= 1024 * 1024
            && let Ok(contents) = std::fs::read(&path)
        {
            files.push(EtcEntry::File {
                name: (*name).into(),
                contents,
            });
        }
    }
    let dirs = BOUND
        .iter()
        .map(|d| etc.join(d))
        .filter(|p| p.is_dir())
        .collect();
    (files, dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_users_never_appear() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("passwd"),
            "alice:x:1001:1001::/home/alice:/bin/bash\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("shadow"), "alice:$6$secret:1::::::\n").unwrap();
        std::fs::write(dir.path().join("services"), "ssh 22/tcp\n").unwrap();
        std::os::unix::fs::symlink("/usr/share/zoneinfo/UTC", dir.path().join("localtime"))
            .unwrap();
        std::fs::create_dir(dir.path().join("ssl")).unwrap();
        let (files, dirs) = curated_from(dir.path());
        let text: String = files
            .iter()
            .filter_map(|f| match f {
                EtcEntry::File { contents, .. } => {
                    Some(String::from_utf8_lossy(contents).into_owned())
                }
                EtcEntry::Symlink { .. } => None,
            })
            .collect();
        assert!(!text.contains("alice"), "{text}");
        assert!(text.contains("sandbox:x:1000"));
        assert!(text.contains("ssh 22/tcp"));
        assert!(
            files
                .iter()
                .any(|f| matches!(f, EtcEntry::Symlink { name, .. } if name == "localtime"))
        );
        assert!(
            !files
                .iter()
                .any(|f| matches!(f, EtcEntry::File { name, .. } if name == "shadow"))
        );
        assert_eq!(dirs, vec![dir.path().join("ssl")]);
    }
}
