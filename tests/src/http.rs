//! A minimal HTTP/1.1 GET over loopback, enough to probe the server's plain endpoints.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Context, TestResult};

/// A response: status code, lower-cased headers, body.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// GETs `path` from `addr` (an IP:port), giving up after ten seconds.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> TestResult<Response> {
    get_with(addr, path, &[]).await
}

/// GETs `path` from `addr` with extra request `headers` (name, value).
pub async fn get_with(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResult<Response> {
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        get_inner(addr, path, headers),
    )
    .await
    .map_err(|_| format!("GET {path} timed out"))?
}

async fn get_inner(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResult<Response> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .ctx("connecting to the server")?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    stream
        .write_all(req.as_bytes())
        .await
        .ctx("sending the request")?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Read until the headers are complete and the body is as long as they say (some servers
    // keep the connection open despite `Connection: close`).
    loop {
        let n = stream.read(&mut buf).await.ctx("reading the response")?;
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let body_len = raw.len() - split - 4;
            let complete = if let Some(len) = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                body_len >= len
            } else if head.contains("transfer-encoding: chunked") {
                raw.ends_with(b"0\r\n\r\n")
            } else {
                n == 0
            };
            if complete {
                break;
            }
        }
        if n == 0 {
            break;
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("response has no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status_line = lines.next().ok_or("empty response")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> TestResult<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size = std::str::from_utf8(&data[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or("bad chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
