"""SpeechBrain's VoxLingua107 ECAPA-TDNN language-ID network, in plain torch, exported to ONNX with its front end.

The network of ``speechbrain/lang-id-voxlingua107-ecapa`` (Fbank -> sentence mean normalisation ->
ECAPA-TDNN -> x-vector classifier, 107 languages) is written here with SpeechBrain's parameter names,
so its ``embedding_model.ckpt`` and ``classifier.ckpt`` load with a strict key and shape check, and
exported as one ONNX graph: 16 kHz mono waveform ``(batch, samples)`` in, log-probabilities
``(batch, languages)`` out. SpeechBrain itself is not imported (its import needs torchaudio, whose
PyPI wheel is a CUDA build); only torch and onnx are (``pip install 'rtaudio[export]'``).

The sizes (mel bands, channels, kernel sizes, embedding, classifier) are read from the checkpoint's
weights; the dilations and the classifier type from its ``hyperparams.yaml``.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

from rtaudio.errors import ModelError, require

#: The HuggingFace repository of the pretrained model.
REPO = "speechbrain/lang-id-voxlingua107-ecapa"
#: Files of a SpeechBrain model folder that the export reads.
FILES = ("hyperparams.yaml", "embedding_model.ckpt", "classifier.ckpt", "label_encoder.txt")
#: ONNX metadata keys the lid stage reads (see rtaudio.stages.lid.LangidModel).
META_INPUT, META_RATE, META_UNTRAINED = "rtaudio.input", "rtaudio.rate", "rtaudio.untrained"
RATE = 16000
#: VoxLingua107 uses a few withdrawn ISO 639-1 codes; the current ones.
OLD_CODES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi"}


def iso_code(label: str) -> str:
    """ISO 639-1 code of a VoxLingua107 label (``"en: English"`` -> ``"en"``, ``"iw: Hebrew"`` -> ``"he"``)."""
    code = label.split(":", 1)[0].strip().lower()
    return OLD_CODES.get(code, code)


def read_label_encoder(path: Path) -> list[str]:
    """Labels in output order from SpeechBrain's ``label_encoder.txt`` (``'en: English' => 20`` lines)."""
    index: dict[int, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"'(.*)' => (\d+)", line.strip())
        if m and m.group(1) != "starting_index":
            index[int(m.group(2))] = m.group(1)
    if not index or sorted(index) != list(range(len(index))):
        raise ModelError(
            f"{str(path)!r} is not a SpeechBrain label encoder (expected lines like "
            "\"'en: English' => 20\" numbering the outputs 0..N-1)"
        )
    return [index[i] for i in range(len(index))]


def build(
    n_mels: int = 60,
    channels=(1024, 1024, 1024, 1024, 3072),
    kernel_sizes=(5, 3, 3, 3, 1),
    dilations=(1, 2, 3, 4, 1),
    attention_channels: int = 128,
    lin_neurons: int = 256,
    classifier: str = "xvector",
    classifier_neurons: int = 512,
    out_neurons: int = 107,
):
    """The whole network (waveform -> log-probabilities) as a torch module, randomly initialised (eval mode)."""
    nn = _modules()
    model = nn.Network(
        n_mels,
        list(channels),
        list(kernel_sizes),
        list(dilations),
        attention_channels,
        lin_neurons,
        classifier,
        classifier_neurons,
        out_neurons,
    )
    return model.eval()


