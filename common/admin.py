"""What every app's admin shares: read-only pages, and search by id or by text.

Read-only: money, ledger, history and outbox rows change only through services and the relay, so
their admin pages show everything and let nobody add, edit or delete (actions that call a service,
such as freezing a wallet, are the way to act).

Search: a term that is a UUID is matched exactly against the id columns (indexed, instant); any
other term against the text columns. Django's default search runs `icontains` on every listed
field, and that over a UUID column is a sequential scan of tables that only grow.

Counts (issue #21: a page costs the same at 10 million rows as at 10): Django's change list counts
every row of its query on each page load (`SELECT COUNT(*)`, a scan of the whole table). Here the
paginator asks PostgreSQL's planner first (`EXPLAIN`: the table's statistics scaled to its current
size, and the filter's selectivity); from `EstimatedCountPaginator.exact_below` rows on, that
estimate is the count, shown as "about 10,000,000". Below it the rows are counted, never more than
`exact_below` of them. With an estimate, any page from 1 is asked of the database: a page past the
real end is empty instead of an error, and the page that reveals the real end shows the exact count.
The page links leave out the last pages: their number is a guess, and their OFFSET reads the table.
No full count (`show_full_result_count`), no facet counts (`show_facets`), no `date_hierarchy` (it
asks the table for its distinct dates); filters offer fixed values (`choices`, `ValuesListFilter`)
rather than Django's filter that asks the table for its distinct values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

M = TypeVar("M", bound=Model)


def search_by_uuid_or_text(
    queryset: QuerySet[M],
    term: str,
    *,
    by_uuid: Callable[[uuid.UUID], Q],
    by_text: Callable[[str], Q],
) -> tuple[QuerySet[M], bool]:
    """The `get_search_results` answer: the matching rows, and False (no duplicates to remove)."""
    term = term.strip()
    if not term:
        return queryset, False
    try:
        value = uuid.UUID(term)
    except ValueError:
        return queryset.filter(by_text(term)), False
    return queryset.filter(by_uuid(value)), False


def planner_rows(queryset: QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows the query returns: planning only, nothing is read."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _two_significant_digits(number: int) -> int:
    """An estimate shown with no more precision than it has: 9,987,654 -> 10,000,000."""
    return round(number, 2 - len(str(number))) if number >= 100 else number


class EstimatedCountPaginator(Paginator):  # type: ignore[type-arg]
    """The admin's paginator: the planner's estimate from `exact_below` rows on, an exact count below.

    `count_qualifier` says which: "" (counted), "about" (the estimate) or "at least" (the estimate was
    below `exact_below`, but counting stopped there: the statistics are stale). `exact_below` is above
    any change list's `list_max_show_all` (200), so an estimate never offers "Show all".
    """

    exact_below = 10_000
    count_qualifier = ""

    @property
    def queryset(self) -> QuerySet[Any]:
        return cast(QuerySet[Any], self.object_list)

    @cached_property
    def count(self) -> int:
        estimate = planner_rows(self.queryset)
        if estimate >= self.exact_below:
            self.count_qualifier = "about"
            return _two_significant_digits(estimate)
        counted = self.queryset.order_by()[: self.exact_below].count()  # reads exact_below rows at most
        if counted >= self.exact_below:
            self.count_qualifier = "at least"
        return counted

    def settle(self, count: int) -> int:
        """The real count, learnt from a page that ended before it was full."""
        self.__dict__["count"] = count  # the cached properties, recomputed from it
        self.__dict__.pop("num_pages", None)
        self.count_qualifier = ""
        return count

    def validate_number(self, number: int | float | str) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.count_qualifier and int(number) > 1:  # past the estimated end: the rows decide
                return int(number)
            raise

    def page(self, number: int | str) -> Page[Any]:
        valid = self.validate_number(number)
        if not self.count_qualifier:
            return super().page(valid)
        bottom = (valid - 1) * self.per_page  # not cut at the estimated count
        return Page(self.object_list[bottom : bottom + self.per_page], valid, self)

    def get_elided_page_range(
        self, number: int | float | str = 1, *, on_each_side: int = 3, on_ends: int = 2
    ) -> Iterator[str | int]:
        if not self.count_qualifier:
            yield from super().get_elided_page_range(number, on_each_side=on_each_side, on_ends=on_ends)
            return
        current = self.validate_number(number)
        last = max(current, min(current + on_each_side, self.num_pages))
        if current > 1 + on_each_side + on_ends + 1:
            yield from range(1, on_ends + 1)
            yield str(self.ELLIPSIS)
            yield from range(current - on_each_side, last + 1)
        else:
            yield from range(1, last + 1)
        if last < self.num_pages:
            yield str(self.ELLIPSIS)  # and no last pages: where the table ends is an estimate


class EstimatedCountChangeList(ChangeList):
    """Django's change list, with the real count once the page shown ends before it is full."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        paginator = self.paginator
        if not getattr(paginator, "count_qualifier", ""):
            return
        shown = len(self.result_list)  # the page's rows, read once: the template iterates this list
        if shown < self.list_per_page and (shown or self.page_num == 1):
            self.result_count = paginator.settle((self.page_num - 1) * self.list_per_page + shown)
            self.multi_page = self.result_count > self.list_per_page
            self.can_show_all = self.result_count <= self.list_max_show_all


class ValuesListFilter(admin.SimpleListFilter):
    """A filter on one column offering values known without asking the table. For a column without
    `choices`, Django's filter (`AllValuesFieldListFilter`) runs `SELECT DISTINCT` over the whole
    table on every page load. Subclasses set `title`, `parameter_name` (the column and `__exact`,
    as Django's filter names it, so links keep working) and `values()`."""

    def values(self) -> Iterable[object]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(value)) for value in self.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(**{str(self.parameter_name): value})


class ReadOnlyAdminMixin:
    """Every field visible and read-only; nothing added, changed or deleted. For model admins and
    inlines alike."""

    show_full_result_count = False
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        declared = list(getattr(self, "fields", None) or ())
        if declared:  # the page shows exactly these
            return declared
        model = self.model  # type: ignore[attr-defined]
        return [field.name for field in model._meta.fields] + list(getattr(self, "readonly_fields", ()))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only, and a change list whose cost does not grow with the table (see the module's note)."""

    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EstimatedCountChangeList
