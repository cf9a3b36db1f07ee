//! The wire format by hand: what `ParseFromString` walks over before any
//! field has a name.
//!
//! A protobuf message is a flat list of records. Each record starts with a
//! varint *tag* = `field_number << 3 | wire_type`, and the wire type says how
//! long the value is:
//!
//! | wire type | name   | value                                    | used here for          |
//! |-----------|--------|------------------------------------------|------------------------|
//! | 0         | VARINT | 1-10 bytes, 7 bits each, low bits first  | `int32 employee_id`    |
//! | 1         | I64    | 8 bytes, little-endian                   |                        |
//! | 2         | LEN    | a varint length, then that many bytes    | strings, map entries   |
//! | 5         | I32    | 4 bytes, little-endian                   |                        |
//!
//! (3 and 4 were proto2's "groups"; 6 and 7 are not used.) Knowing only
//! this, a reader can step over any field, even one it has no schema for:
//! that is what makes adding fields safe.
//!
//! This module reads records one at a time ([`raw_fields`]), prints them like
//! `protoc --decode_raw` ([`decode_raw`]), and turns a record into a typed
//! value, checking it on the way ([`string_field`], [`int32_field`],
//! [`string_map_entry`]): what `parse_employee` is built from.

use std::fmt;

/// A varint carries 7 bits per byte, so 64 bits need at most 10 bytes.
pub const MAX_VARINT_LEN: usize = 10;

/// The largest field number protobuf allows (2^29 - 1): the tag must fit in
/// 32 bits after the 3 wire-type bits.
pub const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// How deep [`decode_raw`] follows bytes that look like nested messages, the
/// same budget protoc uses; every level costs stack, and input is untrusted.
const MAX_RAW_DEPTH: usize = 100;

// ANCHOR: decode_error
/// Everything that can be wrong with bytes that claim to be a message. Each
/// variant names the byte offset where the problem starts.
///
/// Offsets count from 0: byte offset 0 is the message's first byte, as in
/// the left column of [`hex_dump`](crate::hex_dump) or `xxd`, and every
/// message says "at byte offset N". For a frame read with
/// [`read_frame`](crate::read_frame), byte offset 0 is the first byte of the
/// message, just after its length prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input stops in the middle of a tag or a value.
    UnexpectedEnd {
        /// Offset of the record (or varint) that was cut short.
        offset: usize,
        /// What was being read: "tag", "varint", "fixed64", "fixed32".
        reading: &'static str,
    },
    /// A varint whose 10th byte still says "more bytes follow".
    VarintTooLong {
        /// Offset of the first byte of the varint.
        offset: usize,
    },
    /// A LEN field whose declared length runs past the end of its input.
    LengthPastEnd {
        /// The field number of the record.
        field: u32,
        /// Offset of the record's tag.
        offset: usize,
        /// The length the record declares.
        declared: u64,
        /// The bytes actually left after the length.
        available: usize,
    },
    /// Field number 0, or one above 2^29 - 1.
    InvalidFieldNumber {
        /// Offset of the tag.
        offset: usize,
        /// The number found.
        number: u64,
    },
    /// Wire types 3 and 4 (proto2 groups) and 6 and 7 (never defined).
    UnsupportedWireType {
        /// The field number of the record.
        field: u32,
        /// Offset of the tag.
        offset: usize,
        /// The wire type found.
        wire_type: u8,
    },
    /// A field our schema knows, sent with another wire type: the sender's
    /// .proto disagrees with ours about that field's type.
    WrongWireType {
        /// The field number.
        field: u32,
        /// The field's name in our schema.
        name: String,
        /// Offset of the tag.
        offset: usize,
        /// The wire type our schema expects.
        expected: WireType,
        /// The wire type on the wire.
        found: WireType,
    },
    /// A string field whose bytes are not UTF-8 (proto3 strings must be).
    InvalidUtf8 {
        /// The field number.
        field: u32,
        /// The field's name in our schema.
        name: String,
        /// Offset of the tag.
        offset: usize,
    },
    /// A map entry holding a field other than key (1) or value (2).
    UnexpectedMapEntryField {
        /// The map field's name in our schema.
        name: String,
        /// Offset of the stray field's tag.
        offset: usize,
        /// Its field number.
        number: u32,
    },
}
// ANCHOR_END: decode_error

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd { offset, reading } => write!(
                f,
                "truncated input: the {reading} starting at byte offset {offset} is cut off by the end of the data"
            ),
            Self::VarintTooLong { offset } => write!(
                f,
                "malformed varint at byte offset {offset}: longer than {MAX_VARINT_LEN} bytes"
            ),
            Self::LengthPastEnd {
                field,
                offset,
                declared,
                available,
            } => write!(
                f,
                "field {field} at byte offset {offset} declares {declared} bytes but only {available} follow"
            ),
            Self::InvalidFieldNumber { offset, number } => write!(
                f,
                "invalid field number {number} at byte offset {offset}: field numbers run from 1 to {MAX_FIELD_NUMBER}"
            ),
            Self::UnsupportedWireType {
                field,
                offset,
                wire_type,
            } => match wire_type {
                3 | 4 => write!(
                    f,
                    "field {field} at byte offset {offset} uses wire type {wire_type} (a proto2 group), which proto3 does not have"
                ),
                _ => write!(
                    f,
                    "field {field} at byte offset {offset} has wire type {wire_type}, which does not exist"
                ),
            },
            Self::WrongWireType {
                field,
                name,
                offset,
                expected,
                found,
            } => write!(
                f,
                "field {field} ({name}) at byte offset {offset} has wire type {found} but the schema says {expected}: \
                 was it written with a different .proto?"
            ),
            Self::InvalidUtf8 {
                field,
                name,
                offset,
            } => write!(
                f,
                "field {field} ({name}) at byte offset {offset} is not valid UTF-8"
            ),
            Self::UnexpectedMapEntryField {
                name,
                offset,
                number,
            } => write!(
                f,
                "{name} map entry has field {number} at byte offset {offset}; an entry holds only key (1) and value (2)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The four wire types proto3 uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint (int32, int64, bool, enums).
    Varint,
    /// 1: eight bytes (fixed64, double).
    I64,
    /// 2: a length, then bytes (string, bytes, messages, map entries, packed).
    Len,
    /// 5: four bytes (fixed32, float).
    I32,
}

