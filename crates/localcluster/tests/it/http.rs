//! A minimal HTTP/1.1 client over a TCP socket (one request per connection), for requests whose
//! raw status, headers and broken streams a test must see.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn try_send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<BufReader<TcpStream>> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: http-test/1.0\r\nAccept: application/json\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    Ok(BufReader::new(s))
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> BufReader<TcpStream> {
    try_send(addr, method, path, content_type, body).unwrap()
}

/// A request whose connection may fail (a server being killed); `None` when it did, or when
/// no complete answer arrived.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, serde_json::Value)> {
    let mut r = try_send(addr, method, path, "application/json", body.as_bytes()).ok()?;
    let mut text = Vec::new();
    r.read_to_end(&mut text).ok()?;
    let text = String::from_utf8(text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if chunked {
        return None;
    }
    Some((status, serde_json::from_str(body).ok()?))
}

fn read_head(r: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    (status, headers)
}

/// Reads chunks until the end or a broken stream; returns the data and whether it ended cleanly.
fn read_chunked(r: &mut BufReader<TcpStream>) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let mut size = String::new();
        match r.read_line(&mut size) {
            Ok(0) | Err(_) => return (out, false),
            Ok(_) => {}
        }
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return (out, false);
        };
        if n == 0 {
            return (out, true);
        }
        let mut buf = vec![0; n + 2];
        if r.read_exact(&mut buf).is_err() {
            return (out, false);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    let mut r = send(addr, method, path, content_type, body.as_bytes());
    let (status, headers) = read_head(&mut r);
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        read_chunked(&mut r).0
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b).unwrap();
        b
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Opens a watch and reads it to its end: the events, and whether the stream ended cleanly.
pub fn watch(addr: SocketAddr, path: &str) -> (Vec<serde_json::Value>, bool) {
    let mut r = send(addr, "GET", path, "application/json", b"");
    let (status, _) = read_head(&mut r);
    assert_eq!(status, 200);
    let (data, clean) = read_chunked(&mut r);
    let events = String::from_utf8(data)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, clean)
}
