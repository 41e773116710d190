//! Service checks against real loopback servers: PostgreSQL
//! (tests/support/start-postgres.sh), Redis (start-redis.sh), an OCI
//! registry with htpasswd auth (start-registry.sh), and a TLS server with a
//! private CA made by `openssl`. Secrets never appear in lines or reasons.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use flightdeck::backend::checks::Checker;
use flightdeck::backend::data::redis::{Conn, target};
use flightdeck::backend::process::CancelSignal;
use flightdeck::protocol::output::Stream;
use flightdeck::runbook::CheckSpec;
use flightdeck::runbook::data::*;
use flightdeck::runbook::progress::Outcome;

fn var(name: &str, script: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the service first: eval \"$(bash tests/support/{script})\""
        )
    })
}

fn pg_url() -> String {
    var("FLIGHTDECK_TEST_DATABASE_URL", "start-postgres.sh")
}

fn redis_url() -> String {
    var("FLIGHTDECK_TEST_REDIS_URL", "start-redis.sh")
}

async fn check(c: DataCheck) -> (Outcome, Vec<String>) {
    let mut lines = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        Checker::new().run(
            &CheckSpec::Data(c),
            &BTreeMap::new(),
            Some(Duration::from_secs(30)),
            CancelSignal::never(),
            |s, l| {
                assert_eq!(s, Stream::Info);
                lines.push(l)
            },
        ),
    )
    .await
    .expect("check hung");
    (outcome, lines)
}

fn passed(o: &Outcome, lines: &[String]) -> String {
    match o {
        Outcome::Success { note, .. } => note.clone().unwrap_or_default(),
        other => panic!("expected a pass, got {other:?}\n{}", lines.join("\n")),
    }
}

