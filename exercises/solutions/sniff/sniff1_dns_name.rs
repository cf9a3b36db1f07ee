// sniff1_dns_name: read what a DNS query asks for, trusting no length  (chapter: sniff)
//
// A packet monitor that sees UDP to port 53 can say which names a machine
// looks up. After a 12-byte header, a DNS query holds its name as labels:
// a length byte, then that many bytes (`7 example 3 com`), until a length
// of zero. Every length comes from the network, so every length can lie.
//
// Write `query_name`: the name of the query in `payload` (UDP's payload),
// its labels joined with dots, `example.com`; or `None` when the payload
// is cut short or a length points past its end. Never a panic: a monitor
// that panics on one bad packet is one anybody can stop.
//
// The check reads a few honest queries, then lying ones.
//
// Check it:  rustlings run sniff1_dns_name
// Stuck?     rustlings hint sniff1_dns_name

/// The DNS header: id, flags and four counts, two bytes each.
const HEADER_LEN: usize = 12;

/// The name a DNS query asks for, or `None` if the query does not add up.
fn query_name(payload: &[u8]) -> Option<String> {
    let mut labels: Vec<String> = Vec::new();
    let mut at = HEADER_LEN;
    loop {
        // A length byte must be there, and so must the bytes it promises.
        let len = usize::from(*payload.get(at)?);
        if len == 0 {
            return Some(labels.join("."));
        }
        let label = payload.get(at + 1..at + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        at += 1 + len;
    }
}

fn main() {
    let query = harness::sniff::dns_query(0x1234, "example.com");
    println!("{:?}", query_name(&query));
    let mut lying = query.clone();
    lying[HEADER_LEN] = 60;
    println!("{:?} (a label that claims 60 bytes)", query_name(&lying));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_names() {
        harness::sniff::check_reads_query_names(query_name);
    }

    #[test]
    fn lying_lengths_are_refused() {
        harness::sniff::check_lying_lengths_are_refused(query_name);
    }
}
