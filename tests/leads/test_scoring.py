"""Scoring a lead against a definition: each op, the score, the reasons, the rule checks."""

import pytest

from leads.scoring import matches, score, validate_rules


def rule(field, op, value=None, **extra):
    return {"field": field, "op": op, "value": value, **extra}


LEAD = {
    "email": "ann@acme.example",
    "company": "Acme Corp",
    "title": "VP Sales",
    "country": "Canada",
    "company_size": 120,
    "source": "webinar",
    "attributes": {"industry": "Software", "budget": "50000", "tags": ["saas", "b2b"]},
}


# --- each op -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (rule("country", "eq", "Canada"), True),
        (rule("country", "eq", "France"), False),
        (rule("country", "neq", "France"), True),
        (rule("country", "neq", "Canada"), False),
        (rule("country", "in", ["Canada", "Mexico"]), True),
        (rule("country", "in", ["France", "Spain"]), False),
        (rule("title", "contains", "sales"), True),
        (rule("title", "contains", "marketing"), False),
        (rule("company_size", "gte", 100), True),
        (rule("company_size", "gte", 121), False),
        (rule("company_size", "lte", 120), True),
        (rule("company_size", "lte", 119), False),
        (rule("source", "exists"), True),
        (rule("last_name", "exists"), False),
        (rule("last_name", "exists", False), True),
        (rule("source", "exists", "false"), False),
    ],
)
def test_each_op_matches_the_lead_fields_it_should(criterion, expected):
    assert matches(LEAD, criterion) is expected


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (rule("attributes.industry", "eq", "software"), True),
        (rule("attributes.industry", "in", ["Retail", "Software"]), True),
        (rule("attributes.budget", "gte", 10000), True),
        (rule("attributes.budget", "lte", 10000), False),
        (rule("attributes.tags", "contains", "SaaS"), True),
        (rule("attributes.tags", "in", ["b2b"]), True),
        (rule("attributes.missing", "exists"), False),
        (rule("attributes.industry", "exists"), True),
    ],
)
def test_attributes_key_names_a_value_in_the_lead_attributes(criterion, expected):
    assert matches(LEAD, criterion) is expected


def test_text_equality_ignores_case_and_surrounding_spaces():
    assert matches({"country": "  CANADA "}, rule("country", "eq", "canada")) is True


def test_in_compares_text_case_insensitively():
    assert matches({"country": "canada"}, rule("country", "in", ["Canada"])) is True


def test_numbers_given_as_text_compare_as_numbers():
    lead = {"company_size": "120", "attributes": {"seats": " 45 "}}
    assert matches(lead, rule("company_size", "gte", "100")) is True
    assert matches(lead, rule("company_size", "eq", 120)) is True
    assert matches(lead, rule("attributes.seats", "lte", 50)) is True


def test_a_number_and_its_decimal_spelling_are_equal():
    assert matches({"attributes": {"score": 50.0}}, rule("attributes.score", "eq", "50")) is True


def test_text_that_is_not_a_number_never_meets_a_numeric_bound():
    assert matches({"attributes": {"size": "large"}}, rule("attributes.size", "gte", 10)) is False


def test_not_a_number_text_never_meets_a_numeric_bound_and_does_not_crash():
    lead = {"attributes": {"size": "NaN"}}
    assert matches(lead, rule("attributes.size", "gte", 10)) is False
    assert matches(lead, rule("attributes.size", "lte", 10)) is False


def test_true_and_the_text_true_are_equal():
    assert matches({"attributes": {"student": "True"}}, rule("attributes.student", "eq", True))
    assert matches({"attributes": {"student": True}}, rule("attributes.student", "eq", "true"))


def test_true_is_not_the_number_one():
    assert matches({"attributes": {"flag": True}}, rule("attributes.flag", "eq", 1)) is False


