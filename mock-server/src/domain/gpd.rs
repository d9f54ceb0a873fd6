//! pagoPA's GPD (gestione posizioni debitorie), as far as SEND asks it: whether a debt position
//! exists for a creditor and notice code. SEND checks the payments of an ASYNC notification
//! against it and refuses one whose position is unknown (`PAYMENT_NOT_VALID`).

use crate::config::DebtPosition;
use std::collections::HashMap;

/// UAT's test creditor: with a formally valid notice code starting 302011 its position
/// exists (send-api.md §7).
pub const UAT_CREDITOR: &str = "77777777777";

/// The positions known: those listed in the Enti file or added at run time, and UAT's test
/// creditor's.
#[derive(Debug, Default, Clone)]
pub struct Gpd {
    positions: HashMap<(String, String), Option<i64>>,
}

impl Gpd {
    pub fn add(&mut self, p: DebtPosition) {
        self.positions
            .insert((p.creditor_tax_id, p.notice_code), p.amount);
    }

    pub fn has(&self, creditor: &str, notice: &str) -> bool {
        uat_convention(creditor, notice)
            || self
                .positions
                .contains_key(&(creditor.to_string(), notice.to_string()))
    }
}

/// UAT's convention: creditor 77777777777, an 18-digit notice code starting 302011.
pub fn uat_convention(creditor: &str, notice: &str) -> bool {
    creditor == UAT_CREDITOR
        && notice.len() == 18
        && notice.starts_with("302011")
        && notice.bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uat_convention_and_added_positions_exist_others_do_not() {
        let mut g = Gpd::default();
        assert!(g.has(UAT_CREDITOR, "302011000000000042"));
        assert!(!g.has(UAT_CREDITOR, "302000000000000042"), "another prefix");
        assert!(
            !g.has("80016350821", "302011000000000042"),
            "another creditor"
        );
        g.add(DebtPosition {
            creditor_tax_id: "80016350821".into(),
            notice_code: "302011000000000042".into(),
            amount: Some(1500),
        });
        assert!(g.has("80016350821", "302011000000000042"));
    }
}
