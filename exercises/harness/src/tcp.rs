//! The TCP chapter: what `tcp1_threaded_echo` and `tcp2_length_prefix`
//! need besides their lesson, and their checks.
//!
//! - For `tcp1_threaded_echo`: the article's echo, [`handle_client`]; a
//!   runner, [`start`], that puts a `serve` function on 127.0.0.1 port 0 on a
//!   thread of its own; the article's client, [`request`]; and the checks
//!   [`check_idle_client_blocks_nobody`] and
//!   [`check_serve_waits_for_its_clients`].
//! - For `tcp2_length_prefix`: the checks' own frame writer, [`frame`], and
//!   the checks [`check_frames_cross_tcp`], [`check_ends_of_stream`] and
//!   [`check_huge_length_is_refused`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::net::{self, ChoppyReader, LOOPBACK, TIMEOUT, show, within};

/// What the echo server puts in front of the echoed bytes, as in the article.
pub const ECHO_PREFIX: &[u8] = b"Echo: ";

/// How long [`handle_client`] waits for a client that sends nothing. Long on
/// purpose: a server that serves one client at a time sits this long on a
/// silent client, far past the [`CLIENTS_DEADLINE`] of the check.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a client may send: one that never stops cannot make the server
/// buffer without limit.
pub const MAX_MESSAGE: u64 = 64 * 1024;

/// A `serve` function as `tcp1_threaded_echo` writes it: serve `clients`
/// connections from `listener`, and return once they are all served.
pub type ServeFn = fn(&TcpListener, usize) -> io::Result<()>;

/// Echoes one client: reads until the client half-closes, replies with
/// `Echo: ` and everything it sent, and closes. The article's server reads once,
/// `recv(1024)`; reading to the end echoes a long message whole. Like the
/// article (`if data:`), an empty message gets no reply.
///
/// An error (a client silent for [`IDLE_TIMEOUT`], a connection reset) ends
/// this client only: it is printed, not returned, so the caller has nothing
/// to handle.
pub fn handle_client(mut stream: TcpStream) {
    if let Err(e) = echo(&mut stream) {
        eprintln!("handle_client: {e}");
    }
    // Dropping the stream closes it: the client's read-to-end ends here.
}

fn echo(stream: &mut TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut message = Vec::new();
    (&mut *stream).take(MAX_MESSAGE).read_to_end(&mut message)?;
    if !message.is_empty() {
        stream.write_all(&[ECHO_PREFIX, &message].concat())?;
    }
    Ok(())
}

/// A `serve` function running on a thread of its own: see [`start`].
pub struct Server {
    addr: SocketAddr,
    done: mpsc::Receiver<io::Result<()>>,
}

/// Binds 127.0.0.1 (port 0) and runs `serve(&listener, clients)` on a thread
/// of its own. Connect to [`Server::addr`]; [`Server::finish`] waits for
/// `serve` to return.
pub fn start(serve: ServeFn, clients: usize) -> io::Result<Server> {
    let listener = TcpListener::bind(LOOPBACK)?;
    let addr = listener.local_addr()?;
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        // Nobody may be waiting for the result any more: that is fine.
        let _ = done_tx.send(serve(&listener, clients));
    });
    Ok(Server { addr, done })
}

impl Server {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits, at most [`TIMEOUT`], for `serve` to return, and gives its
    /// result; an error if it has not returned by then, or panicked.
    pub fn finish(self) -> io::Result<()> {
        self.returned_within(TIMEOUT).unwrap_or_else(|| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("serve had not returned {TIMEOUT:?} after its clients were served"),
            ))
        })
    }

    /// What `serve` returned, if it returns within `limit`; `None` if it is
    /// still running then.
    pub fn returned_within(&self, limit: Duration) -> Option<io::Result<()>> {
        match self.done.recv_timeout(limit) {
            Ok(result) => Some(result),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Some(Err(io::Error::other("serve panicked")))
            }
        }
    }
}

/// The client of the checks: connects to `addr`, sends `message`, half-closes
/// ("that is all I will send"), and returns everything the server sends back
/// before it closes (where the article's client reads once). Every step gives
/// up after [`TIMEOUT`].
pub fn request(addr: SocketAddr, message: &[u8]) -> io::Result<Vec<u8>> {
    request_within(addr, message, TIMEOUT)
}

/// [`request`], giving up after `timeout` at each step.
pub fn request_within(addr: SocketAddr, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = net::connect_within(addr, timeout)?;
    stream.write_all(message)?;
    // The server reads until the end of the stream: this is that end.
    stream.shutdown(Shutdown::Write)?;
    let mut reply = Vec::new();
    stream
        .take(MAX_MESSAGE + ECHO_PREFIX.len() as u64)
        .read_to_end(&mut reply)?;
    Ok(reply)
}

/// How many clients [`check_idle_client_blocks_nobody`] runs at once.
pub const CLIENTS: usize = 8;

/// How long those clients may take, all together. With a thread per client
/// they take milliseconds.
pub const CLIENTS_DEADLINE: Duration = Duration::from_secs(5);