fn failed(o: &Outcome) -> String {
    match o {
        Outcome::Failure { reason, .. } => reason.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn pg(dsn: String) -> PostgresCheck {
    PostgresCheck {
        dsn,
        query: None,
        params: Vec::new(),
        expect: None,
        max_pool_usage: 80.0,
    }
}

// ---------------------------------------------------------------- postgres

#[tokio::test]
async fn postgres_answers_with_version_and_pool_headroom() {
    let (o, lines) = check(DataCheck::Postgres(pg(pg_url()))).await;
    let note = passed(&o, &lines);
    assert!(note.starts_with("PostgreSQL "), "{note}");
    let text = lines.join("\n");
    assert!(text.contains("SELECT 1 answered"), "{text}");
    assert!(text.contains("server version "), "{text}");
    assert!(text.contains("of max_connections"), "{text}");
}

#[tokio::test]
async fn postgres_query_is_compared_with_its_expected_result() {
    let mut c = pg(pg_url());
    c.query = Some("SELECT 40 + 2".into());
    c.expect = Some("42".into());
    let (o, lines) = check(DataCheck::Postgres(c.clone())).await;
    passed(&o, &lines);
    assert!(lines.iter().any(|l| l.contains("✓ result 42")), "{lines:?}");
    c.expect = Some("43".into());
    let (o, _) = check(DataCheck::Postgres(c)).await;
    assert_eq!(failed(&o), "query returned 42, expected 43");
}

/// A templated query gets its values as bind parameters: an input written
/// as SQL injection is compared as plain text and drops nothing.
#[tokio::test]
async fn postgres_query_values_are_bind_parameters() {
    use flightdeck::runbook::interpolate::Scope;
    use flightdeck::runbook::template::Templated;
    let table = format!("fd_values_{}", std::process::id());
    let url = pg_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let create = format!("CREATE TABLE IF NOT EXISTS {table} (v text)");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .unwrap();
    let evil = format!("'; DROP TABLE {table}; --");
    let mut scope = Scope::default();
    scope.inputs.insert("v".into(), evil.clone());
    let mut c = pg(url);
    c.query = Some("SELECT ${inputs.v}::text || '!'".into());
    c.expect = Some("${inputs.v}!".into());
    let CheckSpec::Data(DataCheck::Postgres(rendered)) = CheckSpec::Data(DataCheck::Postgres(c))
        .render(&scope)
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(rendered.query.as_deref(), Some("SELECT $1::text || '!'"));
    assert_eq!(rendered.params, vec![evil.clone()]);
    assert_eq!(rendered.expect, Some(format!("{evil}!")));
    let (o, lines) = check(DataCheck::Postgres(rendered)).await;
    passed(&o, &lines);
    // The table is still there.
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(&table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists.as_deref(), Some(table.as_str()));
    let drop = format!("DROP TABLE {table}");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_pool_above_the_threshold_fails() {
    let mut c = pg(pg_url());
    c.max_pool_usage = 0.0;
    let (o, _) = check(DataCheck::Postgres(c)).await;
    let r = failed(&o);
    assert!(r.starts_with("connection pool "), "{r}");
    assert!(r.contains("above 0%"), "{r}");
}

#[tokio::test]
async fn postgres_password_never_shows_when_it_cannot_connect() {
    // A closed port: the DSN is named in the reason, its password masked.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dsn = format!("postgres://app:Sup3rSecretPw@127.0.0.1:{port}/app");
    let (o, lines) = check(DataCheck::Postgres(pg(dsn))).await;
    let r = failed(&o);
    assert!(r.contains("postgres://app:***@127.0.0.1"), "{r}");
    assert!(r.contains("connection refused"), "{r}");
    for l in lines.iter().chain([&r]) {
        assert!(!l.contains("Sup3rSecretPw"), "{l}");
    }
}

// ---------------------------------------------------------------- redis

fn redis(address: String) -> RedisCheck {
    RedisCheck {
        address,
        password: None,
        expect_role: None,
        keys: Vec::new(),
    }
}

#[tokio::test]
async fn redis_pings_and_reports_role_and_memory() {
    let url = redis_url();
    let mut c = redis(url.clone());
    c.expect_role = Some("master".into());
    let (o, lines) = check(DataCheck::Redis(c)).await;
    let note = passed(&o, &lines);
    assert!(note.contains("role master"), "{note}");
    let text = lines.join("\n");
    assert!(text.contains("PING answered PONG"), "{text}");
    assert!(text.contains("used memory"), "{text}");
    // The password in the URL is masked in what is shown.
    let pw = target(&url, None).unwrap().password.unwrap();
    assert!(!text.contains(&pw), "{text}");
    assert!(text.contains(":***@"), "{text}");
}

#[tokio::test]
async fn redis_key_expectations() {
    let url = redis_url();
    let t = target(&url, None).unwrap();
    let mut conn = Conn::connect(&t.address).await.unwrap();
    conn.command(&["AUTH", t.password.as_deref().unwrap()])
        .await
        .unwrap();
    conn.command(&["SET", "fd:feature", "on"]).await.unwrap();
    conn.command(&["DEL", "fd:absent"]).await.unwrap();
    let mut c = redis(url.clone());
    c.keys = vec![
        ("fd:feature".into(), KeyExpect::Equals("on".into())),
        ("fd:absent".into(), KeyExpect::Missing),
    ];
    let (o, lines) = check(DataCheck::Redis(c.clone())).await;
    passed(&o, &lines);
    c.keys = vec![
        ("fd:feature".into(), KeyExpect::Equals("off".into())),
        ("fd:absent".into(), KeyExpect::Exists),
    ];
    let (o, _) = check(DataCheck::Redis(c)).await;
    assert_eq!(
        failed(&o),
        "fd:feature is \"on\", expected \"off\"; fd:absent is missing"
    );
}

#[tokio::test]
async fn redis_wrong_password_is_refused_and_masked() {
    let url = redis_url();
    let t = target(&url, None).unwrap();
    let wrong = "Wr0ngPassw0rd-xyz";
    let address = format!("redis://:{wrong}@{}", t.address);
    let (o, lines) = check(DataCheck::Redis(redis(address))).await;
    let r = failed(&o);
    assert!(r.starts_with("Redis refused the password"), "{r}");
    let text = lines.join("\n");
    assert!(text.contains("redis://:***@"), "{text}");
    for l in lines.iter().chain([&r]) {
        assert!(!l.contains(wrong), "{l}");
    }
    // The same with `password:` given apart from the address.
    let mut c = redis(t.address.clone());
    c.password = Some(wrong.into());
    let (o, lines) = check(DataCheck::Redis(c)).await;
    let r = failed(&o);
    for l in lines.iter().chain([&r]) {
        assert!(!l.contains(wrong), "{l}");
    }
    // And without any password: the server says it needs one.
    let (o, _) = check(DataCheck::Redis(redis(t.address))).await;
    let r = failed(&o);
    assert!(r.contains("NOAUTH"), "{r}");
}

#[tokio::test]
async fn redis_that_is_down_fails_with_a_clear_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (o, _) = check(DataCheck::Redis(redis(format!("127.0.0.1:{port}")))).await;
    assert_eq!(
        failed(&o),
        format!("could not connect to Redis at 127.0.0.1:{port}: connection refused")
    );
}

// ---------------------------------------------------------------- registry

fn registry() -> (String, String, String) {
    (
        var("FLIGHTDECK_TEST_REGISTRY_URL", "start-registry.sh"),
        var("FLIGHTDECK_TEST_REGISTRY_USER", "start-registry.sh"),
        var("FLIGHTDECK_TEST_REGISTRY_PASSWORD", "start-registry.sh"),
    )
}

#[tokio::test]
async fn registry_answers_with_good_credentials() {
    let (url, user, pw) = registry();
    let (o, lines) = check(DataCheck::Registry(RegistryCheck {
        url,
        username: Some(user.clone()),
        password: Some(pw.clone()),
    }))
    .await;
    let note = passed(&o, &lines);
    assert_eq!(note, format!("registry /v2/ answers 200 for {user}"));
    assert!(!lines.join("\n").contains(&pw));
}

#[tokio::test]
async fn registry_refuses_bad_credentials_with_a_clear_reason() {
    let (url, user, _) = registry();
    let wrong = "not-the-Passw0rd";
    let (o, lines) = check(DataCheck::Registry(RegistryCheck {
        url: url.clone(),
        username: Some(user.clone()),
        password: Some(wrong.into()),
    }))
    .await;
    let r = failed(&o);
    assert_eq!(
        r,
        format!("the registry refused the credentials of {user} (401 Unauthorized)")
    );
    for l in lines.iter().chain([&r]) {
        assert!(!l.contains(wrong), "{l}");
    }
    let (o, _) = check(DataCheck::Registry(RegistryCheck {
        url,
        username: None,
        password: None,
    }))
    .await;
    assert!(failed(&o).contains("needs credentials"));
}

// ---------------------------------------------------------------- tls

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA and a leaf for `localhost` valid `days` days, by `openssl`.
    fn new(days: u32) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let sh = format!(
            r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=fd-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days {days} -extfile ext.cnf 2>/dev/null
"#
        );
        let st = Command::new("sh")
            .arg("-c")
            .arg(sh)
            .current_dir(dir.path())
            .status()
            .expect("openssl is needed for the TLS tests");
        assert!(st.success(), "openssl failed");
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A TLS server on loopback that completes handshakes.
    async fn serve(&self) -> std::net::SocketAddr {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.path("leaf.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(self.path("leaf.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else {
                    return;
                };
                let a = acceptor.clone();
                tokio::spawn(async move {
                    let _ = a.accept(s).await;
                });
            }
        });
        addr
    }
}

