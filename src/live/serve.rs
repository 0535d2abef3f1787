//! The session's local interface: a small web page the agent keeps open beside the softphone
//! (nudges as server-sent events), an endpoint the telephony side posts call events to, and a
//! Unix socket carrying the JSON Lines stream for integrations.
//!
//! In: the [`Line`]s the monitor's [`crate::nudge::Hub`] broadcasts, and call events posted as
//! JSON (CONTRACT §1's vocabulary, one object per line). Out: `GET /` (the page), `GET /nudges`
//! (server-sent events, one per envelope, named by its type), `POST /events`, `GET /status`.
//! The HTTP server binds 127.0.0.1 only: nothing here is meant for the network.
//!
//! Runs on a tokio runtime owned by the caller; it only moves lines and events (no decoding, no
//! rules). Shutdown is graceful: [`Shutdown::now`] ends the event streams and the servers finish
//! what they are doing.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::io::AsyncWriteExt;
use tokio::sync::{broadcast, watch};

use super::{EventError, Reporter, Status};
use crate::nudge::Line;

/// Lines kept for clients that are slow to read; a client further behind skips ahead.
pub const BROADCAST_CAPACITY: usize = 256;

/// Tells the servers to finish.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> Self {
        Shutdown(watch::channel(false).0)
    }

    pub fn now(&self) {
        self.0.send_replace(true);
    }

    fn watch(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    stop_signal(&mut rx).await;
}

/// Resolves once shutdown is asked for (or its sender is gone).
async fn stop_signal(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

#[derive(Clone)]
struct App {
    lines: broadcast::Sender<Line>,
    reporter: Reporter,
    status: Arc<Mutex<Status>>,
    shutdown: Shutdown,
}

/// Starts the HTTP server on 127.0.0.1:`port` (0: any free port); returns the address it got.
/// The server runs until `shutdown`.
pub async fn start_http(
    port: u16,
    lines: broadcast::Sender<Line>,
    reporter: Reporter,
    status: Arc<Mutex<Status>>,
    shutdown: Shutdown,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let app = App {
        lines,
        reporter,
        status,
        shutdown: shutdown.clone(),
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/nudges", get(nudges))
        .route("/events", post(events))
        .route("/status", get(status_of))
        .with_state(app);
    let done = stopped(shutdown.watch());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(done)
            .await
        {
            tracing::error!(error = %e, "the web server stopped");
        }
    });
    Ok((addr, task))
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn nudges(
    State(app): State<App>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let rx = app.lines.subscribe();
    let stop = app.shutdown.watch();
    let stream = futures_util::stream::unfold((rx, stop), |(mut rx, mut stop)| async move {
        loop {
            let next = tokio::select! {
                line = rx.recv() => line,
                () = stop_signal(&mut stop) => return None,
            };
            match next {
                Ok(line) => {
                    let event = Event::default().event(line.kind).data(&*line.json);
                    return Some((Ok(event), (rx, stop)));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "a web client fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn events(State(app): State<App>, body: String) -> Response {
    match app.reporter.report(&body) {
        Ok(n) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "accepted": n })),
        )
            .into_response(),
        Err(e @ EventError::Bad { .. }) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        Err(e @ EventError::Closed) => {
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

async fn status_of(State(app): State<App>) -> Response {
    let status = app.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
    ([(header::CACHE_CONTROL, "no-store")], Json(status)).into_response()
}

/// Serves the JSON Lines stream on a Unix socket at `path` (replacing a stale one) until
/// `shutdown`: every client gets every line from when it connects.
pub async fn start_socket(
    path: PathBuf,
    lines: broadcast::Sender<Line>,
    shutdown: Shutdown,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if path.exists() {
        std::fs::remove_file(&path)?;
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    let task = tokio::spawn(async move {
        let mut stop = shutdown.watch();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let rx = lines.subscribe();
                        tokio::spawn(feed_client(stream, rx, shutdown.watch()));
                    }
                    Err(e) => tracing::warn!(error = %e, "socket client not accepted"),
                },
                () = stop_signal(&mut stop) => break,
            }
        }
        remove_socket(&path);
    });
    Ok(task)
}

fn remove_socket(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::debug!(error = %e, path = %path.display(), "socket not removed");
    }
}

async fn feed_client(
    mut stream: tokio::net::UnixStream,
    mut rx: broadcast::Receiver<Line>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Ok(line) => {
                    let mut bytes = line.json.as_bytes().to_vec();
                    bytes.push(b'\n');
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "a socket client fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            () = stop_signal(&mut stop) => break,
        }
    }
    let _ = stream.shutdown().await;
}

/// The page: nudges as they come, newest first, the suggestion large enough to read aloud.
const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>质检 · 实时提醒</title>
<style>
  body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: .6rem 1rem; display: flex; justify-content: space-between; }
  header .state { opacity: .8; font-size: .9rem; }
  main { padding: .8rem; max-width: 42rem; }
  .nudge { background: #fff; border-left: .35rem solid #d33; border-radius: .3rem; padding: .6rem .8rem; margin-bottom: .6rem; box-shadow: 0 1px 2px #0002; }
  .nudge.warn { border-left-color: #e9a400; }
  .rule { font-weight: 600; }
  .time { float: right; color: #667; font-size: .85rem; }
  .heard { color: #556; margin: .3rem 0; }
  .say { font-size: 1.25rem; color: #0a6b2d; }
  .say::before { content: "建议说："; font-size: .9rem; color: #556; }
  .call { color: #667; font-size: .85rem; margin: .8rem 0 .4rem; }
</style>
</head>
<body>
<header><span>质检 · 实时提醒</span><span class="state" id="state">连接中…</span></header>
<main id="list"></main>
<script>
const list = document.getElementById("list");
const state = document.getElementById("state");
const clock = t => { const m = Math.floor(t / 60); return String(m).padStart(2, "0") + ":" + (t - 60 * m).toFixed(1).padStart(4, "0"); };
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text) e.textContent = text; return e; };
const note = text => list.prepend(el("div", "call", text));
const es = new EventSource("/nudges");
es.onopen = () => { state.textContent = "已连接"; };
es.onerror = () => { state.textContent = "连接断开，重试中…"; };
es.addEventListener("call_start", e => { const d = JSON.parse(e.data).data; state.textContent = "通话中 " + d.call_id; note("通话开始 " + d.call_id); });
es.addEventListener("call_end", e => { const d = JSON.parse(e.data).data; state.textContent = "空闲"; note("通话结束 " + d.call_id + " · " + d.score + " 分" + (d.partial ? " · 部分未听到" : "")); });
es.addEventListener("device", e => { const d = JSON.parse(e.data).data; note((d.state === "lost" ? "设备断开：" : "设备恢复：") + d.device); });
es.addEventListener("end", () => { state.textContent = "会话结束"; es.close(); });
es.addEventListener("nudge", e => {
  const n = JSON.parse(e.data).data;
  const card = el("div", n.violation ? "nudge" : "nudge warn");
  card.append(el("span", "time", clock(n.end)), el("div", "rule", n.name + " · " + n.message));
  if (n.heard) card.append(el("div", "heard", "听到：「" + n.heard + "」"));
  if (n.suggestion) card.append(el("div", "say", n.suggestion));
  list.prepend(card);
});
</script>
</body>
</html>
"#;