def load_checkpoint(folder) -> tuple[object, list[str]]:
    """(network with the checkpoint's weights, labels) from a SpeechBrain model folder (see :data:`FILES`)."""
    torch = require("torch", "export")
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise ModelError(
            f"the SpeechBrain model folder {str(folder)!r} lacks {', '.join(missing)}; expected "
            f"the files of {REPO} ({', '.join(FILES)})"
        )
    yaml = (folder / "hyperparams.yaml").read_text(encoding="utf-8")
    emb = _state(torch, folder / "embedding_model.ckpt")
    cls = _state(torch, folder / "classifier.ckpt")
    labels = read_label_encoder(folder / "label_encoder.txt")
    try:
        n_blocks = 1 + max(int(k.split(".")[1]) for k in emb if k.startswith("blocks."))
        channels = [
            emb[f"blocks.{i}.conv.conv.weight" if i == 0 else f"blocks.{i}.tdnn1.conv.conv.weight"].shape[0]
            for i in range(n_blocks)
        ] + [emb["mfa.conv.conv.weight"].shape[0]]
        kernels = (
            [emb["blocks.0.conv.conv.weight"].shape[2]]
            + [emb[f"blocks.{i}.res2net_block.blocks.0.conv.conv.weight"].shape[2] for i in range(1, n_blocks)]
            + [emb["mfa.conv.conv.weight"].shape[2]]
        )
        n_mels = emb["blocks.0.conv.conv.weight"].shape[1]
        attention = emb["asp.tdnn.conv.conv.weight"].shape[0]
        lin = emb["fc.conv.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"{str(folder / 'embedding_model.ckpt')!r} is not an ECAPA-TDNN checkpoint (no {exc})"
        ) from None
    m = re.search(r"dilations:\s*\[([0-9,\s]+)\]", yaml)
    dilations = [int(v) for v in m.group(1).split(",")] if m else [1, 2, 3, 4, 1]
    kind = "cosine" if "ECAPA_TDNN.Classifier" in yaml else "xvector"
    hidden = cls["DNN.block_0.linear.w.weight"].shape[0] if "DNN.block_0.linear.w.weight" in cls else 0
    model = build(n_mels, channels, kernels, dilations, attention, lin, kind, hidden, len(labels))
    for part, state, name in (
        (model.embedding, emb, "embedding_model.ckpt"),
        (model.classifier, cls, "classifier.ckpt"),
    ):
        want = part.state_dict()
        bad = sorted(set(want) ^ set(state)) + [k for k in want if k in state and want[k].shape != state[k].shape]
        if bad:
            raise ModelError(
                f"{str(folder / name)!r} does not fit the VoxLingua107 ECAPA-TDNN network "
                f"(mismatched weights: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''})"
            )
        part.load_state_dict(state, strict=True)
    return model.eval(), labels


def _state(torch, path: Path) -> dict:
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise ModelError(
            f"{str(path)!r} is not a readable torch checkpoint ({str(exc).splitlines()[0][:160]})"
        ) from None


def download(dest: Path) -> Path:
    """The SpeechBrain model folder from HuggingFace (needs the network once, then its cache)."""
    how = f"download the folder of {REPO} ({', '.join(FILES)}) where there is a network and pass --checkpoint DIR"
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError(f"fetching {REPO} needs huggingface_hub (pip install 'rtaudio[export]'); or {how}") from None
    try:
        return Path(snapshot_download(REPO, allow_patterns=list(FILES), local_dir=str(dest)))
    except Exception as exc:  # noqa: BLE001 - offline, DNS, HTTP errors come in many types
        raise ModelError(
            f"cannot fetch {REPO} from HuggingFace ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no network?'}); the export needs the "
            f"network once; or {how}"
        ) from None


