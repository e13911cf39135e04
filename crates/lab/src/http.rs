//! Minimal HTTP/1.0 client for the etcd v3 JSON gateway and Patroni's REST API. HTTP/1.0 with
//! `Connection: close` keeps the server from chunking, so reading to EOF is the whole body; one TCP
//! connection per request is also what makes a dead endpoint fail fast in the write probe.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

pub fn parse_response(raw: &[u8]) -> Result<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("HTTP response without header end")?;
    let status_line = head.lines().next().context("empty HTTP response")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad HTTP status line {status_line:?}"))?;
    Ok(Response {
        status,
        body: body.to_string(),
    })
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response> {
    let fut = async {
        let mut s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        s.set_nodelay(true)?;
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::with_capacity(1024);
        s.read_to_end(&mut buf).await?;
        parse_response(&buf)
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => bail!("{method} http://{addr}{path}: timed out after {timeout:?}"),
    }
}

pub async fn get_json(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    let r = request(addr, "GET", path, None, timeout).await?;
    let v = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    Ok((r.status, v))
}

pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(u16, serde_json::Value)> {
    let r = request(addr, "POST", path, Some(&body.to_string()), timeout).await?;
    let v = serde_json::from_str(&r.body)
        .with_context(|| format!("non-JSON reply from {addr}{path}: {}", r.body))?;
    Ok((r.status, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r =
            parse_response(b"HTTP/1.0 503 Service Unavailable\r\nX: y\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!(
            r,
            Response {
                status: 503,
                body: "{\"a\":1}".into()
            }
        );
        assert!(parse_response(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
