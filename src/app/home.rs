//! The home screen's UI state: three lists (waiting for me, releases,
//! runbooks), the focused one, the filter. `update` is synchronous, no IO:
//! Enter sets `choice`, and the loop around it opens the release or the
//! start form. What a key may do now is decided once, in `allowed`, which
//! both `update` and the key bar read.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::runbook::home::{
    self, HomeSnapshot, ReleaseRow, RunbookRow, WaitingRow, matches, release_haystack,
    runbook_haystack, waiting_haystack,
};

/// The three lists, in screen order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HomeList {
    #[default]
    Waiting,
    Releases,
    Runbooks,
}

impl HomeList {
    pub const ALL: [HomeList; 3] = [HomeList::Waiting, HomeList::Releases, HomeList::Runbooks];

    pub fn title(self) -> &'static str {
        match self {
            HomeList::Waiting => "Waiting for me",
            HomeList::Releases => "Releases",
            HomeList::Runbooks => "Runbooks",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What the person chose; the loop acts on it after leaving the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeChoice {
    /// Open a release (`tui --release ID`: drive or watch as the lease says).
    Open(String),
    /// Open a release to sign its waiting gate: watch it, never take its
    /// lease (`tui --release ID --watch`).
    Sign(String),
    /// Start a release of this runbook through the start form.
    Start(std::path::PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub enum HomeMsg {
    Key(KeyEvent),
    Snapshot(HomeSnapshot),
    /// Wall clock, unix ms (ages tick).
    Tick(i64),
    Shutdown,
}

/// What a key does on home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeAction {
    Up,
    Down,
    NextList,
    PrevList,
    Open,
    Filter,
    /// While typing the filter: keep it and go back to the lists.
    FilterDone,
    /// While typing the filter: drop it.
    FilterClear,
    Quit,
}

impl HomeAction {
    /// The key as the key bar names it.
    pub fn key(self) -> &'static str {
        match self {
            HomeAction::Up => "↑/k",
            HomeAction::Down => "↓/j",
            HomeAction::NextList => "Tab",
            HomeAction::PrevList => "S-Tab",
            HomeAction::Open => "Enter",
            HomeAction::Filter => "/",
            HomeAction::FilterDone => "Enter",
            HomeAction::FilterClear => "Esc",
            HomeAction::Quit => "q",
        }
    }

    /// The action a key press asks for (typing into the filter aside).
    pub fn of(key: KeyEvent, filtering: bool) -> Option<HomeAction> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(HomeAction::Quit);
        }
        if filtering {
            return match key.code {
                KeyCode::Enter | KeyCode::Down | KeyCode::Up => Some(HomeAction::FilterDone),
                KeyCode::Esc => Some(HomeAction::FilterClear),
                _ => None,
            };
        }
        Some(match key.code {
            KeyCode::Up | KeyCode::Char('k') => HomeAction::Up,
            KeyCode::Down | KeyCode::Char('j') => HomeAction::Down,
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => HomeAction::NextList,
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => HomeAction::PrevList,
            KeyCode::Enter => HomeAction::Open,
            KeyCode::Char('/') => HomeAction::Filter,
            KeyCode::Esc => HomeAction::FilterClear,
            KeyCode::Char('q') => HomeAction::Quit,
            _ => return None,
        })
    }
}

/// One key offered now: what it does, in words, and why it is refused
/// (refused keys are shown dimmed with the reason, and do nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub action: HomeAction,
    pub label: String,
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HomeState {
    pub snapshot: HomeSnapshot,
    /// Whether a snapshot arrived yet.
    pub loaded: bool,
    pub focus: HomeList,
    /// Cursor per list, as a position among the rows the filter shows.
    pub selected: [usize; 3],
    pub filter: String,
    pub filtering: bool,
    pub person: String,
    pub now: i64,
    /// A message for the person (a refusal, what happened last).
    pub notice: Option<String>,
    pub choice: Option<HomeChoice>,
    pub quit: bool,
    pub dirty: bool,
}

