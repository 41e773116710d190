//! `flightdeck watch` in the UI state: the Deployments list, the opened
//! rollout (the release view's `RolloutView`), its pod table and the
//! followed pod's logs. `update` is synchronous, no IO; read-only: no
//! command here writes to the cluster or the journal.

use crate::protocol::watch::{WatchCommand, WatchEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::state::{LogScope, RolloutView};
use crate::protocol::kube::{ConnState, KubeEvent};
use crate::runbook::touching::TouchingRelease;
use crate::runbook::watch::{DeploymentRow, Health, PodRow, Trouble, pod_rows};
use crate::sanitize;

#[derive(Debug, Clone, PartialEq)]
pub enum WatchMsg {
    Key(KeyEvent),
    /// Wall clock, unix ms.
    Tick(i64),
    /// The terminal's height: pages are this tall.
    Resize(u16),
    Backend(WatchEvent),
    Shutdown,
}

/// The pods of the opened rollout, as a table people in trouble use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodTable {
    /// Worst first; derived once per snapshot.
    pub rows: Vec<PodRow>,
    /// Indices into `rows` that match the filter, in order.
    pub shown: Vec<usize>,
    /// Position in `shown`.
    pub selected: usize,
    /// First row of `shown` on screen.
    pub top: usize,
    pub filter: String,
    pub editing: bool,
    /// Doomed, not ready, restarted: counted once per snapshot.
    tally: (usize, usize, usize),
}

impl PodTable {
    fn refilter(&mut self) {
        let keep = self
            .shown
            .get(self.selected)
            .map(|&i| self.rows[i].name.clone());
        let needle = self.filter.to_lowercase();
        self.shown = (0..self.rows.len())
            .filter(|&i| needle.is_empty() || self.rows[i].haystack.contains(&needle))
            .collect();
        self.selected = keep
            .and_then(|n| self.shown.iter().position(|&i| self.rows[i].name == n))
            .unwrap_or(0);
    }

    pub fn set_rows(&mut self, rows: Vec<PodRow>) {
        let keep = self
            .shown
            .get(self.selected)
            .map(|&i| self.rows[i].name.clone());
        self.rows = rows;
        self.tally = (0, 0, 0);
        for r in &self.rows {
            match r.trouble {
                Trouble::Doomed => self.tally.0 += 1,
                Trouble::NotReady => self.tally.1 += 1,
                Trouble::Restarted => self.tally.2 += 1,
                Trouble::Fine => {}
            }
        }
        self.shown.clear();
        self.refilter();
        if let Some(n) = keep
            && let Some(p) = self.shown.iter().position(|&i| self.rows[i].name == n)
        {
            self.selected = p;
        }
    }

    pub fn current(&self) -> Option<&PodRow> {
        self.shown.get(self.selected).map(|&i| &self.rows[i])
    }

    fn move_to(&mut self, pos: usize, page: usize) {
        self.selected = pos.min(self.shown.len().saturating_sub(1));
        let page = page.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + page {
            self.top = self.selected + 1 - page;
        }
    }

    /// Counts by trouble: doomed, not ready, restarted.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.tally
    }
}

/// The opened Deployment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Opened {
    pub open: u64,
    pub view: RolloutView,
    pub pods: PodTable,
    /// Whose logs the pane shows: (pod, previous containers).
    pub following: Option<(String, bool)>,
    /// The progress deadline of a waiting rollout (unix ms), from its
    /// last snapshot: ticks redraw only while there is one.
    pub deadline_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchState {
    /// "context c · namespace n" / "· all namespaces".
    pub scope: String,
    pub all_namespaces: bool,
    pub rows: Vec<DeploymentRow>,
    /// The first list arrived.
    pub listed: bool,
    pub conn: ConnState,
    pub selected: usize,
    pub open: Option<Opened>,
    opens: u64,
    /// Releases from the journal touching Deployments, by namespace and
    /// Deployment (sorted).
    pub releases: Vec<TouchingRelease>,
    /// What the journal said (or why it is not read), one line.
    pub journal: String,
    pub now: i64,
    /// The terminal's height (pages follow from it).
    pub height: u16,
    pub dirty: bool,
    pub quit: bool,
}

