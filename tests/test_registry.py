"""Registry entries that tests add are removed again."""

import pytest

from gankit.registry import ConfigError, Registry


def test_temporary_registration_is_removed_after_the_block_even_on_error():
    reg = Registry("widget")
    with pytest.raises(RuntimeError):
        with reg.temporary("w", lambda size=1: size) as fn:
            assert reg.build("w", {"size": 3}) == 3 and fn() == 1
            raise RuntimeError("boom")
    assert "w" not in reg and reg.names() == []
    with pytest.raises(ConfigError, match="unknown widget 'w'"):
        reg.unregister("w")
