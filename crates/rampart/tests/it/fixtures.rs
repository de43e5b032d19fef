//! Every fixture in fixtures/expected.tsv gives the expected verdict (table-driven).

use crate::util::{fixture, root, rule_ids, scan_json};

#[test]
fn every_fixture_matches_expectation() {
    let table =
        std::fs::read_to_string(root().join("fixtures/expected.tsv")).expect("expected.tsv");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (path, expect) = line.split_once('\t').expect("two columns");
        let p = fixture(path);
        let (code, report) = scan_json(&[p.to_str().expect("utf-8 path")]);
        let ids = rule_ids(&report);
        let above_info: Vec<_> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] != "info")
            .map(|f| format!("{} {}", f["rule_id"], f["message"]))
            .collect();
        let ok = match expect {
            "clean" => code == 0 && above_info.is_empty(),
            "no-crash" => code == 0 || code == 1,
            rules => code == 1 && rules.split(',').all(|r| ids.iter().any(|i| i == r)),
        };
        if !ok {
            failures.push(format!(
                "{path}: expected {expect}, got exit {code}, findings {above_info:?}"
            ));
        }
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} fixtures listed");
    assert!(
        failures.is_empty(),
        "{} fixtures failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn whole_benign_tree_is_clean_and_malicious_tree_is_not() {
    let (code, report) = scan_json(&[fixture("benign").to_str().unwrap()]);
    assert_eq!(code, 0, "{:#}", report["findings"]);
    assert!(report["summary"]["files"].as_u64().unwrap() >= 30);
    let (code, report) = scan_json(&[fixture("malicious").to_str().unwrap()]);
    assert_eq!(code, 1);
    // Every malicious file yields at least one finding at medium or above.
    let files = report["files"].as_array().unwrap();
    for f in files {
        let worst = f["max_severity"].as_str().unwrap_or("none");
        assert!(
            matches!(worst, "medium" | "high" | "critical"),
            "{} only reached {worst}",
            f["path"]
        );
    }
}
