//! The log lines, byte for byte as tracing-subscriber's `Full` (text) and `Json` formats write
//! them, but written straight into the line buffer: toolgate's own events (one per tool call)
//! skip `core::fmt` for the timestamp, the level, the target and every string, integer and
//! duration field. Anything the fast path does not cover exactly (ANSI colours, an event inside
//! a span, events of other crates, timestamps before 1970 or after 9999) is written by the
//! stock format itself.

use crate::shape::escape_json_str;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::VisitOutput;
use tracing_subscriber::fmt::format::{DefaultVisitor, Format, Full, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// An event format: tracing-subscriber's own (`F`), with a fast path for toolgate's events.
#[derive(Debug)]
pub struct LogFormat<F> {
    stock: F,
    style: Style,
    now: fn() -> SystemTime,
}

/// Which of the stock formats a [`LogFormat`] reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Text,
    Json,
}

impl LogFormat<Format<Full>> {
    /// The default human-readable lines (`Format<Full>` with the system clock).
    pub fn text() -> Self {
        Self {
            stock: Format::default(),
            style: Style::Text,
            now: SystemTime::now,
        }
    }
}

impl LogFormat<Format<Json>> {
    /// One JSON object per line (`Format<Json>` with the system clock).
    pub fn json() -> Self {
        Self {
            stock: Format::default().json(),
            style: Style::Json,
            now: SystemTime::now,
        }
    }
}

impl<S, N, F> FormatEvent<S, N> for LogFormat<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let plain = !writer.has_ansi_escapes()
            && meta.target().starts_with("toolgate")
            && event.parent().is_none()
            && ctx.lookup_current().is_none();
        let stamp = plain.then(|| Timestamp::new((self.now)())).flatten();
        let Some(stamp) = stamp else {
            return self.stock.format_event(ctx, writer, event);
        };
        match self.style {
            Style::Text => write_text(&mut writer, &stamp, event),
            Style::Json => write_json(&mut writer, &stamp, event),
        }
    }
}

/// `2026-12-04T21:15:00.123456Z ` ` INFO toolgate::gateway: tool call request_id=… elapsed_ms=0.048`
fn write_text(writer: &mut Writer<'_>, stamp: &Timestamp, event: &Event<'_>) -> fmt::Result {
    let meta = event.metadata();
    writer.write_str(stamp.as_str())?;
    writer.write_char(' ')?;
    writer.write_str(padded_level(meta.level()))?;
    writer.write_char(' ')?;
    writer.write_str(meta.target())?;
    writer.write_str(": ")?;
    let sanitize = writer.sanitizes_ansi_escapes();
    let mut visitor = TextFields {
        writer: writer.by_ref(),
        sanitize,
        empty: true,
        result: Ok(()),
    };
    event.record(&mut visitor);
    visitor.result?;
    writer.write_char('\n')
}

/// `{"timestamp":"…","level":"INFO","fields":{"message":"tool call",…},"target":"toolgate::gateway"}`
fn write_json(writer: &mut Writer<'_>, stamp: &Timestamp, event: &Event<'_>) -> fmt::Result {
    let meta = event.metadata();
    writer.write_str("{\"timestamp\":\"")?;
    writer.write_str(stamp.as_str())?;
    writer.write_str("\",\"level\":\"")?;
    writer.write_str(meta.level().as_str())?;
    writer.write_str("\",\"fields\":{")?;
    let mut visitor = JsonFields {
        writer: writer.by_ref(),
        empty: true,
        scratch: String::new(),
        result: Ok(()),
    };
    event.record(&mut visitor);
    visitor.result?;
    writer.write_str("},\"target\":")?;
    write_json_str(writer, meta.target())?;
    writer.write_str("}\n")
}

/// The level as the text format pads it: `" INFO"`, `" WARN"`, `"ERROR"`, …
fn padded_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// The fields as `DefaultFields` writes them: `message`, then `name=value` (values in their
/// `Debug` form), separated by spaces.
struct TextFields<'a> {
    writer: Writer<'a>,
    sanitize: bool,
    empty: bool,
    result: fmt::Result,
}

