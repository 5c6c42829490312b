"""NAFNet-style U-Net (Chen et al., "Simple Baselines for Image Restoration", ECCV 2022).

Each block is nonlinear-activation-free: layer norm → 1x1 conv → 3x3 depthwise conv → SimpleGate
(split the channels in two halves and multiply them) → simplified channel attention → 1x1 conv,
added back with a learned per-channel scale that starts at 0 (so a fresh block is the identity),
then a gated feed-forward part built the same way. Strided 2x2 convs go down, 1x1 conv +
PixelShuffle go up, encoder features are added to the decoder's, and the image is restored as a
global residual.

One change from the paper, for tiling: NAFNet's channel attention averages each channel over the
*whole* image, so a tile and the whole photo would get different statistics (the TLC paper, Chu
et al. 2022, shows the same train/test mismatch). Here it averages over a local window of
``attention_window`` feature pixels instead ('same' average pooling, which ignores the padding),
so every output pixel depends on a bounded neighbourhood only: no instance norm, no whole-image
statistic, and tiled output matches untiled once tiles overlap enough.

For inference, ``NAFNet.for_inference()`` folds each layer norm's scale and offset into the 1x1
conv after it, and each residual scale into the 1x1 conv before it (all linear maps): the same
function with ~100 fewer element-wise ops, measured 12–15 % faster at 128² on this CPU.
"""

from __future__ import annotations

import keras
import numpy as np

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import PadToMultiple, PixelShuffle, residual_output
from deblur_tf.models.registry import register_generator, register_preset


