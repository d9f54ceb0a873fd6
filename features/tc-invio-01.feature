@TC-INVIO-01
Feature: TC-INVIO-01 — notification without payment, one recipient
  The Ente uploads its document the way SEND asks (base64 sha256 in preload, upload and send,
  versionToken taken from x-amz-version-id), sends a notification without payment to a natural
  person with PEC and physical address by the registered letter the Ente chose (A/R or 890),
  and SEND accepts it with an IUN.

  Scenario: A notification without payment is accepted and retrievable by its IUN
    Given the Ente has uploaded the document to notify
    And a notification without payment to a natural person with PEC and physical address, by the Ente's registered letter
    When the Ente sends the notification
    Then SEND accepts the request and assigns an IUN
    And the notification is retrievable by its IUN
    And every notified document matches its sha256
