//! Each category's details, one type per schema of SEND's OpenAPI (`SendDigitalDetails`,
//! `SendAnalogFeedbackDetailsV25`, …): the engine and the element factory build these, so a
//! category's fields are named and typed once, here. An element keeps them as the compact JSON
//! they serialise to (see [`super::timeline::Details`]: the smaller form at a million elements).

use super::request::PhysicalAddress;
use send_wire::PhysicalCommunicationType;
use serde::Serialize;
use serde_json::{Map, Value};

/// A digital address as details carry it: a PEC, or a courtesy channel (APPIO, SMS, EMAIL).
#[derive(Debug, Clone, Serialize)]
pub struct DigitalAddress {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub address: String,
}

/// A receipt of the PEC provider (`sendingReceipts`).
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: String,
    pub system: &'static str,
}

/// What a letter's send carries: its product and cost, pages, weight and the preparation it
/// follows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperSend {
    pub product_type: String,
    pub analog_cost: i64,
    pub number_of_pages: u32,
    pub envelope_weight: u32,
    pub prepare_request_id: String,
}

/// What every postal event carries: its date, the postal codes, the letter and its send.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalProgress {
    pub notification_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_detail_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_failure_cause: Option<String>,
    pub registered_letter_code: String,
    pub send_request_id: String,
}

/// One refusal reason of `REQUEST_REFUSED`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusalReasonDetail {
    pub error_code: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rec_index: Option<usize>,
}

/// The request a request-level element repeats.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRef {
    pub notification_request_id: String,
    pub pa_protocol_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotence_token: Option<String>,
}

/// A category's details; each variant is the schema SEND's OpenAPI gives that category.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum ElementDetails {
    /// `VALIDATE_NORMALIZE_ADDRESSES_REQUEST`: nothing.
    Empty {},
    /// Only the recipient (`PUBLIC_REGISTRY_RESPONSE`, `DIGITAL_FAILURE_WORKFLOW`, and what
    /// no phase of the factory details).
    Recipient {
        rec_index: usize,
    },
    RequestAccepted {
        #[serde(flatten)]
        request: RequestRef,
    },
    RequestRefused {
        #[serde(flatten)]
        request: RequestRef,
        refusal_reasons: Vec<RefusalReasonDetail>,
    },
    NormalizedAddress {
        rec_index: usize,
        old_address: PhysicalAddress,
        normalized_address: PhysicalAddress,
    },
    SenderAckCreationRequest {
        legal_fact_id: String,
    },
    AarCreationRequest {
        rec_index: usize,
        number_of_pages: u32,
        aar_key: String,
    },
    AarGeneration {
        rec_index: usize,
        number_of_pages: u32,
        generated_aar_url: String,
    },
    GetAddressInfo {
        rec_index: usize,
        digital_address_source: &'static str,
        is_available: bool,
        attempt_date: String,
    },
    PublicRegistryCall {
        rec_index: usize,
        delivery_mode: &'static str,
        contact_phase: &'static str,
        sent_attempt_made: u32,
        send_date: String,
    },
    SendCourtesyMessage {
        rec_index: usize,
        digital_address: DigitalAddress,
        send_date: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        io_send_message_result: Option<&'static str>,
    },
    ProbableDateAnalogWorkflow {
        rec_index: usize,
        scheduling_analog_date: String,
    },
    SendDigital {
        rec_index: usize,
        digital_address: DigitalAddress,
        digital_address_source: &'static str,
        retry_number: u32,
    },
    SendDigitalProgress {
        rec_index: usize,
        digital_address: DigitalAddress,
        digital_address_source: &'static str,
        retry_number: u32,
        delivery_detail_code: String,
        should_retry: bool,
        notification_date: String,
        sending_receipts: Vec<Receipt>,
    },
    SendDigitalFeedback {
        rec_index: usize,
        digital_address: DigitalAddress,
        response_status: &'static str,
        notification_date: String,
        delivery_detail_code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        delivery_failure_cause: Option<String>,
        sending_receipts: Vec<Receipt>,
    },
    /// `DIGITAL_DELIVERY_CREATION_REQUEST`, and without the address
    /// `COMPLETELY_UNREACHABLE_CREATION_REQUEST`.
    DeliveryCreationRequest {
        rec_index: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        digital_address: Option<DigitalAddress>,
        end_workflow_status: &'static str,
        completion_workflow_date: String,
    },
    DigitalSuccessWorkflow {
        rec_index: usize,
        digital_address: DigitalAddress,
    },
    PrepareDigital {
        rec_index: usize,
        digital_address_source: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        digital_address: Option<DigitalAddress>,
        retry_number: u32,
        attempt_date: String,
    },
    ScheduleDigitalWorkflow {
        rec_index: usize,
        digital_address_source: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        digital_address: Option<DigitalAddress>,
        sent_attempt_made: u32,
        last_attempt_date: String,
        scheduling_date: String,
    },
    /// `PREPARE_ANALOG_DOMICILE`, and with the letter's send `SEND_ANALOG_DOMICILE`.
    AnalogDomicile {
        rec_index: usize,
        physical_address: PhysicalAddress,
        service_level: PhysicalCommunicationType,
        sent_attempt_made: u32,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        send: Option<PaperSend>,
    },
    SendAnalogProgress {
        rec_index: usize,
        #[serde(flatten)]
        postal: PostalProgress,
        service_level: PhysicalCommunicationType,
    },
    SendAnalogFeedback {
        rec_index: usize,
        #[serde(flatten)]
        postal: PostalProgress,
        service_level: PhysicalCommunicationType,
        physical_address: PhysicalAddress,
        sent_attempt_made: u32,
        response_status: &'static str,
    },
    /// `SCHEDULE_ANALOG_WORKFLOW` and `SCHEDULE_REFINEMENT`.
    Scheduling {
        rec_index: usize,
        scheduling_date: String,
    },
    /// `ANALOG_SUCCESS_WORKFLOW`, `PREPARE_SIMPLE_REGISTERED_LETTER`, and with the letter's
    /// send `SEND_SIMPLE_REGISTERED_LETTER`.
    PhysicalAddress {
        rec_index: usize,
        physical_address: PhysicalAddress,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        send: Option<PaperSend>,
    },
    SimpleRegisteredLetterProgress {
        rec_index: usize,
        #[serde(flatten)]
        postal: PostalProgress,
    },
    PrepareAnalogDomicileFailure {
        rec_index: usize,
        failure_cause: String,
        prepare_request_id: String,
    },
    AnalogFailureWorkflow {
        rec_index: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        generated_aar_url: Option<String>,
    },
    Refinement {
        rec_index: usize,
        notification_cost: i64,
    },
    CompletelyUnreachable {
        rec_index: usize,
        legal_fact_generation_date: String,
    },
    RecipientDeceased {
        rec_index: usize,
        physical_address: PhysicalAddress,
        #[serde(skip_serializing_if = "Option::is_none")]
        notification_cost: Option<i64>,
    },
    /// `NOTIFICATION_VIEWED_CREATION_REQUEST`, and with what the view costs
    /// `NOTIFICATION_VIEWED`.
    Viewed {
        rec_index: usize,
        event_timestamp: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        notification_cost: Option<i64>,
    },
    CancellationRequest {
        cancellation_request_id: String,
    },
    Cancelled {
        notification_cost: i64,
        not_refined_recipient_indexes: Vec<usize>,
    },
    NotificationPaid {
        rec_index: usize,
        recipient_type: send_wire::notification::RecipientType,
        amount: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        creditor_tax_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        notice_code: Option<String>,
        payment_source_channel: &'static str,
        uncertain_payment_date: bool,
        event_timestamp: String,
    },
}

