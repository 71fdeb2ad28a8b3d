//! Capabilities: all dropped (bounding, ambient, inheritable, permitted, effective), then
//! verified zero, with `no_new_privs` set so that no exec can regain any.

use caps::CapSet;

/// Drops every capability of the calling process. Needs `CAP_SETPCAP` (in the current user
/// namespace) for the bounding set, so it runs before the permitted set is cleared; a bounding
/// set that is already empty is left alone.
pub(crate) fn drop_all() -> Result<(), String> {
    drop_bounding()?;
    for set in [CapSet::Effective, CapSet::Permitted] {
        caps::clear(None, set)
            .map_err(|e| format!("cannot clear the {set:?} capability set: {e}"))?;
    }
    Ok(())
}

/// Empties the bounding, ambient and inheritable sets (keeps what the process holds now).
pub(crate) fn drop_bounding() -> Result<(), String> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        // SAFETY: PR_CAPBSET_READ takes an integer capability number.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap, 0, 0, 0) } != 1 {
            continue;
        }
        // SAFETY: PR_CAPBSET_DROP takes an integer capability number.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        // EINVAL: a number the kernel does not know; nothing to drop.
        if ret != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(format!(
                "cannot drop capability {cap} from the bounding set: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    for set in [CapSet::Ambient, CapSet::Inheritable] {
        caps::clear(None, set)
            .map_err(|e| format!("cannot clear the {set:?} capability set: {e}"))?;
    }
    Ok(())
}

/// Checks that every capability set is empty, from the kernel's own accounting (capget for
/// the effective, permitted and inheritable sets; /proc/self/status for all five, including
/// capabilities newer than the caps crate knows).
pub(crate) fn verify_none() -> Result<(), String> {
    for set in [CapSet::Effective, CapSet::Permitted, CapSet::Inheritable] {
        let held =
            caps::read(None, set).map_err(|e| format!("cannot read the {set:?} set: {e}"))?;
        if !held.is_empty() {
            return Err(format!("the {set:?} set still holds {held:?}"));
        }
    }
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    for key in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .ok_or_else(|| format!("/proc/self/status has no {key} line"))?;
        if u64::from_str_radix(value, 16).map_err(|e| format!("{key} {value}: {e}"))? != 0 {
            return Err(format!("{key} is {value}, not zero"));
        }
    }
    Ok(())
}
