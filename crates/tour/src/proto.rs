//! Chapter 3 on the tour: the article's `create_employee` and
//! `parse_employee`, and the schema-evolution claim shown with real bytes.

use crate::Story;

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    story.command("just proto-demo");
    let bytes = proto::create_employee();
    story.said(
        "demo",
        &format!("create_employee() -> {} bytes:", bytes.len()),
    );
    for line in proto::hex_dump(&bytes).lines() {
        story.said("demo", line);
    }
    story.said("demo", "");
    story.said("demo", "parse_employee(data):");
    let employee = proto::parse_employee(&bytes).map_err(|e| format!("parse_employee: {e}"))?;
    for line in employee.to_string().lines() {
        story.said("demo", line);
    }
    if employee != proto::article_employee() {
        return Err("the parsed record differs from the one created".into());
    }

    story.note("A newer program adds `email = 6`; the older code still reads its bytes:");
    let v2_bytes = proto::serialize(&proto::article_employee_v2());
    let read_by_v1 = proto::parse_employee(&v2_bytes).map_err(|e| format!("v1 reading v2: {e}"))?;
    story.said(
        "v1",
        &format!(
            "{} bytes of v2 parsed: Name: {}, email skipped",
            v2_bytes.len(),
            read_by_v1.name
        ),
    );
    if read_by_v1 != proto::article_employee() {
        return Err("v1 code did not read v2 bytes as the same record".into());
    }
    let read_by_v2 = proto::parse_employee_v2(&bytes).map_err(|e| format!("v2 reading v1: {e}"))?;
    story.said(
        "v2",
        &format!(
            "v1 bytes parsed: Email: {:?} (the default)",
            read_by_v2.email
        ),
    );
    if !read_by_v2.email.is_empty() {
        return Err("v2 code invented an email for v1 bytes".into());
    }
    Ok(format!(
        "Employee in {} bytes, v1 and v2 read each other",
        bytes.len()
    ))
}
