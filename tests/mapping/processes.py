"""Work item type states of the four stock processes and one inherited process, as test data.

From Microsoft's "workflow and state categories" table and the 7.1 states example; written out here
rather than imported from the sandbox so the mapping is tested against an independent statement.
"""

from shared.mapping.states import WorkItemState


def _states(*pairs: tuple[str, str]) -> tuple[WorkItemState, ...]:
    return tuple(WorkItemState(name, category) for name, category in pairs)


BASIC_ISSUE = _states(("To Do", "Proposed"), ("Doing", "InProgress"), ("Done", "Completed"))
AGILE_BUG = _states(("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed"))
AGILE_STORY = _states(("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"),
                      ("Closed", "Completed"), ("Removed", "Removed"))
SCRUM_BUG = _states(("New", "Proposed"), ("Approved", "Proposed"), ("Committed", "InProgress"),
                    ("Done", "Completed"), ("Removed", "Removed"))
CMMI_BUG = _states(("Proposed", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"),
                   ("Closed", "Completed"))
# An inherited Agile process with a custom "Triaged" state and a custom done state "Verified".
CUSTOM_BUG = _states(("New", "Proposed"), ("Triaged", "InProgress"), ("Active", "InProgress"),
                     ("Resolved", "Resolved"), ("Verified", "Completed"), ("Closed", "Completed"))

PROCESSES = {
    "Basic/Issue": ("Issue", BASIC_ISSUE),
    "Agile/Bug": ("Bug", AGILE_BUG),
    "Agile/User Story": ("User Story", AGILE_STORY),
    "Scrum/Bug": ("Bug", SCRUM_BUG),
    "CMMI/Bug": ("Bug", CMMI_BUG),
    "Custom/Bug": ("Bug", CUSTOM_BUG),
}
