//! Colours and icons, in one place so every pane agrees.

use ratatui::style::{Color, Modifier, Style};

use crate::runbook::progress::{ReleaseStatus, StepStatus};

pub fn status_icon(s: &StepStatus) -> &'static str {
    match s {
        StepStatus::Pending => "○",
        StepStatus::Running { .. } => "▶",
        StepStatus::Waiting => "⏸",
        StepStatus::Succeeded => "✔",
        StepStatus::Failed { .. } => "✘",
        StepStatus::Skipped { .. } => "↷",
        StepStatus::Interrupted => "⚠",
        StepStatus::Inconclusive { .. } => "?",
    }
}

pub fn status_style(s: &StepStatus) -> Style {
    match s {
        StepStatus::Pending => Style::default().fg(Color::Gray),
        StepStatus::Running { .. } => Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
        StepStatus::Waiting => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        StepStatus::Succeeded => Style::default().fg(Color::Green),
        StepStatus::Failed { .. } => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        StepStatus::Skipped { .. } => Style::default().fg(Color::DarkGray),
        StepStatus::Interrupted => Style::default()
            .fg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
        StepStatus::Inconclusive { .. } => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    }
}

pub fn release_style(s: ReleaseStatus) -> Style {
    match s {
        ReleaseStatus::Running => Style::default().fg(Color::Cyan),
        ReleaseStatus::Succeeded => Style::default().fg(Color::Green),
        ReleaseStatus::Failed | ReleaseStatus::Aborted => Style::default().fg(Color::Red),
    }
    .add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn key() -> Style {
    Style::default().fg(Color::Black).bg(Color::Gray)
}

pub fn title() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub fn selected() -> Style {
    Style::default()
        .bg(Color::Rgb(40, 44, 52))
        .add_modifier(Modifier::BOLD)
}

/// Whether the screen has colour: chosen once where the terminal is
/// opened (`NO_COLOR`, see no-color.org) and passed to `paint`, so views
/// never read the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorMode {
    #[default]
    Color,
    NoColor,
}

impl ColorMode {
    /// no-color.org: `NO_COLOR` set and not empty means no colour.
    pub fn from_no_color(value: Option<&std::ffi::OsStr>) -> ColorMode {
        match value {
            Some(v) if !v.is_empty() => ColorMode::NoColor,
            _ => ColorMode::Color,
        }
    }

    pub fn from_env() -> ColorMode {
        ColorMode::from_no_color(std::env::var_os("NO_COLOR").as_deref())
    }
}

/// Apply the colour mode to a drawn frame. Without colour every cell is
/// drawn in the terminal's own colours; a cell that stood out by its
/// background (the selection, key hints) is drawn reversed instead, so
/// what is selected stays visible.
pub fn paint(mode: ColorMode, buf: &mut ratatui::buffer::Buffer) {
    if mode == ColorMode::Color {
        return;
    }
    for cell in buf.content.iter_mut() {
        if cell.bg != Color::Reset {
            cell.modifier.insert(Modifier::REVERSED);
        }
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}
