"""dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`, the model in
`face-recognition-models`) evaluated without dlib: by ONNX Runtime (`OnnxFaceNet`, the default)
or by numpy (`FaceNet`, the reference and fallback).

Why: the prebuilt `dlib-bin` wheel multiplies matrices with dlib's own portable code, about
75 ms per face on this machine; numpy's bundled OpenBLAS does the same arithmetic about six
times faster, and ONNX Runtime's convolution kernels twice as fast again, without compiling
dlib from source. The weights are read from the very same file dlib loads — the ONNX graph is
built from them in memory at start-up, nothing is downloaded or stored — and the tests hold
all three to the same 128 numbers (docs/verification.md).

The network (dlib's dnn_face_recognition_ex.cpp): a 7×7/2 convolution, 3×3/2 max pooling,
14 residual units (32, 64, 128, 256, 256 filters; the first unit of each level after the
first halves the resolution), a global average and a 256→128 projection. Every convolution is
followed by a per-channel affine (batch norm folded in). dlib serialises layers from the input
upwards; this reader walks them in that order and checks the sequence is the expected one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy
from numpy.lib.stride_tricks import sliding_window_view

CHIP_SIZE = 150
# Convolutions with at most this many output positions take the filters-first product.
SMALL_OUTPUT = 16


class UnsupportedModel(ValueError):
    """The file is not the network this module knows how to evaluate."""


class _Reader:
    """dlib's serialisation: integers as a length byte (high bit: negative) and little-endian
    bytes, strings length-prefixed, floats as mantissa and exponent, tensors as raw float32."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def integer(self) -> int:
        head = self.data[self.position]
        size = head & 0x0F
        start = self.position + 1
        value = int.from_bytes(self.data[start : start + size], "little")
        self.position = start + size
        return -value if head & 0x80 else value

    def string(self) -> str:
        length = self.integer()
        value = self.data[self.position : self.position + length]
        self.position += length
        return value.decode("ascii")

    def real(self) -> float:
        mantissa = self.integer()
        return mantissa * 2.0 ** self.integer()

    def tensor(self) -> numpy.ndarray:
        if self.integer() != 2:
            raise UnsupportedModel("unknown tensor serialisation version")
        count = 1
        for _ in range(4):
            count *= self.integer()
        values = numpy.frombuffer(self.data, dtype="<f4", count=count, offset=self.position)
        self.position += 4 * count
        return values.astype(numpy.float32)

    def alias(self) -> tuple[int, int, int, int]:
        self.integer()  # version
        return (self.integer(), self.integer(), self.integer(), self.integer())


@dataclass(frozen=True)
class _Conv:
    weights: numpy.ndarray  # (filters, channels, rows, cols), as dlib stores them
    bias: numpy.ndarray  # (filters,)
    stride: int
    padding: int

    @functools.cached_property
    def taps(self) -> numpy.ndarray:
        """(rows, cols, channels, filters): one channels→filters matrix per kernel tap."""
        return numpy.ascontiguousarray(self.weights.transpose(2, 3, 1, 0))

    @functools.cached_property
    def matrix(self) -> numpy.ndarray:
        """(channels·rows·cols, filters): for a strided convolution over im2col windows."""
        filters = self.weights.shape[0]
        return numpy.ascontiguousarray(self.weights.reshape(filters, -1).T)


@dataclass(frozen=True)
class _Affine:
    gamma: numpy.ndarray  # (channels, 1, 1)
    beta: numpy.ndarray


_LAYER = re.compile(
    rb"\x01(?:\x05con_4|\x07affine_|\x05relu_|\x0amax_pool_2|\x0aavg_pool_2|\x09add_prev_|\x04fc_2"
    rb"|\x15input_rgb_image_sized)"
)


