//! The ladder as text: a time column in milliseconds, one column per lane,
//! arrows between them, commentary on the right.
//!
//! ```text
//!        ms   client 127.0.0.1:51234                     server 127.0.0.1:8080
//!             |                                                 |
//!     0.000   |  SYN ---------------------------------------->  |   handshake 1/3: ...
//!     0.031   |  <------------------------------------ SYN,ACK  |   handshake 2/3: ...
//! ```
//!
//! [`crate::shape`] reads this layout back, so the two change together.

use crate::ladder::{Arrow, Ladder};

/// The narrowest time column: `12345.678`, a capture of 100 s; a longer
/// one widens it.
pub const TIME_WIDTH: usize = 9;
/// Between the time column, the lanes and the commentary.
pub const GUTTER: &str = "   ";
/// Spaces between a lane's `|` and an arrow's end.
pub const MARGIN: usize = 2;
/// The narrowest and widest distance between two lanes.
const MIN_GAP: usize = 30;
const MAX_GAP: usize = 64;

impl Ladder {
    /// The ladder drawn in text, one line per row, a header first.
    pub fn text(&self) -> String {
        let gap = self.gap();
        let columns: Vec<usize> = (0..self.lanes.len()).map(|i| i * gap).collect();
        let width = columns.last().map_or(1, |&last| last + 1);
        let last_ms = self
            .rows
            .last()
            .map_or(0.0, |row| row.at.as_secs_f64() * 1000.0);
        let time = format!("{last_ms:.3}").len().max(TIME_WIDTH);
        let mut lines = vec![
            self.titles(&columns, width, time),
            lane_line(&columns, width, time),
        ];
        for row in &self.rows {
            let mut canvas = lanes(&columns, width);
            if let Some(arrow) = &row.arrow {
                draw(&mut canvas, &columns, arrow);
            }
            let canvas: String = canvas.into_iter().collect();
            let ms = row.at.as_secs_f64() * 1000.0;
            let mut line = format!("{ms:>time$.3}{GUTTER}{canvas}");
            if !row.comment.is_empty() {
                line.push_str(GUTTER);
                line.push_str(&row.comment);
            }
            lines.push(line.trim_end().to_string());
        }
        lines.join("\n") + "\n"
    }

    /// The distance between lanes: room for the longest label with its
    /// preview, within bounds (previews are cut to fit).
    fn gap(&self) -> usize {
        // An arrow across two gaps has twice the room for its label.
        let widest = self
            .rows
            .iter()
            .filter_map(|row| row.arrow.as_ref())
            .map(|arrow| {
                let span = arrow.from.abs_diff(arrow.to).max(1);
                (arrow.text(usize::MAX).chars().count() + 2 * MARGIN + 6).div_ceil(span)
            })
            .max()
            .unwrap_or(0);
        widest.clamp(MIN_GAP, MAX_GAP)
    }

    /// `client 127.0.0.1:51234 ... server 127.0.0.1:8080`, each title over
    /// its lane: the first starts at it, the last ends at it, others centre.
    fn titles(&self, columns: &[usize], width: usize, time: usize) -> String {
        let mut line = String::new();
        for (i, lane) in self.lanes.iter().enumerate() {
            let title = lane.title();
            let len = title.chars().count();
            let at = if i == 0 {
                0
            } else if i + 1 == self.lanes.len() {
                (columns[i] + 1)
                    .saturating_sub(len)
                    .max(width.saturating_sub(len))
            } else {
                columns[i].saturating_sub(len / 2)
            };
            let used = line.chars().count();
            let pad = if used == 0 {
                at
            } else {
                at.max(used + 2) - used
            };
            line.push_str(&" ".repeat(pad));
            line.push_str(&title);
        }
        format!("{:>time$}{GUTTER}{line}", "ms")
    }
}

impl Arrow {
    /// The label with its preview cut to fit `room` characters.
    pub fn text(&self, room: usize) -> String {
        if self.preview.is_empty() {
            return self.label.clone();
        }
        let whole = format!("{} {}", self.label, self.preview);
        if whole.chars().count() <= room {
            return whole;
        }
        let keep = room.saturating_sub(self.label.chars().count() + 5);
        if keep < 6 {
            return self.label.clone();
        }
        let cut: String = self.preview.chars().take(keep).collect();
        format!("{} {cut}...", self.label)
    }
}

fn lanes(columns: &[usize], width: usize) -> Vec<char> {
    let mut canvas = vec![' '; width];
    for &c in columns {
        canvas[c] = '|';
    }
    canvas
}

fn lane_line(columns: &[usize], width: usize, time: usize) -> String {
    let canvas: String = lanes(columns, width).into_iter().collect();
    format!("{:time$}{GUTTER}{canvas}", "")
}

/// `|  LABEL -------->  |` or `|  <-------- LABEL  |` between the two
/// lanes, over any lane in between.
fn draw(canvas: &mut [char], columns: &[usize], arrow: &Arrow) {
    let (lo, hi) = (
        columns[arrow.from.min(arrow.to)],
        columns[arrow.from.max(arrow.to)],
    );
    let start = lo + 1 + MARGIN;
    let room = (hi - MARGIN).saturating_sub(start);
    let fits = room.saturating_sub(4);
    let text: String = arrow.text(fits).chars().take(fits).collect();
    let dashes = room.saturating_sub(text.chars().count() + 2).max(2);
    let drawn = if arrow.to > arrow.from {
        format!("{text} {}>", "-".repeat(dashes))
    } else {
        format!("<{} {text}", "-".repeat(dashes))
    };
    for (i, ch) in drawn.chars().enumerate().take(room) {
        canvas[start + i] = ch;
    }
}
