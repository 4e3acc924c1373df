"""The sla pages: one module per area, wired in sla/urls.py."""
