"""``procore-async fake-server`` flags build the fake they name: strict unless --lenient."""

from __future__ import annotations

from procore_async.cli._app import build_parser
from procore_async.cli._serve import build_fake


def test_fake_server_is_strict_unless_lenient() -> None:
    parser = build_parser()
    strict = build_fake(parser.parse_args(["fake-server", "--seed", "1"]))
    lenient = build_fake(parser.parse_args(["fake-server", "--lenient", "--spike-limit", "5"]))
    assert (strict.strict, lenient.strict) == (True, False)
