//! Long-running upstream operations (`operation:`): the first answer (typically `202 Accepted`
//! with a `Location`) starts a job; its status is polled until `done_when` holds, and the result
//! is read from the last status answer or fetched. Every URL taken from an answer must stay
//! inside the tool's upstream (the containment rule of rendered requests).
//!
//! [`Operation::follow`] runs a job to its end as one call; [`run`] ties it to a tool call
//! (metrics, log, progress).

pub mod run;
pub mod task;
pub mod tasks;

use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::forward::{Dispatch, UpstreamAnswer, excerpt};
use crate::render::{RenderedRequest, RequestTemplate};
use crate::shape::{Body, ResponseShape, ToolResult, read_body};
use crate::template::{Context, Template, value_text};
use crate::upstream::Upstream;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// Where a URL comes from in an answer.
#[derive(Clone, Debug)]
pub enum UrlSource {
    /// A header (`header.Location`), absolute or relative to the request's URL.
    Header(HeaderName),
    /// A string at a JSON Pointer of the body (`body./job/status_url`).
    Body(String),
    /// A path template below the upstream's base URL (`/jobs/{{answer.id}}`).
    Path(Template),
}

/// A test on a status answer: the value at `pointer`, as text, is one of `equals`.
#[derive(Clone, Debug)]
pub struct Condition {
    /// JSON Pointer into the status answer.
    pub pointer: String,
    /// Accepted values, as text.
    pub equals: Vec<String>,
}

impl Condition {
    /// Whether `body` satisfies the test.
    pub fn holds(&self, body: &Value) -> bool {
        body.pointer(&self.pointer)
            .is_some_and(|v| self.equals.iter().any(|e| *e == value_text(v)))
    }
}

/// Where the result of a finished job is.
#[derive(Clone, Debug)]
pub enum ResultSource {
    /// In the last status answer: the whole of it, or the part at a JSON Pointer.
    Status(Option<String>),
    /// Behind a follow-up request whose URL comes from the last status answer.
    Fetch(Method, UrlSource),
}

/// A compiled `operation:`.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Where the status URL is in the first answer.
    pub poll_url: UrlSource,
    /// Method of the status request.
    pub poll_method: Method,
    /// First wait and base wait between polls.
    pub interval: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Time allowed for the whole job.
    pub timeout: Duration,
    /// The job is over.
    pub done_when: Condition,
    /// The job failed.
    pub failed_when: Option<Condition>,
    /// The job was cancelled upstream.
    pub cancelled_when: Option<Condition>,
    /// JSON Pointer of the progress (0..100).
    pub progress: Option<String>,
    /// Where the result is.
    pub result: ResultSource,
    /// The cancel request: method and where its URL is in the first answer.
    pub cancel: Option<(Method, UrlSource)>,
}

/// A started job: where its status and cancel requests go.
#[derive(Clone, Debug)]
pub struct Job {
    /// The tool's upstream.
    pub upstream: Arc<Upstream>,
    /// The status URL (inside the upstream).
    pub poll: Url,
    /// The cancel URL, if the operation declares a cancel request.
    pub cancel: Option<Url>,
    /// When the job was started (wall clock: task ids carry it between replicas).
    pub started: SystemTime,
    /// Time allowed for each request to the upstream.
    pub request_timeout: Duration,
}

/// What one status answer says.
#[derive(Debug)]
pub enum State {
    /// Still running; progress (0..100) if the operation reads one.
    Working(Option<f64>),
    /// Over; the answer the result comes from.
    Done(UpstreamAnswer),
    /// Failed or cancelled upstream: the error the call ends with.
    Ended(CallError, Ending),
}

/// How a job ended badly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `failed_when` held.
    Failed,
    /// `cancelled_when` held.
    Cancelled,
}

/// One status answer, read.
#[derive(Debug)]
pub struct Observed {
    /// The job's state.
    pub state: State,
    /// The upstream's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

/// What following a job counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Status requests sent.
    pub polls: u32,
    /// Whether the job reached its end upstream (done, failed or cancelled there).
    pub ended: bool,
}

