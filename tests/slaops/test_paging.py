"""A paginator told its count pages like Django's, without counting the list."""

from core.paging import KnownCountPaginator


class Untouchable(list):
    """A list that refuses to be counted, as Paginator counts a queryset or a list."""

    def count(self):
        raise AssertionError("counted")

    def __len__(self):
        raise AssertionError("counted")


def test_a_known_count_pages_without_counting():
    rows = Untouchable(range(120))
    page = KnownCountPaginator(rows, 50, count=120).get_page(3)
    assert list(page.object_list) == list(range(100, 120))
    assert page.paginator.num_pages == 3
    assert not page.has_next()


def test_a_page_past_the_end_is_the_last():
    page = KnownCountPaginator(list(range(10)), 50, count=10).get_page(9)
    assert page.number == 1