/// How long the last client of [`check_serve_waits_for_its_clients`] waits
/// between sending and half-closing. A `serve` that does not wait for its
/// threads returns at once; a longer pause only makes the check slower.
pub const SLOW_CLIENT_PAUSE: Duration = Duration::from_millis(300);

/// Checks `tcp1_threaded_echo`'s `serve`: with a client connected that never
/// says a word (first in the accept queue), [`CLIENTS`] more clients each
/// get `Echo: ` + their message within [`CLIENTS_DEADLINE`]. Then the silent
/// client leaves, and `serve` must return, all its clients served.
///
/// The article's loop fails this: it sits in `recv` on the silent client,
/// and the others wait behind it.
#[track_caller]
pub fn check_idle_client_blocks_nobody(serve: ServeFn) {
    let server = start(serve, CLIENTS + 1).expect("cannot bind 127.0.0.1");
    let silent = net::connect(server.addr()).expect("cannot connect");

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let addr = server.addr();
            thread::spawn(move || {
                let message = format!("client {i}");
                let reply = request_within(addr, message.as_bytes(), CLIENTS_DEADLINE);
                (message, reply)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for client in clients {
        // Bounded: every step of `request_within` has its timeout.
        let (message, reply) = client.join().expect("a client thread panicked");
        let expected = [ECHO_PREFIX, message.as_bytes()].concat();
        match reply {
            Ok(reply) if reply == expected => {}
            Ok(reply) => failures.push(format!(
                "  {message}: got {}, expected {}",
                show(&reply),
                show(&expected)
            )),
            Err(e) if net::is_timeout(&e) => {
                failures.push(format!("  {message}: no reply within {CLIENTS_DEADLINE:?}"))
            }
            Err(e) => failures.push(format!("  {message}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CLIENTS} clients got no echo while a silent client stayed connected:\n{}\n\
         A server that handles one client at a time is still waiting for the silent \
         one to speak. Handle each accepted connection on a thread of its own.",
        failures.len(),
        failures.join("\n")
    );

    // The silent client leaves; its handler reads the end of the stream.
    drop(silent);
    if let Err(e) = server.finish() {
        panic!(
            "serve(listener, {}) should return once its clients are served: {e}",
            CLIENTS + 1
        );
    }
}

/// Checks that `tcp1_threaded_echo`'s `serve` returns only once its clients
/// are served: with 2 clients, the second sends and then waits
/// [`SLOW_CLIENT_PAUSE`] before it half-closes; `serve` must still be
/// running then, and return once that client has its echo.
///
/// A `serve` that starts threads and does not wait for them returns as soon
/// as it has accepted the second client, and fails this.
#[track_caller]
pub fn check_serve_waits_for_its_clients(serve: ServeFn) {
    let server = start(serve, 2).expect("cannot bind 127.0.0.1");
    let reply = request(server.addr(), b"one").expect("the first client got no reply");
    assert_eq!(
        reply,
        [ECHO_PREFIX, b"one"].concat(),
        "the first client's echo"
    );

    let mut last = net::connect(server.addr()).expect("cannot connect");
    last.write_all(b"two")
        .expect("the second client cannot send");
    if let Some(result) = server.returned_within(SLOW_CLIENT_PAUSE) {
        panic!(
            "serve(listener, 2) returned ({result:?}) while its second client was still \
             sending. serve must not return before the threads it started have finished."
        );
    }
    last.shutdown(Shutdown::Write).expect("cannot half-close");
    let mut reply = Vec::new();
    last.read_to_end(&mut reply)
        .expect("the second client got no reply");
    assert_eq!(
        reply,
        [ECHO_PREFIX, b"two"].concat(),
        "the second client's echo"
    );
    if let Err(e) = server.finish() {
        panic!("serve(listener, 2) should return once its 2 clients are served: {e}");
    }
}

/// A `read_frame` function as `tcp2_length_prefix` writes it. The checks
/// hand it a [`ChoppyReader`], so every frame arrives in pieces.
pub type ReadFrameFn = fn(&mut ChoppyReader) -> io::Result<Option<Vec<u8>>>;

/// One frame as `tcp2_length_prefix` defines it: the payload's length as 4
/// bytes, big-endian, then the payload. The checks' own writer, so that
/// they test the exercise's reader against a writer known to be right.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("a payload over 4 GiB");
    [&len.to_be_bytes(), payload].concat()
}

/// Reads frames with `read_frame` until it returns `Ok(None)` or an error,
/// and returns the frames and the error, if any. Stops after 1000 frames,
/// so that a `read_frame` that never returns `Ok(None)` cannot loop for ever.
fn read_all(
    read_frame: ReadFrameFn,
    input: &mut ChoppyReader,
) -> (Vec<Vec<u8>>, Option<io::Error>) {
    let mut frames = Vec::new();
    while frames.len() < 1000 {
        match read_frame(input) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, Some(io::Error::other("1000 frames and no end")))
}

/// `Some(b'...' (N bytes))` or `None`, for a check's message.
fn describe(frame: &Option<Vec<u8>>) -> String {
    frame
        .as_ref()
        .map_or("None".into(), |f| format!("Some({})", show(f)))
}

fn sizes(frames: &[Vec<u8>]) -> String {
    let shown: Vec<String> = frames
        .iter()
        .take(12)
        .map(|f| f.len().to_string())
        .collect();
    let more = if frames.len() > 12 { ", ..." } else { "" };
    format!("[{}{more}]", shown.join(", "))
}

/// Checks `tcp2_length_prefix`'s `read_frame` on a real connection: a 100 KB
/// frame, an empty one and a short one, sent in odd-sized pieces
/// ([`net::send_in_pieces`]) and read through a [`ChoppyReader`], must come
/// back exactly, followed by `Ok(None)` when the sender closes.
///
/// The article's `recv(1024)` fails this: it returns whatever one read
/// brings, part of a frame or the end of one and the start of the next.
#[track_caller]
pub fn check_frames_cross_tcp(read_frame: ReadFrameFn) {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let frames = vec![big, Vec::new(), b"after the big one".to_vec()];
    let wire: Vec<u8> = frames.iter().flat_map(|f| frame(f)).collect();
    let (mut client, server) = net::connected_pair().expect("cannot connect on 127.0.0.1");
    thread::spawn(move || {
        let pieces = [1, 3, 7, 4093, 13, 65_537, 5];
        net::send_in_pieces(&mut client, &wire, &pieces, Duration::from_millis(1))
        // Dropping `client` closes the connection: the reader's clean end.
    });

    let (received, error) = within(TIMEOUT, "read_frame", move || {
        read_all(
            read_frame,
            &mut ChoppyReader::new(server, &[1, 2, 5, 11, 1021, 8191]),
        )
    });
    if let Some(e) = error {
        panic!(
            "read_frame failed after {} frames of sizes {}: {e}",
            received.len(),
            sizes(&received)
        );
    }
    assert!(
        received == frames,
        "sent 3 frames of sizes {}, read_frame returned {} of sizes {}.\n\
         One `read` returns whatever has arrived so far: part of a frame, or the end \
         of one and the start of the next. Read the 4-byte length, then exactly that \
         many bytes.",
        sizes(&frames),
        received.len(),
        sizes(&received)
    );
}

/// Checks the two ways a stream can end for `tcp2_length_prefix`'s
/// `read_frame`: after a whole frame it is the clean end, `Ok(None)`;
/// inside a frame's payload it is an `UnexpectedEof` error, since a cut
/// frame is not a message. (A stream cut inside the 4 header bytes may be
/// either: this check does not ask.)
#[track_caller]
pub fn check_ends_of_stream(read_frame: ReadFrameFn) {
    let one_frame = frame(b"hi");
    let (frames, error) = within(TIMEOUT, "read_frame", move || {
        read_all(read_frame, &mut ChoppyReader::from_bytes(&one_frame, &[1]))
    });
    assert!(
        frames == [b"hi"] && error.is_none(),
        "a stream holding one frame, b'hi', then its end: read_frame should return \
         Ok(Some(b\"hi\")), then Ok(None). It returned {} frames of sizes {}, then {}.",
        frames.len(),
        sizes(&frames),
        error.map_or("Ok(None)".to_string(), |e| format!("the error {e:?}"))
    );

    // The header announces 10 bytes; 3 come, then the end of the stream.
    let result = within(TIMEOUT, "read_frame", move || {
        read_frame(&mut ChoppyReader::from_bytes(
            &[0, 0, 0, 10, 1, 2, 3],
            &[64],
        ))
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!(
            "a frame announcing 10 bytes, cut after 3: expected an UnexpectedEof error, \
             got {:?}: {e}",
            e.kind()
        ),
        Ok(frame) => panic!(
            "a frame announcing 10 bytes, cut after 3: expected an UnexpectedEof error, \
             got Ok({}). A frame cut short is an error, not a message.",
            describe(&frame)
        ),
    }
}

/// Checks that `tcp2_length_prefix`'s `read_frame` refuses a header
/// announcing 2 GiB with an `InvalidData` error. The length comes from the
/// peer: it is a claim to check against the limit, before allocating
/// anything, not a size to trust.
#[track_caller]
pub fn check_huge_length_is_refused(read_frame: ReadFrameFn) {
    let result = within(TIMEOUT, "read_frame", move || {
        read_frame(&mut ChoppyReader::from_bytes(
            &[0x7f, 0xff, 0xff, 0xff],
            &[64],
        ))
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
        Err(e) => panic!(
            "a header announcing 2 GiB: expected an InvalidData error, got {:?}: {e}.\n\
             Compare the length with MAX_FRAME_LEN before allocating or reading the payload.",
            e.kind()
        ),
        Ok(frame) => panic!(
            "a header announcing 2 GiB: expected an InvalidData error, got Ok({})",
            describe(&frame)
        ),
    }
}
