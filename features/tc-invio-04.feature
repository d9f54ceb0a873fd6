@TC-INVIO-04
Feature: TC-INVIO-04 — documents, pagoPA form and legal facts downloaded
  For a delivered notification the Ente downloads what it notified, the AAR (avviso di avvenuta
  ricezione) and every legal fact (attestazioni opponibili ai terzi) and receipt SEND lists for
  each recipient's delivery path (digital, paper, simple registered letter), each checked
  against every digest SEND announces: the sha256 where given, the size always, and its type.

  Scenario: The notified document, the pagoPA form, the AAR and the legal facts are downloaded
    Given an accepted notification with a pagoPA payment whose creditor is the Ente itself
    When the notification is delivered
    Then the notified document is downloaded and matches its sha256
    And the pagoPA form is downloaded and matches its sha256
    And the AAR is downloaded
    And the legal facts of its delivery path are listed and each downloaded