@keras.saving.register_keras_serializable(package="deblur_tf")
class SimpleGate(keras.layers.Layer):
    """Split the channels into two halves and multiply them (NAFNet's activation)."""

    def call(self, x):
        a, b = keras.ops.split(x, 2, axis=-1)
        return a * b

    def compute_output_shape(self, shape):
        return (*shape[:-1], shape[-1] // 2)


@keras.saving.register_keras_serializable(package="deblur_tf")
class ScaledResidual(keras.layers.Layer):
    """``x + scale * y`` with a learned per-channel ``scale`` starting at 0 (NAFNet's β and γ)."""

    def build(self, x_shape, y_shape):
        self.scale = self.add_weight(shape=(y_shape[-1],), initializer="zeros", name="scale")

    def call(self, x, y):
        return x + keras.ops.cast(self.scale, y.dtype) * y

    def compute_output_shape(self, x_shape, y_shape):
        return x_shape


def _depthwise_init():
    # Unit gain over each channel's own 3x3 taps. Keras' default (Glorot) counts every channel in
    # the fan-in of a depthwise kernel, which makes it ~sqrt(channels) times too small: at 128+
    # channels the branch (dwconv -> gate -> attention: a cubic product) started ~1e-5 of the
    # block's input, its residual scale got no gradient, and it never learned (see
    # revive_dead_branches).
    # For a depthwise kernel (3, 3, C, 1) Keras' "fan_out" is 3 * 3 * 1: the per-channel fan-in.
    return keras.initializers.VarianceScaling(1.0, mode="fan_out", distribution="truncated_normal")


BRANCHES = {"beta": ("expand", "dwconv", "attention", "project"), "gamma": ("ffn_expand", "ffn_project")}
# Per residual branch: the norm at its start, the 1x1 conv after the norm, the 1x1 conv before the scale.
FOLDS = {"beta": ("norm1", "expand", "project"), "gamma": ("norm2", "ffn_expand", "ffn_project")}


def revive_dead_branches(generator: keras.Model, images, threshold: float = 1e-3) -> list[str]:
    """Re-initialise every NAFNet block branch whose output, scaled, is below ``threshold`` of the
    block's input on ``images`` (RMS), and set its residual scale to exactly 0.

    A branch that small contributes nothing, and nothing flows back to it (its scale's gradient is
    proportional to its output), so training cannot wake it up. Re-initialised with its scale at 0
    it still contributes nothing: the model's output is unchanged (to well below a grey level),
    but the scale now gets a real gradient and the branch can learn. Returns the revived scales'
    layer names (e.g. ``mid0_beta``)."""
    scales = [layer for layer in generator.layers if isinstance(layer, ScaledResidual)]
    if not scales:
        raise ValueError(f"{type(generator).__name__} has no NAFNet blocks to revive")
    probe = keras.Model(generator.input, [t for s in scales for t in s.input])
    values = probe(images, training=False)
    revived = []
    for i, layer in enumerate(scales):
        x, y = (keras.ops.convert_to_numpy(keras.ops.cast(v, "float32")) for v in values[2 * i:2 * i + 2])
        scale = keras.ops.convert_to_numpy(layer.scale)
        if float(np.sqrt(np.mean((scale * y) ** 2)) / (np.sqrt(np.mean(x ** 2)) + 1e-12)) >= threshold:
            continue
        block, branch = layer.name.rsplit("_", 1)  # "mid0_beta" -> the branch of mid0_'s layers
        for part in BRANCHES[branch]:
            _reinitialise(generator.get_layer(f"{block}_{part}"))
        layer.scale.assign(np.zeros(layer.scale.shape, "float32"))
        revived.append(layer.name)
    return revived


def _reinitialise(layer: keras.layers.Layer) -> None:
    kernel_init = (layer.depthwise_initializer if isinstance(layer, keras.layers.DepthwiseConv2D)
                   else layer.kernel_initializer)
    for weight in layer.weights:
        init = kernel_init if weight.name == "kernel" else layer.bias_initializer
        weight.assign(init(weight.shape, dtype=weight.dtype))


def _naf_block(x, channels: int, window: int, dropout: float, name: str, folded: bool = False):
    # Folded (NAFNet.for_inference): the norms' affine parts live in the 1x1 convs after them and
    # the residual scales in the 1x1 convs before them; the same names hold the same roles.
    norm = lambda part: keras.layers.LayerNormalization(  # noqa: E731
        epsilon=1e-6, center=not folded, scale=not folded, name=f"{name}{part}")
    y = norm("norm1")(x)
    y = keras.layers.Conv2D(2 * channels, 1, name=f"{name}expand")(y)
    y = keras.layers.DepthwiseConv2D(3, padding="same", depthwise_initializer=_depthwise_init(),
                                     name=f"{name}dwconv")(y)
    y = SimpleGate(name=f"{name}gate1")(y)
    # Simplified channel attention over a local window (see the module docstring).
    pooled = keras.layers.AveragePooling2D(window, strides=1, padding="same", name=f"{name}pool")(y)
    attention = keras.layers.Conv2D(channels, 1, name=f"{name}attention")(pooled)
    y = keras.layers.Multiply(name=f"{name}attend")([y, attention])
    y = keras.layers.Conv2D(channels, 1, name=f"{name}project")(y)
    if dropout:
        y = keras.layers.Dropout(dropout, name=f"{name}dropout1")(y)
    x = _residual(x, y, f"{name}beta", folded)
    y = norm("norm2")(x)
    y = keras.layers.Conv2D(2 * channels, 1, name=f"{name}ffn_expand")(y)
    y = SimpleGate(name=f"{name}gate2")(y)
    y = keras.layers.Conv2D(channels, 1, name=f"{name}ffn_project")(y)
    if dropout:
        y = keras.layers.Dropout(dropout, name=f"{name}dropout2")(y)
    return _residual(x, y, f"{name}gamma", folded)


def _residual(x, y, name: str, folded: bool):
    return keras.layers.Add(name=name)([x, y]) if folded else ScaledResidual(name=name)(x, y)


@register_generator("nafnet")
class NAFNet(ArchModel):
    """NAFNet U-Net: 3x3 stem → encoder levels (blocks, then a stride-2 2x2 conv doubling the
    width) → middle blocks → decoder levels (1x1 conv + PixelShuffle halving the width, add the
    encoder's features, blocks) → 3x3 conv → global residual.

    Args:
        width: channels at full resolution (32 in the paper's small models).
        encoder_blocks: blocks per encoder level; its length is the number of down-samplings.
        middle_blocks: blocks at the lowest resolution (most of the receptive field).
        decoder_blocks: blocks per decoder level, deepest first; same length as encoder_blocks.
        attention_window: local window (feature px, odd) of the channel attention at every level.
        max_width: channels stop doubling at this width (None: the paper's doubling at every
            level). The deepest levels hold most parameters but little of the compute: capping
            them keeps the exports small without shrinking the receptive field.
        dropout: rate after each block's two branches (0 in the paper); inactive at inference.
        folded: the inference form made by ``for_inference()`` (layer norms without scale and
            offset, plain residual adds); not for training, where a fresh block must start as the
            identity through its zero residual scale.
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, width: int = 32, encoder_blocks=(1, 1, 1, 28), middle_blocks: int = 1,
                 decoder_blocks=(1, 1, 1, 1), attention_window: int = 7, dropout: float = 0.0,
                 max_width: int | None = None, folded: bool = False, image_shape=(None, None, 3),
                 **kwargs):
        encoder_blocks, decoder_blocks = tuple(encoder_blocks), tuple(decoder_blocks)
        if len(encoder_blocks) != len(decoder_blocks):
            raise ValueError(f"encoder_blocks {encoder_blocks} and decoder_blocks {decoder_blocks} "
                             "need the same length (one entry per resolution level)")
        if folded and dropout:
            raise ValueError("a folded NAFNet is for inference: build it with dropout=0")
        if attention_window < 1 or attention_window % 2 == 0:
            raise ValueError(f"attention_window must be a positive odd number, got {attention_window}")
        multiple = 2 ** len(encoder_blocks)
        inputs = keras.Input(shape=image_shape, name="blurred")
        padded = PadToMultiple(multiple, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Conv2D(width, 3, padding="same", name="stem")(padded)
        widths = [width * 2 ** level for level in range(len(encoder_blocks) + 1)]
        if max_width is not None:
            widths = [min(w, max_width) for w in widths]
        skips = []
        for level, count in enumerate(encoder_blocks):
            for b in range(count):
                x = _naf_block(x, widths[level], attention_window, dropout, f"enc{level}_{b}_", folded)
            skips.append(x)
            x = keras.layers.Conv2D(widths[level + 1], 2, strides=2, name=f"down{level}")(x)
        for b in range(middle_blocks):
            x = _naf_block(x, widths[-1], attention_window, dropout, f"mid{b}_", folded)
        for level, count in zip(reversed(range(len(decoder_blocks))), decoder_blocks):
            # 1x1 conv to 4x the next width, then PixelShuffle: 2x the size at that width.
            x = keras.layers.Conv2D(widths[level] * 4, 1, use_bias=False, name=f"up{level}_conv")(x)
            x = PixelShuffle(2, name=f"up{level}_shuffle")(x)
            x = keras.layers.Add(name=f"up{level}_skip")([x, skips[level]])
            for b in range(count):
                x = _naf_block(x, widths[level], attention_window, dropout, f"dec{level}_{b}_", folded)
        # float32 tail: in bf16 the residual itself would be quantised to ~1/256 of its size.
        x = keras.layers.Conv2D(3, 3, padding="same", name="tail_conv", dtype="float32")(x)
        # A linear residual (NAFNet's): deblurring a sharp edge can need more than tanh's ±0.5.
        outputs = residual_output(x, padded, inputs, activation="linear")
        super().__init__(inputs, outputs, dict(
            width=width, encoder_blocks=list(encoder_blocks), middle_blocks=middle_blocks,
            decoder_blocks=list(decoder_blocks), attention_window=attention_window,
            dropout=dropout, max_width=max_width, folded=folded, image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = multiple

    def for_inference(self) -> "NAFNet":
        """The same function, folded for speed (a new model holding a copy of today's weights).

        A layer norm's scale γ and offset β feed a 1x1 conv (W, b): ``(n γ + β) W + b = n (γ W) +
        (β W + b)``; a residual scale s follows a 1x1 conv: ``s (z W + b) = z (W s) + s b``.
        Dropout is the identity at inference and is left out.
        """
        if self.arch_config["folded"]:
            return self
        folded = NAFNet(**{**self.arch_config, "folded": True, "dropout": 0.0}, name=self.name)
        for layer in folded.layers:
            if layer.weights:
                layer.set_weights([keras.ops.convert_to_numpy(w) for w in self.get_layer(layer.name).weights])
        for scaled in (layer for layer in self.layers if isinstance(layer, ScaledResidual)):
            block, branch = scaled.name.rsplit("_", 1)  # "mid0_beta" -> "mid0", "beta"
            norm_name, expand_name, project_name = FOLDS[branch]
            norm = self.get_layer(f"{block}_{norm_name}")
            gamma, beta = (keras.ops.convert_to_numpy(w) for w in (norm.gamma, norm.beta))
            expand = folded.get_layer(f"{block}_{expand_name}")
            kernel, bias = expand.get_weights()
            expand.set_weights([kernel * gamma[None, None, :, None], bias + beta @ kernel[0, 0]])
            project = folded.get_layer(f"{block}_{project_name}")
            scale = keras.ops.convert_to_numpy(scaled.scale)
            kernel, bias = project.get_weights()
            project.set_weights([kernel * scale, bias * scale])
        return folded


# Sized for a 2-core CPU and for shipping: most blocks at 1/8 and 1/16 resolution, where each
# one widens the receptive field most per FLOP (large shake kernels); channels capped at 128,
# which cuts the parameters from 3.86 M to 1.64 M (exports from ~48 MB to ~23 MB) at almost the
# same compute.
register_preset("nafnet_compact", "nafnet", width=16, encoder_blocks=[1, 1, 2, 4], middle_blocks=6,
                decoder_blocks=[1, 1, 1, 1], max_width=128)

# nafnet_compact with 4 more middle blocks (1/16 resolution): more capacity where it costs least
# time (+7 % at 128² in Keras, +0.5 M parameters). It has every layer of nafnet_compact under the
# same name, so it can grow from a trained one (train.init_grow). Measured once, grown from
# v4_content for 2,500 steps: the same val PSNR as nafnet_compact trained alongside (25.82 vs 25.83
# dB on `shen`) — but with the old depthwise init its new spatial branches never woke; untried since.
register_preset("nafnet_compact_deep", "nafnet", width=16, encoder_blocks=[1, 1, 2, 4], middle_blocks=10,
                decoder_blocks=[1, 1, 1, 1], max_width=128)
