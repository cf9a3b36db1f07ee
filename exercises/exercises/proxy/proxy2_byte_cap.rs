// proxy2_byte_cap: forward every byte, and not one too many  (chapter: proxy)
//
// The article forwards with `destination.send(data)`. A `send` (a `write`
// in Rust) may take only part of what it is given, as a busy socket does,
// and says how much it took; the article never looks, and the rest of the
// chunk is lost. And its proxy forwards without limit, where a proxy in
// front of a fragile server may allow each connection only so many bytes.
//
// Fix `forward`: every byte read must reach `to`, however little each
// `write` takes, and it must stop once `cap` bytes have passed, even when
// the cap falls inside a chunk. It returns how many bytes it forwarded.
//
// The check reads in odd-sized pieces into a writer that takes 5 bytes a
// call, caps 10000 bytes at 1234, then runs a proxy capped at 2000 bytes.
//
// Check it:  rustlings run proxy2_byte_cap
// Stuck?     rustlings hint proxy2_byte_cap

use std::io::{self, Read, Write};

/// Copies `from` to `to` until `from` ends or `cap` bytes have passed.
fn forward(from: &mut dyn Read, to: &mut dyn Write, cap: u64) -> io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut forwarded = 0;
    loop {
        // TODO: The article's loop: no cap, and a `write` that takes part
        // of a chunk loses the rest. Stop at `cap`; write each chunk whole.
        let _ = cap;
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(forwarded);
        }
        let written = to.write(&buf[..n])?;
        forwarded += written as u64;
    }
}

fn main() -> io::Result<()> {
    let mut to = harness::proxy::StingyWriter::new(5);
    let sent = forward(&mut &b"Hello, Server! And more."[..], &mut to, 14)?;
    println!(
        "forwarded {sent} bytes: {:?}",
        String::from_utf8_lossy(&to.written)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_arrives_under_the_cap() {
        harness::proxy::check_forwards_every_byte(forward);
    }

    #[test]
    fn exactly_the_cap_arrives_over_it() {
        harness::proxy::check_stops_at_the_cap(forward);
    }

    #[test]
    fn a_capped_proxy_passes_2000_bytes_and_the_end() {
        harness::proxy::check_caps_a_real_connection(forward);
    }
}
