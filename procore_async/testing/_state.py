"""The fake's data: companies, users, and every collection of records, with indexes.

Records live in collections keyed by company and by the resource path under it:
``("projects",)`` for a company's projects, ``("projects", "5", "rfis")`` for project
5's RFIs, ``("vendors", "7", "insurances")`` for vendor 7's insurances.  Each collection
keeps its records by id, their creation order (so a page is a slice, not a scan) and an
``origin_id`` index (so a sync upsert is a lookup).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["Collection", "Key", "Record", "State", "iso_time"]

Key = tuple[str, ...]
Record = dict[str, Any]

#: Attributes the server owns; a create or update never takes them from the caller.
_SERVER_FIELDS = frozenset({"id", "created_at", "updated_at"})


def iso_time(epoch: float) -> str:
    """Procore's timestamp format: ISO 8601 UTC with a ``Z``, whole seconds."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Collection:
    """The records of one resource in one scope, in creation order."""

    __slots__ = ("by_id", "order", "origins", "owner")

    def __init__(self, owner: tuple[int, Key] = (0, ())) -> None:
        self.owner = owner  # (company id, key): who to name when a record changes
        self.by_id: dict[int, Record] = {}
        self.order: list[int] = []
        self.origins: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.order)

    def slice(self, start: int, stop: int) -> list[Record]:
        by_id = self.by_id
        return [by_id[i] for i in self.order[start:stop]]

    def by_origin(self, origin_id: Any) -> Record | None:
        found = self.origins.get(str(origin_id))
        return None if found is None else self.by_id[found]

    def select(self, filters: Mapping[str, list[str]]) -> list[Record]:
        """Records matching Procore-style ``filters[attr]`` equality filters (AND-ed)."""
        ids = filters.get("id")
        origin = filters.get("origin_id")
        if ids is not None:
            wanted = {int(i) for i in ids if i.lstrip("-").isdigit()}
            candidates = [self.by_id[i] for i in self.order if i in wanted]
        elif origin is not None:
            hits = (self.by_origin(o) for o in origin)
            candidates = sorted((r for r in hits if r is not None), key=lambda r: r["id"])
        else:
            candidates = [self.by_id[i] for i in self.order]
        rest = {k: set(v) for k, v in filters.items() if k not in ("id", "origin_id")}
        if not rest:
            return candidates
        return [r for r in candidates if all(_text(r.get(k)) in v for k, v in rest.items())]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class State:
    """All data of one fake, mutated only through these methods so indexes stay right."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.companies: dict[int, Record] = {}
        self.users: dict[int, Record] = {}
        self._collections: dict[tuple[int, Key], Collection] = {}
        self._project_company: dict[int, int] = {}
        self._next_id = 100_001
        self._stamp: tuple[int, str] = (-1, "")
        #: Called as ``listener(kind, company_id, key, record)`` after every create,
        #: update and delete (kind ``"create"``/``"update"``/``"delete"``): webhooks.
        self.listeners: list[Callable[[str, int, Key, Record], None]] = []

    def now(self) -> str:
        """The current timestamp, formatted once per second (seeding makes thousands)."""
        second = int(self._clock())
        if self._stamp[0] != second:
            self._stamp = (second, iso_time(second))
        return self._stamp[1]

    def add_company(self, company_id: int, name: str) -> Record:
        company: Record = {
            "id": company_id,
            "name": name,
            "is_active": True,
            "logo_url": None,
            "pcn_business_experience": None,
            "my_company": False,
        }
        self.companies[company_id] = company
        return company

    def collection(self, company_id: int, key: Key) -> Collection:
        found = self._collections.get((company_id, key))
        if found is None:
            found = self._collections[(company_id, key)] = Collection((company_id, key))
        return found

    def project_company(self, project_id: int) -> int | None:
        """The company that owns a project, so project-scoped paths need no scan."""
        return self._project_company.get(project_id)

    def parents_exist(self, company_id: int, key: Key) -> bool:
        """Whether every ``(resource, id)`` pair above the collection names a record."""
        for index, segment in enumerate(key):
            if segment.isdigit():
                parent = self._collections.get((company_id, key[:index]))
                if parent is None or int(segment) not in parent.by_id:
                    return False
        return True

    def validate(
        self,
        coll: Collection,
        attrs: Mapping[str, Any],
        record_id: int | None,
        required: tuple[str, ...] = ("name",),
    ) -> dict[str, list[str]]:
        """Per-field errors, Rails style: a ``required`` attribute blank or (on create)
        missing, a taken ``origin_id``.  ``record_id`` is None for a create; a strict
        fake passes the attributes the catalog requires of that create."""
        errors: dict[str, list[str]] = {}
        for name in required:
            if (name in attrs or record_id is None) and _blank(attrs.get(name)):
                errors[name] = ["can't be blank"]
        origin = attrs.get("origin_id")
        if origin is not None:
            owner = coll.origins.get(str(origin))
            if owner is not None and owner != record_id:
                errors["origin_id"] = ["has already been taken"]
        return errors

    def create(self, company_id: int, key: Key, attrs: Mapping[str, Any]) -> Record:
        """Store a new record; the caller has validated ``attrs``."""
        coll = self.collection(company_id, key)
        now = self.now()
        record_id = self._next_id
        self._next_id += 1
        record: Record = {"id": record_id}
        record.update((k, v) for k, v in attrs.items() if k not in _SERVER_FIELDS)
        record.setdefault("origin_id", None)
        record.setdefault("origin_data", None)
        if key == ("projects",):
            company = self.companies[company_id]
            record.setdefault("company", {"id": company_id, "name": company["name"]})
            self._project_company[record_id] = company_id
        record["created_at"] = record["updated_at"] = now
        coll.by_id[record_id] = record
        coll.order.append(record_id)
        if record["origin_id"] is not None:
            coll.origins[str(record["origin_id"])] = record_id
        for listener in self.listeners:
            listener("create", company_id, key, record)
        return record

    def update(self, coll: Collection, record: Record, attrs: Mapping[str, Any]) -> Record:
        """Apply a partial update in place; the caller has validated ``attrs``."""
        old_origin = record.get("origin_id")
        record.update((k, v) for k, v in attrs.items() if k not in _SERVER_FIELDS)
        new_origin = record.get("origin_id")
        if old_origin != new_origin:
            if old_origin is not None:
                coll.origins.pop(str(old_origin), None)
            if new_origin is not None:
                coll.origins[str(new_origin)] = record["id"]
        record["updated_at"] = self.now()
        for listener in self.listeners:
            listener("update", *coll.owner, record)
        return record

    def delete(self, company_id: int, key: Key, record_id: int) -> bool:
        coll = self._collections.get((company_id, key))
        if coll is None or record_id not in coll.by_id:
            return False
        record = coll.by_id.pop(record_id)
        coll.order.remove(record_id)
        if record.get("origin_id") is not None:
            coll.origins.pop(str(record["origin_id"]), None)
        if key == ("projects",):
            self._project_company.pop(record_id, None)
        for listener in self.listeners:
            listener("delete", company_id, key, record)
        return True

    def seed_records(
        self, company_id: int, key: Key, count: int, make: Callable[[int], Mapping[str, Any]]
    ) -> list[Record]:
        """Create ``count`` records from ``make(i)`` (i counts from the collection's size)."""
        start = len(self.collection(company_id, key))
        return [self.create(company_id, key, make(start + i + 1)) for i in range(count)]

    def all_records(self, company_id: int, key: Key) -> Iterable[Record]:
        coll = self._collections.get((company_id, key))
        return () if coll is None else coll.slice(0, len(coll))
