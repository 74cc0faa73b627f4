"""seen.py — owns what the Python tests share to check exception texts: a list of every
text and repr an expected exception had (tests then check that none holds a credential)
and the check that an exception is raised with the words it must name."""

import pytest


class Seen(list):
    """The texts and reprs of the exceptions raises() caught."""

    def raises(self, exc, fn, *words):
        """Call fn(); it must raise exc whose text holds every one of words. Returns it."""
        with pytest.raises(exc) as ei:
            fn()
        text = str(ei.value)
        self.extend([text, repr(ei.value)])
        for w in words:
            assert w in text, (w, text)
        return ei.value
