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
rather than Django's filter that asks the table for its distinct values. Dates are filtered by a
range (`DateRangeFilter`: two dates, on an indexed column) instead of `date_hierarchy`.

Pages that fit a laptop (1366 px): an id in a list is its last 8 hex characters (`short_id_link`),
the full id in the link's title and on the page it opens. The last, not the first: the ledger's and
the history's ids are time-ordered (common/ids.py), so rows made within a minute share their first
8 characters and differ in their random end.

Money actions run once (`run_once`): each admin form that moves money or changes a wallet carries a
one-time token made when the form is rendered; the first submission claims it in the shared cache
(`add`: atomic across workers) and stores what it did; a reload, back-and-resubmit or second click
shows that outcome again instead of acting twice. (The services refuse a second decision on an
approval or a second pending reversal anyway: this is what makes the second click *say* so.)
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.cache import cache
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Field, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

logger = logging.getLogger(__name__)

# The operators' site: its name, and *View site* to the API root.
admin.site.site_header = "Wallet operations"
admin.site.site_title = "Wallet operations"
admin.site.index_title = "Wallet operations"
admin.site.site_url = "/"
# No app list down the left of every page: at 1366 px it takes 300 px from the lists (the index and
# the breadcrumbs lead everywhere it does).
admin.site.enable_nav_sidebar = False

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

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Titled by what it lists ("Ledger transactions"), not "Select ledger transaction to view"."""
        context = {"title": capfirst(self.model._meta.verbose_name_plural), **(extra_context or {})}
        return super().changelist_view(request, context)


# --- short ids ---------------------------------------------------------------------------------------


def short_id(value: object) -> str:
    """The last 8 hex characters of a UUID (random in version 4 and 7 alike), after an ellipsis:
    enough to tell the rows of a page apart."""
    return f"…{str(value)[-8:]}"


def short_id_link(url: str, value: object, *, css: str = "short-id") -> SafeString:
    """A short id linking to its page, the full id in the link's title."""
    return format_html('<a href="{}" title="{}" class="{}">{}</a>', url, value, css, short_id(value))


def short_id_text(value: object) -> SafeString:
    """A short id without a link (the change list links its first column), the full id as a title."""
    return format_html('<span title="{}" class="short-id">{}</span>', value, short_id(value))


