//! Start-up compiles only the guards a server runs. Alone in its own test binary, because the
//! compiled expressions are process-wide: another test's use would compile them first.

use rampart_guard::{Detector, compiled, injection, warm_up};

#[test]
fn warm_up_compiles_only_what_is_named() {
    assert!(compiled().is_empty(), "nothing is compiled before use");
    warm_up(&[], None);
    warm_up(&[Detector::Invisible], None);
    assert!(compiled().is_empty(), "invisible text has no expressions");
    warm_up(&[Detector::Pii], None);
    assert_eq!(compiled(), ["pii"]);
    // Exfiltration checks a link's data for secrets and personal data.
    warm_up(&[Detector::Exfil], None);
    assert_eq!(compiled(), ["secrets", "pii", "exfil"]);
    let m = injection::Model::from_bytes(injection::shipped::MODEL).expect("shipped model");
    warm_up(&[], Some(&m));
    assert_eq!(compiled(), ["secrets", "pii", "exfil", "injection"]);
}

#[test]
fn first_use_compiles_what_warm_up_would() {
    // The rules compile on first use too; warm-up only moves the cost to start-up. Run in a
    // child so that this binary's other test sees a fresh process.
    if std::env::var_os("RAMPART_WARM_CHILD").is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "first_use_compiles_what_warm_up_would",
                "--nocapture",
            ])
            .env("RAMPART_WARM_CHILD", "1")
            .output()
            .expect("child test");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        return;
    }
    let g = rampart_guard::Guards::default();
    let _ = g.check("write to bob@example.org", &[Detector::Secrets]);
    assert_eq!(compiled(), ["secrets"]);
}
