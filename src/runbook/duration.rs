//! Human durations: "500ms", "30s", "5m", "1h30m".

use std::time::Duration;

/// Why a text is not a duration; each names the text it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("{text:?} is not a duration (use e.g. 500ms, 30s, 5m, 1h)")]
    NotADuration { text: String },
    #[error("{text:?}: number too large")]
    TooLarge { text: String },
    #[error("{text:?}: unknown unit {unit:?} (use ms, s, m or h)")]
    UnknownUnit { text: String, unit: String },
}

pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::NotADuration { text: text.into() });
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::TooLarge { text: text.into() })?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" | "" if rest.is_empty() => Duration::from_secs(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => {
                return Err(DurationError::UnknownUnit {
                    text: text.into(),
                    unit: unit.into(),
                });
            }
        };
        total = total.saturating_add(d);
    }
    Ok(total)
}

/// Short human form for screens: "850ms", "12s", "3m05s", "1h02m".
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s < 60 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    if s < 3600 {
        return format!("{}m{:02}s", s / 60, s % 60);
    }
    format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("5 minutes").is_err());
        assert_eq!(
            parse_duration("m"),
            Err(DurationError::NotADuration { text: "m".into() })
        );
        assert_eq!(
            parse_duration("5d").unwrap_err().to_string(),
            "\"5d\": unknown unit \"d\" (use ms, s, m or h)"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_millis(12_300)), "12.3s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
    }
}
