@extra
Feature: Extra paths — not part of the go-live verdict
  What else a PT should see working before go-live: refusals, cancellation, paper delivery,
  unreachable recipients, recipients reading the notification.

  Scenario: A request whose document was never uploaded is refused
    Given a notification whose document was never uploaded
    When the Ente sends the notification
    Then SEND refuses the request with FILE_NOTFOUND

  Scenario: A notification is cancelled
    Given an accepted notification without payment
    When the Ente cancels the notification
    Then the notification reaches the status CANCELLED

  Scenario: A recipient without PEC receives an 890 registered letter
    Given an accepted notification to the recipient without PEC at "Via @OK_890"
    Then the notification is delivered by a 890 registered letter
    And the legal facts of its delivery path are listed and each downloaded

  Scenario: A recipient unreachable at every address
    Given an accepted notification to the recipient without PEC at "Via @FAIL-Irreperibile_890"
    Then the notification reaches the status UNREACHABLE

  @mock-only
  Scenario: The recipient reads the notification
    Given an accepted notification without payment
    When the recipient reads the notification
    Then the notification reaches the status VIEWED