impl WireType {
    /// The number that goes into the low 3 bits of the tag.
    pub fn number(self) -> u8 {
        match self {
            Self::Varint => 0,
            Self::I64 => 1,
            Self::Len => 2,
            Self::I32 => 5,
        }
    }

    /// The name the protobuf encoding guide uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Varint => "VARINT",
            Self::I64 => "I64",
            Self::Len => "LEN",
            Self::I32 => "I32",
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.name())
    }
}

/// One record of a message, value still undecoded: all `--decode_raw` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawField<'a> {
    /// The field number from the tag.
    pub number: u32,
    /// Offset of the tag in the outermost input.
    pub offset: usize,
    /// The value, shaped by the wire type.
    pub value: RawValue<'a>,
}

/// A record's value, as far as the wire type tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    I64(u64),
    /// Wire type 2: the bytes after the length (a string, a message, ...).
    Len {
        /// The payload, borrowed from the input.
        bytes: &'a [u8],
        /// Offset of the payload's first byte in the outermost input.
        offset: usize,
    },
    /// Wire type 5.
    I32(u32),
}

impl RawValue<'_> {
    /// The wire type this value travelled with.
    pub fn wire_type(&self) -> WireType {
        match self {
            Self::Varint(_) => WireType::Varint,
            Self::I64(_) => WireType::I64,
            Self::Len { .. } => WireType::Len,
            Self::I32(_) => WireType::I32,
        }
    }
}

// ANCHOR: varint
/// Reads the varint at `data[pos..]`; returns it and the position after it.
///
/// Each byte gives 7 bits, low bits first; a set high bit means "more
/// follow". A 10th byte with the high bit set cannot be part of any 64-bit
/// value, so it is an error rather than a reason to keep reading.
#[inline]
pub fn read_varint(data: &[u8], pos: usize, base: usize) -> Result<(u64, usize), DecodeError> {
    // Nearly every varint in a message is one byte: tags of fields 1-15 and
    // lengths below 128. Answering those first skips the loop's bookkeeping.
    if let Some(&byte) = data.get(pos)
        && byte < 0x80
    {
        return Ok((u64::from(byte), pos + 1));
    }
    let mut value = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let Some(&byte) = data.get(pos + i) else {
            return Err(DecodeError::UnexpectedEnd {
                offset: base + pos,
                reading: "varint",
            });
        };
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, pos + i + 1));
        }
    }
    Err(DecodeError::VarintTooLong { offset: base + pos })
}

