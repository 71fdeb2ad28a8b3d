//! Landlock rules of the sandbox (applied by init after `pivot_root`, inherited by every
//! command): reads and execution only where the plan grants them, writes only in writable
//! grants and the private scratch filesystems, no TCP bind or connect at all, and no signals or
//! abstract Unix sockets across the sandbox boundary.

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd,
    RestrictionStatus, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use crate::native::plan::{Plan, SystemEntry};
use crate::spec::{SANDBOX_HOME, SECRETS_DIR};

/// The newest ABI whose rights we ask for (older kernels get what they support).
const TARGET_ABI: ABI = ABI::V7;

/// What was enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Enforced {
    pub(crate) fully: bool,
}

/// Restricts the calling process (and its future children). Fails when Landlock enforces
/// nothing at all.
pub(crate) fn apply(plan: &Plan) -> Result<Enforced, String> {
    let abi = TARGET_ABI;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let read_exec = read | AccessFs::Execute;
    let all = AccessFs::from_all(abi);
    let dev = read | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;

    let mut rules: Vec<(String, BitFlags<AccessFs>)> = vec![
        ("/".into(), AccessFs::ReadDir.into()),
        ("/etc".into(), read),
        ("/dev".into(), dev),
        ("/dev/shm".into(), all),
        ("/proc".into(), read | AccessFs::WriteFile),
        ("/tmp".into(), all),
        (SANDBOX_HOME.into(), all),
        (SECRETS_DIR.into(), read),
    ];
    for entry in &plan.system {
        if let SystemEntry::Bind(path) = entry {
            rules.push((path.display().to_string(), read_exec));
        }
    }
    for grant in &plan.grants {
        let access = match (grant.writable, grant.is_dir) {
            (true, true) => all,
            (true, false) => AccessFs::from_file(abi),
            (false, true) => read_exec,
            (false, false) => AccessFs::ReadFile | AccessFs::Execute,
        };
        rules.push((grant.path.display().to_string(), access));
    }

    let status = restrict(abi, &rules).map_err(|e| format!("Landlock refused the ruleset: {e}"))?;
    match status.ruleset {
        RulesetStatus::NotEnforced => Err(format!(
            "the kernel enforces no Landlock rule ({:?})",
            status.landlock
        )),
        RulesetStatus::PartiallyEnforced => Ok(Enforced { fully: false }),
        RulesetStatus::FullyEnforced => Ok(Enforced { fully: true }),
    }
}

fn restrict(
    abi: ABI,
    rules: &[(String, BitFlags<AccessFs>)],
) -> Result<RestrictionStatus, Box<dyn std::error::Error>> {
    let mut created = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        // Report denials of the commands we exec (ABI 7 audit records), not only init's own.
        .log_new_exec(true)?;
    for (path, access) in rules {
        let fd = PathFd::new(path)?;
        created = created.add_rule(PathBeneath::new(fd, *access))?;
    }
    Ok(created.restrict_self()?)
}
