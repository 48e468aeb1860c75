//! A drawn buffer as plain text (`--once`): the symbols row by row, no styles, no escape
//! codes, trailing blanks trimmed.

use ratatui::buffer::Buffer;

pub fn text(buf: &Buffer) -> String {
    let width = usize::from(buf.area.width);
    let mut out = String::new();
    for row in buf.content.chunks(width.max(1)) {
        let line: String = row.iter().map(|cell| cell.symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // Blank rows at the bottom (a section shorter than its area) say nothing.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