/// Appends `value` as a varint: the inverse of [`read_varint`].
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
// ANCHOR_END: varint

/// The records of `data`, one at a time. `base` is the byte offset where
/// `data` starts in the outermost input, so errors inside nested bytes still
/// point at the right byte.
pub fn raw_fields(data: &[u8], base: usize) -> RawFields<'_> {
    RawFields {
        data,
        pos: 0,
        base,
        failed: false,
    }
}

/// Iterator returned by [`raw_fields`]; it stops after the first error.
#[derive(Debug, Clone)]
pub struct RawFields<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> Iterator for RawFields<'a> {
    type Item = Result<RawField<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let field = self.read_field();
        self.failed = field.is_err();
        Some(field)
    }
}

impl<'a> RawFields<'a> {
    // ANCHOR: read_field
    // Runs once per record. As a real call it spent more on copying its
    // large `Result` out than on reading the record, so it is always inlined.
    #[inline(always)]
    fn read_field(&mut self) -> Result<RawField<'a>, DecodeError> {
        let offset = self.base + self.pos;
        let (tag, pos) = read_varint(self.data, self.pos, self.base)?;
        let number = tag >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(DecodeError::InvalidFieldNumber { offset, number });
        }
        // Cannot fail: checked against MAX_FIELD_NUMBER just above.
        let number = u32::try_from(number).unwrap_or(u32::MAX);
        let (value, next) = match tag & 0x7 {
            0 => {
                let (v, next) = read_varint(self.data, pos, self.base)?;
                (RawValue::Varint(v), next)
            }
            1 => {
                let bytes = self.fixed::<8>(pos, offset, "fixed64")?;
                (RawValue::I64(u64::from_le_bytes(bytes)), pos + 8)
            }
            5 => {
                let bytes = self.fixed::<4>(pos, offset, "fixed32")?;
                (RawValue::I32(u32::from_le_bytes(bytes)), pos + 4)
            }
            2 => {
                let (declared, start) = read_varint(self.data, pos, self.base)?;
                let available = self.data.len() - start;
                // Compare before converting or slicing: the length is the
                // sender's claim, and only the bytes we hold are real.
                let len = match usize::try_from(declared) {
                    Ok(len) if len <= available => len,
                    _ => {
                        return Err(DecodeError::LengthPastEnd {
                            field: number,
                            offset,
                            declared,
                            available,
                        });
                    }
                };
                let value = RawValue::Len {
                    bytes: &self.data[start..start + len],
                    offset: self.base + start,
                };
                (value, start + len)
            }
            wire_type => {
                return Err(DecodeError::UnsupportedWireType {
                    field: number,
                    offset,
                    wire_type: wire_type as u8,
                });
            }
        };
        self.pos = next;
        Ok(RawField {
            number,
            offset,
            value,
        })
    }
    // ANCHOR_END: read_field

    fn fixed<const N: usize>(
        &self,
        pos: usize,
        offset: usize,
        reading: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        self.data
            .get(pos..pos + N)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(DecodeError::UnexpectedEnd { offset, reading })
    }
}

// ANCHOR: decode_raw
/// Prints any protobuf bytes the way `protoc --decode_raw` does, with no
/// schema: field numbers and values only, one record per line.
///
/// Without a schema a LEN value is ambiguous; like protoc, we show it as a
/// nested message when its bytes parse as one, and as an escaped string
/// otherwise.
pub fn decode_raw(data: &[u8]) -> Result<String, DecodeError> {
    Ok(raw_text(data, false)?.to_string())
}

/// [`decode_raw`], with each line ending in a `# wire type N (NAME)` comment
/// (still valid protobuf text format).
pub fn decode_raw_with_wire_types(data: &[u8]) -> Result<String, DecodeError> {
    Ok(raw_text(data, true)?.to_string())
}

/// [`decode_raw`]'s text, checked but not yet written: `write!(out,
/// "{text}")` prints it straight to `out`, line by line.
///
/// The text is many times the size of the input (`08 00` becomes
/// `1: 0  # wire type 0 (VARINT)`), so `employee decode --raw` never builds
/// it: it checks every record here, then streams. Checking first means bad
/// input prints nothing, as with protoc, and the printing cannot fail
/// halfway on the input (nested bytes are shown as a message only if they
/// parse).
pub fn raw_text(data: &[u8], wire_types: bool) -> Result<RawText<'_>, DecodeError> {
    raw_fields(data, 0).try_for_each(|field| field.map(drop))?;
    Ok(RawText { data, wire_types })
}

