"""Writes on leads' data: `definitions` (lead definitions, reason codes) and `leads`
(a lead's record: build, touches, verdicts, close, owner, round robin). None of them
knows of clocks: the agreement's actions in `sla.actions` call them with the clocks."""
