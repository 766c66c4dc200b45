"""`make package STAGE=dev`: the deployable CloudFormation (SAM) template and zip, offline.

    python -m infra.build_template --stage dev [--out build/dev]

1. `chalice package` the app into `<out>`: `sam.json`, `deployment.zip` (app code) and
   `layer-deployment.zip` (dependencies, `automatic_layer`); read the template it generated
   (function logical ids, roles, timeouts, the fan-out event source);
2. write `<out>/merge-template.json` from that and from the PynamoDB models (infra.template);
3. merge it into `sam.json` with chalice's own merger: the result is what
   `chalice package --merge-template <out>/merge-template.json` writes (same JSON), one run sooner;
4. slim both zips (infra.slim: unused AWS API models out, bytecode in).

Chalice imports app.py with the stage's environment (from .chalice/config.json) so event sources
see the stage's queue name; no AWS credentials or key files are needed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGED_TEMPLATE = "sam.json"
MERGE_TEMPLATE = "merge-template.json"
DEPLOYMENT_ZIP = "deployment.zip"
LAYER_ZIP = "layer-deployment.zip"  # dependencies (automatic_layer), cached by chalice


def stage_environment(project_dir: Path, stage: str) -> dict[str, str]:
    """The environment chalice gives the stage's functions (global vars overlaid by the stage's)."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"stage {stage!r} is not in .chalice/config.json")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def chalice_package(project_dir: Path, stage: str, out_dir: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Run `chalice package` (in a subprocess: it imports app.py) and return the template."""
    command = [str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage]
    command.append(str(out_dir))
    child_env = {**os.environ, **env}
    child_env.setdefault("AWS_DEFAULT_REGION", "eu-west-2")  # chalice wants one; the template uses pseudo params
    subprocess.run(command, cwd=project_dir, env=child_env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return json.loads((out_dir / PACKAGED_TEMPLATE).read_text())


def build(project_dir: Path, stage: str, out_dir: Path) -> dict[str, Any]:
    """Package `stage` into out_dir; return the final template."""
    from chalicelib.settings import SETTINGS as imported_settings
    from chalicelib.settings import load_settings
    from chalicelib.store.models import ALL_MODELS, bind_models
    from infra.tables import table_spec
    from infra.template import StageConfig, merge_template

    env = stage_environment(project_dir, stage)
    stage_settings = load_settings({**env, "BEATLINE_STAGE": env.get("BEATLINE_STAGE", stage)})
    config = StageConfig(
        stage=stage,
        table_prefix=stage_settings.table_prefix,
        queue_name=stage_settings.fanout_queue_name,
        retain_data=stage == "prod",
        export_queue_name=stage_settings.export_queue_name,
        sms_queue_name=stage_settings.sms_queue_name,
        pulse_queue_name=stage_settings.pulse_queue_name,
    )
    # Models carry the prefix of the process that bound them; the short name is what is stable.
    bind_models(imported_settings)
    specs = [table_spec(model, imported_settings.table_prefix) for model in ALL_MODELS]
    ids = [spec.logical_id for spec in specs]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"two models map to the same table logical id: {sorted(ids)}")

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (PACKAGED_TEMPLATE, DEPLOYMENT_ZIP, LAYER_ZIP):
        (out_dir / stale).unlink(missing_ok=True)
    base = chalice_package(project_dir, stage, out_dir, env)
    merge = merge_template(base, config, specs)
    (out_dir / MERGE_TEMPLATE).write_text(json.dumps(merge, indent=2, sort_keys=True) + "\n")
    # Exactly what `chalice package --merge-template` does as its last step (same merger class),
    # without packaging the app a second time.
    from chalice.package import TemplateDeepMerger

    template: dict[str, Any] = TemplateDeepMerger().merge(merge, base)
    (out_dir / PACKAGED_TEMPLATE).write_text(json.dumps(template, indent=2) + "\n")
    from infra.slim import slim_zip

    runtimes = {r["Properties"]["Runtime"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}
    slim_zip(out_dir / DEPLOYMENT_ZIP, lambda_root="/var/task", runtime=min(runtimes))  # small: no cache
    if (out_dir / LAYER_ZIP).exists():
        slim_zip(out_dir / LAYER_ZIP, lambda_root="/opt", runtime=min(runtimes),
                 cache_dir=project_dir / ".chalice" / "deployments")
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, help="default: build/<stage>")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    out_dir = (args.out or args.project_dir / "build" / args.stage).resolve()
    template = build(args.project_dir.resolve(), args.stage, out_dir)
    print(f"{out_dir / PACKAGED_TEMPLATE}: {len(template['Resources'])} resources")
    for name in (DEPLOYMENT_ZIP, LAYER_ZIP):
        if (out_dir / name).exists():
            print(f"{out_dir / name}: {(out_dir / name).stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
