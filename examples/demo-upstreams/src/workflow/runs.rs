//! Workflow runs: the in-memory store, the background task that moves a run through its steps,
//! and cancellation.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};

use super::templates::{Outcome, Plan, Template};
use crate::common::ApiError;
use crate::common::rng::Rng;
use crate::common::time::{iso_timestamp_ms, now_millis};

/// Most runs kept; the oldest finished ones are forgotten first.
const MAX_RUNS: usize = 1000;
/// Most runs in progress at once.
const MAX_ACTIVE: usize = 100;
/// How often a running step updates its progress.
const TICK: Duration = Duration::from_millis(100);

/// Where a run or a step is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    /// Not started yet (steps only).
    Pending,
    /// In progress.
    Running,
    /// Done, successfully.
    Succeeded,
    /// Stopped by an error.
    Failed,
    /// Stopped by a cancel request.
    Cancelled,
    /// Not needed for these parameters (steps only).
    Skipped,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }

    fn finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// One step of one run.
struct StepRun {
    state: State,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

/// One run of a template.
pub(crate) struct Run {
    id: String,
    template: &'static Template,
    parameters: Map<String, Value>,
    state: State,
    /// Index of the step in progress (or where the run stopped).
    current: usize,
    /// Percent done, 0 to 100.
    progress: u8,
    steps: Vec<StepRun>,
    created_at: i64,
    finished_at: Option<i64>,
    result: Option<Value>,
    error: Option<Value>,
}

impl Run {
    /// The run as answered by `GET /runs/{id}`.
    pub(crate) fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .template
            .steps
            .iter()
            .zip(&self.steps)
            .map(|(spec, run)| {
                json!({
                    "id": spec.id,
                    "title": spec.title,
                    "state": run.state.as_str(),
                    "started_at": run.started_at.map(iso_timestamp_ms),
                    "finished_at": run.finished_at.map(iso_timestamp_ms),
                })
            })
            .collect();
        // Where the run is, or where it stopped; none once it succeeded.
        let current = (self.state != State::Succeeded)
            .then(|| self.template.steps.get(self.current).map(|s| s.id))
            .flatten();
        json!({
            "run_id": self.id,
            "template_id": self.template.id,
            "state": self.state.as_str(),
            "current_step": current,
            "step_index": (self.current + 1).min(self.steps.len()),
            "steps_total": self.steps.len(),
            "progress": self.progress,
            "steps": steps,
            "parameters": self.parameters,
            "created_at": iso_timestamp_ms(self.created_at),
            "finished_at": self.finished_at.map(iso_timestamp_ms),
            "result": self.result,
            "error": self.error,
        })
    }

    /// A short summary for lists.
    pub(crate) fn summary(&self) -> Value {
        json!({
            "run_id": self.id,
            "template_id": self.template.id,
            "state": self.state.as_str(),
            "progress": self.progress,
            "created_at": iso_timestamp_ms(self.created_at),
        })
    }
}

/// All runs, oldest first.
pub(crate) struct Runs {
    by_id: HashMap<String, Run>,
    order: VecDeque<String>,
    rng: Rng,
}

/// The shared run store.
#[derive(Clone)]
pub(crate) struct Store(Arc<Mutex<Runs>>);

impl Store {
    /// An empty store; run ids are random per process.
    pub(crate) fn new() -> Self {
        let seed = u64::try_from(now_millis()).unwrap_or(0) ^ u64::from(std::process::id());
        Self(Arc::new(Mutex::new(Runs {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            rng: Rng::new(seed),
        })))
    }

