//! [`ConfigError`]: why a configuration cannot be used, as one sentence for people and as
//! separate facts (file, line, flag, field, value, problem) for programs.

use serde::Serialize;

use super::Source;

/// Why a configuration could not be used. The message (its `Display`) names the file/flag, the
/// field and the value, and reuses the kubelet's own wording where it has one; the same facts
/// are kept apart so a program can point at them without parsing the sentence.
///
/// Serialized (`check-config --format json` on a refused config) as
/// `{message, file, line, flag, field, value, problem}`, the unknown ones `null`.
// Boxed: a `Result<_, ConfigError>` stays one pointer wide on the success path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
#[error("{}", .0.message)]
pub struct ConfigError(Box<Facts>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Facts {
    message: String,
    file: Option<String>,
    line: Option<u64>,
    flag: Option<String>,
    field: Option<String>,
    value: Option<String>,
    problem: String,
}

impl ConfigError {
    /// An error whose whole `message` is also its `problem` until narrowed with the `with_*`
    /// setters. `message` is the sentence printed, exactly as written by the caller.
    pub(crate) fn new(message: String) -> Self {
        ConfigError(Box::new(Facts {
            problem: message.clone(),
            message,
            file: None,
            line: None,
            flag: None,
            field: None,
            value: None,
        }))
    }

    /// Where the offending setting came from: a file (and line), a flag, or a kubelet default
    /// (neither).
    pub(crate) fn at(mut self, source: &Source) -> Self {
        match source {
            Source::File { origin, line } => {
                self.0.file = Some(origin.clone());
                self.0.line = *line;
            }
            Source::Flag { flag } => self.0.flag = Some(flag.clone()),
            Source::Default => {}
        }
        self
    }

    /// The file, when the error is about the file as a whole (no setting to point at).
    pub(crate) fn in_file(mut self, origin: &str, line: Option<u64>) -> Self {
        self.0.file = Some(origin.to_string());
        self.0.line = line;
        self
    }

    pub(crate) fn with_flag(mut self, flag: &str) -> Self {
        self.0.flag = Some(flag.to_string());
        self
    }

    /// The field path in the config file's names: `evictionHard[memory.available]`, `kind`,
    /// `featureGates`.
    pub(crate) fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// The value as written (for a list, its items joined by commas).
    pub(crate) fn with_value(mut self, value: impl Into<String>) -> Self {
        self.0.value = Some(value.into());
        self
    }

    /// What is wrong, without the place: `eviction percentage threshold memory.available must
    /// be <= 100%: 150%`.
    pub(crate) fn with_problem(mut self, problem: impl Into<String>) -> Self {
        self.0.problem = problem.into();
        self
    }

    /// The whole sentence, as `Display` prints it.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The config file (as named to [`super::KubeletConfig::parse`]), when the error is in one.
    pub fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }

    /// The 1-based line in [`Self::file`], when known.
    pub fn line(&self) -> Option<u64> {
        self.0.line
    }

    /// The command-line flag, when the error is in one (`--eviction-hard`).
    pub fn flag(&self) -> Option<&str> {
        self.0.flag.as_deref()
    }

    /// The field path (`evictionHard[memory.available]`), when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// The value as written, when the error is about one value.
    pub fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// What is wrong, without the place.
    pub fn problem(&self) -> &str {
        &self.0.problem
    }

    /// A map entry's path: `evictionHard[memory.available]`.
    pub(crate) fn entry_path(field: &str, key: &str) -> String {
        format!("{field}[{key}]")
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, KubeletConfig};

    fn file_error(text: &str) -> ConfigError {
        match KubeletConfig::parse(text, "k.yaml").and_then(|c| c.eviction()) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e,
        }
    }

    fn flag_error(args: &[&str]) -> ConfigError {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match KubeletConfig::from_flags(&args).and_then(|c| c.eviction()) {
            Ok(_) => panic!("accepted: {args:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_threshold_in_a_file_names_file_line_field_value_and_problem_apart() {
        let e = file_error("kind: KubeletConfiguration\nevictionHard:\n  memory.available: \"150%\"\n");
        assert_eq!(e.file(), Some("k.yaml"));
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.flag(), None);
        assert_eq!(e.field(), Some("evictionHard[memory.available]"));
        assert_eq!(e.value(), Some("150%"));
        assert_eq!(
            e.problem(),
            "eviction percentage threshold memory.available must be <= 100%: 150%"
        );
        // The sentence is the place followed by the problem, as before.
        assert_eq!(
            e.to_string(),
            format!(
                "k.yaml:3: evictionHard \"memory.available\": \"150%\": {}",
                e.problem()
            )
        );
        assert_eq!(e.message(), e.to_string());
    }

    #[test]
    fn a_threshold_in_a_flag_names_the_flag_and_the_config_field() {
        let e = flag_error(&["--eviction-hard=memory.available<-1Mi"]);
        assert_eq!((e.file(), e.line()), (None, None));
        assert_eq!(e.flag(), Some("--eviction-hard"));
        assert_eq!(e.field(), Some("evictionHard[memory.available]"));
        assert_eq!(e.value(), Some("-1Mi"));
        assert!(e.to_string().ends_with(e.problem()), "{e}");
        assert!(e.to_string().starts_with("--eviction-hard "), "{e}");
    }

    #[test]
    fn a_bad_flag_value_keeps_the_value_as_written() {
        let e = flag_error(&["--eviction-pressure-transition-period=5 minutes"]);
        assert_eq!(e.flag(), Some("--eviction-pressure-transition-period"));
        assert_eq!(e.value(), Some("5 minutes"));
        assert!(e.to_string().contains("\"5 minutes\""), "{e}");
        assert!(e.to_string().ends_with(e.problem()), "{e}");

        let e = flag_error(&["--evictoin-hard=memory.available<1Gi"]);
        assert_eq!(e.flag(), Some("--evictoin-hard"));
        assert_eq!(e.value(), None);
        assert!(
            e.problem()
                .starts_with("unknown flag (did you mean --eviction-hard?"),
            "{e:?}"
        );
    }

    #[test]
    fn a_scalar_of_the_wrong_type_names_field_and_value() {
        let e = file_error("kind: KubeletConfiguration\nevictionPressureTransitionPeriod: 300\n");
        assert_eq!((e.file(), e.line()), (Some("k.yaml"), Some(2)));
        assert_eq!(e.field(), Some("evictionPressureTransitionPeriod"));
        assert_eq!(e.value(), Some("300"));
        assert_eq!(
            e.to_string(),
            format!("k.yaml:2: evictionPressureTransitionPeriod: {}", e.problem())
        );

        let e = file_error("kind: KubeletConfiguration\nevictionHard:\n  memory.available: 0\n");
        assert_eq!(e.field(), Some("evictionHard[memory.available]"));
        assert_eq!(e.value(), Some("0"));
        assert_eq!(e.line(), Some(3));
        assert!(e.problem().starts_with("expected a string, got "), "{e:?}");
    }

    #[test]
    fn reserved_resources_and_enforcement_name_their_entry() {
        let e = file_error("kind: KubeletConfiguration\nsystemReserved:\n  memory: lots\n");
        assert_eq!(e.field(), Some("systemReserved[memory]"));
        assert_eq!(e.value(), Some("lots"));
        assert_eq!(e.line(), Some(3));
        assert!(
            e.problem().starts_with("failed to parse quantity \"lots\""),
            "{e:?}"
        );

        let e = file_error("kind: KubeletConfiguration\nenforceNodeAllocatable: [pods, pods]\n");
        assert_eq!(e.field(), Some("enforceNodeAllocatable"));
        assert_eq!(e.value(), Some("pods,pods"));
        assert!(
            e.problem().starts_with("invalid configuration: duplicated"),
            "{e:?}"
        );
    }

    #[test]
    fn an_error_about_the_whole_file_has_no_field() {
        let e = file_error("   \n");
        assert_eq!((e.file(), e.field(), e.value()), (Some("k.yaml"), None, None));
        assert_eq!(e.to_string(), format!("k.yaml: {}", e.problem()));

        let e = file_error("kind: KubeletConfiguration\nevictionHard: [1, 2\n");
        assert_eq!(e.file(), Some("k.yaml"));
        assert!(e.line().is_some(), "{e:?}");
        assert_eq!(e.field(), None);
    }

    #[test]
    fn json_keeps_the_facts_apart() {
        let e = file_error("kind: KubeletConfiguration\nevictionHard:\n  memory.available: \"150%\"\n");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["message"], e.to_string());
        assert_eq!(v["file"], "k.yaml");
        assert_eq!(v["line"], 3);
        assert_eq!(v["flag"], serde_json::Value::Null);
        assert_eq!(v["field"], "evictionHard[memory.available]");
        assert_eq!(v["value"], "150%");
        assert_eq!(v["problem"], e.problem());
    }
}
