# AegisClaw policy, made from the `standard` template.
#
#   low risk (file reads, calendar reads, model calls)   allow
#   medium and high risk (writes, exec, network, secrets) ask
#   critical risk (payments)                            ask; deny for an unsigned skill or
#                                                       when untrusted content shaped the action
#   a scope approved earlier in this session            allow (not critical, not tainted)
#   lockdown, a bad signature, a strong guard finding    deny
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
	f.score >= 0.8
	msg := sprintf("the %v detector found %v (score %v)", [f.detector, f.kind, f.score])
}

allow contains {"rule": "no_scopes", "message": "the action needs no scope"} if {
	count(input.scopes) == 0
}

# --- each requested scope -----------------------------------------------------------------

allow contains reason("low_risk", s, "low risk") if {
	some s in input.scopes
	s.risk == "low"
}

ask contains reason("needs_approval", s, "needs a human's approval") if {
	some s in input.scopes
	s.risk in {"medium", "high"}
	not s.approved
}

ask contains reason("needs_approval", s, "needs a human's approval") if {
	some s in input.scopes
	s.risk in {"medium", "high"}
	tainted
}

allow contains reason("approved_earlier", s, "approved earlier in this session") if {
	some s in input.scopes
	s.risk in {"medium", "high"}
	s.approved == true
	not tainted
}

ask contains reason("critical", s, "critical: needs a human's approval every time") if {
	some s in input.scopes
	s.risk == "critical"
}

deny contains reason("critical_unsigned", s, "critical scopes are refused to unsigned skills") if {
	some s in input.scopes
	s.risk == "critical"
	unsigned_skill
}

deny contains reason("critical_tainted", s, "critical scopes are refused when untrusted content shaped the action") if {
	some s in input.scopes
	s.risk == "critical"
	tainted
}

# --- obligations --------------------------------------------------------------------------

obligations contains {"approval_ttl": "15m"} if count(ask) > 0

obligations contains {"max_runtime": "5m"} if {
	some s in input.scopes
	s.name == "shell.exec"
}

obligations contains {"redact": true} if {
	some s in input.scopes
	s.name == "secrets.access"
}

# --- helpers ------------------------------------------------------------------------------

# The engine reports the scope beside the message; building text here would cost every decision.
reason(rule, s, why) := {"rule": rule, "scope": s.scope, "message": why}

unsigned_skill if input.actor.skill.signature != "signed"

tainted if input.provenance.tainted == true

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

test_low_risk_is_allowed if {
	some r in allow with input as fixture("files.read:/tmp", "low", "unsigned", true)
	r.rule == "low_risk"
}

test_exec_asks if {
	some r in ask with input as fixture("shell.exec", "high", "signed", false)
	r.rule == "needs_approval"
}

test_critical_from_unsigned_is_denied if {
	some r in deny with input as fixture("payments.send", "critical", "unsigned", false)
	r.rule == "critical_unsigned"
}

test_critical_from_signed_asks if {
	count(deny) == 0 with input as fixture("payments.send", "critical", "signed", false)
	some r in ask with input as fixture("payments.send", "critical", "signed", false)
	r.rule == "critical"
}

test_lockdown_denies if {
	some r in deny with input as object.union(fixture("files.read:/tmp", "low", "signed", false), {"environment": {"lockdown": true}})
	r.rule == "lockdown"
}
