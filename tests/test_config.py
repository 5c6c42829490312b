import json

import pytest

from deblur_tf.config import (ConfigError, ExperimentConfig, apply_overrides, config_from_dict,
                              get_experiment, load_config_file, parse_overrides, save_config)


def test_overrides_from_flags_are_typed():
    cfg = apply_overrides(ExperimentConfig(), parse_overrides(
        ["train.steps=50", "optim.g_learning_rate=2e-4", "loss.adversarial=none",
         "data.center_crop=150", "model.generator_args={filters: 8}", "loss.l1_weight=2"]))
    assert cfg.train.steps == 50 and cfg.optim.g_learning_rate == 2e-4
    assert cfg.loss.adversarial == "none" and cfg.data.center_crop == 150
    assert cfg.model.generator_args == {"filters": 8} and cfg.loss.l1_weight == 2.0


@pytest.mark.parametrize("override,match", [
    ("train.stpes=5", "unknown config key 'train.stpes'"),
    ("train.steps=many", "train.steps' expects int"),
    ("nonsense=1", "unknown config key 'nonsense'"),
    ("train.steps", "not of the form"),
])
def test_bad_overrides_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(ExperimentConfig(), parse_overrides([override]))


@pytest.mark.parametrize("weight", ["frequency_weight", "ssim_weight", "l1_weight"])
def test_negative_loss_weights_are_refused_by_name(weight):
    cfg = apply_overrides(get_experiment("lfw_robust_nafnet_ft_ssim"), parse_overrides([f"loss.{weight}=-1"]))
    with pytest.raises(ConfigError, match=f"loss.{weight}' must be at least 0"):
        cfg.validate()


def test_yaml_and_json_files_round_trip(tmp_path):
    cfg = apply_overrides(get_experiment("tiny_cpu"), {"train": {"steps": 7}})
    save_config(cfg, tmp_path / "c.yaml")
    assert config_from_dict(load_config_file(tmp_path / "c.yaml")) == cfg
    (tmp_path / "c.json").write_text(json.dumps({"data": {"batch_size": 3}}))
    assert config_from_dict(load_config_file(tmp_path / "c.json")).data.batch_size == 3
    (tmp_path / "bad.yaml").write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config_file(tmp_path / "bad.yaml")


def test_experiments_are_registered_by_name():
    assert get_experiment("lfw_compact_warmup").train.n_critic == 0
    assert get_experiment("lfw_compact_wgan").train.n_critic == 5
    with pytest.raises(ConfigError, match="registered"):
        get_experiment("nope")


def test_recipe_files_in_configs_match_the_registered_experiments():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "configs"
    for name in ("lfw_compact_warmup", "lfw_compact_wgan", "lfw_robust_nafnet"):
        from_file = apply_overrides(ExperimentConfig(), load_config_file(root / f"{name}.yaml"))
        registered = get_experiment(name)
        for section in ("model", "loss", "optim"):
            assert getattr(from_file, section) == getattr(registered, section), (name, section)
        assert from_file.train.n_critic == registered.train.n_critic
        assert from_file.train.mixed_precision == registered.train.mixed_precision
        assert from_file.data.degradations == registered.data.degradations
        assert from_file.data.augment == registered.data.augment
        assert from_file.train.steps == registered.train.steps
    # stage 2 of the shipped recipe: stage 1's model, data and losses, another optimiser setting
    stage1 = apply_overrides(ExperimentConfig(), load_config_file(root / "lfw_compact_warmup.yaml"))
    stage2 = apply_overrides(ExperimentConfig(), load_config_file(root / "lfw_compact_warmup_stage2.yaml"))
    assert (stage2.model, stage2.loss, stage2.data) == (stage1.model, stage1.loss, stage1.data)
    assert stage2.optim.g_learning_rate == 2e-4 and stage2.optim.beta_1 == 0.9


def test_paper_recipes_name_registered_models_and_build():
    from deblur_tf.models import CRITICS, GENERATORS, PRESETS
    from deblur_tf.train import build_gan
    for name in ("lfw_unet_res_murugan", "lfw_ird_chen", "lfw_unet_enhance_qi", "lfw_fpn_mobilenet",
                 "lfw_inception_deepdeblur"):
        cfg = get_experiment(name)
        assert cfg.model.generator in GENERATORS or cfg.model.generator in PRESETS
        assert cfg.model.critic in CRITICS
    cfg = apply_overrides(get_experiment("lfw_inception_deepdeblur"), {
        "model": {"generator": "inception_deepdeblur", "generator_args": {"filters": 4, "num_modules": 1,
                                                                          "branch_filters": 2}}})
    gan = build_gan(cfg)
    assert type(gan.g_optimizer).__name__ == "RMSprop" and gan.n_critic == 0


def test_the_adversarial_stage_of_the_content_cycles_only_adds_the_critic():
    content = get_experiment("lfw_robust_nafnet_ft")
    stage = get_experiment("lfw_robust_nafnet_ft_wgan")
    assert stage.data.degradations == content.data.degradations
    assert stage.data.augment == content.data.augment and stage.model.generator == content.model.generator
    for weight in ("l1_weight", "mse_weight", "perceptual_weight", "frequency_weight"):
        assert getattr(stage.loss, weight) == getattr(content.loss, weight), weight
    assert stage.loss.adversarial == "wgan-gp" and stage.loss.gp_weight == 10.0
    assert stage.train.n_critic == 5 and content.train.n_critic == 0
