//! Under load: several clients call a tool at full speed, each on its own connection, while the
//! config file is replaced many times, valid and invalid versions alternating. Every single call
//! succeeds with the answer of a config that was serving (never an error caused by a reload), and
//! each client sees the versions in order. A call in flight finishes on the config it started with.

mod common;
mod reload_support;

use common::{client, start_upstream};
use reload_support::{
    DEADLINE, answered_uri, call, call_with, eventually, health, rename_over, serve_file,
    write_in_place,
};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;
const SWAPS: u64 = 30;

/// Version `generation`: `ping` answers `/gen/<generation>/ping`; even versions add a tool.
fn valid(upstream: &str, generation: u64) -> String {
    let mut yaml = format!(
        "server:\n  reload: {{ debounce: 50ms }}\nupstreams:\n  api: {{ base_url: \"{upstream}\" }}\ntools:\n  - name: ping\n    description: Ping, version {generation}.\n    request: {{ upstream: api, path: \"/gen/{generation}/ping\" }}\n"
    );
    if generation % 2 == 0 {
        yaml.push_str(
            "  - name: extra\n    description: Extra.\n    request: { upstream: api, path: \"/extra\" }\n",
        );
    }
    yaml
}

/// An invalid version; `kind` picks one of several kinds of mistakes.
fn invalid(upstream: &str, generation: u64, kind: u64) -> String {
    let good = valid(upstream, generation);
    match kind % 3 {
        0 => format!("{good}  - name: [ broken\n"),
        1 => good.replace("upstream: api", "upstream: nope"),
        _ => good.replace("description:", "descripton:"),
    }
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    calls: u64,
    failures: Vec<String>,
    generations_seen: u64,
}

/// Calls `ping` until `stop`, checking every answer against the versions written so far.
async fn client_loop(url: String, latest: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> Tally {
    let http = client();
    let mut tally = Tally::default();
    let mut last_generation = 1;
    while !stop.load(Ordering::Relaxed) {
        let reply = call_with(&http, &url, "ping").await;
        tally.calls += 1;
        let generation = reply.as_ref().ok().and_then(|reply| {
            answered_uri(reply)?
                .strip_prefix("/gen/")?
                .strip_suffix("/ping")?
                .parse::<u64>()
                .ok()
        });
        let newest = latest.load(Ordering::SeqCst);
        match generation {
            Some(g) if g >= last_generation && g <= newest => {
                if g != last_generation {
                    tally.generations_seen += 1;
                }
                last_generation = g;
            }
            _ => {
                if tally.failures.len() < 5 {
                    tally.failures.push(format!(
                        "after version {last_generation} (newest written {newest}): {reply:?}"
                    ));
                } else {
                    tally.failures.push(String::new());
                }
            }
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_succeeds_while_the_config_is_swapped_many_times() {
    let upstream = start_upstream().await;
    let api = upstream.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, valid(&api, 1)).unwrap();
    let gateway = serve_file(&path).await;
    let reload = gateway.state.reload.clone();

    let latest = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(client_loop(
                gateway.url.clone(),
                latest.clone(),
                stop.clone(),
            ))
        })
        .collect();

    let started = Instant::now();
    let mut generation = 1;
    let mut latencies = Vec::new();
    for swap in 0..SWAPS {
        let written = Instant::now();
        let (counter, before) = if swap % 2 == 0 {
            generation += 1;
            latest.store(generation, Ordering::SeqCst);
            let before = reload.reloads_ok.load(Ordering::SeqCst);
            // Saved both ways: by an editor's rename-over, and rewritten in place.
            if swap % 4 == 0 {
                rename_over(&path, &valid(&api, generation));
            } else {
                write_in_place(&path, &valid(&api, generation));
            }
            (&reload.reloads_ok, before)
        } else {
            let before = reload.reloads_failed.load(Ordering::SeqCst);
            rename_over(&path, &invalid(&api, generation, swap / 2));
            (&reload.reloads_failed, before)
        };
        while counter.load(Ordering::SeqCst) == before {
            assert!(
                written.elapsed() < DEADLINE,
                "swap {swap} was not picked up within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(written.elapsed());
        // Let the clients run on each version for a while.
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    // Keep calling a little after the last swap.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let elapsed = started.elapsed();

    let mut calls = 0;
    let mut failures = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let tally = client.await.unwrap();
        println!(
            "client {i}: {} calls, saw {} version changes",
            tally.calls, tally.generations_seen
        );
        assert!(tally.calls > 0, "client {i} made no call");
        calls += tally.calls;
        failures.extend(tally.failures);
    }
    let reloads_ok = reload.reloads_ok.load(Ordering::SeqCst);
    let reloads_failed = reload.reloads_failed.load(Ordering::SeqCst);
    latencies.sort();
    println!(
        "calls={calls} reloads={} (applied {reloads_ok}, refused {reloads_failed}) in {elapsed:?}; \
         pickup latency min {:?} median {:?} max {:?}",
        reloads_ok + reloads_failed,
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .filter(|f| !f.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(reloads_ok, SWAPS / 2);
    assert_eq!(reloads_failed, SWAPS / 2);
    // The last version written was invalid: the last valid one serves, with its error shown.
    let health = health(&gateway.url).await;
    assert_eq!(health["last_reload"]["ok"], json!(false), "{health}");
    let last = call_with(&client(), &gateway.url, "ping").await.unwrap();
    assert_eq!(
        answered_uri(&last),
        Some(format!("/gen/{generation}/ping").as_str())
    );
}

#[tokio::test]
async fn a_call_in_flight_finishes_on_the_config_it_started_with() {
    let upstream = start_upstream().await;
    let api = upstream.url();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let config = |timeout: &str| {
        format!(
            "upstreams:\n  api: {{ base_url: \"{api}\", timeout: {timeout} }}\ntools:\n  - name: slow\n    description: Slow.\n    request: {{ upstream: api, path: \"/slow/1500\" }}\n"
        )
    };
    std::fs::write(&path, config("10s")).unwrap();
    let gateway = serve_file(&path).await;
    let url = gateway.url.clone();
    let in_flight = tokio::spawn(async move { call(&url, "slow").await });
    eventually("the slow call reaches the upstream", || async {
        (!upstream.requests().is_empty()).then_some(())
    })
    .await;

    // The new config gives the upstream 100 ms: too little for the slow answer.
    let before = health(&gateway.url).await["config_version"].clone();
    rename_over(&path, &config("100ms"));
    eventually("the new config serves", || async {
        (health(&gateway.url).await["config_version"] != before).then_some(())
    })
    .await;
    assert!(!in_flight.is_finished(), "the slow call is still in flight");
    let timed_out = call(&gateway.url, "slow").await;
    assert_eq!(
        timed_out["result"]["structuredContent"]["error"]["code"],
        json!("upstream_timeout"),
        "a new call uses the new timeout: {timed_out}"
    );

    let finished = in_flight.await.unwrap();
    assert_eq!(finished["result"]["isError"], json!(false), "{finished}");
    assert_eq!(
        finished["result"]["structuredContent"],
        json!({ "slow": 1500 })
    );
}
