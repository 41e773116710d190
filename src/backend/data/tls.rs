//! The TLS check: a handshake that verifies the certificate (trusted
//! chain, name, dates), then the days left before it expires.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::DataError;
use crate::backend::outcome::{Say, failure, success};
use crate::runbook::data::TlsCheck;
use crate::runbook::duration::format_duration;
use crate::runbook::progress::Outcome;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Seconds since the epoch at which a DER certificate expires, and its subject.
pub fn not_after(der: &[u8]) -> Result<(i64, String), DataError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| DataError::Certificate(e.to_string()))?;
    Ok((
        cert.validity().not_after.timestamp(),
        cert.subject().to_string(),
    ))
}

fn config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, DataError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|source| DataError::CaFileRead {
                path: path.to_string(),
                source,
            })?
            .collect::<Result<_, _>>()
            .map_err(|source| DataError::CaFilePem {
                path: path.to_string(),
                source,
            })?;
        if certs.is_empty() {
            return Err(DataError::CaFileEmpty(path.to_string()));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|source| DataError::CaFileCertificate {
                    path: path.to_string(),
                    source,
                })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(DataError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

pub async fn check(c: &TlsCheck, say: &mut Say<'_>) -> Outcome {
    let host = match c.address.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h.trim_matches(['[', ']']).to_string(),
        _ => return failure(format!("{:?}: give host:port", c.address)),
    };
    let name_text = c.server_name.clone().unwrap_or(host);
    let name = match ServerName::try_from(name_text.clone()) {
        Ok(n) => n,
        Err(e) => return failure(format!("{name_text:?} is not a server name: {e}")),
    };
    let cfg = match config(c.ca_file.as_deref()) {
        Ok(cfg) => cfg,
        Err(e) => return failure(e),
    };
    say.info(format!("TLS handshake with {} as {name_text}", c.address));
    let start = tokio::time::Instant::now();
    let tcp = match tokio::time::timeout(TIMEOUT, TcpStream::connect(&c.address)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return failure(format!("could not connect to {}: {e}", c.address)),
        Err(_) => {
            return failure(format!(
                "could not connect to {}: no answer within {}",
                c.address,
                format_duration(TIMEOUT)
            ));
        }
    };
    let tls = match tokio::time::timeout(
        TIMEOUT,
        TlsConnector::from(Arc::new(cfg)).connect(name, tcp),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return failure(format!(
                "the certificate of {} is not valid for {name_text}: {e}",
                c.address
            ));
        }
        Err(_) => {
            return failure(format!(
                "no TLS handshake within {}",
                format_duration(TIMEOUT)
            ));
        }
    };
    let (_, conn) = tls.get_ref();
    let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) else {
        return failure("the server sent no certificate");
    };
    let (expires, subject) = match not_after(leaf.as_ref()) {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    let now = chrono::Utc::now().timestamp();
    let days = (expires - now).div_euclid(86_400);
    let when = chrono::DateTime::from_timestamp(expires, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    say.info(format!(
        "✓ handshake in {}; certificate {subject} is trusted",
        format_duration(start.elapsed())
    ));
    if days < c.min_days as i64 {
        say.info(format!(
            "✗ expires {when}: {days} days left (at least {} wanted)",
            c.min_days
        ));
        return failure(format!(
            "the certificate of {} expires in {days} days ({when}), under the {} days required",
            c.address, c.min_days
        ));
    }
    say.info(format!(
        "✓ expires {when}: {days} days left (at least {})",
        c.min_days
    ));
    success(format!("certificate valid, {days} days to expiry ({when})"))
}
