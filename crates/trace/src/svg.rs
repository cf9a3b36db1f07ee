//! The ladder as an SVG picture for the book: the same lanes, rows and
//! words as the text, drawn with lines and arrowheads.

use std::fmt::Write as _;

use crate::ladder::Ladder;

const ROW: usize = 26;
const TOP: usize = 64;
const TIME_X: usize = 70;
const FIRST_LANE: usize = 160;
const FONT: &str =
    "font-family=\"ui-monospace, SFMono-Regular, Menlo, monospace\" font-size=\"12\"";

impl Ladder {
    /// The ladder as a standalone SVG document.
    pub fn svg(&self) -> String {
        let longest = self
            .rows
            .iter()
            .filter_map(|row| row.arrow.as_ref())
            .map(|arrow| arrow.text(usize::MAX).chars().count())
            .max()
            .unwrap_or(0);
        // About 7 px a character at 12 px monospace, plus room for the head.
        let gap = (longest * 7 + 60).clamp(240, 460);
        let lane_x = |i: usize| FIRST_LANE + i * gap;
        let last = lane_x(self.lanes.len().saturating_sub(1));
        let comments = self
            .rows
            .iter()
            .map(|row| row.comment.chars().count())
            .max()
            .unwrap_or(0);
        let width = last + 30 + comments * 7 + 20;
        let height = TOP + (self.rows.len() + 1) * ROW;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" {FONT}>"
        );
        svg.push_str(
            "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
             <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#333\"/></marker></defs>\n",
        );
        let _ = writeln!(
            svg,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\
             <text x=\"{TIME_X}\" y=\"20\" text-anchor=\"end\" fill=\"#666\">ms</text>"
        );
        for (i, lane) in self.lanes.iter().enumerate() {
            let x = lane_x(i);
            let title = lane.title();
            let addr = title.strip_prefix(&lane.name).unwrap_or("").trim();
            let _ = writeln!(
                svg,
                "<text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
                 <text x=\"{x}\" y=\"36\" text-anchor=\"middle\" fill=\"#666\">{}</text>\
                 <line x1=\"{x}\" y1=\"44\" x2=\"{x}\" y2=\"{}\" stroke=\"#999\"/>",
                escape(&lane.name),
                escape(addr),
                height - ROW / 2
            );
        }
        for (n, row) in self.rows.iter().enumerate() {
            let y = TOP + n * ROW;
            let ms = row.at.as_secs_f64() * 1000.0;
            let _ = writeln!(
                svg,
                "<text x=\"{TIME_X}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">{ms:.3}</text>",
                y + 4
            );
            if let Some(arrow) = &row.arrow {
                let (x1, x2) = (lane_x(arrow.from), lane_x(arrow.to));
                let colour = if arrow.label.contains("RST") || arrow.label.starts_with("ICMP") {
                    "#b00"
                } else {
                    "#333"
                };
                let _ = writeln!(
                    svg,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" \
                     marker-end=\"url(#head)\"/>\
                     <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\">{}</text>",
                    (x1 + x2) / 2,
                    y - 5,
                    escape(&arrow.text(gap / 7))
                );
            }
            if !row.comment.is_empty() {
                let style = if row.arrow.is_some() {
                    "fill=\"#555\""
                } else {
                    "fill=\"#06c\" font-style=\"italic\""
                };
                let _ = writeln!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" {style}>{}</text>",
                    last + 30,
                    y + 4,
                    escape(&row.comment)
                );
            }
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
