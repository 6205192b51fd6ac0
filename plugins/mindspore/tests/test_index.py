"""list_models from the cached index, over the real card tree and a git hub."""

from __future__ import annotations

import re
from pathlib import Path

import polyhub
import pytest
from polyhub_mindspore.demo import card_text


def _field(path: Path, key: str) -> str | None:
    m = re.search(rf"^{key}:[ \t]*(.*?)\s*$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else None


def test_list_real_tree_with_filters(realdata: Path):
    everything = polyhub.list_models("mindspore", hub=str(realdata))
    files = list((realdata / "assets").rglob("*.md"))
    assert len(everything) == len(files)  # every current card parses
    v110 = polyhub.list_models("mindspore", hub=str(realdata), mindspore_version="1.10")
    expected = {
        p.stem
        for p in files
        if _field(p, "mindspore-version") == "1.10" and not p.stem.endswith("_cn")
    }
    assert expected and expected <= {c.name for c in v110}
    assert all(c.metadata["mindspore-version"] == "1.10" for c in v110)
    noah_gpu = polyhub.list_models(
        "mindspore", hub=str(realdata), publisher="noah-cvlab", backend="gpu"
    )
    assert noah_gpu and all(
        c.publisher == "noah-cvlab" and "gpu" in c.metadata["backends"] for c in noah_gpu
    )
    assert len(noah_gpu) >= len(list((realdata / "assets/noah-cvlab/gpu").rglob("*.md")))
    nlp = polyhub.list_models("mindspore", hub=str(realdata), module_type="nlp", file_format="ckpt")
    assert nlp and all(
        c.metadata["module-type-main"] == "nlp" and any(a.format == "ckpt" for a in c.assets)
        for c in nlp
    )
    mnist = polyhub.list_models(
        "mindspore", hub=str(realdata), dataset="mnist", used_for="inference"
    )
    assert "lenet_mnist" in {c.name for c in mnist}
    assert {(c.dataset or "").lower() for c in mnist} == {"mnist"}
    # Listing downloaded nothing and built one index file.
    home = Path(polyhub.get_dir())
    assert not (home / "blobs").exists()
    assert len(list((home / "plugins" / "mindspore" / "index").glob("*.marshal"))) == 1


def test_unknown_filter_is_a_type_error(realdata: Path):
    with pytest.raises(TypeError, match="colour"):
        polyhub.list_models("mindspore", hub=str(realdata), colour="red")


def test_git_hub_lists_offline_after_first_fetch(
    hub_root: Path, h, monkeypatch: pytest.MonkeyPatch
):
    h.write_card(hub_root, "mindspore/2.10/one", card_text(name="One", assets=[]))
    h.write_card(hub_root, "mindspore/2.10/broken", "# broken\n\n---\nmodel-name: [\n---\n")
    h.git(hub_root, "init", "-q", "-b", "master")
    h.commit_all(hub_root)
    url = f"file://{hub_root}/.git"
    names = [c.name for c in polyhub.list_models("mindspore", hub=url)]
    assert names == ["one"]
    h.write_card(hub_root, "mindspore/2.10/two", card_text(name="Two", assets=[]))
    h.commit_all(hub_root)
    assert [c.name for c in polyhub.list_models("mindspore", hub=url)] == ["one"]  # until a refresh
    assert [c.name for c in polyhub.list_models("mindspore", hub=url, force_reload=True)] == [
        "one",
        "two",
    ]
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    (hub_root / ".git").rename(hub_root / "moved.git")
    assert [c.name for c in polyhub.list_models("mindspore", hub=url)] == ["one", "two"]


def test_local_tree_changes_rebuild_the_index(hub_root: Path, h):
    h.write_card(hub_root, "mindspore/2.10/one", card_text(name="One", assets=[]))
    assert len(polyhub.list_models("mindspore", hub=str(hub_root))) == 1
    h.write_card(hub_root, "mindspore/2.10/two", card_text(name="Two", assets=[]))
    assert len(polyhub.list_models("mindspore", hub=str(hub_root))) == 2


def test_http_hub_cannot_list_and_says_why(server):
    with pytest.raises(polyhub.UnsupportedError, match="git repository or a local checkout"):
        polyhub.list_models("mindspore", hub=server.url)


def test_cards_from_the_stored_index_equal_cards_built_afresh(realdata: Path) -> None:
    """The listing rebuilds cards from the marshal index without their constructors:
    every field, the metadata included, must equal the card the constructors build."""
    import dataclasses

    from polyhub import ModelCard
    from polyhub_mindspore import index

    listed = polyhub.list_models("mindspore", hub=str(realdata))
    index._MEMO.clear()  # the second listing reads the stored file
    index._CARDS.clear()
    stored = polyhub.list_models("mindspore", hub=str(realdata))
    assert len(stored) == len(listed) > 2000
    for card in stored:
        again = ModelCard(**{f.name: getattr(card, f.name) for f in dataclasses.fields(ModelCard)})
        assert again == card and dict(again.metadata) == dict(card.metadata)
        assert again.address == card.address and hash(again.address) == hash(card.address)
        assert all(dataclasses.replace(a) == a for a in card.assets)
    by_uid = {c.address.path: c for c in listed}
    for card in stored:
        first = by_uid[card.address.path]
        assert card == first and dict(card.metadata) == dict(first.metadata)


def test_a_damaged_stored_index_is_rebuilt(realdata: Path, polyhub_env: Path) -> None:
    from polyhub_mindspore import index

    first = polyhub.list_models("mindspore", hub=str(realdata), model="alexnet")
    stored = list((polyhub_env / "plugins" / "mindspore" / "index").glob("*.marshal"))
    assert len(stored) == 1
    for damage in (b"", b"\x00garbage", stored[0].read_bytes()[:1000]):
        stored[0].write_bytes(damage)
        index._MEMO.clear()
        assert polyhub.list_models("mindspore", hub=str(realdata), model="alexnet") == first
