//! Values SEND checks by their shape: a notice code, a file's digest. Each has one constructor
//! that checks the rule, so a value held is a value SEND accepts.

use base64::Engine as _;
use sha2::Digest as _;
use std::fmt;

/// A value that does not have SEND's shape for its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("noticeCode `{0}` must be 18 digits")]
    NoticeCode(String),
    #[error("sha256 `{0}` must be the Base64 of a 32-byte SHA-256 digest (44 characters)")]
    Sha256(String),
    #[error(
        "file key `{0}` must be letters, digits, `.`, `_` or `-` (after an optional safestorage://), at most 512 characters"
    )]
    FileKey(String),
}

/// A pagoPA notice code (codice avviso): 18 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoticeCode(String);

impl NoticeCode {
    pub fn parse(text: &str) -> Result<NoticeCode, ValueError> {
        if text.len() == 18 && text.bytes().all(|c| c.is_ascii_digit()) {
            Ok(NoticeCode(text.to_string()))
        } else {
            Err(ValueError::NoticeCode(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file's SHA-256 as SEND carries it: the Base64 of the 32-byte digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256(String);

impl Sha256 {
    pub fn parse(text: &str) -> Result<Sha256, ValueError> {
        let decoded = base64::engine::general_purpose::STANDARD.decode(text);
        match decoded {
            Ok(bytes) if bytes.len() == 32 && text.len() == 44 => Ok(Sha256(text.to_string())),
            _ => Err(ValueError::Sha256(text.to_string())),
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256 {
        Sha256(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A safe-storage file key as a request refers to it (`ref.key`): `^(safestorage://)?[A-Za-z0-9._-]+$`,
/// at most 512 characters. Kept as written, with or without the `safestorage://` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey(String);

const SAFESTORAGE: &str = "safestorage://";

impl FileKey {
    pub fn parse(text: &str) -> Result<FileKey, ValueError> {
        let bare = text.strip_prefix(SAFESTORAGE).unwrap_or(text);
        let ok = text.chars().count() <= 512
            && !bare.is_empty()
            && bare
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
        if ok {
            Ok(FileKey(text.to_string()))
        } else {
            Err(ValueError::FileKey(text.to_string()))
        }
    }

    /// The key as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key without its `safestorage://` prefix: what safe storage files it under.
    pub fn bare(&self) -> &str {
        self.0.strip_prefix(SAFESTORAGE).unwrap_or(&self.0)
    }
}

macro_rules! text_value {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

text_value!(NoticeCode, Sha256, FileKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_code_is_eighteen_digits() {
        assert!(NoticeCode::parse("302000000000000001").is_ok());
        for bad in [
            "30200000000000000",
            "3020000000000000011",
            "30200000000000000A",
            "",
        ] {
            assert_eq!(
                NoticeCode::parse(bad),
                Err(ValueError::NoticeCode(bad.into()))
            );
        }
    }

    #[test]
    fn a_file_key_is_safe_storage_characters_with_an_optional_prefix() {
        for good in [
            "PN_NOTIFICATION_ATTACHMENTS-0001.pdf",
            "safestorage://PN_LEGAL_FACTS-ab12.pdf",
        ] {
            let key = FileKey::parse(good).unwrap();
            assert_eq!(key.as_str(), good, "kept as written");
            assert!(!key.bare().starts_with("safestorage://"));
        }
        assert_eq!(
            FileKey::parse("safestorage://K-1.pdf").unwrap().bare(),
            "K-1.pdf"
        );
        let long = "a".repeat(513);
        for bad in [
            "",
            "safestorage://",
            "a/b.pdf",
            "a b",
            "chiave-è",
            long.as_str(),
        ] {
            assert_eq!(
                FileKey::parse(bad),
                Err(ValueError::FileKey(bad.into())),
                "{bad}"
            );
        }
        assert!(FileKey::parse(&"a".repeat(512)).is_ok());
    }

    #[test]
    fn a_sha256_is_the_base64_of_thirty_two_bytes() {
        let empty = Sha256::of(b"");
        assert_eq!(
            empty.as_str(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(Sha256::parse(empty.as_str()), Ok(empty.clone()));
        for bad in [
            "47DEQpj8HBSa",
            "not base64 at all, but forty-four characters",
            "",
        ] {
            assert!(Sha256::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_value(&empty).unwrap();
        assert_eq!(serde_json::from_value::<Sha256>(json).unwrap(), empty);
        assert!(serde_json::from_value::<Sha256>(serde_json::json!("x")).is_err());
    }
}
