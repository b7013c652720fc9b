"""The public API is exactly `conveyor.__all__`."""

import conveyor


def test_all_names_exist_and_are_the_public_surface() -> None:
    for name in conveyor.__all__:
        assert hasattr(conveyor, name), name
    public = {name for name in vars(conveyor) if not name.startswith("_")}
    submodules = {name for name in public if type(getattr(conveyor, name)).__name__ == "module"}
    assert public - submodules == set(conveyor.__all__)
