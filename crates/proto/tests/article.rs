//! The literal port of the article's functions (`examples/article-proto`)
//! prints what the article prints, for bytes of the same length as the
//! chapter's `create_employee`.

use std::time::Duration;

use test_support::{example_path, run};

#[test]
fn the_literal_port_prints_the_articles_three_lines() {
    let out = run(
        example_path("article-proto"),
        &[],
        None,
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = format!(
        "{} bytes\n{}\n",
        proto::create_employee().len(),
        proto::article_employee()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}
