//! Environment policy: what must be true before a release may START in an
//! environment. Pure: the clock and the history are passed in.
//!
//! ```yaml
//! environments:
//!   production:
//!     requires: { passed: staging, same_inputs: [version] }
//!     windows:
//!       - { days: [mon..fri], from: "09:00", to: "16:00", tz: UTC }
//!     freezes:
//!       - { from: "2025-12-20", to: "2026-01-05", reason: "year-end freeze" }
//! ```
//!
//! `requires` is a hard rule. Windows and freezes may be broken with a
//! recorded reason (`--break-glass "why"`), which is journaled.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};

use super::parse::{Ctx, Fields, list, string_list};
use super::yaml::{Node, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvPolicy {
    pub requires: Option<Requires>,
    /// Times a release may start; empty means any time.
    pub windows: Vec<Window>,
    /// Times no release may start.
    pub freezes: Vec<Freeze>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requires {
    /// The environment these inputs must have passed first.
    pub passed: String,
    /// Inputs that must be equal to those of a release that succeeded
    /// there (all inputs when empty).
    pub same_inputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// 0 = Monday .. 6 = Sunday.
    pub days: Vec<u8>,
    /// Minutes after local midnight; `to` may be before `from` (overnight).
    pub from: u32,
    pub to: u32,
    /// Offset of the window's time zone from UTC, in minutes.
    pub offset_min: i32,
    /// As written, for messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// Unix ms, inclusive.
    pub from: i64,
    /// Unix ms, exclusive.
    pub to: i64,
    pub reason: String,
}

/// Why a release may not start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Now is in none of the change windows.
    OutsideWindows { windows: Vec<String> },
    /// Now is inside a freeze.
    Frozen { reason: String, until: i64 },
    /// No release with these inputs succeeded in the required environment.
    NotPassed {
        environment: String,
        inputs: BTreeMap<String, String>,
    },
}

impl Violation {
    /// Windows and freezes yield to a recorded break-glass reason;
    /// `requires` does not.
    pub fn breakable(&self) -> bool {
        !matches!(self, Violation::NotPassed { .. })
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::OutsideWindows { windows } => {
                write!(f, "outside the change windows ({})", windows.join("; "))
            }
            Violation::Frozen { reason, until } => write!(
                f,
                "inside a change freeze until {}: {reason}",
                fmt_time(*until)
            ),
            Violation::NotPassed {
                environment,
                inputs,
            } => {
                let shown: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(
                    f,
                    "no release with {} has succeeded in {environment} yet",
                    if shown.is_empty() {
                        "these inputs".to_string()
                    } else {
                        shown.join(" ")
                    }
                )
            }
        }
    }
}

fn fmt_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

impl Window {
    pub fn contains(&self, now_ms: i64) -> bool {
        let Some(t) =
            chrono::DateTime::from_timestamp_millis(now_ms + i64::from(self.offset_min) * 60_000)
        else {
            return false;
        };
        let minute = t.hour() * 60 + t.minute();
        let day = t.weekday().num_days_from_monday() as u8;
        let prev = (day + 6) % 7;
        if self.from <= self.to {
            self.days.contains(&day) && (self.from..self.to).contains(&minute)
        } else {
            (self.days.contains(&day) && minute >= self.from)
                || (self.days.contains(&prev) && minute < self.to)
        }
    }
}

/// Everything that stops a release of these `inputs` from starting at `now`.
/// `passed` holds the inputs of every release that succeeded in the
/// environment `requires.passed` names.
pub fn check_start(
    policy: &EnvPolicy,
    now_ms: i64,
    inputs: &BTreeMap<String, String>,
    passed: &[BTreeMap<String, String>],
) -> Vec<Violation> {
    check_start_hiding(policy, now_ms, inputs, inputs, passed)
}

