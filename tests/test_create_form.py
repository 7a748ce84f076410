"""The creation form's choices (shared/create_form.py): required-field discovery from each process's
type definitions as the ADO emulator serves them (Basic, Agile, Scrum, CMMI and an inherited one),
the options offered, and what is checked before a create."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.ado.testing import running_ado
from shared import create_form as cf
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from shared.issue_link import FormError


@pytest.fixture(scope="module")
def ado() -> Iterator[AdoClient]:
    with running_ado() as (emulator, _server):
        yield AdoClient(emulator.base_url, PatAuth(DEFAULT_TOKEN))


def definitions(ado: AdoClient, project: str, wit: str) -> list[cf.FieldDefinition]:
    return cf.field_definitions(ado.work_item_type_fields(project, wit))


@pytest.mark.parametrize(("project", "wit", "required", "inputs"), [
    ("Basic", "Issue", {"System.Title": None}, []),
    ("Basic", "Task", {"System.Title": None}, []),
    ("Shop", "Bug", {"System.Title": None}, []),  # Agile
    ("Shop", "User Story", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business"}, []),
    ("Scrum", "Product Backlog Item", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business"}, []),
    ("Scrum", "Bug", {"System.Title": None}, []),
    ("CMMI", "Requirement", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business",
                             "Microsoft.VSTS.CMMI.RequirementType": "Functional"}, []),
    ("CMMI", "Issue", {"System.Title": None}, []),
    ("Custom", "Bug", {"System.Title": None, "Custom.Team": None}, ["Custom.Team"]),  # inherited from Agile
    ("Custom", "User Story", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business"}, []),
])
def test_required_fields_are_discovered_from_the_type_definition(ado: AdoClient, project: str, wit: str,
                                                                 required: dict, inputs: list[str]) -> None:
    defs = definitions(ado, project, wit)
    assert {d.ref: d.default for d in defs if d.required} == required
    assert [d.ref for d in cf.required_inputs(defs)] == inputs  # a default, the bridge or the form fills the rest


def test_a_route_default_satisfies_a_required_field(ado: AdoClient) -> None:
    defs = definitions(ado, "Custom", "Bug")
    assert cf.required_inputs(defs, preset=["Custom.Team"]) == []
    problems = cf.choice_problems(cf.Choices(), defs, [], [], "Custom", "Bug")
    assert problems == ["'required_field_1': Bug in Custom requires Team (Custom.Team) and nothing sets it: choose "
                        "a value, or set it in the route's fields"]
    assert cf.choice_problems(cf.Choices(), defs, ["Custom.Team"], [], "Custom", "Bug") == []


def test_options_come_from_the_types_allowed_values(ado: AdoClient) -> None:
    bug = definitions(ado, "Custom", "Bug")
    assert [o["value"] for o in cf.allowed_options(bug, cf.PRIORITY)] == ["1", "2", "3", "4"]
    assert [o["value"] for o in cf.allowed_options(bug, cf.SEVERITY)] == ["1 - Critical", "2 - High", "3 - Medium",
                                                                          "4 - Low"]
    assert cf.allowed_options(definitions(ado, "Basic", "Issue"), cf.SEVERITY) == []  # Basic has no Severity
    assert cf.required_options(bug, [], 0) == [{"label": f"Team: {t}", "value": f"Custom.Team={t}"}
                                               for t in ("Checkout", "Payments", "Platform")]
    assert cf.required_options(bug, [], 0, "pay") == [{"label": "Team: Payments", "value": "Custom.Team=Payments"}]
    assert cf.required_options(bug, [], 1) == [] and cf.required_options(bug, ["Custom.Team"], 0) == []


def test_a_free_text_required_field_takes_what_is_typed() -> None:
    defs = [cf.FieldDefinition("Custom.Ticket", "Ticket", required=True)]
    assert cf.required_options(defs, [], 0, " INC-42 ") == [
        {"label": "Ticket: INC-42", "value": "Custom.Ticket=INC-42"}]
    assert cf.required_options(defs, [], 0, "") == []


def test_choices_parse_from_a_form_and_name_each_bad_field() -> None:
    choices = cf.parse_choices({"iteration_path": "Shop\\Sprint 2", "tags": "checkout; p1, Checkout ;", "priority": "1",
                                "severity": "2 - High", "assignee": "ava@contoso.com", "parent": "#12",
                                "required_field_1": "Custom.Team=Payments"})
    assert choices == cf.Choices("Shop\\Sprint 2", ("checkout", "p1"), 1, "2 - High", "ava@contoso.com", 12,
                                 {"Custom.Team": "Payments"}, {"Custom.Team": "required_field_1"})
    assert cf.parse_choices({}) == cf.Choices()
    for values, field in (({"priority": "high"}, "'priority'"), ({"parent": "twelve"}, "'parent'"),
                          ({"required_field_2": "Payments"}, "'required_field_2'"), ({"tags": ["a"]}, "'tags'"),
                          ({"tags": ";".join(f"t{n}" for n in range(30))}, "'tags'")):
        with pytest.raises(FormError, match=field):
            cf.parse_choices(values)


def test_choices_are_checked_against_the_definition(ado: AdoClient) -> None:
    bug = definitions(ado, "Custom", "Bug")
    good = cf.Choices(iteration_path="custom\\sprint 1", priority=1, severity="3 - Medium",
                      fields={"Custom.Team": "Payments"}, slots={"Custom.Team": "required_field_1"})
    assert cf.choice_problems(good, bug, [], ["Custom", "Custom\\Sprint 1"], "Custom", "Bug") == []
    bad = cf.Choices(iteration_path="Custom\\Sprint 9", priority=7, severity="Meh",
                     fields={"Custom.Team": "Sales", "Custom.Nope": "x"},
                     slots={"Custom.Team": "required_field_1", "Custom.Nope": "required_field_2"})
    problems = "\n".join(cf.choice_problems(bad, bug, [], ["Custom"], "Custom", "Bug"))
    for fragment in ("'iteration_path': Custom has no iteration path 'Custom\\\\Sprint 9'",
                     "'priority': 7 is not one of 1, 2, 3, 4", "'severity': 'Meh' is not one of",
                     "'required_field_1': 'Sales' is not an allowed value of Team",
                     "'required_field_2': Custom.Nope is not a field Bug requires"):
        assert fragment in problems
    issue = definitions(ado, "Basic", "Issue")
    assert cf.choice_problems(cf.Choices(severity="2 - High"), issue, [], [], "Basic", "Issue") == [
        "'severity': Issue in Basic has no Severity field"]


def test_settings_carry_the_choices_to_the_planner_and_a_refusal_names_the_form_field() -> None:
    choices = cf.parse_choices({"tags": "a;b", "priority": "2", "parent": "7",
                                "required_field_1": "Custom.Team=Payments"})
    assert cf.settings_of(choices) == [{"name": "tags", "value": "a; b"}, {"name": "priority", "value": 2},
                                       {"name": "parent", "value": 7},
                                       {"name": "required_field_1", "value": "Custom.Team=Payments"}]
    assert cf.parse_choices({s["name"]: s["value"] for s in cf.settings_of(choices)}) == choices
    assert cf.form_field_of("System.IterationPath", choices) == "iteration_path"
    assert cf.form_field_of("Custom.Team", choices) == "required_field_1"
    assert cf.form_field_of("Custom.Other", choices) == "Custom.Other"


def test_assignee_options_are_people_by_the_name_ado_assigns() -> None:
    records = [{"providerDisplayName": "Ava Chen", "properties": {"Account": {"$value": "ava@contoso.com"},
                                                                  "Mail": {"$value": "ava@contoso.com"}}},
               {"providerDisplayName": "Ava Chen", "properties": {"Account": {"$value": "ava"},
                                                                  "Domain": {"$value": "CONTOSO"}}},
               {"providerDisplayName": "Admins", "isContainer": True, "properties": {"Account": {"$value": "x"}}}]
    assert cf.assignee_options(records) == [{"label": "Ava Chen <ava@contoso.com>", "value": "ava@contoso.com"},
                                            {"label": "Ava Chen <CONTOSO\\ava>", "value": "CONTOSO\\ava"}]