@pytest.mark.parametrize("op", ["eq", "neq", "in", "contains", "gte", "lte"])
@pytest.mark.parametrize("lead", [{}, {"country": ""}, {"country": None}])
def test_a_criterion_on_a_missing_field_does_not_match(op, lead):
    value = ["Canada"] if op == "in" else "Canada"
    assert matches(lead, rule("country", op, value)) is False


def test_a_criterion_on_a_missing_attribute_does_not_match():
    assert matches({"attributes": {}}, rule("attributes.industry", "neq", "Retail")) is False
    assert matches({}, rule("attributes.industry", "neq", "Retail")) is False


def test_nested_values_in_attributes_do_not_break_matching():
    lead = {"attributes": {"tags": [["x"], {"a": 1}], "meta": {"k": "v"}}}
    assert matches(lead, rule("attributes.tags", "in", ["x"])) is False
    assert matches(lead, rule("attributes.tags", "contains", "x")) is False
    assert matches(lead, rule("attributes.meta", "eq", "v")) is False


# --- the score and its reasons -------------------------------------------------------------

CRITERIA = [
    rule("company_size", "gte", 100, points=40, label="100+ staff"),
    rule("title", "contains", "vp", points=30, label="VP title"),
    rule("country", "eq", "France", points=20, label="In France"),
    rule("source", "exists", points=10),
]
DISQUALIFIERS = [rule("attributes.student", "eq", True, label="Student")]


def test_score_is_the_sum_of_the_points_of_the_criteria_met():
    result = score(criteria=CRITERIA, disqualifiers=[], qualify_at=50, data=LEAD)
    assert result.score == 80
    assert result.qualifies is True


def test_a_lead_below_the_bar_does_not_qualify():
    result = score(criteria=CRITERIA, disqualifiers=[], qualify_at=81, data=LEAD)
    assert result.score == 80
    assert result.qualifies is False


def test_a_lead_exactly_at_the_bar_qualifies():
    result = score(criteria=CRITERIA, disqualifiers=[], qualify_at=80, data=LEAD)
    assert result.qualifies is True


def test_explanation_lists_exactly_the_criteria_met_with_labels_and_points():
    result = score(criteria=CRITERIA, disqualifiers=[], qualify_at=50, data=LEAD)
    assert result.explanation == [
        {"label": "100+ staff", "points": 40},
        {"label": "VP title", "points": 30},
        {"label": "source exists", "points": 10},
    ]


def test_a_disqualifier_strikes_a_lead_whatever_its_score():
    student = {**LEAD, "attributes": {"student": True}}
    result = score(criteria=CRITERIA, disqualifiers=DISQUALIFIERS, qualify_at=10, data=student)
    assert result.score == 80
    assert result.qualifies is False
    assert result.disqualified_by == ["Student"]


def test_a_lead_no_disqualifier_matches_is_not_struck():
    result = score(criteria=CRITERIA, disqualifiers=DISQUALIFIERS, qualify_at=10, data=LEAD)
    assert result.disqualified_by == []
    assert result.qualifies is True


def test_negative_points_lower_the_score():
    criteria = [*CRITERIA, rule("source", "eq", "webinar", points=-25, label="Webinar only")]
    result = score(criteria=criteria, disqualifiers=[], qualify_at=60, data=LEAD)
    assert result.score == 55
    assert {"label": "Webinar only", "points": -25} in result.explanation
    assert result.qualifies is False


def test_an_empty_lead_scores_zero_with_no_reasons():
    result = score(criteria=CRITERIA, disqualifiers=DISQUALIFIERS, qualify_at=0, data={})
    assert (result.score, result.explanation, result.disqualified_by) == (0, [], [])


# --- validate_rules --------------------------------------------------------------------------


def test_well_formed_rules_have_no_messages():
    assert validate_rules(CRITERIA, with_points=True) == []
    assert validate_rules(DISQUALIFIERS, with_points=False) == []


