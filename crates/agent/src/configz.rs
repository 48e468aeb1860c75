//! The running kubelet's configuration through the API server (`--config-from api`):
//! `GET /api/v1/nodes/<node>/proxy/configz`, what `kubectl get --raw` shows. The only complete
//! source where the kubelet merges drop-in files (EKS AL2023's `config.json.d`, k3s'
//! `kubelet.conf.d`) or takes thresholds as flags (k3s `--kubelet-arg`). The answer is the
//! `{"kubeletconfig": {...}}` wrapper the core's config parser already reads.
//!
//! RBAC: `get` on `nodes/proxy`, a broad permission (it reaches every kubelet endpoint of
//! every node), so it lives in its own opt-in role (`deploy/kubernetes`). Tested against a
//! local HTTP server only, never against a real cluster.

/// The API path of a node's kubelet `/configz`.
pub fn configz_path(node: &str) -> String {
    format!("/api/v1/nodes/{node}/proxy/configz")
}

/// Fetch `/configz` for `node` (in-cluster or kubeconfig credentials), blocking, bounded.
#[cfg(feature = "k8s")]
pub fn fetch(node: &str) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime for the API request: {e}"))?;
    rt.block_on(async {
        let client = crate::pods_api::kube_api::default_client().await?;
        kube_api::fetch(&client, node).await
    })
}

/// Without the `k8s` feature there is no API client.
#[cfg(not(feature = "k8s"))]
pub fn fetch(node: &str) -> Result<String, String> {
    Err(format!(
        "GET {}: this build has no Kubernetes support (a slim build)",
        configz_path(node)
    ))
}

#[cfg(feature = "k8s")]
pub(crate) mod kube_api {
    use super::configz_path;
    use std::time::Duration;

    /// The start-up waits at most this long for the answer.
    pub(crate) const TIMEOUT: Duration = Duration::from_secs(15);

    pub async fn fetch(client: &kube::Client, node: &str) -> Result<String, String> {
        let path = configz_path(node);
        let req = axum::http::Request::get(&path)
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|e| format!("GET {path}: {e}"))?;
        match tokio::time::timeout(TIMEOUT, client.request_text(req)).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(e)) => Err(format!(
                "GET {path}: the API server refused or was unreachable (RBAC: get nodes/proxy): {e}"
            )),
            Err(_) => Err(format!("GET {path}: no answer within {}s", TIMEOUT.as_secs())),
        }
    }
}