/// `check_start` for inputs that hold secrets: `inputs` are the values
/// (compared with earlier releases, whose secret inputs the journal keeps
/// sealed), `shown` what a violation may name (secrets hidden).
pub fn check_start_hiding(
    policy: &EnvPolicy,
    now_ms: i64,
    inputs: &BTreeMap<String, String>,
    shown: &BTreeMap<String, String>,
    passed: &[BTreeMap<String, String>],
) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(req) = &policy.requires {
        let keys: Vec<&String> = if req.same_inputs.is_empty() {
            inputs.keys().collect()
        } else {
            req.same_inputs.iter().collect()
        };
        let value = |k: &String| inputs.get(k).cloned().unwrap_or_default();
        // Journals before salted seals kept `(secret)`: it matches any value.
        let same = |kept: Option<&String>, v: &str| {
            kept.is_some_and(|p| p == v || p == "(secret)" || super::secrets::matches_sealed(p, v))
        };
        let ok = passed
            .iter()
            .any(|p| keys.iter().all(|k| same(p.get(*k), &value(k))));
        if !ok {
            out.push(Violation::NotPassed {
                environment: req.passed.clone(),
                inputs: keys
                    .iter()
                    .map(|k| {
                        let v = shown.get(*k).cloned().unwrap_or_else(|| value(k));
                        ((*k).clone(), v)
                    })
                    .collect(),
            });
        }
    }
    for f in &policy.freezes {
        if (f.from..f.to).contains(&now_ms) {
            out.push(Violation::Frozen {
                reason: f.reason.clone(),
                until: f.to,
            });
        }
    }
    if !policy.windows.is_empty() && !policy.windows.iter().any(|w| w.contains(now_ms)) {
        out.push(Violation::OutsideWindows {
            windows: policy.windows.iter().map(|w| w.text.clone()).collect(),
        });
    }
    out
}

// ---------------------------------------------------------------- parsing

/// A day, time, zone or date of a policy that cannot be read; each names
/// the text as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{item:?} is not a range of days like mon..fri")]
    NotADayRange { item: String },
    #[error("{item:?} is not a day (mon..sun)")]
    NotADay { item: String },
    #[error("{text:?} is not a time like \"09:00\"")]
    NotATime { text: String },
    #[error("{text:?}: bad hour")]
    BadHour { text: String },
    #[error("{text:?}: bad minute")]
    BadMinute { text: String },
    #[error("{text:?} is not a time of day")]
    NotATimeOfDay { text: String },
    #[error(
        "time zone {zone:?}: use UTC or a fixed offset like +02:00 (named zones are not supported)"
    )]
    NotAnOffset { zone: String },
    #[error("{text:?} is not a date (2025-12-20) or an RFC 3339 time")]
    NotADate { text: String },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn day(s: &str) -> Option<u8> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == s)
        .or_else(|| FULL_DAYS.iter().position(|d| *d == s))
        .map(|i| i as u8)
}

/// `mon`, `fri`, or a range `mon..fri` (wrapping: `fri..mon`).
fn days(items: &[String]) -> Result<Vec<u8>, PolicyError> {
    let mut out = Vec::new();
    for item in items {
        if let Some((a, b)) = item.split_once("..") {
            let (Some(a), Some(b)) = (day(a), day(b)) else {
                return Err(PolicyError::NotADayRange { item: item.clone() });
            };
            let mut d = a;
            loop {
                out.push(d);
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            out.push(day(item).ok_or_else(|| PolicyError::NotADay { item: item.clone() })?);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn clock(s: &str) -> Result<u32, PolicyError> {
    let text = || s.to_string();
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| PolicyError::NotATime { text: text() })?;
    let (h, m): (u32, u32) = (
        h.parse()
            .map_err(|_| PolicyError::BadHour { text: text() })?,
        m.parse()
            .map_err(|_| PolicyError::BadMinute { text: text() })?,
    );
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(PolicyError::NotATimeOfDay { text: text() });
    }
    Ok(h * 60 + m)
}

/// `UTC`, `Z`, or a fixed offset `+02:00` / `-0530`.
fn offset(s: &str) -> Result<i32, PolicyError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
        return Ok(0);
    }
    let bad = || PolicyError::NotAnOffset {
        zone: s.to_string(),
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i32 = digits[..2].parse().map_err(|_| bad())?;
    let m: i32 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

/// RFC 3339 (`2025-12-20T18:00:00Z`) or a date (`2025-12-20`, midnight UTC).
fn instant(s: &str) -> Result<i64, PolicyError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| PolicyError::NotADate {
            text: s.to_string(),
        })
}

