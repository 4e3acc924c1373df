"""Attributes typed as JSON text, read the same in a CSV cell and in the lead form."""

import pytest

from leads.csvfile import attributes_json


def test_attributes_json_reads_an_object_and_nothing_as_empty():
    assert attributes_json('{"industry": "retail"}') == {"industry": "retail"}
    assert attributes_json("") == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [('{"a": ', "Not JSON: "), ("[1, 2]", "Give a JSON object"), ('"x"', "Give a JSON object")],
)
def test_attributes_json_refuses_what_is_not_an_object_saying_why(text, says):
    with pytest.raises(ValueError, match=says):
        attributes_json(text)
