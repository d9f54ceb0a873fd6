//! Legal facts and AARs: what each document says, rendered to bytes when downloaded.

use super::clock::rfc3339;
use super::engine::Notification;
use super::ente::EnteId;
use super::pdf;
use super::script::LegalFactKind;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Rome;

/// A downloadable SEND-generated document.
#[derive(Debug, Clone)]
pub struct LegalFactRecord {
    pub key: String,
    pub iun: String,
    pub ente: EnteId,
    pub kind: LegalFactKind,
    pub rec_index: Option<usize>,
    pub recipient_tax_id: Option<String>,
    pub element_id: String,
    pub created_at: DateTime<Utc>,
    /// The document's text lines, joined by `\n` (one allocation per fact; a store holds many).
    pub text: Box<str>,
}

/// The sender as its documents name it.
pub struct Sender<'a> {
    pub name: &'a str,
    pub tax_id: &'a str,
}

impl LegalFactRecord {
    /// The fact stored under `key`, of `kind`, generated with element `element` of `n` (for
    /// recipient `rec_index`, if it concerns one): every line of its text is already in the
    /// notification, so a store keeps only where a fact points and writes it when asked.
    pub fn of(
        n: &Notification,
        sender: Sender,
        key: &str,
        element: usize,
        kind: LegalFactKind,
        rec_index: Option<usize>,
    ) -> Option<LegalFactRecord> {
        let element = n.timeline.get(element)?;
        let rec = rec_index.and_then(|i| n.request.recipients.get(i));
        let mut lines = vec![
            format!("IUN: {}", n.iun),
            format!("Mittente: {} (C.F. {})", sender.name, sender.tax_id),
        ];
        if let Some(r) = rec {
            lines.push(format!(
                "Destinatario: {} (C.F. {})",
                r.denomination, r.tax_id
            ));
        }
        lines.push(format!("Oggetto: {}", n.request.subject));
        lines.push(format!("Data: {}", rome_time(element.timestamp)));
        Some(LegalFactRecord {
            key: key.to_string(),
            iun: n.iun.to_string(),
            ente: n.ente,
            kind,
            rec_index,
            recipient_tax_id: rec.map(|r| r.tax_id.to_string()),
            element_id: element.element_id.with_iun(n.iun.as_str()),
            created_at: element.timestamp,
            text: lines.join("\n").into_boxed_str(),
        })
    }

    pub fn content_type(&self) -> &'static str {
        if self.kind == LegalFactKind::PecReceipt {
            "application/xml"
        } else {
            "application/pdf"
        }
    }

    pub fn filename(&self) -> String {
        self.key.clone()
    }

    pub fn title(&self) -> &'static str {
        match self.kind {
            LegalFactKind::SenderAck => "Attestazione opponibile a terzi: notifica presa in carico",
            LegalFactKind::DigitalDelivery => "Attestazione opponibile a terzi: notifica digitale",
            LegalFactKind::AnalogDelivery => "Ricevuta di consegna cartacea (scansione)",
            LegalFactKind::AnalogFailureDelivery => {
                "Attestazione opponibile a terzi: deposito di avvenuta ricezione"
            }
            LegalFactKind::RecipientAccess => "Attestazione opponibile a terzi: avvenuto accesso",
            LegalFactKind::NotificationCancelled => {
                "Attestazione opponibile a terzi: notifica annullata"
            }
            LegalFactKind::PecReceipt => "Ricevuta PEC",
            LegalFactKind::Aar => "Avviso di avvenuta ricezione",
        }
    }

    /// The document's bytes: a PDF, or a PEC receipt (daticert-like XML).
    pub fn render(&self) -> Vec<u8> {
        if self.kind == LegalFactKind::PecReceipt {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<postacert tipo=\"ricevuta\" errore=\"nessuno\">\n",
            );
            for l in self.text.lines() {
                xml.push_str("  <riga>");
                xml.push_str(
                    &l.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;"),
                );
                xml.push_str("</riga>\n");
            }
            xml.push_str(&format!("  <dati><gestore-emittente>mock-pec</gestore-emittente><data>{}</data><identificativo>{}</identificativo></dati>\n</postacert>\n", rfc3339(self.created_at), self.key));
            xml.into_bytes()
        } else {
            let mut lines: Vec<String> = self.text.lines().map(str::to_string).collect();
            lines.push(String::new());
            lines.push(format!("Categoria: {}", self.kind.category()));
            lines.push(format!("Elemento di timeline: {}", self.element_id));
            lines.push(format!("Chiave documento: {}", self.key));
            pdf::render(self.title(), &lines)
        }
    }
}

/// The Italian date-time SEND prints on its documents.
pub fn rome_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Rome)
        .format("%d/%m/%Y %H:%M:%S %Z")
        .to_string()
}
