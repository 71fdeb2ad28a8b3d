//! E01–E05: reading and writing outside the grants, link tricks, protected paths.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::oracle::{Snapshot, token};
use super::{Ctx, user_home};
use crate::error::Layer;

fn write(path: &Path, content: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, content).map_err(|e| format!("write {}: {e}", path.display()))
}

fn op(name: &str, path: impl AsRef<Path>) -> String {
    format!("{name}={}", path.as_ref().display())
}

/// Long lines of the host's real secret files (what a leak of them would show).
fn real_secret_lines(ctx: &Ctx<'_>) -> (Vec<String>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = vec!["/etc/shadow".into(), "/etc/gshadow".into()];
    if let Some(home) = user_home() {
        for dir in [".ssh", ".aws", ".gnupg", ".config/gcloud"] {
            if let Ok(entries) = std::fs::read_dir(home.join(dir)) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    if let Some(rt) = &ctx.opts.runtime_home {
        for dir in ["keys", "secrets"] {
            if let Ok(entries) = std::fs::read_dir(rt.join(dir)) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
        files.push(rt.join("config.toml"));
    }
    let mut lines = Vec::new();
    for f in &files {
        let Ok(meta) = std::fs::metadata(f) else {
            continue;
        };
        if !meta.is_file() || meta.len() > 64 * 1024 {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(f) {
            lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= 24 && (l.contains('$') || !l.contains(' ')))
                    .map(str::to_string),
            );
        }
    }
    (lines, files)
}

pub(super) fn e01_read_secrets(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let tokens: Vec<String> = (0..6).map(|_| token()).collect();
    let alice = ctx.mkdir("home/alice")?;
    let ws = ctx.mkdir("home/alice/project")?;
    let shared = ctx.mkdir("shared")?;
    let canaries = [
        ("~/.ssh/id_canary", alice.join(".ssh/id_canary")),
        ("~/.aws/credentials", alice.join(".aws/credentials")),
        ("another user's home", ctx.dir.join("home/bob/secret")),
        (
            "the runtime's config",
            shared.join("aegisclaw-home/config.toml"),
        ),
        (
            "the runtime's secret store",
            shared.join("aegisclaw-home/secrets/store.age"),
        ),
    ];
    for ((_, path), tok) in canaries.iter().zip(&tokens) {
        write(path, &format!("canary {tok}\n"))?;
    }
    let control = shared.join("readme.txt");
    write(&control, &format!("granted {}\n", tokens[5]))?;

    let mut spec = ctx.spec();
    spec.workspace = Some(ws.clone());
    spec.read_only.push(shared.clone());
    spec.hidden.push(shared.join("aegisclaw-home"));
    let (real_lines, real_files) = real_secret_lines(ctx);
    let mut ops: Vec<String> = canaries.iter().map(|(_, p)| op("read", p)).collect();
    ops.push("read=../.ssh/id_canary".into());
    ops.push("read=../../bob/secret".into());
    ops.extend(real_files.iter().map(|p| op("read", p)));
    ops.extend(
        ["/etc/shadow", "/etc/sudoers", "/root/.bash_history"]
            .iter()
            .map(|p| op("read", p)),
    );
    ops.push(op("read", &control));
    ops.push("walk=/".into());
    let probed = ctx.probe(spec, &ops)?;

    let granted = probed
        .op("read")
        .any(|l| l.ok && l.out.contains(&tokens[5]));
    ctx.check(
        "control: a granted file is readable",
        granted,
        "the probe read the granted readme",
    );
    let named: Vec<(&str, &str)> = canaries
        .iter()
        .zip(&tokens)
        .map(|((n, _), t)| (*n, t.as_str()))
        .collect();
    ctx.not_leaked(&probed, &named);
    let leaked_real: Vec<String> = real_lines
        .iter()
        .filter(|l| probed.raw.contains(l.as_str()))
        .map(|l| format!("a line of a host secret file ({} chars) was read", l.len()))
        .collect();
    ctx.none(
        "no content of the host's real secret files in the output",
        leaked_real,
        format!(
            "{} line(s) of {} file(s) checked",
            real_lines.len(),
            real_files.len()
        ),
    );
    let in_workspace: Vec<String> = std::fs::read_dir(&ws)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|text| tokens[..5].iter().any(|t| text.contains(t.as_str())))
        .map(|_| "a canary token was copied into the workspace".to_string())
        .collect();
    ctx.none(
        "nothing copied into the workspace",
        in_workspace,
        "workspace clean",
    );
    Ok(())
}

pub(super) fn e02_write_outside(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e02-{}", token());
    let ws = ctx.mkdir("ws")?;
    let host_canary = std::env::temp_dir().join(format!("{marker}-canary"));
    write(&host_canary, &format!("canary {}\n", token()))?;
    let mut targets: Vec<PathBuf> = [
        "/etc",
        "/tmp",
        "/var/tmp",
        "/usr/local/bin",
        "/usr/bin",
        "/",
        "/home",
        "/root",
    ]
    .iter()
    .map(|d| Path::new(d).join(&marker))
    .collect();
    targets.extend(user_home().map(|h| h.join(&marker)));
    targets.push(ctx.dir.join(&marker));
    let mut snapshot = Snapshot::default();
    let mut appends = vec![
        host_canary.clone(),
        "/etc/hosts".into(),
        "/etc/passwd".into(),
    ];
    appends.extend(user_home().map(|h| h.join(".bashrc")));
    for a in &appends {
        snapshot.file(a);
    }
    let mut ops: Vec<String> = targets.iter().map(|t| op("create", t)).collect();
    ops.extend(appends.iter().map(|a| op("append", a)));
    let control = ws.join(format!("{marker}-ok"));
    ops.push(op("create", &control));

    let probed = ctx.probe(
        {
            let mut s = ctx.spec();
            s.workspace = Some(ws);
            s
        },
        &ops,
    );
    let created: Vec<String> = targets
        .iter()
        .filter(|t| t.exists())
        .map(|t| format!("{} was created on the host", t.display()))
        .collect();
    for t in &targets {
        let _ = std::fs::remove_file(t);
    }
    let changed = snapshot.changes();
    let _ = std::fs::remove_file(&host_canary);
    probed?;
    ctx.none(
        "no file created outside the workspace",
        created,
        format!("{} places checked", targets.len()),
    );
    ctx.none(
        "host files unchanged",
        changed,
        format!("{} files compared", appends.len()),
    );
    let owner = std::fs::metadata(&control).map(|m| m.uid()).ok();
    let me = nix::unistd::geteuid().as_raw();
    ctx.check(
        "control: the workspace is writable, and its new files belong to the invoking user",
        owner == Some(me),
        format!(
            "{} owned by {owner:?} (invoking uid {me})",
            control.display()
        ),
    );
    Ok(())
}

pub(super) fn e03_links(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let outside = ctx.mkdir("outside")?;
    let target = outside.join("target.txt");
    write(&target, &format!("outside {}\n", token()))?;
    let ws = ctx.mkdir("ws")?;
    std::os::unix::fs::symlink(&outside, ws.join("link-dir")).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(&target, ws.join("link-file")).map_err(|e| e.to_string())?;
    std::fs::create_dir(ws.join("sub")).map_err(|e| e.to_string())?;
    let mut snapshot = Snapshot::default();
    snapshot.file(&target);
    snapshot.dir(&outside);
    let ops = vec![
        op("append", ws.join("link-file")),
        op("create", ws.join("link-dir/new-through-dir-link")),
        format!(
            "symlink={}>{}",
            ws.join("new-link").display(),
            target.display()
        ),
        op("append", ws.join("new-link")),
        format!(
            "symlink={}>{}",
            ws.join("proc-link").display(),
            "/proc/1/root/../../"
        ),
        op("create", ws.join("proc-link/escaped")),
        op("append", outside.join("target.txt")),
        "append=../outside/target.txt".to_string(),
        op("create", ws.join("../outside/dotdot")),
        format!(
            "hardlink={}>{}",
            ws.join("hard").display(),
            target.display()
        ),
        op("append", ws.join("hard")),
        format!(
            "rename={}>{}",
            ws.join("sub").display(),
            outside.join("renamed").display()
        ),
        format!(
            "rename={}>{}",
            target.display(),
            ws.join("stolen").display()
        ),
        op("append", "/proc/self/cwd/../outside/target.txt"),
    ];
    let mut spec = ctx.spec();
    spec.workspace = Some(ws.clone());
    spec.workdir = Some(ws);
    let probed = ctx.probe(spec, &ops)?;
    ctx.none(
        "the outside file and directory are unchanged",
        snapshot.changes(),
        "target.txt and outside/ unchanged",
    );
    let followed = probed
        .op("append")
        .filter(|l| l.ok && l.arg.contains("link-file"))
        .count();
    ctx.check(
        "symlinks planted before the run lead nowhere",
        followed == 0,
        format!("{followed} write(s) through a pre-planted link succeeded"),
    );
    Ok(())
}

pub(super) fn e04_protected_setup(ctx: &mut Ctx<'_>) -> Result<(), String> {
    // A: `.git` is a symlink to a directory outside before the session starts.
    let outside = ctx.mkdir("outside-git")?;
    write(&outside.join("config"), "[core]\n\tbare = false\n")?;
    std::fs::create_dir_all(outside.join("hooks")).map_err(|e| e.to_string())?;
    let ws1 = ctx.mkdir("ws1")?;
    std::os::unix::fs::symlink(&outside, ws1.join(".git")).map_err(|e| e.to_string())?;
    // C: `.git/hooks` is a symlink.
    let ws3 = ctx.mkdir("ws3")?;
    std::fs::create_dir(ws3.join(".git")).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(outside.join("hooks"), ws3.join(".git/hooks"))
        .map_err(|e| e.to_string())?;
    let mut snapshot = Snapshot::default();
    snapshot.file(outside.join("config"));
    snapshot.dir(outside.join("hooks"));
    snapshot.dir(&outside);
    for (name, ws) in [(".git -> outside", &ws1), (".git/hooks -> outside", &ws3)] {
        let mut spec = ctx.spec();
        spec.workspace = Some(ws.clone());
        let ops = vec![
            op("append", ws.join(".git/config")),
            op("create", ws.join(".git/hooks/pre-commit")),
        ];
        match ctx.probe(spec, &ops) {
            Err(e) if e.contains(Layer::ProtectedPaths.as_str()) || e.contains("symbolic link") => {
                ctx.check(format!("setup refuses a workspace whose {name}"), true, e);
            }
            Err(e) => return Err(e),
            Ok(p) => {
                let wrote = p.lines.iter().filter(|l| l.ok).count();
                ctx.check(
                    format!("setup refuses or protects a workspace whose {name}"),
                    wrote == 0,
                    format!("the run was not refused; {wrote} write(s) went through"),
                );
            }
        }
    }
    ctx.none(
        "the link targets are unchanged",
        snapshot.changes(),
        "outside config and hooks unchanged",
    );

    // B: protected paths that do not exist yet must not be creatable.
    let ws2 = ctx.mkdir("ws2")?;
    let mut spec = ctx.spec();
    spec.workspace = Some(ws2.clone());
    spec.workdir = Some(ws2.clone());
    let ops = vec![
        op("mkdir", ws2.join(".git/hooks")),
        op("create", ws2.join(".git/hooks/pre-commit")),
        op("create", ws2.join(".git/config")),
        op("mkdir", ws2.join("staged")),
        format!(
            "rename={}>{}",
            ws2.join("staged").display(),
            ws2.join(".git").display()
        ),
        op("unlink", ws2.join(".git")),
        format!("symlink={}>/tmp", ws2.join(".git").display()),
        op("create", ws2.join(".vscode/tasks.json")),
        op("mkdir", ws2.join(".aegisclaw")),
        op("create", ws2.join(".aegisclaw/config.toml")),
        op("create", ws2.join(".idea/workspace.xml")),
        op("create", ws2.join("ordinary.txt")),
    ];
    let probed = ctx.probe(spec, &ops)?;
    let left: Vec<String> = [".git", ".vscode", ".aegisclaw", ".idea"]
        .iter()
        .filter(|n| std::fs::symlink_metadata(ws2.join(n)).is_ok())
        .map(|n| format!("{n} exists in the workspace after the run"))
        .collect();
    ctx.none(
        "missing protected paths could not be created",
        left,
        ".git, .vscode, .aegisclaw, .idea absent",
    );
    let ordinary = probed
        .op("create")
        .any(|l| l.ok && l.arg.ends_with("ordinary.txt"));
    ctx.check(
        "control: ordinary files can be created",
        ordinary && ws2.join("ordinary.txt").exists(),
        "ordinary.txt created",
    );
    Ok(())
}

pub(super) fn e05_protected_writes(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let ws = ctx.mkdir("ws")?;
    let files = [
        ".git/config",
        ".git/hooks/pre-commit.sample",
        ".bashrc",
        ".profile",
        ".vscode/settings.json",
        ".aegisclaw/config.toml",
        ".envrc",
    ];
    for f in files {
        write(&ws.join(f), &format!("original {}\n", token()))?;
    }
    write(&ws.join("regular.txt"), "regular\n")?;
    let mut snapshot = Snapshot::default();
    for f in files {
        snapshot.file(ws.join(f));
    }
    for d in [".git/hooks", ".vscode", ".aegisclaw"] {
        snapshot.dir(ws.join(d));
    }
    let hooks_mode = std::fs::metadata(ws.join(".git/hooks"))
        .map(|m| m.mode())
        .map_err(|e| e.to_string())?;
    let mut ops: Vec<String> = Vec::new();
    for f in files {
        ops.push(op("append", ws.join(f)));
        ops.push(op("truncate", ws.join(f)));
    }
    ops.extend([
        op("create", ws.join(".git/hooks/pre-commit")),
        op("mkdir", ws.join(".git/hooks/sub")),
        format!("chmod={}>777", ws.join(".git/hooks").display()),
        op("unlink", ws.join(".git/config")),
        op("create", ws.join("replacement")),
        format!(
            "rename={}>{}",
            ws.join("replacement").display(),
            ws.join(".git/config").display()
        ),
        format!(
            "rename={}>{}",
            ws.join(".git/hooks").display(),
            ws.join("hooks-moved").display()
        ),
        op("create", ws.join(".vscode/tasks.json")),
        op("unlink", ws.join(".bashrc")),
        format!("exec=git -C {} config core.hooksPath /tmp", ws.display()),
        op("append", ws.join("regular.txt")),
    ]);
    let mut spec = ctx.spec();
    spec.workspace = Some(ws.clone());
    spec.workdir = Some(ws.clone());
    let probed = ctx.probe(spec, &ops)?;
    let mut changed = snapshot.changes();
    if std::fs::metadata(ws.join(".git/hooks"))
        .map(|m| m.mode())
        .ok()
        != Some(hooks_mode)
    {
        changed.push(".git/hooks changed mode".into());
    }
    ctx.none(
        "protected files and directories unchanged",
        changed,
        format!("{} files, 3 directories compared", files.len()),
    );
    let regular = probed
        .op("append")
        .any(|l| l.ok && l.arg.ends_with("regular.txt"));
    ctx.check(
        "control: ordinary workspace files stay writable",
        regular,
        "regular.txt appended",
    );
    Ok(())
}
