//! Backing off as an overloaded API server asks. A `429 Too Many Requests` (or 503)
//! is retried after its `Retry-After` (kube-rs's server-aware [`RetryPolicy`], with
//! a shorter ceiling than its default so that a command does not sleep for minutes
//! between tries), and from the first one on the plugin's own requests go one at a
//! time: a command that lists thirty kinds at once would otherwise keep taking the
//! slots the server has just said it lacks, and its retries would arrive together.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::retry::RetryPolicy;
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// Tries per request: the first and forty retries, about 40 s of refusals with the
/// `Retry-After: 1` kube-apiserver sends. More than client-go's ten: a `--local` bundle
/// reads thousands of objects page by page, and fifteen tries were spent by one page on
/// a busy server in the throttled load test (tests/e2e/load/throttled.rs).
const RETRIES: u32 = 40;

/// How long kube-rs's policy waits between tries: `Retry-After` when the server gives
/// one, else from 250 ms doubling (with jitter) up to 8 s.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy::new(
        Duration::from_millis(250),
        Duration::from_secs(8),
        RETRIES,
        true,
    )
    .expect("valid backoff bounds")
}

/// Lets requests through side by side until the server first says it is
/// overloaded, then one at a time.
#[derive(Clone)]
pub struct ThrottleLayer {
    state: Arc<State>,
}

struct State {
    overloaded: AtomicBool,
    one_at_a_time: Semaphore,
}

impl ThrottleLayer {
    pub fn new() -> Self {
        ThrottleLayer {
            state: Arc::new(State {
                overloaded: AtomicBool::new(false),
                one_at_a_time: Semaphore::new(1),
            }),
        }
    }
}

impl<S> Layer<S> for ThrottleLayer {
    type Service = Throttle<S>;

    fn layer(&self, inner: S) -> Throttle<S> {
        Throttle {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Throttle<S> {
    inner: S,
    state: Arc<State>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> Service<Request<B>> for Throttle<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was polled ready takes the call; a fresh clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let _turn = match state.overloaded.load(Ordering::Relaxed) {
                true => state.one_at_a_time.acquire().await.ok(),
                false => None,
            };
            let response = inner.call(request).await?;
            if matches!(
                response.status(),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                state.overloaded.store(true, Ordering::Relaxed);
            }
            Ok(response)
        })
    }
}
