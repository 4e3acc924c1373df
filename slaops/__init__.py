"""slaops: service level agreements between marketing and sales."""

from slaops.celery import app as celery_app

__all__ = ["celery_app"]
