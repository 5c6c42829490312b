"""DeblurGAN's ResNet generator (Kupyn et al. 2018), images in [0, 1] of any H x W."""

from __future__ import annotations

import keras

from deblur_tf.models.base import ArchModel
from deblur_tf.models.layers import (PadToMultiple, ReflectPad, conv_norm_act,
                                     instance_norm, residual_output)
from deblur_tf.models.registry import register_generator, register_preset


def _conv_in_relu(x, filters, kernel, strides=1, name=""):
    return conv_norm_act(x, filters, kernel, name, strides)


def _residual_block(x, filters, dropout, name):
    # conv-IN-ReLU-dropout-conv-IN with reflection padding, as in DeblurGAN's ResnetBlock.
    y = ReflectPad(1, name=f"{name}pad1")(x)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}conv1")(y)
    y = instance_norm(f"{name}in1")(y)
    y = keras.layers.ReLU(name=f"{name}relu")(y)
    if dropout:
        y = keras.layers.Dropout(dropout, name=f"{name}dropout")(y)
    y = ReflectPad(1, name=f"{name}pad2")(y)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}conv2")(y)
    y = instance_norm(f"{name}in2")(y)
    return keras.layers.Add(name=f"{name}add")([x, y])


@register_generator("deblurgan_resnet")
class DeblurGANResNet(ArchModel):
    """7x7 conv → ``num_downsampling`` stride-2 convs → ``num_blocks`` residual blocks →
    as many up-sampling stages → 7x7 conv → tanh, with the global skip clip(input + residual).

    Args:
        filters: width of the first conv (64 in the paper); doubles at each down-sampling.
        num_blocks: residual blocks (9 in the paper).
        num_downsampling: stride-2 stages (2 in the paper); inputs are padded to 2**this.
        dropout: rate inside residual blocks (0.5 in the paper); inactive at inference.
        upsample: ``"transpose"`` (the paper's transposed convs) or ``"resize"`` (nearest
            up-sampling + 3x3 conv, which avoids checkerboard artefacts).
        image_shape: input shape, ``(None, None, 3)`` for any size.
    """

    def __init__(self, filters: int = 64, num_blocks: int = 9, num_downsampling: int = 2,
                 dropout: float = 0.5, upsample: str = "transpose",
                 image_shape=(None, None, 3), **kwargs):
        if upsample not in ("transpose", "resize"):
            raise ValueError(f"upsample must be 'transpose' or 'resize', got {upsample!r}")
        multiple = 2 ** num_downsampling
        inputs = keras.Input(shape=image_shape, name="blurred")
        # The skip path stays float32 under mixed precision: bf16 would quantise the output to
        # about one grey level before the residual is even added.
        padded = PadToMultiple(multiple, name="pad_to_multiple", dtype="float32")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(padded)
        x = ReflectPad(3, name="head_pad")(x)
        x = keras.layers.Conv2D(filters, 7, use_bias=False, name="head_conv")(x)
        x = keras.layers.ReLU(name="head_relu")(instance_norm("head_in")(x))
        width = filters
        for i in range(num_downsampling):
            width *= 2
            x = _conv_in_relu(x, width, 3, strides=2, name=f"down{i}_")
        for b in range(num_blocks):
            x = _residual_block(x, width, dropout, name=f"res{b}_")
        for i in range(num_downsampling):
            width //= 2
            if upsample == "transpose":
                x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same",
                                                 use_bias=False, name=f"up{i}_tconv")(x)
                x = keras.layers.ReLU(name=f"up{i}_relu")(instance_norm(f"up{i}_in")(x))
            else:
                x = keras.layers.UpSampling2D(2, name=f"up{i}_resize")(x)
                x = _conv_in_relu(x, width, 3, name=f"up{i}_")
        x = ReflectPad(3, name="tail_pad")(x)
        x = keras.layers.Conv2D(3, 7, name="tail_conv")(x)
        outputs = residual_output(x, padded, inputs)
        super().__init__(inputs, outputs, dict(
            filters=filters, num_blocks=num_blocks, num_downsampling=num_downsampling,
            dropout=dropout, upsample=upsample, image_shape=tuple(image_shape)), **kwargs)
        self.size_multiple = multiple


# The paper's configuration (11.4M parameters), and a compact one that trains on a 2-core CPU.
register_preset("deblurgan_resnet_paper", "deblurgan_resnet", filters=64, num_blocks=9)
register_preset("deblurgan_resnet_compact", "deblurgan_resnet", filters=32, num_blocks=6)
