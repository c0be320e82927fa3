"""Model files: a ``.npz`` archive (uncompressed zip of ``.npy`` arrays) holding the format
version, the architecture and every W/b.

Writing is atomic (a temporary file in the same directory, fsync, then rename), so a crash never
leaves a half-written model under the target name. Reading never unpickles and trusts nothing:
only the expected members, stored uncompressed (so no member can claim more bytes than the file
holds: no zip bombs), each ``.npy`` header parsed and checked against the architecture before its
data is read, values finite. Any defect is a ValueError naming the file and what is wrong.
"""

from __future__ import annotations

import io
import os
import re
import socket
import tempfile
import time
import zipfile

import numpy as np

from .losses import Huber

# Version 1: the architecture and W/b. Version 2 adds "huber_delta" and is written only for models
# with a Huber loss, so every other model stays readable by fastbp 0.1. Version 3, written only for
# bfloat16 models (float32 weights), always holds "huber_delta": a fastbp that cannot train them
# refuses the file by its version.
FORMAT_VERSION = 3
_READABLE_VERSIONS = (1, 2, 3)
_TEXT_FIELDS = ("hidden", "output", "loss", "dtype")
_MAX_METADATA_BYTES = 4096


def _version_for(net) -> int:
    if net.compute_dtype == "bfloat16":
        return 3
    return 2 if net.loss_name == "huber" else 1


