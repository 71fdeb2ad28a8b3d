//! The scanner against `data/scanner_cases.jsonl` (made by `data/gen_scanner_cases.py` from the
//! providers' published token formats): recall on positives, false-positive rate on near misses.

use aegisclaw_redact::Scanner;
use serde_json::Value;

#[test]
fn labelled_corpus_recall_and_false_positive_rate() {
    let data = include_str!("../data/scanner_cases.jsonl");
    let scanner = Scanner::new();
    let (mut positives, mut found, mut right_rule) = (0usize, 0usize, 0usize);
    let (mut negatives, mut flagged) = (0usize, 0usize);
    let mut report = Vec::new();
    for (n, line) in data.lines().enumerate() {
        let case: Value = serde_json::from_str(line).unwrap();
        let text = case["text"].as_str().unwrap();
        let findings = scanner.scan(text);
        match case["label"].as_str() {
            Some(rule) => {
                positives += 1;
                if findings.is_empty() {
                    report.push(format!("line {}: missed {rule}: {text}", n + 1));
                } else {
                    found += 1;
                    if findings.iter().any(|f| f.rule == rule) {
                        right_rule += 1;
                    } else {
                        report.push(format!(
                            "line {}: {rule} reported as {:?}",
                            n + 1,
                            findings.iter().map(|f| f.rule).collect::<Vec<_>>()
                        ));
                    }
                }
            }
            None => {
                negatives += 1;
                if !findings.is_empty() {
                    flagged += 1;
                    report.push(format!(
                        "line {}: false positive {:?}: {text}",
                        n + 1,
                        findings
                            .iter()
                            .map(|f| (f.rule, &text[f.span()]))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    let recall = found as f64 / positives as f64;
    let fp_rate = flagged as f64 / negatives as f64;
    eprintln!(
        "scanner corpus: {positives} positives, recall {:.1}% ({right_rule} with the labelled rule); \
         {negatives} negatives, false positives {:.1}%",
        recall * 100.0,
        fp_rate * 100.0
    );
    for line in &report {
        eprintln!("  {line}");
    }
    assert!(positives >= 200 && negatives >= 200, "corpus too small");
    assert!(recall >= 0.95, "recall {recall:.3} below 0.95");
    assert!(
        fp_rate <= 0.05,
        "false-positive rate {fp_rate:.3} above 0.05"
    );
}
