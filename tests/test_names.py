"""The light name lists the Snakefile reads agree with the registries that build the objects."""

from genogan.benchmark import augment, names


def test_classical_methods_are_the_augmenters_registered():
    assert set(names.CLASSICAL_METHODS) == set(augment.AUGMENTERS)


def test_every_arm_method_is_classical_or_a_gan():
    assert not names.is_gan_method("smote") and names.is_gan_method("cwgan_gp")