impl WatchState {
    pub fn new(scope: String, all_namespaces: bool, now: i64) -> WatchState {
        WatchState {
            scope,
            all_namespaces,
            now,
            height: 24,
            dirty: true,
            ..Default::default()
        }
    }

    /// Rows one page holds, as `ui::watch` lays the screen out.
    pub fn page(&self) -> usize {
        let main = self
            .height
            .saturating_sub(2 + u16::from(!self.journal.is_empty()));
        let rows = if self.open.is_some() {
            (main / 3).max(5).saturating_sub(3)
        } else {
            main.saturating_sub(3)
        };
        (rows as usize).max(1)
    }

    /// The releases touching Deployment `ns`/`name`.
    pub fn releases_of<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a TouchingRelease> + 'a {
        self.releases
            .iter()
            .filter(move |r| r.namespace == ns && r.deployment == name)
    }

    /// Something on screen counts down each second.
    fn counts_down(&self) -> bool {
        match &self.open {
            Some(o) => o.deadline_at.is_some(),
            None => self.rows.iter().any(|r| r.deadline_at_ms.is_some()),
        }
    }
}

pub fn update(state: &mut WatchState, msg: WatchMsg) -> Vec<WatchCommand> {
    let mut out = Vec::new();
    match msg {
        WatchMsg::Tick(now) => {
            state.now = now;
            // Only countdowns change with time: redraw only then.
            if state.counts_down() {
                state.dirty = true;
            }
            return out;
        }
        WatchMsg::Resize(h) => state.height = h,
        WatchMsg::Shutdown => state.quit = true,
        WatchMsg::Backend(ev) => {
            // Only what is on screen asks for a frame.
            if on_event(state, ev) {
                state.dirty = true;
            }
            return out;
        }
        WatchMsg::Key(k) => key(state, k, &mut out),
    }
    state.dirty = true;
    out
}

/// Apply a backend event; true when the screen changes.
fn on_event(state: &mut WatchState, ev: WatchEvent) -> bool {
    match ev {
        WatchEvent::Rows(rows) => {
            if state.listed && rows == state.rows {
                return false;
            }
            // Behind an opened Deployment only the header's counts show.
            let header = |r: &[DeploymentRow]| {
                (
                    r.len(),
                    r.iter()
                        .filter(|r| matches!(r.health, Health::Failed | Health::Stuck))
                        .count(),
                )
            };
            let visible = state.open.is_none() || header(&rows) != header(&state.rows);
            let keep = state
                .rows
                .get(state.selected)
                .map(|r| (r.namespace.clone(), r.name.clone()));
            state.rows = rows;
            state.listed = true;
            state.selected = keep
                .and_then(|(ns, n)| {
                    state
                        .rows
                        .iter()
                        .position(|r| r.namespace == ns && r.name == n)
                })
                .unwrap_or(0)
                .min(state.rows.len().saturating_sub(1));
            visible
        }
        WatchEvent::Releases { rows, note } => {
            let changed = rows != state.releases || note != state.journal;
            state.releases = rows;
            state.journal = note;
            changed
        }
        WatchEvent::ListConn(c) => {
            let changed = state.conn != c;
            state.conn = c;
            changed
        }
        WatchEvent::Kube { open, event } => {
            let Some(o) = state.open.as_mut() else {
                return false;
            };
            if o.open != open {
                return false;
            }
            match event {
                KubeEvent::Watching {
                    namespace,
                    deployment,
                    phase,
                } => {
                    o.view.namespace = namespace;
                    o.view.deployment = deployment;
                    o.view.phase = phase;
                }
                KubeEvent::Snapshot(s) => {
                    // Derived once here, not per frame.
                    // Events alone (probe failures) leave the pods as
                    // they were: their table is not derived again.
                    if s.pods != o.view.snapshot.pods || o.pods.rows.len() != s.pods.len() {
                        o.pods.set_rows(pod_rows(&s));
                    }
                    o.view.derived = crate::runbook::rollout::Derived::of(
                        &s,
                        std::sync::Arc::as_ptr(&s) as usize,
                        state.now,
                    );
                    o.deadline_at = o.view.derived.deadline_at;
                    o.view.snapshot = s;
                    o.view.updated_at = state.now;
                }
                KubeEvent::Connection(c) => o.view.conn = c,
                KubeEvent::PodLogs { lines, dropped } => {
                    for mut l in lines {
                        l.text = sanitize::sanitize_line(&l.text);
                        o.view.logs.push(l);
                    }
                    o.view.logs.dropped += dropped;
                    o.view.logs.total += dropped;
                }
                KubeEvent::RollbackStarted { .. } | KubeEvent::RollbackDone { .. } => {
                    return false;
                }
            }
            true
        }
    }
}

