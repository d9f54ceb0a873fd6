@TC-INVIO-03
Feature: TC-INVIO-03 — the IUN and the statuses from the event streams
  The Ente learns the IUN and follows the notification through SEND's progress streams: it
  reads with lastEventId, waits what retry-after says, and sees the notification delivered.

  Scenario: The Ente follows its notification through a TIMELINE and a STATUS stream
    Given the Ente has created a TIMELINE stream and a STATUS stream
    And the Ente has uploaded the document to notify
    And a notification without payment to a natural person with PEC and physical address, by the Ente's registered letter
    When the Ente sends the notification
    Then the TIMELINE stream, read with lastEventId and honouring retry-after, delivers the acceptance with the IUN
    And the STATUS stream shows the notification delivered
    And the Ente deletes its streams
