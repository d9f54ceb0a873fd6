@TC-INVIO-02
Feature: TC-INVIO-02 — notification with a pagoPA payment, one recipient
  The notification carries a pagoPA notice: the Ente's notice code, itself as creditor, the
  pagoPA form uploaded and referenced, the Ente's fee policy (paFee and vat in DELIVERY_MODE).

  Scenario: A notification with a pagoPA payment is accepted
    Given the Ente has uploaded the document to notify
    And the Ente has uploaded the pagoPA form
    And a notification with a pagoPA payment whose creditor is the Ente itself
    When the Ente sends the notification
    Then SEND accepts the request and assigns an IUN
    And the notification carries the payment: creditorTaxId, noticeCode and the pagoPA form