fn key(state: &mut WatchState, k: KeyEvent, out: &mut Vec<WatchCommand>) {
    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
        state.quit = true;
        return;
    }
    if state.open.is_some() {
        opened_key(state, k, out);
        return;
    }
    let last = state.rows.len().saturating_sub(1);
    match k.code {
        KeyCode::Char('q') | KeyCode::Esc => state.quit = true,
        KeyCode::Down | KeyCode::Char('j') => state.selected = (state.selected + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => state.selected = state.selected.saturating_sub(1),
        KeyCode::PageDown => state.selected = (state.selected + state.page()).min(last),
        KeyCode::PageUp => state.selected = state.selected.saturating_sub(state.page()),
        KeyCode::Char('g') | KeyCode::Home => state.selected = 0,
        KeyCode::Char('G') | KeyCode::End => state.selected = last,
        KeyCode::Enter => {
            let Some(r) = state.rows.get(state.selected) else {
                return;
            };
            state.opens += 1;
            let view = RolloutView {
                namespace: r.namespace.clone(),
                deployment: r.name.clone(),
                phase: "watch".into(),
                logs: super::state::LogView {
                    scope: LogScope::All,
                    ..Default::default()
                },
                ..Default::default()
            };
            out.push(WatchCommand::Open {
                open: state.opens,
                namespace: r.namespace.clone(),
                deployment: r.name.clone(),
            });
            state.open = Some(Opened {
                open: state.opens,
                view,
                pods: PodTable::default(),
                following: None,
                deadline_at: None,
            });
        }
        _ => {}
    }
}

fn opened_key(state: &mut WatchState, k: KeyEvent, out: &mut Vec<WatchCommand>) {
    let page = state.page();
    let Some(o) = state.open.as_mut() else { return };
    let t = &mut o.pods;
    if t.editing {
        match k.code {
            KeyCode::Enter => t.editing = false,
            KeyCode::Esc => {
                t.editing = false;
                t.filter.clear();
            }
            KeyCode::Backspace => {
                t.filter.pop();
            }
            KeyCode::Char(c) if t.filter.chars().count() < 100 => t.filter.push(c),
            _ => return,
        }
        t.refilter();
        t.move_to(t.selected, page);
        return;
    }
    let last = t.shown.len().saturating_sub(1);
    match k.code {
        KeyCode::Esc if !t.filter.is_empty() => {
            t.filter.clear();
            t.refilter();
            t.move_to(t.selected, page);
        }
        KeyCode::Esc | KeyCode::Backspace => {
            state.open = None;
            out.push(WatchCommand::Close);
        }
        KeyCode::Char('q') => state.quit = true,
        KeyCode::Down | KeyCode::Char('j') => t.move_to(t.selected + 1, page),
        KeyCode::Up | KeyCode::Char('k') => t.move_to(t.selected.saturating_sub(1), page),
        KeyCode::PageDown => t.move_to((t.selected + page).min(last), page),
        KeyCode::PageUp => t.move_to(t.selected.saturating_sub(page), page),
        KeyCode::Char('g') | KeyCode::Home => t.move_to(0, page),
        KeyCode::Char('G') | KeyCode::End => t.move_to(last, page),
        KeyCode::Char('/') => t.editing = true,
        KeyCode::Enter | KeyCode::Char('p') => {
            let previous = k.code == KeyCode::Char('p');
            let Some(p) = t.current() else { return };
            let pod = p.name.clone();
            let containers = p.containers.clone();
            o.following = Some((pod.clone(), previous));
            // A new source: counter and content start together.
            o.view.logs = super::state::LogView {
                scope: LogScope::All,
                ..Default::default()
            };
            out.push(WatchCommand::Logs {
                open: o.open,
                namespace: o.view.namespace.clone(),
                pod,
                containers,
                previous,
            });
        }
        _ => {}
    }
}
