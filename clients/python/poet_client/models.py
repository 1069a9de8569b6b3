"""Typed results: dataclasses built from the API's JSON. Keys the client does not know yet are ignored, so a newer
service does not break an older client; ``raw`` keeps the whole answer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

T = TypeVar("T")


def _known(cls: Type[T], data: Dict[str, Any], **nested: Any) -> T:
    """``cls`` from the keys of ``data`` it declares (``raw`` gets the whole dict), with ``nested`` already converted."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in names}
    values.update(nested)
    if "raw" in names:
        values["raw"] = data
    return cls(**values)


@dataclass(frozen=True)
class RunRef:
    workflow_id: str
    run_id: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RunRef":
        return _known(cls, data)


@dataclass(frozen=True)
class Stage:
    """One stage transition of a run: queued, cache, generate, validate, store, publish, completed (or failed, canceled)."""

    stage: str
    at: str
    detail: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Stage":
        return _known(cls, data)


@dataclass(frozen=True)
class Metadata:
    domain: str
    safety_level: str
    cache: str
    provider: str
    optimize_for: Optional[str] = None
    optimizations: List[str] = field(default_factory=list)
    enhancer_version: str = ""
    samples_run: int = 0
    params: Dict[str, Any] = field(default_factory=dict)
    fallback: bool = False
    attempts: List[Dict[str, Any]] = field(default_factory=list)
    usage: Dict[str, Any] = field(default_factory=dict)
    findings: List[Dict[str, Any]] = field(default_factory=list)
    #: The poet_runtime release the module imports (shipped beside the version as poet_runtime.py).
    runtime_version: Optional[str] = None
    #: What validation tried: inputs per source, how many agreed, its time.
    validation: Optional[Dict[str, Any]] = None
    #: Set when the function's active version answered (version, relation, trigger, parent_version, reason).
    lineage: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class EnhanceResult:
    """An enhancement: the enhanced module as Python and Dana, its version and how it was made."""

    function_name: str
    version: int
    python: str
    dana: str
    metadata: Metadata
    run: RunRef
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "EnhanceResult":
        code = data.get("enhanced_code", {})
        return _known(
            cls,
            data,
            python=code.get("python", ""),
            dana=code.get("dana", ""),
            metadata=_known(Metadata, data["metadata"]),
            run=RunRef.from_dict(data["run"]),
        )


@dataclass(frozen=True)
class FeedbackResult:
    """What feedback led to: ``accepted``, or ``requires_update`` with the ``new_version`` it made."""

    status: str
    version: int
    new_version: Optional[int] = None
    update_reason: Optional[str] = None
    duplicate: bool = False
    function_name: Optional[str] = None
    run: Optional[RunRef] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "FeedbackResult":
        run = data.get("run")
        return _known(cls, data, run=RunRef.from_dict(run) if run else None)


@dataclass(frozen=True)
class VersionMetrics:
    feedback_count: int = 0
    success_rate: Optional[float] = None
    avg_duration: Optional[float] = None
    error_rate: Optional[float] = None


@dataclass(frozen=True)
class VersionSummary:
    version: int
    status: str
    created_at: str
    domain: str
    provider: str
    safety_level: str
    storage: str = "filesystem"
    metrics: VersionMetrics = field(default_factory=VersionMetrics)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "VersionSummary":
        return _known(cls, data, metrics=_known(VersionMetrics, data.get("metrics", {})))


@dataclass(frozen=True)
class VersionList:
    function_name: str
    current_version: Optional[int]
    versions: List[VersionSummary]

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "VersionList":
        return _known(cls, data, versions=[VersionSummary.from_dict(v) for v in data["versions"]])


@dataclass(frozen=True)
class VersionDetail:
    """One version with its code, learned parameters and metadata; ``downloads`` are presigned URLs on S3."""

    function_name: str
    version: int
    status: str
    created_at: str
    domain: str
    provider: str
    safety_level: str
    python: str
    dana: str
    params: Dict[str, Any] = field(default_factory=dict)
    metadata: Dict[str, Any] = field(default_factory=dict)
    storage: str = "filesystem"
    metrics: VersionMetrics = field(default_factory=VersionMetrics)
    downloads: Optional[Dict[str, str]] = None

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "VersionDetail":
        code = data.get("code", {})
        return _known(
            cls,
            data,
            python=code.get("python", ""),
            dana=code.get("dana", ""),
            metrics=_known(VersionMetrics, data.get("metrics", {})),
        )


@dataclass(frozen=True)
class Diff:
    """Unified diffs between two versions."""

    function_name: str
    from_version: int
    to_version: int
    python: str
    dana: str
    params: str

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Diff":
        diff = data["diff"]
        return cls(data["function_name"], data["from"], data["to"], diff["python"], diff["dana"], diff["params"])


@dataclass(frozen=True)
class Resolution:
    """Which version a unit (a caller, a user, a job) should run: the same answer for the same unit.

    ``bucket`` is the unit's stable place in 0..9999; ``urls`` are paths on the API (``version``, ``python``, ``dana``)."""

    function_name: str
    unit: str
    version: int
    bucket: int
    reason: str
    urls: Dict[str, str]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Resolution":
        return _known(cls, data)


@dataclass(frozen=True)
class RunStatus:
    """``GET /api/v1/runs/{id}``: the status, and the result or the error once the run has ended."""

    status: str
    run: RunRef
    result: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    progress: Optional[Dict[str, Any]] = None

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RunStatus":
        return _known(cls, data, run=RunRef.from_dict(data["run"]))


@dataclass(frozen=True)
class VersionOutcomes:
    """What the field reported for one version over a window (``1h``, ``6h``, ``24h``, ``7d``, ``30d``).

    ``success_rate`` and the latencies are ``None`` without reports; ``latency_ms`` holds ``p50``, ``p95`` and ``mean``
    (milliseconds); ``errors`` are the failed calls by exception class, most frequent first (``exception_type``, ``count``)."""

    function_name: str
    version: int
    window: str
    calls: int
    successes: int
    success_rate: Optional[float]
    latency_ms: Dict[str, Optional[float]]
    mean_attempts: Optional[float]
    errors: List[Dict[str, Any]]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "VersionOutcomes":
        return _known(cls, data)


@dataclass(frozen=True)
class Rollout:
    """A function's rollout as its run reports it: ``status`` (``running``, ``paused``, ``promoted``, ``rolled_back``,
    ``aborted``), the candidate's ``share_percent``, its ``steps`` and the one it is at (``step_index``), and the last
    judgement with the figures that decided it (``verdict``, ``reason``, ``candidate``, ``baseline``, ``z``, ``p95_ratio``)."""

    function_name: str
    workflow_id: str
    candidate_version: int
    baseline_version: int
    status: str
    share_percent: int
    steps: List[int]
    step_index: int
    last_judgement: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Rollout":
        return _known(cls, data)


@dataclass(frozen=True)
class RolloutStarted:
    """The rollout just started: the candidate, the active version it is measured against, and its run."""

    function_name: str
    candidate_version: int
    baseline_version: int
    run: RunRef

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RolloutStarted":
        return _known(cls, data, run=RunRef.from_dict(data["run"]))