def _read_layers(data: bytes) -> list[tuple[str, object]]:
    layers: list[tuple[str, object]] = []
    for match in _LAYER.finditer(data):
        reader = _Reader(data, match.start())
        name = reader.string()
        if name == "input_rgb_image_sized":
            means = numpy.array([reader.real() for _ in range(3)], dtype=numpy.float32)
            layers.append((name, means))
        elif name == "con_4":
            params = reader.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (
                reader.integer() for _ in range(7)
            )
            _, channels, _, _ = reader.alias()
            weight_count = filters * channels * rows * cols
            if stride_y != stride_x or pad_y != pad_x or rows != cols:
                raise UnsupportedModel("only square convolutions are supported")
            layers.append(
                (
                    name,
                    _Conv(
                        weights=params[:weight_count].reshape(filters, channels, rows, cols),
                        bias=params[weight_count:],
                        stride=stride_y,
                        padding=pad_y,
                    ),
                )
            )
        elif name == "affine_":
            params = reader.tensor()
            half = params.size // 2
            layers.append(
                (name, _Affine(params[:half].reshape(-1, 1, 1), params[half:].reshape(-1, 1, 1)))
            )
        elif name in ("max_pool_2", "avg_pool_2"):
            layers.append((name, tuple(reader.integer() for _ in range(6))))
        elif name == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            layers.append((name, reader.tensor().reshape(inputs, outputs)))
        else:
            layers.append((name, None))
    return layers


# Activations are kept channels-last, (rows, cols, channels): then a stride-1 convolution
# needs no im2col copy at all. With the padded image flattened to (rows·cols, channels), the
# input under kernel tap (dy, dx) for every output position is one contiguous slice, shifted
# by dy·cols + dx; the convolution is the sum of one matrix product per tap. The columns that
# wrap around the right edge are computed and dropped.
def _conv(x: numpy.ndarray, conv: _Conv) -> numpy.ndarray:
    rows, cols = conv.weights.shape[2:]
    p = conv.padding
    out_positions = ((x.shape[0] + 2 * p - rows) // conv.stride + 1) * (
        (x.shape[1] + 2 * p - cols) // conv.stride + 1
    )
    if out_positions <= SMALL_OUTPUT:
        return _conv_small(x, conv)
    if conv.stride != 1:
        if p:
            x = numpy.pad(x, ((p, p), (p, p), (0, 0)))
        windows = sliding_window_view(x, (rows, cols), axis=(0, 1))
        windows = windows[:: conv.stride, :: conv.stride]  # (out_rows, out_cols, C, r, c)
        out_rows, out_cols = windows.shape[:2]
        flat = windows.reshape(out_rows * out_cols, -1)
        return (flat @ conv.matrix + conv.bias).reshape(out_rows, out_cols, -1)
    height, width, channels = x.shape
    padded_width = width + 2 * p
    out_rows, out_cols = height + 2 * p - rows + 1, padded_width - cols + 1
    # One spare row so the last tap's slice stays inside the buffer.
    padded = numpy.zeros((height + 2 * p + 1, padded_width, channels), dtype=numpy.float32)
    padded[p : p + height, p : p + width] = x
    flat = padded.reshape(-1, channels)
    count = out_rows * padded_width
    taps = conv.taps
    out = flat[:count] @ taps[0, 0]
    for dy in range(rows):
        for dx in range(cols):
            if dy or dx:
                shift = dy * padded_width + dx
                out += flat[shift : shift + count] @ taps[dy, dx]
    out += conv.bias
    return out.reshape(out_rows, padded_width, -1)[:, :out_cols]


def _conv_small(x: numpy.ndarray, conv: _Conv) -> numpy.ndarray:
    """Few output positions and many filters (the 256-filter levels at 4×4): one product
    with the filters as the long side, (filters, C·r·c) @ (C·r·c, positions), streams the
    large weight matrix once instead of once per tap."""
    rows, cols = conv.weights.shape[2:]
    p = conv.padding
    if p:
        x = numpy.pad(x, ((p, p), (p, p), (0, 0)))
    windows = sliding_window_view(x, (rows, cols), axis=(0, 1))[:: conv.stride, :: conv.stride]
    out_rows, out_cols = windows.shape[:2]
    columns = windows.transpose(2, 3, 4, 0, 1).reshape(-1, out_rows * out_cols)
    out = conv.weights.reshape(conv.weights.shape[0], -1) @ columns
    return (out.T + conv.bias).reshape(out_rows, out_cols, -1)


