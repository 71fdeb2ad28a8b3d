//! Each layer fails closed, naming itself and the fix; an explicit opt-in runs degraded and says
//! so in the report.

use aegisclaw_core::SandboxLayer;
use aegisclaw_sandbox::{Backend, Error, ExecSpec, ExecStdio, Layer, SimulatedFault};

use crate::common::{backend, spec};

#[test]
fn a_missing_layer_refuses_the_run_with_a_fix() {
    for (fault, layer) in [
        (SimulatedFault::LandlockMissing, Layer::Landlock),
        (SimulatedFault::SeccompMissing, Layer::Seccomp),
        (SimulatedFault::UserNamespacesDisabled, Layer::UserNamespace),
    ] {
        let e = backend()
            .simulate_fault(fault)
            .run(spec(), &ExecSpec::new("true"), ExecStdio::piped())
            .unwrap_err();
        match &e {
            Error::Layer { layer: l, .. } => assert_eq!(*l, layer, "{e}"),
            other => panic!("{fault:?}: {other}"),
        }
        let hint = e.hint().unwrap();
        assert!(hint.contains("allow_degraded"), "{hint}");
    }
}

#[test]
fn an_explicit_opt_in_runs_degraded_and_says_so() {
    let mut s = spec();
    s.allow_degraded.push(SandboxLayer::Landlock);
    let out = backend()
        .simulate_fault(SimulatedFault::LandlockMissing)
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap();
    assert_eq!(out.report.exec.code(), 0);
    assert_eq!(out.report.degraded.len(), 1, "{:?}", out.report.degraded);
    assert_eq!(out.report.degraded[0].layer, SandboxLayer::Landlock);
}