impl ElementDetails {
    /// The details as the JSON object an element keeps.
    pub fn into_map(self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            // Every variant is a struct of named fields: it serialises to an object.
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_serialise_with_send_field_names_and_leave_out_what_is_absent() {
        let d = ElementDetails::SendDigitalFeedback {
            rec_index: 0,
            digital_address: DigitalAddress {
                kind: "PEC",
                address: "prova@pec.it".into(),
            },
            response_status: "OK",
            notification_date: "2026-03-02T08:45:00.000Z".into(),
            delivery_detail_code: "C003".into(),
            delivery_failure_cause: None,
            sending_receipts: vec![],
        };
        assert_eq!(
            Value::Object(d.into_map()),
            json!({"recIndex": 0, "digitalAddress": {"type": "PEC", "address": "prova@pec.it"},
                "responseStatus": "OK", "notificationDate": "2026-03-02T08:45:00.000Z",
                "deliveryDetailCode": "C003", "sendingReceipts": []})
        );
        assert_eq!(ElementDetails::Empty {}.into_map(), Map::new());
        let send = ElementDetails::AnalogDomicile {
            rec_index: 1,
            physical_address: PhysicalAddress::default(),
            service_level: PhysicalCommunicationType::AR_REGISTERED_LETTER,
            sent_attempt_made: 0,
            send: Some(PaperSend {
                product_type: "AR".into(),
                analog_cost: 852,
                number_of_pages: 2,
                envelope_weight: 20,
                prepare_request_id: "P".into(),
            }),
        };
        let m = send.into_map();
        assert_eq!(m["productType"], "AR", "the letter's send is flattened in");
        assert_eq!(m["serviceLevel"], "AR_REGISTERED_LETTER");
    }
}
