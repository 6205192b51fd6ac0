"""``polyhub demo`` for MindSpore: a tiny real MindIR in a one-card hub.

The model is made here with MindSpore itself (a 4-in, 3-out dense layer), so
the demo exercises the real loader. A MindIR holds its own graph, so the demo
needs no model code and asks no trust question. The card links its file on
the real download host; ``POLYHUB_MIRRORS`` sends that URL to the loopback
server, as a user behind a mirror would.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from polyhub import DemoCase

__all__ = ["TINY_NET_SOURCE", "build_demo", "card_text", "make_tiny_models"]

DEMO_HOST = "https://download.mindspore.cn/polyhub-demo"


def installed_version() -> str:
    """``major.minor`` of the installed MindSpore (its distribution metadata; no import)."""
    import importlib.metadata

    try:
        return ".".join(importlib.metadata.version("mindspore").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return "2.5"


def demo_uid() -> str:
    return f"mindspore/{installed_version()}/tinydense_demo"


# The network's source, as the src/ module of a model repository would hold it;
# tests put this very text in their code repositories so checkpoints and code agree.
TINY_NET_SOURCE = (Path(__file__).parent / "tinynet.py").read_text(encoding="utf-8")


def make_tiny_models(
    directory: Path, formats: tuple[str, ...] = ("ckpt", "mindir", "onnx"), seed: int = 0
) -> dict[str, Path]:
    """Write the tiny network in ``formats`` under ``directory``; return {format: path}."""
    import mindspore  # type: ignore[import-untyped]
    import numpy as np

    from .tinynet import TinyDense

    mindspore.set_seed(seed)
    net = TinyDense()
    directory.mkdir(parents=True, exist_ok=True)
    sample = mindspore.Tensor(np.ones((1, 4), np.float32))
    out: dict[str, Path] = {}
    for fmt in formats:
        base = directory / "tinydense"
        if fmt == "ckpt":
            mindspore.save_checkpoint(net, str(base) + ".ckpt")
        elif fmt == "mindir":
            mindspore.export(net, sample, file_name=str(base), file_format="MINDIR")
        elif fmt == "onnx":
            exporter = getattr(getattr(mindspore, "onnx", None), "export", None)
            if exporter is not None:
                exporter(net, sample, file_name=str(base), input_names=["x"], output_names=["y"])
            else:
                mindspore.export(net, sample, file_name=str(base), file_format="ONNX")
        else:
            raise ValueError(f"cannot make {fmt!r}")
        out[fmt] = Path(f"{base}.{fmt}")
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_text(
    *,
    name: str,
    assets: list[tuple[str, str, str | None]],
    repo_link: str = "",
    mindspore_version: str | None = None,
    extra: str = "",
) -> str:
    """A card in the hub's format; ``assets`` are (format, link, sha256 or None)."""
    mindspore_version = mindspore_version or installed_version()
    asset_lines = ""
    for fmt, link, sha in assets:
        asset_lines += f"\n-\n    file-format: {fmt}\n    asset-link: <{link}>\n"
        if sha is not None:
            asset_lines += f"    asset-sha256: {sha}\n"
    return f"""# {name}

---

model-name: {name}

backbone-name: {name}

module-type: cv-classification

fine-tunable: True

model-version: 1.0

train-dataset: synthetic

evaluation: -

author: polyhub

update-time: 2025-01-31

repo-link: {repo_link}

user-id: polyhub

used-for: inference

train-backend: cpu

infer-backend: cpu/gpu

mindspore-version: {mindspore_version}

asset:
{asset_lines}
license: Apache2.0

summary: a {name} network for tests and demos
{extra}
---

## Introduction

{name} maps 4 features to 3 scores.

## Usage

```python
import polyhub
net = polyhub.load("mindspore:{demo_uid()}")
```
"""


def build_demo(directory: Path) -> DemoCase:
    """Write the demo hub (card + MindIR) under ``directory``."""
    # MindSpore logs every backend it cannot find (Ascend, GPU) at WARNING; the demo
    # shows polyhub's output. Only a default: a user's GLOG_v wins. Set before the
    # first mindspore import, which make_tiny_models does.
    os.environ.setdefault("GLOG_v", "3")
    files = make_tiny_models(directory / "files", formats=("mindir",))
    mindir = files["mindir"]
    uid = demo_uid()
    card = directory / "mshub_res" / "assets" / f"{uid}.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(
        card_text(
            name="TinyDense",
            assets=[("mindir", f"{DEMO_HOST}/{mindir.name}", sha256_of(mindir))],
            repo_link="",
        ),
        encoding="utf-8",
    )

    def run(model: Any) -> str:
        import mindspore
        import numpy as np

        x = mindspore.Tensor(np.arange(4, dtype=np.float32).reshape(1, 4))
        y = model(x).asnumpy()
        return f"TinyDense MindIR on MindSpore: input (1, 4) -> output {tuple(y.shape)}, argmax {int(y.argmax())}"

    return DemoCase(
        address=f"mindspore:{uid}",
        run=run,
        env={
            "POLYHUB_MINDSPORE_HUB": "{base_url}",
            "POLYHUB_MIRRORS": f"{DEMO_HOST}={{base_url}}/files",
        },
        options={"device": "cpu"},
        title="MindSpore Hub",
    )
