//! The start form: environment (with its policy), one field per input
//! checked as you type (`runbook::inputs::check_value`, the validator the
//! command line uses), secret inputs masked, a break-glass reason when the
//! policy asks for one. Nothing starts until it is valid. `update` is
//! synchronous, no IO; `allowed` decides the keys for update and key bar.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::runbook::inputs::check_value;
use crate::runbook::start::{EnvStatus, env_status};
use crate::runbook::{Environment, InputSpec, Runbook};

/// One input's field.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub spec: InputSpec,
    pub value: String,
    /// What is wrong with the value now (`None`: valid).
    pub error: Option<String>,
}

impl FormField {
    fn check(&mut self) {
        let v = (!self.value.is_empty()).then_some(self.value.as_str());
        // The validator's words, less the command-line hint.
        self.error = check_value(&self.spec, v)
            .err()
            .map(|e| e.to_string())
            .map(|e| match e.find(" (pass --set ") {
                Some(i) => e[..i].to_string(),
                None => e,
            });
    }
}

/// Where the cursor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormFocus {
    Environment,
    Field(usize),
    BreakGlass,
}

/// What the form decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormOutcome {
    Start {
        environment: String,
        /// Every input with a value (defaults included).
        inputs: BTreeMap<String, String>,
        break_glass: Option<String>,
    },
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    Next,
    Prev,
    /// On the environment row: the other environment.
    PickEnv,
    Start,
    Cancel,
}

