//! Credentials of a list's source: from a file only its owner can read, or from the
//! environment. Values are kept in [`Secret`]s, whose `Debug` and `Display` print
//! `(hidden)`, so no log line, error or report can show one.
//!
//! The file has one `key = value` a line (`#` starts a comment line). The environment
//! variable `MEDIAMATCH_<LIST>_<KEY>` (upper case, other characters as `_`) overrides
//! the file: for the list `ncmec`, `MEDIAMATCH_NCMEC_PASSWORD`.

use std::collections::BTreeMap;
use std::path::Path;

use super::FetchError;

/// A credential value. It is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, to put in a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// A list's credentials by key.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    list: String,
    values: BTreeMap<String, Secret>,
}

impl Credentials {
    /// The credentials of `list`: the file's (if any), then the environment's.
    pub fn load(list: &str, file: Option<&Path>) -> Result<Credentials, FetchError> {
        let mut values = BTreeMap::new();
        if let Some(path) = file {
            let text = read_private(path).map_err(|message| FetchError::Credentials {
                list: list.to_string(),
                message: format!("{}: {message}", path.display()),
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    return Err(FetchError::Credentials {
                        list: list.to_string(),
                        message: format!("{}:{}: expected `key = value`", path.display(), n + 1),
                    });
                };
                let v = v.trim().trim_matches('"');
                values.insert(k.trim().to_ascii_lowercase(), Secret(v.to_string()));
            }
        }
        let prefix = format!("MEDIAMATCH_{}_", env_name(list));
        for (k, v) in std::env::vars() {
            if let Some(key) = k.strip_prefix(&prefix) {
                values.insert(key.to_ascii_lowercase(), Secret(v));
            }
        }
        Ok(Credentials { list: list.to_string(), values })
    }

    /// The value of `key`, or an error naming the list, the key and where to give it.
    pub fn get(&self, key: &str) -> Result<&Secret, FetchError> {
        self.values.get(key).filter(|s| !s.0.is_empty()).ok_or_else(|| FetchError::Credentials {
            list: self.list.clone(),
            message: format!(
                "no `{key}`: give it in the list's credentials_file or in MEDIAMATCH_{}_{}",
                env_name(&self.list),
                key.to_ascii_uppercase()
            ),
        })
    }
}

/// `name` as part of an environment variable name: upper case, other characters `_`.
pub fn env_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Reads a file that must not be readable or writable by group or others (mode 600 or
/// stricter on Unix); the error says what is wrong.
pub fn read_private(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!("readable by others (mode {:o}); run chmod 600 on it", mode & 0o777));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "(hidden) (hidden)");
        let mut c = Credentials { list: "x".into(), values: BTreeMap::new() };
        c.values.insert("password".into(), s);
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(c.get("username").unwrap_err().to_string().contains("MEDIAMATCH_X_USERNAME"));
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cred");
        std::fs::write(&path, "username = u\npassword = p\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Credentials::load("l", Some(&path)).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let c = Credentials::load("l", Some(&path)).unwrap();
        assert_eq!(c.get("password").unwrap().expose(), "p");
    }
}