/// The row under the cursor of the focused list.
pub enum Selected<'a> {
    Waiting(&'a WaitingRow),
    Release(&'a ReleaseRow),
    Runbook(&'a RunbookRow),
}

impl HomeState {
    pub fn new(person: &str, now: i64) -> Self {
        HomeState {
            person: person.to_string(),
            now,
            dirty: true,
            ..Default::default()
        }
    }

    /// Indices of the rows of `list` the filter keeps.
    pub fn shown(&self, list: HomeList) -> Vec<usize> {
        let s = &self.snapshot;
        let f = self.filter.as_str();
        match list {
            HomeList::Waiting => keep(&s.waiting, f, waiting_haystack),
            HomeList::Releases => keep(&s.releases, f, release_haystack),
            HomeList::Runbooks => keep(&s.runbooks, f, runbook_haystack),
        }
    }

    pub fn selected(&self) -> Option<Selected<'_>> {
        let shown = self.shown(self.focus);
        // A cursor past the end (rows went away) rests on the last row.
        let pos = self.selected[self.focus.index()].min(shown.len().saturating_sub(1));
        let i = *shown.get(pos)?;
        let s = &self.snapshot;
        Some(match self.focus {
            HomeList::Waiting => Selected::Waiting(&s.waiting[i]),
            HomeList::Releases => Selected::Release(&s.releases[i]),
            HomeList::Runbooks => Selected::Runbook(&s.runbooks[i]),
        })
    }

    fn clamp(&mut self) {
        for list in HomeList::ALL {
            let n = self.shown(list).len();
            let c = &mut self.selected[list.index()];
            *c = (*c).min(n.saturating_sub(1));
        }
    }
}

fn keep<T>(rows: &[T], filter: &str, hay: fn(&T) -> String) -> Vec<usize> {
    (0..rows.len())
        .filter(|&i| matches(filter, &hay(&rows[i])))
        .collect()
}

/// The one answer to "what may happen now" on home: every key offered,
/// what it does here, and why one is refused.
pub fn allowed(state: &HomeState) -> Vec<Offer> {
    let offer = |action, label: &str, refused: Option<String>| Offer {
        action,
        label: label.to_string(),
        refused,
    };
    if state.filtering {
        return vec![
            offer(HomeAction::FilterDone, "keep filter", None),
            offer(HomeAction::FilterClear, "clear filter", None),
            offer(HomeAction::Quit, "quit", None),
        ];
    }
    let n = state.shown(state.focus).len();
    let empty = (n == 0).then(|| format!("{} is empty", state.focus.title().to_lowercase()));
    let open = match state.selected() {
        None => offer(HomeAction::Open, "open", empty.clone()),
        Some(Selected::Waiting(w)) => match &w.kind {
            home::WaitingKind::Gate { .. } => offer(HomeAction::Open, "open to sign", None),
            home::WaitingKind::Checklist { .. } => offer(HomeAction::Open, "open checklist", None),
        },
        Some(Selected::Release(r)) => {
            let label = if !r.open {
                "open record"
            } else if r.driver.as_deref().is_some_and(|d| d != state.person) {
                "watch"
            } else {
                "drive"
            };
            offer(HomeAction::Open, label, None)
        }
        Some(Selected::Runbook(r)) => offer(
            HomeAction::Open,
            "start…",
            r.error
                .as_ref()
                .map(|e| format!("{} does not load: {e}", r.path.display())),
        ),
    };
    let mut out = vec![
        offer(HomeAction::Up, "up", None),
        offer(HomeAction::Down, "down", None),
        offer(HomeAction::NextList, "next list", None),
        open,
        offer(HomeAction::Filter, "filter", None),
    ];
    if !state.filter.is_empty() {
        out.push(offer(HomeAction::FilterClear, "clear filter", None));
    }
    out.push(offer(HomeAction::Quit, "quit", None));
    // Moving in an empty list is not refused, just still; PrevList is
    // offered under NextList's key in the bar.
    out.push(offer(HomeAction::PrevList, "previous list", None));
    out
}

pub fn update(state: &mut HomeState, msg: HomeMsg) {
    match msg {
        HomeMsg::Snapshot(s) => {
            state.snapshot = s;
            state.loaded = true;
            state.clamp();
            state.dirty = true;
        }
        HomeMsg::Tick(now) => {
            if now / 1000 != state.now / 1000 {
                state.dirty = true;
            }
            state.now = now;
        }
        HomeMsg::Shutdown => {
            state.quit = true;
        }
        HomeMsg::Key(key) => {
            state.dirty = true;
            match HomeAction::of(key, state.filtering) {
                Some(action) => act(state, action),
                None if state.filtering => {
                    crate::app::typing::edit(&mut state.filter, key);
                    state.clamp();
                }
                None => {}
            }
        }
    }
}

fn act(state: &mut HomeState, action: HomeAction) {
    let Some(offer) = allowed(state).into_iter().find(|o| o.action == action) else {
        return;
    };
    if let Some(why) = offer.refused {
        state.notice = Some(why);
        return;
    }
    state.notice = None;
    let list = state.focus.index();
    let n = state.shown(state.focus).len();
    match action {
        HomeAction::Up => state.selected[list] = state.selected[list].saturating_sub(1),
        HomeAction::Down => {
            state.selected[list] = (state.selected[list] + 1).min(n.saturating_sub(1))
        }
        HomeAction::NextList => state.focus = HomeList::ALL[(list + 1) % 3],
        HomeAction::PrevList => state.focus = HomeList::ALL[(list + 2) % 3],
        HomeAction::Open => {
            state.choice = match state.selected() {
                // A gate opens to sign it (never taking the lease); a
                // checklist of a release I drive opens to drive it.
                Some(Selected::Waiting(w)) => Some(match w.kind {
                    crate::runbook::home::WaitingKind::Gate { .. } => {
                        HomeChoice::Sign(w.release_id.clone())
                    }
                    _ => HomeChoice::Open(w.release_id.clone()),
                }),
                Some(Selected::Release(r)) => Some(HomeChoice::Open(r.id.clone())),
                Some(Selected::Runbook(r)) => Some(HomeChoice::Start(r.path.clone())),
                None => None,
            }
        }
        HomeAction::Filter => state.filtering = true,
        HomeAction::FilterDone => state.filtering = false,
        HomeAction::FilterClear => {
            state.filtering = false;
            state.filter.clear();
            state.clamp();
        }
        HomeAction::Quit => state.quit = true,
    }
}
