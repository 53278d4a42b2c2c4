"""The browsable API's pages: DRF's `BrowsableAPIRenderer` with what a person in a browser needs.

- Every POST form carries an idempotency key made when the page is rendered (`FORM_KEY`, a hidden
  field; in the raw-data form a member of the JSON object), so a reload, a back-and-resubmit or a
  double click replays the first answer instead of moving money again. `submitted_key` reads it
  back; only a session-authenticated browser's post is read this way (API clients send the
  `Idempotency-Key` header, which wins when both are given).
- Breadcrumbs and page titles named after resources ("Wallets / Wallet 1a2b3c4d / Transfer"), from
  each view's `crumb`.
- A "Links" panel (the view's `links`), ids in the JSON that name a resource as links (`ID_LINKS`),
  forms that post to another endpoint (the view's `action_forms`, e.g. approve and reject), and a
  POST-only page opened with GET shows its form under an explanation, not the 405 answer meant for
  API clients (who still get it, with `Allow`).

It imports no app: the apps register their id fields (`link_ids`) and give their views' links.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import BrowsableAPIRenderer, HTMLFormRenderer
from rest_framework.request import Request, is_form_media_type

# The hidden form field that carries a form's idempotency key; never part of a validated body.
FORM_KEY = "_idempotency_key"
# A form's fields that are not the request's content (the fingerprint leaves them out).
NOT_CONTENT = frozenset({FORM_KEY, "csrfmiddlewaretoken"})

# A JSON field naming a resource → the URL name of its page (one path argument). The apps fill it.
ID_LINKS: dict[str, str] = {}


def link_ids(**fields: str) -> None:
    """Show these JSON fields' ids as links to the named URL (e.g. `wallet_id="wallet-detail"`)."""
    ID_LINKS.update(fields)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ActionForm:
    """A form on this page that posts to another endpoint (its serializer's fields, and a key)."""

    title: str
    url: str
    serializer_class: Any
    intro: str = ""
    button: str = "POST"


def short(value: object) -> str:
    """An id as a title shows it: a UUID's first 8 digits, anything else as it is."""
    text = str(value)
    return text[:8] if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}", text) else text


def is_browser(request: Request) -> bool:
    """A request authenticated by the session (a browser logged in; DRF has checked its CSRF token)."""
    return isinstance(getattr(request, "successful_authenticator", None), SessionAuthentication)


def is_browser_form(request: Request) -> bool:
    """A form posted by a session-authenticated browser."""
    return is_form_media_type(request.content_type or "") and is_browser(request)


def submitted_key(request: Request) -> str | None:
    """The idempotency key a browser's form (or raw-data JSON object) carries, if any."""
    if not is_browser(request):
        return None
    data = request.data
    if not isinstance(data, dict):
        return None
    key = data.get(FORM_KEY)
    return key if isinstance(key, str) else None


def form_fields(request: Request) -> list[tuple[str, list[str]]]:
    """A posted form's content as (name, values) in name order, without the CSRF token and the key:
    what a resubmission has in common with the first post (its multipart boundary is new)."""
    data: Any = request.data
    fields = []
    for name in sorted(data.keys()):
        if name in NOT_CONTENT:
            continue
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        fields.append((name, [_text(value) for value in values]))
    return fields


def _text(value: Any) -> str:
    if hasattr(value, "read"):  # an uploaded file: its name and content
        value.seek(0)
        content = value.read()
        value.seek(0)
        return f"{value.name}\0{content.hex()}"
    return str(value)


def without_key(data: dict[str, Any]) -> dict[str, Any]:
    """A body without the form's key field (the serializer never sees it)."""
    if FORM_KEY not in data:
        return data
    if hasattr(data, "lists"):  # a QueryDict: keep every value of a repeated field
        copy = data.copy()
        copy.pop(FORM_KEY)
        return copy
    return {name: value for name, value in data.items() if name != FORM_KEY}


def new_key() -> str:
    return f"form-{uuid.uuid4()}"


def _key_input(key: str) -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_KEY, key)


