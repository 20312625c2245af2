//! The work of a reload done beside the request workers: on a thread of its own at a lower CPU
//! priority (Linux: nice 5, and a short time slice where the scheduler takes one), so compiling a large config, comparing it with the serving one
//! and freeing the one it replaces take CPU time from serving calls as little as possible
//! when both share a core (a pod with one CPU, or the benchmark's pinned process).

use std::sync::Arc;
use std::time::Duration;

/// How much lower than the workers a reload thread runs (nice value; the workers' is 0). At 5 a
/// busy worker keeps about three quarters of a shared core and a reload still finishes.
#[cfg(target_os = "linux")]
const RELOAD_NICE: libc::c_int = 5;
/// How often a retired config is checked for calls still holding it.
const RETIRE_CHECK: Duration = Duration::from_millis(10);
/// How long a retired config is waited for before its last holder is left to free it.
const RETIRE_WAIT: Duration = Duration::from_secs(60);

/// Runs `work` on a reload thread and waits for its result; `None` if the thread could not
/// be started or `work` panicked.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    spawn(move || {
        let _ = done.send(work());
    })?;
    result.await.ok()
}

/// Frees `old` on a reload thread once nothing else holds it: calls in flight when it was
/// replaced keep using it, and the last of them would otherwise free it on a request worker.
pub fn retire<T: Send + Sync + 'static>(old: Arc<T>) {
    let retired = spawn(move || {
        let mut old = old;
        let mut waited = Duration::ZERO;
        while waited < RETIRE_WAIT {
            match Arc::try_unwrap(old) {
                Ok(inner) => return drop(inner),
                Err(shared) => old = shared,
            }
            std::thread::sleep(RETIRE_CHECK);
            waited += RETIRE_CHECK;
        }
    });
    if retired.is_none() {
        tracing::warn!("could not start a thread to free the replaced config");
    }
}

fn spawn(work: impl FnOnce() + Send + 'static) -> Option<()> {
    std::thread::Builder::new()
        .name("toolgate-reload".into())
        .spawn(move || {
            lower_priority();
            work();
        })
        .ok()
        .map(drop)
}

/// Lowers the calling thread's CPU priority: nice [`RELOAD_NICE`] and, on kernels whose
/// scheduler takes one (EEVDF, Linux 6.12 and later), a time slice of [`RELOAD_SLICE_NS`]: a
/// worker that wakes while a reload runs then waits a tenth of a millisecond for the core,
/// not the default few milliseconds. Older kernels refuse the slice and keep the nice value.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_nice: RELOAD_NICE,
        sched_runtime: RELOAD_SLICE_NS,
        ..SchedAttr::default()
    };
    // SAFETY: sched_setattr on the calling thread (pid 0) with a valid, fully initialised
    // attribute block that outlives the call.
    let sliced = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if sliced != 0 {
        // SAFETY: a plain system call on the calling thread (`who = 0`), with no pointers.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, RELOAD_NICE) };
    }
}

/// The time slice asked for a reload thread, in nanoseconds (the kernel's smallest).
#[cfg(target_os = "linux")]
const RELOAD_SLICE_NS: u64 = 100_000;

/// `struct sched_attr` of `sched_setattr(2)` (the libc crate does not define it).
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_reload_thread() {
        let name = run(|| std::thread::current().name().map(str::to_owned)).await;
        assert_eq!(name.flatten().as_deref(), Some("toolgate-reload"));
    }

    #[test]
    fn a_retired_value_is_freed_once_its_last_holder_lets_go() {
        let value = Arc::new(());
        let holder = value.clone();
        let watch = Arc::downgrade(&value);
        retire(value);
        std::thread::sleep(RETIRE_CHECK * 5);
        assert!(watch.upgrade().is_some(), "freed while still held");
        drop(holder);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while watch.upgrade().is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(RETIRE_CHECK);
        }
        assert!(watch.upgrade().is_none(), "never freed");
    }
}