/// How a job is going, reported after each status answer while it runs.
#[derive(Clone, Copy, Debug)]
pub struct JobProgress {
    /// Progress from 0 to 100, if the operation reads one.
    pub percent: Option<f64>,
    /// Status requests sent so far (0 for the first answer).
    pub polls: u32,
}

impl Operation {
    /// The job a first answer started: its status URL (and cancel URL) resolved and
    /// checked to stay inside the upstream. `request` is the first request.
    pub fn start(
        &self,
        template: &RequestTemplate,
        request: &RenderedRequest,
        first: &UpstreamAnswer,
        args: &Value,
        caller: &Caller,
    ) -> Result<Job, CallError> {
        let body = json_body(first).unwrap_or_default();
        let ctx = Context {
            args,
            caller,
            answer: &body,
        };
        let resolve = |source: &UrlSource, what: &str| {
            resolve_url(template, source, first, &ctx, &request.url, what)
        };
        let poll = resolve(&self.poll_url, "status")?;
        let cancel = match &self.cancel {
            Some((_, source)) => Some(resolve(source, "cancel")?),
            None => None,
        };
        Ok(Job {
            upstream: template.upstream.clone(),
            poll,
            cancel,
            started: SystemTime::now(),
            request_timeout: template.timeout,
        })
    }

    /// Reads one answer (the first one, or a status answer).
    pub fn observe(&self, answer: UpstreamAnswer) -> Observed {
        let body = json_body(&answer).unwrap_or_default();
        let retry_after = answer.retry_after;
        let ended = |ending: Ending, what: &str| {
            let said = excerpt(&answer.body);
            let short: String = said.chars().take(200).collect();
            let error = CallError::new(
                ErrorCode::UpstreamError,
                format!("the upstream job {what}: {}", short.trim()),
            )
            .with_details(json!({ "job": what, "excerpt": said }));
            State::Ended(error, ending)
        };
        let state = if self.failed_when.as_ref().is_some_and(|c| c.holds(&body)) {
            ended(Ending::Failed, "failed")
        } else if self.cancelled_when.as_ref().is_some_and(|c| c.holds(&body)) {
            ended(Ending::Cancelled, "was cancelled")
        } else if self.done_when.holds(&body) {
            State::Done(answer)
        } else {
            let percent = self.progress.as_ref().and_then(|p| percent_at(&body, p));
            State::Working(percent)
        };
        Observed { state, retry_after }
    }

    /// Sends one status request and reads its answer.
    pub async fn poll(
        &self,
        dispatch: &Dispatch,
        job: &Job,
        caller: &Caller,
    ) -> Result<Observed, CallError> {
        let request = job_request(job, caller, self.poll_method.clone(), job.poll.clone());
        Ok(self.observe(dispatch.send(caller, request).await?))
    }

    /// The cancel request of a job, if the operation declares one.
    pub fn cancel_request(&self, job: &Job, caller: &Caller) -> Option<RenderedRequest> {
        let (method, _) = self.cancel.as_ref()?;
        Some(job_request(
            job,
            caller,
            method.clone(),
            job.cancel.clone()?,
        ))
    }

    /// The result of a finished job, shaped by the tool's `response:`.
    pub async fn result(
        &self,
        dispatch: &Dispatch,
        template: &RequestTemplate,
        job: &Job,
        caller: &Caller,
        done: UpstreamAnswer,
        shape: &ResponseShape,
    ) -> Result<ToolResult, CallError> {
        match &self.result {
            ResultSource::Status(None) => shape.shape(&done),
            ResultSource::Status(Some(pointer)) => {
                let value = json_body(&done)?.pointer(pointer).cloned().ok_or_else(|| {
                    CallError::new(
                        ErrorCode::UpstreamError,
                        format!("the finished job's status answer has nothing at '{pointer}'"),
                    )
                    .with_details(json!({ "result_from": pointer }))
                })?;
                shape.shape_value(value)
            }
            ResultSource::Fetch(method, source) => {
                let body = json_body(&done).unwrap_or_default();
                let ctx = Context {
                    args: &Value::Null,
                    caller,
                    answer: &body,
                };
                let url = resolve_url(template, source, &done, &ctx, &job.poll, "result")?;
                let request = job_request(job, caller, method.clone(), url);
                let answer = dispatch.send(caller, request).await?;
                shape.shape(&answer)
            }
        }
    }

