//! A local HTTP server on 127.0.0.1 that plays the Kubernetes API server in the agent's tests,
//! and a bare HTTP/1.1 client for sending it one request without the kube client.
#![allow(dead_code)] // each including test file uses its own part

use axum::Router;
use std::io::{Read, Write};
use std::net::SocketAddr;

/// Serve `app` on an ephemeral port, on a current-thread runtime in its own thread (the tests
/// themselves stay synchronous). Returns the address to connect to.
pub fn serve_in_background(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    addr
}

/// Send one request (`Connection: close`) and return the whole raw reply.
pub fn http_request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n");
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("Connection: close\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    if let Some(b) = body {
        s.write_all(b.as_bytes()).unwrap();
    }
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}
