"""The tiny network of the demo and the tests: 4 features in, ``num_classes`` scores out."""

from mindspore import nn  # type: ignore[import-untyped]


class TinyDense(nn.Cell):  # type: ignore[misc]
    """One dense layer; its parameters are ``fc.weight`` and ``fc.bias``."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.fc = nn.Dense(4, num_classes)

    def construct(self, x: object) -> object:
        return self.fc(x)
