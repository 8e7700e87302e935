"""The portal's memory of what it computed (`Cache`): a bounded cache, least recently used
out first, where each key is computed once even when several requests ask for it at the
same time (one lock per key being computed: the others wait for its answer, never compute
it again). A plan or data error (KamError) is kept as the key's answer too, so a page of
data in error is not computed again on every request; the portal drops everything when
the plan or the data change (app.Portal.version)."""
from __future__ import annotations

import threading
from collections import OrderedDict

from kamrules.diagnostics.diagnostic import KamError


class Cache:
    """key -> value, at most `size` of them; `get(key, make)` computes a missing one once."""

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()  # key -> (True, value) | (False, KamError)
        self._busy: dict = {}  # key -> the lock of its computation under way

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._busy.clear()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key, make):
        """The value of `key`, made by `make()` when not kept (its KamError raised again)."""
        with self._lock:
            found = self._kept(key)
            if found is None:
                busy = self._busy.setdefault(key, threading.Lock())
        if found is None:
            with busy:  # whoever came first computes; the others wait here, then find it
                with self._lock:
                    found = self._kept(key)
                if found is None:
                    try:
                        found = (True, make())
                    except KamError as err:
                        found = (False, err)
                    with self._lock:
                        self._items[key] = found
                        while len(self._items) > self.size:
                            self._items.popitem(last=False)
                        if self._busy.get(key) is busy:
                            del self._busy[key]
        ok, value = found
        if not ok:
            raise KamError(value.diagnostics)  # a new one: a kept error's traceback never grows
        return value

    def _kept(self, key):
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found
