//! The kube client: credentials as `kubectl` finds them, one GET bounded in time.

use std::path::PathBuf;
use std::time::Duration;

/// Where the credentials come from. Everything unset = `kubectl`'s own search: `$KUBECONFIG`
/// or `~/.kube/config` (its current context), else the in-cluster service account.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// A kubeconfig file (`--kubeconfig`).
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (`--context`) instead of its current one.
    pub context: Option<String>,
}

/// Why a GET gave no document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetError {
    /// The API server answered with an error status (the node proxy says 503/500 when it
    /// cannot reach the kubelet; 403 when the role lacks a permission).
    Status { code: u16, message: String },
    /// No answer within the timeout.
    Timeout(Duration),
    /// The connection failed (the API server itself is unreachable).
    Transport(String),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Status { code, message } => write!(f, "HTTP {code}: {message}"),
            GetError::Timeout(t) => write!(f, "no answer within {}s", t.as_secs_f64()),
            GetError::Transport(e) => write!(f, "unreachable: {e}"),
        }
    }
}

/// A client for the API server and the time one request may take.
#[derive(Clone)]
pub struct Api {
    client: kube::Client,
    timeout: Duration,
}

impl Api {
    pub fn new(client: kube::Client, timeout: Duration) -> Api {
        Api { client, timeout }
    }

    /// The API server at `url` without credentials (tests, `kubectl proxy`). Async because
    /// the client starts its connection pool on the current runtime.
    pub async fn plain(url: &str, timeout: Duration) -> Result<Api, String> {
        let uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not an API server URL: {e}"))?;
        Ok(Api::new(client_from(kube::Config::new(uri))?, timeout))
    }

    /// `GET path`, its body as text.
    pub async fn get(&self, path: &str) -> Result<String, GetError> {
        let req = axum::http::Request::get(path)
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|e| GetError::Transport(format!("cannot build the request: {e}")))?;
        match tokio::time::timeout(self.timeout, self.client.request_text(req)).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(kube::Error::Api(status))) => Err(GetError::Status {
                code: status.code,
                message: if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                },
            }),
            Ok(Err(e)) => Err(GetError::Transport(e.to_string())),
            Err(_) => Err(GetError::Timeout(self.timeout)),
        }
    }
}

/// A client from `credentials`, as `kubectl --kubeconfig FILE --context NAME` would connect.
pub async fn connect(credentials: &Credentials, timeout: Duration) -> Result<Api, String> {
    let options = kube::config::KubeConfigOptions {
        context: credentials.context.clone(),
        ..Default::default()
    };
    let config = match (&credentials.kubeconfig, &credentials.context) {
        (Some(path), _) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?
        }
        (None, Some(context)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| format!("kubeconfig context {context:?}: {e}"))?,
        (None, None) => kube::Config::infer().await.map_err(|e| {
            format!(
                "no Kubernetes credentials: no kubeconfig ($KUBECONFIG, ~/.kube/config) and not \
                 running in a pod ({e})"
            )
        })?,
    };
    Ok(Api::new(client_from(config)?, timeout))
}

/// kube's retry of 429/503/504 is off: a node proxy's 503 means the kubelet is unreachable,
/// and retrying it up to 15 times would hold the table; the next `--watch` round retries.
fn client_from(mut config: kube::Config) -> Result<kube::Client, String> {
    config.default_retry = false;
    let url = config.cluster_url.to_string();
    kube::Client::try_from(config)
        .map_err(|e| format!("cannot build a Kubernetes client for the API server {url}: {e}"))
}
