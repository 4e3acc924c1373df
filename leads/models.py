"""Leads, lead definitions, scoring and intake."""