def export(model, labels: list[str], out, *, untrained: bool, source: str, opset: int = 17) -> Path:
    """Write ``out/langid.onnx`` (waveform in, log-probabilities out) and ``out/labels.json``; returns the ONNX path.

    ``untrained`` marks a randomly initialised network (tests): the lid stage warns about it.
    """
    torch = require("torch", "export")
    onnx = require("onnx", "export")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "langid.onnx"
    t0 = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.zeros(1, RATE),),
            str(path),
            dynamo=False,
            input_names=["waveform"],
            output_names=["logprobs"],
            opset_version=opset,
            dynamic_axes={"waveform": {0: "batch", 1: "samples"}, "logprobs": {0: "batch"}},
        )
    proto = onnx.load(str(path))
    for key, value in (
        (META_INPUT, "waveform"),
        (META_RATE, str(RATE)),
        (META_UNTRAINED, str(untrained).lower()),
        ("rtaudio.source", source),
    ):
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
    meta = {
        "labels": list(labels),
        "codes": [iso_code(l) for l in labels],
        "input": "waveform",
        "rate": RATE,
        "untrained": untrained,
        "source": source,
        "export_s": round(time.perf_counter() - t0, 2),
    }
    (out / "labels.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def export_random(out, seed: int = 0, **sizes) -> Path:
    """Export the architecture with random weights, marked untrained (for tests and benchmarks; it identifies nothing).

    ``sizes`` go to :func:`build` (e.g. small ``channels`` for fast tests); labels are VoxLingua107-style
    ``"xx: Name"`` for a few real codes, repeated up to ``out_neurons``.
    """
    torch = require("torch", "export")
    torch.manual_seed(seed)
    model = build(**sizes)
    with torch.no_grad():  # random BatchNorm statistics, so the outputs are not all equal
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    names = ["en: English", "fr: French", "de: German", "es: Spanish", "ko: Korean", "iw: Hebrew", "pt: Portuguese"]
    n = sizes.get("out_neurons", 107)
    labels = [names[i] if i < len(names) else f"x{i}: Placeholder {i}" for i in range(n)]
    return export(model, labels, out, untrained=True, source="random weights (rtaudio test model)")


def _modules():
    """The torch modules, defined on first use so importing this file needs no torch."""
    global _NN
    if _NN is None:
        _NN = _define(require("torch", "export"))
    return _NN


_NN = None


def _define(torch):
    import types

    nn, F = torch.nn, torch.nn.functional

    class Conv(nn.Module):
        """SpeechBrain's Conv1d: 'same' reflect padding, then ``conv`` (keys ``conv.weight``, ``conv.bias``)."""

        def __init__(self, cin, cout, k, dilation=1):
            super().__init__()
            self.pad = dilation * (k - 1) // 2
            self.conv = nn.Conv1d(cin, cout, k, dilation=dilation)

        def forward(self, x):
            return self.conv(F.pad(x, (self.pad, self.pad), mode="reflect") if self.pad else x)

    class BN(nn.Module):
        """SpeechBrain's BatchNorm1d on (batch, channels, time) (keys ``norm.*``)."""

        def __init__(self, c):
            super().__init__()
            self.norm = nn.BatchNorm1d(c)

        def forward(self, x):
            return self.norm(x)

    class TDNN(nn.Module):
        def __init__(self, cin, cout, k, dilation):
            super().__init__()
            self.conv, self.activation, self.norm = Conv(cin, cout, k, dilation), nn.ReLU(), BN(cout)

        def forward(self, x):
            return self.norm(self.activation(self.conv(x)))

    class Res2Net(nn.Module):
        def __init__(self, c, k, dilation, scale=8):
            super().__init__()
            self.scale = scale
            self.blocks = nn.ModuleList([TDNN(c // scale, c // scale, k, dilation) for _ in range(scale - 1)])

        def forward(self, x):
            parts = torch.chunk(x, self.scale, dim=1)
            y = [parts[0]]
            for i in range(1, self.scale):
                y.append(self.blocks[i - 1](parts[i] if i == 1 else parts[i] + y[-1]))
            return torch.cat(y, dim=1)

    class SE(nn.Module):
        def __init__(self, c, se=128):
            super().__init__()
            self.conv1, self.conv2 = Conv(c, se, 1), Conv(se, c, 1)

        def forward(self, x):
            s = torch.relu(self.conv1(x.mean(dim=2, keepdim=True)))
            return torch.sigmoid(self.conv2(s)) * x

    class SERes2Net(nn.Module):
        def __init__(self, cin, cout, k, dilation):
            super().__init__()
            self.tdnn1 = TDNN(cin, cout, 1, 1)
            self.res2net_block = Res2Net(cout, k, dilation)
            self.tdnn2 = TDNN(cout, cout, 1, 1)
            self.se_block = SE(cout)
            self.shortcut = Conv(cin, cout, 1) if cin != cout else None

        def forward(self, x):
            res = self.shortcut(x) if self.shortcut is not None else x
            return self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x)))) + res

    def stats(x, w):
        mean = (w * x).sum(2)
        std = torch.sqrt((w * (x - mean.unsqueeze(2)) ** 2).sum(2).clamp(min=1e-12))
        return mean, std

    class ASP(nn.Module):
        """Attentive statistics pooling with global context (no padding: every frame counts)."""

        def __init__(self, c, att):
            super().__init__()
            self.tdnn, self.conv = TDNN(3 * c, att, 1, 1), Conv(att, c, 1)

        def forward(self, x):
            n = x.shape[2]
            mean, std = stats(x, torch.ones_like(x[:, :1, :]) / n)
            ctx = torch.cat([x, mean.unsqueeze(2).expand_as(x), std.unsqueeze(2).expand_as(x)], dim=1)
            attn = torch.softmax(self.conv(torch.tanh(self.tdnn(ctx))), dim=2)
            mean, std = stats(x, attn)
            return torch.cat([mean, std], dim=1).unsqueeze(2)

    class Ecapa(nn.Module):
        def __init__(self, n_mels, channels, kernels, dilations, att, lin):
            super().__init__()
            self.blocks = nn.ModuleList(
                [TDNN(n_mels, channels[0], kernels[0], dilations[0])]
                + [
                    SERes2Net(channels[i - 1], channels[i], kernels[i], dilations[i])
                    for i in range(1, len(channels) - 1)
                ]
            )
            self.mfa = TDNN(channels[-2] * (len(channels) - 2), channels[-1], kernels[-1], dilations[-1])
            self.asp = ASP(channels[-1], att)
            self.asp_bn = BN(2 * channels[-1])
            self.fc = Conv(2 * channels[-1], lin, 1)

        def forward(self, feats):  # (batch, frames, mels) -> (batch, lin)
            x, outs = feats.transpose(1, 2), []
            for block in self.blocks:
                x = block(x)
                outs.append(x)
            x = self.mfa(torch.cat(outs[1:], dim=1))
            return self.fc(self.asp_bn(self.asp(x)))[:, :, 0]

    class Linear(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.w = nn.Linear(cin, cout)

        def forward(self, x):
            return self.w(x)

    class XvectorClassifier(nn.Module):
        """LeakyReLU, BatchNorm, [Linear, LeakyReLU, BatchNorm], Linear, log-softmax (SpeechBrain's Xvector.Classifier)."""

        def __init__(self, cin, hidden, out):
            super().__init__()
            self.act, self.norm = nn.LeakyReLU(), BN(cin)
            if hidden:
                self.DNN = nn.Module()
                self.DNN.block_0 = nn.Module()
                self.DNN.block_0.linear, self.DNN.block_0.act = Linear(cin, hidden), nn.LeakyReLU()
                self.DNN.block_0.norm = BN(hidden)
                cin = hidden
            self.hidden = hidden
            self.out = Linear(cin, out)

        def forward(self, x):
            x = self.norm(self.act(x).unsqueeze(2))[:, :, 0]
            if self.hidden:
                b = self.DNN.block_0
                x = b.norm(b.act(b.linear(x)).unsqueeze(2))[:, :, 0]
            return torch.log_softmax(self.out(x), dim=-1)

    class CosineClassifier(nn.Module):
        """SpeechBrain's ECAPA_TDNN.Classifier (cosine to class weights), as log-softmax of 30 x cosine."""

        def __init__(self, cin, hidden, out):
            super().__init__()
            self.blocks = nn.ModuleList([BN(cin), Linear(cin, hidden)] if hidden else [])
            self.weight = nn.Parameter(torch.empty(out, hidden or cin))
            nn.init.xavier_uniform_(self.weight)

        def forward(self, x):
            for layer in self.blocks:
                x = layer(x.unsqueeze(2))[:, :, 0] if isinstance(layer, BN) else layer(x)
            cos = F.linear(F.normalize(x), F.normalize(self.weight))
            return torch.log_softmax(30.0 * cos, dim=-1)

    class Fbank(nn.Module):
        """SpeechBrain's Fbank (25 ms Hamming / 10 ms, 400-point FFT, centred, triangular mel, dB, top 80 dB) and
        sentence mean normalisation, as a strided convolution with a fixed DFT basis (exports to plain ONNX)."""

        def __init__(self, n_mels, n_fft=400, hop=160):
            super().__init__()
            self.n_fft, self.hop = n_fft, hop
            window = torch.hamming_window(n_fft, dtype=torch.float64)
            k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
            phase = 2 * math.pi * k * torch.arange(n_fft, dtype=torch.float64)[None] / n_fft
            basis = torch.cat([torch.cos(phase) * window, -torch.sin(phase) * window])[:, None, :]
            self.register_buffer("basis", basis.float(), persistent=False)
            mel = torch.linspace(2595 * math.log10(1.0), 2595 * math.log10(1 + (RATE // 2) / 700), n_mels + 2)
            hz = 700 * (10 ** (mel / 2595) - 1)
            band, central = (hz[1:] - hz[:-1])[:-1], hz[1:-1]
            freqs = torch.linspace(0, RATE // 2, n_fft // 2 + 1)
            slope = (freqs[None, :] - central[:, None]) / band[:, None]
            fb = torch.clamp(torch.minimum(slope + 1.0, 1.0 - slope), min=0.0).transpose(0, 1)
            self.register_buffer("fbank", fb.float(), persistent=False)

        def forward(self, wav):  # (batch, samples) -> (batch, frames, mels)
            x = F.pad(wav.unsqueeze(1), (self.n_fft // 2, self.n_fft // 2))
            spec = F.conv1d(x, self.basis, stride=self.hop)
            half = self.n_fft // 2 + 1
            power = spec[:, :half] ** 2 + spec[:, half:] ** 2
            db = 10.0 * torch.log10(torch.clamp(torch.matmul(power.transpose(1, 2), self.fbank), min=1e-10))
            db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - 80.0)
            return db - db.mean(dim=1, keepdim=True)

    class Network(nn.Module):
        def __init__(self, n_mels, channels, kernels, dilations, att, lin, classifier, hidden, out):
            super().__init__()
            if classifier not in ("xvector", "cosine"):
                raise ValueError(f"classifier={classifier!r} must be xvector or cosine")
            self.features = Fbank(n_mels)
            self.embedding = Ecapa(n_mels, channels, kernels, dilations, att, lin)
            self.classifier = (XvectorClassifier if classifier == "xvector" else CosineClassifier)(lin, hidden, out)

        def forward(self, wav):
            return self.classifier(self.embedding(self.features(wav)))

    return types.SimpleNamespace(Network=Network, Fbank=Fbank)
