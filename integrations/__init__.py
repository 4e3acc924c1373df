"""Connecting other systems: outbound webhooks (a change feed signed the Standard
Webhooks way) and inbound events (signed batches of touches, stage moves and leads).

Sits above sla in the layout: it reads what leads and sla recorded and calls sla's
actions; nothing below imports it.
"""
