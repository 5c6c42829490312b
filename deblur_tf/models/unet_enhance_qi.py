"""Qi et al. 2020, blind face deblurring with enhancement: a residual U-Net, then an enhancement
module (DRDBU: densely connected residual dense blocks) feeding a second encoder-decoder."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import CropToMatch, PadToMultiple, conv, norm_act, residual_output
from deblur_tf.models.registry import register_generator, register_preset




def _residual_block(x, name):
    """Three conv–IN–ReLU groups, the block input added to their output."""
    y = x
    for i in range(3):
        y = norm_act(conv(y, x.shape[-1], 3, f"{name}conv{i}"), f"{name}{i}_")
    return keras.layers.Add(name=f"{name}add")([x, y])


def _recurrent_conv(x, name, iterations=2):
    """A recurrent conv layer: h = ReLU(IN(f(x) + r(h))) iterated, r's weights shared across steps."""
    feed = conv(x, x.shape[-1], 3, f"{name}feed")
    recurrent = keras.layers.Conv2D(x.shape[-1], 3, padding="same", use_bias=False, name=f"{name}recurrent")
    h = norm_act(feed, f"{name}t0_")
    for t in range(1, iterations + 1):
        h = norm_act(keras.layers.Add(name=f"{name}t{t}_sum")([feed, recurrent(h)]), f"{name}t{t}_")
    return h


def _recurrent_residual_block(x, name):
    """RRRB: two recurrent conv layers (each iterating twice), the block input added."""
    y = _recurrent_conv(x, f"{name}rcl0_")
    y = _recurrent_conv(y, f"{name}rcl1_")
    return keras.layers.Add(name=f"{name}add")([x, y])


def _encoder_decoder(x, levels, blocks, block_fn, name):
    """Levels of (stride-2 conv doubling the maps + ``blocks`` blocks), a mirrored decoder of
    (``blocks`` blocks + transposed conv halving the maps) with additive skip connections."""
    skips = []
    for level in range(levels):
        skips.append(x)
        x = norm_act(conv(x, 2 * x.shape[-1], 3, f"{name}enc{level}_down", strides=2), f"{name}enc{level}_down_")
        for b in range(blocks):
            x = block_fn(x, f"{name}enc{level}_block{b}_")
    for level in reversed(range(levels)):
        for b in range(blocks):
            x = block_fn(x, f"{name}dec{level}_block{b}_")
        x = keras.layers.Conv2DTranspose(x.shape[-1] // 2, 3, strides=2, padding="same", use_bias=False,
                                         name=f"{name}dec{level}_up")(x)
        x = norm_act(x, f"{name}dec{level}_up_")
        x = keras.layers.Add(name=f"{name}dec{level}_skip")([x, skips[level]])
    return x


def _dense_block(x, growth, layers, alpha, name):
    """RRDB-style residual dense block: ``layers`` 3x3 convs each seeing all earlier maps
    (growth ``growth``), fused by a 1x1 conv, scaled by ``alpha`` and added to the input."""
    features = [x]
    for i in range(layers):
        inp = features[0] if i == 0 else keras.layers.Concatenate(name=f"{name}cat{i}")(features)
        y = conv(inp, growth, 3, f"{name}conv{i}", bias=True)
        features.append(keras.layers.LeakyReLU(0.2, name=f"{name}lrelu{i}")(y))
    y = conv(keras.layers.Concatenate(name=f"{name}cat_all")(features), x.shape[-1], 1, f"{name}fuse", bias=True)
    y = keras.layers.Rescaling(alpha, name=f"{name}scale")(y)
    return keras.layers.Add(name=f"{name}add")([x, y])


def _drdbu(x, growth, alpha, name, blocks=3):
    """Three dense blocks with dense connections between them: each block's input is the 1x1
    fusion of the module input and all earlier blocks' outputs; the fused result is scaled by
    ``alpha`` and added to the module input."""
    outputs = [x]
    for b in range(blocks):
        inp = x if b == 0 else conv(keras.layers.Concatenate(name=f"{name}link{b}")(outputs),
                                     x.shape[-1], 1, f"{name}link{b}_conv", bias=True)
        outputs.append(_dense_block(inp, growth, 4, alpha, f"{name}rdb{b}_"))
    y = conv(keras.layers.Concatenate(name=f"{name}cat")(outputs), x.shape[-1], 1, f"{name}fuse", bias=True)
    y = keras.layers.Rescaling(alpha, name=f"{name}scale")(y)
    return keras.layers.Add(name=f"{name}add")([x, y])


@register_generator("unet_enhance_qi")
class UNetEnhanceQi(ArchModel):
    """Head conv → U-Net (``levels`` encoder levels of a stride-2 conv doubling the maps plus
    ``blocks`` residual blocks, a mirrored decoder, skip connections) → enhancement module
    (DRDBU: three residual dense blocks, growth 8, residual scaling 0.2, densely connected)
    → a second encoder-decoder stage → 3x3 conv + tanh.

    The paper outputs the image from the tanh; ``global_skip=True`` adds the tanh to the input
    instead (as the DeblurGAN generators here do). Its loss: 1·MSE + 10·perceptual (VGG relu3_3)
    + 1·WGAN-GP (experiment ``lfw_unet_enhance_qi``).

    Args:
        filters: maps after the head conv (doubling per level).
        levels: down-sampling levels per encoder-decoder (inputs padded to 2**levels).
        blocks: residual blocks per encoder and per decoder level (3 in the paper).
        recurrent: use RRRB blocks (recurrent residual, two iterations) instead of residual blocks.
        growth, alpha: the dense blocks' growth rate (8) and residual scaling (0.2).
        global_skip: see above.
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, filters: int = 32, levels: int = 2, blocks: int = 3, recurrent: bool = False,
                 growth: int = 8, alpha: float = 0.2, global_skip: bool = False,
                 image_shape=(None, None, 3), **kwargs):
        multiple = 2 ** levels
        block_fn = _recurrent_residual_block if recurrent else _residual_block
        inputs = keras.Input(shape=image_shape, name="blurred")
        padded = PadToMultiple(multiple, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(padded)
        x = norm_act(conv(x, filters, 3, "head_conv"), "head_")
        x = _encoder_decoder(x, levels, blocks, block_fn, "stage1_")
        x = _drdbu(x, growth, alpha, "drdbu_")
        x = _encoder_decoder(x, levels, blocks, block_fn, "stage2_")
        x = keras.layers.Conv2D(3, 3, padding="same", name="tail_conv")(x)
        if global_skip:
            outputs = residual_output(x, padded, inputs)
        else:
            t = keras.layers.Activation("tanh", name="tanh", dtype="float32")(x)
            image = keras.layers.Rescaling(0.5, offset=0.5, name="to_01", dtype="float32")(t)
            outputs = CropToMatch(name="restored", dtype="float32")(image, inputs)
        super().__init__(inputs, outputs, dict(
            filters=filters, levels=levels, blocks=blocks, recurrent=recurrent, growth=growth,
            alpha=alpha, global_skip=global_skip, image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = multiple


register_preset("unet_enhance_qi_compact", "unet_enhance_qi", filters=16, blocks=1)
