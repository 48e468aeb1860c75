//! One node's three answers parsed into headroom-core's types, by the same readers
//! `headroom status --summary --pods --config` uses on files, so a node read through the API
//! server and the same documents saved with `kubectl get --raw` give the same figures.

use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::lint::{Warning, lint};
use headroom_core::pod::{Pod, PodList};
use headroom_core::summary::Summary;
use std::collections::HashMap;
use std::sync::Mutex;

/// What `headroom status` needs about one node.
#[derive(Clone, Debug)]
pub struct NodeInputs {
    pub summary: Summary,
    /// The eviction settings of the running kubelet (`/configz`).
    pub eviction: EvictionConfig,
    /// headroom-core's lint findings for that config.
    pub config_warnings: Vec<Warning>,
    /// Every pod the API server lists on the node (terminal ones included: the ranking leaves
    /// them out and says so, as with a pods file).
    pub pods: Vec<Pod>,
}

/// The Summary (`/stats/summary`); `origin` names where it came from in errors.
pub fn parse_summary(text: &str, origin: &str) -> Result<Summary, String> {
    Summary::parse_json(text).map_err(|e| format!("{origin}: not a kubelet Summary: {e}"))
}

/// The running kubelet config (`/configz`): its eviction settings and lint findings.
pub fn parse_configz(text: &str, origin: &str) -> Result<(EvictionConfig, Vec<Warning>), String> {
    let config = KubeletConfig::parse(text, origin).map_err(|e| e.to_string())?;
    let eviction = config.eviction().map_err(|e| e.to_string())?;
    let warnings = lint(&config, &eviction);
    Ok((eviction, warnings))
}

/// Parsed `/configz` answers by their text. The nodes of a pool run the same config, and
/// parsing one (with the misspelled-field check) costs more than all the rest of a node; on
/// 1,000 nodes the cache halves the table's CPU time (BENCHMARKS.md). Only good configs are
/// kept: an error names the node it came from.
#[derive(Default)]
pub struct ConfigCache(Mutex<HashMap<String, (EvictionConfig, Vec<Warning>)>>);

impl ConfigCache {
    /// [`parse_configz`], once per distinct text.
    pub fn parse(&self, text: &str, origin: &str) -> Result<(EvictionConfig, Vec<Warning>), String> {
        if let Some(hit) = self.0.lock().ok().and_then(|m| m.get(text).cloned()) {
            return Ok(hit);
        }
        let parsed = parse_configz(text, origin)?;
        if let Ok(mut m) = self.0.lock() {
            m.insert(text.to_string(), parsed.clone());
        }
        Ok(parsed)
    }
}

/// The node's pods (a `PodList`).
pub fn parse_pods(text: &str, origin: &str) -> Result<Vec<Pod>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{origin}: not JSON (expected a PodList): {e}"))?;
    let list = PodList::from_value(value).map_err(|e| format!("{origin}: {e}"))?;
    list.check_uids().map_err(|e| format!("{origin}: {e}"))?;
    Ok(list.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configz_wrapping_is_read_as_the_running_config() {
        let text = r#"{"kubeletconfig":{"evictionHard":{"memory.available":"500Mi"}}}"#;
        let (eviction, _) = parse_configz(text, "node a /configz").unwrap();
        let memory: Vec<String> = eviction
            .thresholds
            .iter()
            .filter(|t| t.signal.is_memory())
            .map(|t| headroom_core::threshold::format_threshold_value(&t.value))
            .collect();
        assert!(memory.contains(&"500Mi".to_string()), "{memory:?}");
    }

    #[test]
    fn the_cache_parses_a_config_once_and_never_keeps_an_error() {
        let cache = ConfigCache::default();
        let good = r#"{"kubeletconfig":{"evictionHard":{"memory.available":"300Mi"}}}"#;
        let a = cache.parse(good, "node a /configz").unwrap();
        let b = cache.parse(good, "node b /configz").unwrap();
        assert_eq!(a.0.thresholds, b.0.thresholds);
        assert_eq!(cache.0.lock().unwrap().len(), 1);
        let bad = r#"{"kubeletconfig":{"evictionHard":{"memory.available":"lots"}}}"#;
        assert!(
            cache
                .parse(bad, "node c /configz")
                .unwrap_err()
                .contains("node c")
        );
        assert!(
            cache
                .parse(bad, "node d /configz")
                .unwrap_err()
                .contains("node d")
        );
        assert_eq!(cache.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn bad_answers_name_their_origin_and_field() {
        let err = parse_summary(r#"{"node":{"nodeName":3}}"#, "node a /stats/summary").unwrap_err();
        assert!(
            err.starts_with("node a /stats/summary") && err.contains("node.nodeName"),
            "{err}"
        );
        let err = parse_pods("{\"items\": [", "node a pods").unwrap_err();
        assert!(err.starts_with("node a pods"), "{err}");
        let err = parse_configz(
            r#"{"kubeletconfig":{"evictionHard":{"memory.available":"lots"}}}"#,
            "node a /configz",
        )
        .unwrap_err();
        assert!(err.contains("lots"), "{err}");
    }
}
