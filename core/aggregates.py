"""Ordered-set aggregates PostgreSQL has and Django does not ship: median and percentiles
computed by the database, not by sending every value to Python."""

from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    """`percentile_cont(share) WITHIN GROUP (ORDER BY expr)`: interpolated (0.5: median)."""

    function = "percentile_cont"
    template = "%(function)s(%(share)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, share: float, **extra):
        super().__init__(expression, share=float(share), **extra)


class PercentileDisc(PercentileCont):
    """`percentile_disc(share)`: the first value whose rank reaches the share (nearest rank)."""

    function = "percentile_disc"
