"""poet-client: the Python client of the POET enhancement service (standard library only, Python >= 3.9).

    from poet_client import Client
    poet = Client("http://127.0.0.1:8080", api_key)
    result = poet.enhance(open("ratio.py").read())        # EnhanceResult: .python, .version, .metadata
    poet.feedback(result.function_name, result.version, "performance", metrics={"success_rate": 0.97})
"""

from .client import Client, Run
from .errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PoetConnectionError,
    PoetError,
    RateLimited,
    RunFailed,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)
from .models import (
    Diff,
    EnhanceResult,
    FeedbackResult,
    Metadata,
    Resolution,
    Rollout,
    RolloutStarted,
    RunRef,
    RunStatus,
    Stage,
    VersionDetail,
    VersionList,
    VersionMetrics,
    VersionOutcomes,
    VersionSummary,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Run",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "PoetConnectionError",
    "PoetError",
    "RateLimited",
    "RunFailed",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "Unprocessable",
    "Diff",
    "EnhanceResult",
    "FeedbackResult",
    "Metadata",
    "Resolution",
    "Rollout",
    "RolloutStarted",
    "RunRef",
    "RunStatus",
    "Stage",
    "VersionDetail",
    "VersionList",
    "VersionMetrics",
    "VersionOutcomes",
    "VersionSummary",
]