def _pool(x: numpy.ndarray, spec: tuple[int, ...], reduce) -> numpy.ndarray:
    rows, cols, stride_y, stride_x, pad_y, pad_x = spec
    if rows == 0:  # avg_pool_everything
        return reduce(x, axis=(0, 1))
    if pad_y or pad_x:
        raise UnsupportedModel("padded pooling is not supported")
    windows = sliding_window_view(x, (rows, cols), axis=(0, 1))[::stride_y, ::stride_x]
    return reduce(windows, axis=(3, 4))


def _add(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """dlib's add_prev: tensors of different shapes add as if zero-padded to the larger."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    out = numpy.zeros(shape, dtype=numpy.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out


class FaceNet:
    """Maps a 150×150 RGB face chip (as dlib.get_face_chip cuts it) to its 128-d descriptor."""

    def __init__(self, data: bytes) -> None:
        layers = _read_layers(data)
        names = [name for name, _ in layers]
        if names[:5] != ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]:
            raise UnsupportedModel(f"unexpected network start: {names[:5]}")
        self.means = layers[0][1]
        self.stem = _fold(layers[1][1], layers[2][1])
        self.stem_pool = layers[4][1]
        self.units: list[tuple[_Conv, _Conv, tuple | None]] = []
        index = 5
        while names[index] == "con_4":
            down = names[index + 5] == "avg_pool_2"
            expected = ["con_4", "affine_", "relu_", "con_4", "affine_"]
            expected += ["avg_pool_2"] if down else []
            expected += ["add_prev_", "relu_"]
            if names[index : index + len(expected)] != expected:
                raise UnsupportedModel(f"unexpected residual unit at layer {index}")
            self.units.append(
                (
                    _fold(layers[index][1], layers[index + 1][1]),
                    _fold(layers[index + 3][1], layers[index + 4][1]),
                    layers[index + 5][1] if down else None,
                )
            )
            index += len(expected)
        if names[index:] != ["avg_pool_2", "fc_2"] or len(self.units) != 14:
            raise UnsupportedModel("unexpected network end")
        self.average = layers[index][1]
        self.projection = layers[index + 1][1]

    def descriptor(self, chip: numpy.ndarray) -> numpy.ndarray:
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError("a face chip is 150×150 RGB")
        x = (chip.astype(numpy.float32) - self.means) / 256.0
        x = _pool(numpy.maximum(_conv(x, self.stem), 0), self.stem_pool, numpy.max)
        for first, second, down in self.units:
            y = _conv(numpy.maximum(_conv(x, first), 0), second)
            shortcut = _pool(x, down, numpy.mean) if down is not None else x
            x = numpy.maximum(_add(shortcut, y), 0)
        return _pool(x, self.average, numpy.mean) @ self.projection


def _fold(conv: _Conv, affine: _Affine) -> _Conv:
    """An affine layer after a convolution is a convolution with scaled weights and bias."""
    gamma = affine.gamma.reshape(-1)
    return _Conv(
        weights=numpy.ascontiguousarray(conv.weights * gamma.reshape(-1, 1, 1, 1)),
        bias=conv.bias * gamma + affine.beta.reshape(-1),
        stride=conv.stride,
        padding=conv.padding,
    )


@functools.cache
def face_net(path: str) -> FaceNet:
    with open(path, "rb") as handle:
        return FaceNet(handle.read())


def _conv_size(size: int, conv: _Conv) -> int:
    return (size + 2 * conv.padding - conv.weights.shape[2]) // conv.stride + 1


def _pool_size(size: int, spec: tuple[int, ...]) -> int:
    rows, _, stride, _, _, _ = spec
    return (size - rows) // stride + 1


class _GraphBuilder:
    """The network as ONNX nodes (channels-first, batch of one), with the folded weights."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.weights: list = []

    def _name(self, kind: str) -> str:
        return f"{kind}{len(self.nodes) + len(self.weights)}"

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        from onnx import helper

        output = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, value: numpy.ndarray) -> str:
        from onnx import numpy_helper

        name = self._name("w")
        self.weights.append(numpy_helper.from_array(value, name))
        return name

    def conv(self, x: str, conv: _Conv) -> str:
        size, p = conv.weights.shape[2], conv.padding
        return self.node(
            "Conv",
            [x, self.constant(conv.weights), self.constant(conv.bias.astype(numpy.float32))],
            kernel_shape=[size, size],
            strides=[conv.stride] * 2,
            pads=[p] * 4,
        )

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def pool(self, x: str, spec: tuple[int, ...], op: str) -> str:
        rows, cols, stride_y, stride_x, _, _ = spec
        return self.node(op, [x], kernel_shape=[rows, cols], strides=[stride_y, stride_x])

    def grow(self, x: str, shape: tuple[int, ...], target: tuple[int, ...]) -> str:
        """dlib's add_prev zero-pads the smaller tensor (channels, rows, cols) at the end."""
        if shape == target:
            return x
        after = [t - s for s, t in zip(shape, target, strict=True)]
        pads = numpy.array([0, 0, 0, 0, 0, *after], dtype=numpy.int64)
        return self.node("Pad", [x, self.constant(pads)])

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b])


