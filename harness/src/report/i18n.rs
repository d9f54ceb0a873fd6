//! The words of report.html and summary.md in Italian (the default: the Ente, the PT and
//! PagoPA's onboarding desk work in Italian) and English. SEND's own codes (statuses,
//! categories, error codes) stay as SEND spells them, beside their Italian labels.

use serde_json::{Value, json};

/// A report language other than Italian and English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--lang: `{0}` is not it or en")]
pub struct UnknownLang(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    It,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Result<Lang, UnknownLang> {
        match s {
            "it" => Ok(Lang::It),
            "en" => Ok(Lang::En),
            other => Err(UnknownLang(other.to_string())),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// A table of fixed texts, by key: `(key, italiano, english)`.
pub type Texts = [(&'static str, &'static str, &'static str)];

/// Every fixed text of the report.
const TEXTS: &Texts = &[
    ("title", "Collaudo SEND", "SEND onboarding validation"),
    ("ente", "Ente", "Ente"),
    ("tax_id", "codice fiscale", "tax id"),
    ("pagopa_mode", "integrazione pagoPA", "pagoPA integration"),
    ("paper", "invio cartaceo", "paper delivery"),
    ("target", "Ambiente", "Target"),
    ("run", "Esecuzione", "Run"),
    ("tool", "Strumento", "Tool"),
    ("run_id", "identificativo", "run id"),
    ("clock", "Orologio SEND", "SEND clock"),
    (
        "go_live_yes",
        "Go-live: tutti e cinque i casi di test superati",
        "Go-live: all five test cases passed",
    ),
    (
        "go_live_no",
        "Go-live: casi di test NON superati",
        "Go-live: test cases NOT passed",
    ),
    (
        "rehearsal_yes",
        "Prova generale: tutti e cinque i casi di test superati sul mock (non è evidenza per il go-live)",
        "Rehearsal: all five test cases passed on the mock (not go-live evidence)",
    ),
    (
        "rehearsal_no",
        "Prova generale: casi di test NON superati sul mock",
        "Rehearsal: test cases NOT passed on the mock",
    ),
    (
        "banner_rehearsal",
        "Questa esecuzione è una prova generale su un mock di SEND, non su UAT: PagoPA accetta come evidenza per il go-live solo un'esecuzione contro l'ambiente UAT di SEND (--target uat).",
        "This run is a rehearsal on a mock of SEND, not on UAT: PagoPA accepts only a run against SEND's UAT (--target uat) as go-live evidence.",
    ),
    (
        "banner_not_passed",
        "Esecuzione contro UAT, ma non tutti i casi di test sono superati: non è ancora evidenza per il go-live.",
        "Run against UAT, but not every test case passed: not yet go-live evidence.",
    ),
    (
        "mock_clock",
        "Le date SEND di questa esecuzione sono sull'orologio virtuale del mock, dove un giorno SEND dura",
        "The SEND dates of this run are on the mock's virtual clock, where one SEND day lasts",
    ),
    ("test_cases", "Casi di test", "Test cases"),
    ("test_case", "Caso di test", "Test case"),
    ("verdict", "Esito", "Verdict"),
    ("scenarios", "Scenari", "Scenarios"),
    ("time", "Durata", "Time"),
    ("reason", "Motivo", "Reason"),
    ("exempt", "Esente", "Exempt"),
    ("failed_at", "Fallito:", "Failed:"),
    (
        "flaky",
        "Tentativo {n} di {n}; i tentativi precedenti sono falliti:",
        "Attempt {n} of {n}; earlier attempts failed:",
    ),
    ("status", "Stato", "Status"),
    ("step", "Passo", "Step"),
    ("status_history", "Storico degli stati", "Status history"),
    ("active_from", "Dal", "Active from"),
    ("timeline", "Timeline", "Timeline"),
    ("timestamp", "Data e ora", "Timestamp"),
    ("category", "Categoria", "Category"),
    ("legal_facts", "Atti opponibili a terzi", "Legal facts"),
    (
        "events",
        "Eventi ricevuti dagli stream",
        "Events received from the streams",
    ),
    ("stream", "Stream", "Stream"),
    ("new_status", "Nuovo stato", "New status"),
    (
        "files",
        "File scaricati e verificati",
        "Files downloaded and verified",
    ),
    ("what", "Cosa", "What"),
    ("file", "File", "File"),
    ("checked", "Verifiche", "Checks"),
    ("bytes", "Byte", "Bytes"),
    ("prices", "Costi letti", "Prices read"),
    ("read_by", "Letto da", "Read by"),
    (
        "read_by_sender",
        "il mittente (chiave API dell'Ente)",
        "the sender (the Ente's API key)",
    ),
    (
        "read_by_creditor",
        "il creditore (la sua chiave API)",
        "the creditor (its own API key)",
    ),
    ("notice", "Avviso", "Notice"),
    ("note", "Nota:", "Note:"),
    (
        "checklist",
        "Checklist delle chiamate di questa esecuzione",
        "Checklist of this run's calls",
    ),
    (
        "checklist_intro",
        "Le verifiche del validatore di PagoPA, calcolate dalla trascrizione di questa esecuzione (checklistresult.json, nella forma del validatore); in corsivo le verifiche aggiuntive di send-conformance.",
        "The checks of PagoPA's validator, computed from this run's transcript (checklistresult.json, in the validator's shape); ours, beyond the validator's, in italics.",
    ),
    (
        "extras",
        "Scenari aggiuntivi (non concorrono all'esito del go-live)",
        "Extra scenarios (not part of the go-live verdict)",
    ),
    ("evidence_files", "File di evidenza", "Evidence files"),
    ("written_by", "Prodotto da", "Written by"),
    ("schema", "schema del report", "report schema"),
    ("passed", "superato", "passed"),
    ("failed", "non superato", "failed"),
    ("not-run", "non eseguito", "not run"),
    ("skipped", "saltato", "skipped"),
    ("batch", "riepilogo degli Enti", "batch summary"),
    ("batch_ready", "pronti per il go-live", "ready for go-live"),
    ("batch_not_ready", "non pronti", "not ready"),
    (
        "batch_not_evidence",
        "Non tutte le esecuzioni sono evidenza per il go-live: solo un'esecuzione contro UAT in cui ogni caso di test è superato lo è.",
        "Not every run is go-live evidence: only a UAT run in which every test case passed is.",
    ),
    ("yes", "sì", "yes"),
    ("no", "no", "no"),
    ("send_day", "1 giorno SEND =", "1 SEND day ="),
    (
        "TC-INVIO-01",
        "Notifica senza pagamento, un destinatario",
        "Notification without payment, one recipient",
    ),
    (
        "TC-INVIO-02",
        "Notifica con pagamento pagoPA, un destinatario",
        "Notification with a pagoPA payment, one recipient",
    ),
    (
        "TC-INVIO-03",
        "IUN e stati ricevuti dagli stream di eventi",
        "IUN and statuses received from the event streams",
    ),
    (
        "TC-INVIO-04",
        "Download di documenti, modulo pagoPA, AAR e atti opponibili a terzi",
        "Documents, pagoPA form, AAR and legal facts downloaded",
    ),
    (
        "TC-COSTO-01",
        "Costo della notifica: mittente = creditore, e mittente ≠ creditore",
        "Notification price: sender = creditor, and sender ≠ creditor",
    ),
];

/// The report's texts for `lang`, as the template reads them (`t.key`).
pub fn texts(lang: Lang) -> Value {
    texts_of(TEXTS, lang)
}

/// The texts of `table` for `lang`, as a template reads them (`t.key`).
pub fn texts_of(table: &Texts, lang: Lang) -> Value {
    let map: serde_json::Map<String, Value> = table
        .iter()
        .map(|(k, it, en)| {
            let text = if lang == Lang::It { it } else { en };
            (k.to_string(), json!(text))
        })
        .collect();
    Value::Object(map)
}

/// Every key of `table` once, each with both languages.
#[cfg(test)]
pub(crate) fn assert_complete(table: &Texts) {
    let mut keys = std::collections::HashSet::new();
    for (k, it, en) in table {
        assert!(keys.insert(k), "{k} twice");
        assert!(!it.is_empty() && !en.is_empty(), "{k}");
    }
}

/// One text.
pub fn text(lang: Lang, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, it, en)| if lang == Lang::It { *it } else { *en })
        .unwrap_or("")
}

/// The label SEND's PA portal shows for a status. Source: PagoPA's "Manuale operativo",
/// section "Informazione di stato sintetica"; IN_VALIDATION, REFUSED and RETURNED_TO_SENDER
/// are not in that list and carry the portal's wording for them.
pub fn stato(status: &str) -> &'static str {
    match status {
        "IN_VALIDATION" => "In validazione",
        "ACCEPTED" => "Depositata",
        "REFUSED" => "Rifiutata",
        "DELIVERING" => "Invio in corso",
        "DELIVERED" => "Consegnata",
        "VIEWED" => "Visualizzata",
        "EFFECTIVE_DATE" => "Perfezionata per decorrenza termini",
        "PAID" => "Pagata",
        "UNREACHABLE" => "Irreperibile",
        "CANCELLED" => "Annullata",
        "RETURNED_TO_SENDER" => "Restituita al mittente",
        _ => "",
    }
}

/// The Italian name of a timeline category, as SEND's knowledge base describes the step.
pub fn categoria(category: &str) -> &'static str {
    match category {
        "REQUEST_ACCEPTED" => "Notifica accettata (presa in carico)",
        "REQUEST_REFUSED" => "Richiesta rifiutata",
        "SENDER_ACK_CREATION_REQUEST" => "Richiesta dell'attestazione di presa in carico",
        "VALIDATE_NORMALIZE_ADDRESSES_REQUEST" => "Validazione degli indirizzi",
        "NORMALIZED_ADDRESS" => "Indirizzo normalizzato",
        "AAR_CREATION_REQUEST" => "Richiesta dell'avviso di avvenuta ricezione",
        "AAR_GENERATION" => "Avviso di avvenuta ricezione generato",
        "SEND_COURTESY_MESSAGE" => "Messaggio di cortesia inviato",
        "PROBABLE_SCHEDULING_ANALOG_DATE" => "Data probabile dell'invio cartaceo",
        "GET_ADDRESS" => "Ricerca del domicilio digitale",
        "PUBLIC_REGISTRY_CALL" => "Consultazione dei registri pubblici",
        "PUBLIC_REGISTRY_RESPONSE" => "Risposta dei registri pubblici",
        "SEND_DIGITAL_DOMICILE" => "Invio al domicilio digitale (PEC)",
        "SEND_DIGITAL_PROGRESS" => "Ricevuta di accettazione PEC",
        "SEND_DIGITAL_FEEDBACK" => "Esito dell'invio PEC",
        "DIGITAL_DELIVERY_CREATION_REQUEST" => "Richiesta dell'attestazione di consegna digitale",
        "DIGITAL_SUCCESS_WORKFLOW" => "Consegna digitale riuscita",
        "DIGITAL_FAILURE_WORKFLOW" => "Mancato recapito digitale",
        "SCHEDULE_DIGITAL_WORKFLOW" => "Secondo tentativo digitale programmato",
        "PREPARE_DIGITAL_DOMICILE" => "Preparazione dell'invio digitale",
        "SCHEDULE_REFINEMENT" => "Perfezionamento programmato",
        "REFINEMENT" => "Perfezionamento per decorrenza termini",
        "SCHEDULE_ANALOG_WORKFLOW" => "Invio cartaceo programmato",
        "PREPARE_ANALOG_DOMICILE" => "Preparazione dell'invio cartaceo",
        "SEND_ANALOG_DOMICILE" => "Invio cartaceo (raccomandata)",
        "SEND_ANALOG_PROGRESS" => "Avanzamento dell'invio cartaceo",
        "SEND_ANALOG_FEEDBACK" => "Esito dell'invio cartaceo",
        "ANALOG_SUCCESS_WORKFLOW" => "Consegna cartacea riuscita",
        "ANALOG_FAILURE_WORKFLOW" => "Mancata consegna cartacea",
        "PREPARE_SIMPLE_REGISTERED_LETTER" => "Preparazione della raccomandata semplice",
        "SEND_SIMPLE_REGISTERED_LETTER" => "Invio della raccomandata semplice",
        "SEND_SIMPLE_REGISTERED_LETTER_PROGRESS" => "Avanzamento della raccomandata semplice",
        "COMPLETELY_UNREACHABLE_CREATION_REQUEST" => {
            "Richiesta dell'attestazione di irreperibilità"
        }
        "COMPLETELY_UNREACHABLE" => "Destinatario irreperibile",
        "NOTIFICATION_VIEWED_CREATION_REQUEST" => "Richiesta dell'attestazione di avvenuto accesso",
        "NOTIFICATION_VIEWED" => "Notifica visualizzata",
        "NOTIFICATION_CANCELLATION_REQUEST" => "Richiesta di annullamento",
        "NOTIFICATION_CANCELLED" => "Notifica annullata",
        "PAYMENT" => "Pagamento",
        "ANALOG_WORKFLOW_RECIPIENT_DECEASED" => "Destinatario deceduto",
        _ => "",
    }
}

/// The Italian name of a legal fact's category ("attestazioni opponibili ai terzi").
pub fn atto(category: &str) -> &'static str {
    match category {
        "SENDER_ACK" => "Attestazione di presa in carico",
        "DIGITAL_DELIVERY" => "Attestazione di avvenuta consegna (o di mancato recapito) digitale",
        "ANALOG_DELIVERY" => "Ricevute dell'invio cartaceo",
        "PEC_RECEIPT" => "Ricevuta PEC",
        "RECIPIENT_ACCESS" => "Attestazione di avvenuto accesso",
        "ANALOG_FAILURE_DELIVERY" => "Deposito di avvenuta ricezione (irreperibilità)",
        "NOTIFICATION_CANCELLED" => "Attestazione di annullamento",
        "AAR" => "Avviso di avvenuta ricezione (AAR)",
        _ => "",
    }
}

