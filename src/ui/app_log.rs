//! The application log pane (tui-logger).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Block;
use tui_logger::TuiLoggerWidget;

pub fn render(frame: &mut Frame, area: Rect) {
    let widget = TuiLoggerWidget::default()
        .block(Block::bordered().title(" flightdeck log "))
        .output_separator(' ')
        .output_target(false)
        .output_file(false)
        .output_line(false);
    frame.render_widget(widget, area);
}
