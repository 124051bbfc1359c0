//! Bearer tokens with scopes.
//!
//! Tokens are kept only as their SHA-256 digests, so a token is looked up by the digest
//! of what the client sent: no comparison of secret bytes whose time could leak them,
//! and no token in memory dumps of the tables. Names (not tokens) identify principals in
//! logs and audit records.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Look hashes up and check uploads (`/m/...`, `/c/...` reads, `/v1/check`, `/v1/lookup`, `/v1/info`).
    Match,
    /// Hash uploads (`/h/hash`).
    Hash,
    /// Reload the index and read metrics (`/v1/reload`, `/metrics`).
    Admin,
}

impl Scope {
    /// The scope's name in token files.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Match => "match",
            Scope::Hash => "hash",
            Scope::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Scope> {
        Some(match text {
            "match" => Scope::Match,
            "hash" => Scope::Hash,
            "admin" => Scope::Admin,
            _ => return None,
        })
    }
}

/// Why tokens could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The tokens file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The tokens file can be read by group or others.
    #[error("{0}: the tokens file must not be readable by group or others (chmod 600)")]
    Permissions(String),
    /// A line is not `NAME SCOPES TOKEN` (the token itself is never part of the message).
    #[error("{source_name} line {line}: {reason}")]
    Line {
        /// The file or variable.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A principal: the name of the token a request carried and its scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (`anonymous` when the server has no tokens).
    pub name: String,
    scopes: Vec<Scope>,
}

impl Principal {
    /// Whether the principal holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The tokens a server accepts. Empty: every request is the anonymous principal with all
/// scopes.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], Principal>,
}

/// Tokens shorter than this are refused: a bearer token must not be guessable.
pub const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// No tokens configured.
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Adds the tokens of `text` (lines `NAME SCOPES TOKEN`, `#` comments, blank lines),
    /// naming `source_name` in errors.
    pub fn add_lines(&mut self, source_name: &str, text: &str) -> Result<(), AuthError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| AuthError::Line {
                source_name: source_name.into(),
                line: n + 1,
                reason: reason.into(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, scopes, token] = fields[..] else {
                return Err(err("expected NAME SCOPES TOKEN"));
            };
            let scopes: Vec<Scope> =
                scopes.split(',').map(Scope::parse).collect::<Option<_>>().ok_or_else(|| {
                    err("unknown scope (expected a comma-separated list of match, hash, admin)")
                })?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(err(&format!("the token is shorter than {MIN_TOKEN_LEN} characters")));
            }
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if self.by_digest.insert(digest, Principal { name: name.to_string(), scopes }).is_some() {
                return Err(err("the same token appears twice"));
            }
        }
        Ok(())
    }

    /// Reads a tokens file, which must not be readable by group or others.
    pub fn add_file(&mut self, path: &Path) -> Result<(), AuthError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| AuthError::Read { path: shown.clone(), source })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| AuthError::Read { path: shown.clone(), source })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(AuthError::Permissions(shown));
            }
        }
        self.add_lines(&shown, &text)
    }

    /// The principal of an `Authorization` header value (`Bearer TOKEN`), `None` when the
    /// header is missing or the token unknown. With no tokens configured, everyone is
    /// `anonymous` with every scope.
    pub fn principal(&self, authorization: Option<&str>) -> Option<Principal> {
        if self.is_empty() {
            return Some(Principal {
                name: "anonymous".into(),
                scopes: vec![Scope::Match, Scope::Hash, Scope::Admin],
            });
        }
        let value = authorization?.trim();
        let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.by_digest.get(&digest).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_resolve_to_their_scopes() {
        let mut t = Tokens::default();
        t.add_lines(
            "env",
            "# comment\nuploads match,hash 0123456789abcdef0123\nops admin fedcba9876543210fedc\n",
        )
        .unwrap();
        let p = t.principal(Some("Bearer 0123456789abcdef0123")).unwrap();
        assert_eq!(p.name, "uploads");
        assert!(p.has(Scope::Match) && p.has(Scope::Hash) && !p.has(Scope::Admin));
        assert!(t.principal(Some("Bearer nope-nope-nope-nope")).is_none());
        assert!(t.principal(None).is_none());
        assert!(t.principal(Some("Basic 0123456789abcdef0123")).is_none());
    }

    #[test]
    fn bad_lines_are_refused_without_echoing_the_token() {
        let mut t = Tokens::default();
        let e = t.add_lines("f", "a match tiny").unwrap_err().to_string();
        assert!(e.contains("line 1") && !e.contains("tiny"), "{e}");
        let e = t.add_lines("f", "a root 0123456789abcdef0123").unwrap_err().to_string();
        assert!(e.contains("unknown scope") && !e.contains("0123456789abcdef0123"), "{e}");
        assert!(t.add_lines("f", "a match").is_err());
    }
}
