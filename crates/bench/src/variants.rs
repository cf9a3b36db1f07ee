//! The other two server designs of UNIX Network Programming's chapter 30,
//! built on the chapter's own `tcp::handle_client`, so that `just bench`
//! can set them beside `tcp::serve` (iterative) and
//! `tcp::serve_prethreaded` (a fixed set of threads, each calling accept)
//! and show why `tcp-server --threads` is the prethreaded one.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;

use tcp::Stop;

/// A new thread for every connection: the simplest concurrent server, and
/// a thread start (tens of microseconds) on every request.
pub fn thread_per_connection(listener: &TcpListener, stop: &Stop) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let _wake = stop.on_stop(move || tcp::wake_listener(addr, 1));
    thread::scope(|scope| {
        while !stop.is_stopped() {
            match listener.accept() {
                Ok(_) if stop.is_stopped() => break,
                Ok((stream, _)) => {
                    scope.spawn(move || tcp::handle_client(stream, None));
                }
                Err(e) if tcp::is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
}

/// One thread accepts and hands each connection over a channel to a fixed
/// set of `workers`: no thread start per request, but a hand-off (a lock
/// and a wake-up) per request instead.
pub fn acceptor_with_channel(
    listener: &TcpListener,
    stop: &Stop,
    workers: usize,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    let _wake = stop.on_stop(move || tcp::wake_listener(addr, 1));
    let (hand_off, connections) = crossbeam_channel::bounded::<TcpStream>(workers);
    thread::scope(|scope| {
        for _ in 0..workers {
            let connections = connections.clone();
            scope.spawn(move || {
                for stream in connections {
                    let _ = tcp::handle_client(stream, None);
                }
            });
        }
        let accepted = loop {
            if stop.is_stopped() {
                break Ok(());
            }
            match listener.accept() {
                Ok(_) if stop.is_stopped() => break Ok(()),
                Ok((stream, _)) => {
                    if hand_off.send(stream).is_err() {
                        break Ok(());
                    }
                }
                Err(e) if tcp::is_timeout(&e) => {}
                Err(e) => break Err(e),
            }
        };
        // Closing the channel ends the workers' loops.
        drop(hand_off);
        accepted
    })
}
