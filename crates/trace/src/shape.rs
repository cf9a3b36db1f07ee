//! What a ladder claims, read back from its text: the order of the
//! handshake, the data, the half-close and the FINs. A committed ladder and
//! a fresh run have the same shape, or the picture has drifted from the
//! code.
//!
//! Pure ACKs are left out (when the kernel sends one depends on timing),
//! and the data segments one side sends with nothing else in between count
//! as one (how bytes are cut into segments depends on timing too).

use crate::text::{GUTTER, MARGIN, TIME_WIDTH};

/// What an arrow carries, for the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A SYN, opening.
    Syn,
    /// A SYN,ACK, agreeing.
    SynAck,
    /// Application bytes: TCP payload or a UDP datagram.
    Data,
    /// A FIN: the sender is done sending.
    Fin,
    /// A RST.
    Rst,
    /// An ICMP unreachable.
    Unreachable,
}

/// One step of the shape: `from` lane sent `step` to `to` lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The sender's lane, counted from the left from 0.
    pub from: usize,
    /// The receiver's lane.
    pub to: usize,
    /// What it carried.
    pub step: Step,
}

/// The moves of a ladder in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// How many lanes.
    pub lanes: usize,
    /// Every move, in the ladder's order.
    pub moves: Vec<Move>,
}

impl Shape {
    /// Reads the shape of a ladder drawn by [`crate::Ladder::text`].
    pub fn parse(text: &str) -> Result<Shape, String> {
        // The lanes start after the time column, which is at least
        // TIME_WIDTH wide (wider for a capture over 100 s).
        let canvas_at = TIME_WIDTH + GUTTER.len();
        let mut lines = text.lines();
        lines.next().ok_or("an empty ladder")?;
        let lane_line = lines.next().ok_or("no lane line under the titles")?;
        let columns: Vec<usize> = lane_line
            .char_indices()
            .filter(|&(_, c)| c == '|')
            .map(|(i, _)| i)
            .collect();
        if columns.len() < 2 || columns[0] < canvas_at {
            return Err(format!(
                "the second line does not mark the lanes: {lane_line:?}"
            ));
        }
        let mut moves: Vec<Move> = Vec::new();
        for line in lines {
            let chars: Vec<char> = line.chars().collect();
            let Some((from, to, label)) = arrow(&chars, &columns) else {
                continue;
            };
            for step in steps(&label) {
                let m = Move { from, to, step };
                // Data sent on with nothing else between is one step.
                if step == Step::Data && moves.last() == Some(&m) {
                    continue;
                }
                moves.push(m);
            }
        }
        Ok(Shape {
            lanes: columns.len(),
            moves,
        })
    }

    /// The moves from one lane to another, in order.
    pub fn between(&self, from: usize, to: usize) -> Vec<Step> {
        self.moves
            .iter()
            .filter(|m| m.from == from && m.to == to)
            .map(|m| m.step)
            .collect()
    }

    /// Every (from, to) pair with a move, in first-seen order.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for m in &self.moves {
            if !pairs.contains(&(m.from, m.to)) {
                pairs.push((m.from, m.to));
            }
        }
        pairs
    }

    /// Whether `chain` happens in this order (other moves may come between).
    pub fn has_in_order(&self, chain: &[Move]) -> bool {
        let mut next = chain.iter().peekable();
        for m in &self.moves {
            if next.peek() == Some(&m) {
                next.next();
            }
        }
        next.peek().is_none()
    }

    /// How two shapes differ, direction by direction; `None` when they do
    /// not. The order between directions is left to [`Shape::has_in_order`]:
    /// which side's packet goes first when both send at once is timing.
    pub fn differences(&self, other: &Shape) -> Option<String> {
        if self.lanes != other.lanes {
            return Some(format!("{} lanes, then {}", self.lanes, other.lanes));
        }
        let mut pairs = self.pairs();
        for pair in other.pairs() {
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
        let diffs: Vec<String> = pairs
            .into_iter()
            .filter(|&(from, to)| self.between(from, to) != other.between(from, to))
            .map(|(from, to)| {
                format!(
                    "lane {from} -> lane {to}: {:?}, then {:?}",
                    self.between(from, to),
                    other.between(from, to)
                )
            })
            .collect();
        (!diffs.is_empty()).then(|| diffs.join("; "))
    }
}

/// The arrow on a line: its sender's and receiver's lanes and its label.
///
/// An arrow's head sits [`MARGIN`] spaces from its receiver's `|`, and its
/// label starts (or ends) as far from its sender's; a preview may hold
/// `->` or `|`, but not in those places.
fn arrow(chars: &[char], columns: &[usize]) -> Option<(usize, usize, String)> {
    let lane_at = |col: usize| columns.iter().position(|&c| c == col);
    let is = |i: usize, want: char| chars.get(i) == Some(&want);
    let spaces = |from: usize, to: usize| (from..to).all(|i| is(i, ' '));
    let text = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
    // Rightward: `LABEL ---->  |`.
    for (i, &c) in chars.iter().enumerate() {
        if c == '>'
            && i > 0
            && is(i - 1, '-')
            && spaces(i + 1, i + 1 + MARGIN)
            && is(i + 1 + MARGIN, '|')
        {
            let to = lane_at(i + 1 + MARGIN)?;
            let from = (0..to).find(|&lane| {
                let col = columns[lane];
                spaces(col + 1, col + 1 + MARGIN) && !is(col + 1 + MARGIN, ' ')
            })?;
            let label = text(columns[from] + 1 + MARGIN, i);
            return Some((from, to, label.trim_end_matches('-').trim().to_string()));
        }
    }
    // Leftward: `|  <---- LABEL`.
    for (i, &c) in chars.iter().enumerate() {
        if c == '<'
            && is(i + 1, '-')
            && i > MARGIN
            && spaces(i - MARGIN, i)
            && is(i - 1 - MARGIN, '|')
        {
            let to = lane_at(i - 1 - MARGIN)?;
            let from = (to + 1..columns.len()).rev().find(|&lane| {
                let col = columns[lane];
                col > MARGIN && spaces(col - MARGIN, col) && !is(col - 1 - MARGIN, ' ')
            })?;
            let label = text(i + 1, columns[from] - MARGIN);
            return Some((from, to, label.trim_start_matches('-').trim().to_string()));
        }
    }
    None
}

/// The steps a label says: `SYN,ACK`, `FIN,PSH,ACK  5 bytes` (data then
/// FIN), `UDP  18 bytes`, `ICMP port unreachable`.
fn steps(label: &str) -> Vec<Step> {
    let mut words = label.split_whitespace();
    let mut flags = words.next().unwrap_or("");
    if flags.starts_with("[:") {
        flags = words.next().unwrap_or("");
    }
    let has = |name: &str| flags.split(',').any(|f| f == name);
    let data = label.contains(" byte");
    let mut steps = Vec::new();
    match flags {
        "UDP" => steps.push(Step::Data),
        "ICMP" => steps.push(Step::Unreachable),
        _ if has("SYN") && has("ACK") => steps.push(Step::SynAck),
        _ if has("SYN") => steps.push(Step::Syn),
        _ => {
            if data {
                steps.push(Step::Data);
            }
            if has("FIN") {
                steps.push(Step::Fin);
            }
            if has("RST") {
                steps.push(Step::Rst);
            }
        }
    }
    steps
}
