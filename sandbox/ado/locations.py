"""The resource locations ``OPTIONS {org}/_apis`` returns, so the official Python client can route.

The client (microsoft/azure-devops-python-api ``client.py``) looks up each call's location id in
this list to build the URL from ``routeTemplate`` and to negotiate the api-version. Ids are the
public location ids the client uses; templates follow the spec routes.
"""

from __future__ import annotations

from typing import Any

# (location id, area, resource name, route template, resource version, released version)
LOCATIONS: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData", "_apis/{resource}", 1, "0.0"),
    ("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}", 1, "0.0"),
    ("603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects", "_apis/{resource}/{*projectId}", 4, "7.1"),
    ("62d3d110-0047-428c-ad3c-4fe872c91c74", "wit", "workItems", "{project}/_apis/{area}/{resource}/${type}", 3,
     "7.1"),
    ("72c7ddf8-2cdc-4f60-90cd-ab71c14a399b", "wit", "workItems", "{project}/_apis/{area}/{resource}/{id}", 3, "7.1"),
    ("908509b6-4248-4475-a1cd-829139ba419f", "wit", "workItemsBatch", "{project}/_apis/{area}/{resource}", 1,
     "7.1"),
    ("1a9c53f7-f243-4447-b110-35ef023636e4", "wit", "wiql", "{project}/{team}/_apis/{area}/{resource}", 2, "7.1"),
    ("608aac0a-32e1-4493-a863-b9cf4566d257", "wit", "comments",
     "{project}/_apis/{area}/workItems/{workItemId}/{resource}/{commentId}", 4, "0.0"),
    ("7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa", "wit", "workItemTypes", "{project}/_apis/{area}/{resource}/{type}", 2,
     "7.1"),
    ("7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa", "wit", "workItemTypeStates",
     "{project}/_apis/{area}/workitemtypes/{type}/states", 1, "7.1"),
    ("bd293ce5-3d25-4192-8e67-e8092e879efb", "wit", "workItemTypesField",
     "{project}/_apis/{area}/workitemtypes/{type}/fields/{field}", 3, "7.1"),
    ("b51fd764-e5c2-4b9b-aaf7-3395cf4bdd94", "wit", "fields", "{project}/_apis/{area}/{resource}/{fieldNameOrRefName}",
     3, "7.1"),
    ("5a172953-1b41-49d3-840a-33f79c3ce89f", "wit", "classificationNodes",
     "{project}/_apis/{area}/{resource}/{structureGroup}/{*path}", 2, "7.1"),
    ("a70579d1-f53a-48ee-a5be-7be8659023b9", "wit", "classificationNodes", "{project}/_apis/{area}/{resource}", 2,
     "7.1"),
    ("b70d8d39-926c-465e-b927-b1bf0e5ca0e0", "wit", "recycleBin", "{project}/_apis/{area}/{resource}/{id}", 2, "7.1"),
    ("6570bf97-d02c-4a91-8d93-3abe9895b1a9", "wit", "updates",
     "{project}/_apis/{area}/workItems/{id}/{resource}/{updateNumber}", 3, "7.1"),
    ("a00c85a5-80fa-4565-99c3-bcd2181434bb", "wit", "revisions",
     "{project}/_apis/{area}/workItems/{id}/{resource}/{revisionNumber}", 3, "7.1"),
    ("fc50d02a-849f-41fb-8af1-0a5216103269", "hooks", "subscriptions", "_apis/{area}/{resource}/{subscriptionId}", 1,
     "7.1"),
    ("0cd358e1-9217-4d94-8269-1c1ee6f93dcf", "build", "builds", "{project}/_apis/{area}/{resource}/{buildId}", 7,
     "7.1"),
    ("6400dfb2-0bcb-462b-b992-5a57f8f1416c", "git", "commitsBatch",
     "{project}/_apis/{area}/repositories/{repositoryId}/{resource}", 1, "7.1"),
    ("c2570c3b-5b3f-41b8-98bf-5407bfde8d58", "git", "commits",
     "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{commitId}", 1, "7.1"),
)


def resource_locations() -> list[dict[str, Any]]:
    return [{"id": lid, "area": area, "resourceName": name, "routeTemplate": route,
             "resourceVersion": version, "minVersion": 1.0, "maxVersion": 7.1, "releasedVersion": released}
            for lid, area, name, route, version, released in LOCATIONS]
