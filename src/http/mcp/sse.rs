//! The `GET /mcp` event stream.

use actix_web::web::Bytes;
use futures_util::Stream;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// How often a keep-alive comment is sent, so that proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(25);
const LIST_CHANGED: &str = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";

/// SSE bytes: an opening comment, then one `list_changed` notification per tool-list change.
pub fn notifications(
    changes: broadcast::Receiver<()>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let opening =
        futures_util::stream::once(async { Ok(Bytes::from_static(b": toolgate stream open\n\n")) });
    let events = futures_util::stream::unfold(changes, |mut changes| async move {
        let chunk = tokio::select! {
            change = changes.recv() => match change {
                Ok(()) | Err(RecvError::Lagged(_)) => Bytes::from_static(LIST_CHANGED.as_bytes()),
                Err(RecvError::Closed) => return None,
            },
            () = tokio::time::sleep(KEEP_ALIVE) => Bytes::from_static(b": keep-alive\n\n"),
        };
        Some((Ok(chunk), changes))
    });
    futures_util::StreamExt::chain(opening, events)
}
