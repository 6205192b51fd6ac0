"""The tiny network of the demo and the tests: 4 features in, ``num_classes`` scores out."""

from mindspore import nn


class TinyDense(nn.Cell):
    """One dense layer; its parameters are ``fc.weight`` and ``fc.bias``."""

    def __init__(self, num_classes=3):
        super().__init__()
        self.fc = nn.Dense(4, num_classes)

    def construct(self, x):
        return self.fc(x)