/// `DELIVERED` as the report shows it: `Consegnata (DELIVERED)` in Italian, the code in
/// English.
pub fn labelled(lang: Lang, code: &str, italian: fn(&str) -> &'static str) -> String {
    match (lang, italian(code)) {
        (Lang::It, label) if !label.is_empty() => format!("{label} ({code})"),
        _ => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_and_keys_are_unique() {
        assert_complete(TEXTS);
        assert_eq!(text(Lang::It, "status"), "Stato");
        assert_eq!(text(Lang::En, "status"), "Status");
    }

    #[test]
    fn every_status_of_the_spec_has_its_italian_label() {
        for st in [
            "IN_VALIDATION",
            "ACCEPTED",
            "REFUSED",
            "DELIVERING",
            "DELIVERED",
            "VIEWED",
            "EFFECTIVE_DATE",
            "PAID",
            "UNREACHABLE",
            "CANCELLED",
            "RETURNED_TO_SENDER",
        ] {
            assert!(!stato(st).is_empty(), "{st}");
        }
        assert_eq!(
            labelled(Lang::It, "DELIVERED", stato),
            "Consegnata (DELIVERED)"
        );
        assert_eq!(labelled(Lang::En, "DELIVERED", stato), "DELIVERED");
        assert_eq!(labelled(Lang::It, "NOT_A_STATUS", stato), "NOT_A_STATUS");
    }
}
