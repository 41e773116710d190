//! What the store knows about how each sign-off named its person: the
//! `identity` mode it was recorded under, its signature, and (PostgreSQL)
//! the role of the session that wrote it.

use sqlx::Row;

use super::error::StoreError;
use super::{Backend, Store};
use crate::runbook::gates::Signoff;

/// One sign-off row with its identity evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignoffIdentity {
    pub release_id: String,
    pub signoff: Signoff,
    pub signature: Option<String>,
    /// `claim`, `signed` or `database`, as recorded.
    pub identity: String,
    /// The PostgreSQL role that wrote the row (`None` on SQLite).
    pub db_user: Option<String>,
}

impl Store {
    /// The role this session authenticated as (PostgreSQL only).
    pub async fn session_user(&self) -> Result<Option<String>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let who: String = sqlx::query_scalar("SELECT CAST(session_user AS TEXT)")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("asking the database who this session is"))?;
        Ok(Some(who))
    }

    /// Every sign-off with its identity evidence, in journal order.
    pub async fn signoff_identities(&self) -> Result<Vec<SignoffIdentity>, StoreError> {
        self.identities_where(None).await
    }

    /// The sign-offs of one release with their identity evidence.
    pub async fn release_signoff_identities(
        &self,
        release_id: &str,
    ) -> Result<Vec<SignoffIdentity>, StoreError> {
        self.identities_where(Some(release_id)).await
    }

    async fn identities_where(
        &self,
        release_id: Option<&str>,
    ) -> Result<Vec<SignoffIdentity>, StoreError> {
        const COLUMNS: &str = "SELECT release_id, gate, person, host, role, decision, comment, \
             approved_hash, at, signature, identity, db_user FROM signoffs";
        let query = match release_id {
            Some(id) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "{COLUMNS} WHERE release_id = $1 ORDER BY audit_seq"
            )))
            .bind(id.to_string()),
            None => sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY audit_seq"))),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("reading sign-offs"))?;
        rows.iter()
            .map(|row| {
                let c = StoreError::corrupt("a signoffs row");
                Ok(SignoffIdentity {
                    release_id: row.try_get("release_id").map_err(&c)?,
                    signoff: super::signoff_rows::read(row)?,
                    signature: row.try_get("signature").map_err(&c)?,
                    identity: row.try_get("identity").map_err(&c)?,
                    db_user: row.try_get("db_user").map_err(&c)?,
                })
            })
            .collect()
    }
}

/// Has every migration of `migrator` been applied already?
pub(super) async fn schema_current(
    pool: &sqlx::AnyPool,
    migrator: &sqlx::migrate::Migrator,
) -> bool {
    let applied: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(v) => v,
            Err(_) => return false,
        };
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .all(|m| applied.contains(&m.version))
}
