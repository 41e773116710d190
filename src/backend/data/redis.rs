//! The Redis check: AUTH, PING, INFO (role, memory), key expectations.
//! A few RESP2 commands over one TCP connection; no client library needed.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::error::DataError;
use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::{KeyExpect, RedisCheck, percent_decode, redact_url};
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest bulk reply read.
const MAX_BULK: i64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

/// Where to connect and how to log in, from `redis://[user:pw@]host:port[/db]`
/// or `host:port`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub address: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub db: Option<u32>,
}

pub fn target(address: &str, password: Option<&str>) -> Result<Target, DataError> {
    let rest = match address.split_once("://") {
        Some(("redis", rest)) => rest,
        Some((scheme, _)) => return Err(DataError::RedisScheme(scheme.to_string())),
        None => address,
    };
    let (auth, hostpart) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let (host, db) = match hostpart.split_once('/') {
        Some((h, d)) if !d.is_empty() => (
            h,
            Some(
                d.parse::<u32>()
                    .map_err(|_| DataError::RedisDatabase(d.to_string()))?,
            ),
        ),
        Some((h, _)) => (h, None),
        None => (hostpart, None),
    };
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:6379")
    };
    let (mut user, mut pw) = (None, None);
    if let Some(a) = auth {
        match a.split_once(':') {
            Some((u, p)) => {
                if !u.is_empty() {
                    user = Some(percent_decode(u));
                }
                if !p.is_empty() {
                    pw = Some(percent_decode(p));
                }
            }
            None if !a.is_empty() => pw = Some(percent_decode(a)),
            None => {}
        }
    }
    if let Some(p) = password {
        pw = Some(p.to_string());
    }
    Ok(Target {
        address: host,
        user,
        password: pw,
        db,
    })
}

pub struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    pub async fn connect(address: &str) -> Result<Conn, DataError> {
        match tokio::time::timeout(TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(s)) => Ok(Conn {
                r: BufReader::new(s),
            }),
            Ok(Err(source)) => Err(DataError::RedisConnect {
                address: address.to_string(),
                source,
            }),
            Err(_) => Err(DataError::RedisNoAnswer {
                address: address.to_string(),
                after: TIMEOUT,
            }),
        }
    }

    pub async fn command(&mut self, args: &[&str]) -> Result<Reply, DataError> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        let io = async {
            self.r.get_mut().write_all(&buf).await?;
            read_reply(&mut self.r).await
        };
        match tokio::time::timeout(TIMEOUT, io).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(DataError::RedisIo(e)),
            Err(_) => Err(DataError::RedisTimeout {
                command: args.first().copied().unwrap_or_default().to_string(),
                after: TIMEOUT,
            }),
        }
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

async fn read_line(r: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_reply(
    r: &mut BufReader<TcpStream>,
) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Reply>> + Send + '_>> {
    Box::pin(async move {
        let line = read_line(r).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => rest
                .parse()
                .map(Reply::Int)
                .map_err(|_| bad("bad integer reply")),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad("bad bulk length"))?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                if n > MAX_BULK {
                    return Err(bad("bulk reply too large"));
                }
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf).await?;
                buf.truncate(n as usize);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad("bad array length"))?;
                let mut items = Vec::new();
                for _ in 0..n.clamp(0, 1024) {
                    items.push(read_reply(r).await?);
                }
                Ok(Reply::Array(items))
            }
            _ => Err(bad("not a Redis reply")),
        }
    })
}

fn text(r: &Reply) -> String {
    match r {
        Reply::Simple(s) | Reply::Error(s) => s.clone(),
        Reply::Int(i) => i.to_string(),
        Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        Reply::Bulk(None) => "(nil)".into(),
        Reply::Array(a) => format!("[{} items]", a.len()),
    }
}

/// `field:value` lines of `INFO`.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

