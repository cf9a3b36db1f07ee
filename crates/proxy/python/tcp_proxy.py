#!/usr/bin/env python3
"""The article's monitored TCP proxy, for netlab's side-by-side tests and bench.

The class is the article's, line for line: recv(4096), a plain send(), a bare
except, two threads per client and no lock around traffic_stats. Around it,
three changes that nothing on the wire can see: --host/--port/--target-host/
--target-port choose the addresses (defaults: the article's 0.0.0.0:8888 and
example.com:80), the first line names the port really bound (so --port 0
works), and every print is flushed at once so a pipe sees each line as it
is printed. And Ctrl-C always raises KeyboardInterrupt: Python leaves SIGINT
ignored when it starts with it ignored (a program started in the background
by a non-interactive shell), and the article's except clause would then
never run.

    python3 tcp_proxy.py --host 127.0.0.1 --target-host localhost --target-port 8080
"""

import argparse
import signal
import socket
import threading
from collections import defaultdict


class TCPProxy:
    def __init__(self, listen_port, target_host, target_port, listen_host="0.0.0.0"):
        self.listen_port = listen_port
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.traffic_stats = defaultdict(int)

    def handle_client(self, client_socket):
        try:
            # Connect to target
            target_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target_socket.connect((self.target_host, self.target_port))

            # Monitor both directions
            def forward_data(source, destination, direction):
                while True:
                    try:
                        data = source.recv(4096)
                        if not data:
                            break
                        self.traffic_stats[direction] += len(data)
                        destination.send(data)
                    except:  # noqa: E722 -- the article's, on purpose
                        break

            # Start forwarding threads
            client_to_target = threading.Thread(
                target=forward_data, args=(client_socket, target_socket, "outbound")
            )
            target_to_client = threading.Thread(
                target=forward_data, args=(target_socket, client_socket, "inbound")
            )
            client_to_target.start()
            target_to_client.start()
            client_to_target.join()
            target_to_client.join()
        finally:
            client_socket.close()
            target_socket.close()

    def start(self):
        server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server_socket.bind((self.listen_host, self.listen_port))
        server_socket.listen(5)
        # The article prints self.listen_port; the port bound is the same
        # unless it was 0.
        print(f"Proxy listening on port {server_socket.getsockname()[1]}", flush=True)

        try:
            while True:
                client_socket, addr = server_socket.accept()
                print(f"New connection from {addr}", flush=True)
                client_thread = threading.Thread(
                    target=self.handle_client, args=(client_socket,)
                )
                client_thread.daemon = True
                client_thread.start()
        except KeyboardInterrupt:
            print("\nShutting down...", flush=True)
            print(f"Traffic stats: {dict(self.traffic_stats)}", flush=True)
        finally:
            server_socket.close()


def main():
    parser = argparse.ArgumentParser(description="The article's TCP proxy.")
    parser.add_argument("--host", default="0.0.0.0", help="default: 0.0.0.0, as the article")
    parser.add_argument("--port", type=int, default=8888, help="default: 8888")
    parser.add_argument("--target-host", default="example.com", help="default: example.com")
    parser.add_argument("--target-port", type=int, default=80, help="default: 80")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    proxy = TCPProxy(args.port, args.target_host, args.target_port, args.host)
    proxy.start()


if __name__ == "__main__":
    main()