/// Bytes [`raw_text`] has checked; `Display` prints them like
/// `protoc --decode_raw`.
#[derive(Debug, Clone, Copy)]
pub struct RawText<'a> {
    data: &'a [u8],
    wire_types: bool,
}

impl fmt::Display for RawText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_raw(f, self.data, 0, 0, self.wire_types)
    }
}

fn write_raw(
    out: &mut fmt::Formatter<'_>,
    data: &[u8],
    base: usize,
    depth: usize,
    wire_types: bool,
) -> fmt::Result {
    let indent = "  ".repeat(depth);
    // Every record here parses: raw_text checked the top level, and nested
    // bytes get here only when looks_like_message said they parse.
    for field in raw_fields(data, base).map_while(Result::ok) {
        let number = field.number;
        let comment = if wire_types {
            format!("  # wire type {}", field.value.wire_type())
        } else {
            String::new()
        };
        match field.value {
            RawValue::Varint(v) => writeln!(out, "{indent}{number}: {v}{comment}")?,
            RawValue::I64(v) => writeln!(out, "{indent}{number}: 0x{v:016x}{comment}")?,
            RawValue::I32(v) => writeln!(out, "{indent}{number}: 0x{v:08x}{comment}")?,
            RawValue::Len { bytes, offset } if looks_like_message(bytes, depth) => {
                writeln!(out, "{indent}{number} {{{comment}")?;
                write_raw(out, bytes, offset, depth + 1, wire_types)?;
                writeln!(out, "{indent}}}")?;
            }
            RawValue::Len { bytes, .. } => {
                write!(out, "{indent}{number}: \"")?;
                write_c_escaped(out, bytes)?;
                writeln!(out, "\"{comment}")?;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: decode_raw

/// protoc's guess: non-empty bytes that parse cleanly as records.
fn looks_like_message(bytes: &[u8], depth: usize) -> bool {
    !bytes.is_empty() && depth < MAX_RAW_DEPTH && raw_fields(bytes, 0).all(|f| f.is_ok())
}

/// Writes bytes escaped as protoc does (C-style, octal for anything
/// unprintable), so no control byte reaches the terminal. Written piece by
/// piece: a 16 MiB value never becomes a 64 MiB string.
fn write_c_escaped(out: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        match b {
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b'\t' => out.write_str("\\t")?,
            b'"' => out.write_str("\\\"")?,
            b'\'' => out.write_str("\\'")?,
            b'\\' => out.write_str("\\\\")?,
            0x20..=0x7e => out.write_char(char::from(b))?,
            _ => write!(out, "\\{b:03o}")?,
        }
    }
    Ok(())
}

// ANCHOR: field_readers
/// A `string` field's text, borrowed from the input: no copy is made.
///
/// Checks the wire type (a mismatch means the sender's .proto disagrees
/// with ours about this field) and UTF-8 (proto3 strings must be).
#[inline]
pub fn string_field<'a>(field: &RawField<'a>, name: &str) -> Result<&'a str, DecodeError> {
    let RawValue::Len { bytes, .. } = field.value else {
        return Err(wrong_wire_type(field, name, WireType::Len));
    };
    std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 {
        field: field.number,
        name: name.to_string(),
        offset: field.offset,
    })
}

/// An `int32` field: a varint, of which protobuf keeps the low 32 bits
/// (negative numbers travel sign-extended to 64 bits, in 10 bytes).
#[inline]
pub fn int32_field(field: &RawField<'_>, name: &str) -> Result<i32, DecodeError> {
    match field.value {
        RawValue::Varint(v) => Ok(v as i32),
        _ => Err(wrong_wire_type(field, name, WireType::Varint)),
    }
}

