@TC-COSTO-01
Feature: TC-COSTO-01 — notification price and debt-position update
  The price of a notice (sendFee, analogCost, paFee, vat) is read from SEND by creditorTaxId and
  noticeCode to update the debt position: by the sender when it is the creditor; when the
  creditor is another Ente, by that Ente's key if the profile has it (creditor_api_key), else by
  the sender's (SEND answers any Ente), and the report says which.
  An Ente integrated with pagoPA only in ASYNC mode is exempt.

  Scenario: Scenario 1 — the sender is the creditor
    Given an accepted notification with a pagoPA payment whose creditor is the Ente itself
    Then the sender reads a price consistent with the fee policy
    And once the notification is refined the price carries the refinement date

  Scenario: Scenario 2 — the creditor is another Ente
    Given an accepted notification with a pagoPA payment whose creditor is another Ente
    Then the price of that notice, read by creditorTaxId and noticeCode with the creditor's key if the profile has it, is consistent with the fee policy
    And once the notification is refined the price carries the refinement date
