//! A fresh IUN for each notification, as SEND generates it (the IUN itself is a wire type).

use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
pub use send_wire::iun::Iun;
use send_wire::iun::{ALPHABET, FORBIDDEN_PAIRS, control_letter};

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
    let text = format!(
        "{}-{}-{}-{}-{}-1",
        l(0..4),
        l(4..8),
        l(8..12),
        month,
        control as char
    );
    Iun::parse(&text).expect("a generated IUN has SEND's shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_iuns_have_send_shape_and_control_letter() {
        let mut rng = rand::rng();
        let at = "2026-11-30T10:00:00Z".parse().unwrap();
        for _ in 0..500 {
            let iun = generate(&mut rng, at);
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
}