/// One entry of a `map<string, string>` field. On the wire a map is a
/// repeated message `{ string key = 1; string value = 2; }`, one record per
/// entry; a missing key or value takes its default, "".
pub fn string_map_entry<'a>(
    field: &RawField<'a>,
    name: &str,
) -> Result<(&'a str, &'a str), DecodeError> {
    let RawValue::Len { bytes, offset } = field.value else {
        return Err(wrong_wire_type(field, name, WireType::Len));
    };
    let (mut key, mut value) = ("", "");
    // `offset` makes errors inside the entry point at the right byte.
    for inner in raw_fields(bytes, offset) {
        let inner = inner?;
        match inner.number {
            // Names are built only on the error path: this runs per entry.
            1 => key = string_field(&inner, "key").map_err(|e| in_map(e, name))?,
            2 => value = string_field(&inner, "value").map_err(|e| in_map(e, name))?,
            number => {
                return Err(DecodeError::UnexpectedMapEntryField {
                    name: name.to_string(),
                    offset: inner.offset,
                    number,
                });
            }
        }
    }
    Ok((key, value))
}
// ANCHOR_END: field_readers

fn wrong_wire_type(field: &RawField<'_>, name: &str, expected: WireType) -> DecodeError {
    DecodeError::WrongWireType {
        field: field.number,
        name: name.to_string(),
        offset: field.offset,
        expected,
        found: field.value.wire_type(),
    }
}

/// "key" becomes "metadata key" in an error from inside a map entry.
fn in_map(error: DecodeError, map_name: &str) -> DecodeError {
    match error {
        DecodeError::WrongWireType {
            field,
            name,
            offset,
            expected,
            found,
        } => DecodeError::WrongWireType {
            field,
            name: format!("{map_name} {name}"),
            offset,
            expected,
            found,
        },
        DecodeError::InvalidUtf8 {
            field,
            name,
            offset,
        } => DecodeError::InvalidUtf8 {
            field,
            name: format!("{map_name} {name}"),
            offset,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn varint_300_is_two_bytes_low_bits_first() {
        assert_eq!(read_varint(&[0xac, 0x02], 0, 0), Ok((300, 2)));
    }

    #[test]
    fn ten_byte_varint_holds_u64_max() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&bytes, 0, 0), Ok((u64::MAX, 10)));
    }

    #[test]
    fn eleven_byte_varint_is_rejected() {
        let bytes = [0xff; 11];
        assert_eq!(
            read_varint(&bytes, 0, 0),
            Err(DecodeError::VarintTooLong { offset: 0 })
        );
    }

    #[test]
    fn decode_raw_matches_protoc_for_every_wire_type() {
        // Expected text is what `protoc --decode_raw` printed for these bytes.
        let bytes = b"\x0a\x03a\xffb\x19\x01\x02\x03\x04\x05\x06\x07\x08\x25\x01\x02\x03\x04\
                      \x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x12\x00\x2a\x00\
                      \x22\x05\x0a\x03\x22\x01\x09";
        let expected = "1: \"a\\377b\"\n\
                        3: 0x0807060504030201\n\
                        4: 0x04030201\n\
                        2: 18446744073709551615\n\
                        2: \"\"\n\
                        5: \"\"\n\
                        4 {\n  1 {\n    4: \"\\t\"\n  }\n}\n";
        assert_eq!(decode_raw(bytes).unwrap(), expected);
    }

    #[test]
    fn raw_text_checks_every_record_before_printing_any() {
        // A good first record, then one cut short: nothing is printed.
        let error = raw_text(b"\x08\x01\x0a\x05ab", false).unwrap_err();
        assert_eq!(
            error,
            DecodeError::LengthPastEnd {
                field: 1,
                offset: 2,
                declared: 5,
                available: 2
            }
        );
        // Checked bytes print to any io::Write, line by line.
        let text = raw_text(b"\x08\x01\x12\x01\x1b", false).unwrap();
        let mut out = Vec::new();
        write!(out, "{text}").unwrap();
        assert_eq!(out, b"1: 1\n2: \"\\033\"\n");
    }

    #[test]
    fn wire_type_comments_name_each_record() {
        let text = decode_raw_with_wire_types(b"\x08\x2a\x12\x05hello").unwrap();
        assert_eq!(
            text,
            "1: 42  # wire type 0 (VARINT)\n2: \"hello\"  # wire type 2 (LEN)\n"
        );
    }

    #[test]
    fn deep_nesting_stops_being_followed_at_the_depth_budget() {
        // 300 levels of `1 { 1 { ... } }`, built from the inside out.
        let mut bytes = b"\x08\x01".to_vec();
        for _ in 0..300 {
            let mut outer = vec![0x0a];
            write_varint(&mut outer, bytes.len() as u64);
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        let text = decode_raw(&bytes).unwrap();
        assert_eq!(text.matches('{').count(), MAX_RAW_DEPTH);
    }
}
