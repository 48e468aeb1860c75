//! A list of pods as the agent reads it, wherever it comes from: JSON (a pods file or the API
//! server's answer) parsed into the core's model, and what re-reading a list did.
//!
//! Both sources ([`crate::pods_source`]'s file and [`crate::pods_api`]) depend on this module,
//! never on each other's parsing: the dependency runs one way.

use headroom_core::pod::{Pod, PodList};
use std::path::Path;

/// The largest pods file read (a node's pods as `kubectl get pods -o json` prints them are a
/// few MiB: 110 pods ~ 3.5 MiB, 550 ~ 17 MiB with kubectl's indent).
pub(crate) const MAX_PODS_FILE_BYTES: u64 = 64 << 20;

/// The outcome of a source's `refresh`, for the log.
#[derive(Debug, PartialEq)]
pub enum Refresh {
    Unchanged,
    Reloaded {
        pods: usize,
    },
    /// The file changed but could not be used; the previous list stays in force.
    KeptLastGood {
        error: String,
        pods: usize,
    },
}

/// Parse a pods file: a Pod, a PodList / List, or a JSON array; only non-terminal pods.
pub(crate) fn read_pods(path: &Path) -> Result<Vec<Pod>, String> {
    let origin = format!("pods file {}", path.display());
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {origin}: {e}"))?
        .len();
    if size > MAX_PODS_FILE_BYTES {
        return Err(format!(
            "{origin} is {} MiB, above the {} MiB the agent reads (one node's pods are a few MiB: \
             is it the whole cluster's list?)",
            size >> 20,
            MAX_PODS_FILE_BYTES >> 20
        ));
    }
    // Streamed from the file when it is an ordinary pod list (memory: the pods, not the file);
    // read whole only to word an error.
    let streamed = std::fs::File::open(path)
        .ok()
        .and_then(|f| lean::parse_reader(std::io::BufReader::new(f)));
    let pods = match streamed {
        Some(pods) => pods.into_iter().filter(|p| !p.is_terminated()).collect(),
        None => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {origin}: {e}"))?;
            let text = headroom_core::text::decode_non_empty(&bytes)
                .map_err(|e| format!("{origin}: {e}; expected `kubectl get pods -o json` output"))?;
            parse_pods(text, &origin, "`kubectl get pods -o json` output")?
        }
    };
    // Pods are matched to their cgroups by uid: one without a uid would silently never be a
    // candidate, two with the same uid would share one cgroup's stats. Checked on every read,
    // so a bad re-read keeps the last good list like any other bad file.
    let list = PodList { items: pods };
    list.check_uids().map_err(|e| format!("{origin}: {e}"))?;
    Ok(list.items)
}

/// Parse pods JSON from any source (`origin` names it in errors, `expected` says what it
/// should have been): the non-terminal pods of a Pod, a PodList / List, or a JSON array. The
/// API server's PodList goes through here too, so file and API pods share one model.
pub(crate) fn parse_pods(text: &str, origin: &str, expected: &str) -> Result<Vec<Pod>, String> {
    // The common case streams; anything unusual (a single pod, a wrong kind, an error to
    // report with its path) takes the JSON-tree path below, which words every error.
    if let Some(pods) = lean::parse_reader(text.as_bytes()) {
        return Ok(pods.into_iter().filter(|p| !p.is_terminated()).collect());
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("{origin} is not valid JSON (expected {expected}): {e}"))?;
    let list = PodList::from_value(value).map_err(|e| format!("{origin}: {e}"))?;
    // The kubelet's active pods exclude those that reached a terminal phase.
    Ok(list.items.into_iter().filter(|p| !p.is_terminated()).collect())
}

/// Pods streamed from JSON into the agent's model without building a JSON tree.
pub(crate) mod lean {
    use headroom_core::pod::{ObjectMeta, Pod, PodList, PodSpec, PodStatus};
    use serde::Deserialize;
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::collections::BTreeMap;
    use std::io::BufRead;

    /// The annotations the eviction manager reads (static and mirror pods); the others (the
    /// last-applied configuration can be as big as the pod) are skipped unread.
    const KEPT_ANNOTATIONS: &str = "kubernetes.io/config.";

    #[derive(Deserialize)]
    struct List {
        kind: Option<String>,
        items: Option<Vec<LeanPod>>,
    }

    #[derive(Deserialize)]
    struct LeanPod {
        kind: Option<String>,
        metadata: Option<Meta>,
        spec: Option<PodSpec>,
        status: Option<PodStatus>,
    }

