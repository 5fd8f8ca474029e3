//! An HTTP proxy that injects faults, for the stores that cannot fail on demand: s3s-fs
//! never answers `503 SlowDown` or `500 InternalError` by itself. It forwards every
//! request to a backend port unchanged (the Host header included, so SigV4 signatures
//! still verify) unless a rule matches, and then answers as a throttling or failing S3
//! would, or holds the request until the test releases it (to act at an exact moment,
//! e.g. stop the apiserver while the cfg is being written).
//!
//! It runs on a thread with its own runtime, like the stores' TLS proxy, so it outlives
//! any one test's runtime. Every request is logged with its time and what was answered,
//! so a test can check that a client backed off.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::sync::Notify;

use crate::Error;
use crate::plane::io_err;

/// Which requests a rule applies to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `PUT`, `POST`, …; `None` = any method.
    pub method: Option<String>,
    /// A part of the path (and query); `None` = any path.
    pub path_contains: Option<String>,
}

impl Filter {
    pub fn method(method: &str) -> Self {
        Self {
            method: Some(method.to_string()),
            path_contains: None,
        }
    }

    pub fn path(mut self, part: &str) -> Self {
        self.path_contains = Some(part.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|part| path.contains(part))
    }
}

/// What a matching request gets instead of the backend's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `503 SlowDown` with S3's XML error body: AWS's "reduce your request rate".
    SlowDown,
    /// `500 InternalError` with S3's XML error body.
    InternalError,
    /// Held until [`FaultProxy::release`], then forwarded.
    Hold,
}

/// How long a rule lasts.
#[derive(Clone, Copy, Debug)]
pub enum Times {
    /// The next `n` matching requests.
    Next(usize),
    /// Every matching request until this much time has passed.
    For(Duration),
    /// Until the rules are cleared.
    Always,
}

#[derive(Debug)]
struct Rule {
    filter: Filter,
    answer: Answer,
    remaining: Option<usize>,
    until: Option<Instant>,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// The status the client got (the backend's, or the injected one); 0 when the
    /// backend could not be reached.
    pub status: u16,
    /// Whether the proxy answered instead of the backend.
    pub injected: bool,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    held: usize,
    /// Bumped by every release; a held request waits for it to change.
    releases: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    released: Notify,
    arrived: Notify,
}

impl Shared {
    /// The answer for a request, consuming one use of the first rule that matches, and
    /// the release count at that moment (for a held request).
    fn decide(&self, method: &str, path: &str) -> (Option<Answer>, u64) {
        let mut state = self.state.lock().expect("fault state");
        let releases = state.releases;
        let now = Instant::now();
        state
            .rules
            .retain(|r| r.remaining != Some(0) && r.until.is_none_or(|u| now < u));
        let Some(rule) = state
            .rules
            .iter_mut()
            .find(|r| r.filter.matches(method, path))
        else {
            return (None, releases);
        };
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        let answer = rule.answer;
        if answer == Answer::Hold {
            state.held += 1;
            self.arrived.notify_waiters();
        }
        (Some(answer), releases)
    }

    /// Waits until a release after `seen` (the count when the request was held).
    async fn held_until_released(&self, seen: u64) {
        loop {
            let released = self.released.notified();
            if self.state.lock().expect("fault state").releases != seen {
                break;
            }
            released.await;
        }
        self.state.lock().expect("fault state").held -= 1;
    }

    fn record(&self, seen: Seen) {
        self.state.lock().expect("fault state").seen.push(seen);
    }
}

