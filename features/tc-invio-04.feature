@TC-INVIO-04
Feature: TC-INVIO-04 — documents, pagoPA form and legal facts downloaded
  For a delivered notification the Ente downloads what it notified and the legal facts
  (attestazioni opponibili ai terzi) and receipts SEND produced, each checked byte for byte.

  Scenario: The notified document, the pagoPA form and the legal facts are downloaded
    Given an accepted notification with a pagoPA payment whose creditor is the Ente itself
    When the notification is delivered
    Then the notified document is downloaded and matches its sha256
    And the pagoPA form is downloaded and matches its sha256
    And the legal facts "SENDER_ACK, PEC_RECEIPT, DIGITAL_DELIVERY" are listed and downloaded
