//! Sending a rendered request with its upstream's credentials (`auth:`) applied for the
//! caller: what every upstream request of a call goes through (the tool's request and, for a
//! long-running operation, its status, result and cancel requests).

use super::{Answer, Forwarder, UpstreamAnswer};
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::metrics::Metrics;
use crate::render::RenderedRequest;
use serde_json::Value;
use std::sync::Arc;

/// The forwarder with the metrics credentials are counted in; cheap to clone.
#[derive(Clone, Debug)]
pub struct Dispatch {
    forwarder: Forwarder,
    metrics: Arc<Metrics>,
}

impl Dispatch {
    /// A dispatcher over `forwarder`.
    pub fn new(forwarder: Forwarder, metrics: Arc<Metrics>) -> Self {
        Self { forwarder, metrics }
    }

    /// Applies the upstream's credentials (`auth:`) for `caller`, then forwards the request.
    /// When the upstream answers 401 to a token the gateway obtained, that token is dropped
    /// and the call is sent once more with a fresh one. `streams` as in
    /// [`Forwarder::exchange_with_retries`].
    pub async fn forward(
        &self,
        caller: &Caller,
        request: RenderedRequest,
        streams: Option<bool>,
    ) -> Result<Answer, CallError> {
        let Some(auth) = request.upstream.auth.clone() else {
            return self.forwarder.exchange_with_retries(request, streams).await;
        };
        // Boxed: inline, the token fetch and the second attempt would enlarge (and be copied
        // with) the future of every call, those to upstreams without credentials included.
        Box::pin(self.forward_with(auth, caller, request, streams)).await
    }

    async fn forward_with(
        &self,
        auth: crate::credentials::UpstreamAuth,
        caller: &Caller,
        request: RenderedRequest,
        streams: Option<bool>,
    ) -> Result<Answer, CallError> {
        let client = self.forwarder.client_for(&request.upstream).clone();
        let mut first = request.clone();
        let applied = auth
            .apply(caller, &mut first.headers, &client, &self.metrics)
            .await?;
        match self.forwarder.exchange_with_retries(first, streams).await {
            Err(error) if auth.retries_on_401() && upstream_status(&error) == Some(401) => {
                tracing::info!(upstream = %request.upstream.name, "the upstream refused its token (401): fetching a new one");
                auth.refused(&applied);
                let mut second = request;
                auth.apply(caller, &mut second.headers, &client, &self.metrics)
                    .await?;
                self.forwarder.exchange_with_retries(second, streams).await
            }
            other => other,
        }
    }

    /// [`forward`](Self::forward), reading the answer whole.
    pub async fn send(
        &self,
        caller: &Caller,
        request: RenderedRequest,
    ) -> Result<UpstreamAnswer, CallError> {
        match self.forward(caller, request, None).await? {
            Answer::Whole(answer) => Ok(answer),
            // Never asked for: `None` reads every answer whole.
            Answer::Lines(_) => Err(CallError::new(
                ErrorCode::InternalError,
                "an answer was streamed where it should have been read whole",
            )),
        }
    }
}

/// The HTTP status of an upstream's error answer, if the error is one.
fn upstream_status(error: &CallError) -> Option<u64> {
    if error.code != ErrorCode::UpstreamError {
        return None;
    }
    error.details.get("status").and_then(Value::as_u64)
}