    #[derive(Deserialize)]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        namespace: String,
        #[serde(default)]
        uid: String,
        #[serde(default, deserialize_with = "kept_annotations")]
        annotations: BTreeMap<String, String>,
    }

    fn kept_annotations<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
        struct Kept;
        impl<'de> Visitor<'de> for Kept {
            type Value = BTreeMap<String, String>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of annotations")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(BTreeMap::new())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kept = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key.starts_with(KEPT_ANNOTATIONS) {
                        kept.insert(key, map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(kept)
            }
        }
        d.deserialize_any(Kept)
    }

    /// The first byte that is not whitespace (after a UTF-8 byte-order mark), not consumed.
    fn first_byte(r: &mut impl BufRead) -> Option<u8> {
        if r.fill_buf().ok()?.starts_with(b"\xef\xbb\xbf") {
            r.consume(3);
        }
        loop {
            let buf = r.fill_buf().ok()?;
            let first = *buf.first()?;
            if !first.is_ascii_whitespace() {
                return Some(first);
            }
            r.consume(1);
        }
    }

    /// The pods of a PodList / List / array, or `None` when the input is anything else or
    /// fails anywhere (the caller's JSON-tree path then says exactly what and where).
    pub(crate) fn parse_reader(mut r: impl BufRead) -> Option<Vec<Pod>> {
        let items = match first_byte(&mut r)? {
            b'[' => serde_json::from_reader::<_, Vec<LeanPod>>(r).ok()?,
            b'{' => {
                let list = serde_json::from_reader::<_, List>(r).ok()?;
                if !matches!(list.kind.as_deref(), None | Some("PodList" | "List")) {
                    return None;
                }
                list.items?
            }
            _ => return None,
        };
        let mut pods = Vec::with_capacity(items.len());
        for item in items {
            let pod_shaped = match item.kind.as_deref() {
                Some("Pod") => true,
                Some(_) => false,
                None => item.metadata.is_some() || item.spec.is_some(),
            };
            if !pod_shaped {
                return None;
            }
            let meta = item.metadata.unwrap_or(Meta {
                name: String::new(),
                namespace: String::new(),
                uid: String::new(),
                annotations: BTreeMap::new(),
            });
            pods.push(Pod {
                metadata: ObjectMeta {
                    name: meta.name,
                    namespace: meta.namespace,
                    uid: meta.uid,
                    annotations: meta.annotations,
                    ..ObjectMeta::default()
                },
                spec: item.spec.unwrap_or_default(),
                status: item.status,
            });
        }
        let list = PodList { items: pods };
        list.check_quantities().ok()?;
        Some(list.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_pods_equal_the_json_tree_parse_and_keep_only_the_kubelets_annotations() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[
          {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"ns","uid":"u-a",
            "labels":{"app":"x"},"managedFields":[{"manager":"m","fieldsV1":{"f:spec":{}}}],
            "annotations":{"kubernetes.io/config.source":"file",
                           "kubectl.kubernetes.io/last-applied-configuration":"{\"big\":1}"}},
           "spec":{"priority":7,"containers":[{"name":"c","env":[{"name":"X","value":"y"}],
             "resources":{"requests":{"memory":"64Mi"}}}]},
           "status":{"phase":"Running","qosClass":"Burstable"}},
          {"metadata":{"name":"done","namespace":"ns","uid":"u-d"},"status":{"phase":"Failed"}}]}"#;
        let streamed = lean::parse_reader(text.as_bytes()).unwrap();
        let tree = PodList::from_value(serde_json::from_str(text).unwrap())
            .unwrap()
            .items;
        assert_eq!(streamed.len(), 2);
        for (s, t) in streamed.iter().zip(&tree) {
            assert_eq!(s.spec, t.spec);
            assert_eq!(s.status, t.status);
            assert_eq!(
                (&s.metadata.name, &s.metadata.uid),
                (&t.metadata.name, &t.metadata.uid)
            );
        }
        assert!(streamed[0].is_static() && tree[0].is_static());
        assert_eq!(streamed[0].metadata.annotations.len(), 1);
        // Unusual shapes go to the JSON-tree path, which words the error.
        for odd in [
            r#"{"kind":"Service","items":[]}"#,
            "42",
            r#"[{"kind":"Node"}]"#,
            "",
        ] {
            assert!(lean::parse_reader(odd.as_bytes()).is_none(), "{odd}");
        }
        assert_eq!(
            lean::parse_reader(&b"\xef\xbb\xbf [ ]"[..]).map(|p| p.len()),
            Some(0)
        );
    }

    #[test]
    fn a_pods_file_above_the_cap_is_refused_naming_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pods.json");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_PODS_FILE_BYTES + 1).unwrap();
        let err = read_pods(&path).unwrap_err();
        assert!(err.contains("pods.json is 64 MiB, above the 64 MiB"), "{err}");
    }
}
