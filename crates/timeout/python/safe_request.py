#!/usr/bin/env python3
"""The article's safe_request, for netlab's timeout chapter.

This is our own rendition, not the article's code: the function is the
article's, line for line (per-call timeout, read until the server closes, no
limit), with a command line around it so that it can be pointed at netlab's
`slow-server` and timed by `just bench`:

    python3 safe_request.py                        # example.com:80, as the article
    python3 safe_request.py --host localhost --port 8090 --timeout 1

It prints what the article prints: `Received N bytes`, `Operation timed out
after 1.0 seconds` or `Network error: ...`. The request is the article's,
`GET / HTTP/1.1` with the `Host` given by --host. Additions, all opt-in:
--host, --port and --timeout (defaults: the article's example.com, 80 and
5.0), and --time, which also prints how long the call took, for the bench.
Standard library only.
"""

import argparse
import socket
import time


def safe_request(host, port, request_data, timeout=5.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host, port))
        sock.send(request_data)
        response = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            response += chunk
        return response
    except socket.timeout:
        print(f"Operation timed out after {timeout} seconds")
        return None
    except socket.error as e:
        print(f"Network error: {e}")
        return None
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser(description="The article's safe_request.")
    parser.add_argument("--host", default="example.com")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument(
        "--time", action="store_true", help="also print how long safe_request took"
    )
    args = parser.parse_args()
    request = b"GET / HTTP/1.1\r\nHost: " + args.host.encode() + b"\r\n\r\n"
    started = time.monotonic()
    response = safe_request(args.host, args.port, request, args.timeout)
    took = time.monotonic() - started
    if response:
        print(f"Received {len(response)} bytes")
    if args.time:
        print(f"Took {took:.3f} s")


if __name__ == "__main__":
    main()
