"""ADO's error body (WrappedException) and the errors the emulator raises, as plain data.

Shape per the official Python client's ``WrappedException`` model and real captures cited in
shared/reference/azure-devops-api.md §3.1: ``$id``, ``innerException``, ``message``, ``typeName``,
``typeKey``, ``errorCode``, ``eventId`` (and ``customProperties`` when there are any).
"""

from __future__ import annotations

from typing import Any

_NAMESPACES = {
    "UnauthorizedRequestException": "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, "
                                    "Microsoft.TeamFoundation.Framework.Server",
}
_VSS = "Microsoft.VisualStudio.Services.WebApi.{0}, Microsoft.VisualStudio.Services.WebApi"
_WIT = "Microsoft.TeamFoundation.WorkItemTracking.Server.{0}, Microsoft.TeamFoundation.WorkItemTracking.Server"


class AdoError(Exception):
    """A request the real service would refuse: HTTP status plus WrappedException fields."""

    def __init__(self, status: int, type_key: str, message: str, error_code: int = 0,
                 event_id: int = 3000, custom: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type_key = type_key
        self.message = message
        self.error_code = error_code
        self.event_id = event_id
        self.custom = custom

    def body(self) -> dict[str, Any]:
        if self.type_key in _NAMESPACES:
            type_name = _NAMESPACES[self.type_key]
        elif self.type_key.startswith("Vss"):
            type_name = _VSS.format(self.type_key)
        else:
            type_name = _WIT.format(self.type_key)
        out: dict[str, Any] = {"$id": "1"}
        if self.custom:
            out["customProperties"] = self.custom
        out.update({"innerException": None, "message": self.message, "typeName": type_name,
                    "typeKey": self.type_key, "errorCode": self.error_code, "eventId": self.event_id})
        return out


def throttled(resource: str = "ATCPU") -> AdoError:
    """429 once an identity is blocked (learn.microsoft.com/azure/devops/integrate/concepts/rate-limits)."""
    return AdoError(429, "RequestBlockedException",
                    "TF400733: The request has been canceled: Request was blocked due to exceeding usage "
                    f"of resource '{resource}' in namespace 'User'.")


def bad_request(message: str, type_key: str = "VssServiceException", code: int = 0) -> AdoError:
    return AdoError(400, type_key, message, code)


def missing_api_version(method: str) -> AdoError:
    return AdoError(400, "VssVersionNotSpecifiedException",
                    f'No api-version was supplied for the "{method}" request. An api-version must be '
                    "supplied with the request.")


def unsupported_content_type(content_type: str, method: str, accepted: tuple[str, ...]) -> AdoError:
    return AdoError(415, "VssRequestContentTypeNotSupportedException",
                    f'The request indicated a Content-Type of "{content_type}" for method type "{method}" '
                    f"which is not supported. Valid content types for this method are: "
                    f"{', '.join(accepted)}.")


def unauthorized() -> AdoError:
    return AdoError(401, "UnauthorizedRequestException",
                    "TF400813: The user '' is not authorized to access this resource.")


def preview_required(version: str) -> AdoError:
    return AdoError(400, "VssInvalidPreviewVersionException",
                    f'The requested version "{version}" of the resource is under preview. The -preview '
                    "flag must be supplied in the api-version for such requests. For example: "
                    f'"{version}-preview"')


def work_item_not_found(wid: int | str) -> AdoError:
    return AdoError(404, "WorkItemNotFoundException",
                    f"TF401232: Work item {wid} does not exist, or you do not have permissions to read it.",
                    600152)


def rule_error(field: str, problem: str) -> AdoError:
    custom = {"RuleValidationErrors": [{"fieldReferenceName": field, "fieldStatusFlags": "required, "
                                        "hasValues, limitedToValues", "errorMessage": problem}]}
    return AdoError(400, "RuleValidationException",
                    f"TF401320: Rule Error for field {field.split('.')[-1]}. Error code: Required, "
                    f"HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty. {problem}",
                    600171, 3200, custom)


def invalid_patch(message: str) -> AdoError:
    return AdoError(400, "PatchOperationFailedException", message, 0, 3000)


def stale_rev(path: str, expected: Any, actual: Any) -> AdoError:
    return AdoError(412, "TestPatchOperationFailedException",
                    f"VS403351: Test Operation for path {path} failed, value {actual} was not equal to "
                    f"test value {expected}.", 0, 3000)
