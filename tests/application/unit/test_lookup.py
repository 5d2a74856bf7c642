"""The progress look-up's quick check agrees with the schema that documents the query: what it
takes, the schema loads to the same values; what the schema accepts, it takes."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl

import pytest
import werkzeug.urls  # noqa: F401  (registers the 'werkzeug.url_quote' error handler)
from marshmallow import EXCLUDE, ValidationError
from werkzeug.datastructures import MultiDict

from services.application.api.progress import query_args
from services.application.api.schemas import ProgressQuerySchema
from services.application.domain.lookup import plainly_valid_lookup

ID = "11010519491231002X"
CASES = [
    {"name": "王芳", "id_number": ID},
    {"name": "王芳", "acceptance_number": "SSC-20261125-7K3Q9M"},
    {"name": "王芳", "id_number": ID, "utm_source": "wechat"},
    {"name": "王" * 60, "id_number": "1" * 40},
    {"name": "王" * 61, "id_number": ID},
    {"name": "王芳", "id_number": "1" * 41},
    {"name": "", "id_number": ID},
    {"name": "王芳", "id_number": ""},
    {"name": "王芳"},
    {"id_number": ID},
    {"name": "王芳", "id_number": ID, "acceptance_number": "SSC-20261125-7K3Q9M"},
    {},
]


@pytest.mark.parametrize("args", CASES, ids=range(len(CASES)))
def test_the_quick_check_and_the_schema_agree(args):
    quick = plainly_valid_lookup(MultiDict(args))
    try:
        loaded = ProgressQuerySchema().load(args, unknown=EXCLUDE)
    except ValidationError:
        loaded = None
    assert quick == loaded


def test_the_first_of_repeated_keys_counts_as_in_the_schema_load():
    args = MultiDict([("name", "王芳"), ("name", "李娜"), ("id_number", ID)])
    assert plainly_valid_lookup(args) == ProgressQuerySchema().load(args.to_dict())


def test_the_query_is_read_exactly_as_parse_qsl_reads_it():
    # Percent-encoded names (valid, truncated and broken UTF-8), '+', stray '%', escapes with
    # spaces or non-hex digits, empty and repeated keys: the quick reading must agree always.
    pieces = [
        "name",
        "id_number",
        "=",
        "&",
        "+",
        "%",
        " ",
        "%E7%8E%8B%E8%8A%B3",
        "%E7%8E",
        "%FF%FE",
        "%2B",
        "%zz",
        "% A",
        "%4",
        "a",
        "11010519491231002X",
        "%41%42",
        "%e7%8e%8b",
    ]
    rng = random.Random(3986)
    for _ in range(20_000):
        query = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        expected: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"):
            expected.setdefault(key, value)
        assert query_args(query) == expected, query