/// The proxy: listens on a loopback port of its own, forwards to `backend`.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `127.0.0.1:<backend>`.
    pub fn start(backend: u16) -> Result<Self, Error> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(io_err("binding the fault proxy"))?;
        listener
            .set_nonblocking(true)
            .map_err(io_err("binding the fault proxy"))?;
        let port = listener
            .local_addr()
            .map_err(io_err("binding the fault proxy"))?
            .port();
        let shared = Arc::new(Shared::default());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the fault proxy");
                runtime.block_on(serve(listener, backend, serving, stop));
            })
            .map_err(io_err("starting the fault proxy thread"))?;
        Ok(Self {
            port,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Adds a rule; rules are tried in the order they were added.
    pub fn inject(&self, filter: Filter, answer: Answer, times: Times) {
        let (remaining, until) = match times {
            Times::Next(n) => (Some(n), None),
            Times::For(duration) => (None, Some(Instant::now() + duration)),
            Times::Always => (None, None),
        };
        self.shared
            .state
            .lock()
            .expect("fault state")
            .rules
            .push(Rule {
                filter,
                answer,
                remaining,
                until,
            });
    }

    /// Removes every rule (held requests stay held until [`Self::release`]).
    pub fn clear(&self) {
        self.shared.state.lock().expect("fault state").rules.clear();
    }

    /// Forwards every held request, and clears the rules so that none is held again.
    pub fn release(&self) {
        {
            let mut state = self.shared.state.lock().expect("fault state");
            state.rules.clear();
            state.releases += 1;
        }
        self.shared.released.notify_waiters();
    }

    /// Waits until at least one request is being held.
    pub async fn wait_until_held(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.shared.state.lock().expect("fault state").held > 0 {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Store(format!(
                    "no request was held within {timeout:?}"
                )));
            }
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }

    /// Every request so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.state.lock().expect("fault state").seen.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.released.notify_waiters();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    backend: u16,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    // One backend connection per client connection, opened on its first
                    // forwarded request: HTTP/1 serves a connection's requests in order.
                    let upstream: Arc<tokio::sync::Mutex<Option<Upstream>>> = Arc::default();
                    let service = hyper::service::service_fn(move |request| {
                        handle(request, backend, shared.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(client), service)
                        .await;
                });
            }
        }
    }
}

type Upstream = hyper::client::conn::http1::SendRequest<Incoming>;
type ProxyBody = BoxBody<Bytes, hyper::Error>;

async fn handle(
    request: Request<Incoming>,
    backend: u16,
    shared: Arc<Shared>,
    upstream: Arc<tokio::sync::Mutex<Option<Upstream>>>,
) -> Result<Response<ProxyBody>, std::convert::Infallible> {
    let at = Instant::now();
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let (answer, releases) = shared.decide(&method, &path);
    let injected = match answer {
        Some(Answer::SlowDown) => Some(s3_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        )),
        Some(Answer::InternalError) => Some(s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )),
        Some(Answer::Hold) => {
            shared.held_until_released(releases).await;
            None
        }
        None => None,
    };
    if let Some(response) = injected {
        // Read the body first, as S3 does before it answers: a client still sending
        // would otherwise see a reset instead of the error.
        let _ = request.into_body().collect().await;
        shared.record(Seen {
            at,
            method,
            path,
            status: response.status().as_u16(),
            injected: true,
        });
        return Ok(response);
    }
    let response = forward(request, backend, &upstream).await;
    shared.record(Seen {
        at,
        method,
        path,
        status: response.as_ref().map_or(0, |r| r.status().as_u16()),
        injected: false,
    });
    Ok(response.unwrap_or_else(|_| {
        s3_error(
            StatusCode::BAD_GATEWAY,
            "BadGateway",
            "the fault proxy could not reach the store",
        )
    }))
}

async fn forward(
    request: Request<Incoming>,
    backend: u16,
    upstream: &tokio::sync::Mutex<Option<Upstream>>,
) -> Result<Response<ProxyBody>, Error> {
    let mut slot = upstream.lock().await;
    let ready = match slot.as_mut() {
        Some(sender) => sender.ready().await.is_ok(),
        None => false,
    };
    if !ready {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", backend))
            .await
            .map_err(io_err("connecting to the store behind the fault proxy"))?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| Error::Store(e.to_string()))?;
        tokio::spawn(connection);
        *slot = Some(sender);
    }
    let sender = slot.as_mut().expect("a backend connection");
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Error::Store(e.to_string()))?;
    Ok(response.map(BodyExt::boxed))
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
    );
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    response
}
