"""Writes of the sla app: one function per action, keyword-only, one transaction each."""
