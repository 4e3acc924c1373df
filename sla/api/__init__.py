"""The sla REST endpoints: one module per resource, wired in sla/api_urls.py."""
