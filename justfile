# netlab: `just` lists every recipe, grouped by chapter. Extra arguments pass
# through to the program: `just tcp-client --message hi --port 8081`.
# Recipe lines start with `@` so that only the program's own output shows,
# as in the book's transcripts.

# Quote-safe pass-through: recipe lines see the arguments as "$@".
set positional-arguments

# List every recipe
default:
    @just --list --unsorted

# Every chapter end to end on loopback, printed as a story
[group('start here')]
tour:
    @cargo run -q -p tour

# Run the tests (the README's test command)
[group('start here')]
test:
    @cargo test --workspace

# Echo server on localhost:8080 (--port, --threads, --backlog 5, --idle-timeout S)
[group('1 tcp')]
tcp-server *args:
    @cargo run -q -p tcp --bin tcp-server -- "$@"

# Send "Hello, Server!" and print the echo (--message, --count N --concurrency C)
[group('1 tcp')]
tcp-client *args:
    @cargo run -q -p tcp --bin tcp-client -- "$@"

# UDP server on localhost:9090 (--port, --host 0.0.0.0 --reuse-addr for broadcast)
[group('2 udp')]
udp-server *args:
    @cargo run -q -p udp --bin udp-server -- "$@"

# Send "Hello, UDP Server!" and print the ACK (--timeout S, --broadcast, --count N)
[group('2 udp')]
udp-client *args:
    @cargo run -q -p udp --bin udp-client -- "$@"

# Create the article's Employee, show its bytes, parse them back
[group('3 proto')]
proto-demo *args:
    @cargo run -q -p proto --bin employee -- demo "$@"

# Write an Employee's bytes to stdout (--name, --project, --meta K=V, --email, --framed)
[group('3 proto')]
proto-encode *args:
    @cargo run -q -p proto --bin employee -- encode "$@"

# Print the fields of Employee bytes from FILE or stdin (--raw, --v2, --framed)
[group('3 proto')]
proto-decode *args:
    @cargo run -q -p proto --bin employee -- decode "$@"

# Keep-alive echo server on localhost:8081 for the pool (--idle-timeout S, --max-connections N)
[group('4 pool')]
pool-server *args:
    @cargo run -q -p pool --bin pool-server -- "$@"

# The article's pool usage: Response: b'Request data' (--requests N --threads T --mode pool|fresh --json)
[group('4 pool')]
pool-demo *args:
    @cargo run -q -p pool --bin pool-demo -- "$@"

# The article's safe_request: example.com:80, one 5 s deadline (--host, --port, --timeout S, --data, --max-bytes)
[group('5 timeout')]
safe-request *args:
    @cargo run -q -p timeout --bin safe-request -- "$@"

# A server that misbehaves on purpose, on localhost:8090 (--mode silent|trickle|keepalive|flood|reset)
[group('5 timeout')]
slow-server *args:
    @cargo run -q -p timeout --bin slow-server -- "$@"

# The article's NetworkMonitor: 500 packets live on lo, needs root or CAP_NET_RAW (--interface, --count N, --pcap FILE, --write FILE, --quiet, --json)
[group('6 sniff')]
sniff *args:
    @cargo run -q -p sniff --bin sniff -- "$@"

# Draw a chapter's exchange as a ladder, captured live on lo (as root): tcp, tcp-serial, udp, proto, pool, timeout, http, proxy (--seq, --write FILE, --svg FILE; --pcap FILE --port N)
[group('6 sniff')]
trace *args:
    @cargo run -q -p trace --bin trace -- "$@"

# Regenerate the book's ladders in docs/src/traces from fresh runs (as root)
[group('6 sniff')]
trace-book:
    @cargo run -q -p trace --bin trace -- --book docs/src/traces

# JSON API server on localhost:8000, one log line per request (--token T, --rate-limit N, --max-body BYTES)
[group('7 http')]
http-server *args:
    @cargo run -q -p http --bin http-server -- "$@"

# TCP proxy on 127.0.0.1:8888 to example.com:80 (--target-host H --target-port P; faults: --latency MS --bandwidth KBPS --reset-after BYTES; --stats-every S)
[group('8 proxy')]
proxy *args:
    @cargo run -q -p proxy --bin proxy -- "$@"

# Start the classroom exercises (installs rustlings 6.5.0 if missing)
[group('learn')]
exercises:
    @command -v rustlings >/dev/null || cargo install rustlings --version 6.5.0 --locked
    @cd exercises && rustlings

# Check one exercise as rustlings does (tests, clippy, then its main), e.g. `just check tcp1_threaded_echo`
[group('learn')]
check name:
    #!/usr/bin/env bash
    set -euo pipefail
    cd exercises
    if ! grep -qx "name = \"$1\"" info.toml; then
        echo "no exercise named '$1'; the exercises are:" >&2
        grep '^name = ' info.toml | cut -d'"' -f2 | sed 's/^/  /' >&2
        exit 2
    fi
    cargo test -q --bin "$1"
    cargo clippy -q --bin "$1" -- -D warnings
    cargo run -q --bin "$1"

# Build the book into docs/book (installs mdbook 0.5.4 if missing)
[group('learn')]
docs:
    @mdbook --version 2>/dev/null | grep -q 0.5.4 || cargo install mdbook --version 0.5.4 --locked
    @mdbook build docs

# Serve the book at http://localhost:3000 and rebuild on change
[group('learn')]
docs-serve: docs
    @mdbook serve docs --open

# Fuzz every parser of outside bytes, 60 s each, optimised with overflow checks (--seconds S, --target NAME, --seed S --replay, --list)
[group('reliability')]
fuzz *args:
    @cargo run -q --profile fuzz -p fuzz --bin fuzz -- "$@"

# Run every server among good and hostile clients, 20 s each, then at ulimit -n 64; prints a table (--seconds S, --server NAME, --list)
[group('reliability')]
soak *args:
    @cargo build -q --release -p tcp -p udp -p pool -p http -p proxy --bins
    @cargo run -q --release -p soak --bin soak -- "$@"

# Measure each chapter's claim as a ratio in one run; prints a Markdown table
[group('measure')]
bench *args:
    @cargo bench -q -p proto --bench employee
    @cargo build -q --release -p tcp -p udp --bins --examples
    @cargo run -q --release -p bench --bin bench -- "$@"

# Format and lint as CI does
[group('develop')]
lint:
    @cargo fmt --all --check
    @cargo clippy --workspace --all-targets -- -D warnings
