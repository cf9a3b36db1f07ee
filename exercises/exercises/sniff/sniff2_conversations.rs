// sniff2_conversations: bytes per conversation, both directions in one  (chapter: sniff)
//
// The monitor's summary counts bytes per source address. What a network
// admin usually wants is bytes per *conversation*: this client with that
// server, whoever sent the segment. A monitor sees each segment with its
// source and destination, so the request (client -> server) and the echo
// (server -> client) arrive with the two addresses swapped.
//
// Write `add`: count `bytes` for the conversation between `src` and `dst`,
// so that both directions of one conversation land in the same counter,
// and two clients of one server stay two conversations.
//
// The check replays one TCP echo exchange, then two clients talking to
// one server.
//
// Check it:  rustlings run sniff2_conversations
// Stuck?     rustlings hint sniff2_conversations

use std::net::SocketAddr;

use harness::sniff::Counters;

/// Counts `bytes` sent from `src` to `dst` in the conversation's counter.
fn add(counters: &mut Counters, src: SocketAddr, dst: SocketAddr, bytes: u64) {
    // TODO: Keyed by (src, dst), the two directions of one conversation
    // get two counters. Make both directions give the same key.
    let key = (src, dst);
    *counters.entry(key).or_default() += bytes;
}

fn main() {
    let client: SocketAddr = "127.0.0.1:51234".parse().unwrap();
    let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let mut counters = Counters::new();
    for (src, dst, bytes) in harness::sniff::echo_exchange(client, server) {
        add(&mut counters, src, dst, bytes);
    }
    for ((a, b), bytes) in &counters {
        println!("{a} <-> {b}: {bytes} bytes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_counter_per_conversation() {
        harness::sniff::check_one_counter_per_conversation(add);
    }

    #[test]
    fn conversations_stay_apart() {
        harness::sniff::check_conversations_stay_apart(add);
    }
}
