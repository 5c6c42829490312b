"""Losses: WGAN-GP (λ = 10), BCE GAN, perceptual (ImageNet VGG16 relu3_3), L1 / MSE / frequency
L1 content.

Images are float32 in [0, 1] throughout; critics return per-patch score maps that are averaged
into one score per sample.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from deblur_tf.paths import shared_file

GP_WEIGHT = 10.0
VGG_LAYER = "block3_conv3"  # relu3_3: Keras' VGG convs carry their ReLU
VGG_WEIGHTS_FILE = "vgg16_imagenet_to_block3_conv3.weights.h5"


def per_sample_score(scores: tf.Tensor) -> tf.Tensor:
    """Average a [B, h, w, 1] patch-score map (or [B, ...]) into [B] per-sample scores."""
    scores = tf.cast(scores, tf.float32)
    return tf.reduce_mean(tf.reshape(scores, [tf.shape(scores)[0], -1]), axis=1)


def interpolate(real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """x̂ = real + α (fake - real) with one α per sample (shape [B])."""
    alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1, 1, 1, 1])
    return real + alpha * (fake - real)


def gradient_penalty(critic, real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """E[(‖∇D(x̂)‖₂ - 1)²] with the norm over each sample's whole image (Gulrajani et al. 2017).

    The norm is taken over H, W and C together — not per pixel, a known bug of DeblurGAN's
    original code — and α is drawn by the caller from U(0, 1), one per sample.
    """
    x_hat = interpolate(real, fake, alpha)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = per_sample_score(critic(x_hat, training=True))
    # Samples are independent (instance norm, no batch statistics), so the gradient of the summed
    # scores holds each sample's own gradient.
    grads = tape.gradient(scores, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def wgan_critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """E[D(fake)] - E[D(real)]: the negative Wasserstein estimate the critic minimises."""
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wgan_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    return -tf.reduce_mean(fake_scores)


def bce_critic_loss(real_scores, fake_scores, from_logits: bool = True) -> tf.Tensor:
    bce = keras.losses.BinaryCrossentropy(from_logits=from_logits)
    return bce(tf.ones_like(real_scores), real_scores) + bce(tf.zeros_like(fake_scores), fake_scores)


def bce_generator_loss(fake_scores, from_logits: bool = True) -> tf.Tensor:
    """Non-saturating GAN loss: -log D(G(x))."""
    return keras.losses.BinaryCrossentropy(from_logits=from_logits)(tf.ones_like(fake_scores), fake_scores)


def l1_loss(a, b) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def mse_loss(a, b) -> tf.Tensor:
    return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)))


def frequency_l1_loss(a, b) -> tf.Tensor:
    """Mean |F(a) - F(b)| over the real and imaginary parts of each channel's 2-D FFT.

    The frequency loss of MIMO-UNet (Cho et al. 2021), which found that it helps a deblurrer put
    back the fine detail a pixel loss lets it leave out. The FFT is orthonormal (divided by
    sqrt(H W)): by Parseval, a noise-like error gives the same loss at every image size.
    """
    diff = tf.cast(a, tf.float32) - tf.cast(b, tf.float32)  # the FFT is linear: F(a) - F(b) = F(a - b)
    height, width = tf.shape(diff)[1], tf.shape(diff)[2]
    # rfft: a real image's spectrum is Hermitian, so the half-plane holds every frequency once.
    spectrum = tf.signal.rfft2d(tf.transpose(diff, [0, 3, 1, 2]))
    scale = tf.sqrt(tf.cast(height * width, tf.float32))
    return tf.reduce_mean(tf.abs(tf.math.real(spectrum)) + tf.abs(tf.math.imag(spectrum))) / (2.0 * scale)


def ssim_loss(a, b) -> tf.Tensor:
    """1 - mean SSIM (``tf.image.ssim``, 11 x 11 Gaussian window, images in [0, 1]).

    Zhao et al. (2017, "Loss functions for image restoration with neural networks") found that
    adding it to L1 improves restorers on PSNR as well as SSIM: it weighs an error by the local
    contrast, so errors in flat skin and soft shadows, which L1 treats like any other, count more.
    """
    return 1.0 - tf.reduce_mean(tf.image.ssim(tf.cast(a, tf.float32), tf.cast(b, tf.float32), max_val=1.0))


def hole_weighted_l1(a, b, mask, hole_weight: float) -> tf.Tensor:
    """mean((1 - mask) |a - b|) + hole_weight * mean(mask |a - b|), means over all pixels (Liu et
    al. 2018's L_valid + 6 L_hole); ``mask`` [B, H, W, 1], 1 = hole."""
    err = tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32))
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_mean((1.0 - mask) * err) + hole_weight * tf.reduce_mean(mask * err)


def hole_l1(a, b, mask) -> tf.Tensor:
    """Mean absolute error over the hole pixels only (0 when there is no hole)."""
    err = tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32))
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_sum(mask * err) / tf.maximum(3.0 * tf.reduce_sum(mask), 1.0)


def default_vgg_weights() -> str | None:
    """The relu3_3 VGG16 weights in the shared folder, or None when absent."""
    path = shared_file("weights", VGG_WEIGHTS_FILE)
    return None if path is None else str(path)


def vgg16_features(weights: str | None, layer: str = VGG_LAYER) -> keras.Model:
    """ImageNet VGG16 truncated at ``layer``, frozen, taking RGB in [0, 1].

    ``weights``: a ``.weights.h5`` file (torchvision weights re-saved for Keras, see
    ../shared/README.md), ``"imagenet"`` (Keras' download; needs internet), or None (random init,
    for tests only: a random VGG is not a perceptual metric).
    The shared weights are torchvision's, so the input is normalised torch-style
    ((x - mean) / std), not Keras' caffe-style BGR mean subtraction.
    """
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name=f"vgg16_{layer}")
    if weights == "imagenet":
        raise ValueError("Keras' 'imagenet' VGG16 weights are caffe-mode and need a download; pass "
                         "the .weights.h5 file from ../shared/weights instead")
    if weights:
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"VGG16 weights not found: {weights}")
        try:
            features.load_weights(weights)
        except ValueError:  # the full 13-conv file: load into the whole net (shares the layers)
            vgg.load_weights(weights)
    features.trainable = False
    return features


@keras.saving.register_keras_serializable(package="deblur_tf")
class PerceptualLoss(keras.layers.Layer):
    """MSE between VGG16 relu3_3 features of two images in [0, 1] (Johnson et al. 2016)."""

    def __init__(self, weights: str | None = None, layer: str = VGG_LAYER, **kwargs):
        super().__init__(**kwargs)
        self.weights_path = weights
        self.layer = layer
        self.features = vgg16_features(weights, layer)
        self.mean = tf.constant([0.485, 0.456, 0.406], tf.float32)
        self.std = tf.constant([0.229, 0.224, 0.225], tf.float32)

    def preprocess(self, x):
        return (tf.cast(x, tf.float32) - self.mean) / self.std

    def call(self, restored, target):
        target_features = tf.stop_gradient(self.features(self.preprocess(target), training=False))
        restored_features = self.features(self.preprocess(restored), training=False)
        return tf.reduce_mean(tf.square(tf.cast(restored_features, tf.float32)
                                        - tf.cast(target_features, tf.float32)))

    def get_config(self):
        return {**super().get_config(), "weights": self.weights_path, "layer": self.layer}
