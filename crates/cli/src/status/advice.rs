//! "What you can do": a few actions chosen by the cause, each with the line to write.
//!
//! Active page cache: bound the cache-heavy pod with a memory limit (its own cgroup then
//! reclaims its cache before the node runs short), and evict on a lasting shortage rather
//! than a moment of cache (a soft threshold with a grace period). Anonymous memory: request
//! what the pod uses, limit it so the kernel stops it inside its own cgroup, and let the
//! kubelet hear the kernel's notification. In both, headroom's agent shows the decision live.

use super::cause::{ACTIVE_PAGE_CACHE, ANONYMOUS_MEMORY, UNKNOWN};
use super::report::{Advice, Candidate, CauseView, ThresholdRow};
use super::units::human_bytes;

const MI: i64 = 1 << 20;

/// `bytes` rounded up to 64 MiB, as a quantity (`768Mi`, `3Gi`).
fn quantity_up(bytes: i64) -> String {
    const STEP: i64 = 64 * MI;
    let rounded = bytes.max(STEP).saturating_add(STEP - 1) / STEP * STEP;
    if rounded % (1024 * MI) == 0 {
        format!("{}Gi", rounded / (1024 * MI))
    } else {
        format!("{}Mi", rounded / MI)
    }
}

fn limit_block(bytes: i64) -> String {
    format!("resources:\n  limits:\n    memory: {}", quantity_up(bytes))
}

/// The pod without a memory limit holding the most active page cache (the one a limit would
/// help most).
fn cache_heavy(pods: &[Candidate]) -> Option<&Candidate> {
    pods.iter()
        .filter(|c| !c.critical && c.limit_bytes.is_none())
        .filter(|c| c.active_file_bytes.is_some_and(|a| a > 0))
        .max_by_key(|c| c.active_file_bytes)
}

fn memory_limit_for_cache(c: &Candidate) -> Option<Advice> {
    let ws = i64::try_from(c.working_set_bytes?).ok()?;
    let active = i64::try_from(c.active_file_bytes?).ok()?;
    let anon = ws.saturating_sub(active);
    // Room for its anonymous memory plus a quarter for cache and growth.
    let size = anon.saturating_add(anon / 4).max(c.request_bytes.unwrap_or(0));
    Some(Advice {
        code: "podMemoryLimit",
        text: format!(
            "Give {} a memory limit near what it needs without cache ({} of its {} \
             working set is not page cache): at the limit the kernel reclaims the pod's own page \
             cache, so the cache stops building up to the node's threshold.",
            c.display_name(),
            human_bytes(i128::from(anon)),
            human_bytes(i128::from(ws))
        ),
        place: "in the pod spec (per container; they add up)",
        config: limit_block(size),
    })
}

fn soft_threshold(acting: &ThresholdRow, thresholds: &[ThresholdRow]) -> Option<Advice> {
    if !acting.hard {
        return Some(Advice {
            code: "softThreshold",
            text: format!(
                "Give the kernel longer to reclaim page cache before the soft threshold evicts: \
                 a longer grace period than {}.",
                acting.grace_period
            ),
            place: "in the KubeletConfiguration",
            config: format!("evictionSoftGracePeriod:\n  {}: \"5m\"", acting.signal),
        });
    }
    // Already as small as the kubelet's default: nothing to move to a soft threshold.
    if acting.threshold.is_none_or(|t| t <= 100 * MI) {
        return None;
    }
    if let Some(soft) = thresholds.iter().find(|t| !t.hard && t.signal == acting.signal) {
        return Some(Advice {
            code: "softThreshold",
            text: format!(
                "The soft threshold {} (grace {}) is there to wait out a moment of cache, but the \
                 hard threshold {} evicts at once: lower the hard one to a last resort.",
                soft.value, soft.grace_period, acting.value
            ),
            place: "in the KubeletConfiguration",
            config: format!("evictionHard:\n  {}: \"100Mi\"", acting.signal),
        });
    }
    Some(Advice {
        code: "softThreshold",
        text: format!(
            "Evict on a lasting shortage, not on a moment of cache: make {} a soft threshold \
             with a grace period (MemoryPressure is still reported at once, pods go only if it \
             lasts while the kernel reclaims cache) and keep a small hard one as the last resort.",
            acting.value
        ),
        place: "in the KubeletConfiguration",
        config: format!(
            "evictionHard:\n  {s}: \"100Mi\"\nevictionSoft:\n  {s}: \"{v}\"\n\
             evictionSoftGracePeriod:\n  {s}: \"1m30s\"",
            s = acting.signal,
            v = acting.value
        ),
    })
}

