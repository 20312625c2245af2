//! A tool call whose first answer started a long-running job: follow it to its end, counted
//! in the metrics (operations in flight, duration, polls) and the call's log line.

use super::{Job, JobProgress};
use crate::caller::Caller;
use crate::error::CallError;
use crate::forward::{Dispatch, UpstreamAnswer};
use crate::gateway::CallRecord;
use crate::metrics::Metrics;
use crate::render::RenderedRequest;
use crate::shape::ToolResult;
use crate::tool::Tool;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// A started job, not yet followed. Dropping it (or the future of [`run`](Self::run)) before
/// the end sends the operation's cancel request upstream and records the call as `cancelled`.
#[derive(Debug)]
pub struct OpenOperation {
    tool: Arc<Tool>,
    dispatch: Dispatch,
    job: Job,
    first: UpstreamAnswer,
    caller: Caller,
    /// The call's record, set by the gateway once the call is opened.
    pub(crate) record: Option<CallRecord>,
}

impl OpenOperation {
    /// Reads the job's status URL (and cancel URL) from its first answer; a URL leaving the
    /// upstream is refused. `request` is the first request, `args` the call's arguments.
    pub fn start(
        dispatch: &Dispatch,
        tool: &Arc<Tool>,
        request: &RenderedRequest,
        first: UpstreamAnswer,
        args: &Value,
        caller: &Caller,
    ) -> Result<Self, CallError> {
        let Some(operation) = &tool.operation else {
            return Err(CallError::new(
                crate::error::ErrorCode::InternalError,
                "the tool has no operation",
            ));
        };
        let job = operation.start(&tool.request, request, &first, args, caller)?;
        Ok(Self {
            tool: tool.clone(),
            dispatch: dispatch.clone(),
            job,
            first,
            caller: caller.clone(),
            record: None,
        })
    }

    /// The started job, to be followed later (as an MCP task): the call itself is over, and
    /// is recorded as a success.
    pub fn into_job(mut self) -> (Arc<Tool>, Job) {
        if let Some(record) = self.record.take() {
            record.finish(None);
        }
        (self.tool, self.job)
    }

    /// Follows the job to its end, reporting its progress, and answers with its result.
    pub async fn run(
        mut self,
        progress: &mut (dyn FnMut(JobProgress) + Send),
    ) -> Result<ToolResult, CallError> {
        let record = self.record.take();
        let metrics = record.as_ref().map(|r| r.metrics().clone());
        let mut tally = Tally::start(metrics, &self.tool.name);
        let Some(operation) = &self.tool.operation else {
            return Err(CallError::new(
                crate::error::ErrorCode::InternalError,
                "the tool has no operation",
            ));
        };
        let outcome = operation
            .follow(
                &self.dispatch,
                &self.tool.request,
                self.job.clone(),
                self.first,
                &self.caller,
                &self.tool.response,
                &mut tally.polls,
                progress,
            )
            .await;
        tally.finish(outcome.as_ref().err());
        if let Some(record) = record {
            record.finish(outcome.as_ref().err());
        }
        outcome
    }
}

/// Counts an operation in flight and, once it ends, its duration and polls; an operation
/// dropped before its end is recorded as `cancelled`.
struct Tally {
    metrics: Option<Arc<Metrics>>,
    tool: String,
    started: Instant,
    polls: u32,
    done: bool,
}

impl Tally {
    fn start(metrics: Option<Arc<Metrics>>, tool: &str) -> Self {
        if let Some(metrics) = &metrics {
            metrics.operations_in_flight.inc();
        }
        Self {
            metrics,
            tool: tool.to_owned(),
            started: Instant::now(),
            polls: 0,
            done: false,
        }
    }

    fn finish(&mut self, error: Option<&CallError>) {
        self.write(error.map_or("ok", |e| e.code.as_str()));
    }

    fn write(&mut self, outcome: &str) {
        self.done = true;
        if let Some(metrics) = &self.metrics {
            metrics.operations_in_flight.dec();
            metrics.record_operation(&self.tool, outcome, self.started.elapsed(), self.polls);
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if !self.done {
            self.write("cancelled");
        }
    }
}
