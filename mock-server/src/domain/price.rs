//! The notification price (SEND's cost formula, pn-delivery-push `NotificationProcessCostService`).

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Rome;

/// SEND's base fee per recipient, in eurocents.
pub const SEND_FEE: i64 = 100;
/// Defaults SEND applies when a request omits them.
pub const DEFAULT_PA_FEE: i64 = 100;
pub const DEFAULT_VAT: i64 = 22;

/// The components of a price, in eurocents (vat in percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub partial: i64,
    pub total: i64,
    pub send_fee: i64,
    pub analog_cost: i64,
    pub pa_fee: i64,
    pub vat: i64,
}

/// The price of one recipient's payment.
/// `FLAT_RATE` or `applyCost=false` cost nothing to the citizen; otherwise
/// `partial = sendFee + analogCost` and `total = sendFee + round(analogCost·(1+vat/100)) + paFee`.
pub fn price(
    delivery_mode: bool,
    apply_cost: bool,
    pa_fee: Option<i64>,
    vat: Option<i64>,
    analog_cost: i64,
) -> Price {
    let pa_fee = pa_fee.unwrap_or(DEFAULT_PA_FEE);
    let vat = vat.unwrap_or(DEFAULT_VAT);
    if !delivery_mode || !apply_cost {
        return Price {
            partial: 0,
            total: 0,
            send_fee: 0,
            analog_cost: 0,
            pa_fee,
            vat,
        };
    }
    // Integer rounding half up of analogCost × (100 + vat) / 100.
    let analog_with_vat = (analog_cost * (100 + vat) + 50) / 100;
    Price {
        partial: SEND_FEE + analog_cost,
        total: SEND_FEE + analog_with_vat + pa_fee,
        send_fee: SEND_FEE,
        analog_cost,
        pa_fee,
        vat,
    }
}

/// SEND shows refinement and view dates as the end of that day in Europe/Rome
/// (23:59:59.999, `RefinementLocalDate`).
pub fn end_of_rome_day(at: DateTime<Utc>) -> String {
    let day = at.with_timezone(&Rome).date_naive();
    let end = day.and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("valid time"));
    let local = Rome
        .from_local_datetime(&end)
        .earliest()
        .expect("23:59 exists in Rome");
    local.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_rate_and_no_apply_cost_are_free() {
        assert_eq!(price(false, true, Some(100), Some(22), 500).total, 0);
        assert_eq!(price(true, false, Some(100), Some(22), 500).partial, 0);
    }

    #[test]
    fn delivery_mode_formula() {
        let p = price(true, true, Some(100), Some(22), 0);
        assert_eq!((p.partial, p.total), (100, 200));
        let p = price(true, true, Some(50), Some(22), 737);
        assert_eq!(p.partial, 837);
        assert_eq!(p.total, 100 + 899 + 50); // 737 × 1.22 = 899.14
        let p = price(true, true, None, None, 0);
        assert_eq!((p.pa_fee, p.vat, p.total), (100, 22, 200));
    }

    #[test]
    fn rome_end_of_day_handles_both_offsets() {
        assert_eq!(
            end_of_rome_day("2026-01-15T23:30:00Z".parse().unwrap()),
            "2026-01-16T23:59:59.999+01:00"
        );
        assert_eq!(
            end_of_rome_day("2026-07-15T10:00:00Z".parse().unwrap()),
            "2026-07-15T23:59:59.999+02:00"
        );
    }
}