def onnx_model(net: FaceNet) -> bytes:
    """The serialised ONNX model computing `net.descriptor`. Its input is the chip as
    `FaceNet.descriptor` first prepares it (less the means, over 256), channels first."""
    from onnx import TensorProto, checker, helper

    graph = _GraphBuilder()
    x = graph.pool(graph.relu(graph.conv("chip", net.stem)), net.stem_pool, "MaxPool")
    size = _pool_size(_conv_size(CHIP_SIZE, net.stem), net.stem_pool)
    shape = (net.stem.weights.shape[0], size, size)
    for first, second, down in net.units:
        branch = graph.conv(graph.relu(graph.conv(x, first)), second)
        branch_size = _conv_size(_conv_size(size, first), second)
        branch_shape = (second.weights.shape[0], branch_size, branch_size)
        shortcut, shortcut_shape = x, shape
        if down is not None:
            shortcut = graph.pool(x, down, "AveragePool")
            down_size = _pool_size(size, down)
            shortcut_shape = (shape[0], down_size, down_size)
        target = tuple(max(a, b) for a, b in zip(branch_shape, shortcut_shape, strict=True))
        x = graph.relu(
            graph.add(
                graph.grow(shortcut, shortcut_shape, target),
                graph.grow(branch, branch_shape, target),
            )
        )
        shape, size = target, target[1]
    pooled = graph.node("Flatten", [graph.node("GlobalAveragePool", [x])])
    graph.nodes.append(
        helper.make_node("MatMul", [pooled, graph.constant(net.projection)], ["descriptor"])
    )
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "dlib_face_recognition_resnet_model_v1",
            [
                helper.make_tensor_value_info(
                    "chip", TensorProto.FLOAT, [1, 3, CHIP_SIZE, CHIP_SIZE]
                )
            ],
            [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])],
            graph.weights,
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    checker.check_model(model)
    return model.SerializeToString()


class OnnxFaceNet:
    """The same network run by ONNX Runtime on one thread (the worker's face processes
    already fill the cores; more threads per process would only fight over them)."""

    def __init__(self, net: FaceNet) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.means = net.means
        self._session = onnxruntime.InferenceSession(
            onnx_model(net), options, providers=["CPUExecutionProvider"]
        )

    def descriptor(self, chip: numpy.ndarray) -> numpy.ndarray:
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError("a face chip is 150×150 RGB")
        x = ((chip.astype(numpy.float32) - self.means) / 256.0).transpose(2, 0, 1)[None]
        return self._session.run(None, {"chip": numpy.ascontiguousarray(x)})[0][0]


@functools.cache
def onnx_face_net(path: str) -> OnnxFaceNet:
    return OnnxFaceNet(face_net(path))
