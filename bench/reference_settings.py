"""slaops's settings, with the bench reference view mounted (bench/reference_urls.py).

Same middleware, database, DEBUG and everything else: the reference server differs
from the application's only by the extra URL.
"""

from slaops.settings import *  # noqa: F403

ROOT_URLCONF = "bench.reference_urls"