/// Read `requires`, `windows` and `freezes` of one environment.
pub(crate) fn parse(ctx: &mut Ctx, f: &mut Fields<'_>) -> EnvPolicy {
    let mut p = EnvPolicy::default();
    if let Some(n) = f.get("requires") {
        let path = f.field("requires");
        if let Some(mut rf) = Fields::new(ctx, n, &path) {
            let passed = rf.required_string(ctx, "passed");
            let same_inputs = rf.string_list(ctx, "same_inputs");
            rf.finish(ctx);
            p.requires = Some(Requires {
                passed,
                same_inputs,
            });
        }
    }
    if let Some(n) = f.get("windows") {
        let path = f.field("windows");
        for (i, w) in list(ctx, n, &path).iter().enumerate() {
            let wp = format!("{path}[{i}]");
            if let Some(w) = window(ctx, w, &wp) {
                p.windows.push(w);
            }
        }
    }
    if let Some(n) = f.get("freezes") {
        let path = f.field("freezes");
        for (i, w) in list(ctx, n, &path).iter().enumerate() {
            let fp = format!("{path}[{i}]");
            let Some(mut ff) = Fields::new(ctx, w, &fp) else {
                continue;
            };
            let from = ff.required_string(ctx, "from");
            let to = ff.required_string(ctx, "to");
            let reason = ff
                .string(ctx, "reason")
                .unwrap_or_else(|| "change freeze".into());
            ff.finish(ctx);
            match (instant(&from), instant(&to)) {
                (Ok(a), Ok(b)) if a < b => p.freezes.push(Freeze {
                    from: a,
                    to: b,
                    reason,
                }),
                (Ok(_), Ok(_)) => ctx.err(w.pos, &fp, "a freeze ends after it starts"),
                (Err(e), _) => ctx.err(w.pos, &format!("{fp}.from"), e),
                (_, Err(e)) => ctx.err(w.pos, &format!("{fp}.to"), e),
            }
        }
    }
    p
}

