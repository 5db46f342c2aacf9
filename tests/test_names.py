"""The light name lists the Snakefile reads agree with the registries that build the objects."""

from genogan.benchmark import augment, classify, names


def test_classical_methods_are_the_augmenters_registered():
    assert set(names.CLASSICAL_METHODS) == set(augment.AUGMENTERS)


def test_classifier_names_are_the_classifiers_registered():
    assert tuple(classify.CLASSIFIERS) == names.CLASSIFIER_NAMES


def test_every_arm_method_is_classical_or_a_gan():
    assert not names.is_gan_method("smote") and names.is_gan_method("cwgan_gp")


def test_every_registered_model_resolves_to_its_class():
    from genogan.generators import registry

    for name in registry.names():
        assert registry.model_class(name).model_name == name
        assert names.is_gan_method(name) and names.arm_family(name) in registry.FAMILIES
    assert names.arm_family("gaussian_pca") == "comparator"
    assert names.arm_family("smote") == "classical" and names.arm_family("none") == "none"


def test_unknown_arm_is_refused_at_validation_naming_the_key():
    import pytest

    from genogan.benchmark.targets import benchmark_settings
    from genogan.errors import GenoganInputError

    with pytest.raises(GenoganInputError, match="unknown augmenter 'wgan_gp' in benchmark.arms"):
        benchmark_settings({"arms": ["none", "wgan_gp"]})
    with pytest.raises(GenoganInputError, match="dose_response.arms"):
        benchmark_settings({"dose_response": {"arms": ["smoteish"]}})
