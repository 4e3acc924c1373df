"""WSGI application of the reference server: `gunicorn bench.reference_wsgi:application`.

It serves slaops unchanged plus `POST /bench/bare-insert/` (bench/reference_urls.py),
the floor `POST /api/leads/` is compared with. Benchmarks only: never deploy it.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference_settings")
application = get_wsgi_application()
