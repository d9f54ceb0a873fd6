//! IUN (Identificativo Univoco Notifica) and the notificationRequestId derived from it.

use base64::Engine as _;
use std::fmt;
use std::sync::Arc;

/// SEND's IUN alphabet: 20 letters, no vowels that read as digits.
pub const ALPHABET: &[u8; 20] = b"ADEGHJKLMNPQRTUVWXYZ";
/// Letter pairs SEND never puts side by side in an IUN.
pub const FORBIDDEN_PAIRS: [&[u8; 2]; 5] = [b"UV", b"VU", b"HN", b"NH", b"LJ"];

/// A text that is not an IUN; worded as SEND's gateway words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ECMA 262 regex \"^[A-Z]{{4}}-[A-Z]{{4}}-[A-Z]{{4}}-[0-9]{{6}}-[A-Z]{{1}}-[0-9]{{1}}$\" does not match input string \"{0}\""
)]
pub struct IunError(String);

/// A notification's IUN, e.g. `KWKU-JHXN-HJXM-202304-U-1`. Shared text: the mock's store keeps
/// it in every event, queue entry and index of the notification, so clones must be cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iun(Arc<str>);

impl Iun {
    /// Checks SEND's path-parameter rule (`^[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-[0-9]{6}-[A-Z]-[0-9]$`).
    pub fn parse(text: &str) -> Result<Iun, IunError> {
        let b = text.as_bytes();
        let ok = b.len() == 25
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 9 | 14 | 21 | 23 => *c == b'-',
                0..=3 | 5..=8 | 10..=13 | 22 => c.is_ascii_uppercase(),
                15..=20 | 24 => c.is_ascii_digit(),
                _ => false,
            });
        if ok {
            Ok(Iun(text.into()))
        } else {
            Err(IunError(text.to_string()))
        }
    }

    /// True when the control letter matches the letters and month, as SEND generates it.
    pub fn has_valid_control_letter(&self) -> bool {
        let b = self.0.as_bytes();
        let letters: Vec<u8> = [&b[0..4], &b[5..9], &b[10..14]].concat();
        if letters.iter().any(|c| !ALPHABET.contains(c)) {
            return false;
        }
        control_letter(&letters, &self.0[15..21]) == b[22]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `notificationRequestId`: the Base64 of the IUN (36 characters).
    pub fn request_id(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.as_bytes())
    }

    /// The IUN a notificationRequestId encodes, if it is one.
    pub fn from_request_id(id: &str) -> Option<Iun> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(id).ok()?;
        Iun::parse(std::str::from_utf8(&bytes).ok()?).ok()
    }
}

/// SEND's control letter of an IUN's twelve letters and its month (`YYYYMM`).
pub fn control_letter(letters: &[u8], month: &str) -> u8 {
    let letter_sum: usize = letters
        .iter()
        .map(|c| ALPHABET.iter().position(|a| a == c).unwrap_or(0))
        .sum();
    let digit_sum: usize = month.bytes().map(|d| (d - b'0') as usize).sum();
    ALPHABET[(letter_sum + digit_sum) % ALPHABET.len()]
}

impl fmt::Display for Iun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Iun {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Iun {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Iun::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_malformed_iuns() {
        for bad in [
            "",
            "ABCD-ABCD-ABCD-123456-A",
            "abcd-ABCD-ABCD-123456-A-1",
            "12A4-1234-1234-abcdef-1-a",
        ] {
            assert!(Iun::parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_value::<Iun>(serde_json::json!(bad)).is_err());
        }
        let bad_control = Iun::parse("ADEG-HJKL-MNPQ-202611-A-1").unwrap();
        let good = Iun::parse(&format!(
            "ADEG-HJKL-MNPQ-202611-{}-1",
            control_letter(b"ADEGHJKLMNPQ", "202611") as char
        ))
        .unwrap();
        assert_ne!(
            bad_control.has_valid_control_letter(),
            good.has_valid_control_letter()
        );
        let rid = good.request_id();
        assert_eq!(rid.len(), 36);
        assert_eq!(Iun::from_request_id(&rid), Some(good.clone()));
        assert_eq!(serde_json::to_value(&good).unwrap(), good.as_str());
    }
}
