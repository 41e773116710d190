//! The application's own health endpoints, shaped as each guide shows them
//! (SlotWise `{"status":"healthy","checks":{...}}`, Architect
//! `{"components":{...}}`, DictaMesh `/health/live` and `/health/ready`),
//! in front of `flightdeck demo-service`, which answers everything else
//! (smoke routes, /metrics, the Prometheus API). Included by the guide
//! tests with `#[path]`; the demo service itself is left as it is.
#![allow(dead_code)]

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A path answered here: (path, status, JSON body).
pub type Route = (&'static str, u16, serde_json::Value);

/// Serve `routes` on a free loopback port and forward every other request
/// to `upstream` (`http://127.0.0.1:PORT`). Returns the base URL.
pub async fn start(upstream: Option<String>, routes: Vec<Route>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    let upstream = upstream.map(|u| u.trim_start_matches("http://").to_string());
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = handle(s, &routes, upstream.as_deref()).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn handle(mut s: TcpStream, routes: &[Route], upstream: Option<&str>) -> std::io::Result<()> {
    // The whole request: head, then Content-Length bytes of body.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let target = head.split(' ').nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    if let Some((_, status, body)) = routes.iter().find(|(p, _, _)| *p == path) {
        let body = body.to_string();
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(reply.as_bytes()).await?;
        return s.shutdown().await;
    }
    let Some(up) = upstream else {
        let reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        s.write_all(reply.as_bytes()).await?;
        return s.shutdown().await;
    };
    let mut u = TcpStream::connect(up).await?;
    u.write_all(&buf).await?;
    let mut answer = Vec::new();
    u.read_to_end(&mut answer).await?;
    s.write_all(&answer).await?;
    s.shutdown().await
}
