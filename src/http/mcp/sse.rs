//! The `GET /mcp` event stream.

use crate::reload::ListChange;
use actix_web::web::Bytes;
use futures_util::Stream;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;

/// How often a keep-alive comment is sent, so that proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(25);
const LIST_CHANGED: &str = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
const PROMPTS_CHANGED: &str = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/prompts/list_changed\"}\n\n";

/// Resolves once shutdown began (`draining` turned `true`, or its sender is gone).
async fn drain_started(draining: &mut watch::Receiver<bool>) {
    let _ = draining.wait_for(|draining| *draining).await;
}

/// SSE bytes: an opening comment, then one `list_changed` notification per tool-list or
/// prompt-list change (both after missed changes), until shutdown begins (`draining`): the
/// stream then ends.
pub fn notifications(
    changes: broadcast::Receiver<ListChange>,
    draining: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let opening =
        futures_util::stream::once(async { Ok(Bytes::from_static(b": toolgate stream open\n\n")) });
    let events = futures_util::stream::unfold(
        (changes, draining),
        |(mut changes, mut draining)| async move {
            let chunk = tokio::select! {
                biased;
                () = drain_started(&mut draining) => return None,
                change = changes.recv() => match change {
                    Ok(ListChange::Tools) => Bytes::from_static(LIST_CHANGED.as_bytes()),
                    Ok(ListChange::Prompts) => Bytes::from_static(PROMPTS_CHANGED.as_bytes()),
                    Err(RecvError::Lagged(_)) => Bytes::from(format!("{LIST_CHANGED}{PROMPTS_CHANGED}")),
                    Err(RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(KEEP_ALIVE) => Bytes::from_static(b": keep-alive\n\n"),
            };
            Some((Ok(chunk), (changes, draining)))
        },
    );
    futures_util::StreamExt::chain(opening, events)
}

/// One SSE event carrying a JSON-RPC message.
pub fn event(message: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {message}\n\n"))
}

/// How often a keep-alive comment goes out on a response stream that is quiet.
const CALL_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A request's work whose notifications (sent on a channel while it runs) may be streamed
/// before its final message. The work's output is the final JSON-RPC message, or `None` when
/// the request was cancelled (nothing more is sent for it).
///
/// Nothing runs in the background: the work is polled by whoever holds this (the handler,
/// then the response body), so a client that goes away drops it, and with it the upstream
/// exchange.
pub struct CallStream {
    work: Option<
        std::pin::Pin<Box<dyn std::future::Future<Output = Option<serde_json::Value>> + Send>>,
    >,
    events: tokio::sync::mpsc::Receiver<serde_json::Value>,
    events_open: bool,
    result: Option<Option<serde_json::Value>>,
    keep_alive: Option<tokio::time::Interval>,
}

/// What a [`CallStream`] produced first.
pub enum First {
    /// The work ended without a notification before it: answer with its message alone
    /// (`None`: cancelled).
    Done(Option<serde_json::Value>),
    /// A notification came first: answer with an SSE stream that starts with it.
    Event(serde_json::Value),
}

impl CallStream {
    /// `work` runs the request; `events` receives the notifications it sends meanwhile.
    pub fn new(
        work: impl std::future::Future<Output = Option<serde_json::Value>> + Send + 'static,
        events: tokio::sync::mpsc::Receiver<serde_json::Value>,
    ) -> Self {
        Self {
            work: Some(Box::pin(work)),
            events,
            events_open: true,
            result: None,
            keep_alive: None,
        }
    }

    fn poll_event(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<serde_json::Value>> {
        if !self.events_open {
            return std::task::Poll::Ready(None);
        }
        match self.events.poll_recv(cx) {
            std::task::Poll::Ready(None) => {
                self.events_open = false;
                std::task::Poll::Ready(None)
            }
            other => other,
        }
    }

    fn poll_work(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        if let Some(work) = &mut self.work
            && let std::task::Poll::Ready(result) = work.as_mut().poll(cx)
        {
            self.work = None;
            self.result = Some(result);
        }
        self.work.is_none()
    }

    /// Runs the work until it sends a notification or ends.
    pub async fn first(&mut self) -> First {
        std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(Some(event)) = self.poll_event(cx) {
                return std::task::Poll::Ready(First::Event(event));
            }
            if self.poll_work(cx) {
                // Notifications sent just before the end still go first.
                if let std::task::Poll::Ready(Some(event)) = self.poll_event(cx) {
                    return std::task::Poll::Ready(First::Event(event));
                }
                return std::task::Poll::Ready(First::Done(self.result.take().flatten()));
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// The SSE body: `first`, the notifications that follow, then the final message; a
    /// keep-alive comment every 15 s while nothing else is sent.
    pub fn into_body(
        mut self,
        first: serde_json::Value,
    ) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
        let opening = futures_util::stream::once(async move { Ok(event(&first)) });
        let mut keep_alive = tokio::time::interval_at(
            tokio::time::Instant::now() + CALL_KEEP_ALIVE,
            CALL_KEEP_ALIVE,
        );
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.keep_alive = Some(keep_alive);
        let rest = futures_util::stream::poll_fn(move |cx| {
            use std::task::Poll;
            if let Poll::Ready(Some(message)) = self.poll_event(cx) {
                return Poll::Ready(Some(Ok(event(&message))));
            }
            if self.poll_work(cx) {
                return match self.poll_event(cx) {
                    Poll::Ready(Some(message)) => Poll::Ready(Some(Ok(event(&message)))),
                    // The final message (none for a cancelled request), then the end.
                    Poll::Ready(None) => Poll::Ready(
                        self.result
                            .take()
                            .flatten()
                            .map(|message| Ok(event(&message))),
                    ),
                    Poll::Pending => Poll::Pending,
                };
            }
            if let Some(keep_alive) = &mut self.keep_alive
                && keep_alive.poll_tick(cx).is_ready()
            {
                return Poll::Ready(Some(Ok(Bytes::from_static(b": keep-alive\n\n"))));
            }
            Poll::Pending
        });
        futures_util::StreamExt::chain(opening, rest)
    }
}

/// The `subscriptions/listen` stream of the 2026-07-28 revision: the acknowledgement, then a
/// `notifications/tools/list_changed` per tool-list change if the client asked for them,
/// each tagged with the subscription id (the listen request's id); keep-alive comments
/// meanwhile. The stream ends when shutdown begins (`draining`).
pub fn listen(
    id: serde_json::Value,
    tools_list_changed: bool,
    prompts_list_changed: bool,
    changes: broadcast::Receiver<ListChange>,
    draining: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let meta = serde_json::json!({ "io.modelcontextprotocol/subscriptionId": id });
    let mut honoured = serde_json::Map::new();
    if tools_list_changed {
        honoured.insert("toolsListChanged".into(), serde_json::Value::Bool(true));
    }
    if prompts_list_changed {
        honoured.insert("promptsListChanged".into(), serde_json::Value::Bool(true));
    }
    let ack = super::rpc::notification(
        "notifications/subscriptions/acknowledged",
        serde_json::json!({ "notifications": honoured, "_meta": meta }),
    );
    let changed = event(&super::rpc::notification(
        ListChange::Tools.method(),
        serde_json::json!({ "_meta": meta }),
    ));
    let prompts_changed = event(&super::rpc::notification(
        ListChange::Prompts.method(),
        serde_json::json!({ "_meta": meta }),
    ));
    let opening = futures_util::stream::once(async move { Ok(event(&ack)) });
    let events = futures_util::stream::unfold(
        (changes, draining),
        move |(mut changes, mut draining)| {
            let changed = changed.clone();
            let prompts_changed = prompts_changed.clone();
            async move {
                loop {
                    let chunk = tokio::select! {
                        biased;
                        () = drain_started(&mut draining) => return None,
                        change = changes.recv() => match change {
                            Ok(ListChange::Tools) | Err(RecvError::Lagged(_)) if tools_list_changed => changed,
                            Ok(ListChange::Prompts) if prompts_list_changed => prompts_changed,
                            // Not asked for: the server MUST NOT send it.
                            Ok(_) | Err(RecvError::Lagged(_)) => continue,
                            Err(RecvError::Closed) => return None,
                        },
                        () = tokio::time::sleep(KEEP_ALIVE) => Bytes::from_static(b": keep-alive\n\n"),
                    };
                    return Some((Ok(chunk), (changes, draining)));
                }
            }
        },
    );
    futures_util::StreamExt::chain(opening, events)
}
