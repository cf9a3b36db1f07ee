//! A library server on a thread of the test, stopped when the test ends.

use std::thread::{self, JoinHandle};

/// Work running on its own thread, with a way to ask it to stop. Dropping
/// it (a test that ends, passes or panics) asks and then joins, so no
/// server thread outlives its test.
pub struct Background<T> {
    stop: Box<dyn Fn() + Send>,
    thread: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Background<T> {
    /// Runs `work` on a new thread; `stop` must make it return (for a
    /// netlab server: `move || stop_handle.stop()`).
    pub fn spawn(
        stop: impl Fn() + Send + 'static,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        Self {
            stop: Box::new(stop),
            thread: Some(thread::spawn(work)),
        }
    }

    /// Asks the work to stop and returns what it returned. Panics, with the
    /// work's own panic, if it panicked.
    pub fn stop(mut self) -> T {
        (self.stop)();
        let thread = self.thread.take().expect("joined only here and in drop");
        thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            (self.stop)();
            // The test has already failed if this thread panicked; a second
            // panic here would only hide the first.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn stop_asks_and_returns_the_result() {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&flag);
        let asked = Arc::clone(&flag);
        let work = Background::spawn(
            move || asked.store(true, Ordering::SeqCst),
            move || {
                while !seen.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
                42
            },
        );
        assert_eq!(work.stop(), 42);
    }
}
