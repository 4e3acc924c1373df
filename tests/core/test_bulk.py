"""core.bulk's statements and instances, written once per shape and read back the same."""

from datetime import UTC, datetime

import pytest

from accounts.models import User
from core.bulk import Sql, _values_statement, instance_of, select_columns
from funnel.models import StageChange
from leads.models import LeadDefinitionVersion

AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def _change(note: str, lead_id=1) -> dict:
    return {
        "lead_id": lead_id,
        "from_stage_id": None,
        "to_stage_id": 2,
        "at": AT,
        "by_id": 3,
        "note": note,
    }


def test_select_columns_names_every_column_and_a_changed_answer_changes_no_later_one():
    columns = select_columns(User, "u")
    assert columns == [f'u."{f.column}"' for f in User._meta.concrete_fields]
    columns.append("u.surprise")
    assert "u.surprise" not in select_columns(User, "u")
    assert select_columns(User, "x")[0] == 'x."id"'


def test_one_row_statements_of_a_shape_share_their_text_and_send_their_own_values():
    first_sql, first_params = _values_statement(StageChange, [_change("one")])
    second_sql, second_params = _values_statement(StageChange, [_change("two", lead_id=9)])
    assert first_sql == second_sql
    assert first_params == [1, None, 2, AT, 3, "one"]
    assert second_params == [9, None, 2, AT, 3, "two"]


def test_a_sql_value_or_a_returned_column_makes_another_statement():
    plain, _ = _values_statement(StageChange, [_change("one")])
    current = Sql("currval(pg_get_serial_sequence('leads_lead', 'id'))")
    named, params = _values_statement(StageChange, [_change("one", lead_id=current)])
    returned, _ = _values_statement(StageChange, [_change("one")], returning=["id"])
    assert f"VALUES (({current}), %s" in named
    assert params == [None, 2, AT, 3, "one"]
    assert plain != named
    assert returned == plain + ' RETURNING "id"'


def test_json_travels_as_text_and_a_missing_column_takes_its_default():
    row = {"definition_id": 1, "version": 1, "name": "v1", "qualify_at": 50, "created_at": AT}
    row["criteria"] = [{"field": "country", "op": "eq", "value": "US", "points": 10}]
    sql, params = _values_statement(LeadDefinitionVersion, [row])
    names = [f.attname for f in LeadDefinitionVersion._meta.concrete_fields if not f.primary_key]
    values = dict(zip(names, params, strict=True))
    assert values["criteria"] == '[{"field": "country", "op": "eq", "value": "US", "points": 10}]'
    assert values["disqualifiers"] == "[]"
    assert values["good_lead"] == ""


def test_instance_of_decodes_json_as_a_queryset_would_and_refuses_a_short_row():
    fields = LeadDefinitionVersion._meta.concrete_fields
    stored = {
        "id": 5,
        "definition_id": 1,
        "version": 2,
        "name": "v2",
        "good_lead": "",
        "not_a_lead": "",
        "handling": "",
        "qualify_at": 50,
        "criteria": '[{"a": 1}]',
        "disqualifiers": "[]",
        "created_at": AT,
        "created_by_id": None,
    }
    row = [stored[f.attname] for f in fields]
    version = instance_of(LeadDefinitionVersion, row)
    assert (version.pk, version.criteria, version.disqualifiers) == (5, [{"a": 1}], [])
    assert version._state.adding is False
    assert instance_of(LeadDefinitionVersion, row).criteria == [{"a": 1}]  # read again
    with pytest.raises(ValueError, match="columns"):
        instance_of(LeadDefinitionVersion, row[:-1])
