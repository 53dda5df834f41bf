"""Atomic writes of run files."""

import os
import stat

from keras_lstm_ae.files import write_json


def test_atomic_write_uses_umask_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "values.json", {"a": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "values.json").stat().st_mode) == 0o644
