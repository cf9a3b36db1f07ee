// http1_health: a health check route                            (chapter: http)
//
// The article's `do_GET` answers every path the same way: the method, the
// path and the query parameters. A service behind a load balancer also
// needs a health check: a path the balancer asks every few seconds, and
// that answers 200 with `{"status": "ok"}` as long as the server serves.
//
// Make `route` answer `/health` with 200 and `{"status": "ok"}`, whatever
// its query string (`/health?verbose=1` too), and hand every other request
// to the article's handler, `do_get`, as it does now. Only the path counts:
// `/healthz` and `/health/x` are not the health check.
//
// The check runs `route` in a real server on loopback and asks it for
// `/health` three ways, then for five paths that must reach `do_get`.
//
// Check it:  rustlings run http1_health
// Stuck?     rustlings hint http1_health

use harness::http::{Reply, Request, do_get};

/// Answers one request: the health check, or the article's GET.
fn route(request: &Request) -> Reply {
    // The path is what comes before the query string (`urlparse` does the
    // same in crates/http/src/query.rs, with fragments and params too).
    let path = request.target.split('?').next().unwrap_or_default();
    if path == "/health" {
        return Reply::new(200, r#"{"status": "ok"}"#);
    }
    do_get(&request.target)
}

fn main() -> std::io::Result<()> {
    let server = harness::http::start(route)?;
    for target in ["/health", "/items?x=1&x=2"] {
        let (status, body) = harness::http::get(server.addr(), target)?;
        println!("GET {target} -> {status} {body}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_answered_ok() {
        harness::http::check_health(route);
    }

    #[test]
    fn other_paths_reach_the_article_handler() {
        harness::http::check_other_paths(route);
    }
}
