use super::*;
use proptest::prelude::*;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::time::FormatTime;

/// 2026-12-04T21:15:00.048213Z
fn pinned() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_796_418_900, 48_213_999)
}

/// The stock formats' timer, showing the pinned time as [`Timestamp`] writes it (checked
/// against an independent calendar in `timestamps_match_http_dates`).
struct PinnedTimer;

impl FormatTime for PinnedTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        w.write_str(Timestamp::new(pinned()).unwrap().as_str())
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("outer failure")]
struct Outer(#[source] io::Error);

/// Events of every shape the fast path meets, and some it hands to the stock format.
fn emit_events() {
    let request_id = "4f2a9c0e1b7d4e3fa2c1d0e9f8a7b6c5".to_owned();
    let (tool, caller) = ("get_customer".to_owned(), "anonymous".to_owned());
    tracing::info!(request_id = %request_id, tool = %tool, caller = %caller, outcome = "ok", elapsed_ms = 0.048, "tool call");
    for elapsed in [
        0.0,
        0.001,
        1.0,
        12.5,
        999.999,
        123_456_789.012,
        1e11 + 0.5,
        1e12,
        1e20,
        1e-7,
        -0.0,
        -3.5,
        0.1 + 0.2,
        f64::NAN,
        f64::INFINITY,
        f64::MIN_POSITIVE,
    ] {
        tracing::info!(request_id = %request_id, outcome = "cancelled", elapsed_ms = elapsed, "tool call");
    }
    tracing::info!(
        outcome = "quote \" backslash \\ tab \t nl \n é \u{7f} \u{1b}[31m \u{301}",
        plain = "printable ~ ASCII",
        "odd strings"
    );
    tracing::warn!("a message with args {} and \u{1b}[2J \u{85} \u{7} é", 42);
    tracing::info!(message = "the message as a str \u{8}\u{c} \u{9f}", n = 1);
    tracing::error!(
        n = -5i64,
        min = i64::MIN,
        u = u64::MAX,
        zero = 0u64,
        b = true,
        f = false,
        big = 170_141_183_460_469_231_731_687_303_715_884_105_727i128,
        r#type = "keyword",
        "numbers"
    );
    tracing::info!(dbg = ?vec![1, 2], disp = %"display \"quoted\"", text = ?"debug str", "debug values");
    let error = Outer(io::Error::other("inner cause"));
    tracing::warn!(
        error = &error as &dyn std::error::Error,
        "an error with a source"
    );
    let plain = io::Error::other("no source");
    tracing::warn!(error = &plain as &dyn std::error::Error, "an error");
    tracing::info!(name = "no message");
    tracing::info!(
        a_field_name_much_longer_than_sixty_four_bytes_so_that_it_is_written_in_pieces = 1.5,
        short = 2,
        "long field names"
    );
    tracing::info!("");
    tracing::info!(target: "other_crate", x = 1, "not toolgate's");
    let span = tracing::info_span!("outer", k = 1);
    span.in_scope(|| tracing::info!(x = 1, "inside a span"));
    tracing::info!(parent: &span, x = 2, "explicit parent");
    tracing::info!(parent: None, x = 3, "explicit root");
}

fn stock_text() -> String {
    let out = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .with_timer(PinnedTimer)
        .finish();
    tracing::subscriber::with_default(subscriber, emit_events);
    out.text()
}

fn lean_text() -> String {
    let out = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .event_format(LogFormat {
            stock: Format::default().with_timer(PinnedTimer),
            style: Style::Text,
            now: pinned,
        })
        .finish();
    tracing::subscriber::with_default(subscriber, emit_events);
    out.text()
}

fn stock_json() -> String {
    let out = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .with_timer(PinnedTimer)
        .json()
        .finish();
    tracing::subscriber::with_default(subscriber, emit_events);
    out.text()
}

fn lean_json() -> String {
    let out = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .json()
        .event_format(LogFormat {
            stock: Format::default().json().with_timer(PinnedTimer),
            style: Style::Json,
            now: pinned,
        })
        .finish();
    tracing::subscriber::with_default(subscriber, emit_events);
    out.text()
}

fn assert_same_lines(stock: &str, lean: &str) {
    assert!(stock.lines().count() > 20, "{stock}");
    for (stock, lean) in stock.lines().zip(lean.lines()) {
        assert_eq!(stock, lean);
    }
    assert_eq!(stock, lean);
}

#[test]
fn text_lines_are_the_stock_format_byte_for_byte() {
    let stock = stock_text();
    assert!(stock.contains(
        "2026-12-04T21:15:00.048213Z  INFO toolgate::telemetry::log::tests: tool call \
         request_id=4f2a9c0e1b7d4e3fa2c1d0e9f8a7b6c5 tool=get_customer caller=anonymous \
         outcome=\"ok\" elapsed_ms=0.048\n"
    ));
    assert_same_lines(&stock, &lean_text());
}

#[test]
fn json_lines_are_the_stock_format_byte_for_byte() {
    let stock = stock_json();
    assert!(stock.contains(
        r#"{"timestamp":"2026-12-04T21:15:00.048213Z","level":"INFO","fields":{"message":"tool call","request_id":"4f2a9c0e1b7d4e3fa2c1d0e9f8a7b6c5","tool":"get_customer","caller":"anonymous","outcome":"ok","elapsed_ms":0.048},"target":"toolgate::telemetry::log::tests"}"#
    ));
    assert_same_lines(&stock, &lean_json());
}

/// `(year, month, day, hh:mm:ss)` from an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date_parts(time: SystemTime) -> (u64, u64, u64, String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = httpdate::fmt_http_date(time);
    let parts: Vec<&str> = text.split(' ').collect();
    let month = MONTHS.iter().position(|m| *m == parts[2]).unwrap() as u64 + 1;
    (
        parts[3].parse().unwrap(),
        month,
        parts[1].parse().unwrap(),
        parts[4].to_owned(),
    )
}

