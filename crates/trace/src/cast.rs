//! Who is who in a ladder: the lanes, and which endpoint belongs to which.
//!
//! A capture knows addresses, not roles. A scene knows its roles: the
//! ports its servers listen on, and which lane calls each of them. Every
//! endpoint is placed from those two facts alone: a listening port is its
//! listener's lane; the other end of a conversation with a listening port
//! is a caller, and the k-th distinct caller of that port takes the k-th
//! lane named for it (the last one takes every caller after).

use std::net::SocketAddr;

/// The lanes of a ladder and the rules that place endpoints in them.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    names: Vec<String>,
    listeners: Vec<(u16, usize)>,
    callers: Vec<(u16, Vec<usize>)>,
}

impl Cast {
    /// An empty cast; add lanes left to right with [`Cast::lane`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Two lanes, `client` and `server`, for any capture of traffic to
    /// `port`: what `trace --pcap FILE --port N` draws.
    pub fn client_server(port: u16) -> Self {
        let mut cast = Self::new();
        let client = cast.lane("client");
        let server = cast.lane("server");
        cast.listens(port, server);
        cast.calls(port, &[client]);
        cast
    }

    /// Adds a lane to the right of the others; returns its index.
    pub fn lane(&mut self, name: &str) -> usize {
        self.names.push(name.to_string());
        self.names.len() - 1
    }

    /// The lane names, left to right.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `lane` owns the listening `port`.
    pub fn listens(&mut self, port: u16, lane: usize) {
        self.listeners.push((port, lane));
    }

    /// The callers of `port`, in the order they first appear, take these
    /// lanes; the last takes every caller after.
    pub fn calls(&mut self, port: u16, lanes: &[usize]) {
        self.callers.push((port, lanes.to_vec()));
    }

    /// The lane of a listening port.
    pub fn listener(&self, port: u16) -> Option<usize> {
        self.listeners
            .iter()
            .find(|&&(p, _)| p == port)
            .map(|&(_, lane)| lane)
    }
}

/// Places endpoints as packets come, remembering each caller's lane.
#[derive(Debug)]
pub struct Placement<'a> {
    cast: &'a Cast,
    /// Each caller endpoint seen, the port it called, its lane.
    seen: Vec<(SocketAddr, u16, usize)>,
}

impl<'a> Placement<'a> {
    /// No endpoint placed yet.
    pub fn new(cast: &'a Cast) -> Self {
        Self {
            cast,
            seen: Vec::new(),
        }
    }

    /// The lanes of a packet's two ends, or `None` when neither end is a
    /// listening port of the cast.
    pub fn lanes(&mut self, src: SocketAddr, dst: SocketAddr) -> Option<(usize, usize)> {
        match (
            self.cast.listener(src.port()),
            self.cast.listener(dst.port()),
        ) {
            (Some(from), Some(to)) => Some((from, to)),
            (Some(from), None) => Some((from, self.caller(dst, src.port())?)),
            (None, Some(to)) => Some((self.caller(src, dst.port())?, to)),
            (None, None) => None,
        }
    }

    /// The callers placed so far: endpoint, the port it called, its lane.
    pub fn callers(&self) -> &[(SocketAddr, u16, usize)] {
        &self.seen
    }

    fn caller(&mut self, endpoint: SocketAddr, port: u16) -> Option<usize> {
        if let Some(&(_, _, lane)) = self
            .seen
            .iter()
            .find(|&&(e, p, _)| e == endpoint && p == port)
        {
            return Some(lane);
        }
        let lanes = &self.cast.callers.iter().find(|(p, _)| *p == port)?.1;
        let nth = self.seen.iter().filter(|&&(_, p, _)| p == port).count();
        let lane = *lanes.get(nth).or(lanes.last())?;
        self.seen.push((endpoint, port, lane));
        Some(lane)
    }
}
