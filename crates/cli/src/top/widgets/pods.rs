//! The pods in the order the kubelet would evict them for memory, as headroom-core ranks them
//! (the status report's eviction order): working set, request, QoS and priority, and the
//! comparator that placed each pod ahead of the next.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::Theme;
use crate::status::report::{Candidate, StatusReport};
use crate::status::units::human_bytes;

/// From this width the QoS class and the priority get columns of their own, unabbreviated,
/// and the working set over the request is shown.
const WIDE: u16 = 110;

/// Draw the title, the header and the rows from `scroll`; returns the rows there was room for.
pub fn draw(area: Rect, buf: &mut Buffer, report: &StatusReport, scroll: usize, theme: Theme) -> usize {
    let [title_area, table_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let order = &report.eviction_order;
    let page = usize::from(table_area.height.saturating_sub(1));
    let total = order.pods.len();
    let first = scroll.min(total.saturating_sub(page.max(1)));
    let shown = &order.pods[first..total.min(first + page)];
    let title = if total == 0 {
        "pods in eviction order: none".to_string()
    } else {
        format!(
            "pods in eviction order: {}-{} of {total}{}",
            first + 1,
            first + shown.len(),
            if order.requests_known {
                ""
            } else {
                " (no --pods: requests and priorities unknown)"
            },
        )
    };
    Paragraph::new(Line::styled(title, theme.title())).render(title_area, buf);
    if total == 0 {
        let why = if report.pods_cgroup.found {
            "  no pod cgroups under the pods cgroup".to_string()
        } else {
            format!(
                "  no pods cgroup found (looked at {})",
                report.pods_cgroup.searched.join(", ")
            )
        };
        Paragraph::new(Line::styled(why, theme.dim())).render(table_area, buf);
        return page;
    }
    let wide = area.width >= WIDE;
    let rows = shown.iter().map(|c| row(c, report, wide, theme));
    // (header, width) per column; the pod name takes what is left.
    let columns: &[(&str, u16)] = if wide {
        &[
            ("  #", 4),
            ("pod", 0),
            ("QoS", 10),
            ("priority", 10),
            ("working set", 11),
            ("request", 11),
            ("over req.", 11),
            ("placed by", 16),
        ]
    } else {
        &[
            ("  #", 4),
            ("pod", 0),
            ("QoS", 5),
            ("priority", 10),
            ("work.set", 10),
            ("request", 10),
            ("placed by", 16),
        ]
    };
    let widths = columns.iter().map(|(_, w)| match w {
        0 => Constraint::Min(16),
        w => Constraint::Length(*w),
    });
    let table = Table::new(rows, widths).header(Row::new(columns.iter().map(|(h, _)| *h)).style(theme.dim()));
    table.render(table_area, buf);
    page
}

/// `>` marks the pod this sync evicts, `*` a critical pod (ranked, never evicted).
fn row<'a>(c: &'a Candidate, report: &StatusReport, wide: bool, theme: Theme) -> Row<'a> {
    let evicted = report.eviction_order.evicted_uid.as_deref() == Some(c.uid.as_str());
    let marker = if evicted {
        '>'
    } else if c.critical {
        '*'
    } else {
        ' '
    };
    let qos = c.qos.as_deref().unwrap_or("?");
    let bytes = |v: Option<i64>| {
        v.map(|v| human_bytes(i128::from(v)))
            .unwrap_or_else(|| "?".into())
    };
    let mut cells = vec![
        Cell::from(format!("{marker}{:>3}", c.rank)),
        Cell::from(c.display_name()),
        Cell::from(if wide {
            qos.to_string()
        } else {
            short_qos(qos).to_string()
        }),
        Cell::from(c.priority.map(|p| p.to_string()).unwrap_or_else(|| "?".into())),
        Cell::from(
            c.working_set_bytes
                .map(|w| human_bytes(i128::from(w)))
                .unwrap_or_else(|| "no stats".into()),
        ),
        Cell::from(bytes(c.request_bytes)),
    ];
    if wide {
        cells.push(Cell::from(bytes(c.over_request_bytes)));
    }
    cells.push(Cell::from(c.placed_by));
    let style = if evicted {
        theme.met()
    } else if c.critical {
        theme.dim()
    } else {
        Default::default()
    };
    Row::new(cells).style(style)
}

/// The QoS class in five columns (the help overlay spells them out).
pub fn short_qos(qos: &str) -> &str {
    match qos {
        "Guaranteed" => "Guar",
        "Burstable" => "Burst",
        "BestEffort" => "BE",
        other => other,
    }
}
