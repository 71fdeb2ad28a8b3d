# AegisClaw policy, made from the `permissive` template.
#
#   low and medium risk                                 allow; medium asks when untrusted
#                                                       content shaped the action
#   high and critical risk                              ask
#   critical risk shaped by untrusted content           deny
#   a high-risk scope approved earlier in this session  allow (not tainted)
#   lockdown, a bad signature, a guard finding >= 0.9    deny
#
# How a policy is read (crates/policy/README.md has the details): `deny`, `ask` and `allow` are
# sets of reasons {"rule", "message", "scope"}. A reason with "scope" decides that requested
# scope; one without decides the whole action. For every scope the strictest reason wins
# (deny > ask > allow), and a scope that no reason mentions is denied. `obligations` holds
# objects with "approval_ttl" and "max_runtime" (durations such as "15m") and "redact" (bool).
# Check a change with `aegisclaw policy check`.
package aegisclaw

import rego.v1

# --- the whole action ---------------------------------------------------------------------

deny contains {"rule": "lockdown", "message": "lockdown is on: every action is refused until it is lifted"} if {
	input.environment.lockdown == true
}

deny contains {"rule": "invalid_signature", "message": msg} if {
	input.actor.skill.signature == "invalid"
	msg := sprintf("skill %v has a signature that does not verify", [input.actor.skill.name])
}

deny contains {"rule": "guard_finding", "message": msg} if {
	some f in input.findings
	f.score >= 0.9
	msg := sprintf("the %v detector found %v (score %v)", [f.detector, f.kind, f.score])
}

allow contains {"rule": "no_scopes", "message": "the action needs no scope"} if {
	count(input.scopes) == 0
}

# --- each requested scope -----------------------------------------------------------------

allow contains reason("up_to_medium", s, "up to medium risk") if {
	some s in input.scopes
	s.risk in {"low", "medium"}
}

ask contains reason("medium_tainted", s, "untrusted content shaped the action") if {
	some s in input.scopes
	s.risk == "medium"
	tainted
}

ask contains reason("needs_approval", s, "needs a human's approval") if {
	some s in input.scopes
	s.risk == "high"
	not approved_clean(s)
}

allow contains reason("approved_earlier", s, "approved earlier in this session") if {
	some s in input.scopes
	s.risk == "high"
	approved_clean(s)
}

ask contains reason("critical", s, "critical: needs a human's approval every time") if {
	some s in input.scopes
	s.risk == "critical"
}

deny contains reason("critical_tainted", s, "critical scopes are refused when untrusted content shaped the action") if {
	some s in input.scopes
	s.risk == "critical"
	tainted
}

# --- obligations --------------------------------------------------------------------------

obligations contains {"approval_ttl": "1h"} if count(ask) > 0

obligations contains {"redact": true} if {
	some s in input.scopes
	s.name == "secrets.access"
}

# --- helpers ------------------------------------------------------------------------------

# The engine reports the scope beside the message; building text here would cost every decision.
reason(rule, s, why) := {"rule": rule, "scope": s.scope, "message": why}

tainted if input.provenance.tainted == true

approved_clean(s) if {
	s.approved == true
	not tainted
}

# --- tests (run by `aegisclaw policy check`) ----------------------------------------------

fixture(name, risk, signature, taint) := {
	"actor": {"agent": "test", "skill": {"name": "s", "signature": signature}},
	"kind": "exec",
	"scopes": [{"scope": name, "name": name, "risk": risk, "approved": false}],
	"provenance": {"tainted": taint, "sources": []},
	"findings": [],
	"session": {"id": "t", "approvals": []},
	"environment": {"lockdown": false},
}

test_medium_is_allowed if {
	count(ask) == 0 with input as fixture("files.write:/tmp", "medium", "unsigned", false)
	some r in allow with input as fixture("files.write:/tmp", "medium", "unsigned", false)
	r.rule == "up_to_medium"
}

test_high_asks if {
	some r in ask with input as fixture("shell.exec", "high", "signed", false)
	r.rule == "needs_approval"
}

test_tainted_critical_is_denied if {
	some r in deny with input as fixture("payments.send", "critical", "signed", true)
	r.rule == "critical_tainted"
}
