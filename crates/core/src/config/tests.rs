//! Tests of reading a config (file and flags) into the effective eviction settings, kept in one
//! file over 600 lines on purpose: each case is a small config and the settings it yields, read
//! top to bottom like the kubelet's own config tests; split by field they would repeat the helpers.

use super::*;
use crate::quantity::Quantity;
use crate::signal::Signal;
use crate::threshold::ThresholdValue;

fn parse(text: &str) -> KubeletConfig {
    KubeletConfig::parse(text, "kubelet.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn flags(args: &[&str]) -> Result<KubeletConfig, ConfigError> {
    KubeletConfig::from_flags(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

fn eviction(text: &str) -> Result<EvictionConfig, ConfigError> {
    parse(text).eviction()
}

fn summary(cfg: &EvictionConfig) -> Vec<String> {
    cfg.thresholds
        .iter()
        .map(|t| {
            format!(
                "{} {} {}{}",
                t.signal,
                t.value,
                duration::format_duration(t.grace_period_ns),
                t.min_reclaim.map(|m| format!(" +{m}")).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn absent_eviction_hard_gets_linux_defaults() {
    let cfg = eviction("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n").unwrap();
    assert_eq!(
        summary(&cfg),
        [
            "memory.available 100Mi 0s",
            "nodefs.available 10% 0s",
            "nodefs.inodesFree 5% 0s",
            "imagefs.available 15% 0s",
            "imagefs.inodesFree 5% 0s",
            "allocatableMemory.available 100Mi 0s",
        ]
    );
    assert_eq!(cfg.pressure_transition_period_ns, 5 * duration::MINUTE);
    assert_eq!(cfg.enforce_node_allocatable, ["pods"]);
    assert_eq!(cfg.pod_cgroup_root, "/kubepods");
    assert!(cfg.local_storage_capacity_isolation);
    assert!(!cfg.kernel_memcg_notification);
}

#[test]
fn null_eviction_hard_is_absent_but_empty_map_is_not() {
    assert_eq!(eviction("evictionHard:\n").unwrap().thresholds.len(), 6);
    assert!(eviction("evictionHard: {}\n").unwrap().thresholds.is_empty());
}

#[test]
fn partial_eviction_hard_drops_defaults_unless_merged() {
    let partial = "evictionHard:\n  memory.available: 500Mi\n";
    assert_eq!(
        summary(&eviction(partial).unwrap()),
        [
            "memory.available 500Mi 0s",
            "allocatableMemory.available 500Mi 0s"
        ]
    );
    let merged = eviction(&format!("{partial}mergeDefaultEvictionSettings: true\n")).unwrap();
    assert_eq!(
        summary(&merged),
        [
            "memory.available 500Mi 0s",
            "nodefs.available 10% 0s",
            "nodefs.inodesFree 5% 0s",
            "imagefs.available 15% 0s",
            "imagefs.inodesFree 5% 0s",
            "allocatableMemory.available 500Mi 0s",
        ]
    );
    // A user's "0%" still disables the signal when merging: the key exists.
    let disabled =
        eviction("mergeDefaultEvictionSettings: true\nevictionHard:\n  nodefs.available: \"0%\"\n").unwrap();
    assert!(
        !summary(&disabled)
            .iter()
            .any(|s| s.starts_with("nodefs.available"))
    );
    assert_eq!(disabled.thresholds.len(), 5);
}

#[test]
fn full_config_unquoted_values_and_json() {
    let yaml = "\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  memory.available: 200Mi
  nodefs.available: 5%
evictionSoft:
  memory.available: 1Gi
evictionSoftGracePeriod:
  memory.available: 1m30s
evictionMinimumReclaim:
  memory.available: \"0\"
evictionPressureTransitionPeriod: 30s
evictionMaxPodGracePeriod: 60
enforceNodeAllocatable: [pods]
systemReserved:
  memory: 1Gi
  cpu: 500m
kubeReserved: {memory: 512Mi}
kernelMemcgNotification: true
localStorageCapacityIsolation: false
cgroupDriver: systemd
someFieldHeadroomDoesNotKnow: {a: 1}
";
    let cfg = eviction(yaml).unwrap();
    assert_eq!(
        summary(&cfg),
        [
            "memory.available 200Mi 0s +0",
            "nodefs.available 5% 0s",
            "memory.available 1Gi 1m30s +0",
            "allocatableMemory.available 200Mi 0s +0",
        ]
    );
    assert_eq!(cfg.pressure_transition_period_ns, 30 * duration::SECOND);
    assert_eq!(cfg.max_pod_grace_period_seconds, 60);
    assert_eq!(cfg.system_reserved["memory"], Quantity::parse("1Gi").unwrap());
    assert_eq!(cfg.system_reserved["cpu"], Quantity::parse("500m").unwrap());
    assert_eq!(cfg.kube_reserved["memory"], Quantity::parse("512Mi").unwrap());
    assert!(cfg.kernel_memcg_notification);
    assert!(!cfg.local_storage_capacity_isolation);
    assert_eq!(cfg.pod_cgroup_root, "/kubepods.slice");

    let json = r#"{
  "apiVersion": "kubelet.config.k8s.io/v1beta1",
  "kind": "KubeletConfiguration",
  "evictionHard": {"memory.available": "200Mi", "nodefs.available": "5%"},
  "evictionSoft": {"memory.available": "1Gi"},
  "evictionSoftGracePeriod": {"memory.available": "1m30s"},
  "evictionMinimumReclaim": {"memory.available": "0"},
  "evictionPressureTransitionPeriod": "30s",
  "evictionMaxPodGracePeriod": 60,
  "systemReserved": {"memory": "1Gi", "cpu": "500m"},
  "kubeReserved": {"memory": "512Mi"},
  "kernelMemcgNotification": true,
  "localStorageCapacityIsolation": false,
  "cgroupDriver": "systemd"
}"#;
    assert_eq!(
        KubeletConfig::parse(json, "kubelet.json")
            .unwrap()
            .eviction()
            .unwrap(),
        cfg
    );
    // JSON indented with tabs is not YAML; it still parses.
    let tabbed = json.replace("  ", "\t");
    assert_eq!(
        KubeletConfig::parse(&tabbed, "kubelet.json")
            .unwrap()
            .eviction()
            .unwrap(),
        cfg
    );
}

#[test]
fn map_values_must_be_strings() {
    // The kubelet decodes these maps as map[string]string: an unquoted number or boolean stops
    // it at startup ("json: cannot unmarshal number into Go struct field
    // KubeletConfiguration.evictionMinimumReclaim of type string").
    for (yaml, needle) in [
        (
            "evictionMinimumReclaim:\n  memory.available: 0\n",
            "evictionMinimumReclaim \"memory.available\"",
        ),
        (
            "evictionHard: {pid.available: 1000}\n",
            "evictionHard \"pid.available\"",
        ),
        (
            "evictionSoft: {memory.available: 1e9}\n",
            "evictionSoft \"memory.available\"",
        ),
        (
            "evictionSoftGracePeriod: {memory.available: true}\n",
            "evictionSoftGracePeriod",
        ),
        (
            "systemReserved: {memory: 1Gi, cpu: 1}\n",
            "systemReserved \"cpu\"",
        ),
        ("kubeReserved: {cpu: 0.5}\n", "kubeReserved \"cpu\""),
    ] {
        let err = KubeletConfig::parse(yaml, "kubelet.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("kubelet.yaml:"), "{err}");
        assert!(err.contains(needle), "{needle} in {err}");
        assert!(err.contains("quote the value"), "{err}");
    }
    // Quoted, the same values are fine; null is the empty string, as Go decodes it.
    let cfg = parse("evictionMinimumReclaim: {memory.available: \"0\"}\nsystemReserved: {cpu: \"1\"}\n");
    assert!(cfg.eviction().is_ok());
    let json = r#"{"evictionHard": {"pid.available": 1000}}"#;
    assert!(KubeletConfig::parse(json, "kubelet.json").is_err());
}

#[test]
fn transition_period_zero_means_default() {
    assert_eq!(
        eviction("evictionPressureTransitionPeriod: 0s\n")
            .unwrap()
            .pressure_transition_period_ns,
        5 * duration::MINUTE
    );
}

#[test]
fn errors_name_file_line_field_and_value() {
    let err = eviction(
        "kind: KubeletConfiguration\nevictionHard:\n  nodefs.available: 10%\n  memory.available: -100Mi\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        r#"kubelet.yaml:4: evictionHard "memory.available": "-100Mi": eviction threshold memory.available must be positive: -100Mi"#
    );
    let err = eviction("evictionSoft:\n  memory.available: 1Gi\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"kubelet.yaml:2: evictionSoft "memory.available": "1Gi": grace period must be specified for the soft eviction threshold memory.available"#
    );
    let err = KubeletConfig::parse("evictionPressureTransitionPeriod: 300\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("k.yaml:1: evictionPressureTransitionPeriod: expected a duration string"),
        "{err}"
    );
    let err = KubeletConfig::parse("\nevictionPressureTransitionPeriod: 5\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("k.yaml:2:"), "{err}");
    let err = KubeletConfig::parse("evictionPressureTransitionPeriod: \"5\"\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"k.yaml:1: evictionPressureTransitionPeriod: "5": time: missing unit in duration "5""#
    );
    let err = KubeletConfig::parse("evictionMaxPodGracePeriod: 1.5\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("evictionMaxPodGracePeriod: expected a whole number of seconds"),
        "{err}"
    );
    let err = KubeletConfig::parse("evictionMaxPodGracePeriod: 3000000000\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn kind_and_api_version_are_checked_when_present() {
    let err = KubeletConfig::parse("kind: Pod\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(r#"k.yaml:1: kind: "Pod" is not a kubelet configuration"#),
        "{err}"
    );
    let err = KubeletConfig::parse("apiVersion: v1\nkind: KubeletConfiguration\n", "k.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("apiVersion") && err.contains("kubelet.config.k8s.io/v1beta1"),
        "{err}"
    );
    assert!(KubeletConfig::parse("evictionHard: {}\n", "k.yaml").is_ok());
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    for bad in [
        "evictionHard: [1, 2]\n",
        "evictionHard:\n  memory.available: [1]\n",
        "- a\n- b\n",
        "{\"evictionHard\": {\"memory.available\": \"1Gi\"",
        "evictionHard: {a: 1\n",
        "kernelMemcgNotification: maybe\n",
        "enforceNodeAllocatable: pods\n",
        "enforceNodeAllocatable: [[pods]]\n",
        "cgroupRoot: 5\n",
    ] {
        let err = KubeletConfig::parse(bad, "bad.yaml").unwrap_err().to_string();
        assert!(err.starts_with("bad.yaml"), "{bad:?}: {err}");
    }
    let err = KubeletConfig::parse("kind: KubeletConfiguration\nevictionHard: 5\n", "b.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("b.yaml:2: evictionHard: expected a map") && err.ends_with(r#"got "5""#),
        "{err}"
    );
    let err = KubeletConfig::parse("  \n", "empty.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    // Comments only: a valid (empty) document.
    assert!(KubeletConfig::parse("# nothing here\n", "c.yaml").is_ok());
}

#[test]
fn repeated_keys_keep_the_last_value() {
    let cfg = eviction("evictionHard:\n  memory.available: 1Gi\n  memory.available: 2Gi\n").unwrap();
    assert_eq!(summary(&cfg)[0], "memory.available 2Gi 0s");
}

#[test]
fn reserved_resources_follow_kubelet_rules() {
    let err = eviction("systemReserved:\n  gpu: \"1\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"kubelet.yaml:2: systemReserved "gpu": cannot reserve "gpu" resource"#
    );
    let err = eviction("kubeReserved:\n  memory: -1Gi\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"resource quantity for "memory" cannot be negative: -1Gi"#),
        "{err}"
    );
    let err = eviction("kubeReserved:\n  memory: lots\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"failed to parse quantity "lots" for "memory" resource"#),
        "{err}"
    );
    let ok = eviction("systemReserved: {pid: \"1000\", ephemeral-storage: 1Gi}\n").unwrap();
    assert_eq!(ok.system_reserved.len(), 2);
}

#[test]
fn enforce_node_allocatable_validation() {
    assert!(
        eviction("enforceNodeAllocatable: []\n")
            .unwrap()
            .thresholds
            .iter()
            .all(|t| t.signal != Signal::AllocatableMemoryAvailable)
    );
    assert!(eviction("enforceNodeAllocatable: [none]\n").is_ok());
    for (bad, needle) in [
        (
            "enforceNodeAllocatable: [pods, none]\n",
            "may not contain additional",
        ),
        ("enforceNodeAllocatable: [pod]\n", r#"option "pod" specified"#),
        (
            "enforceNodeAllocatable: [pods, pods]\n",
            "duplicated enforcements",
        ),
        (
            "enforceNodeAllocatable: [pods, system-reserved]\n",
            "systemReservedCgroup",
        ),
        (
            "enforceNodeAllocatable: [pods]\ncgroupsPerQOS: false\n",
            "cgroupsPerQOS",
        ),
    ] {
        let err = eviction(bad).unwrap_err().to_string();
        assert!(err.contains(needle), "{bad:?}: {err}");
    }
    assert!(
        eviction("enforceNodeAllocatable: [pods, kube-reserved]\nkubeReservedCgroup: /kube.slice\n").is_ok()
    );
}

#[test]
fn pod_cgroup_root_variants() {
    assert_eq!(parse("cgroupsPerQOS: false\n").pod_cgroup_root(), "/");
    assert_eq!(
        parse("cgroupRoot: /custom\n").pod_cgroup_root(),
        "/custom/kubepods"
    );
    assert_eq!(
        parse("cgroupRoot: /custom\ncgroupDriver: systemd\n").pod_cgroup_root(),
        "/custom.slice/custom-kubepods.slice"
    );
}

#[test]
fn flags_parse_like_the_kubelet() {
    let cfg = flags(&[
        "--eviction-hard=memory.available<300Mi, nodefs.available<10%",
        "--eviction-soft",
        "memory.available<1Gi",
        "--eviction-soft-grace-period=memory.available=1m30s",
        "--eviction-minimum-reclaim=memory.available=100Mi",
        "--eviction-pressure-transition-period=1m",
        "--eviction-max-pod-grace-period",
        "45",
        "--kernel-memcg-notification",
        "--local-storage-capacity-isolation=false",
        "--system-reserved=memory=1Gi,cpu=500m",
        "--kubeconfig",
        "/etc/kubernetes/kubelet.conf",
        "--v=2",
    ])
    .unwrap();
    assert_eq!(
        cfg.ignored_flags,
        ["--kubeconfig /etc/kubernetes/kubelet.conf", "--v=2"]
    );
    let ev = cfg.eviction().unwrap();
    assert_eq!(
        summary(&ev),
        [
            "memory.available 300Mi 0s +100Mi",
            "nodefs.available 10% 0s",
            "memory.available 1Gi 1m30s +100Mi",
            "allocatableMemory.available 300Mi 0s +100Mi",
        ]
    );
    assert_eq!(ev.pressure_transition_period_ns, duration::MINUTE);
    assert_eq!(ev.max_pod_grace_period_seconds, 45);
    assert!(ev.kernel_memcg_notification);
    assert!(!ev.local_storage_capacity_isolation);
    assert_eq!(ev.system_reserved.len(), 2);
}

#[test]
fn flag_errors_use_pflag_wording() {
    let e = |args: &[&str]| flags(args).unwrap_err().to_string();
    assert_eq!(
        e(&["--eviction-hard=memory.available=100Mi"]),
        r#"invalid argument "memory.available=100Mi" for "--eviction-hard" flag: malformed pair, expect string<string"#
    );
    assert_eq!(
        e(&["--eviction-pressure-transition-period=30"]),
        r#"invalid argument "30" for "--eviction-pressure-transition-period" flag: time: missing unit in duration "30""#
    );
    assert_eq!(
        e(&["--kernel-memcg-notification=yes"]),
        r#"invalid argument "yes" for "--kernel-memcg-notification" flag: strconv.ParseBool: parsing "yes": invalid syntax"#
    );
    assert_eq!(e(&["--eviction-soft"]), "flag needs an argument: --eviction-soft");
    let err = flags(&["--eviction-hard=memory.available<-1"])
        .unwrap()
        .eviction()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"--eviction-hard "memory.available<-1": eviction threshold memory.available must be positive: -1"#
    );
}

#[test]
fn repeated_flags_extend_and_overwrite() {
    let cfg = flags(&[
        "--eviction-hard=memory.available<1Gi",
        "--eviction_hard=memory.available<2Gi,nodefs.available<5%",
        "--enforce-node-allocatable=",
    ])
    .unwrap();
    let ev = cfg.eviction().unwrap();
    assert_eq!(
        summary(&ev),
        ["memory.available 2Gi 0s", "nodefs.available 5% 0s"]
    );
    assert!(ev.enforce_node_allocatable.is_empty());
}

#[test]
fn flags_override_the_file() {
    let file = parse(
        "evictionHard:\n  memory.available: 1Gi\nevictionMaxPodGracePeriod: 30\nkernelMemcgNotification: true\n",
    );
    let over = flags(&[
        "--eviction-hard=nodefs.available<20%",
        "--kernel-memcg-notification=false",
    ])
    .unwrap();
    let ev = file.overlay(&over).eviction().unwrap();
    assert_eq!(
        summary(&ev),
        ["nodefs.available 20% 0s"],
        "a map flag replaces the whole map"
    );
    assert_eq!(
        ev.max_pod_grace_period_seconds, 30,
        "fields without a flag keep the file value"
    );
    assert!(!ev.kernel_memcg_notification);
}

#[test]
fn allocatable_ignore_eviction_flag() {
    let ev = flags(&["--experimental-allocatable-ignore-eviction"])
        .unwrap()
        .eviction()
        .unwrap();
    assert!(ev.allocatable_ignore_eviction);
    assert!(
        ev.thresholds
            .iter()
            .all(|t| t.signal != Signal::AllocatableMemoryAvailable)
    );
    assert_eq!(ev.enforce_node_allocatable, ["pods"]);
}

#[test]
fn percentages_keep_f32_semantics_through_config() {
    let ev = eviction("evictionHard:\n  memory.available: \"10%\"\n").unwrap();
    assert_eq!(
        ev.thresholds[0].value,
        ThresholdValue::Percentage(10.0f32 / 100.0f32)
    );
}

fn to_yaml(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return " {}\n".to_string();
    }
    let lines: String = pairs.iter().map(|(k, v)| format!("  {k}: \"{v}\"\n")).collect();
    format!("\n{lines}")
}

fn to_flag(pairs: &[(String, String)], sep: char) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}{sep}{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

proptest::proptest! {
    #[test]
    fn flags_and_yaml_agree(
        hard in proptest::collection::vec((0usize..9, "(([1-9][0-9]{0,3}(Mi|Gi|k|))|([0-9]{1,2}(\\.[0-9])?%))"), 0..4),
        soft in proptest::collection::vec((0usize..9, "[1-9][0-9]{0,3}Mi"), 0..3),
        grace_s in 0u32..600,
        reclaim in proptest::collection::vec((0usize..9, "[0-9]{1,3}(Mi|%)"), 0..3),
    ) {
        let sig = |i: usize| Signal::ALL[i].as_str().to_string();
        let hard: Vec<(String, String)> = hard.into_iter().map(|(i, v)| (sig(i), v)).collect();
        let soft: Vec<(String, String)> = soft.into_iter().map(|(i, v)| (sig(i), v)).collect();
        let grace: Vec<(String, String)> = soft.iter().map(|(k, _)| (k.clone(), format!("{grace_s}s"))).collect();
        let reclaim: Vec<(String, String)> = reclaim.into_iter().map(|(i, v)| (sig(i), v)).collect();
        let yaml = format!(
            "evictionHard:{}evictionSoft:{}evictionSoftGracePeriod:{}evictionMinimumReclaim:{}",
            to_yaml(&hard), to_yaml(&soft), to_yaml(&grace), to_yaml(&reclaim)
        );
        let from_yaml = KubeletConfig::parse(&yaml, "p.yaml").unwrap().eviction();
        let args = vec![
            format!("--eviction-hard={}", to_flag(&hard, '<')),
            format!("--eviction-soft={}", to_flag(&soft, '<')),
            format!("--eviction-soft-grace-period={}", to_flag(&grace, '=')),
            format!("--eviction-minimum-reclaim={}", to_flag(&reclaim, '=')),
        ];
        let from_flags = KubeletConfig::from_flags(&args).unwrap().eviction();
        match (from_yaml, from_flags) {
            (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a.thresholds, b.thresholds),
            (Err(_), Err(_)) => {}
            (a, b) => proptest::prop_assert!(false, "yaml {:?} vs flags {:?}", a, b),
        }
    }

    #[test]
    fn config_text_never_panics(text in "[a-zA-Z:{}\\[\\],\"' \n.%0-9-]{0,80}") {
        if let Ok(cfg) = KubeletConfig::parse(&text, "f.yaml") {
            let _ = cfg.eviction();
        }
    }

    #[test]
    fn flags_never_panic(args in proptest::collection::vec("(--[a-z-]{0,30}(=[a-zA-Z0-9.<=,%-]{0,20})?)|[a-z0-9<=,]{0,10}", 0..6)) {
        if let Ok(cfg) = KubeletConfig::from_flags(&args) {
            let _ = cfg.eviction();
        }
    }
}

#[test]
fn a_misspelt_eviction_flag_is_an_error_not_an_ignored_flag() {
    // The kubelet refuses any unknown flag; headroom skips non-eviction flags of a pasted
    // command line, but `--eviction-hrad` would otherwise silently mean "use the defaults".
    for args in [
        &["--eviction-hrad=memory.available<1Gi"][..],
        &["--eviction_sotf", "memory.available<1Gi"][..],
    ] {
        let err = flags(args).unwrap_err().to_string();
        assert!(err.starts_with("unknown flag: --eviction-"), "{err}");
    }
    let cfg = flags(&["--node-labels=a=b", "--eviction-hard=memory.available<1Gi"]).unwrap();
    assert_eq!(cfg.ignored_flags, ["--node-labels=a=b"]);
}

#[test]
fn kubelet_psi_gate_from_feature_gates_file_and_flag() {
    let file = parse(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         featureGates:\n  KubeletPSI: false\n  KubeletSeparateDiskGC: true\n",
    );
    let e = file.eviction().unwrap();
    assert!(!e.kubelet_psi);
    assert!(e.kubelet_separate_disk_gc, "gates are read independently");
    // Default on (beta since v1.34).
    let none = parse("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    assert!(none.eviction().unwrap().kubelet_psi);
    // The flag overrides the file; the last value of a gate in one flag wins.
    let on = flags(&["--feature-gates=KubeletPSI=false,KubeletPSI=true"]).unwrap();
    assert!(file.overlay(&on).eviction().unwrap().kubelet_psi);
    let err = flags(&["--feature-gates=KubeletPSI=maybe"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid value of KubeletPSI=maybe"), "{err}");
}

#[test]
fn kubelet_separate_disk_gc_from_feature_gates_file_and_flag() {
    let file = parse(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         featureGates:\n  SomethingElse: true\n  KubeletSeparateDiskGC: false\n",
    );
    assert!(!file.eviction().unwrap().kubelet_separate_disk_gc);
    // Default on.
    let none = parse("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    assert!(none.eviction().unwrap().kubelet_separate_disk_gc);
    // The flag overrides the file.
    let flags_on = flags(&["--feature-gates=Foo=false, KubeletSeparateDiskGC=true"]).unwrap();
    assert!(
        file.overlay(&flags_on)
            .eviction()
            .unwrap()
            .kubelet_separate_disk_gc
    );
    // map[string]bool: a quoted value is refused, as the kubelet's decoder refuses it.
    let err = KubeletConfig::parse(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
         featureGates:\n  KubeletSeparateDiskGC: \"false\"\n",
        "kubelet.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(":4: featureGates \"KubeletSeparateDiskGC\": expected true or false"),
        "{err}"
    );
    let err = flags(&["--feature-gates=KubeletSeparateDiskGC"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing bool value for KubeletSeparateDiskGC"),
        "{err}"
    );
    let err = flags(&["--feature-gates=KubeletSeparateDiskGC=nope"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid value of KubeletSeparateDiskGC=nope"),
        "{err}"
    );
}
