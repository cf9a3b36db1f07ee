//! `interrupt` (what a client's Ctrl-C calls) ends a run early and the
//! report says so. Its own test binary: the flag is process-wide.

use std::thread;
use std::time::Duration;

use measure::{Load, interrupt, run};

#[test]
fn an_interrupted_run_reports_what_it_did() {
    let stopper = thread::spawn(|| {
        thread::sleep(Duration::from_millis(100));
        interrupt();
    });
    let report = run(Load::new(1_000_000, 2), || {
        thread::sleep(Duration::from_millis(1));
        Ok(())
    });
    stopper.join().unwrap();
    assert!(report.interrupted);
    assert!(report.attempted() > 0 && report.attempted() < 1_000_000);
    assert!(report.to_string().contains("interrupted after"), "{report}");
}