fn kernel_notification() -> Advice {
    Advice {
        code: "kernelMemcgNotification",
        text: "Let the kubelet hear the kernel's threshold notification instead of waiting for \
               its next 10 s poll, so it evicts before the kernel's OOM killer acts (cgroup v1 \
               nodes only; ignored on v2)."
            .to_string(),
        place: "in the KubeletConfiguration",
        config: "kernelMemcgNotification: true".to_string(),
    }
}

fn agent(config: Option<&str>) -> Advice {
    Advice {
        code: "headroomAgent",
        text: "Watch the decision live: headroom's agent runs the kubelet's decision on the \
               kernel's figures every 10 s and at threshold crossings, and logs which pod would \
               go and why (it acts on nothing unless told to)."
            .to_string(),
        place: "on the node",
        config: format!(
            "headroom agent --config {}",
            config.unwrap_or("/var/lib/kubelet/config.yaml")
        ),
    }
}

fn request_what_it_uses(c: &Candidate) -> Option<Advice> {
    let over = c.over_request_bytes.filter(|o| *o > 0)?;
    let ws = i64::try_from(c.working_set_bytes?).ok()?;
    Some(Advice {
        code: "podMemoryRequest",
        text: format!(
            "{} uses {}, {} over its request: the kubelet evicts pods over their request \
             first. Request what it uses, so the scheduler keeps that memory free for it.",
            c.display_name(),
            human_bytes(i128::from(ws)),
            human_bytes(i128::from(over))
        ),
        place: "in the pod spec (per container; they add up)",
        config: format!("resources:\n  requests:\n    memory: {}", quantity_up(ws)),
    })
}

fn limit_for_anonymous(c: &Candidate) -> Option<Advice> {
    if c.limit_bytes.is_some() {
        return None;
    }
    let ws = i64::try_from(c.working_set_bytes?).ok()?;
    Some(Advice {
        code: "podMemoryLimit",
        text: format!(
            "Give {} a memory limit: if it outgrows it, the kernel stops it inside its own \
             cgroup instead of the whole node running short.",
            c.display_name()
        ),
        place: "in the pod spec (per container; they add up)",
        config: limit_block(ws),
    })
}

/// The advice for this cause; empty when there is no memory pressure.
pub fn advice(
    cause: &CauseView,
    acting: Option<&ThresholdRow>,
    thresholds: &[ThresholdRow],
    pods: &[Candidate],
    config: Option<&str>,
) -> Vec<Advice> {
    let first = pods.iter().find(|c| !c.critical);
    let mut out = Vec::new();
    match cause.kind {
        ACTIVE_PAGE_CACHE => {
            out.extend(cache_heavy(pods).and_then(memory_limit_for_cache));
            out.extend(acting.and_then(|a| soft_threshold(a, thresholds)));
            out.push(agent(config));
        }
        ANONYMOUS_MEMORY => {
            out.extend(first.and_then(request_what_it_uses));
            out.extend(first.and_then(limit_for_anonymous));
            out.push(kernel_notification());
            out.push(agent(config));
        }
        UNKNOWN => out.push(agent(config)),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_round_up_to_64_mebibytes() {
        assert_eq!(quantity_up(1), "64Mi");
        assert_eq!(quantity_up(64 * MI), "64Mi");
        assert_eq!(quantity_up(64 * MI + 1), "128Mi");
        assert_eq!(quantity_up(3 * 1024 * MI - 5), "3Gi");
        assert_eq!(quantity_up(700 * MI), "704Mi");
    }
}
