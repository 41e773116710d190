//! The view part of `AppState`: what the screen points at and shows on
//! top of the release. Changed by `update`, read by `ui`.

use super::dialog::Dialog;
use super::notice::Notice;
use crate::app::keymap::Keymap;

#[derive(Debug, Clone)]
pub struct ViewState {
    pub selected: usize,
    /// The selection follows the step that runs.
    pub follow: bool,
    pub dialog: Option<Dialog>,
    pub show_logs: bool,
    /// Lines scrolled up from the bottom of the output pane.
    pub scroll: usize,
    pub notice: Option<Notice>,
    pub keymap: Keymap,
    /// Step titles with `${inputs.x}` and `${release.*}` filled in.
    pub titles: Vec<String>,
}

impl ViewState {
    pub fn new(selected: usize, keymap: Keymap) -> ViewState {
        ViewState {
            selected,
            follow: true,
            dialog: None,
            show_logs: false,
            scroll: 0,
            notice: None,
            keymap,
            titles: Vec::new(),
        }
    }

    /// The notice's words ("" when there is none).
    pub fn notice_text(&self) -> &str {
        self.notice.as_ref().map_or("", |n| n.text.as_str())
    }
}