    /// Locks the store; a poisoned lock is recovered, since every update leaves it consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Runs> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a run and starts it in the background. `step_time` overrides every step's
    /// duration when set.
    pub(crate) fn start(
        &self,
        template: &'static Template,
        parameters: Map<String, Value>,
        step_time: Option<Duration>,
    ) -> Result<Value, ApiError> {
        let mut runs = self.lock();
        let active = runs.by_id.values().filter(|r| !r.state.finished()).count();
        if active >= MAX_ACTIVE {
            return Err(ApiError::other(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_runs",
                format!("{MAX_ACTIVE} runs are in progress; wait for some to finish"),
            ));
        }
        runs.evict();
        let (id, seed) = loop {
            let seed = runs.rng.next_u64();
            let id = format!("run-{:012x}", seed & 0xffff_ffff_ffff);
            if !runs.by_id.contains_key(&id) {
                break (id, seed);
            }
        };
        let now = now_millis();
        let plan = (template.plan)(&parameters, seed, now.div_euclid(86_400_000));
        let mut steps: Vec<StepRun> = template
            .steps
            .iter()
            .map(|_| StepRun {
                state: State::Pending,
                started_at: None,
                finished_at: None,
            })
            .collect();
        for &i in &plan.skipped {
            if let Some(step) = steps.get_mut(i) {
                step.state = State::Skipped;
            }
        }
        // The first step starts right away, so the answer already shows it running.
        let mut current = 0;
        if let Some((i, step)) = steps
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.state == State::Pending)
        {
            step.state = State::Running;
            step.started_at = Some(now);
            current = i;
        }
        let run = Run {
            id: id.clone(),
            template,
            parameters,
            state: State::Running,
            current,
            progress: 0,
            steps,
            created_at: now,
            finished_at: None,
            result: None,
            error: None,
        };
        let answer = run.to_json();
        runs.order.push_back(id.clone());
        runs.by_id.insert(id.clone(), run);
        drop(runs);
        let durations: Vec<Duration> = template
            .steps
            .iter()
            .map(|s| step_time.unwrap_or(Duration::from_millis(s.millis)))
            .collect();
        tokio::spawn(drive(self.clone(), id, plan, durations));
        Ok(answer)
    }

    /// The run's status; 404 when unknown.
    pub(crate) fn status(&self, id: &str) -> Result<Value, ApiError> {
        self.lock()
            .by_id
            .get(id)
            .map(Run::to_json)
            .ok_or_else(|| not_found(id))
    }

    /// The newest runs first, at most `limit`, optionally only in `state`.
    pub(crate) fn list(&self, state: Option<&str>, limit: usize) -> Vec<Value> {
        let runs = self.lock();
        runs.order
            .iter()
            .rev()
            .filter_map(|id| runs.by_id.get(id))
            .filter(|r| state.is_none_or(|s| r.state.as_str() == s))
            .take(limit)
            .map(Run::summary)
            .collect()
    }

    /// Cancels a run in progress; cancelling it again is fine, cancelling a finished run is 409.
    pub(crate) fn cancel(&self, id: &str) -> Result<Value, ApiError> {
        let mut runs = self.lock();
        let run = runs.by_id.get_mut(id).ok_or_else(|| not_found(id))?;
        match run.state {
            State::Cancelled => {}
            State::Succeeded | State::Failed => {
                return Err(ApiError::other(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "run {id} already {} and cannot be cancelled",
                        run.state.as_str()
                    ),
                ));
            }
            _ => {
                let now = now_millis();
                run.state = State::Cancelled;
                run.finished_at = Some(now);
                for step in &mut run.steps {
                    match step.state {
                        State::Running => {
                            step.state = State::Cancelled;
                            step.finished_at = Some(now);
                        }
                        State::Pending => step.state = State::Skipped,
                        _ => {}
                    }
                }
                run.error = Some(json!({ "code": "cancelled", "message": "cancelled on request" }));
            }
        }
        Ok(run.to_json())
    }
}

impl Runs {
    /// Forgets the oldest finished runs while the store is full.
    fn evict(&mut self) {
        while self.by_id.len() >= MAX_RUNS {
            let oldest_finished = self
                .order
                .iter()
                .position(|id| self.by_id.get(id).is_none_or(|r| r.state.finished()));
            match oldest_finished.and_then(|i| self.order.remove(i)) {
                Some(id) => {
                    self.by_id.remove(&id);
                }
                None => return,
            }
        }
    }
}

/// 404 for an unknown run.
fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("run {id:?} not found"))
}

/// What the background task does after it updated a run.
enum Next {
    Continue,
    Stop,
}

/// Applies `f` to the run if it is still in progress.
fn update(store: &Store, id: &str, f: impl FnOnce(&mut Run) -> Next) -> Next {
    let mut runs = store.lock();
    match runs.by_id.get_mut(id) {
        Some(run) if run.state == State::Running => f(run),
        _ => Next::Stop,
    }
}

/// Moves a run through its steps, sleeping for each, until it ends or is cancelled.
async fn drive(store: Store, id: String, plan: Plan, durations: Vec<Duration>) {
    let total = durations.len().max(1) as f64;
    for (i, duration) in durations.iter().enumerate() {
        let mut skipped = false;
        let start = update(&store, &id, |run| {
            run.current = i;
            if let Some(step) = run.steps.get_mut(i) {
                if step.state == State::Skipped {
                    skipped = true;
                } else {
                    step.state = State::Running;
                    step.started_at.get_or_insert_with(now_millis);
                }
            }
            Next::Continue
        });
        if matches!(start, Next::Stop) {
            return;
        }
        if !skipped {
            let mut elapsed = Duration::ZERO;
            while elapsed < *duration {
                let nap = TICK.min(*duration - elapsed);
                tokio::time::sleep(nap).await;
                elapsed += nap;
                let fraction = elapsed.as_secs_f64() / duration.as_secs_f64().max(1e-9);
                let progress = ((i as f64 + fraction.min(1.0)) / total * 100.0).floor();
                let tick = update(&store, &id, |run| {
                    run.progress = progress.clamp(0.0, 99.0) as u8;
                    Next::Continue
                });
                if matches!(tick, Next::Stop) {
                    return;
                }
            }
        }
        let end = update(&store, &id, |run| {
            let now = now_millis();
            let Some(step) = run.steps.get_mut(i) else {
                return Next::Stop;
            };
            if skipped {
                return Next::Continue;
            }
            step.finished_at = Some(now);
            if let Outcome::Failure { step: at, message } = &plan.outcome {
                if *at == i {
                    step.state = State::Failed;
                    run.state = State::Failed;
                    run.finished_at = Some(now);
                    for later in run.steps.iter_mut().skip(i + 1) {
                        later.state = State::Skipped;
                    }
                    run.error = Some(
                        json!({ "code": "step_failed", "step": run.template.steps.get(i).map(|s| s.id), "message": message }),
                    );
                    return Next::Stop;
                }
            }
            step.state = State::Succeeded;
            Next::Continue
        });
        if matches!(end, Next::Stop) {
            return;
        }
    }
    update(&store, &id, |run| {
        run.state = State::Succeeded;
        run.progress = 100;
        run.current = run.steps.len().saturating_sub(1);
        run.finished_at = Some(now_millis());
        if let Outcome::Success(result) = &plan.outcome {
            run.result = Some(result.clone());
        }
        Next::Stop
    });
}
