//! The deploy lock (docs/semantics.md, "Deploy lock"): one terminal drives a
//! release at a time. A lease has a holder, a host and an expiry taken from
//! the DATABASE clock (so skewed laptop clocks do not matter), and is renewed
//! while held. Every change of holder bumps a fencing token; the driver's
//! journal writes carry it and `check_fence` refuses a stale one inside the
//! write transaction.
//!
//! Taking over a live lease is impossible; taking over an expired one is
//! explicit (`takeover = true`) and journaled in the audit log. One
//! exception, for crashes: the same person on the same host may reclaim a
//! lease whose holding process is gone (its pid no longer exists).

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::error::{Fence, StoreError};
use super::{Backend, Store};

/// Default lease period and renewal interval.
pub const LEASE_TTL_MS: i64 = 10_000;
pub const RENEW_EVERY_MS: u64 = 3_000;

/// Who asks for the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    pub person: String,
    pub host: String,
    /// Random per process: tells two terminals of one person apart.
    pub session: String,
    pub pid: i64,
}

/// A lease as read, with the database's clock at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub release_id: String,
    pub holder: String,
    pub host: String,
    pub session: String,
    pub pid: i64,
    pub token: i64,
    pub acquired_at: i64,
    pub expires_at: i64,
    /// Given back cleanly (the driver quit).
    pub released: bool,
    /// The database clock when this was read (unix ms).
    pub db_now: i64,
}

impl Lease {
    /// Nobody holds it: released, or not renewed in time.
    pub fn free(&self) -> bool {
        self.released || self.expires_at <= self.db_now
    }
    /// Milliseconds until it expires (negative: expired that long ago).
    pub fn remaining_ms(&self) -> i64 {
        self.expires_at - self.db_now
    }
}

/// The answer to `acquire_lease`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// You drive; the lease carries your token.
    Driving(Lease),
    /// Someone else's lease is live: watch.
    Busy(Lease),
    /// Someone else's lease expired: it may be taken over explicitly.
    Expired(Lease),
}

/// SQL for "now" in unix milliseconds on the database's clock.
pub(crate) fn db_now_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    }
}

fn lease_row(row: &AnyRow, release_id: &str) -> Result<Lease, StoreError> {
    let c = StoreError::corrupt("a release_leases row");
    Ok(Lease {
        release_id: release_id.to_string(),
        holder: row.try_get("holder").map_err(&c)?,
        host: row.try_get("host").map_err(&c)?,
        session: row.try_get("session").map_err(&c)?,
        pid: row.try_get("pid").map_err(&c)?,
        token: row.try_get("token").map_err(&c)?,
        acquired_at: row.try_get("acquired_at").map_err(&c)?,
        expires_at: row.try_get("expires_at").map_err(&c)?,
        released: row.try_get::<i64, _>("released").map_err(&c)? != 0,
        db_now: row.try_get("db_now").map_err(&c)?,
    })
}

fn select_sql(backend: Backend) -> String {
    format!(
        "SELECT holder, host, session, pid, token, acquired_at, expires_at, released, \
         {} AS db_now FROM release_leases WHERE release_id = $1",
        db_now_sql(backend)
    )
}

async fn read_in(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    release_id: &str,
) -> Result<Option<Lease>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(select_sql(backend)))
        .bind(release_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::query(format!(
            "reading the lease of {release_id}"
        )))?;
    row.map(|r| lease_row(&r, release_id)).transpose()
}

/// Inside a journal write: refuse unless `token` is the release's current,
/// unreleased lease token.
pub(crate) async fn check_fence(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    release_id: &str,
    token: i64,
) -> Result<(), StoreError> {
    match read_in(tx, backend, release_id).await? {
        None => Err(StoreError::Fenced(Fence::NoLease {
            release: release_id.to_string(),
            token,
        })),
        Some(l) if l.token != token => Err(StoreError::Fenced(taken_over(&l, release_id, token))),
        Some(l) if l.released => Err(StoreError::Fenced(Fence::GivenBack(release_id.to_string()))),
        Some(_) => Ok(()),
    }
}

