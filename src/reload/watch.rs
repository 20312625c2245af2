//! What triggers a reload: file-system events in the directories of the config files (not the
//! files themselves: editors rename over them and Kubernetes swaps a `..data` symlink, which
//! would leave a watch on the old inode dead), an optional polling interval, and SIGHUP.

use super::Reloader;
use crate::config::WatchSettings;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The longest a burst of events can delay a reload.
const MAX_SETTLE: Duration = Duration::from_secs(2);

/// Reloads whenever the config changes, until the process ends. Must run inside a Tokio runtime.
pub async fn watch(reloader: Arc<Reloader>, settings: WatchSettings) {
    let (events, mut triggers) = mpsc::unbounded_channel::<()>();
    let mut watcher = None;
    let mut watched = BTreeSet::new();
    if settings.watch_files {
        let sender = events.clone();
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|event| !is_read(&event.kind)) {
                let _ = sender.send(());
            }
        }) {
            Ok(w) => watcher = Some(w),
            Err(error) => {
                tracing::warn!(%error, "cannot watch config files; use server.reload.poll_interval")
            }
        }
    }
    if let Some(period) = settings.poll_interval {
        let sender = events.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if sender.send(()).is_err() {
                    break;
                }
            }
        });
    }
    spawn_sighup(reloader.clone());
    if let Some(w) = watcher.as_mut() {
        rearm(w, &mut watched, &reloader);
    }
    while triggers.recv().await.is_some() {
        // Debounce: editors and ConfigMap updates write several events in a burst. Wait until
        // the files have been quiet for `debounce` (at most MAX_SETTLE), so that a slow writer
        // is not read half-way.
        let settle_until = tokio::time::Instant::now() + MAX_SETTLE;
        loop {
            tokio::time::sleep(settings.debounce).await;
            let mut more = false;
            while triggers.try_recv().is_ok() {
                more = true;
            }
            if !more || tokio::time::Instant::now() >= settle_until {
                break;
            }
        }
        reloader.reload().await;
        if let Some(w) = watcher.as_mut() {
            rearm(w, &mut watched, &reloader);
        }
    }
}

/// Whether an event only says that a file was read. Such events change nothing, and every
/// reload opens the config files itself: reacting to them would reload forever.
fn is_read(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(
            AccessKind::Open(_) | AccessKind::Read | AccessKind::Close(AccessMode::Read)
        )
    )
}

/// Watches the directory of every file of the serving config (plus the main file's),
/// re-adding watches whose directory entry was replaced.
fn rearm(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut BTreeSet<PathBuf>,
    reloader: &Reloader,
) {
    let config = reloader.gateway().config();
    let mut wanted: BTreeSet<PathBuf> = config
        .sources
        .iter()
        .chain(std::iter::once(&reloader.path().to_path_buf()))
        .filter_map(|file| {
            file.parent().map(|dir| {
                if dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    dir.to_path_buf()
                }
            })
        })
        .collect();
    wanted.retain(|dir| dir.is_dir());
    for dir in watched.difference(&wanted) {
        let _ = watcher.unwatch(dir);
    }
    for dir in &wanted {
        // Watching again (without unwatching first, which could lose an event in between)
        // re-arms a watch whose directory was replaced.
        if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), %error, "cannot watch config directory");
        }
    }
    *watched = wanted;
}

#[cfg(unix)]
fn spawn_sighup(reloader: Arc<Reloader>) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            reloader.reload().await;
        }
    });
}

#[cfg(not(unix))]
fn spawn_sighup(_reloader: Arc<Reloader>) {}
