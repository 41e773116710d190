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