pub async fn check(c: &RedisCheck, say: &mut Say<'_>) -> Outcome {
    let t = match target(&c.address, c.password.as_deref()) {
        Ok(t) => t,
        Err(e) => return failure(e),
    };
    say.info(format!("connecting to Redis at {}", redact_url(&c.address)));
    let start = tokio::time::Instant::now();
    let mut conn = match Conn::connect(&t.address).await {
        Ok(c) => c,
        Err(e) => return failure(e),
    };
    if let Some(pw) = &t.password {
        let mut args = vec!["AUTH"];
        if let Some(u) = &t.user {
            args.push(u);
        }
        args.push(pw);
        match conn.command(&args).await {
            Ok(Reply::Simple(_)) => say.info("✓ authenticated"),
            Ok(r) => return failure(format!("Redis refused the password: {}", text(&r))),
            Err(e) => return failure(e),
        }
    }
    if let Some(db) = t.db {
        let db = db.to_string();
        match conn.command(&["SELECT", &db]).await {
            Ok(Reply::Simple(_)) => {}
            Ok(r) => return failure(format!("SELECT {db}: {}", text(&r))),
            Err(e) => return failure(e),
        }
    }
    match conn.command(&["PING"]).await {
        Ok(Reply::Simple(s)) if s == "PONG" => say.info(format!(
            "✓ PING answered PONG in {}",
            format_duration(start.elapsed())
        )),
        Ok(r) => return failure(format!("PING answered {}", text(&r))),
        Err(e) => return failure(e),
    }
    let mut failures = Vec::new();
    let (mut role, mut memory, mut version) = (String::new(), String::new(), String::new());
    match conn.command(&["INFO"]).await {
        Ok(r @ Reply::Bulk(Some(_))) => {
            let info = text(&r);
            version = info_field(&info, "redis_version")
                .unwrap_or("?")
                .to_string();
            role = info_field(&info, "role").unwrap_or("?").to_string();
            memory = info_field(&info, "used_memory_human")
                .or_else(|| info_field(&info, "used_memory"))
                .unwrap_or("?")
                .to_string();
            say.info(format!(
                "Redis {version} · role {role} · used memory {memory}"
            ));
        }
        Ok(r) => say.info(format!("INFO answered {}", text(&r))),
        Err(e) => return failure(e),
    }
    if let Some(want) = &c.expect_role {
        if &role == want {
            say.info(format!("✓ role {role}"));
        } else {
            say.info(format!("✗ role {role} (expected {want})"));
            failures.push(format!("role is {role}, expected {want}"));
        }
    }
    for (key, want) in &c.keys {
        let got = match conn.command(&["GET", key]).await {
            Ok(Reply::Bulk(b)) => b.map(|b| String::from_utf8_lossy(&b).into_owned()),
            Ok(Reply::Error(e)) if e.starts_with("WRONGTYPE") => Some("(not a string)".into()),
            Ok(r) => return failure(format!("GET {key}: {}", text(&r))),
            Err(e) => return failure(e),
        };
        let (ok, line) = match (want, &got) {
            (KeyExpect::Exists, Some(_)) => (true, format!("{key} exists")),
            (KeyExpect::Exists, None) => (false, format!("{key} is missing")),
            (KeyExpect::Missing, None) => (true, format!("{key} is absent")),
            (KeyExpect::Missing, Some(_)) => (false, format!("{key} exists, expected absent")),
            (KeyExpect::Equals(w), Some(g)) if g == w => (true, format!("{key} = {w:?}")),
            (KeyExpect::Equals(w), Some(g)) => (false, format!("{key} is {g:?}, expected {w:?}")),
            (KeyExpect::Equals(w), None) => (false, format!("{key} is missing, expected {w:?}")),
        };
        say.info(format!("{} {line}", if ok { "✓" } else { "✗" }));
        if !ok {
            failures.push(line);
        }
    }
    if failures.is_empty() {
        success(format!(
            "Redis {version} answers PING (role {role}, memory {memory})"
        ))
    } else {
        failure(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = target("redis://:p%40ss@127.0.0.1:7000/2", None).unwrap();
        assert_eq!(t.address, "127.0.0.1:7000");
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.db, Some(2));
        let t = target("cache:6380", Some("x")).unwrap();
        assert_eq!(
            (t.address.as_str(), t.password.as_deref()),
            ("cache:6380", Some("x"))
        );
        assert_eq!(target("redis://h", None).unwrap().address, "h:6379");
        assert!(target("rediss://h", None).is_err());
    }

    #[test]
    fn info_fields() {
        let info = "# Server\r\nredis_version:7.0.15\r\nrole:master\r\n";
        assert_eq!(info_field(info, "role"), Some("master"));
        assert_eq!(info_field(info, "redis_version"), Some("7.0.15"));
    }
}
