//! Platforms (`os/arch[/variant]`) and choosing among the manifests of a multi-platform index.

use std::fmt;
use std::str::FromStr;

use crate::OciError;

/// An OS, CPU architecture and optional variant, as in image indexes and configs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: None,
        }
    }

    /// The platforms tried, in order, when the caller does not name one: WebAssembly first
    /// (what this project runs natively), then linux/amd64 (what it lifts).
    pub fn default_preference() -> Vec<Platform> {
        vec![
            Platform::new("wasi", "wasm"),
            Platform::new("linux", "amd64"),
        ]
    }

    /// Whether `self` (a wanted platform) accepts `other` (an offered one). A wanted platform
    /// without a variant accepts any variant.
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Platform, OciError> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || OciError::InvalidPlatform {
            input: s.to_string(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform::new(os, arch)),
            [os, arch, variant] => Ok(Platform {
                variant: Some(variant.to_string()),
                ..Platform::new(os, arch)
            }),
            _ => Err(bad()),
        }
    }
}

/// Picks the index of the offered platform that best fits `wanted` (or the default preference
/// when `None`). Among candidates matching the same wanted platform, one without a variant is
/// preferred when none was asked for, then the first one.
pub(crate) fn choose(wanted: Option<&Platform>, offered: &[Option<Platform>]) -> Option<usize> {
    let prefs = match wanted {
        Some(w) => vec![w.clone()],
        None => Platform::default_preference(),
    };
    for want in &prefs {
        let matching: Vec<usize> = offered
            .iter()
            .enumerate()
            .filter(|(_, o)| o.as_ref().is_some_and(|o| want.accepts(o)))
            .map(|(i, _)| i)
            .collect();
        let exact = matching.iter().copied().find(|&i| {
            offered[i]
                .as_ref()
                .is_some_and(|o| o.variant == want.variant)
        });
        if let Some(i) = exact.or(matching.first().copied()) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(
            "wasi/wasm".parse::<Platform>().unwrap().to_string(),
            "wasi/wasm"
        );
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//x".parse::<Platform>().is_err());
        assert!("a/b/c/d".parse::<Platform>().is_err());
    }

    #[test]
    fn choosing() {
        let offered = vec![
            Some("linux/arm64/v8".parse().unwrap()),
            Some(Platform::new("linux", "amd64")),
            None,
            Some(Platform::new("wasi", "wasm")),
        ];
        assert_eq!(choose(None, &offered), Some(3));
        assert_eq!(choose(None, &offered[..2]), Some(1));
        let arm: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(choose(Some(&arm), &offered), Some(0));
        let s390 = Platform::new("linux", "s390x");
        assert_eq!(choose(Some(&s390), &offered), None);
    }
}
