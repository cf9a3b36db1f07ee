//! Chapter 4 on the tour: `pool-server` and the article's pool usage, then
//! the pool living through a server restart.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use pool::SocketPool;
use tcp::Stop;

use crate::Story;

/// Runs the chapter; see the module comment.
pub fn run(story: &Story) -> Result<String, String> {
    let listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let port = addr.port();
    story.command(&format!("just pool-server --port {port}"));
    story.said(
        "server",
        &format!("Pool server listening on port {port}..."),
    );

    let first = Stop::new();
    let accepted = AtomicUsize::new(0);
    let pool = thread::scope(|scope| {
        let server = scope.spawn(|| serve(story, &listener, &first, &accepted));
        let pool = article_usage(story, port);
        // Let the server take in all five pooled connections before it
        // goes, so that every one of them dies with it.
        let until = Instant::now() + Duration::from_secs(5);
        while accepted.load(Ordering::SeqCst) < pool::DEFAULT_POOL_SIZE && Instant::now() < until {
            thread::sleep(Duration::from_millis(10));
        }
        first.stop();
        let summary = join(server)?;
        story.said(
            "server",
            &format!(
                "Stopped after {}.",
                cli::count(summary.connections, "connection")
            ),
        );
        pool
    })?;
    drop(listener);

    story.note("The server restarts on the same port; the pool's five connections are now dead:");
    let listener = bind(addr)?;
    story.command(&format!("just pool-server --port {port}"));
    let second = Stop::new();
    thread::scope(|scope| {
        let server = scope.spawn(|| serve(story, &listener, &second, &AtomicUsize::new(0)));
        let result = after_restart(story, &pool);
        second.stop();
        join(server)?;
        result
    })
}

/// pool-server's listener: a long idle timeout, as `just pool-server` has.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    tcp::bind_server(addr, tcp::DEFAULT_BACKLOG, Duration::from_secs(30))
        .map_err(|e| format!("cannot bind {addr}: {e}"))
}

/// pool-server on `listener`, counting the connections it accepts.
fn serve(
    story: &Story,
    listener: &std::net::TcpListener,
    stop: &Stop,
    accepted: &AtomicUsize,
) -> std::io::Result<pool::Summary> {
    pool::serve(listener, stop, 64, |event| {
        // One line per pooled connection would bury the story: only the
        // ones that say something beyond "connected" are told.
        if matches!(event, pool::Event::Connection(_)) {
            accepted.fetch_add(1, Ordering::SeqCst);
        } else {
            story.said("server", &event.to_string());
        }
    })
}

fn join(
    server: thread::ScopedJoinHandle<'_, std::io::Result<pool::Summary>>,
) -> Result<pool::Summary, String> {
    server
        .join()
        .map_err(|_| "the server thread panicked".to_string())?
        .map_err(|e| format!("server: {e}"))
}

/// The article's usage: a pool of 5, one request, the socket returned.
fn article_usage(story: &Story, port: u16) -> Result<SocketPool, String> {
    story.command(&format!("just pool-demo --port {port}"));
    let pool = SocketPool::new("127.0.0.1", port, pool::DEFAULT_POOL_SIZE)
        .map_err(|e| format!("cannot fill the pool: {e}"))?;
    let reply = pool
        .request(pool::DEFAULT_MESSAGE.as_bytes())
        .map_err(|e| format!("request: {e}"))?;
    story.said("demo", &format!("Response: {}", cli::python_bytes(&reply)));
    if reply != pool::DEFAULT_MESSAGE.as_bytes() {
        return Err("the echo differs from the request".into());
    }
    Ok(pool)
}

/// Ten requests through the same pool after the restart.
fn after_restart(story: &Story, pool: &SocketPool) -> Result<String, String> {
    for i in 0..10 {
        let message = format!("request {i}");
        let reply = pool
            .request(message.as_bytes())
            .map_err(|e| format!("{message}: {e}"))?;
        if reply != message.as_bytes() {
            return Err(format!("{message}: wrong echo"));
        }
    }
    let stats = pool.stats();
    story.said(
        "demo",
        &format!(
            "10 requests answered; pool: {} found dead by the health check, {} retried, {} opened in all",
            stats.found_dead, stats.retried, stats.created
        ),
    );
    pool.close_all();
    Ok(format!(
        "pool of 5 reused, {} dead connections replaced after a restart",
        stats.found_dead + stats.retried
    ))
}
