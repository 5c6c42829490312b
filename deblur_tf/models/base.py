"""Base class for keras-hub-style functional architectures with a full get_config."""

from __future__ import annotations

import keras


class ArchModel(keras.Model):
    """A functional keras.Model built from constructor arguments.

    Subclasses build their graph in ``__init__`` and pass the arguments that define it as
    ``arch_config``; ``get_config`` returns exactly those, so ``from_config`` and ``.keras`` files
    rebuild the same architecture by calling the constructor again.
    """

    registered_name = "?"
    #: H and W are padded inside the graph to a multiple of this (the product of the strides).
    size_multiple = 1

    def __init__(self, inputs, outputs, arch_config: dict, **kwargs):
        unknown = set(kwargs) - {"name", "trainable", "dtype"}
        if unknown:
            raise TypeError(f"unexpected argument(s) {sorted(unknown)}; "
                            f"{type(self).__name__} takes {sorted(arch_config)}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.arch_config = dict(arch_config)

    def for_inference(self) -> keras.Model:
        """The same function in the form fastest to run (this model itself unless an architecture
        knows better, e.g. NAFNet folds its norms into its convs)."""
        return self

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, **self.arch_config}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def inference_form(model: keras.Model) -> keras.Model:
    """``model.for_inference()`` for deblur_tf's architectures, else the model itself (any other
    Keras model): what the Keras backend runs and what gets exported."""
    fold = getattr(model, "for_inference", None)
    return fold() if callable(fold) else model
