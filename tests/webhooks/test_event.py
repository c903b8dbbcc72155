"""Every payload format Procore documents becomes the same WebhookEvent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from procore_async.webhooks import (
    PayloadError,
    RelatedResource,
    UnknownPayloadVersionError,
    parse_event,
)
from procore_async.webhooks._event import parse_timestamp

from .conftest import v2_payload, v4_payload


def test_v2_payload_is_typed() -> None:
    event = parse_event(v2_payload())
    assert event.id == "123456789"
    assert event.ulid == "0A1B2C3D4F5G6H7I8J9K0LMN"
    assert event.payload_version == "v2.0"
    assert (event.resource_name, event.event_type) == ("RFIs", "update")
    assert (event.resource_type, event.reason) == ("RFIs", "update")
    assert event.resource_id == 54321
    assert (event.company_id, event.project_id, event.user_id) == (
        1357908642,
        2468013579,
        987654321,
    )
    assert event.timestamp == datetime(2025, 2, 6, 23, 34, 12, 246562, tzinfo=timezone.utc)
    assert event.metadata["source_user_id"] == 987654321
    assert event.related_resources == ()
    assert event.raw["api_version"] == "v2.0"


def test_v3_keeps_related_resources() -> None:
    payload = v2_payload(
        api_version="v3.0",
        resource_name="Direct Cost Line Items",
        related_resources=[{"id": 1234, "name": "Direct Costs"}],
    )
    event = parse_event(payload)
    assert event.payload_version == "v3.0"
    assert event.related_resources == (RelatedResource(1234, "Direct Costs"),)


def test_v4_string_ids_and_reason_are_normalised() -> None:
    event = parse_event(v4_payload())
    assert event.id == "01JMYXMZRBVKK0PC6XS8SA4QRE"
    assert event.payload_version == "v4.0"
    assert event.resource_name == "Direct Cost Line Items"
    assert event.event_type == "update"
    assert event.resource_id == 379913
    assert (event.company_id, event.project_id, event.user_id) == (8, 6778, 5447)
    assert event.ulid is None


def test_the_same_change_in_v2_and_v4_compares_equal_apart_from_ids() -> None:
    two = parse_event(v2_payload(resource_name="Direct Cost Line Items", resource_id=379913))
    four = parse_event(v4_payload())
    assert (two.resource_name, two.event_type, two.resource_id) == (
        four.resource_name,
        four.event_type,
        four.resource_id,
    )


def test_v4_data_object_and_company_level_event() -> None:
    event = parse_event(v4_payload(project_id=None, data={"subject": "x"}, reason="CREATE"))
    assert event.project_id is None
    assert event.event_type == "create"
    assert event.data == {"subject": "x"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        (v2_payload(id=None), "event id"),
        (v2_payload(resource_name=""), "resource_name"),
        (v2_payload(event_type=None), "event_type"),
        (v2_payload(timestamp="yesterday"), "ISO 8601"),
        (v2_payload(company_id="eight"), "company_id"),
        (v2_payload(company_id=True), "company_id"),
        (v2_payload(api_version="v3.0", related_resources="x"), "related_resources"),
    ],
)
def test_bad_payloads_say_what_is_wrong(payload: object, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_event(payload)


@pytest.mark.parametrize("version", ["v5.0", "v1.0", "2.0", ""])
def test_unknown_versions_are_refused(version: str) -> None:
    with pytest.raises(UnknownPayloadVersionError, match="unknown payload version"):
        parse_event(v2_payload(api_version=version))


def test_a_payload_without_version_or_v4_shape_is_refused() -> None:
    payload = v2_payload()
    del payload["api_version"]
    with pytest.raises(UnknownPayloadVersionError):
        parse_event(payload)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-04-14T17:55:40Z", datetime(2016, 4, 14, 17, 55, 40, tzinfo=timezone.utc)),
        ("2018-02-08T21:10:08.847Z", datetime(2018, 2, 8, 21, 10, 8, 847000, timezone.utc)),
        ("2018-02-08T21:10:08.1234567Z", datetime(2018, 2, 8, 21, 10, 8, 123456, timezone.utc)),
        (
            "2018-02-08T21:10:08+02:00",
            datetime(2018, 2, 8, 21, 10, 8, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2018-02-08T21:10:08", datetime(2018, 2, 8, 21, 10, 8, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_parse_generously(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_event_is_frozen_and_round_trips_its_payload() -> None:
    import json

    event = parse_event(v2_payload())
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]
    assert json.loads(event.to_json()) == v2_payload()