def save(net, path) -> None:
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(_version_for(net)),
        "layers": np.array(net.layers, dtype=np.int64),
        "hidden": np.array(net.hidden),
        "output": np.array(net.output),
        "loss": np.array(net.loss_name),
        "dtype": np.array(net.compute_dtype),
    }
    if arrays["format_version"] >= 2:
        arrays["huber_delta"] = np.array(net.huber_delta)
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"W{i}"] = w
        arrays[f"b{i}"] = b
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temp_files(directory, os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(os.path.basename(path), os.getpid()),
                               suffix=_TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: allow_pickle
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# A save writes ".fastbp-<target>.<host>.<pid>.<random>.tmp" next to the target and renames it
# over the target when complete. A process killed in between (kill -9, power loss) leaves its
# temporary file behind; the next save of the same target removes the ones whose writer is gone.
_TEMP_SUFFIX = ".tmp"
_LEGACY_TEMP = re.compile(r"^\.fastbp-[A-Za-z0-9_]{8}\.npz\.tmp$")  # fastbp 0.1's naming
_LEGACY_STALE_SECONDS = 3600.0


def _temp_prefix(target: str, pid: int) -> str:
    return f".fastbp-{target}.{socket.gethostname()}.{pid}."


def _writer_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _remove_stale_temp_files(directory: str, target: str) -> None:
    own = re.compile(re.escape(f".fastbp-{target}.{socket.gethostname()}.") + r"(\d+)\.[^.]+" +
                     re.escape(_TEMP_SUFFIX) + "$")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for name in names:
        match = own.match(name)
        candidate = os.path.join(directory, name)
        try:
            if match:
                stale = _writer_is_gone(int(match.group(1)))
            elif _LEGACY_TEMP.match(name):
                # No writer recorded: only files untouched for an hour, so no running save of an
                # older fastbp loses its file.
                stale = now - os.stat(candidate).st_mtime > _LEGACY_STALE_SECONDS
            else:
                continue
            if stale:
                os.unlink(candidate)
        except OSError:  # gone already, or not ours to remove: the save goes on
            continue


class _Archive:
    """The members of a model file, read one at a time with every check."""

    def __init__(self, path, f):
        self.path = path
        self.file_size = os.fstat(f.fileno()).st_size
        try:
            self.zip = zipfile.ZipFile(f)
            self.members = {info.filename: info for info in self.zip.infolist()}
        except Exception as exc:  # zipfile raises a dozen types on a damaged directory
            raise self.error(f"not a readable fastbp model file ({type(exc).__name__}: {exc})")

    def error(self, what) -> ValueError:
        return ValueError(f"{self.path}: {what}")

    def check_names(self, n_weight_layers, version):
        expected = {f"{name}.npy" for name in ("format_version", "layers", *_TEXT_FIELDS)}
        if version >= 2:
            expected.add("huber_delta.npy")
        expected |= {f"{k}{i}.npy" for i in range(n_weight_layers) for k in "Wb"}
        missing = sorted(n[:-4] for n in expected - set(self.members))
        if missing:
            raise self.error(f"not a complete fastbp model file (no '{missing[0]}')")
        extra = sorted(set(self.members) - expected)
        if extra:
            raise self.error(f"unexpected member '{extra[0]}' in a fastbp model file")

    def array(self, name, max_bytes=None, shape=None, dtype=None):
        info = self.members.get(f"{name}.npy")
        if info is None:
            raise self.error(f"not a fastbp model file (no '{name}')")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise self.error(f"'{name}' is compressed; fastbp writes its files uncompressed")
        if info.file_size > self.file_size or (max_bytes is not None and
                                               info.file_size > max_bytes):
            raise self.error(f"'{name}' claims {info.file_size} bytes, more than it may hold")
        try:
            raw = self.zip.read(info)
            stream = io.BytesIO(raw)
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except Exception as exc:
            raise self.error(f"'{name}' is unreadable ({type(exc).__name__}: {exc})")
        stored_shape, fortran, stored_dtype = header
        if stored_dtype.hasobject or stored_dtype.kind not in "iufU":
            raise self.error(f"'{name}' has dtype {stored_dtype}, which a model never stores")
        if shape is not None and (tuple(stored_shape) != tuple(shape) or
                                  stored_dtype != np.dtype(dtype)):
            raise self.error(f"'{name}' should be {np.dtype(dtype)} of shape {tuple(shape)}, "
                             f"found {stored_dtype} {tuple(stored_shape)}")
        data = raw[stream.tell():]
        count = int(np.prod(stored_shape, dtype=np.int64))
        if len(data) != count * stored_dtype.itemsize:
            raise self.error(f"'{name}' holds {len(data)} bytes of data for "
                             f"{count} x {stored_dtype.itemsize}: truncated or altered")
        values = np.frombuffer(data, dtype=stored_dtype, count=count)
        return values.reshape(stored_shape, order="F" if fortran else "C")

    def text(self, name) -> str:
        value = self.array(name, max_bytes=_MAX_METADATA_BYTES)
        if value.dtype.kind != "U" or value.shape != ():
            raise self.error(f"'{name}' must be a string")
        return str(value)


def load(cls, path):
    try:
        f = open(os.fspath(path), "rb")
    except OSError as exc:
        raise ValueError(f"{path}: cannot open the model file ({exc})") from exc
    with f:
        archive = _Archive(path, f)
        version = archive.array("format_version", max_bytes=_MAX_METADATA_BYTES)
        if (version.dtype.kind not in "iu" or version.shape != () or
                int(version) not in _READABLE_VERSIONS):
            raise archive.error(f"unsupported format version {version!r}; this fastbp reads "
                                f"versions {', '.join(map(str, _READABLE_VERSIONS))}")
        layers = archive.array("layers", max_bytes=_MAX_METADATA_BYTES)
        if layers.dtype.kind not in "iu" or layers.ndim != 1 or len(layers) < 2:
            raise archive.error("'layers' must be a 1-D integer array of at least 2 sizes")
        if (layers < 1).any():
            raise archive.error(f"'layers' must hold sizes >= 1, got {layers.tolist()}")
        sizes = [int(s) for s in layers]
        archive.check_names(len(sizes) - 1, int(version))
        fields = {name: archive.text(name) for name in _TEXT_FIELDS}
        loss = fields["loss"]
        if int(version) >= 2:
            delta = archive.array("huber_delta", max_bytes=_MAX_METADATA_BYTES)
            if delta.dtype.kind != "f" or delta.shape != () or not np.isfinite(delta):
                raise archive.error("'huber_delta' must be a finite number")
            if loss == "huber":
                loss = Huber(float(delta))
        dtypes = ("float32", "float64") if int(version) < 3 else ("bfloat16",)
        if fields["dtype"] not in dtypes:
            raise archive.error(f"'dtype' of a version {int(version)} file must be "
                                f"{' or '.join(dtypes)}, got {fields['dtype']!r}")
        weight_dtype = "float32" if fields["dtype"] == "bfloat16" else fields["dtype"]
        # Read and check every array before allocating the network: what the file holds bounds
        # what loading it can cost.
        arrays = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            for name, shape in ((f"W{i}", (n_in, n_out)), (f"b{i}", (n_out,))):
                value = archive.array(name, shape=shape, dtype=weight_dtype)
                if not np.isfinite(value).all():
                    raise archive.error(f"'{name}' contains NaN or infinity")
                arrays.append(value)
    try:
        net = cls(sizes, hidden=fields["hidden"], output=fields["output"], loss=loss,
                  dtype=fields["dtype"], seed=0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored architecture is invalid ({exc})") from exc
    for target, value in zip([a for pair in zip(net.weights, net.biases) for a in pair], arrays):
        target[...] = value
    return net