impl TextFields<'_> {
    /// Starts a field: `false` (skip it) after an error or for `log.*` metadata fields.
    fn start(&mut self, name: &str) -> bool {
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        if !self.empty {
            self.result = self.writer.write_char(' ');
        }
        self.empty = false;
        self.result.is_ok()
    }

    /// Starts a `name=value` field (`r#name` shows as `name`).
    fn start_named(&mut self, field: &Field) -> bool {
        let name = field.name();
        if !self.start(name) {
            return false;
        }
        let shown = name.strip_prefix("r#").unwrap_or(name);
        self.result = self
            .writer
            .write_str(shown)
            .and_then(|()| self.writer.write_char('='));
        self.result.is_ok()
    }

    fn write_message(&mut self, message: &dyn fmt::Debug) {
        self.result = if self.sanitize {
            write!(Sanitizing(&mut self.writer), "{message:?}")
        } else {
            write!(self.writer, "{message:?}")
        };
    }
}

impl Visit for TextFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.start("message") {
                self.result = if self.sanitize {
                    Sanitizing(&mut self.writer).write_str(value)
                } else {
                    self.writer.write_str(value)
                };
            }
        } else if self.start_named(field) {
            self.result = write_debug_str(&mut self.writer, value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        match Thousandths::of(value) {
            Some(exact) if self.start_named(field) => {
                self.result = exact.write(&mut self.writer);
            }
            Some(_) => {}
            None => self.record_debug(field, &value),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start_named(field) {
            self.result = write_integer(&mut self.writer, value < 0, value.unsigned_abs());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start_named(field) {
            self.result = write_integer(&mut self.writer, false, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start_named(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Rare and intricate (the source chain, styled): the stock visitor writes it.
        if self.result.is_err() {
            return;
        }
        let mut stock = DefaultVisitor::new(self.writer.by_ref(), self.empty);
        stock.record_error(field, value);
        self.result = stock.finish();
        self.empty = false;
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            if self.start("message") {
                self.write_message(value);
            }
        } else if self.start_named(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

/// A string as `{:?}` writes it: quoted, escaped. Printable ASCII is written here; anything
/// else goes through `Debug` (its escaping of Unicode is intricate).
fn write_debug_str(writer: &mut Writer<'_>, value: &str) -> fmt::Result {
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return write!(writer, "{value:?}");
    }
    writer.write_char('"')?;
    let mut start = 0;
    for (at, byte) in value.bytes().enumerate() {
        if byte == b'"' || byte == b'\\' {
            writer.write_str(&value[start..at])?;
            writer.write_char('\\')?;
            start = at;
        }
    }
    writer.write_str(&value[start..])?;
    writer.write_char('"')
}

/// Writes what it is given with the terminal control characters escaped, as
/// tracing-subscriber does for messages (ESC, BEL, BS, FF, DEL and the C1 controls).
struct Sanitizing<'w, 'a>(&'w mut Writer<'a>);

impl Write for Sanitizing<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let clean = |b: &u8| !matches!(*b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2);
        if text.as_bytes().iter().all(clean) {
            return self.0.write_str(text);
        }
        for ch in text.chars() {
            match ch {
                '\x1b' => self.0.write_str("\\x1b")?,
                '\x07' => self.0.write_str("\\x07")?,
                '\x08' => self.0.write_str("\\x08")?,
                '\x0c' => self.0.write_str("\\x0c")?,
                '\x7f' => self.0.write_str("\\x7f")?,
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", ch as u32)?,
                _ => self.0.write_char(ch)?,
            }
        }
        Ok(())
    }
}

/// The fields as tracing-serde writes them into `"fields"`: strings and `Debug` values as
/// JSON strings, numbers and booleans as themselves.
struct JsonFields<'a> {
    writer: Writer<'a>,
    empty: bool,
    /// Holds a `Debug` value's text before it is escaped.
    scratch: String,
    result: fmt::Result,
}

impl JsonFields<'_> {
    /// Writes `"name":` (with the comma before it when needed); `false` after an error.
    fn key(&mut self, field: &Field) -> bool {
        if self.result.is_err() {
            return false;
        }
        if !self.empty {
            self.result = self.writer.write_char(',');
        }
        self.empty = false;
        self.result = self
            .result
            .and_then(|()| write_json_str(&mut self.writer, field.name()))
            .and_then(|()| self.writer.write_char(':'));
        self.result.is_ok()
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            self.result = write_json_str(&mut self.writer, value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if !self.key(field) {
            return;
        }
        self.result = match Thousandths::of(value) {
            Some(exact) => exact.write(&mut self.writer),
            None => match serde_json::to_string(&value) {
                Ok(text) => self.writer.write_str(&text),
                Err(_) => Err(fmt::Error),
            },
        };
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            self.result = write_integer(&mut self.writer, value < 0, value.unsigned_abs());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            self.result = write_integer(&mut self.writer, false, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.key(field) {
            return;
        }
        self.scratch.clear();
        self.result = write!(self.scratch, "{value:?}")
            .and_then(|()| write_json_str(&mut self.writer, &self.scratch));
    }
}

/// `text` as a quoted JSON string, escaped exactly as serde_json does.
fn write_json_str(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    let mut result = Ok(());
    escape_json_str(text, |piece| {
        if result.is_ok() {
            result = writer.write_str(piece);
        }
    });
    result?;
    writer.write_char('"')
}

/// An integer in decimal, as both `Debug` and serde_json write it.
fn write_integer(writer: &mut Writer<'_>, negative: bool, magnitude: u64) -> fmt::Result {
    let mut digits = [0u8; 21];
    let mut at = digits.len();
    let mut rest = magnitude;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        digits[at] = b'-';
    }
    writer.write_str(std::str::from_utf8(&digits[at..]).map_err(|_| fmt::Error)?)
}

/// A non-negative float that is a whole number of thousandths below 10^12 (a duration in
/// milliseconds to the microsecond). Its shortest round-trip form is then that decimal (it has
/// at most 15 significant digits), which is what both `{:?}` and serde_json write: `0.048`,
/// `12.5`, `3.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Thousandths {
    whole: u64,
    fraction: u32,
}

impl Thousandths {
    fn of(value: f64) -> Option<Self> {
        if !(0.0..1e12).contains(&value) || value.is_sign_negative() {
            return None;
        }
        let scaled = (value * 1000.0).round();
        if scaled / 1000.0 != value {
            return None;
        }
        let scaled = scaled as u64;
        Some(Self {
            whole: scaled / 1000,
            fraction: (scaled % 1000) as u32,
        })
    }

    fn write(self, writer: &mut Writer<'_>) -> fmt::Result {
        write_integer(writer, false, self.whole)?;
        let digits = [
            b'.',
            b'0' + (self.fraction / 100) as u8,
            b'0' + (self.fraction / 10 % 10) as u8,
            b'0' + (self.fraction % 10) as u8,
        ];
        // At least one decimal, no trailing zeros beyond it.
        let mut len = digits.len();
        while len > 2 && digits[len - 1] == b'0' {
            len -= 1;
        }
        writer.write_str(std::str::from_utf8(&digits[..len]).map_err(|_| fmt::Error)?)
    }
}

/// A UTC time as tracing-subscriber's `SystemTime` timer writes it:
/// `2026-12-04T21:15:00.123456Z`.
struct Timestamp([u8; 27]);

impl Timestamp {
    /// `None` before 1970 or after 9999 (the stock timer writes those).
    fn new(time: SystemTime) -> Option<Self> {
        let since = time.duration_since(UNIX_EPOCH).ok()?;
        let secs = since.as_secs();
        let (year, month, day) = civil_date(secs / 86_400);
        if year > 9999 {
            return None;
        }
        let of_day = secs % 86_400;
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        put_digits(&mut text[0..4], year);
        put_digits(&mut text[5..7], month);
        put_digits(&mut text[8..10], day);
        put_digits(&mut text[11..13], of_day / 3600);
        put_digits(&mut text[14..16], of_day / 60 % 60);
        put_digits(&mut text[17..19], of_day % 60);
        put_digits(&mut text[20..26], u64::from(since.subsec_micros()));
        Some(Self(text))
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Writes `value` in decimal into `out`, zero-padded to its length.
fn put_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian `(year, month, day)` of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
