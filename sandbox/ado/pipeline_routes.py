"""Build and Git endpoints, pushes and pipeline runs: the imperative side of ``pipelines``.

Mixed into ``AdoEmulator``; relies on its ``project``, ``now``, ``person``, ``base_url``,
``subscriptions`` and ``_deliver``. Python methods act as Azure Repos/Pipelines would: push commits,
queue a run, finish a stage, finish a run, finish a classic release deployment (each firing the
hook the service sends).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sandbox.ado import hooks
from sandbox.ado.errors import AdoError
from sandbox.ado.identities import Identity
from sandbox.ado.pipelines import (
    Build,
    Commit,
    Repository,
    build_number,
    commit_sha,
    commits_between,
    files_at,
    folders_of,
    render_build,
    render_changes,
    render_commit,
    repositories_resource,
    resolve_version,
    run_resource,
)

MAX_TOP = 50000
# A repository every fresh emulator has, so stack-trace links have files to find (Shop, branch main).
SEEDED_REPOSITORY = ("Shop", "shop-api")
SEEDED_FILES = ("/README.md", "/src/shop/__init__.py", "/src/shop/api/__init__.py", "/src/shop/api/orders.py",
                "/src/shop/api/payments.py", "/src/Shop.Web/Controllers/CartController.cs", "/web/src/cart.ts")


class PipelineRoutes:
    repos: dict[str, Repository]
    builds: dict[int, Build]

    def _pipelines_reset(self: Any) -> None:
        self.repos = {}
        self.builds = {}
        self._next_build = 1
        project, name = SEEDED_REPOSITORY
        if project.lower() in self.projects:
            self.push_commits(project, name, [{"message": "Initial import", "author": self.bridge,
                                               "date": "2026-01-05T09:00:00Z",
                                               "changes": [{"changeType": "add", "path": f} for f in SEEDED_FILES]}])

    def _pipeline_handlers(self: Any) -> dict[str, Any]:
        return {"Builds_Get": self._get_build, "Commits_Get Commits Batch": self._commits_batch,
                "Commits_Get": self._get_commit, "Commits_Get Changes": self._get_changes,
                "Items_List": self._items, "Items_Get": self._items,
                "Repositories_Get Repository": self._get_repository, "Refs_List": self._refs,
                "Repositories_List": self._list_repositories}

    # ----- Python API -----------------------------------------------------------------------
    def repository(self: Any, project: str, name: str, create: bool = False) -> Repository:
        proj = self.project(project)
        key = f"{proj.id}/{name.lower()}"
        found = self.repos.get(key) or next((r for r in self.repos.values()
                                             if r.project_id == proj.id and r.id == name.lower()), None)
        if found is None and create:

            found = Repository(str(uuid.uuid5(uuid.UUID(proj.id), name.lower())), name, proj.id)
            self.repos[key] = found
        if found is None:
            raise AdoError(404, "GitRepositoryNotFoundException",
                           f"TF401019: The Git repository with name or identifier {name} does not exist or you do "
                           "not have permissions for the operation you are attempting.")
        return found

    def push_commits(self: Any, project: str, repo: str, commits: list[dict[str, Any]],
                     branch: str = "main") -> list[str]:
        """Append commits to ``branch`` (created with the repo if new); returns their ids, oldest first.

        Each commit: ``{"message": str, "author": "Name <email>", "changes": [{"changeType", "path"}]}``.
        """
        with self._state_lock:
            repository = self.repository(project, repo, create=True)
            parent = repository.heads.get(branch)
            shas = []
            for spec in commits:
                if not isinstance(spec, dict) or not spec.get("message"):
                    raise ValueError("each commit needs a non-empty 'message'")
                author: Identity = self.person(spec.get("author") or "Jamal Hartnett <jamal@contoso.com>")
                date = spec.get("date") or self.now()
                changes = tuple((c["changeType"], c["path"]) for c in spec.get("changes") or ())
                sha = commit_sha(parent, author, date, spec["message"])
                repository.commits[sha] = Commit(sha, (parent,) if parent else (), author, date, spec["message"],
                                                 changes)
                parent = sha
                shas.append(sha)
            if parent:
                repository.heads[branch] = parent
            return shas

    def queue_run(self: Any, project: str, repo: str, source_version: str | None = None, branch: str = "main",
                  pipeline: str = "CI", reason: str = "individualCI") -> int:
        """Start a pipeline run (= build) of ``source_version`` (default: branch head); returns its id."""
        with self._state_lock:
            repository = self.repository(project, repo)
            sha = source_version or repository.heads.get(branch)
            if sha not in repository.commits:
                raise ValueError(f"commit {sha!r} is not in repository {repo!r}")
            proj = self.project(project)
            queued = self.now()
            today = sum(1 for b in self.builds.values() if b.pipeline == pipeline and b.queue_time[:10] == queued[:10])
            build = Build(self._next_build, proj.id, proj.name, repository, sha, branch, pipeline, reason, queued,
                          build_number(queued, today))
            self._next_build += 1
            self.builds[build.id] = build
            return build.id

    def complete_stage(self: Any, build_id: int, stage: str, result: str = "succeeded",
                       display_name: str | None = None) -> None:
        """Fire ms.vss-pipelines.stage-state-changed-event (state completed) for one stage.

        ``stage`` is the YAML ``stage:`` identifier (what ``stageNameId`` filters on), shown as
        ``stage.name``; ``display_name`` its ``displayName:`` (null when the YAML gives none, as in
        the docs' sample). The stage started when the previous one finished (or the run was
        queued) and finishes now; both times are in the event."""
        with self._state_lock:
            build = self._build(build_id)
            started, finished = build.stage_finished or build.queue_time, self.now()
            build.stage_finished = finished
            resource = {"stage": {"_links": {"web": {"href": f"{self.base_url}/{build.project_id}/_build/results?"
                                                             f"buildId={build.id}"}},
                                  "id": f"{build.id}-{stage}", "name": stage, "displayName": display_name,
                                  "state": "completed", "result": result, "startTime": started,
                                  "finishTime": finished},
                        **run_resource(build, self.base_url),
                        "repositories": repositories_resource(build, self.base_url)}
            text = f"Run {build.build_number} stage {display_name or stage} {result}."
            self._fire_pipeline("ms.vss-pipelines.stage-state-changed-event", build, resource, text,
                                {"pipelineId": "1", "stageNameId": stage, "stageStateId": "Completed",
                                 "stageResultId": result})

    def complete_run(self: Any, build_id: int, result: str = "succeeded") -> None:
        """Finish the build and fire ms.vss-pipelines.run-state-changed-event."""
        with self._state_lock:
            build = self._build(build_id)
            build.status, build.result, build.finish_time = "completed", result, self.now()
            text = f"Run {build.build_number} {result}."
            resource = {**run_resource(build, self.base_url),
                        "repositories": repositories_resource(build, self.base_url)}
            self._fire_pipeline("ms.vss-pipelines.run-state-changed-event", build, resource, text,
                                {"pipelineId": "1", "runStateId": "Completed", "runResultId": result})

    def complete_deployment(self: Any, build_id: int, environment: str, status: str = "succeeded") -> None:
        """Fire ms.vss-release.deployment-completed-event for a classic release of this build.

        ``resource`` carries both documented layouts: ``environment`` + ``project`` (2022 sample)
        and ``deployment`` (2025 sample), so a client reading either path is served.
        """
        with self._state_lock:
            build = self._build(build_id)
            release = {"id": build.id, "name": f"Release-{build.id}",
                       "url": f"{self.base_url}/{build.project_id}/_apis/Release/releases/{build.id}"}
            env = {"id": build.id * 10, "name": environment, "status": status, "definitionEnvironmentId": 1,
                   "release": release}
            resource = {"environment": env, "project": {"id": build.project_id, "name": build.project_name},
                        "deployment": {"id": build.id, "status": status, "release": release,
                                       "environment": {"id": env["id"], "name": environment}}}
            codes = {"succeeded": "4", "canceled": "8", "rejected": "16", "partiallySucceeded": "128"}
            self._fire_pipeline("ms.vss-release.deployment-completed-event", build, resource,
                                f"Deployment of release Release-{build.id} on environment {environment} {status}.",
                                {"releaseEnvironmentStatus": codes.get(status, ""), "releaseDefinitionId": "1"})

    # ----- internals --------------------------------------------------------------------------
    def _build(self: Any, build_id: int | str) -> Build:
        build = self.builds.get(int(build_id))
        if build is None:
            raise AdoError(404, "BuildNotFoundException", f"Build {build_id} was not found.")
        return build

    def _fire_pipeline(self: Any, event: str, build: Build, resource: dict[str, Any], text: str,
                       attributes: dict[str, str]) -> None:
        for sub in list(self.subscriptions.values()):
            if sub.status not in hooks.DELIVERING or sub.event_type != event:
                continue
            inputs = sub.publisher_inputs
            if inputs.get("projectId") and inputs["projectId"].lower() != build.project_id:
                continue
            if any(v and k in attributes and v.lower() != attributes[k].lower() for k, v in inputs.items()):
                continue
            self._deliver(sub, event, resource, text, text, self._containers(build.project_id))

    def _repo_urls(self: Any, repo: Repository) -> tuple[str, str]:
        return (f"{self.base_url}/{repo.project_id}/_apis/git/repositories/{repo.id}",
                f"{self.base_url}/{repo.project_id}/_git/{repo.name}")

    def _list_repositories(self: Any, call: Any) -> dict[str, Any]:
        """GitRepository objects of one project (git 7.1 spec: id, name, project, url, defaultBranch)."""
        proj = self.project(call.values.get("project"))
        repos = sorted((r for r in self.repos.values() if r.project_id == proj.id), key=lambda r: r.name.lower())
        return self._collection([{"id": r.id, "name": r.name, "url": f"{self.base_url}/{proj.id}/_apis/git/"
                                  f"repositories/{r.id}", "project": {"id": proj.id, "name": proj.name},
                                  "defaultBranch": "refs/heads/main", "remoteUrl": f"{self.base_url}/{proj.name}/"
                                  f"_git/{r.name}"} for r in repos])

    def _get_build(self: Any, call: Any) -> dict[str, Any]:
        self.project(call.values["project"])
        return render_build(self._build(call.values["buildId"]), self.base_url)

    def _commits_batch(self: Any, call: Any) -> Any:
        repo = self.repository(call.values["project"], call.values["repositoryId"])
        body = call.body or {}
        item = resolve_version(repo, body.get("itemVersion"), "itemVersion")
        compare = resolve_version(repo, body.get("compareVersion"), "compareVersion")
        if body.get("ids"):
            picked = [repo.commits[i] for i in body["ids"] if i in repo.commits]
        else:
            picked = commits_between(repo, item, compare)
        top = int(call.query.get("$top", body.get("$top") or 100))
        skip = int(call.query.get("$skip", body.get("$skip") or 0))
        if top > MAX_TOP or top < 0 or skip < 0:
            raise AdoError(400, "ArgumentOutOfRangeException", f"$top must be 0-{MAX_TOP} and $skip >= 0.")
        repo_url, web = self._repo_urls(repo)
        return self._collection([render_commit(c, repo, repo_url, web, False) for c in picked[skip:skip + top]])

    def _commit(self: Any, call: Any) -> tuple[Repository, Commit]:
        repo = self.repository(call.values["project"], call.values["repositoryId"])
        commit = repo.commits.get(call.values["commitId"].lower())
        if commit is None:
            raise AdoError(404, "GitItemNotFoundException",
                           f"TF401175: The commit {call.values['commitId']} was not found in {repo.name}.")
        return repo, commit

    def _get_commit(self: Any, call: Any) -> dict[str, Any]:
        repo, commit = self._commit(call)
        repo_url, web = self._repo_urls(repo)
        return render_commit(commit, repo, repo_url, web, True, int(call.query.get("changecount", 0)))

    def _get_changes(self: Any, call: Any) -> dict[str, Any]:
        repo, commit = self._commit(call)
        out = render_changes(commit, self._repo_urls(repo)[0])
        skip, top = int(call.query.get("skip", 0)), int(call.query.get("top", 100))
        out["changes"] = out["changes"][skip:skip + top]
        return out

    # ----- Azure Repos items, repositories, refs ------------------------------------------------
    def _call_repo(self: Any, call: Any) -> Repository:
        return self.repository(call.values.get("project") or "", call.values["repositoryId"])

    def _render_repository(self: Any, repo: Repository) -> dict[str, Any]:
        api, web = self._repo_urls(repo)
        proj = self.project(repo.project_id)
        return {"id": repo.id, "name": repo.name, "url": api, "remoteUrl": web, "webUrl": web,
                "defaultBranch": "refs/heads/main" if "main" in repo.heads else None,
                "project": {"id": proj.id, "name": proj.name}, "size": 0, "isDisabled": False}

    def _get_repository(self: Any, call: Any) -> dict[str, Any]:
        return self._render_repository(self._call_repo(call))

    def _refs(self: Any, call: Any) -> dict[str, Any]:
        """Refs whose name starts with ``refs/{filter}`` (a prefix, as the service matches it)."""
        repo = self._call_repo(call)
        prefix = "refs/" + call.query.get("filter", "")
        refs = [{"name": f"refs/heads/{b}", "objectId": sha, "url": f"{self._repo_urls(repo)[0]}/refs?filter=heads"
                 f"%2F{b}"} for b, sha in sorted(repo.heads.items()) if f"refs/heads/{b}".startswith(prefix)]
        return {"count": len(refs), "value": refs}

    def _items(self: Any, call: Any) -> dict[str, Any]:
        """``Items_Get`` (``path``: one item) and ``Items_List`` (``scopePath``) share this route
        (the spec's x-ms-paths variant); a version resolving to no commit is TF401175, a path not at
        that commit TF401174."""
        repo = self._call_repo(call)
        kind = (call.query.get("versiondescriptor.versiontype") or "branch").lower()
        version = call.query.get("versiondescriptor.version") or ("main" if kind == "branch" else "")
        sha = resolve_version(repo, {"versionType": kind, "version": version}, "versionDescriptor")
        files = files_at(repo, sha)
        folders = folders_of(files)
        api = self._repo_urls(repo)[0]

        def item(path: str) -> dict[str, Any]:
            is_folder = path in folders
            out = {"objectId": hashlib.sha1(f"{sha}:{path}".encode(), usedforsecurity=False).hexdigest(),
                   "gitObjectType": "tree" if is_folder else "blob", "commitId": sha, "path": path,
                   "url": f"{api}/items?path={path}&versionType=Branch&version={version}"}
            return out | ({"isFolder": True} if is_folder else {})

        wanted = call.query.get("path") or call.query.get("scopepath") or "/"
        wanted = "/" + wanted.strip("/") if wanted.strip("/") else "/"
        if wanted not in files and wanted not in folders:
            label = {"branch": "Branch", "commit": "Commit", "tag": "Tag"}.get(kind, kind)
            raise AdoError(404, "GitItemNotFoundException",
                           f"TF401174: The item '{wanted}' could not be found in the repository '{repo.name}' at the "
                           f"version specified by '<{label}: {version} >' (resolved to commit '{sha}').")
        if call.query.get("path"):
            return item(wanted)
        level = (call.query.get("recursionlevel") or "none").lower()
        below = sorted(p for p in files | folders if p != wanted and p.startswith(wanted.rstrip("/") + "/"))
        if level == "onelevel":
            below = [p for p in below if "/" not in p[len(wanted.rstrip("/")) + 1:]]
        elif level not in ("full", "onelevelpluscontentsfirstchild"):
            below = []
        values = [item(wanted)] + [item(p) for p in below]
        return {"count": len(values), "value": values}