fn window(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Window> {
    let mut f = Fields::new(ctx, node, path)?;
    let day_list = match f.get("days") {
        Some(n) if matches!(n.value, Value::Seq(_)) => string_list(ctx, n, &f.field("days")),
        Some(n) => match &n.value {
            Value::Str(s) => vec![s.clone()],
            _ => {
                ctx.err(
                    n.pos,
                    &f.field("days"),
                    "expected a list of days like [mon..fri]",
                );
                Vec::new()
            }
        },
        None => DAYS.iter().map(|d| d.to_string()).collect(),
    };
    let from = f.required_string(ctx, "from");
    let to = f.required_string(ctx, "to");
    let tz = f.string(ctx, "tz").unwrap_or_else(|| "UTC".into());
    f.finish(ctx);
    let mut ok = true;
    let mut report = |field: &str, e: PolicyError| {
        ctx.err(node.pos, &format!("{path}.{field}"), e);
        ok = false;
    };
    let days = days(&day_list).unwrap_or_else(|e| {
        report("days", e);
        Vec::new()
    });
    let from_m = clock(&from).unwrap_or_else(|e| {
        report("from", e);
        0
    });
    let to_m = clock(&to).unwrap_or_else(|e| {
        report("to", e);
        0
    });
    let offset_min = offset(&tz).unwrap_or_else(|e| {
        report("tz", e);
        0
    });
    ok.then(|| Window {
        text: format!("{} {from}-{to} {tz}", day_list.join(",")),
        days,
        from: from_m,
        to: to_m,
        offset_min,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn weekdays_9_to_16(offset_min: i32) -> Window {
        Window {
            days: days(&["mon..fri".into()]).unwrap(),
            from: 9 * 60,
            to: 16 * 60,
            offset_min,
            text: "mon..fri 09:00-16:00".into(),
        }
    }

    #[test]
    fn days_and_ranges() {
        assert_eq!(days(&["mon..fri".into()]).unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(days(&["fri..mon".into()]).unwrap(), vec![0, 4, 5, 6]);
        assert_eq!(days(&["sat".into(), "sun".into()]).unwrap(), vec![5, 6]);
        assert!(days(&["funday".into()]).is_err());
    }

    #[test]
    fn windows_in_utc_and_offsets() {
        let w = weekdays_9_to_16(0);
        // 2025-06-02 is a Monday.
        assert!(w.contains(at("2025-06-02T09:00:00Z")));
        assert!(w.contains(at("2025-06-02T15:59:00Z")));
        assert!(!w.contains(at("2025-06-02T16:00:00Z")));
        assert!(!w.contains(at("2025-06-02T08:59:00Z")));
        assert!(!w.contains(at("2025-06-07T10:00:00Z")), "saturday");
        // +02:00: 09:00 local is 07:00 UTC.
        let w = weekdays_9_to_16(120);
        assert!(w.contains(at("2025-06-02T07:00:00Z")));
        assert!(!w.contains(at("2025-06-02T14:30:00Z")));
        assert_eq!(offset("+05:30").unwrap(), 330);
        assert_eq!(offset("-0800").unwrap(), -480);
        assert_eq!(
            offset("Europe/Paris").unwrap_err().to_string(),
            "time zone \"Europe/Paris\": use UTC or a fixed offset like +02:00 (named zones are not supported)"
        );
    }

    #[test]
    fn overnight_windows_belong_to_their_start_day() {
        let w = Window {
            days: vec![4], // friday
            from: 22 * 60,
            to: 6 * 60,
            offset_min: 0,
            text: "fri 22:00-06:00".into(),
        };
        assert!(w.contains(at("2025-06-06T23:00:00Z")), "friday night");
        assert!(w.contains(at("2025-06-07T05:00:00Z")), "saturday early");
        assert!(!w.contains(at("2025-06-07T23:00:00Z")), "saturday night");
    }

    #[test]
    fn start_checks_windows_freezes_and_history() {
        let inputs = BTreeMap::from([
            ("version".to_string(), "1.2.3".to_string()),
            ("note".to_string(), "x".to_string()),
        ]);
        let policy = EnvPolicy {
            requires: Some(Requires {
                passed: "staging".into(),
                same_inputs: vec!["version".into()],
            }),
            windows: vec![weekdays_9_to_16(0)],
            freezes: vec![Freeze {
                from: at("2025-12-20T00:00:00Z"),
                to: at("2026-01-05T00:00:00Z"),
                reason: "year end".into(),
            }],
        };
        let staged = vec![BTreeMap::from([(
            "version".to_string(),
            "1.2.3".to_string(),
        )])];
        assert!(check_start(&policy, at("2025-06-02T10:00:00Z"), &inputs, &staged).is_empty());
        let v = check_start(&policy, at("2025-06-02T10:00:00Z"), &inputs, &[]);
        assert!(
            matches!(&v[..], [Violation::NotPassed { environment, .. }] if environment == "staging")
        );
        assert!(!v[0].breakable());
        assert!(v[0].to_string().contains("version=1.2.3"), "{}", v[0]);
        let other = vec![BTreeMap::from([(
            "version".to_string(),
            "1.2.2".to_string(),
        )])];
        assert_eq!(
            check_start(&policy, at("2025-06-02T10:00:00Z"), &inputs, &other).len(),
            1
        );
        let v = check_start(&policy, at("2025-06-02T20:00:00Z"), &inputs, &staged);
        assert!(matches!(&v[..], [Violation::OutsideWindows { .. }]));
        assert!(v[0].breakable());
        // 2025-12-22 is a Monday, inside the freeze and inside the window.
        let v = check_start(&policy, at("2025-12-22T10:00:00Z"), &inputs, &staged);
        assert!(matches!(&v[..], [Violation::Frozen { reason, .. }] if reason == "year end"));
        assert!(v[0].to_string().contains("2026-01-05"), "{}", v[0]);
    }

    #[test]
    fn instants_and_clocks() {
        assert_eq!(instant("2025-12-20").unwrap(), at("2025-12-20T00:00:00Z"));
        assert_eq!(
            instant("2025-12-20T18:00:00+02:00").unwrap(),
            at("2025-12-20T16:00:00Z")
        );
        assert!(instant("tomorrow").is_err());
        assert_eq!(clock("09:30").unwrap(), 570);
        assert_eq!(
            clock("25:00"),
            Err(PolicyError::NotATimeOfDay {
                text: "25:00".into()
            })
        );
    }

    #[test]
    fn secret_inputs_compare_with_the_seals_of_earlier_releases() {
        let policy = EnvPolicy {
            requires: Some(Requires {
                passed: "staging".into(),
                same_inputs: vec![],
            }),
            ..Default::default()
        };
        let inputs = BTreeMap::from([
            ("version".to_string(), "v1".to_string()),
            ("pw".to_string(), "hunter22".to_string()),
        ]);
        let shown = BTreeMap::from([
            ("version".to_string(), "v1".to_string()),
            ("pw".to_string(), "(secret)".to_string()),
        ]);
        let sealed = |v: &str| {
            BTreeMap::from([
                ("version".to_string(), "v1".to_string()),
                ("pw".to_string(), crate::runbook::secrets::seal(v, &[7; 16])),
            ])
        };
        let now = 0;
        assert!(
            check_start_hiding(&policy, now, &inputs, &shown, &[sealed("hunter22")]).is_empty()
        );
        let v = check_start_hiding(&policy, now, &inputs, &shown, &[sealed("other-pw")]);
        assert_eq!(v.len(), 1);
        let text = v[0].to_string();
        assert!(
            text.contains("pw=(secret)") && !text.contains("hunter22"),
            "{text}"
        );
    }
}