def test_rules_must_be_a_list():
    assert validate_rules({"field": "country"}, with_points=True) == ["must be a list of rules"]


def test_each_rule_must_be_an_object():
    assert validate_rules(["country eq Canada"], with_points=False) == [
        "rule 1: must be an object with field, op and value"
    ]


def test_unknown_field_is_named_with_the_fields_allowed():
    (message,) = validate_rules([rule("salary", "eq", 1)], with_points=False)
    assert message.startswith("rule 1: field 'salary' is not a lead field (email, ")
    assert message.endswith("or attributes.<key>")


def test_attributes_needs_a_key():
    (message,) = validate_rules([rule("attributes.", "exists")], with_points=False)
    assert "field 'attributes.' is not a lead field" in message


def test_unknown_op_is_named_with_the_ops_allowed():
    assert validate_rules([rule("country", "like", "Can%")], with_points=False) == [
        "rule 1: op 'like' is not one of eq, neq, in, contains, gte, lte, exists"
    ]


@pytest.mark.parametrize("value", ["lots", None, "NaN", "Infinity", True])
def test_gte_and_lte_need_a_finite_number(value):
    assert validate_rules([rule("company_size", "gte", value)], with_points=False) == [
        "rule 1: gte needs a number as value"
    ]


def test_gte_accepts_a_number_written_as_text():
    assert validate_rules([rule("company_size", "gte", "50")], with_points=False) == []


@pytest.mark.parametrize("value", ["Canada", [], None])
def test_in_needs_a_non_empty_list(value):
    assert validate_rules([rule("country", "in", value)], with_points=False) == [
        "rule 1: in needs a non-empty list as value"
    ]


def test_in_takes_only_plain_values_in_its_list():
    assert validate_rules([rule("country", "in", [["Canada"]])], with_points=False) == [
        "rule 1: in takes a list of texts, numbers or true/false"
    ]


@pytest.mark.parametrize("op", ["eq", "neq", "contains"])
def test_comparisons_need_a_value(op):
    assert validate_rules([rule("country", op, "")], with_points=False) == [
        f"rule 1: {op} needs a value"
    ]


def test_eq_needs_a_plain_value():
    assert validate_rules([rule("country", "eq", {"x": 1})], with_points=False) == [
        "rule 1: eq needs a text, a number or true/false as value"
    ]


def test_exists_takes_only_true_or_false():
    assert validate_rules([rule("country", "exists", "maybe")], with_points=False) == [
        "rule 1: exists takes true or false as value (or none, meaning true)"
    ]


@pytest.mark.parametrize("points", [None, "10", 2.5, True])
def test_criteria_need_whole_number_points(points):
    criterion = rule("country", "eq", "Canada", points=points)
    assert validate_rules([criterion], with_points=True) == [
        "rule 1: points must be a whole number"
    ]


@pytest.mark.parametrize("points", [10_001, -10_001, 10**30])
def test_criteria_points_stay_within_ten_thousand_either_way(points):
    criterion = rule("country", "eq", "Canada", points=points)
    assert validate_rules([criterion], with_points=True) == [
        "rule 1: points must be between -10000 and 10000"
    ]


def test_disqualifiers_need_no_points():
    assert validate_rules([rule("country", "eq", "Canada")], with_points=False) == []


def test_label_must_be_text():
    assert validate_rules([rule("country", "eq", "CA", label=5)], with_points=False) == [
        "rule 1: label must be text"
    ]


def test_every_malformed_rule_is_reported_by_its_position():
    rules = [rule("country", "eq", "CA", points=5), rule("salary", "like", 1, points="x")]
    assert validate_rules(rules, with_points=True) == [
        "rule 2: field 'salary' is not a lead field (email, first_name, last_name, company, "
        "title, country, company_size, source, external_id) or attributes.<key>",
        "rule 2: op 'like' is not one of eq, neq, in, contains, gte, lte, exists",
        "rule 2: points must be a whole number",
    ]
