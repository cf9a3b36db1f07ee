#!/usr/bin/env python3
"""The article's TCP and UDP programs, for netlab's interoperability tests.

This is our own rendition, not the article's code: one script, standard
library only, with a subcommand per program. What it sends, what it reads and
what it prints reproduce the article's programs byte for byte, so that netlab's
Rust binaries can be run against it and their output compared line by line:

    python3 article.py tcp-server            # Server listening on port 8080...
    python3 article.py tcp-client            # Received: b'Echo: Hello, Server!'
    python3 article.py udp-server            # UDP server ready...
    python3 article.py udp-client            # Server response: b'ACK: Hello, UDP Server!'

Differences, all opt-in or invisible on the wire: every program takes --host
and --port (defaults: the article's localhost:8080 and localhost:9090); the
TCP server prints the port it really bound (so `--port 0` can be used); the
UDP client takes --timeout (default: wait forever, as the article does);
every print is flushed at once so a pipe sees each line as it is printed;
Ctrl-C ends a server without a traceback.

The article's single recv(1024) and plain send() are kept on purpose: they are
what netlab's chapters explain and improve on.
"""

import argparse
import queue
import socket
import sys
import threading

RECV_SIZE = 1024
TCP_PORT = 8080
UDP_PORT = 9090
POOL_PORT = 8081
ECHO_PREFIX = b"Echo: "
ACK_PREFIX = b"ACK: "


def say(text):
    """Print one line and push it out now, not when a buffer fills."""
    print(text, flush=True)


def tcp_server(host, port):
    """Accept clients one at a time; answer each one's first read with an echo."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Restarting the server must not wait for the old port to leave TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(5)
    say(f"Server listening on port {listener.getsockname()[1]}...")
    while True:
        conn, peer = listener.accept()
        say(f"Connection from {peer}")
        data = conn.recv(RECV_SIZE)
        if data:
            conn.send(ECHO_PREFIX + data)
        conn.close()


def tcp_client(host, port, message):
    """Connect, send the message, print what one read brings back."""
    conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.connect((host, port))
    conn.send(message.encode())
    reply = conn.recv(RECV_SIZE)
    say(f"Received: {reply!r}")
    conn.close()


def udp_server(host, port):
    """Acknowledge every datagram to whoever sent it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    say("UDP server ready...")
    while True:
        data, peer = sock.recvfrom(RECV_SIZE)
        say(f"Received from {peer}: {data!r}")
        sock.sendto(ACK_PREFIX + data, peer)


def udp_client(host, port, message, timeout):
    """Send one datagram, print the first datagram that comes back."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.sendto(message.encode(), (host, port))
    try:
        reply, _ = sock.recvfrom(RECV_SIZE)
    except socket.timeout:
        print(f"error: no response within {timeout} seconds", file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        sock.close()
    say(f"Server response: {reply!r}")


class ConnectionPool:
    """The article's socket pool in our words: a bounded queue of connections,
    filled up front; take one without waiting or open a new one; put it back
    or close it when the queue is full. The one change from the article: an
    empty queue raises queue.Empty (the article catches Queue.Empty, which the
    Queue class does not have, so its fallback never runs)."""

    def __init__(self, host, port, size):
        self.address = (host, port)
        self.idle = queue.Queue(size)
        for _ in range(size):
            self.idle.put(self._connect())

    def _connect(self):
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn.connect(self.address)
        return conn

    def take(self):
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            return self._connect()

    def give_back(self, conn):
        try:
            self.idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close_all(self):
        while not self.idle.empty():
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                break


def pool_demo(host, port, size, message):
    """The article's pool usage: one request on a pooled connection."""
    pool = ConnectionPool(host, port, size)
    conn = pool.take()
    try:
        conn.send(message.encode())
        say(f"Response: {conn.recv(RECV_SIZE)!r}")
    finally:
        pool.give_back(conn)
    pool.close_all()


def keepalive_echo_server(host, port):
    """A neutral echo server that keeps connections open: every byte back,
    unchanged, one thread per client, until the client closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    say(f"Keep-alive echo server listening on port {listener.getsockname()[1]}...")

    def echo(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="The article's TCP and UDP programs (netlab's rendition)."
    )
    programs = parser.add_subparsers(dest="program", required=True)

    def program(name, port, help_text):
        sub = programs.add_parser(name, help=help_text)
        sub.add_argument("--host", default="localhost", help="default: localhost")
        sub.add_argument("--port", type=int, default=port, help=f"default: {port}")
        return sub

    program("tcp-server", TCP_PORT, "echo server: replies Echo: + data")
    client = program("tcp-client", TCP_PORT, "sends a message, prints the reply")
    client.add_argument("--message", default="Hello, Server!")
    program("udp-server", UDP_PORT, "replies ACK: + data to every datagram")
    client = program("udp-client", UDP_PORT, "sends a datagram, prints the reply")
    client.add_argument("--message", default="Hello, UDP Server!")
    client.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for the reply (default: forever, like the article)",
    )
    demo = program("pool-demo", POOL_PORT, "one request through a pool of connections")
    demo.add_argument("--pool-size", type=int, default=5)
    demo.add_argument("--message", default="Request data")
    program("keepalive-echo-server", POOL_PORT, "echoes every byte, keeps connections open")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.program == "tcp-server":
            tcp_server(args.host, args.port)
        elif args.program == "tcp-client":
            tcp_client(args.host, args.port, args.message)
        elif args.program == "udp-server":
            udp_server(args.host, args.port)
        elif args.program == "pool-demo":
            pool_demo(args.host, args.port, args.pool_size, args.message)
        elif args.program == "keepalive-echo-server":
            keepalive_echo_server(args.host, args.port)
        else:
            udp_client(args.host, args.port, args.message, args.timeout)
    except KeyboardInterrupt:
        # The article's servers end with a traceback on Ctrl-C; a test log
        # is easier to read without one.
        sys.exit(130)


if __name__ == "__main__":
    main()
