"""Lead definitions are versioned: every edit freezes a new version, history is never rewritten."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from leads.models import LeadDefinition, LeadDefinitionVersion, ReasonCode
from leads.services.definitions import (
    definition_create,
    definition_score,
    definition_update,
    reason_code_create,
    reason_code_update,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIZE = {"field": "company_size", "op": "gte", "value": 50, "points": 60, "label": "50+ staff"}
STUDENT = {"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}


def make_definition(**overrides) -> LeadDefinition:
    terms = {
        "by": None,
        "name": "Mid-market",
        "good_lead": "A company of 50 or more.",
        "not_a_lead": "Students.",
        "handling": "Call within four business hours.",
        "qualify_at": 50,
        "criteria": [SIZE],
        "disqualifiers": [STUDENT],
    }
    return definition_create(**{**terms, **overrides})


def test_creating_a_definition_writes_version_one_with_who_and_when():
    marketer = UserFactory(role="marketing")
    definition = make_definition(by=marketer)
    (version,) = definition.versions.all()
    assert definition.version == 1
    assert (version.version, version.created_by, version.name) == (1, marketer, "Mid-market")
    assert version.criteria == [SIZE]
    assert version.created_at is not None


def test_every_edit_bumps_the_version_and_freezes_a_copy():
    definition = make_definition()
    definition = definition_update(definition=definition, by=None, qualify_at=40)
    definition = definition_update(definition=definition, by=None, handling="Call in 2 hours.")
    assert definition.version == 3
    assert list(definition.versions.values_list("version", "qualify_at", "handling")) == [
        (3, 40, "Call in 2 hours."),
        (2, 40, "Call within four business hours."),
        (1, 50, "Call within four business hours."),
    ]


def test_an_edit_never_rewrites_an_earlier_version():
    definition = make_definition()
    new_criteria = [{**SIZE, "value": 200}]
    definition_update(definition=definition, by=None, criteria=new_criteria)
    first = LeadDefinitionVersion.objects.get(definition=definition, version=1)
    assert first.criteria == [SIZE]


def test_the_version_records_who_made_the_edit():
    editor = UserFactory(role="admin")
    definition = definition_update(definition=make_definition(), by=editor, qualify_at=45)
    assert definition.current_version.created_by == editor


def test_an_edit_that_changes_nothing_makes_no_version():
    definition = make_definition()
    same = definition_update(
        definition=definition, by=None, qualify_at=50, criteria=[dict(SIZE)], name="Mid-market"
    )
    assert same.version == 1
    assert definition.versions.count() == 1


def test_an_edit_with_no_changes_at_all_makes_no_version():
    definition = definition_update(definition=make_definition(), by=None)
    assert definition.versions.count() == 1


def test_rule_keys_other_than_the_known_ones_are_not_stored():
    definition = make_definition(criteria=[{**SIZE, "note": "x"}])
    assert definition.criteria == [SIZE]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"criteria": [{"field": "salary", "op": "eq", "value": 1, "points": 5}]}, "criteria"),
        ({"criteria": "company_size >= 50"}, "criteria"),
        ({"disqualifiers": [{"field": "country", "op": "like", "value": "x"}]}, "disqualifiers"),
        ({"qualify_at": -1}, "qualify_at"),
        ({"qualify_at": 61}, "qualify_at"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(change, field):
    definition = make_definition()
    with pytest.raises(ValidationError) as caught:
        definition_update(definition=definition, by=None, **change)
    assert field in caught.value.message_dict
    definition.refresh_from_db()
    assert (definition.version, definition.versions.count()) == (1, 1)


def test_a_qualifying_score_no_lead_can_reach_is_refused_with_the_reachable_maximum():
    with pytest.raises(ValidationError) as caught:
        make_definition(qualify_at=70)
    assert caught.value.message_dict["qualify_at"] == [
        "No lead can reach 70: the criteria give at most 60 points."
    ]


def test_a_definition_name_is_unique():
    make_definition(name="Enterprise")
    with pytest.raises(ValidationError) as caught:
        make_definition(name="Enterprise")
    assert "name" in caught.value.message_dict
    assert LeadDefinition.objects.count() == 1


def test_a_refused_create_writes_nothing():
    with pytest.raises(ValidationError):
        make_definition(criteria=[{"field": "nope", "op": "eq", "value": 1, "points": 60}])
    assert LeadDefinition.objects.count() == 0
    assert LeadDefinitionVersion.objects.count() == 0


def test_unknown_terms_are_a_programming_error():
    with pytest.raises(TypeError):
        definition_update(definition=make_definition(), by=None, version=9)


def test_trying_a_lead_scores_it_against_the_current_version_and_saves_nothing():
    definition = make_definition()
    definition = definition_update(definition=definition, by=None, qualify_at=60)
    result = definition_score(definition=definition, data={"company_size": 55})
    assert (result.score, result.qualifies) == (60, True)
    assert result.explanation == [{"label": "50+ staff", "points": 60}]
    assert LeadDefinitionVersion.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_make_consecutive_versions_never_two_of_the_same():
    definition = make_definition()
    first_holds_lock = threading.Event()
    outcomes = {}

    def first_editor():
        try:
            with transaction.atomic():
                outcomes["first"] = definition_update(
                    definition=definition, by=None, qualify_at=55
                ).version
                first_holds_lock.set()
                threading.Event().wait(0.5)  # keep the row locked while the second one asks
        finally:
            first_holds_lock.set()
            connection.close()

    def second_editor():
        first_holds_lock.wait(5)
        try:
            outcomes["second"] = definition_update(
                definition=definition, by=None, handling="Call at once."
            ).version
        finally:
            connection.close()

    threads = [threading.Thread(target=first_editor), threading.Thread(target=second_editor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert outcomes == {"first": 2, "second": 3}
    assert sorted(definition.versions.values_list("version", flat=True)) == [1, 2, 3]
    latest = LeadDefinition.objects.get(pk=definition.pk)
    assert (latest.qualify_at, latest.handling) == (55, "Call at once.")


def test_reason_codes_are_created_and_edited_with_the_model_rules():
    code = reason_code_create(code="wrong_region", label="Outside our sales regions")
    code = reason_code_update(reason_code=code, is_active=False, position=9)
    code.refresh_from_db()
    assert (code.code, code.is_active, code.position) == ("wrong_region", False, 9)


@pytest.mark.parametrize("code", ["not a slug", "no_budget", ""])
def test_a_reason_code_must_be_a_new_slug(code):
    with pytest.raises(ValidationError) as caught:
        reason_code_create(code=code, label="Anything")
    assert "code" in caught.value.message_dict


def test_the_contract_default_reason_codes_are_seeded():
    codes = set(ReasonCode.objects.values_list("code", flat=True))
    assert {"not_icp", "no_budget", "bad_contact", "duplicate", "student_or_job_seeker"} <= codes