    /// Follows a started job to its end: polls (waiting `interval`, growing by half up to
    /// `max_interval`, or the upstream's `Retry-After`), reports progress after each status
    /// answer, and answers with the result. Past `timeout` the call ends with
    /// `upstream_timeout`. Dropping the future before the end (the client cancelled or went
    /// away), a timeout, or a failed status request sends the cancel request upstream.
    #[allow(clippy::too_many_arguments)]
    pub async fn follow(
        &self,
        dispatch: &Dispatch,
        template: &RequestTemplate,
        job: Job,
        first: UpstreamAnswer,
        caller: &Caller,
        shape: &ResponseShape,
        polls: &mut u32,
        progress: &mut (dyn FnMut(JobProgress) + Send),
    ) -> Result<ToolResult, CallError> {
        let deadline = Instant::now() + self.timeout;
        let observed = self.observe(first);
        let mut guard = CancelOnDrop {
            dispatch: dispatch.clone(),
            caller: caller.clone(),
            request: self.cancel_request(&job, caller),
        };
        let mut counts = Counts {
            polls: 0,
            ended: false,
        };
        let outcome = self
            .follow_from(
                dispatch,
                template,
                &job,
                observed,
                caller,
                shape,
                deadline,
                &mut counts,
                progress,
            )
            .await;
        *polls = counts.polls;
        if counts.ended {
            // The job ended upstream (done, failed or cancelled there): nothing to cancel.
            guard.request = None;
        }
        outcome
    }

    /// Follows a job from a status answer already read, until `deadline`, without sending
    /// the cancel request whatever happens (what `tasks/result` does: the task outlives the
    /// request that waits for it).
    #[allow(clippy::too_many_arguments)]
    pub async fn follow_from(
        &self,
        dispatch: &Dispatch,
        template: &RequestTemplate,
        job: &Job,
        mut observed: Observed,
        caller: &Caller,
        shape: &ResponseShape,
        deadline: Instant,
        counts: &mut Counts,
        progress: &mut (dyn FnMut(JobProgress) + Send),
    ) -> Result<ToolResult, CallError> {
        let mut wait = self.interval;
        let mut reported: Option<f64> = None;
        loop {
            match observed.state {
                State::Working(percent) => {
                    // Progress must increase: a percentage that did not move is not reported.
                    if percent.is_none() || percent > reported {
                        reported = percent.or(reported);
                        progress(JobProgress {
                            percent,
                            polls: counts.polls,
                        });
                    }
                }
                State::Done(answer) => {
                    counts.ended = true;
                    return self
                        .result(dispatch, template, job, caller, answer, shape)
                        .await;
                }
                State::Ended(error, _) => {
                    counts.ended = true;
                    return Err(error);
                }
            }
            let pause = observed.retry_after.unwrap_or(wait).min(self.max_interval);
            wait = (wait + wait / 2).min(self.max_interval);
            let timed_out = || self.timed_out(job);
            if tokio::time::timeout_at(deadline.into(), tokio::time::sleep(pause))
                .await
                .is_err()
            {
                return Err(timed_out());
            }
            counts.polls += 1;
            observed =
                match tokio::time::timeout_at(deadline.into(), self.poll(dispatch, job, caller))
                    .await
                {
                    Ok(observed) => observed?,
                    Err(_) => return Err(timed_out()),
                };
        }
    }

    /// The `upstream_timeout` of a job that did not finish in time.
    pub fn timed_out(&self, job: &Job) -> CallError {
        let name = &job.upstream.name;
        CallError::new(
            ErrorCode::UpstreamTimeout,
            format!(
                "the job on upstream '{name}' did not finish within {} s",
                self.timeout.as_secs_f64()
            ),
        )
        .with_details(json!({ "upstream": name, "timeout_ms": self.timeout.as_millis() as u64 }))
    }
}

/// An answer's body as JSON (text as a JSON string; a binary body is `null`).
fn json_body(answer: &UpstreamAnswer) -> Result<Value, CallError> {
    Ok(match read_body(answer, None)? {
        Body::Json(value) => value,
        Body::Text(text) => Value::String(text),
        Body::Binary(_) => Value::Null,
    })
}