def compact_time(value: datetime | None) -> str:
    """A time in a list: 2025-01-31 14:05:09 (UTC), narrower than Django's "Jan. 31, 2025, 2:05 p.m."."""
    if value is None:
        return "—"
    return timezone.localtime(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


# --- filters -----------------------------------------------------------------------------------------


def _last(value: Any) -> str:
    """A query parameter's value as a filter gets it (a list since Django 5)."""
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return "" if value is None else str(value)


class DateRangeFilter(admin.FieldListFilter):
    """From and to (inclusive) dates on a time column, in UTC: `<field>__from`, `<field>__to`.
    With an index on the column, a page of a range costs what a page of the whole list does;
    Django's `date_hierarchy` would ask the table for its distinct dates on every load."""

    template = "admin/date_range_filter.html"

    def __init__(
        self,
        field: Field[Any, Any],
        request: HttpRequest,
        params: dict[str, Any],
        model: type[Model],
        model_admin: Any,
        field_path: str,
    ) -> None:
        self.from_param = f"{field_path}__from"
        self.to_param = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = f"{getattr(field, 'verbose_name', field_path)} (UTC)"

    def expected_parameters(self) -> list[str | None]:
        return [self.from_param, self.to_param]

    def has_output(self) -> bool:
        return True

    def _date(self, name: str) -> date | None:
        text = _last(self.used_parameters.get(name)).strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise IncorrectLookupParameters(f"{name}: not a date (YYYY-MM-DD)") from exc

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        start, end = self._date(self.from_param), self._date(self.to_param)
        if start is not None:
            queryset = queryset.filter(**{f"{self.field_path}__gte": datetime.combine(start, time(), UTC)})
        if end is not None:
            after = datetime.combine(end + timedelta(days=1), time(), UTC)
            queryset = queryset.filter(**{f"{self.field_path}__lt": after})
        return queryset

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        today = timezone.now().astimezone(UTC).date()
        mine = [self.from_param, self.to_param]
        others = [
            (name, _last(value))
            for name, value in changelist.get_filters_params().items()
            if name not in mine
        ]
        if changelist.query:
            others.append(("q", changelist.query))

        def span(days: int) -> str:
            return str(
                changelist.get_query_string(
                    {self.from_param: (today - timedelta(days=days - 1)).isoformat(), self.to_param: ""},
                )
            )

        yield {
            "from_param": self.from_param,
            "to_param": self.to_param,
            "from_value": _last(self.used_parameters.get(self.from_param)),
            "to_value": _last(self.used_parameters.get(self.to_param)),
            "others": others,
            "quick": [("Today", span(1)), ("Last 7 days", span(7)), ("Last 14 days", span(14))],
            "all_url": changelist.get_query_string(remove=mine),
            "selected": bool(self.used_parameters),
        }


class IdFilter(admin.ListFilter):
    """The rows of one object (`?wallet=<uuid>`), reached from that object's page: shown only while
    it applies, with the short id and a link back to the whole list. Subclasses set `title`,
    `parameter_name` and `condition()`."""

    parameter_name = "id"
    template = "admin/id_filter.html"

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: type[Model], model_admin: Any):
        super().__init__(request, params, model, model_admin)
        if self.parameter_name in params:
            self.used_parameters[self.parameter_name] = _last(params.pop(self.parameter_name))

    def condition(self, value: uuid.UUID) -> Q:
        raise NotImplementedError

    def value(self) -> uuid.UUID | None:
        text = self.used_parameters.get(self.parameter_name)
        if not text:
            return None
        try:
            return uuid.UUID(str(text))
        except ValueError as exc:
            raise IncorrectLookupParameters(f"{self.parameter_name}: not a UUID") from exc

    def has_output(self) -> bool:
        return bool(self.used_parameters.get(self.parameter_name))

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(self.condition(value))

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        value = self.value()
        yield {
            "display": short_id(value),
            "full": str(value),
            "all_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


# --- one-time tokens on money action forms -----------------------------------------------------------

ONCE_FIELD = "once"
ONCE_SECONDS = 24 * 3600  # how long a submitted form's outcome is remembered
_ONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_PENDING = "pending"

Outcome = tuple[int, str, bool]  # message level, text, whether the text is HTML


def new_once_token() -> str:
    return secrets.token_urlsafe(18)


class OnceField(forms.CharField):
    """The hidden one-time token of a form, made when the form is rendered."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False, widget=forms.HiddenInput, initial=new_once_token, max_length=64, **kwargs
        )


def once_input() -> SafeString:
    """The token as a hidden input, for a form written in a template."""
    return format_html('<input type="hidden" name="{}" value="{}">', ONCE_FIELD, new_once_token())


def _once_key(request: HttpRequest, token: str) -> str:
    return f"admin-once:{request.user.pk}:{token}"


def run_once(request: HttpRequest, act: Callable[[], list[Outcome]]) -> None:
    """Run `act` unless this form's token was used before; show its messages, or the first
    submission's again ("already done"). `act` returns its messages instead of showing them, so
    that they can be stored for a resubmission."""
    token = str(request.POST.get(ONCE_FIELD) or "")
    if not _ONCE_PATTERN.match(token):
        messages.error(
            request, "This form has no valid one-time token (is it out of date?): nothing was done."
        )
        return
    key = _once_key(request, token)
    try:
        claimed = cache.add(key, _PENDING, ONCE_SECONDS)
        first = None if claimed else cache.get(key)
    except Exception:  # Redis down: without the token's check nothing may act
        logger.exception("admin one-time token unreadable")
        messages.error(
            request, "Could not check this form's one-time token (is Redis up?): nothing was done."
        )
        return
    if not claimed:
        if first == _PENDING:
            messages.warning(
                request,
                "This form was already submitted and is still being carried out: nothing was done "
                "again. Reload the page in a moment to see the result.",
            )
            return
        messages.info(
            request,
            "Already done: this form was submitted before (a reload, a resubmission or a second "
            "click), so nothing was done again. What it did then:",
        )
        for level, text, is_html in json.loads(first or "[]"):
            messages.add_message(request, level, mark_safe(text) if is_html else text)  # noqa: S308 -- our own escaped HTML
        return
    try:
        outcomes = act()
    except BaseException:
        cache.delete(key)  # nothing was stored as done: the form may be sent again
        raise
    cache.set(key, json.dumps(outcomes), ONCE_SECONDS)
    for level, text, is_html in outcomes:
        messages.add_message(request, level, mark_safe(text) if is_html else text)  # noqa: S308 -- our own escaped HTML


def outcome(level: int, text: str | SafeString) -> Outcome:
    """A message of `run_once`'s action: HTML if it was built by `format_html`."""
    return (level, str(text), isinstance(text, SafeString))
