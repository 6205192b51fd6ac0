"""Uids: the address forms, and unsafe segments refused before any disk access."""

from __future__ import annotations

import pytest
from polyhub import ModelNotFoundError
from polyhub_mindspore.uid import Uid, check_filename, parse_uid, uid_from_relpath


@pytest.mark.parametrize(
    ("path", "uid"),
    [
        ("ascend/1.0/alexnet_v1_cifar10", Uid("mindspore", "1.0", "alexnet_v1_cifar10", "ascend")),
        (
            "mindspore/ascend/1.0/alexnet_v1_cifar10",
            Uid("mindspore", "1.0", "alexnet_v1_cifar10", "ascend"),
        ),
        ("mindspore/1.6/lenet_mnist", Uid("mindspore", "1.6", "lenet_mnist")),
        (
            "noah-cvlab/gpu/1.8/ofakd_v1.0_imagenet2012",
            Uid("noah-cvlab", "1.8", "ofakd_v1.0_imagenet2012", "gpu"),
        ),
        ("1.6/lenet_mnist.md", Uid("mindspore", "1.6", "lenet_mnist")),
    ],
)
def test_address_forms(path: str, uid: Uid):
    assert parse_uid(path) == uid
    assert uid_from_relpath(uid.relpath) == uid


UNSAFE = [
    "../1.6/x",
    "mindspore/../../etc/passwd",
    "mindspore/1.6/%2e%2e",
    "mindspore/1.6/%252e%252e%252f",
    "mindspore/1.6/x\x00y",
    "mindspore/1.6/x\\..\\y",
    "/etc/1.6/passwd",
    "mindspore/1.6/name.",
    "mindspore/1.6 /name",
    "C:/1.6/x",
    "mindspore/1.6/.hidden",
]


@pytest.mark.parametrize("path", UNSAFE)
def test_unsafe_uids_are_refused(path: str):
    with pytest.raises(ModelNotFoundError):
        parse_uid(path)


def test_wrong_shapes():
    with pytest.raises(ModelNotFoundError, match="backend"):
        parse_uid("mindspore/tpu/1.0/x")
    with pytest.raises(ModelNotFoundError, match="not a MindSpore Hub uid"):
        parse_uid("a/b/c/d/e")


@pytest.mark.parametrize("name", ["..", "a/b", "a\\b", "x\x00", "-rf", "x.", "%2e%2e", ""])
def test_unsafe_asset_file_names(name: str):
    with pytest.raises(ModelNotFoundError):
        check_filename(name)


def test_real_asset_names_with_at_and_equals_are_fine():
    assert check_filename("dam_P@1acc42.7_R10@1acc25.4.ckpt")
    assert check_filename("dpn_bs32_acctop1=78.81_top5=94.34.ckpt")
