"""Building blocks shared by the architectures."""

from __future__ import annotations

import keras
import tensorflow as tf


def instance_norm(name: str | None = None) -> keras.layers.Layer:
    """Instance normalisation: statistics of each image and channel, in training and inference alike.

    GroupNormalization with one group per channel is exactly IN and has no running statistics, so
    exported models normalise over the image itself (the archived TF Addons package does not work with Keras 3).
    """
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def conv(x, filters: int, kernel: int, name: str, strides: int = 1, bias: bool = False):
    """A 'same'-padded convolution (no bias by default: a normalisation usually follows)."""
    return keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=bias,
                               name=name)(x)


def norm_act(x, name: str, activation: str = "relu"):
    """Instance norm then ReLU (``relu``) or LeakyReLU(0.1) (``lrelu``), named ``{name}in`` and
    ``{name}relu`` / ``{name}lrelu``."""
    x = instance_norm(f"{name}in")(x)
    if activation == "relu":
        return keras.layers.ReLU(name=f"{name}relu")(x)
    if activation == "lrelu":
        return keras.layers.LeakyReLU(0.1, name=f"{name}lrelu")(x)
    raise ValueError(f"activation must be relu or lrelu, got {activation!r}")


def conv_norm_act(x, filters: int, kernel: int, name: str, strides: int = 1, activation: str = "relu"):
    """conv (``{name}conv``) → instance norm → activation: the stem of most of the generators."""
    return norm_act(conv(x, filters, kernel, f"{name}conv", strides), name, activation)


@keras.saving.register_keras_serializable(package="deblur_tf")
class ReflectPad(keras.layers.Layer):
    """Constant-size reflection padding of the spatial dims (TFLite MIRROR_PAD)."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, x):
        p = self.pad
        return keras.ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d + 2 * self.pad  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


@keras.saving.register_keras_serializable(package="deblur_tf")
class PadToMultiple(keras.layers.Layer):
    """Reflect-pad bottom/right so H and W become multiples of ``multiple`` (strided nets need it).

    The pad amount is dynamic; the explicit reshape restores the static channel count that tf.pad
    loses with dynamic paddings (without it TFLite conversion fails on the following conv).
    """

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, x):
        shape = tf.shape(x)
        h, w = shape[1], shape[2]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        y = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], mode="SYMMETRIC")
        return tf.reshape(y, [shape[0], h + ph, w + pw, x.shape[-1]])

    def compute_output_shape(self, shape):
        up = lambda d: None if d is None else -(-d // self.multiple) * self.multiple  # noqa: E731
        return (shape[0], up(shape[1]), up(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="deblur_tf")
class CropToMatch(keras.layers.Layer):
    """Crop ``x`` to the spatial size of ``reference`` (undoes PadToMultiple)."""

    def call(self, x, reference):
        shape = tf.shape(reference)
        return x[:, :shape[1], :shape[2], :]

    def compute_output_shape(self, x_shape, reference_shape):
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])


@keras.saving.register_keras_serializable(package="deblur_tf")
class GlobalSkip(keras.layers.Layer):
    """out = clip(input + residual) with images in [0, 1] and a tanh residual in [-1, 1].

    DeblurGAN works in [-1, 1]: clip(x + r, -1, 1). With x01 = (x + 1) / 2 that is
    clip(x01 + r / 2, 0, 1), so the model's public range stays [0, 1].
    """

    def call(self, image, residual):
        return keras.ops.clip(image + 0.5 * residual, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="deblur_tf")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel up-sampling (Shi et al. 2016): C * r^2 maps -> C maps at r times the size."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return tf.nn.depth_to_space(x, self.factor)

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d * self.factor  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3] // self.factor ** 2)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="deblur_tf")
class NearestUpsample(keras.layers.Layer):
    """Nearest-neighbour up-sampling by an integer factor that keeps the static channel count
    (UpSampling2D on dynamic H x W loses it, and TFLite then cannot convert the next conv)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        shape = tf.shape(x)
        k = self.factor
        y = tf.image.resize(x, [shape[1] * k, shape[2] * k], method="nearest")
        return tf.reshape(y, [shape[0], shape[1] * k, shape[2] * k, x.shape[-1]])

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d * self.factor  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def residual_output(features, padded, inputs, activation: str = "tanh"):
    """The generators' shared tail: ``features`` (3 maps) → residual (``activation``: DeblurGAN's
    tanh, or "linear" for an unbounded one) → clip(padded input + residual) (GlobalSkip) →
    cropped back to the input's size. float32 under mixed precision."""
    residual = keras.layers.Activation(activation, name="residual", dtype="float32")(features)
    restored = GlobalSkip(name="global_skip", dtype="float32")(padded, residual)
    return CropToMatch(name="restored", dtype="float32")(restored, inputs)


def patch_scores(x, output_activation):
    """The critics' shared tail: a 4x4 conv to one map of patch scores, raw (WGAN-GP) or through
    ``output_activation`` (e.g. "sigmoid" for BCE)."""
    x = keras.layers.Conv2D(1, 4, padding="same", name="scores")(x)
    return keras.layers.Activation(output_activation or "linear", dtype="float32", name="patch_scores")(x)
