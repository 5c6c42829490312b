"""Chen & Chang's InceptionResDense (IRD) generator for blind face deblurring."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import PadToMultiple, conv, norm_act, residual_output
from deblur_tf.models.registry import register_generator, register_preset




def _ird_block(x, n, dropout, name):
    """IN-ReLU-1x1 bottleneck to 4N; four inception branches of N maps each (1x1 | 1x1-3x3 |
    1x1-3x3-3x3 | maxpool-1x1), concatenated (4N) and added to the bottleneck; a 3x3 conv to N
    concatenated behind the block input (dense growth N)."""
    b = conv(norm_act(x, f"{name}bottleneck_"), 4 * n, 1, f"{name}bottleneck_conv")
    branches = [norm_act(conv(b, n, 1, f"{name}b1_conv"), f"{name}b1_")]
    y = norm_act(conv(b, n, 1, f"{name}b2_conv1"), f"{name}b2_1_")
    branches.append(norm_act(conv(y, n, 3, f"{name}b2_conv2"), f"{name}b2_2_"))
    y = norm_act(conv(b, n, 1, f"{name}b3_conv1"), f"{name}b3_1_")
    y = norm_act(conv(y, n, 3, f"{name}b3_conv2"), f"{name}b3_2_")
    branches.append(norm_act(conv(y, n, 3, f"{name}b3_conv3"), f"{name}b3_3_"))
    y = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}b4_pool")(b)
    branches.append(norm_act(conv(y, n, 1, f"{name}b4_conv"), f"{name}b4_"))
    y = keras.layers.Concatenate(name=f"{name}inception")(branches)
    y = keras.layers.Add(name=f"{name}residual")([b, y])
    y = conv(y, n, 3, f"{name}growth_conv")
    if dropout:
        y = keras.layers.Dropout(dropout, name=f"{name}dropout")(y)
    return keras.layers.Concatenate(name=f"{name}dense")([x, y])


@register_generator("ird_chen")
class IRDChen(ArchModel):
    """Two stride-2 conv–IN–ReLU blocks (2N, 4N maps) → nine IRD blocks (dense growth N each:
    4N + 9N = 13N maps) → two 1x1 transition blocks (13N → 7N → 4N) → two stride-2 transposed-conv
    blocks (2N, N) → 3x3 conv + tanh, with the global skip I_sharp = I_blurred + G(I_blurred).

    Dropout 0.2 after every IRD block (inactive at inference). The paper's loss is
    WGAN-GP + 100·perceptual + 170·L1 (experiment ``lfw_ird_chen``).

    Args:
        n: base width N (64 in the paper).
        num_blocks: IRD blocks (9); the transitions go (4 + num_blocks)N → 7N → 4N.
        dropout: rate after each IRD block.
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, n: int = 64, num_blocks: int = 9, dropout: float = 0.2,
                 image_shape=(None, None, 3), **kwargs):
        inputs = keras.Input(shape=image_shape, name="blurred")
        padded = PadToMultiple(4, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(padded)
        x = norm_act(conv(x, 2 * n, 3, "down0_conv", strides=2), "down0_")
        x = norm_act(conv(x, 4 * n, 3, "down1_conv", strides=2), "down1_")
        for b in range(num_blocks):
            x = _ird_block(x, n, dropout, f"ird{b}_")
        x = norm_act(conv(x, 7 * n, 1, "transition0_conv"), "transition0_")
        x = norm_act(conv(x, 4 * n, 1, "transition1_conv"), "transition1_")
        for i, width in enumerate((2 * n, n)):
            x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", use_bias=False,
                                             name=f"up{i}_tconv")(x)
            x = norm_act(x, f"up{i}_")
        x = keras.layers.Conv2D(3, 3, padding="same", name="tail_conv")(x)
        outputs = residual_output(x, padded, inputs)
        super().__init__(inputs, outputs, dict(n=n, num_blocks=num_blocks, dropout=dropout,
                                               image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = 4


register_preset("ird_chen_compact", "ird_chen", n=16)
