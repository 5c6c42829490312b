"""DeblurGAN training as a keras.Model: ``fit()``, progress bars and callbacks work unchanged.

``train_step`` runs ``n_critic`` critic updates (default 5, WGAN-GP) then one generator update;
``n_critic=0`` is the content-only warm-up (L1 + perceptual, no critic), the affordable way to get
far on a CPU before adversarial fine-tuning.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from deblur_tf import losses as L

ADVERSARIAL_MODES = ("wgan-gp", "bce", "none")


@keras.saving.register_keras_serializable(package="deblur_tf")
class LinearDecaySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``initial_learning_rate`` until ``decay_start``, then linear to 0 at ``total_steps``.

    DeblurGAN's schedule (constant for the first half, linear decay over the second). Steps are the
    optimizer's own iterations: the critic's optimizer counts n_critic per training step.
    """

    def __init__(self, initial_learning_rate: float, total_steps: int, decay_start: int):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = int(decay_start)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        span = max(self.total_steps - self.decay_start, 1)
        frac = tf.clip_by_value((step - self.decay_start) / span, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - frac)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "total_steps": self.total_steps, "decay_start": self.decay_start}


def adam(learning_rate, beta_1: float = 0.5, beta_2: float = 0.999) -> keras.optimizers.Adam:
    return keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2)


def _for_keras_reduce(logs: dict) -> dict:
    """Under MultiWorkerMirroredStrategy Keras 3 (3.15) reduces each returned log with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on a scalar ("Invalid reduction
    dimension 0"): give it a [1] vector there (the mean over axis 0 is the scalar again)."""
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return {k: tf.reshape(v, [1]) for k, v in logs.items()}
    return logs


