"""Murugan 2018, "Facial information recovery from heavily damaged images": a residual U-Net."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import (PadToMultiple, PixelShuffle, conv_norm_act,
                                     instance_norm, residual_output)
from deblur_tf.models.registry import register_generator, register_preset


def _conv_in_lrelu(x, filters, kernel, name, strides=1):
    return conv_norm_act(x, filters, kernel, name, strides, activation="lrelu")


@register_generator("unet_res_murugan")
class UNetResMurugan(ArchModel):
    """Head conv → down-sampling (average pooling, then a stride-2 conv) → seven residual blocks →
    up-sampling (PixelShuffle, then a stride-2 transposed conv) → two rear conv blocks, with a
    global skip from input to output.

    Each residual block is four conv → IN → LeakyReLU(0.1) groups with dropout after the second,
    and its input added to its output. Local connections: the third activation of each block is
    added to the first activation of the next block. The paper's widths (``width=1``): 7x7 convs
    with 256 filters in the first two conv layers, 5x5 convs with 128 filters in the blocks; a 1x1
    conv adapts 256 to 128 maps before the first block (the paper does not say how).

    Args:
        width: multiplies every filter count (1.0 = the paper's, sized for a GPU).
        num_blocks: residual blocks (7 in the paper).
        dropout: rate inside the residual blocks (0.5); inactive at inference.
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, width: float = 1.0, num_blocks: int = 7, dropout: float = 0.5,
                 image_shape=(None, None, 3), **kwargs):
        wide, narrow = max(int(256 * width), 8), max(int(128 * width), 8)
        inputs = keras.Input(shape=image_shape, name="blurred")
        padded = PadToMultiple(4, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(padded)
        x = _conv_in_lrelu(x, wide, 7, "head_")
        x = keras.layers.AveragePooling2D(2, name="down0_avgpool")(x)
        x = _conv_in_lrelu(x, wide, 7, "down1_", strides=2)
        x = keras.layers.Conv2D(narrow, 1, use_bias=False, name="to_blocks")(x)
        carry = None  # the previous block's third activation
        for b in range(num_blocks):
            y = _conv_in_lrelu(x, narrow, 5, f"res{b}_1_")
            if carry is not None:
                y = keras.layers.Add(name=f"res{b}_local")([y, carry])
            y = _conv_in_lrelu(y, narrow, 5, f"res{b}_2_")
            if dropout:
                y = keras.layers.Dropout(dropout, name=f"res{b}_dropout")(y)
            carry = y = _conv_in_lrelu(y, narrow, 5, f"res{b}_3_")
            y = _conv_in_lrelu(y, narrow, 5, f"res{b}_4_")
            x = keras.layers.Add(name=f"res{b}_add")([x, y])
        # PixelShuffle: 4x the maps, then depth_to_space trades them for 2x the resolution.
        x = keras.layers.Conv2D(4 * narrow, 3, padding="same", name="up0_conv")(x)
        x = PixelShuffle(2, name="up0_pixelshuffle")(x)
        x = keras.layers.LeakyReLU(0.1, name="up0_lrelu")(instance_norm("up0_in")(x))
        x = keras.layers.Conv2DTranspose(narrow // 2, 3, strides=2, padding="same", use_bias=False,
                                         name="up1_tconv")(x)
        x = keras.layers.LeakyReLU(0.1, name="up1_lrelu")(instance_norm("up1_in")(x))
        x = _conv_in_lrelu(x, max(narrow // 2, 8), 3, "rear0_")
        x = keras.layers.Conv2D(3, 7, padding="same", name="rear1_conv")(x)
        outputs = residual_output(x, padded, inputs)
        super().__init__(inputs, outputs, dict(width=width, num_blocks=num_blocks, dropout=dropout,
                                               image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = 4


register_preset("unet_res_murugan_compact", "unet_res_murugan", width=0.25)
