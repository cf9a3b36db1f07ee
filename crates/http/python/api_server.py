#!/usr/bin/env python3
"""The article's HTTP API server, for netlab's http chapter.

This is our own rendition, not the article's file: the APIHandler class is
the article's, line for line, with a command line around it so that tests
and `just bench` can start it on any port:

    python3 api_server.py                 # localhost:8000, as the article
    python3 api_server.py --port 0        # a free port, printed on the first line
    python3 api_server.py --as-published  # without `import time`, as printed

The article uses `time.time()` in do_GET but never imports `time`, so as
published every GET fails: the 200 status line and headers are already sent
when the NameError is raised, the client gets them and no body, and the
traceback goes to stderr. We import it (the one line marked below) so that
the server runs; --as-published removes it again to show the failure.

Additions, all outside the class: --host and --port (defaults: the
article's localhost and 8000), and the port actually bound in the first
line, where the article prints a fixed "8000". Standard library only.
"""

import argparse
from http.server import HTTPServer, BaseHTTPRequestHandler
import json
from urllib.parse import urlparse, parse_qs
import time  # Missing from the article: its do_GET calls time.time().


class APIHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        parsed_path = urlparse(self.path)
        query_params = parse_qs(parsed_path.query)

        self.send_response(200)
        self.send_header('Content-type', 'application/json')
        self.end_headers()

        response_data = {
            'method': 'GET',
            'path': parsed_path.path,
            'query_params': query_params,
            'timestamp': time.time()
        }
        self.wfile.write(json.dumps(response_data).encode())

    def do_POST(self):
        content_length = int(self.headers.get('Content-Length', 0))
        post_data = self.rfile.read(content_length)

        self.send_response(201)
        self.send_header('Content-type', 'application/json')
        self.end_headers()

        try:
            json_data = json.loads(post_data)
            response = {'status': 'success', 'received': json_data}
        except json.JSONDecodeError:
            response = {'status': 'error', 'message': 'Invalid JSON'}

        self.wfile.write(json.dumps(response).encode())

    def log_message(self, format, *args):
        # Custom logging instead of default stderr
        print(f"{self.log_date_time_string()} {format%args}")


def main():
    parser = argparse.ArgumentParser(description="The article's HTTP API server.")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--as-published", action="store_true",
                        help="leave out `import time`, as the article does")
    args = parser.parse_args()
    if args.as_published:
        global time
        del time

    server = HTTPServer((args.host, args.port), APIHandler)
    port = server.server_address[1]
    print(f"Starting API server on port {port}...", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
