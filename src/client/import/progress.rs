//! Progress on standard error: a bar redrawn in place on a terminal, plain periodic lines
//! elsewhere (logs, pipes: no carriage returns, no escape sequences), or nothing.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const BAR_REDRAW: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 24;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    /// A bar redrawn in place (standard error is a terminal).
    Bar,
    /// A plain line every interval.
    Lines {
        every: Duration,
    },
    Quiet,
}

impl ProgressStyle {
    /// The bar when standard error is a terminal, else lines every `every`; nothing when `quiet`.
    pub fn for_stderr(quiet: bool, every: Duration) -> ProgressStyle {
        if quiet {
            ProgressStyle::Quiet
        } else if std::io::stderr().is_terminal() {
            ProgressStyle::Bar
        } else {
            ProgressStyle::Lines { every }
        }
    }
}

/// How far the reader is over all inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPosition {
    /// Rows read, refused ones included.
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Shows progress and the messages that must interleave with it.
pub struct Progress<W: Write> {
    style: ProgressStyle,
    out: W,
    started: Instant,
    last_shown: Option<Instant>,
    /// The total size of the inputs, when every one is a file.
    total_bytes: Option<u64>,
    bar_visible: bool,
}

impl<W: Write> Progress<W> {
    pub fn new(style: ProgressStyle, total_bytes: Option<u64>, out: W) -> Progress<W> {
        Progress {
            style,
            out,
            started: Instant::now(),
            last_shown: None,
            total_bytes: total_bytes.filter(|&total| total > 0),
            bar_visible: false,
        }
    }

    /// Shows `position` if the last update is old enough.
    pub fn update(&mut self, position: ReadPosition) {
        let every = match self.style {
            ProgressStyle::Quiet => return,
            ProgressStyle::Bar => BAR_REDRAW,
            ProgressStyle::Lines { every } => every,
        };
        let now = Instant::now();
        let due = match self.last_shown {
            None => now.duration_since(self.started) >= every,
            Some(last) => now.duration_since(last) >= every,
        };
        if !due {
            return;
        }
        self.last_shown = Some(now);
        let elapsed = now.duration_since(self.started);
        // Progress is best effort: a closed standard error must not fail the import.
        let _ = match self.style {
            ProgressStyle::Bar => {
                self.bar_visible = true;
                write!(
                    self.out,
                    "\r{}\x1b[K",
                    bar_text(position, self.total_bytes, elapsed)
                )
            }
            _ => writeln!(
                self.out,
                "{}",
                line_text(position, self.total_bytes, elapsed)
            ),
        };
        let _ = self.out.flush();
    }

    /// Prints a message on its own line (above the bar, which is redrawn at the next update).
    pub fn note(&mut self, message: &str) {
        self.clear_bar();
        let _ = writeln!(self.out, "{message}");
    }

    /// Removes the bar; plain lines stay.
    pub fn finish(&mut self) {
        self.clear_bar();
        let _ = self.out.flush();
    }

    fn clear_bar(&mut self) {
        if self.bar_visible {
            let _ = write!(self.out, "\r\x1b[K");
            self.bar_visible = false;
        }
    }
}

fn rate(rows: u64, elapsed: Duration) -> f64 {
    rows as f64 / elapsed.as_secs_f64().max(1e-3)
}

/// The fraction done and the time left, when the total is known and some bytes are read.
fn fraction_and_eta(
    position: ReadPosition,
    total_bytes: Option<u64>,
    elapsed: Duration,
) -> Option<(f64, Duration)> {
    let total = total_bytes?;
    if position.bytes == 0 {
        return None;
    }
    let fraction = (position.bytes as f64 / total as f64).min(1.0);
    let left = elapsed.as_secs_f64() * (1.0 - fraction) / fraction;
    Some((fraction, Duration::from_secs_f64(left)))
}

fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// One line for logs: `progress: 5000 rows, 2500 rows/s, 40%, eta 0:03`.
fn line_text(position: ReadPosition, total_bytes: Option<u64>, elapsed: Duration) -> String {
    let mut text = format!(
        "progress: {} rows, {:.0} rows/s",
        position.rows,
        rate(position.rows, elapsed)
    );
    if let Some((fraction, eta)) = fraction_and_eta(position, total_bytes, elapsed) {
        text.push_str(&format!(", {:.0}%, eta {}", fraction * 100.0, clock(eta)));
    }
    text
}

/// The bar's text: `[##########..............]  40%  5000 rows  2500 rows/s  eta 0:03`.
fn bar_text(position: ReadPosition, total_bytes: Option<u64>, elapsed: Duration) -> String {
    let counts = format!(
        "{} rows  {:.0} rows/s",
        position.rows,
        rate(position.rows, elapsed)
    );
    match fraction_and_eta(position, total_bytes, elapsed) {
        Some((fraction, eta)) => {
            let filled = (fraction * BAR_WIDTH as f64).round() as usize;
            format!(
                "[{}{}] {:>3.0}%  {counts}  eta {}",
                "#".repeat(filled),
                ".".repeat(BAR_WIDTH - filled),
                fraction * 100.0,
                clock(eta)
            )
        }
        None => counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: ReadPosition = ReadPosition {
        rows: 5000,
        bytes: 500,
    };

    #[test]
    fn texts_show_rate_share_and_time_left() {
        let two_seconds = Duration::from_secs(2);
        assert_eq!(
            line_text(HALF, Some(1000), two_seconds),
            "progress: 5000 rows, 2500 rows/s, 50%, eta 0:02"
        );
        assert_eq!(
            line_text(HALF, None, two_seconds),
            "progress: 5000 rows, 2500 rows/s"
        );
        assert_eq!(
            bar_text(HALF, Some(1000), two_seconds),
            "[############............]  50%  5000 rows  2500 rows/s  eta 0:02"
        );
    }

    #[test]
    fn lines_have_no_control_characters_and_the_bar_is_cleared() {
        let mut lines = Progress::new(
            ProgressStyle::Lines {
                every: Duration::ZERO,
            },
            Some(1000),
            Vec::new(),
        );
        lines.update(HALF);
        lines.note("line 3: text: missing text");
        lines.update(HALF);
        lines.finish();
        let text = String::from_utf8(lines.out).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );

        let mut bar = Progress::new(ProgressStyle::Bar, None, Vec::new());
        bar.started -= BAR_REDRAW;
        bar.update(HALF);
        bar.note("a note");
        bar.finish();
        let text = String::from_utf8(bar.out).unwrap();
        assert!(text.starts_with("\r5000 rows"), "{text:?}");
        assert!(text.ends_with("\r\x1b[Ka note\n"), "{text:?}");

        let mut quiet = Progress::new(ProgressStyle::Quiet, None, Vec::new());
        quiet.update(HALF);
        quiet.finish();
        assert!(quiet.out.is_empty());
    }
}
