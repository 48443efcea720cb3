"""Great Expectations Data Docs for the door-gate validations of one run.

Choice (GX 1.24): an *ephemeral* Data Context built for the occasion, whose stores are
in memory and whose one Data Docs site writes HTML to `site_dir` on disk
(`TupleFilesystemStoreBackend`). Each validation result of the run is put into the
in-memory validation results store under a key that names its submission and file,
the door suites are put into the expectations store, and `context.build_data_docs()`
writes the site once. This needs no GX project folder (no `gx/great_expectations.yml`,
no file stores to keep in sync or out of git) and stays out of the per-file hot path:
the door gate only returns `result_json`; the pipeline collects those and calls
`build_data_docs` once at the end of the run.

The site is rebuilt from the results it is given; to show older runs too, pass their
results again (the pipeline keeps every result as JSON beside the ledger,
`meta.validations.result_path`). The site is generated output under `$DOLISA_HOME`
(default `paths().data_docs`), never in git.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Iterable

SITE_NAME = "dolisa_data_docs"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "batch"


def _context(site_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def build_data_docs(
    site_dir: Path,
    results: Iterable[tuple[str, dict]],
    *,
    listed: Iterable[tuple[str, dict]] = (),
) -> Path:
    """Write a Data Docs site for `results` ((name, result_json) pairs) into `site_dir`.

    `name` names the validated file, e.g. "040-2021-06-v1/job_placements.csv"; it
    becomes the run name and batch identifier shown in the site. `listed`: results
    rendered by an earlier build into the same `site_dir`; they are kept in the index
    but their pages are not rendered again (incremental build). Returns the path of
    `index.html`.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    site_dir = Path(site_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)
    ctx = _context(site_dir)
    schema = ExpectationSuiteValidationResultSchema()
    suites_seen: set[str] = set()
    now = dt.datetime.now(dt.timezone.utc)
    new_keys = []
    for is_new, items in ((True, results), (False, listed)):
        for name, result_json in items:
            result = schema.load(result_json)
            validated_at = (result_json.get("meta") or {}).get("validated_at")
            run_time = dt.datetime.fromisoformat(validated_at) if validated_at else now
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
                run_id=RunIdentifier(run_name=_safe(name), run_time=run_time),
                batch_identifier=_safe(name),
            )
            ctx.validation_results_store.set(key, result)
            suites_seen.add(result.suite_name)
            if is_new:
                new_keys.append(key)
    _add_suites(ctx, suites_seen)
    if listed and not (site_dir / "index.html").is_file():
        new_keys = None  # nothing rendered yet: render every page
    if listed and new_keys is not None:
        new_keys += [ExpectationSuiteIdentifier(name=n) for n in sorted(suites_seen)]
    ctx.build_data_docs(site_names=[SITE_NAME], resource_identifiers=new_keys if listed else None)
    return site_dir / "index.html"


def _add_suites(ctx, names: set[str]) -> None:
    """Door suites get their own pages in the site (what each rule checks)."""
    from dolisa.quality import load_expectations

    door = load_expectations("door_gate")
    files = load_expectations("door_files")
    for name in sorted(names):
        if name == files.SUITE_NAME:
            ctx.suites.add(files.build_suite())
        elif name.startswith(door.SUITE_PREFIX):
            ctx.suites.add(door.build_suite(name[len(door.SUITE_PREFIX):]))
