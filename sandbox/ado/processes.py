"""Process templates as the real service reports them: work item types, states, categories, fields.

States and categories follow Microsoft's "workflow and state categories" table
(docs/boards/work-items/workflow-and-state-categories.md) and the official states example
(vsts-rest-api-specs wit/7.1/httpExamples/workItemTypeStates: Agile Bug = New, Active, Resolved,
Closed; the Agile Bug has no Removed state). Severity exists on Bug (Agile/Scrum/CMMI), Issue and
Risk (CMMI) only; Basic has no Bug type and no Severity (docs planning-ranking-priorities.md).
Repro Steps is a Bug-only HTML field (field reference). Colors are the ones the service returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COLORS = {"Proposed": "b2b2b2", "InProgress": "007acc", "Resolved": "ff9d00",
          "Completed": "339933", "Removed": "ffffff"}


@dataclass(frozen=True)
class FieldDef:
    """One work item field: reference name, display name, REST type, allowed values, read-only."""

    ref: str
    name: str
    type: str  # string | integer | double | dateTime | html | plainText | treePath | identity | boolean
    allowed: tuple[str | int, ...] = ()
    read_only: bool = False


@dataclass(frozen=True)
class WorkItemTypeDef:
    name: str
    states: tuple[tuple[str, str], ...]  # (state name, category), in workflow order
    extra_fields: tuple[str, ...] = ()
    description: str = ""
    # Fields the type's rules require (``<REQUIRED />``), with the default the service fills in on
    # create (``<DEFAULT>``), or None: then a create without a value is refused (TF401320).
    required: tuple[tuple[str, str | int | None], ...] = ()

    @property
    def initial_state(self) -> str:
        return self.states[0][0]

    def category_of(self, state: str) -> str | None:
        return next((cat for name, cat in self.states if name == state), None)


@dataclass(frozen=True)
class ProcessDef:
    name: str
    type_id: str  # the process template type id the service reports
    types: tuple[WorkItemTypeDef, ...]
    parent: str | None = None
    custom_fields: tuple[FieldDef, ...] = field(default_factory=tuple)

    def type_named(self, name: str) -> WorkItemTypeDef | None:
        return next((t for t in self.types if t.name.lower() == name.lower()), None)


SEVERITIES = ("1 - Critical", "2 - High", "3 - Medium", "4 - Low")
VALUE_AREAS = ("Architectural", "Business")
REQUIREMENT_TYPES = ("Scenario", "Quality of Service", "Functional", "Operational", "Interface", "Security",
                     "Safety", "Business Objective", "Feature")
TEAMS = ("Checkout", "Payments", "Platform")  # the inherited process's custom picklist

FIELDS: dict[str, FieldDef] = {f.ref: f for f in (
    FieldDef("System.Id", "ID", "integer", read_only=True),
    FieldDef("System.Rev", "Rev", "integer", read_only=True),
    FieldDef("System.Title", "Title", "string"),
    FieldDef("System.State", "State", "string"),
    FieldDef("System.Reason", "Reason", "string"),
    FieldDef("System.AssignedTo", "Assigned To", "identity"),
    FieldDef("System.Tags", "Tags", "plainText"),
    FieldDef("System.AreaPath", "Area Path", "treePath"),
    FieldDef("System.IterationPath", "Iteration Path", "treePath"),
    FieldDef("System.TeamProject", "Team Project", "string", read_only=True),
    FieldDef("System.WorkItemType", "Work Item Type", "string"),
    FieldDef("System.Description", "Description", "html"),
    FieldDef("System.History", "History", "history"),
    FieldDef("System.CreatedDate", "Created Date", "dateTime", read_only=True),
    FieldDef("System.CreatedBy", "Created By", "identity", read_only=True),
    FieldDef("System.ChangedDate", "Changed Date", "dateTime", read_only=True),
    FieldDef("System.ChangedBy", "Changed By", "identity", read_only=True),
    FieldDef("System.CommentCount", "Comment Count", "integer", read_only=True),
    FieldDef("Microsoft.VSTS.Common.StateChangeDate", "State Change Date", "dateTime", read_only=True),
    FieldDef("Microsoft.VSTS.Common.Priority", "Priority", "integer", allowed=(1, 2, 3, 4)),
    FieldDef("Microsoft.VSTS.Common.Severity", "Severity", "string", allowed=SEVERITIES),
    FieldDef("Microsoft.VSTS.TCM.ReproSteps", "Repro Steps", "html"),
    FieldDef("Microsoft.VSTS.TCM.SystemInfo", "System Info", "html"),
    FieldDef("Microsoft.VSTS.Common.AcceptanceCriteria", "Acceptance Criteria", "html"),
    FieldDef("Microsoft.VSTS.Common.ValueArea", "Value Area", "string", allowed=VALUE_AREAS),
    FieldDef("Microsoft.VSTS.CMMI.RequirementType", "Requirement Type", "string", allowed=REQUIREMENT_TYPES),
    FieldDef("Custom.Team", "Team", "string", allowed=TEAMS),
)}

COMMON_FIELDS = (
    "System.Id", "System.Rev", "System.Title", "System.State", "System.Reason", "System.AssignedTo",
    "System.Tags", "System.AreaPath", "System.IterationPath", "System.TeamProject",
    "System.WorkItemType", "System.Description", "System.History", "System.CreatedDate",
    "System.CreatedBy", "System.ChangedDate", "System.ChangedBy", "System.CommentCount",
    "Microsoft.VSTS.Common.StateChangeDate",
)
PRIO = "Microsoft.VSTS.Common.Priority"
SEV = "Microsoft.VSTS.Common.Severity"
BUG_FIELDS = (PRIO, SEV, "Microsoft.VSTS.TCM.ReproSteps", "Microsoft.VSTS.TCM.SystemInfo")
VALUE_AREA = "Microsoft.VSTS.Common.ValueArea"
STORY_FIELDS = (PRIO, "Microsoft.VSTS.Common.AcceptanceCriteria", VALUE_AREA)
# Requirement-category and portfolio types require Value Area (default Business); CMMI's Requirement
# also Requirement Type (default Functional): MicrosoftDocs/azure-devops-docs
# docs/reference/add-wits-to-backlogs-and-boards.md (the stock definitions' <REQUIRED /> and <DEFAULT>).
# Every type requires System.Title, which has no default.
_VALUE_AREA = ((VALUE_AREA, "Business"),)
PORTFOLIO_FIELDS = (PRIO, VALUE_AREA)

_P, _I, _R, _C, _X = "Proposed", "InProgress", "Resolved", "Completed", "Removed"

BASIC = ProcessDef("Basic", "b8a3a935-7e91-48b8-a94c-606d37c3e9f2", (
    WorkItemTypeDef("Epic", (("To Do", _P), ("Doing", _I), ("Done", _C)), (PRIO,)),
    WorkItemTypeDef("Issue", (("To Do", _P), ("Doing", _I), ("Done", _C)), (PRIO,)),
    WorkItemTypeDef("Task", (("To Do", _P), ("Doing", _I), ("Done", _C)), (PRIO,)),
))

_AGILE_BUG = WorkItemTypeDef("Bug", (("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)),
                             BUG_FIELDS)
AGILE = ProcessDef("Agile", "adcc42ab-9882-485e-a3ed-7678f01f66bc", (
    _AGILE_BUG,
    WorkItemTypeDef("User Story", (("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C),
                                   ("Removed", _X)), STORY_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Task", (("New", _P), ("Active", _I), ("Closed", _C), ("Removed", _X)), (PRIO,)),
    WorkItemTypeDef("Feature", (("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C),
                                ("Removed", _X)), PORTFOLIO_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Epic", (("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C),
                             ("Removed", _X)), PORTFOLIO_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Issue", (("Active", _I), ("Closed", _C)), (PRIO,)),
))

SCRUM = ProcessDef("Scrum", "6b724908-ef14-45cf-84f8-768b5384da45", (
    WorkItemTypeDef("Bug", (("New", _P), ("Approved", _P), ("Committed", _I), ("Done", _C),
                            ("Removed", _X)), BUG_FIELDS),
    WorkItemTypeDef("Product Backlog Item", (("New", _P), ("Approved", _P), ("Committed", _I),
                                             ("Done", _C), ("Removed", _X)), STORY_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Task", (("To Do", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)), (PRIO,)),
    WorkItemTypeDef("Feature", (("New", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)),
                    PORTFOLIO_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Epic", (("New", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)),
                    PORTFOLIO_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Impediment", (("Open", _I), ("Closed", _C)), (PRIO,)),
))

CMMI = ProcessDef("CMMI", "27450541-8e31-4150-9947-dc59f998fc01", (
    WorkItemTypeDef("Bug", (("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)),
                    BUG_FIELDS),
    WorkItemTypeDef("Requirement", (("Proposed", _P), ("Active", _I), ("Resolved", _I), ("Closed", _C)),
                    (*STORY_FIELDS, "Microsoft.VSTS.CMMI.RequirementType"),
                    required=(*_VALUE_AREA, ("Microsoft.VSTS.CMMI.RequirementType", "Functional"))),
    WorkItemTypeDef("Task", (("Proposed", _P), ("Active", _I), ("Resolved", _I), ("Closed", _C)), (PRIO,)),
    WorkItemTypeDef("Issue", (("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)),
                    (PRIO, SEV)),
    WorkItemTypeDef("Risk", (("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)),
                    (PRIO, SEV)),
    WorkItemTypeDef("Feature", (("Proposed", _P), ("Active", _I), ("Resolved", _I), ("Closed", _C),
                                ("Removed", _X)), PORTFOLIO_FIELDS, required=_VALUE_AREA),
    WorkItemTypeDef("Epic", (("Proposed", _P), ("Active", _I), ("Resolved", _I), ("Closed", _C),
                             ("Removed", _X)), PORTFOLIO_FIELDS, required=_VALUE_AREA),
))

# An inherited process as an organization would make one: Agile plus a custom "Triaged" state, and a
# custom picklist field "Team" its Bug requires with no default (the "Required" option of a custom
# field on the type's layout; Microsoft Learn, Azure Boards: "Add and manage fields for an inherited process").
CUSTOM = ProcessDef("Agile with Triage", "0d1e5c26-3b53-4e4b-9a3e-6f1c2d7a9b10", (
    WorkItemTypeDef("Bug", (("New", _P), ("Triaged", _I), ("Active", _I), ("Resolved", _R), ("Closed", _C)),
                    (*BUG_FIELDS, "Custom.Team"), required=(("Custom.Team", None),)),
    *AGILE.types[1:],
), parent="Agile")

PROCESSES: dict[str, ProcessDef] = {p.name: p for p in (BASIC, AGILE, SCRUM, CMMI, CUSTOM)}

# Default reasons the stock processes give when entering a state; custom states get the
# inherited-process wording "Moved to state X".
_REASONS = {"New": "New", "Active": "Implementation started", "Resolved": "Fixed", "Closed": "Verified",
            "Removed": "Removed from the backlog", "To Do": "Added to backlog", "Doing": "Started",
            "Done": "Work finished", "Proposed": "New", "Committed": "Commitment made by the team",
            "Approved": "Approved by the Product Owner", "In Progress": "Work started",
            "Open": "New impediment"}


def default_reason(state: str) -> str:
    """The Reason the service fills in when a change enters ``state`` without one."""
    return _REASONS.get(state, f"Moved to state {state}")


def fields_of(wit: WorkItemTypeDef) -> tuple[FieldDef, ...]:
    return tuple(FIELDS[ref] for ref in (*COMMON_FIELDS, *wit.extra_fields))


def required_fields(wit: WorkItemTypeDef) -> dict[str, str | int | None]:
    """What a create of this type must end with: Title (no default) and the type's required fields."""
    return {"System.Title": None, **dict(wit.required)}


def field_by_name(ref_or_name: str) -> FieldDef | None:
    """Fields may be addressed by reference name or display name, case-insensitively."""
    key = ref_or_name.lower()
    return next((f for f in FIELDS.values() if key in (f.ref.lower(), f.name.lower())), None)
