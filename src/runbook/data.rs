//! Data and verification step kinds: service checks, migrations, backups,
//! smoke suites, load, metric checks, notifications.

/// Steps that are not plain commands or checks: `migrate`, `backup`, ...
#[derive(Debug, Clone, PartialEq)]
pub enum DataAction {}

/// `check: { postgres | redis | registry | tls: ... }`
#[derive(Debug, Clone, PartialEq)]
pub enum DataCheck {}

impl DataAction {
    pub fn kind_name(&self) -> &'static str {
        match *self {}
    }
}

impl DataCheck {
    pub fn kind_name(&self) -> &'static str {
        match *self {}
    }
}
