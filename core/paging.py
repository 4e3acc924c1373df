"""Pages of long lists whose length the page already knows.

Django's Paginator counts its list with a `COUNT(*)`; a page that reads the same total
another way (the inbox's status counts, one grouped query it shows anyway) passes it in
and saves a scan of every row of the list.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class KnownCountPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count