def _resolve(path: str) -> Any:
    try:
        return resolve(path)
    except (Resolver404, Http404):
        return None


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(title, url) for each prefix of `path` that is a page, named by its view's `title`."""
    crumbs: list[tuple[str, str]] = []
    parts = [part for part in path.split("/") if part]
    for depth in range(len(parts) + 1):
        url = "/" + "/".join(parts[:depth])
        match = _resolve(url)
        view = getattr(getattr(match, "func", None), "view_class", None)
        if view is None or not hasattr(view, "title"):
            continue
        crumbs.append((view.title(match.kwargs), url))
    return crumbs


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def linked_content(content: str, id_link: str | None) -> SafeString:
    """The pretty-printed JSON, escaped, with each known id field's value a link to its page."""
    names = {**ID_LINKS, **({"id": id_link} if id_link else {})}
    if not names:
        return mark_safe(escape(content))  # noqa: S308 -- escaped
    pattern = re.compile(
        rf"(&quot;({'|'.join(re.escape(name) for name in names)})&quot;: &quot;)({_UUID})(&quot;)"
    )

    def link(match: re.Match[str]) -> str:
        try:
            url = reverse(names[match.group(2)], args=[match.group(3)])
        except NoReverseMatch:
            return match.group(0)
        return f'{match.group(1)}<a href="{escape(url)}">{match.group(3)}</a>{match.group(4)}'

    return mark_safe(pattern.sub(link, escape(content)))  # noqa: S308 -- escaped, then links added


def raw_example(view: Any) -> Any:
    """What the raw-data form starts with: the view's `raw_example`, else its required fields, empty."""
    example = getattr(view, "raw_example", None)
    if example is not None:
        return example
    serializer_class = getattr(view, "serializer_class", None)
    if serializer_class is None:
        return {}
    return {name: "" for name, field in serializer_class().fields.items() if field.required}


class Renderer(BrowsableAPIRenderer):
    """DRF's browsable API, with the additions in this module's docstring."""

    template = "rest_framework/api.html"

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        form = super().get_rendered_html_form(data, view, method, request)
        if method == "POST" and isinstance(form, str):
            return mark_safe(form + _key_input(new_key()))  # noqa: S308 -- DRF's form and our input
        return form

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        form = super().get_raw_data_form(data, view, method, request)
        if form is None or method != "POST":
            return form
        field = form.fields["_content"]
        try:
            body = json.loads(field.initial) if field.initial else raw_example(view)
        except ValueError:
            return form
        if isinstance(body, dict):
            field.initial = json.dumps({**body, FORM_KEY: new_key()}, indent=4)
        return form

    def get_breadcrumbs(self, request: Any) -> list[tuple[str, str]]:
        return breadcrumbs(request.path)

    def get_context(self, data: Any, accepted_media_type: Any, renderer_context: Any) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        view, request, response = context["view"], context["request"], context["response"]
        context["content"] = linked_content(context["content"], getattr(view, "id_link", None))
        context["links"] = view.links(request, data) if hasattr(view, "links") else []
        context["action_forms"] = [
            self._action_form(request, form)
            for form in (view.action_forms(request, data) if hasattr(view, "action_forms") else [])
        ]
        # A browser opening a POST-only page: the form, explained, instead of the 405 API clients get.
        context["form_page"] = (
            response.status_code == 405
            and request.method in ("GET", "HEAD")
            and "POST" in view.allowed_methods
            and "GET" not in view.allowed_methods
        )
        if context["form_page"]:
            context["form_intro"] = view.form_intro() if hasattr(view, "form_intro") else ""
        return context

    def _action_form(self, request: Any, action: ActionForm) -> dict[str, Any]:
        serializer = action.serializer_class()
        fields = HTMLFormRenderer().render(
            serializer.data,
            None,
            {"style": {"template_pack": "rest_framework/horizontal"}},
        )
        return {
            "title": action.title,
            "url": action.url,
            "intro": action.intro,
            "button": action.button,
            "fields": mark_safe(fields + _key_input(new_key())),  # noqa: S308 -- DRF's form and our input
        }