impl FormAction {
    pub fn key(self) -> &'static str {
        match self {
            FormAction::Next => "Tab/↓",
            FormAction::Prev => "S-Tab/↑",
            FormAction::PickEnv => "←/→",
            FormAction::Start => "Enter",
            FormAction::Cancel => "Esc",
        }
    }

    fn of(key: KeyEvent, focus: FormFocus) -> Option<FormAction> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(FormAction::Cancel);
        }
        Some(match key.code {
            KeyCode::Tab | KeyCode::Down => FormAction::Next,
            KeyCode::BackTab | KeyCode::Up => FormAction::Prev,
            KeyCode::Left | KeyCode::Right if focus == FormFocus::Environment => {
                FormAction::PickEnv
            }
            KeyCode::Char(' ') if focus == FormFocus::Environment => FormAction::PickEnv,
            KeyCode::Enter => FormAction::Start,
            KeyCode::Esc => FormAction::Cancel,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormOffer {
    pub action: FormAction,
    pub label: String,
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StartForm {
    pub runbook: String,
    pub path: PathBuf,
    pub environments: Vec<Environment>,
    /// Per environment (by name): inputs of releases that succeeded where
    /// its `requires` points, read before the form opened.
    pub passed: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    pub env: usize,
    pub fields: Vec<FormField>,
    pub break_glass: String,
    pub focus: FormFocus,
    pub now: i64,
    /// The environment's policy for the inputs as typed now.
    pub status: Option<EnvStatus>,
    pub notice: Option<String>,
    pub outcome: Option<FormOutcome>,
    pub dirty: bool,
}

impl StartForm {
    /// A form for `rb`, pre-filled from `given` (`--set`) over defaults.
    pub fn new(
        rb: &Runbook,
        path: PathBuf,
        environment: Option<&str>,
        given: &BTreeMap<String, String>,
        passed: BTreeMap<String, Vec<BTreeMap<String, String>>>,
        now: i64,
    ) -> Self {
        let fields = rb
            .inputs
            .iter()
            .map(|spec| {
                let mut f = FormField {
                    value: given
                        .get(&spec.name)
                        .or(spec.default.as_ref())
                        .cloned()
                        .unwrap_or_default(),
                    spec: spec.clone(),
                    error: None,
                };
                f.check();
                f
            })
            .collect();
        let env = environment
            .and_then(|e| rb.environments.iter().position(|x| x.name == e))
            .unwrap_or(0);
        let mut form = StartForm {
            runbook: rb.name.clone(),
            path,
            environments: rb.environments.clone(),
            passed,
            env,
            fields,
            break_glass: String::new(),
            focus: FormFocus::Environment,
            now,
            status: None,
            notice: None,
            outcome: None,
            dirty: true,
        };
        form.recheck();
        form
    }

    pub fn environment(&self) -> Option<&Environment> {
        self.environments.get(self.env)
    }

    /// The inputs as they would start: typed values, empty ones left out.
    pub fn inputs(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .filter(|f| !f.value.is_empty())
            .map(|f| (f.spec.name.clone(), f.value.clone()))
            .collect()
    }

    fn recheck(&mut self) {
        let inputs = self.inputs();
        let mut shown = inputs.clone();
        for f in self.fields.iter().filter(|f| f.spec.secret) {
            if shown.contains_key(&f.spec.name) {
                shown.insert(f.spec.name.clone(), "(secret)".into());
            }
        }
        self.status = self.environment().map(|e| {
            let passed = self.passed.get(&e.name).map_or(&[][..], Vec::as_slice);
            env_status(e, self.now, &inputs, &shown, passed)
        });
    }

    fn needs_break_glass(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(EnvStatus::needs_break_glass)
    }

    /// The rows the cursor visits, in order.
    pub fn stops(&self) -> Vec<FormFocus> {
        let mut out = Vec::new();
        if !self.environments.is_empty() {
            out.push(FormFocus::Environment);
        }
        out.extend((0..self.fields.len()).map(FormFocus::Field));
        if self.needs_break_glass() {
            out.push(FormFocus::BreakGlass);
        }
        out
    }

    /// Why the form cannot start yet (the first reason), if it cannot.
    pub fn invalid(&self) -> Option<String> {
        if let Some(f) = self.fields.iter().find(|f| f.error.is_some()) {
            return f.error.clone();
        }
        if let Some(s) = &self.status {
            if let Some(hard) = s.hard() {
                return Some(format!("may not start here: {hard}"));
            }
            if s.needs_break_glass() && self.break_glass.trim().is_empty() {
                return Some("outside the change window: give a break-glass reason".into());
            }
        }
        None
    }
}

/// The one answer to "what may happen now" in the form.
pub fn allowed(form: &StartForm) -> Vec<FormOffer> {
    let offer = |action, label: &str, refused: Option<String>| FormOffer {
        action,
        label: label.to_string(),
        refused,
    };
    let mut out = vec![
        offer(FormAction::Next, "next field", None),
        offer(FormAction::Prev, "previous", None),
    ];
    if form.focus == FormFocus::Environment {
        out.push(offer(
            FormAction::PickEnv,
            "environment",
            (form.environments.len() < 2).then(|| "this runbook has one environment".to_string()),
        ));
    }
    out.push(offer(FormAction::Start, "start release", form.invalid()));
    out.push(offer(FormAction::Cancel, "cancel", None));
    out
}

pub fn update(form: &mut StartForm, key: KeyEvent) {
    form.dirty = true;
    let Some(action) = FormAction::of(key, form.focus) else {
        // Typing into the focused text field.
        let text = match form.focus {
            FormFocus::Field(i) => &mut form.fields[i].value,
            FormFocus::BreakGlass => &mut form.break_glass,
            FormFocus::Environment => return,
        };
        if crate::app::typing::edit(text, key) {
            if let FormFocus::Field(i) = form.focus {
                form.fields[i].check();
            }
            form.recheck();
            form.notice = None;
        }
        return;
    };
    let Some(offer) = allowed(form).into_iter().find(|o| o.action == action) else {
        return;
    };
    if let Some(why) = offer.refused {
        form.notice = Some(why);
        return;
    }
    form.notice = None;
    let stops = form.stops();
    if stops.is_empty() && matches!(action, FormAction::Next | FormAction::Prev) {
        return;
    }
    let here = stops.iter().position(|s| *s == form.focus).unwrap_or(0);
    match action {
        FormAction::Next => form.focus = stops[(here + 1) % stops.len().max(1)],
        FormAction::Prev => form.focus = stops[(here + stops.len() - 1) % stops.len().max(1)],
        FormAction::PickEnv => {
            let n = form.environments.len();
            form.env = if key.code == KeyCode::Left {
                (form.env + n - 1) % n
            } else {
                (form.env + 1) % n
            };
            form.recheck();
        }
        FormAction::Start => {
            let glass = form.break_glass.trim();
            form.outcome = Some(FormOutcome::Start {
                environment: form
                    .environment()
                    .map_or_else(|| "default".to_string(), |e| e.name.clone()),
                inputs: form.inputs(),
                break_glass: (form.needs_break_glass() && !glass.is_empty())
                    .then(|| glass.to_string()),
            });
        }
        FormAction::Cancel => form.outcome = Some(FormOutcome::Cancel),
    }
    if !form.stops().contains(&form.focus) {
        form.focus = form
            .stops()
            .first()
            .copied()
            .unwrap_or(FormFocus::Environment);
    }
}

/// The clock moved: a change window may have opened or closed.
pub fn tick(form: &mut StartForm, now: i64) {
    form.now = now;
    let before = form.status.clone();
    form.recheck();
    if form.status != before {
        form.dirty = true;
    }
}