class DeblurGAN(keras.Model):
    """Generator + critic trained with WGAN-GP (or BCE) and content losses.

    Args:
        generator: maps blurred [0, 1] images to restored ones of the same shape.
        critic: scores images (patch map); may be None in content-only mode.
        n_critic: critic updates per generator update; 0 trains the generator on content only.
        adversarial: ``"wgan-gp"``, ``"bce"`` (non-saturating, critic gives logits unless its
            ``output_activation`` is sigmoid) or ``"none"``.
        gp_weight: λ of the gradient penalty (10).
        adversarial_weight, l1_weight, mse_weight, perceptual_weight, frequency_weight, ssim_weight:
            generator loss weights (frequency: ``losses.frequency_l1_loss``, tracked as
            ``g_frequency``; ssim: ``losses.ssim_loss``, tracked as ``g_ssim``; each only when its
            weight is not 0).
        perceptual: a ``losses.PerceptualLoss`` (needed when perceptual_weight > 0).
        hole_weight: for inpainting generators, whose input is (image, mask): the L1 is
            ``mean((1 - mask) |r - s|) + hole_weight * mean(mask |r - s|)`` (Liu et al. 2018 use
            6), and ``g_hole_l1`` (the mean error inside the holes) is tracked as well.
    """

    def __init__(self, generator: keras.Model, critic: keras.Model | None = None, *,
                 n_critic: int = 5, adversarial: str = "wgan-gp", gp_weight: float = L.GP_WEIGHT,
                 adversarial_weight: float = 1.0, l1_weight: float = 1.0, mse_weight: float = 0.0,
                 perceptual_weight: float = 0.0, perceptual: L.PerceptualLoss | None = None,
                 hole_weight: float = 1.0, frequency_weight: float = 0.0, ssim_weight: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if adversarial not in ADVERSARIAL_MODES:
            raise ValueError(f"adversarial must be one of {ADVERSARIAL_MODES}, got {adversarial!r}")
        if n_critic < 0:
            raise ValueError(f"n_critic must be >= 0, got {n_critic}")
        if perceptual_weight and perceptual is None:
            raise ValueError("perceptual_weight > 0 needs a PerceptualLoss (perceptual=...)")
        self.adversarial_on = adversarial != "none" and n_critic > 0 and adversarial_weight > 0
        if self.adversarial_on and critic is None:
            raise ValueError(f"adversarial={adversarial!r} with n_critic={n_critic} needs a critic")
        self.generator = generator
        self.critic = critic
        self.perceptual = perceptual
        self.n_critic = int(n_critic)
        self.adversarial = adversarial
        self.gp_weight = float(gp_weight)
        self.hole_weight = float(hole_weight)
        self.inpainting = len(getattr(generator, "inputs", None) or []) == 2  # (image, mask)
        self.weights_ = dict(adversarial=float(adversarial_weight), l1=float(l1_weight),
                             mse=float(mse_weight), perceptual=float(perceptual_weight),
                             frequency=float(frequency_weight), ssim=float(ssim_weight))
        self._critic_logits = critic is None or critic.get_config().get("output_activation") != "sigmoid"
        names = (["g_loss", "g_l1", "g_mse", "g_perceptual"] + (["g_hole_l1"] if self.inpainting else [])
                 + (["g_frequency"] if frequency_weight else []) + (["g_ssim"] if ssim_weight else []))
        if self.adversarial_on:
            names += ["g_adv", "d_loss", "d_real", "d_fake"] + (["gp"] if adversarial == "wgan-gp" else [])
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.psnr_tracker = keras.metrics.Mean(name="psnr")
        self.ssim_tracker = keras.metrics.Mean(name="ssim")

    def compile(self, g_optimizer: keras.optimizers.Optimizer,
                d_optimizer: keras.optimizers.Optimizer | None = None, **kwargs):
        super().compile(**kwargs)
        if self.adversarial_on and d_optimizer is None:
            raise ValueError("adversarial training needs d_optimizer")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Build the slots now, inside whatever strategy scope compile() is called in:
        # MirroredStrategy cannot create them lazily inside the replicated train_step.
        g_optimizer.build(self.generator.trainable_variables)
        if d_optimizer is not None and self.critic is not None:
            d_optimizer.build(self.critic.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3 (3.15) builds a model under a tf.distribute strategy by pulling one batch and
        # reducing it with strategy.reduce("MEAN", ..., axis=None); under
        # MultiWorkerMirroredStrategy that reduce fails ("Attempt to convert a value (PerReplica
        # ...)"), so fit() never starts. This model needs no symbolic build: its generator and
        # critic are built when constructed, the optimizers in compile(), and its metrics are
        # created in __init__. Skip it when everything is built; otherwise let Keras build.
        if self.generator.built and (self.critic is None or self.critic.built) and self.optimizer_built():
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def optimizer_built(self) -> bool:
        return bool(getattr(self, "g_optimizer", None) is not None and self.g_optimizer.built
                    and (self.d_optimizer is None or self.d_optimizer.built))

    @property
    def metrics(self):
        return [*self.trackers.values(), self.psnr_tracker, self.ssim_tracker]

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # --- losses ------------------------------------------------------------------------------

    def _scores(self, images):
        return L.per_sample_score(self.critic(images, training=True))

    def _critic_losses(self, sharp, fake):
        real_scores, fake_scores = self._scores(sharp), self._scores(fake)
        logs = {"d_real": tf.reduce_mean(real_scores), "d_fake": tf.reduce_mean(fake_scores)}
        if self.adversarial == "wgan-gp":
            alpha = tf.random.uniform([tf.shape(sharp)[0]], 0.0, 1.0)
            logs["gp"] = L.gradient_penalty(self.critic, sharp, fake, alpha)
            logs["d_loss"] = L.wgan_critic_loss(real_scores, fake_scores) + self.gp_weight * logs["gp"]
        else:
            logs["d_loss"] = L.bce_critic_loss(real_scores, fake_scores, self._critic_logits)
        return logs

    def generator_losses(self, restored, sharp, mask=None) -> dict[str, tf.Tensor]:
        """Content (and adversarial) losses; ``mask`` (1 = hole) weights the L1 for inpainting."""
        w = self.weights_
        logs = {"g_l1": L.l1_loss(restored, sharp), "g_mse": L.mse_loss(restored, sharp),
                "g_perceptual": (self.perceptual(restored, sharp) if w["perceptual"] else tf.constant(0.0))}
        if mask is not None:
            logs["g_l1"] = L.hole_weighted_l1(restored, sharp, mask, self.hole_weight)
            logs["g_hole_l1"] = L.hole_l1(restored, sharp, mask)
        total = w["l1"] * logs["g_l1"] + w["mse"] * logs["g_mse"] + w["perceptual"] * logs["g_perceptual"]
        if w["frequency"]:
            logs["g_frequency"] = L.frequency_l1_loss(restored, sharp)
            total += w["frequency"] * logs["g_frequency"]
        if w["ssim"]:
            logs["g_ssim"] = L.ssim_loss(restored, sharp)
            total += w["ssim"] * logs["g_ssim"]
        if self.adversarial_on:
            fake_scores = self._scores(restored)
            logs["g_adv"] = (L.wgan_generator_loss(fake_scores) if self.adversarial == "wgan-gp"
                             else L.bce_generator_loss(fake_scores, self._critic_logits))
            total += w["adversarial"] * logs["g_adv"]
        logs["g_loss"] = total
        return logs

    # --- steps -------------------------------------------------------------------------------

    def _mask(self, inputs):
        return inputs[1] if self.inpainting else None

    def train_step(self, data):
        # blurred: an image batch, or (damaged, mask) for an inpainting generator.
        blurred, sharp = data[0], data[1]
        # Keras 3 sums gradients over replicas: scale per-replica losses so the sum is the mean.
        scale = 1.0 / tf.distribute.get_strategy().num_replicas_in_sync
        if self.adversarial_on:
            # G is frozen during the critic updates, so its output is computed once per step.
            fake = tf.stop_gradient(self.generator(blurred, training=True))
            # A Python loop: train_step is traced with AutoGraph off, and tf.while_loop breaks
            # under MirroredStrategy; n_critic is small, so unrolling is cheap.
            for _ in range(self.n_critic):
                with tf.GradientTape() as tape:
                    d_logs = self._critic_losses(sharp, fake)
                    d_loss = d_logs["d_loss"] * scale
                grads = tape.gradient(d_loss, self.critic.trainable_variables)
                self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))
            for name, value in d_logs.items():  # the last critic update's values
                self.trackers[name].update_state(value)
        with tf.GradientTape() as tape:
            restored = self.generator(blurred, training=True)
            g_logs = self.generator_losses(restored, sharp, self._mask(blurred))
            g_loss = g_logs["g_loss"] * scale
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        for name, value in g_logs.items():
            self.trackers[name].update_state(value)
        return _for_keras_reduce({name: t.result() for name, t in self.trackers.items()})

    def test_step(self, data):
        blurred, sharp = data[0], data[1]
        restored = self.generator(blurred, training=False)
        self.psnr_tracker.update_state(tf.image.psnr(restored, sharp, max_val=1.0))
        self.ssim_tracker.update_state(tf.image.ssim(restored, sharp, max_val=1.0))
        g_logs = {"g_l1": L.l1_loss(restored, sharp), "g_mse": L.mse_loss(restored, sharp)}
        if self.inpainting:
            g_logs["g_hole_l1"] = L.hole_l1(restored, sharp, self._mask(blurred))
        for name, value in g_logs.items():
            self.trackers[name].update_state(value)
        return _for_keras_reduce({"psnr": self.psnr_tracker.result(), "ssim": self.ssim_tracker.result(),
                                  **{n: self.trackers[n].result() for n in g_logs}})
