"""Addresses and device names."""

from __future__ import annotations

import pytest
from polyhub import Address, AddressError, Device, DeviceError, parse_address, parse_device


@pytest.mark.parametrize(
    "text",
    [
        "onnx:mnist",
        "onnx:mnist?opset=8",
        "onnx:mnist@3f2a9c1",
        "mindspore:ascend/1.0/alexnet_v1_cifar10",
        "mindspore:mindspore/1.6/lenet_mnist",
        "megengine:megengine/models/resnet18@dev",
        "megengine:megengine/models/resnet18@feature/x",
        "megengine:megengine/models/resnet18?git_host=git.example.com:2222&protocol=ssh",
        "mindspore:https://gitee.com/mindspore/hub/blob/master/mshub_res/assets/mindspore/1.6/lenet_mnist.md",
    ],
)
def test_round_trip(text):
    addr = parse_address(text)
    assert parse_address(str(addr)) == addr
    assert str(parse_address(str(addr))) == str(addr)


def test_parts_and_options():
    addr = parse_address(
        "megengine:megengine/models/resnet18@feature/x?git_host=h:22&pretrained=true&n=10&v=1.10"
    )
    assert (addr.scheme, addr.path, addr.revision) == (
        "megengine",
        "megengine/models/resnet18",
        "feature/x",
    )
    assert addr.options == {"git_host": "h:22", "pretrained": True, "n": 10, "v": "1.10"}


def test_keywords_win_over_the_query():
    addr = parse_address("onnx:mnist?opset=8", opset=12)
    assert addr.options["opset"] == 12 and str(addr) == "onnx:mnist?opset=12"


def test_url_user_is_not_a_revision():
    addr = parse_address("mindspore:https://user@gitee.com/x/y.md")
    assert addr.revision is None and addr.path == "https://user@gitee.com/x/y.md"
    addr = parse_address("mindspore:https://user@gitee.com/x/y.md@v2")
    assert addr.revision == "v2"


def test_a_url_keeps_its_own_query_that_is_no_option():
    # mindspore.cn's hub pages name a card in the query: "details?MindSpore/1.8/yolov4_coco2017".
    page = (
        "https://www.mindspore.cn/resources/hub/details/en?MindSpore/ascend/1.0/alexnet_v1_cifar10"
    )
    addr = parse_address(f"mindspore:{page}@r1.6&num_classes=10")
    assert (addr.path, addr.revision, addr.options) == (page, "r1.6", {"num_classes": 10})
    assert str(addr) == f"mindspore:{page}@r1.6&num_classes=10"
    assert parse_address(str(addr)) == addr
    assert parse_address(f"mindspore:{page}").options == {}


def test_canonical_is_sorted_and_scheme_lower():
    assert str(parse_address("ONNX:mnist?b=2&a=1")) == "onnx:mnist?a=1&b=2"


@pytest.mark.parametrize("bad", ["mnist", ":x", "onnx:", "onnx:?a=1", "1x:y", "onnx:m?a"])
def test_bad_addresses(bad):
    with pytest.raises(AddressError):
        parse_address(bad)


def test_address_is_immutable():
    addr = parse_address("onnx:mnist?opset=8")
    with pytest.raises(TypeError):
        addr.options["opset"] = 9  # type: ignore[index]
    assert isinstance(addr, Address) and hash(addr) == hash(parse_address("onnx:mnist?opset=9"))


@pytest.mark.parametrize(
    ("text", "device"),
    [
        (None, Device("auto")),
        ("auto", Device("auto")),
        ("cpu", Device("cpu")),
        ("GPU", Device("gpu")),
        ("gpu:1", Device("gpu", 1)),
        ("cuda:0", Device("gpu", 0)),
        ("ascend:3", Device("ascend", 3)),
        ("npu", Device("ascend")),
    ],
)
def test_devices(text, device):
    assert parse_device(text) == device
    assert parse_device(str(device)) == device


@pytest.mark.parametrize("bad", ["tpu", "gpu:x", "cpu:1", "gpu:", "auto:0"])
def test_bad_devices(bad):
    with pytest.raises(DeviceError):
        parse_device(bad)
