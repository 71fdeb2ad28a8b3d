# AegisClaw policy, made from the `strict` template.
#
#   unsigned skills                                     deny
#   low risk (file reads, calendar reads, model calls)   allow; ask when untrusted content
#                                                       shaped the action
#   everything above low                                ask (every time); deny when untrusted
#                                                       content shaped the action
#   lockdown, a bad signature, a guard finding >= 0.5    deny
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

deny contains {"rule": "unsigned_skill", "message": msg} if {
	input.actor.skill.signature != "signed"
	msg := sprintf("skill %v is not signed by a trusted key (signature: %v)", [input.actor.skill.name, input.actor.skill.signature])
}

deny contains {"rule": "guard_finding", "message": msg} if {
	some f in input.findings
	f.score >= 0.5
	msg := sprintf("the %v detector found %v (score %v)", [f.detector, f.kind, f.score])
}

allow contains {"rule": "no_scopes", "message": "the action needs no scope"} if {
	count(input.scopes) == 0
}

# --- each requested scope -----------------------------------------------------------------

allow contains reason("low_risk", s, "low risk") if {
	some s in input.scopes
	s.risk == "low"
	not tainted
}

ask contains reason("low_risk_tainted", s, "low risk, but untrusted content shaped the action") if {
	some s in input.scopes
	s.risk == "low"
	tainted
}

ask contains reason("needs_approval", s, "needs a human's approval every time") if {
	some s in input.scopes
	s.risk != "low"
}

deny contains reason("tainted", s, "refused: untrusted content shaped an action above low risk") if {
	some s in input.scopes
	s.risk != "low"
	tainted
}

# --- obligations --------------------------------------------------------------------------

obligations contains {"approval_ttl": "5m"} if count(ask) > 0

obligations contains {"max_runtime": "2m"} if {
	some s in input.scopes
	s.name == "shell.exec"
}

obligations contains {"redact": true}

# --- helpers ------------------------------------------------------------------------------

# The engine reports the scope beside the message; building text here would cost every decision.
reason(rule, s, why) := {"rule": rule, "scope": s.scope, "message": why}

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

test_unsigned_skill_is_denied if {
	some r in deny with input as fixture("files.read:/tmp", "low", "unsigned", false)
	r.rule == "unsigned_skill"
}

test_low_risk_from_signed_is_allowed if {
	count(deny) == 0 with input as fixture("files.read:/tmp", "low", "signed", false)
	count(ask) == 0 with input as fixture("files.read:/tmp", "low", "signed", false)
	some r in allow with input as fixture("files.read:/tmp", "low", "signed", false)
	r.rule == "low_risk"
}

test_medium_asks if {
	some r in ask with input as fixture("files.write:/tmp", "medium", "signed", false)
	r.rule == "needs_approval"
}

test_tainted_above_low_is_denied if {
	some r in deny with input as fixture("net.outbound:example.com", "medium", "signed", true)
	r.rule == "tainted"
}
