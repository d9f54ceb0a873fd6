//! IUN (Identificativo Univoco Notifica) and the notificationRequestId derived from it.

use base64::Engine as _;
use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
use std::fmt;

use std::sync::Arc;

/// SEND's IUN alphabet: 20 letters, no vowels that read as digits.
const ALPHABET: &[u8; 20] = b"ADEGHJKLMNPQRTUVWXYZ";
const FORBIDDEN_PAIRS: [&[u8; 2]; 5] = [b"UV", b"VU", b"HN", b"NH", b"LJ"];

/// A text that is not an IUN; worded as SEND's gateway words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ECMA 262 regex \"^[A-Z]{{4}}-[A-Z]{{4}}-[A-Z]{{4}}-[0-9]{{6}}-[A-Z]{{1}}-[0-9]{{1}}$\" does not match input string \"{0}\""
)]
pub struct IunError(String);

/// A notification's IUN, e.g. `KWKU-JHXN-HJXM-202304-U-1`. Shared text: the store keeps it in
/// every event, queue entry and index of the notification, so clones must be cheap.
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

    /// A fresh IUN for a notification created at `at`, with SEND's control letter.
    pub fn generate(rng: &mut impl Rng, at: DateTime<Utc>) -> Iun {
        let mut letters = Vec::with_capacity(12);
        while letters.len() < 12 {
            let c = ALPHABET[rng.random_range(0..ALPHABET.len())];
            if let Some(&prev) = letters.last()
                && (prev == c || FORBIDDEN_PAIRS.iter().any(|p| p[0] == prev && p[1] == c))
            {
                continue;
            }
            letters.push(c);
        }
        let month = format!("{:04}{:02}", at.year(), at.month());
        let control = control_letter(&letters, &month);
        let l = |r: std::ops::Range<usize>| String::from_utf8_lossy(&letters[r]).into_owned();
        Iun(Arc::<str>::from(format!(
            "{}-{}-{}-{}-{}-1",
            l(0..4),
            l(4..8),
            l(8..12),
            month,
            control as char
        )))
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

fn control_letter(letters: &[u8], month: &str) -> u8 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_iuns_have_send_shape_and_control_letter() {
        let mut rng = rand::rng();
        let at = "2026-11-30T10:00:00Z".parse().unwrap();
        for _ in 0..500 {
            let iun = Iun::generate(&mut rng, at);
            assert!(Iun::parse(iun.as_str()).is_ok(), "{iun}");
            assert!(iun.as_str().contains("-202611-"));
            assert!(iun.has_valid_control_letter(), "{iun}");
            for pair in FORBIDDEN_PAIRS {
                let p = std::str::from_utf8(pair).unwrap();
                assert!(!iun.as_str().replace('-', "")[..12].contains(p), "{iun}");
            }
            let rid = iun.request_id();
            assert_eq!(rid.len(), 36);
            assert_eq!(Iun::from_request_id(&rid), Some(iun));
        }
    }

    #[test]
    fn parse_rejects_malformed_iuns() {
        for bad in [
            "",
            "ABCD-ABCD-ABCD-123456-A",
            "abcd-ABCD-ABCD-123456-A-1",
            "12A4-1234-1234-abcdef-1-a",
        ] {
            assert!(Iun::parse(bad).is_err(), "{bad}");
        }
        let bad_control = Iun::parse("ADEG-HJKL-MNPQ-202611-A-1").unwrap();
        let good = Iun(format!(
            "ADEG-HJKL-MNPQ-202611-{}-1",
            control_letter(b"ADEGHJKLMNPQ", "202611") as char
        )
        .into());
        assert_ne!(
            bad_control.has_valid_control_letter(),
            good.has_valid_control_letter()
        );
    }
}
