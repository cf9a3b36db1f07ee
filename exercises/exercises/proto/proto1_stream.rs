// proto1_stream: where one record ends and the next begins   (chapter: proto)
//
// A protobuf message does not say where it ends: two records written back to
// back on a stream parse as one. So each goes out with its length in front,
// as a varint: 7 bits per byte, lowest first, the top bit (0x80) set on every
// byte but the last. 300 is [0xAC, 0x02]. `read_delimited` is given.
//
// Write `read_varint`: read one varint, a byte at a time and never a byte
// past it. `Ok(None)` if the stream ends before it, an `UnexpectedEof` error
// if it ends inside it, an `InvalidData` error if it runs past 10 bytes.
//
// The check reads varints up to u64::MAX, then three records through a real
// connection: Sarah Chen (102 bytes), one of about 300 bytes, an empty one.
//
// Check it:  rustlings run proto1_stream
// Stuck?     rustlings hint proto1_stream

use std::io::{self, Read};

use harness::proto::{Employee, big_record, sarah_chen, write_delimited};

/// The longest record a reader accepts: the length is the peer's claim.
const MAX_RECORD_LEN: u64 = 1024 * 1024;

/// Reads one varint from `r`, one byte at a time.
fn read_varint(r: &mut impl Read) -> io::Result<Option<u64>> {
    // TODO: This takes the first byte for the whole length: right for Sarah
    // Chen's 102 bytes, wrong past 127. Keep reading while a byte's top bit
    // is set, adding its 7 low bits above the ones you have.
    let mut byte = [0u8; 1];
    if r.read(&mut byte)? == 0 {
        return Ok(None);
    }
    Ok(Some(u64::from(byte[0])))
}

/// Reads one record written with its length in front; `Ok(None)` at the end.
fn read_delimited(r: &mut impl Read) -> io::Result<Option<Employee>> {
    let Some(len) = read_varint(r)? else {
        return Ok(None);
    };
    if len > MAX_RECORD_LEN {
        let e = format!("a record of {len} bytes, over MAX_RECORD_LEN");
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    let mut bytes = vec![0; len as usize];
    r.read_exact(&mut bytes)?;
    let employee = Employee::from_bytes(&bytes).map_err(io::Error::other)?;
    Ok(Some(employee))
}

fn main() -> io::Result<()> {
    // Two records through a loopback connection, then its end.
    let (mut client, server) = harness::net::connected_pair()?;
    write_delimited(&mut client, &sarah_chen())?;
    write_delimited(&mut client, &big_record())?;
    drop(client);
    let mut server = io::BufReader::new(server);
    for _ in 0..10 {
        let Some(employee) = read_delimited(&mut server)? else {
            break;
        };
        println!("{} ({} projects)", employee.name, employee.projects.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_take_seven_bits_per_byte() {
        harness::proto::check_varints(read_varint);
    }

    #[test]
    fn three_records_cross_tcp_in_order() {
        harness::proto::check_records_cross_tcp(read_delimited);
    }
}