fn assert_matches_http_date(secs: u64, micros: u32) {
    let time = UNIX_EPOCH + Duration::new(secs, micros * 1000 + 999);
    let ours = Timestamp::new(time).unwrap();
    let (year, month, day, clock) = http_date_parts(time);
    assert_eq!(
        ours.as_str(),
        format!("{year:04}-{month:02}-{day:02}T{clock}.{micros:06}Z"),
        "{secs}"
    );
}

#[test]
fn timestamps_match_http_dates_at_the_edges() {
    for secs in [
        0,
        59,
        86_399,
        86_400,
        951_782_400,   // 2000-02-29
        951_868_800,   // 2000-03-01
        4_107_542_400, // 2100-03-01 (2100 is no leap year)
        1_796_418_900,
        253_402_300_799, // 9999-12-31T23:59:59
    ] {
        assert_matches_http_date(secs, 0);
        assert_matches_http_date(secs, 999_999);
    }
    assert_eq!(
        Timestamp::new(pinned()).unwrap().as_str(),
        "2026-12-04T21:15:00.048213Z"
    );
    assert!(Timestamp::new(UNIX_EPOCH + Duration::from_secs(253_402_300_800)).is_none());
    assert!(Timestamp::new(UNIX_EPOCH - Duration::from_secs(1)).is_none());
}

proptest! {
    #[test]
    fn timestamps_match_http_dates(secs in 0u64..253_402_300_800, micros in 0u32..1_000_000) {
        assert_matches_http_date(secs, micros);
    }

    #[test]
    fn thousandths_write_as_debug_and_serde_json_do(micros in 0u64..1_000_000_000_000_000) {
        let value = micros as f64 / 1000.0;
        let exact = Thousandths::of(value);
        prop_assert!(exact.is_some() || value >= 1e12);
        if let Some(exact) = exact {
            let mut text = String::new();
            exact.write(&mut Writer::new(&mut text)).unwrap();
            prop_assert_eq!(&text, &format!("{value:?}"));
            prop_assert_eq!(&text, &serde_json::to_string(&value).unwrap());
        }
    }

    #[test]
    fn other_floats_are_left_to_the_stock_writers(value in any::<f64>()) {
        if let Some(exact) = Thousandths::of(value) {
            let mut text = String::new();
            exact.write(&mut Writer::new(&mut text)).unwrap();
            prop_assert_eq!(&text, &format!("{value:?}"));
        }
    }
}

/// A timer marking the lines the stock format wrote.
struct StockMark;

impl FormatTime for StockMark {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        w.write_str("STOCK")
    }
}

#[test]
fn the_fast_path_writes_toolgate_events_outside_spans_only() {
    let out = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_ansi(false)
        .event_format(LogFormat {
            stock: Format::default().with_timer(StockMark),
            style: Style::Text,
            now: pinned,
        })
        .finish();
    tracing::subscriber::with_default(subscriber, emit_events);
    let text = out.text();
    let line = |needle: &str| text.lines().find(|l| l.contains(needle)).unwrap();
    for fast in [
        "tool call",
        "odd strings",
        "numbers",
        "an error with a source",
    ] {
        assert!(
            line(fast).starts_with("2026-12-04T21:15:00.048213Z "),
            "{fast}"
        );
    }
    for stock in ["not toolgate's", "inside a span", "explicit parent"] {
        assert!(line(stock).starts_with("STOCK "), "{stock}");
    }
}