#[tokio::test]
async fn tls_certificate_days_to_expiry() {
    let pki = Pki::new(20);
    let addr = pki.serve().await;
    let tls = |min_days, ca: bool| TlsCheck {
        address: format!("localhost:{}", addr.port()),
        server_name: None,
        min_days,
        ca_file: ca.then(|| pki.path("ca.pem")),
    };
    let (o, lines) = check(DataCheck::Tls(tls(14, true))).await;
    let note = passed(&o, &lines);
    // 20 days from openssl's clock, read a moment later: 19 or 20.
    assert!(
        note.starts_with("certificate valid, 19 days to expiry")
            || note.starts_with("certificate valid, 20 days to expiry"),
        "{note}"
    );
    let (o, _) = check(DataCheck::Tls(tls(30, true))).await;
    let r = failed(&o);
    assert!(
        r.contains("expires in 19 days") || r.contains("expires in 20 days"),
        "{r}"
    );
    assert!(r.contains("under the 30 days required"), "{r}");
    // Not signed by a trusted root: the handshake itself fails.
    let (o, _) = check(DataCheck::Tls(tls(14, false))).await;
    let r = failed(&o);
    assert!(r.contains("is not valid for localhost"), "{r}");
    // The wrong name.
    let mut c = tls(14, true);
    c.server_name = Some("db.example".into());
    let (o, _) = check(DataCheck::Tls(c)).await;
    assert!(failed(&o).contains("not valid for db.example"));
}
