"""One indicator for one place over several periods, for the dashboard's trend chart.

Every period's count is one more FILTER in the same aggregate, so a 12-period trend reads the
rows of each source once instead of twelve times (on a province of a million households that
is the difference between one scan and twelve). Frozen periods come from what was signed off.
"""

from collections import defaultdict

from xaso.indicators import compute
from xaso.indicators.models import FrozenValue, Indicator
from xaso.indicators.sources import SOURCES
from xaso.lib.periods import Period
from xaso.places.models import Place


def values_over_periods(indicator: Indicator, place: Place, periods: list[Period]):
    """[compute.Value] of `indicator` at `place`, one per period, in the order given."""
    values = [compute.Value(indicator=indicator, place=place, period=p) for p in periods]
    frozen = {
        row.period: row
        for row in FrozenValue.objects.filter(
            indicator=indicator, place=place, period__in=[p.key for p in periods]
        )
    }
    counted = [value for value in values if value.period.key not in frozen]
    by_source: dict[str, dict] = defaultdict(dict)
    for index, value in enumerate(counted):
        for part, spec in compute._parts(indicator):
            source = SOURCES[spec["source"]]
            by_source[source.code][f"p{index}_{part}"] = compute._count(source, spec, value.period)
    counts: dict[str, int | None] = {}
    for code, aggregates in by_source.items():
        source = SOURCES[code]
        place_q = compute._place_q(source, place)
        if place_q is None:  # the source says nothing at this level (dossiers of a village)
            counts.update(dict.fromkeys(aggregates))
        else:
            rows = source.model_class().objects.filter(source.base & place_q)
            counts.update(rows.aggregate(**aggregates))
    for index, value in enumerate(counted):
        parts = {
            f"i{indicator.id}_{part}": counts[f"p{index}_{part}"]
            for part, _spec in compute._parts(indicator)
        }
        compute._fill(value, compute._parts_result(indicator, parts))
    for value in values:
        if value.period.key in frozen:
            compute._fill_frozen(value, frozen[value.period.key])
    if indicator.method == Indicator.Method.MANUAL:
        compute._fill_manual(counted)
    return values
