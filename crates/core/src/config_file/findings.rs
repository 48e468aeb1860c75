//! What a config file says besides its values: keys that are nearly a field headroom reads
//! (typos the kubelet silently ignores), keys written twice, and what a document that is not a
//! KubeletConfiguration looks like.

use serde_saphyr::{DuplicateKeyPolicy, Options};

use crate::config::{DuplicateKey, KIND, MisspelledField, Source};

/// The top-level fields headroom reads, as the kubelet spells them.
pub(super) const KNOWN_FIELDS: [&str; 21] = [
    "kind",
    "apiVersion",
    "evictionHard",
    "evictionSoft",
    "evictionSoftGracePeriod",
    "evictionMinimumReclaim",
    "evictionPressureTransitionPeriod",
    "evictionMaxPodGracePeriod",
    "mergeDefaultEvictionSettings",
    "enforceNodeAllocatable",
    "systemReserved",
    "kubeReserved",
    "systemReservedCgroup",
    "kubeReservedCgroup",
    "kernelMemcgNotification",
    "localStorageCapacityIsolation",
    "cgroupRoot",
    "cgroupsPerQOS",
    "cgroupDriver",
    "featureGates",
    "kubeletconfig",
];

/// Keys of the document (or of its `/configz` wrapper's inside) that are not a field headroom
/// reads but differ from one only by case, `-`/`_`, or at most two letters: almost certainly
/// a typo the kubelet silently ignores (its decoding is case-sensitive and lenient). Best
/// effort: a document that does not read as a plain map gives none.
pub(super) fn misspelled_fields(
    doc: Option<Doc>,
    origin: &str,
    text: &str,
    lines: bool,
    configz: bool,
) -> Vec<MisspelledField> {
    let Some(mut doc) = doc else {
        return Vec::new();
    };
    if configz {
        match doc.remove("kubeletconfig") {
            Some(serde_json::Value::Object(inner)) => doc = inner.into_iter().collect(),
            _ => return Vec::new(),
        }
    }
    let mut out = Vec::new();
    for key in doc.keys() {
        if KNOWN_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let folded = fold(key);
        let meant = KNOWN_FIELDS.iter().find(|k| fold(k) == folded).or_else(|| {
            KNOWN_FIELDS
                .iter()
                .filter(|k| k.len() >= 8 && edit_distance(&fold(k), &folded) <= 2)
                .min_by_key(|k| edit_distance(&fold(k), &folded))
        });
        if let Some(meant) = meant {
            let line = lines.then(|| line_of_key(text, key)).flatten();
            out.push(MisspelledField {
                key: key.clone(),
                meant,
                source: Source::File {
                    origin: origin.to_string(),
                    line,
                },
            });
        }
    }
    out
}

/// The document's top-level map (`None` when it is not one).
pub(super) type Doc = std::collections::BTreeMap<String, serde_json::Value>;

pub(super) fn document(text: &str) -> Option<Doc> {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<Option<Doc>>(text, options)
        .ok()
        .flatten()
        .or_else(|| serde_json::from_str(text).ok())
}

/// What a document that is not a KubeletConfiguration looks like, and where it belongs.
pub(super) fn looks_like(doc: &Doc) -> String {
    let has = |k: &str| doc.contains_key(k);
    let kind = doc.get("kind").and_then(|k| k.as_str());
    if has("node") && (has("pods") || doc["node"].get("nodeName").is_some()) {
        "this is a kubelet Summary (GET /stats/summary); pass it with --summary".to_string()
    } else if has("items") || matches!(kind, Some("PodList" | "List")) {
        "this is a list of pods (kubectl get pods -o json); pass it with --pods".to_string()
    } else if has("steps") {
        "this is a headroom timeline; pass it to `headroom simulate`".to_string()
    } else if has("metadata") && has("spec") {
        format!(
            "this is a Kubernetes object{}, not the kubelet's config file",
            kind.map(|k| format!(" (kind {k})")).unwrap_or_default()
        )
    } else {
        let keys: Vec<&str> = doc.keys().map(String::as_str).take(5).collect();
        format!(
            "no `kind: {KIND}` and none of the fields headroom reads (its keys: {}); expected \
             e.g. `kind: {KIND}` with `evictionHard:`, or the kubelet's /configz output",
            keys.join(", ")
        )
    }
}

/// Keys written twice in one mapping, with both lines. The parser stops at the first
/// duplicate, so each one found is renamed in a scratch copy of the text and the copy parsed
/// again (at most 20 times). Empty when the text has none or does not parse.
pub(super) fn duplicate_keys(text: &str, lines: bool) -> Vec<DuplicateKey> {
    let mut scratch = text.to_string();
    let mut out = Vec::new();
    for n in 0..20 {
        let mut options = Options::default();
        options.duplicate_keys = DuplicateKeyPolicy::Error;
        options.with_snippet = false;
        let Err(err) = serde_saphyr::from_str_with_options::<Option<serde_json::Value>>(&scratch, options)
        else {
            break;
        };
        let serde_saphyr::Error::DuplicateMappingKey {
            key: Some(key),
            location,
        } = &err
        else {
            break;
        };
        let (line, column) = (location.line(), location.column());
        let Some(renamed) = rename_at(&scratch, line, column, key, n) else {
            break;
        };
        let second_line = (lines && line > 0).then_some(line);
        out.push(DuplicateKey {
            key: key.clone(),
            first_line: second_line.and_then(|l| first_occurrence(text, l, key)),
            second_line,
        });
        scratch = renamed;
    }
    out
}

/// `text` with the key `key` at (1-based) `line`/`column` renamed to a placeholder.
fn rename_at(text: &str, line: u64, column: u64, key: &str, n: usize) -> Option<String> {
    let line_index = usize::try_from(line).ok()?.checked_sub(1)?;
    let offset: usize = text.split_inclusive('\n').take(line_index).map(str::len).sum();
    let this = text[offset..].split('\n').next()?;
    let col = usize::try_from(column).ok()?.saturating_sub(1);
    let at = this.char_indices().nth(col).map_or(this.len(), |(i, _)| i);
    // The location may point at the key or at the quote before it: find the key from there.
    let found = this[at..].find(key).map(|i| at + i).or_else(|| this.find(key))?;
    let begin = offset + found;
    Some(format!(
        "{}{}{}",
        &text[..begin],
        format_args!("headroom-duplicate-{n}"),
        &text[begin + key.len()..]
    ))
}

/// The first occurrence of `key` as a mapping key: the nearest line before `second` with the
/// same key at the same indent.
fn first_occurrence(text: &str, second: u64, key: &str) -> Option<u64> {
    let all: Vec<&str> = text.lines().collect();
    let at = usize::try_from(second).ok()?.checked_sub(1)?;
    let line = all.get(at)?;
    let indent = line.len() - line.trim_start().len();
    (0..at).rev().find_map(|i| {
        let l = all[i];
        let same_indent = l.len() - l.trim_start().len() == indent;
        let t = l.trim_start().trim_start_matches(['{', ',', ' ']);
        let is_key = t.starts_with(&format!("{key}:")) || t.starts_with(&format!("\"{key}\""));
        (same_indent && is_key)
            .then(|| u64::try_from(i + 1).ok())
            .flatten()
    })
}

/// Lower case without `-` and `_`.
fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The 1-based line where `key` is written as a mapping key (`key:` or `"key":`).
fn line_of_key(text: &str, key: &str) -> Option<u64> {
    let plain = format!("{key}:");
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches(['{', ',', ' ']);
            l.starts_with(&plain) || l.starts_with(&quoted)
        })
        .and_then(|i| u64::try_from(i + 1).ok())
}
