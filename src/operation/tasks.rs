//! Long-running operations as MCP tasks, protocol-independent: start a job and hand out its
//! signed task id; from an id (on any replica), read the job's status with one poll, wait for
//! its result, or cancel it.

use super::task::{RESULT_GRACE, TaskTicket, absolute, unix_ms};
use super::{Counts, Ending, Job, Observed, Operation, State};
use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use crate::gateway::{Gateway, Opened, find_tool};
use crate::shape::ToolResult;
use crate::tool::Tool;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What one look at a task's job says.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Still running; its progress (0..100) if the operation reads one.
    Working(Option<f64>),
    /// Done: the result is ready.
    Completed,
    /// Failed (upstream, or past its timeout): why.
    Failed(String),
    /// Cancelled (upstream, or by `tasks/cancel`).
    Cancelled(String),
}

impl TaskStatus {
    /// Whether the task is over.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, TaskStatus::Working(_))
    }
}

/// A started task: its id and what it says.
#[derive(Debug)]
pub struct StartedTask {
    /// The signed task id.
    pub id: String,
    /// What the id carries.
    pub ticket: TaskTicket,
    /// The suggested wait between two `tasks/get` (the operation's `interval`).
    pub poll_interval: Duration,
}

impl Gateway {
    /// Starts a call of an `operation:` tool as a task: validates, renders and sends its
    /// first request, reads the job's URLs, and returns the task id (valid for the
    /// operation's timeout plus [`RESULT_GRACE`]). A tool without `operation:` is
    /// `invalid_parameters`.
    pub async fn start_task(
        &self,
        secret: &[u8],
        caller: &Caller,
        name: &str,
        arguments: Option<Value>,
        request_id: &str,
    ) -> Result<StartedTask, CallError> {
        {
            let config = self.config();
            let tool = find_tool(&config, caller, name)?;
            if tool.operation.is_none() {
                return Err(CallError::new(
                    ErrorCode::InvalidParameters,
                    format!("tool '{name}' does not run as a task (it has no operation:)"),
                ));
            }
        }
        let Opened::Operation(call) = self.open_call(caller, name, arguments, request_id).await?
        else {
            return Err(CallError::new(
                ErrorCode::InternalError,
                "an operation tool did not start a job",
            ));
        };
        let (tool, job) = call.into_job();
        let operation = operation_of(&tool)?;
        let ticket = TaskTicket::for_job(&tool.name, &job, operation.timeout + RESULT_GRACE);
        Ok(StartedTask {
            id: ticket.issue(secret, &caller.id),
            ticket,
            poll_interval: operation.interval,
        })
    }

    /// The ticket of task `id` issued to `caller`, if valid and not expired.
    pub fn task_ticket(&self, secret: &[u8], caller: &Caller, id: &str) -> Option<TaskTicket> {
        TaskTicket::verify(secret, id, &caller.id, unix_ms(SystemTime::now()))
    }

    /// The task's status, read with one status request (none past the operation's timeout).
    pub async fn task_status(
        &self,
        caller: &Caller,
        ticket: &TaskTicket,
    ) -> Result<TaskStatus, CallError> {
        let (tool, job) = self.task_job(caller, ticket)?;
        let operation = operation_of(&tool)?;
        if deadline(operation, &job) <= Instant::now() {
            return Ok(TaskStatus::Failed(operation.timed_out(&job).message));
        }
        Ok(match operation.poll(self.dispatch(), &job, caller).await {
            Ok(Observed { state, .. }) => match state {
                State::Working(percent) => TaskStatus::Working(percent),
                State::Done(_) => TaskStatus::Completed,
                State::Ended(error, Ending::Failed) => TaskStatus::Failed(error.message),
                State::Ended(error, Ending::Cancelled) => TaskStatus::Cancelled(error.message),
            },
            Err(error) => TaskStatus::Failed(error.message),
        })
    }

    /// Waits for the task's job to end (polling until the operation's timeout) and answers
    /// with its result, or the error it ended with. Nothing is cancelled if the wait is
    /// dropped: the task outlives the request.
    pub async fn task_result(
        &self,
        caller: &Caller,
        ticket: &TaskTicket,
    ) -> Result<ToolResult, CallError> {
        let (tool, job) = self.task_job(caller, ticket)?;
        let operation = operation_of(&tool)?;
        // As if a status answer said "working, ask again at once".
        let now = Observed {
            state: State::Working(None),
            retry_after: Some(Duration::ZERO),
        };
        let mut counts = Counts::default();
        operation
            .follow_from(
                self.dispatch(),
                &tool.request,
                &job,
                now,
                caller,
                &tool.response,
                deadline(operation, &job),
                &mut counts,
                &mut |_| {},
            )
            .await
    }

    /// Cancels the task's job: sends the operation's cancel request upstream. A task that is
    /// already over, or whose operation declares no cancel request, is `invalid_parameters`.
    pub async fn cancel_task(&self, caller: &Caller, ticket: &TaskTicket) -> Result<(), CallError> {
        let status = self.task_status(caller, ticket).await?;
        if status.is_terminal() {
            return Err(CallError::new(
                ErrorCode::InvalidParameters,
                "the task is already over and cannot be cancelled",
            ));
        }
        let (tool, job) = self.task_job(caller, ticket)?;
        let operation = operation_of(&tool)?;
        let Some(request) = operation.cancel_request(&job, caller) else {
            return Err(CallError::new(
                ErrorCode::InvalidParameters,
                format!("tool '{}' declares no cancel request", tool.name),
            ));
        };
        self.dispatch().send(caller, request).await?;
        Ok(())
    }

    /// The tool and job a ticket names, for `caller`: the tool must still exist, have an
    /// operation and be open to the caller; the URLs must still be inside its upstream.
    fn task_job(
        &self,
        caller: &Caller,
        ticket: &TaskTicket,
    ) -> Result<(Arc<Tool>, Job), CallError> {
        let config = self.config();
        let tool = find_tool(&config, caller, &ticket.tool)?.clone();
        operation_of(&tool)?;
        let upstream = tool.request.upstream.clone();
        let inside = |relative: &str| {
            absolute(&upstream.base_url, relative)
                .filter(|url| upstream.contain(url).is_ok())
                .ok_or_else(unknown_task)
        };
        let poll = inside(&ticket.poll)?;
        let cancel = match &ticket.cancel {
            Some(url) => Some(inside(url)?),
            None => None,
        };
        let job = Job {
            upstream: upstream.clone(),
            poll,
            cancel,
            started: ticket.started(),
            request_timeout: tool.request.timeout,
        };
        Ok((tool, job))
    }
}

/// When a job's time is up (its start plus the operation's timeout).
fn deadline(operation: &Operation, job: &Job) -> Instant {
    let ends = job.started + operation.timeout;
    let left = ends
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}

fn operation_of(tool: &Tool) -> Result<&Operation, CallError> {
    tool.operation.as_ref().ok_or_else(unknown_task)
}

/// The error for a task id that is not (or no longer) valid.
pub fn unknown_task() -> CallError {
    CallError::new(ErrorCode::InvalidParameters, "unknown or expired task id")
        .with_details(json!({ "error": "unknown_task" }))
}