/// `lease` (the release's now) took over from the holder of token `yours`.
fn taken_over(lease: &Lease, release_id: &str, yours: i64) -> Fence {
    Fence::TakenOver {
        release: release_id.to_string(),
        holder: lease.holder.clone(),
        host: lease.host.clone(),
        token: lease.token,
        yours,
    }
}

/// Is process `pid` alive on this host? A zombie (dead, not yet reaped;
/// a container's init may never reap it) is not: kill(2) still finds it,
/// so /proc's state has the last word.
fn pid_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

/// "pid (comm) state ...": comm may hold spaces or ')', so the state is the
/// first field after the last ')'. Unreadable: not known to be a zombie.
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|s| s == "Z" || s == "X")
        })
        .unwrap_or(false)
}

impl Store {
    /// The release's lease as it stands, if it ever had one.
    pub async fn lease(&self, release_id: &str) -> Result<Option<Lease>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(select_sql(self.backend)))
            .bind(release_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(format!(
                "reading the lease of {release_id}"
            )))?;
        row.map(|r| lease_row(&r, release_id)).transpose()
    }

    /// Try to drive `release_id`. Free (never held, given back) or held by
    /// this very session: acquired. Held by a dead process of the same
    /// person on this host: reclaimed. Live: `Busy`. Expired: `Expired`,
    /// unless `takeover`, which takes it (journaled). Each change of holder
    /// bumps the token and writes an audit entry.
    pub async fn acquire_lease(
        &self,
        release_id: &str,
        me: &Claimant,
        ttl_ms: i64,
        takeover: bool,
    ) -> Result<Acquired, StoreError> {
        let _serial = self.append.lock().await;
        let mut tx = self.begin_write().await?;
        let current = read_in(&mut tx, self.backend, release_id).await?;
        let (kind, previous) = match &current {
            None => ("lease_acquired", None),
            Some(l) if l.session == me.session && !l.released => ("lease_renewed", None),
            Some(l) if l.released => ("lease_acquired", Some(l.clone())),
            Some(l)
                if l.holder == me.person
                    && l.host == me.host
                    && l.session != me.session
                    && !pid_alive(l.pid) =>
            {
                ("lease_reclaimed", Some(l.clone()))
            }
            Some(l) if !l.free() => return Ok(Acquired::Busy(l.clone())),
            Some(l) if takeover => ("lease_taken_over", Some(l.clone())),
            Some(l) => return Ok(Acquired::Expired(l.clone())),
        };
        let now_sql = db_now_sql(self.backend);
        let token = match &current {
            Some(l) if kind == "lease_renewed" => l.token,
            Some(l) => l.token + 1,
            None => 1,
        };
        let sql = if current.is_none() {
            format!(
                "INSERT INTO release_leases (release_id, holder, host, acquired_at, expires_at, \
                 token, session, pid, released) VALUES ($1, $2, $3, {now_sql}, {now_sql} + $4, $5, $6, $7, 0)"
            )
        } else {
            format!(
                "UPDATE release_leases SET holder = $2, host = $3, acquired_at = {now_sql}, \
                 expires_at = {now_sql} + $4, token = $5, session = $6, pid = $7, released = 0 \
                 WHERE release_id = $1"
            )
        };
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(release_id)
            .bind(&me.person)
            .bind(&me.host)
            .bind(ttl_ms)
            .bind(token)
            .bind(&me.session)
            .bind(me.pid)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(format!(
                "taking the lease of {release_id}"
            )))?;
        let mut head = None;
        if kind != "lease_renewed" {
            let detail = json!({
                "token": token,
                "holder": me.person,
                "host": me.host,
                "previous": previous.as_ref().map(|p| json!({
                    "holder": p.holder, "host": p.host, "token": p.token,
                    "released": p.released, "expired_ms_ago": -p.remaining_ms(),
                })),
            })
            .to_string();
            head = Some(
                self.audit_in(&mut tx, release_id, kind, &detail, &me.person, &me.host)
                    .await?,
            );
        }
        super::changes::in_tx(&mut tx, self.backend, release_id, "lease").await?;
        let lease = read_in(&mut tx, self.backend, release_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the lease vanished while taken".into()))?;
        tx.commit().await.map_err(StoreError::query(format!(
            "taking the lease of {release_id}"
        )))?;
        if let Some((seq, mac)) = head {
            self.saw_head(seq, &mac);
        }
        Ok(Acquired::Driving(lease))
    }

    /// Extend a held lease by `ttl_ms` from the database's now. Fails with
    /// `Fenced` when the token is no longer this session's (taken over).
    pub async fn renew_lease(
        &self,
        release_id: &str,
        me: &Claimant,
        token: i64,
        ttl_ms: i64,
    ) -> Result<Lease, StoreError> {
        let (mut tx, done) = self
            .update_own_lease(
                release_id,
                me,
                token,
                ("expires_at = {now} + $1", ttl_ms),
                "renewing the lease",
                format!("renewing the lease of {release_id}"),
            )
            .await?;
        let lease = read_in(&mut tx, self.backend, release_id).await?;
        if done == 0 {
            return Err(StoreError::Fenced(match lease {
                Some(l) if l.token != token => taken_over(&l, release_id, token),
                _ => Fence::NotYours(release_id.to_string()),
            }));
        }
        super::changes::in_tx(&mut tx, self.backend, release_id, "lease").await?;
        tx.commit()
            .await
            .map_err(StoreError::query("renewing the lease"))?;
        lease.ok_or_else(|| StoreError::Corrupt("the lease vanished while renewed".into()))
    }

    /// Give the lease back (the driver quits): others may drive at once.
    pub async fn release_lease(
        &self,
        release_id: &str,
        me: &Claimant,
        token: i64,
    ) -> Result<(), StoreError> {
        let (mut tx, _) = self
            .update_own_lease(
                release_id,
                me,
                token,
                ("released = 1, expires_at = {now} + $1", 0),
                "giving the lease back",
                format!("giving back the lease of {release_id}"),
            )
            .await?;
        super::changes::in_tx(&mut tx, self.backend, release_id, "lease").await?;
        tx.commit()
            .await
            .map_err(StoreError::query("giving the lease back"))
    }

    /// Set `set` (`{now}`: the database clock, `$1`: `ms`) on this
    /// session's live lease of `release_id` with `token`, in a transaction
    /// left open for the caller; with the rows changed (0: not ours).
    /// `what` and `what_of` name the write in errors.
    async fn update_own_lease(
        &self,
        release_id: &str,
        me: &Claimant,
        token: i64,
        (set, ms): (&str, i64),
        what: &str,
        what_of: String,
    ) -> Result<(Transaction<'static, Any>, u64), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::query(what))?;
        let set = set.replace("{now}", db_now_sql(self.backend));
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE release_leases SET {set} \
             WHERE release_id = $2 AND token = $3 AND session = $4 AND released = 0"
        )))
        .bind(ms)
        .bind(release_id)
        .bind(token)
        .bind(&me.session)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(what_of))?;
        Ok((tx, done.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pid_is_alive_and_nonsense_is_not() {
        assert!(pid_alive(i64::from(std::process::id())));
        assert!(!pid_alive(0));
        assert!(!pid_alive(-5));
        assert!(!pid_alive(i64::from(i32::MAX)));
    }

    #[test]
    fn a_zombie_is_dead() {
        // A child that exited and is not reaped yet is a zombie.
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: signal 0 only checks existence.
        assert_eq!(unsafe { libc::kill(pid, 0) }, 0, "kill(2) still finds it");
        assert!(!pid_alive(i64::from(pid)));
        let mut child = child;
        child.wait().unwrap();
        assert!(!pid_alive(i64::from(pid)));
    }

    #[test]
    fn lease_freedom() {
        let mut l = Lease {
            release_id: "r".into(),
            holder: "a".into(),
            host: "h".into(),
            session: "s".into(),
            pid: 1,
            token: 1,
            acquired_at: 0,
            expires_at: 10_000,
            released: false,
            db_now: 5_000,
        };
        assert!(!l.free());
        assert_eq!(l.remaining_ms(), 5_000);
        l.db_now = 10_000;
        assert!(l.free());
        l.db_now = 0;
        l.released = true;
        assert!(l.free());
    }
}
