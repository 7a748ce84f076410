"""Azure DevOps Server (on-premises) as it differs from Services, for ``AdoEmulator(server=True)``.

- The base URL is a collection URL, ``https://host/tfs/DefaultCollection`` (the ``/tfs`` virtual
  directory of upgraded installs; MicrosoftDocs/vsts-rest-api-specs ``azure-devops-server-7.1``
  specs: ``https://{instance}/{collection}``), and connectionData says ``deploymentType: onPremises``.
- People are Active Directory accounts: ``uniqueName`` is ``DOMAIN\\user`` and there is no email,
  so hooks carry ``"Jamal Hartnett <CONTOSO\\jamal>"``.
- No Markdown: work item fields take HTML only (no ``/multilineFieldsFormat``) and the comments API
  ignores ``format=markdown`` and stores HTML.
- A localized installation (here German) names the stock processes' states in its language; the
  state *categories* stay the same, which is why the app maps by category.
- API 7.1 on Azure DevOps Server 2022.1 and later, as on Services.
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.ado.identities import Identity
from sandbox.ado.processes import AGILE, BASIC, CMMI, CUSTOM, SCRUM, ProcessDef, WorkItemTypeDef
from sandbox.ado.seed import PEOPLE, PROJECTS

COLLECTION = "DefaultCollection"
VIRTUAL_DIRECTORY = "/tfs"
DOMAIN = "CONTOSO"

# The stock processes' state names in a German installation.
GERMAN_STATES = {
    "New": "Neu", "Active": "Aktiv", "Resolved": "Gelöst", "Closed": "Geschlossen", "Removed": "Entfernt",
    "To Do": "Zu erledigen", "Doing": "In Bearbeitung", "Done": "Fertig", "Approved": "Genehmigt",
    "Committed": "Zugesagt", "In Progress": "In Bearbeitung", "Proposed": "Vorgeschlagen", "Open": "Offen",
}


def domain_account(person: Identity) -> Identity:
    """The same person as an Active Directory account: ``ava@contoso.com`` -> ``CONTOSO\\ava``."""
    return Identity(person.display_name, f"{DOMAIN}\\{person.unique_name.split('@', 1)[0]}")


def _localized(process: ProcessDef) -> ProcessDef:
    def wit(t: WorkItemTypeDef) -> WorkItemTypeDef:
        return replace(t, states=tuple((GERMAN_STATES.get(name, name), cat) for name, cat in t.states))
    return replace(process, types=tuple(wit(t) for t in process.types))


PROCESSES = {p.name: _localized(p) for p in (AGILE, BASIC, SCRUM, CMMI, CUSTOM)}
SERVER_PEOPLE = tuple(domain_account(p) for p in PEOPLE)
SERVER_BRIDGE = SERVER_PEOPLE[0]
# The directory's mail attribute: set for the people, not for the bridge's service account.
SERVER_MAIL = {domain_account(p).unique_name: p.unique_name for p in PEOPLE[1:]}
SERVER_PROJECTS = tuple(replace(p, process=PROCESSES[p.process.name]) for p in PROJECTS)
