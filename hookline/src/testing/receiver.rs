//! Merchant servers for tests: real HTTPS on loopback with a certificate made
//! for the test, speaking just enough HTTP/1.1 to misbehave on purpose
//! (silence, resets, slow or huge bodies) in ways a framework would not allow.

use rcgen::{CertificateParams, KeyPair, SanType};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// How the receiver answers each request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// An answer with this status, extra headers and body.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Reads the request and never answers.
    Silent,
    /// Reads the request and resets the connection.
    Reset,
    /// Announces a 2xx body of `total` bytes and sends one byte per `every`.
    Drip { total: usize, every: Duration },
    /// A 200 whose body is `bytes` long.
    Huge { bytes: usize },
}

impl Behaviour {
    pub fn status(status: u16) -> Behaviour {
        Behaviour::Answer {
            status,
            headers: Vec::new(),
            body: "ok".into(),
        }
    }

    pub fn with_header(status: u16, name: &str, value: &str) -> Behaviour {
        Behaviour::Answer {
            status,
            headers: vec![(name.into(), value.into())],
            body: String::new(),
        }
    }
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Captured {
    /// The request path, e.g. `/hook/7`.
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Called with every request instead of keeping it (benchmarks keep nothing).
pub type Observer = Arc<dyn Fn(&Captured) + Send + Sync>;

#[derive(Clone)]
pub struct TlsReceiver {
    /// `https://127.0.0.1:<port>/hook`
    pub url: String,
    /// The receiver's self-signed certificate, for the dispatcher's extra roots.
    pub cert_pem: String,
    received: Arc<Mutex<Vec<Captured>>>,
    connections: Arc<AtomicUsize>,
    observer: Option<Observer>,
}

impl TlsReceiver {
    /// A receiver whose certificate is valid for 127.0.0.1 and localhost.
    pub async fn start(behaviour: Behaviour) -> TlsReceiver {
        Self::start_for(behaviour, &["localhost"]).await
    }

    /// A receiver whose certificate names only `names` (no IP address unless
    /// `names` is empty, in which case it is valid for 127.0.0.1).
    pub async fn start_for(behaviour: Behaviour, names: &[&str]) -> TlsReceiver {
        Self::spawn(behaviour, names, None).await
    }

    /// A receiver valid for 127.0.0.1 that hands each request to `observer`.
    pub async fn start_observed(behaviour: Behaviour, observer: Observer) -> TlsReceiver {
        Self::spawn(behaviour, &["localhost"], Some(observer)).await
    }

    async fn spawn(
        behaviour: Behaviour,
        names: &[&str],
        observer: Option<Observer>,
    ) -> TlsReceiver {
        let key = KeyPair::generate().expect("generate a key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("certificate names");
        if names.contains(&"localhost") || names.is_empty() {
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        let cert = params.self_signed(&key).expect("self-sign");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("https://{}/hook", listener.local_addr().expect("address"));
        let receiver = TlsReceiver {
            url,
            cert_pem: cert.pem(),
            received: Arc::default(),
            connections: Arc::default(),
            observer,
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                // Small answers go out at once, not after the client's delayed ACK.
                let _ = tcp.set_nodelay(true);
                r.connections.fetch_add(1, Ordering::SeqCst);
                let (acceptor, r, behaviour) = (acceptor.clone(), r.clone(), behaviour.clone());
                tokio::spawn(async move {
                    // A handshake the client aborts (wrong name) simply ends here.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        r.serve(BufReader::new(tls), behaviour).await;
                    }
                });
            }
        });
        receiver
    }

    pub fn received(&self) -> Vec<Captured> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// TCP connections accepted so far (keep-alive reuse keeps this low).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    async fn serve(
        &self,
        mut tls: BufReader<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>,
        behaviour: Behaviour,
    ) {
        loop {
            let Some(request) = read_request(&mut tls).await else {
                return;
            };
            match &self.observer {
                Some(observe) => observe(&request),
                None => self
                    .received
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(request),
            }
            match &behaviour {
                Behaviour::Answer {
                    status,
                    headers,
                    body,
                } => {
                    let mut head = format!(
                        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n",
                        reason(*status),
                        body.len()
                    );
                    for (name, value) in headers {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str("\r\n");
                    head.push_str(body);
                    if tls.write_all(head.as_bytes()).await.is_err() || tls.flush().await.is_err() {
                        return;
                    }
                }
                Behaviour::Silent => {
                    // Hold the connection open until the client gives up.
                    let mut sink = [0u8; 1];
                    let _ = tls.read(&mut sink).await;
                    return;
                }
                Behaviour::Reset => {
                    let (tcp, _) = tls.get_ref().get_ref();
                    // Linger 0 turns the close into a TCP reset.
                    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
                    return;
                }
                Behaviour::Drip { total, every } => {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n");
                    if tls.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for _ in 0..*total {
                        tokio::time::sleep(*every).await;
                        if tls.write_all(b".").await.is_err() || tls.flush().await.is_err() {
                            return;
                        }
                    }
                }
                Behaviour::Huge { bytes } => {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {bytes}\r\n\r\n");
                    if tls.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut left = *bytes;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if tls.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                }
            }
        }
    }
}

/// Reads one request (head and `content-length` body); `None` at the end of
/// the connection or on anything unreadable.
async fn read_request<S: AsyncBufRead + Unpin>(stream: &mut S) -> Option<Captured> {
    let mut headers = Vec::new();
    let mut line = String::new();
    let mut path = String::new();
    let mut first = true;
    loop {
        line.clear();
        if stream.read_line(&mut line).await.ok()? == 0 || headers.len() > 200 {
            return None;
        }
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        if first {
            first = false; // the request line: METHOD PATH VERSION
            path = text.split(' ').nth(1).unwrap_or_default().to_owned();
        } else if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _): &&(String, String)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Captured {
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
