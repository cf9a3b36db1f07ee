//! The text `employee decode` prints from what came off the wire: safe for
//! the terminal, and in memory the size of the input.
//!
//! Two things change when the bytes are not the article's record but
//! whatever a user pipes into `employee decode`:
//!
//! - the strings are the sender's, and the terminal is ours. Python's
//!   `print(f"Name: {employee.name}")` writes the name as it is, so a name
//!   holding `ESC [2J` clears the reader's screen and one holding a newline
//!   forges a line of output. [`escape_controls`] shows control characters
//!   as Python's `repr` does (`\x1b`, `\n`) and leaves all other text alone;
//! - the record can be huge. Two bytes on the wire (`22 00`) make one empty
//!   project, which costs 24 bytes in a parsed `Employee`'s `Vec` and more
//!   once printed to a `String`: 16 MiB of them took 740 MB. [`EmployeeLines`]
//!   checks the bytes exactly as [`parse_employee`](crate::parse_employee)
//!   does, keeps only the name and department (borrowed), and prints the
//!   projects straight from the input bytes as it goes.

use std::fmt;

use cli::python_repr;

use crate::wire::{self, DecodeError, RawValue};

// ANCHOR: escape_controls
/// `s` as `print` shows it, except that control characters are escaped the
/// way Python's `repr` escapes them: `\n`, `\r`, `\t`, else `\xNN`.
///
/// Ordinary text, accented and non-Latin letters included, is unchanged:
/// `Name: Sarah Chen` stays byte for byte the article's line. Unlike
/// `repr`, no quotes are added and backslashes are not doubled.
pub fn escape_controls(s: &str) -> EscapeControls<'_> {
    EscapeControls(s)
}

/// Returned by [`escape_controls`]; writes the text as it goes, so escaping
/// a long string allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct EscapeControls<'a>(&'a str);

impl fmt::Display for EscapeControls<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        // Runs of ordinary text go out whole; each control character is
        // replaced by its escape.
        let mut run_start = 0;
        for (i, c) in text.char_indices().filter(|(_, c)| c.is_control()) {
            f.write_str(&text[run_start..i])?;
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                // Control characters are C0, DEL and C1, all below U+00A0,
                // so two hex digits always do.
                c => write!(f, "\\x{:02x}", u32::from(c))?,
            }
            run_start = i + c.len_utf8();
        }
        f.write_str(&text[run_start..])
    }
}
// ANCHOR_END: escape_controls

// ANCHOR: employee_lines
/// What `employee decode` prints: the article's lines (and v2's `Email:`),
/// from bytes checked as [`parse_employee`](crate::parse_employee) checks
/// them, but without collecting the record.
///
/// Only the name, department and email are kept, as slices of the input;
/// `Display` finds the projects in the input again while it prints. So
/// memory is the input's plus a constant, however many fields it holds.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeLines<'a> {
    data: &'a [u8],
    name: &'a str,
    department: &'a str,
    /// `Some` for the v2 schema, which prints an `Email:` line.
    email: Option<&'a str>,
}

/// Checks `data` as [`parse_employee`](crate::parse_employee) does and
/// returns the lines its `Display` would print.
pub fn employee_lines(data: &[u8]) -> Result<EmployeeLines<'_>, DecodeError> {
    let mut lines = EmployeeLines {
        data,
        name: "",
        department: "",
        email: None,
    };
    // The same checks, field for field, as parse_employee; a test holds the
    // two to the same answer. Singular fields: the last one wins.
    for field in wire::raw_fields(data, 0) {
        let field = field?;
        match field.number {
            1 => lines.name = wire::string_field(&field, "name")?,
            2 => _ = wire::int32_field(&field, "employee_id")?,
            3 => lines.department = wire::string_field(&field, "department")?,
            4 => _ = wire::string_field(&field, "projects")?,
            5 => _ = wire::string_map_entry(&field, "metadata")?,
            _ => {}
        }
    }
    Ok(lines)
}

/// [`employee_lines`] for the v2 schema, checked as
/// [`parse_employee_v2`](crate::parse_employee_v2) checks: v1's fields,
/// then the email.
pub fn employee_lines_v2(data: &[u8]) -> Result<EmployeeLines<'_>, DecodeError> {
    let mut lines = employee_lines(data)?;
    lines.email = Some("");
    for field in wire::raw_fields(data, 0) {
        let field = field?;
        if field.number == 6 {
            lines.email = Some(wire::string_field(&field, "email")?);
        }
    }
    Ok(lines)
}

impl fmt::Display for EmployeeLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Name: {}", escape_controls(self.name))?;
        writeln!(f, "Department: {}", escape_controls(self.department))?;
        // `python_list`, one item at a time. employee_lines checked every
        // record, so none is dropped here.
        let projects = wire::raw_fields(self.data, 0)
            .map_while(Result::ok)
            .filter(|field| field.number == 4)
            .filter_map(|field| match field.value {
                RawValue::Len { bytes, .. } => std::str::from_utf8(bytes).ok(),
                _ => None,
            });
        f.write_str("Projects: [")?;
        for (i, project) in projects.enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&python_repr(project))?;
        }
        f.write_str("]")?;
        if let Some(email) = self.email {
            write!(f, "\nEmail: {}", escape_controls(email))?;
        }
        Ok(())
    }
}
// ANCHOR_END: employee_lines

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_letters_are_not() {
        let shown = escape_controls("Eve\x1b[2J\nName: Mallory\t\u{9b}\x7f José 陈").to_string();
        assert_eq!(shown, "Eve\\x1b[2J\\nName: Mallory\\t\\x9b\\x7f José 陈");
        assert_eq!(escape_controls("Sarah Chen").to_string(), "Sarah Chen");
    }
}
