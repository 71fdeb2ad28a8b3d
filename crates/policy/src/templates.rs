//! The built-in policy templates, embedded in the binary.

use aegisclaw_core::PolicyTemplate;

/// The Rego text of a template.
pub fn source(template: PolicyTemplate) -> &'static str {
    match template {
        PolicyTemplate::Strict => include_str!("../templates/strict.rego"),
        PolicyTemplate::Standard => include_str!("../templates/standard.rego"),
        PolicyTemplate::Permissive => include_str!("../templates/permissive.rego"),
    }
}

/// One line on what a template decides.
pub fn summary(template: PolicyTemplate) -> &'static str {
    match template {
        PolicyTemplate::Strict => {
            "deny unsigned skills; allow low risk; ask for everything above low; deny above low when untrusted content shaped the action"
        }
        PolicyTemplate::Standard => {
            "allow low-risk reads; ask for writes, exec, network and secrets; deny critical from unsigned skills or untrusted content"
        }
        PolicyTemplate::Permissive => {
            "allow up to medium risk; ask for high and critical; deny critical shaped by untrusted content"
        }
    }
}
