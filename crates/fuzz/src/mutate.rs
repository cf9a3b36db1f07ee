//! Inputs from the seed corpus: pick a valid input, change it a little.
//!
//! Each change is one a real parser trips on: a flipped bit, a byte or a
//! length field set to a boundary value (0, 0x7f, 0xffff, the input's own
//! length), bytes inserted, deleted, repeated, or the tail of another seed
//! spliced on. One input in eight is plain random bytes, for parsers whose
//! first check the seeds always pass.
//!
//! Every choice is read from the `Unstructured` that [`arbtest`] fills from
//! the seed, so the same seed makes the same input. When its bytes run out,
//! `int_in_range` answers the range's start; nothing here can fail.

use arbtest::arbitrary::Unstructured;

/// Boundary values for one byte: zero, one, the sign bit's edges, all ones.
const INTERESTING_BYTES: [u8; 6] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/// Boundary values for a length field, 16 or 32 bits wide.
const INTERESTING_LENGTHS: [u32; 8] = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff];

/// The most mutations stacked on one seed.
const MAX_MUTATIONS: usize = 4;

/// One input for a target, made from `corpus` and the random bytes in `u`.
pub fn input(u: &mut Unstructured<'_>, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || pick(u, 8) == 0 {
        let rest = u.len();
        return u.bytes(rest).unwrap_or_default().to_vec();
    }
    let mut data = corpus[pick(u, corpus.len())].clone();
    for _ in 0..=pick(u, MAX_MUTATIONS) {
        mutate_once(u, &mut data, corpus);
    }
    data
}

/// A number below `n` (0 when `n` is 0), drawn from `u`.
fn pick(u: &mut Unstructured<'_>, n: usize) -> usize {
    u.int_in_range(0..=n.saturating_sub(1)).unwrap_or(0)
}

/// A position in `data`, its end included (where an insertion may go).
fn position(u: &mut Unstructured<'_>, data: &[u8]) -> usize {
    pick(u, data.len() + 1)
}

fn random_bytes(u: &mut Unstructured<'_>, max: usize) -> Vec<u8> {
    (0..1 + pick(u, max)).map(|_| pick(u, 256) as u8).collect()
}

/// Applies one of the changes listed in the module comment.
fn mutate_once(u: &mut Unstructured<'_>, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let at = position(u, data);
    match pick(u, 9) {
        // Flip one bit.
        0 if at < data.len() => data[at] ^= 1 << pick(u, 8),
        // One byte to a boundary value, or to any value.
        1 if at < data.len() => {
            data[at] = match INTERESTING_BYTES.get(pick(u, INTERESTING_BYTES.len() + 1)) {
                Some(&b) => b,
                None => pick(u, 256) as u8,
            }
        }
        // A length field to a boundary value or the input's own length,
        // 2 or 4 bytes, in either byte order.
        2 => {
            let value = match INTERESTING_LENGTHS.get(pick(u, INTERESTING_LENGTHS.len() + 1)) {
                Some(&n) => n,
                None => data.len() as u32,
            };
            let bytes = match pick(u, 4) {
                0 => value.to_be_bytes().to_vec(),
                1 => value.to_le_bytes().to_vec(),
                2 => (value as u16).to_be_bytes().to_vec(),
                _ => (value as u16).to_le_bytes().to_vec(),
            };
            overwrite(data, at, &bytes);
        }
        // Insert a few random bytes.
        3 => {
            let bytes = random_bytes(u, 16);
            data.splice(at..at, bytes);
        }
        // Delete a run of bytes.
        4 => {
            let end = (at + 1 + pick(u, 32)).min(data.len());
            data.drain(at.min(end)..end);
        }
        // Repeat a run of bytes somewhere else (a header twice, a frame twice).
        5 => {
            let end = (at + 1 + pick(u, 64)).min(data.len());
            let run = data[at.min(end)..end].to_vec();
            let to = position(u, data);
            data.splice(to..to, run);
        }
        // Splice: keep the head, take the tail of another seed.
        6 if !corpus.is_empty() => {
            let other = &corpus[pick(u, corpus.len())];
            let from = pick(u, other.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        // Cut the input short, as a closed connection or a partial file does.
        7 => data.truncate(at),
        // Append random bytes, as trailing garbage.
        _ => {
            let bytes = random_bytes(u, 64);
            data.extend_from_slice(&bytes);
        }
    }
}

/// Writes `bytes` over `data` from `at`, growing `data` if they run past.
fn overwrite(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if end > data.len() {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}