/// Progress at `pointer` as a number from 0 to 100 (numbers or numeric strings).
fn percent_at(body: &Value, pointer: &str) -> Option<f64> {
    let value = body.pointer(pointer)?;
    let number = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('%').parse().ok()?,
        _ => return None,
    };
    number.is_finite().then(|| number.clamp(0.0, 100.0))
}

/// A request to a job URL: the upstream's headers for the caller, no body.
pub fn job_request(job: &Job, caller: &Caller, method: Method, url: Url) -> RenderedRequest {
    let mut headers: HeaderMap = job.upstream.headers_for(&caller.org).clone();
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("application/json"));
    RenderedRequest {
        method,
        url,
        headers,
        body: None,
        timeout: job.request_timeout,
        upstream: job.upstream.clone(),
        secret_query: Vec::new(),
    }
}

/// Resolves a URL from an answer, relative to `base` (the request that got the answer), and
/// checks that it stays inside the upstream.
fn resolve_url(
    template: &RequestTemplate,
    source: &UrlSource,
    answer: &UpstreamAnswer,
    ctx: &Context<'_>,
    base: &Url,
    what: &str,
) -> Result<Url, CallError> {
    let upstream = &template.upstream;
    let missing = |place: String| {
        CallError::new(
            ErrorCode::UpstreamError,
            format!(
                "upstream '{}' gave no {what} URL: {place} is missing",
                upstream.name
            ),
        )
        .with_details(json!({ "upstream": upstream.name }))
    };
    let text = match source {
        UrlSource::Header(name) => answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| missing(format!("header {name}")))?,
        UrlSource::Body(pointer) => ctx
            .answer
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| missing(format!("body {pointer}")))?,
        UrlSource::Path(path) => {
            let request = RequestTemplate {
                upstream: upstream.clone(),
                method: Method::GET,
                path: path.clone(),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
                timeout: template.timeout,
            };
            return request
                .render_in(ctx)
                .map(|r| r.url)
                .map_err(|e| missing(format!("a value of the path template ({})", e.message)));
        }
    };
    let joined = base.join(text.trim()).map_err(|_| {
        CallError::new(
            ErrorCode::UpstreamError,
            format!(
                "upstream '{}' gave a {what} URL that is not a URL",
                upstream.name
            ),
        )
    })?;
    upstream
        .contain(&joined)
        .map(|()| joined.clone())
        .map_err(|_| {
            CallError::new(
                ErrorCode::UpstreamError,
                format!(
                    "upstream '{}' gave a {what} URL outside its base_url; refused",
                    upstream.name
                ),
            )
            .with_details(json!({ "upstream": upstream.name, "refused": what }))
        })
}

/// Sends the cancel request when dropped while armed (the call was cancelled, went away or
/// timed out), without waiting for its answer.
struct CancelOnDrop {
    dispatch: Dispatch,
    caller: Caller,
    request: Option<RenderedRequest>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(request) = self.request.take() else {
            return;
        };
        let dispatch = self.dispatch.clone();
        let caller = self.caller.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let url = request.url.path().to_owned();
                match dispatch.send(&caller, request).await {
                    Ok(answer) => {
                        tracing::info!(status = answer.status, path = %url, "job cancel sent")
                    }
                    Err(error) => {
                        tracing::warn!(code = error.code.as_str(), path = %url, "job cancel failed")
                    }
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_compare_as_text_and_progress_is_clamped() {
        let condition = Condition {
            pointer: "/state".into(),
            equals: vec!["done".into(), "200".into()],
        };
        assert!(condition.holds(&json!({ "state": "done" })));
        assert!(condition.holds(&json!({ "state": 200 })));
        assert!(!condition.holds(&json!({ "state": "running" })));
        assert!(!condition.holds(&json!({})));
        assert_eq!(percent_at(&json!({ "p": 40 }), "/p"), Some(40.0));
        assert_eq!(percent_at(&json!({ "p": "55%" }), "/p"), Some(55.0));
        assert_eq!(percent_at(&json!({ "p": 140 }), "/p"), Some(100.0));
        assert_eq!(percent_at(&json!({ "p": "x" }), "/p"), None);
    }
}
