//! Italian tax ids: the checks live in the wire model, shared with the harness.

pub use send_wire::tax_id::{TaxId, TaxIdError};
use std::fmt;

/// A recipient's `taxId` as a request carries it. SEND's gateway lets through anything of the
/// shape its pattern allows; whether the check character is right is decided once, when the
/// request is read, and the business rules and the validation act on that answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SentTaxId {
    Valid(TaxId),
    Invalid { text: String, why: TaxIdError },
}

impl SentTaxId {
    pub fn new(text: &str) -> SentTaxId {
        match TaxId::parse(text) {
            Ok(t) => SentTaxId::Valid(t),
            Err(why) => SentTaxId::Invalid {
                text: text.to_string(),
                why,
            },
        }
    }

    /// The tax id as sent.
    pub fn as_str(&self) -> &str {
        match self {
            SentTaxId::Valid(t) => t.as_str(),
            SentTaxId::Invalid { text, .. } => text,
        }
    }
}

impl fmt::Display for SentTaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SentTaxId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_tax_id_keeps_its_text_and_the_verdict_on_its_check_character() {
        let valid = SentTaxId::new("BNRMHL75C06G702B");
        assert!(matches!(valid, SentTaxId::Valid(_)));
        assert_eq!(valid.as_str(), "BNRMHL75C06G702B");
        let wrong = SentTaxId::new("BNRMHL75C06G702A");
        assert_eq!(
            wrong,
            SentTaxId::Invalid {
                text: "BNRMHL75C06G702A".into(),
                why: TaxIdError::CodiceFiscaleCheckChar
            }
        );
        assert_eq!(serde_json::to_value(&wrong).unwrap(), "BNRMHL75C06G702A");
    }
}
