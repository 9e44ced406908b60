"""Train rtaudio's spoken-language-ID model on the CPU and export ``langid.onnx``.

Reproducible (seeded) and offline. The training set is built here:

* real speech: ``$RTAUDIO_LID_TRAIN`` (default ``../shared/lid_train`` next to the checkout),
  Common Voice / speechocean762 / CSS10 clips in en, de, es, fr, ja, ru; 20 % of each language's
  clips are held out as the *real dev split* used for model selection and the model card;
* synthesized speech: espeak-ng voices and voice variants for every target language (pt, it, nl
  included), text sampled from ``wordfreq`` by word frequency, two variants held out for tests;
* non-speech: noise of several colours, tones, chirps, drums and chords (class ``nonspeech``,
  which the runtime turns into ``unknown``).

Method (``--method``): ``synth`` (synthesized speech only, the earlier failing baseline),
``mixed`` (real + synthesized, domain-balanced batches), ``dann`` (``mixed`` plus a domain-adversarial
head with gradient reversal that tries to tell real from synthesized speech). Always: per-window
CMVN (in :func:`rtaudio.stages.lid_features.log_mel`, shared with the runtime), speed and pitch
perturbation, random EQ, reverb, noise and music underneath, SpecAugment.

Usage::

    python models/langid/train.py                       # the shipped model (about 12 min, 1 thread)
    python models/langid/train.py --smoke --out /tmp/x  # seconds; what the test runs

Needs the ``train`` extra (``pip install -e .[train]``: torch CPU, onnx, wordfreq) and espeak-ng.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from rtaudio.stages.lid_features import N_MELS, RATE, log_mel  # noqa: E402  (the runtime's own function)

LANGUAGES = ("de", "en", "es", "fr", "it", "ja", "nl", "pt", "ru")
NONSPEECH = "nonspeech"
#: espeak-ng voice per language (the language's main voice and its regional voices).
VOICES = {
    "de": ["de"],
    "en": ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp"],
    "es": ["es", "es-419"],
    "fr": ["fr-fr", "fr-be", "fr-ch"],
    "it": ["it"],
    "ja": ["ja"],
    "nl": ["nl"],
    "pt": ["pt", "pt-br"],
    "ru": ["ru", "ru-lv"],
}
#: espeak-ng voice variants used in training.
VARIANTS = [
    "",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "klatt",
    "klatt2",
    "klatt4",
    "iven",
    "john",
    "max",
    "linda",
    "anika",
    "steph",
    "robert",
    "paul",
    "benjamin",
    "edward",
]
#: Variants never used in training (tests synthesize with these).
HELD_OUT_VARIANTS = ("f5", "m8")
#: Feature-window lengths drawn per batch, seconds (the runtime uses 2 s windows).
CROP_S = (1.5, 2.0, 2.5, 3.0)


# ------------------------------------------------------------------------------------------------ data
def lid_train_dir() -> Path:
    return Path(os.environ.get("RTAUDIO_LID_TRAIN") or ROOT.parent / "shared" / "lid_train")


def load_audio(path) -> np.ndarray:
    """A file as mono float32 at :data:`RATE` Hz."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != RATE:
        x = soxr.resample(x, sr, RATE)
    return x.astype(np.float32)


def real_clips(seed: int, limit: int | None = None, required: bool = True):
    """(train, dev) lists of (language, audio) from the real training set; dev = 20 % per language."""
    root = lid_train_dir()
    manifest = root / "MANIFEST.csv"
    if not manifest.exists() and not required:
        print(f"no real training speech at {manifest}; going on without it (smoke mode)", flush=True)
        return [], []
    if not manifest.exists():
        raise SystemExit(f"real training speech not found: {manifest} (set RTAUDIO_LID_TRAIN)")
    rows = list(csv.DictReader(open(manifest, encoding="utf-8")))
    rng = np.random.default_rng(seed)
    train, dev = [], []
    for lang in sorted({r["language"] for r in rows}):
        files = sorted(r["file"] for r in rows if r["language"] == lang)
        rng.shuffle(files)
        if limit:
            files = files[:limit]
        n_dev = max(1, int(round(0.2 * len(files))))
        for i, f in enumerate(files):
            (dev if i < n_dev else train).append((lang, load_audio(root / f)))
    return train, dev


def sentences(lang: str, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` pseudo-sentences of 5-14 words drawn by frequency from wordfreq's top words of ``lang``."""
    from wordfreq import top_n_list

    words = top_n_list(lang, 4000)
    if lang == "ja":  # espeak-ng's Japanese voice reads kana only
        words = [w for w in words if all("\u3040" <= c <= "\u30ff" for c in w)]
    else:
        words = [w for w in words if w.isalpha()]
    p = 1.0 / (np.arange(len(words)) + 10.0) ** 0.8  # Zipf by rank, flattened a little
    p /= p.sum()
    out = []
    for _ in range(n):
        k = int(rng.integers(5, 15))
        sep = "" if lang == "ja" else " "
        out.append(sep.join(rng.choice(words, size=k, p=p)))
    return out


def espeak(text: str, voice: str, speed: int, pitch: int, tmp: str) -> np.ndarray:
    path = os.path.join(tmp, "s.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text],
        check=True,
        capture_output=True,
    )
    x = load_audio(path)
    return x / (np.abs(x).max() + 1e-6) * 0.5


def synth_clips(per_lang: int, seed: int, cache: Path | None):
    """(language, audio) synthesized by espeak-ng, cached in ``cache`` (an .npz) when given."""
    if cache is not None and cache.exists():
        data = np.load(cache, allow_pickle=True)
        return list(zip(data["langs"].tolist(), data["audio"], strict=True))
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed; apt-get install espeak-ng")
    rng = np.random.default_rng(seed + 1)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in LANGUAGES:
            for text in sentences(lang, per_lang, rng):
                voice = str(rng.choice(VOICES[lang]))
                variant = str(rng.choice(VARIANTS))
                v = voice + ("+" + variant if variant else "")
                x = espeak(text, v, int(rng.integers(120, 200)), int(rng.integers(20, 80)), tmp)
                out.append((lang, x.astype(np.float32)))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        audio = np.empty(len(out), dtype=object)
        audio[:] = [x for _, x in out]
        np.savez(cache, langs=np.array([l for l, _ in out]), audio=audio)
    return out


def nonspeech(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of something that is not speech: coloured noise, tones, chirps, drums and chords, hum."""
    from rtaudio import testing

    kind = int(rng.integers(0, 6))
    t = np.arange(n) / RATE
    if kind == 0:  # coloured noise
        white = rng.standard_normal(n)
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / RATE) + 1.0
        x = np.fft.irfft(spec / f ** rng.uniform(0, 1.0), n)
    elif kind == 1:  # chord of tones with vibrato
        x = sum(
            np.sin(2 * np.pi * f0 * t + rng.uniform(0, 3) * np.sin(2 * np.pi * 5 * t))
            for f0 in rng.uniform(100, 2000, size=int(rng.integers(1, 5)))
        )
    elif kind == 2:  # chirp
        f0, f1 = rng.uniform(50, 4000, size=2)
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1])))
    elif kind == 3:  # drums and chords
        x = testing.beat_and_chords(n / RATE, RATE, bpm=float(rng.uniform(70, 180)), seed=int(rng.integers(1 << 30)))
    elif kind == 4:  # mains hum and harmonics under faint noise
        x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 6)) + 0.05 * rng.standard_normal(n)
    else:  # near silence
        x = 1e-3 * rng.standard_normal(n)
    x = np.asarray(x, dtype=np.float64)[:n]
    return (x / (np.abs(x).max() + 1e-9) * rng.uniform(0.01, 0.8)).astype(np.float32)


# -------------------------------------------------------------------------------------- augmentation
def augment(x: np.ndarray, rng: np.random.Generator, strong: bool, speed=(0.88, 1.12)) -> np.ndarray:
    """Speed/pitch perturbation, random EQ, reverb, noise and music underneath, gain."""
    import scipy.signal as ss
    import soxr

    if rng.random() < 0.6:  # speed perturbation (changes tempo, pitch and formants together, like VTLN + rate)
        factor = rng.uniform(*speed)
        x = soxr.resample(x, RATE, int(RATE * factor)).astype(np.float32)
    if strong and rng.random() < 0.7:  # random EQ: a low/high shelf made of one-pole filters + a band-limit
        cut = rng.uniform(3000, 7900)
        b, a = ss.butter(2, cut / (RATE / 2), "low")
        x = ss.lfilter(b, a, x)
        if rng.random() < 0.5:
            hp = rng.uniform(50, 300)
            b, a = ss.butter(1, hp / (RATE / 2), "high")
            x = ss.lfilter(b, a, x)
        tilt = rng.uniform(-0.6, 0.6)  # pre-/de-emphasis
        x = ss.lfilter([1, -tilt], [1], x)
    if rng.random() < (0.4 if strong else 0.2):  # reverb: exponentially decaying noise impulse response
        rt60 = rng.uniform(0.1, 0.6)
        m = int(rt60 * RATE)
        ir = rng.standard_normal(m) * np.exp(-6.9 * np.arange(m) / m)
        ir[0] = 1.0 / rng.uniform(0.3, 1.0)
        x = ss.fftconvolve(x, ir)[: len(x)]
    x = np.asarray(x, dtype=np.float64)
    x /= np.abs(x).max() + 1e-9
    if rng.random() < (0.6 if strong else 0.3):  # noise or music underneath
        under = nonspeech(len(x), rng).astype(np.float64)
        snr = rng.uniform(5, 30)
        p_x, p_u = np.mean(x**2) + 1e-12, np.mean(under**2) + 1e-12
        x = x + under * np.sqrt(p_x / p_u / 10 ** (snr / 10))
        x /= np.abs(x).max() + 1e-9
    return (x * rng.uniform(0.05, 0.9)).astype(np.float32)


def crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(x) <= n:
        out = np.zeros(n, np.float32)
        off = int(rng.integers(0, n - len(x) + 1))
        out[off : off + len(x)] = x
        return out
    off = int(rng.integers(0, len(x) - n + 1))
    return x[off : off + n]


def spec_augment(f: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = f.copy()
    for _ in range(2):
        w = int(rng.integers(0, 8))
        s = int(rng.integers(0, N_MELS - w + 1))
        f[:, s : s + w] = 0.0
    for _ in range(2):
        w = int(rng.integers(0, max(1, len(f) // 8)))
        s = int(rng.integers(0, len(f) - w + 1))
        f[s : s + w] = 0.0
    return f


# ---------------------------------------------------------------------------------------------- model
def build_model(n_classes: int, width: int = 128):
    """TDNN with statistics pooling (x-vector shape), a language head and a domain head."""
    import torch
    from torch import nn

    class GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lam):
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.lam * g, None

    def block(i, o, k, d):
        return nn.Sequential(nn.Conv1d(i, o, k, dilation=d, padding=d * (k - 1) // 2), nn.BatchNorm1d(o), nn.ReLU())

    class LangID(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                block(N_MELS, width, 5, 1),
                block(width, width, 3, 2),
                block(width, width, 3, 3),
                block(width, width, 3, 4),
                block(width, 2 * width, 1, 1),
            )
            self.embed = nn.Sequential(nn.Linear(4 * width, width), nn.BatchNorm1d(width), nn.ReLU())
            self.head = nn.Linear(width, n_classes)
            self.domain = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, 2))

        def embedding(self, feats):  # feats (B, T, N_MELS)
            h = self.body(feats.transpose(1, 2))
            stats = torch.cat([h.mean(dim=2), torch.sqrt(h.var(dim=2, unbiased=False) + 1e-5)], dim=1)
            return self.embed(stats)

        def forward(self, feats):  # exported: log-probabilities (B, n_classes)
            return torch.log_softmax(self.head(self.embedding(feats)), dim=1)

        def domain_logits(self, emb, lam):
            return self.domain(GradReverse.apply(emb, lam))

    return LangID()


# ------------------------------------------------------------------------------------------- training
def make_batch(pools, labels, batch, method, rng, aug="v2"):
    """Domain-balanced batch: (features (B,T,M), class ids, domain ids (-1 = none))."""
    n = int(CROP_S[int(rng.integers(len(CROP_S)))] * RATE)
    feats, ys, ds = [], [], []
    for _ in range(batch):
        r = rng.random()
        if r < 0.08:
            x, y, d = nonspeech(n, rng), labels.index(NONSPEECH), -1
        elif method != "synth" and r < 0.08 + 0.46 and pools["real_langs"]:
            lang = pools["real_langs"][int(rng.integers(len(pools["real_langs"])))]
            items = pools["real"][lang]
            # v2: real clips get the synthesized clips' strong augmentation and a wider speed range, so
            # the few speakers per language cannot be learnt as the language (v1: light augmentation)
            x = augment(
                crop(items[int(rng.integers(len(items)))], n, rng),
                rng,
                strong=aug == "v2",
                speed=(0.8, 1.25) if aug == "v2" else (0.88, 1.12),
            )
            y, d = labels.index(lang), 1
        else:
            lang = LANGUAGES[int(rng.integers(len(LANGUAGES)))]
            items = pools["synth"][lang]
            x = augment(
                crop(items[int(rng.integers(len(items)))], n, rng),
                rng,
                strong=True,
                speed=(0.8, 1.25) if aug == "v2" else (0.88, 1.12),
            )
            y, d = labels.index(lang), 0
        x = crop(x, n, rng)
        feats.append(spec_augment(log_mel(x), rng))
        ys.append(y)
        ds.append(d)
    return np.stack(feats), np.array(ys), np.array(ds)


def train(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    labels = list(LANGUAGES) + [NONSPEECH]
    t0 = time.time()
    cache = None if args.smoke else Path(args.cache) / f"synth_{args.synth_per_lang}_{args.seed}.npz"
    synth = synth_clips(args.synth_per_lang, args.seed, cache)
    real_train, real_dev = real_clips(args.seed, limit=3 if args.smoke else None, required=not args.smoke)
    print(
        f"data: {len(synth)} synthesized, {len(real_train)} real train, {len(real_dev)} real dev "
        f"clips ({time.time() - t0:.0f} s)",
        flush=True,
    )
    pools = {"synth": {l: [x for ll, x in synth if ll == l] for l in LANGUAGES}, "real": {}}
    for lang, x in real_train:
        pools["real"].setdefault(lang, []).append(x)
    pools["real_langs"] = sorted(pools["real"])
    model = build_model(len(labels), width=args.width)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    t_train = time.time()
    step, budget = 0, args.minutes * 60
    losses = []
    while step < args.steps and time.time() - t_train < budget:
        frac = min(1.0, max(step / max(1, args.steps), (time.time() - t_train) / budget))
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * frac))
        f, y, d = make_batch(pools, labels, args.batch, args.method, rng, args.aug)
        f, y, d = torch.from_numpy(f), torch.from_numpy(y), torch.from_numpy(d)
        model.train()
        emb = model.embedding(f)
        loss = torch.nn.functional.cross_entropy(model.head(emb), y, label_smoothing=0.1)
        if args.method == "dann" and (d == 0).any() and (d == 1).any():
            lam = args.dann_weight * (2 / (1 + np.exp(-10 * frac)) - 1)
            keep = d >= 0
            loss = loss + torch.nn.functional.cross_entropy(model.domain_logits(emb[keep], lam), d[keep])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {np.mean(losses[-50:]):.3f} ({time.time() - t_train:.0f} s)", flush=True)
    train_s = time.time() - t_train
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    export(model, labels, out / "langid.onnx", args)
    report = {
        "method": args.method,
        "aug": args.aug,
        "seed": args.seed,
        "steps": step,
        "batch": args.batch,
        "width": args.width,
        "train_s": round(train_s, 1),
        "total_s": round(time.time() - t0, 1),
        "threads": args.threads,
        "synth_clips": len(synth),
        "real_train_clips": len(real_train),
        "real_dev_clips": len(real_dev),
        "labels": labels,
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
    }
    report["dev"] = evaluate_dev(out / "langid.onnx", real_dev)
    (out / "train_report.json").write_text(json.dumps(report, indent=1))
    for stale in out.glob("corpus_eval*"):  # measurements of the previous model
        stale.unlink()
    write_card(out, report)
    print(
        "measure it on real speech with: python models/langid/evaluate.py --model",
        out / "langid.onnx",
        "&& python models/langid/train.py --card-only --out",
        out,
        flush=True,
    )
    print(json.dumps({k: v for k, v in report.items() if k != "dev"}), flush=True)
    print(f"real dev accuracy: {report['dev']['accuracy']:.3f} per language {report['dev']['per_language']}")
    return report


def export(model, labels, path: Path, args) -> None:
    import torch

    model.eval()
    dummy = torch.zeros(1, 200, N_MELS)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        dynamo=False,
        input_names=["features"],
        output_names=["logprobs"],
        dynamic_axes={"features": {0: "batch", 1: "frames"}, "logprobs": {0: "batch"}},
        opset_version=17,
    )
    meta = {
        "labels": labels,
        "nonspeech": NONSPEECH,
        "rate": RATE,
        "n_mels": N_MELS,
        "features": "rtaudio.stages.lid_features.log_mel",
        "method": args.method,
        "seed": args.seed,
        "window_s": 2.0,
    }
    path.with_name("labels.json").write_text(json.dumps(meta, indent=1))


def evaluate_dev(model_path: Path, clips) -> dict:
    """Whole-clip top-1 on the real dev split, through the runtime's own code path."""
    from rtaudio.stages.lid import LangidModel

    m = LangidModel(model_path)
    pred = [m.decide(x, languages=None, threshold=0.0)["language"] for _, x in clips]  # top-1, as on the corpus
    r = confusion([lang for lang, _ in clips], pred)
    return {
        "accuracy": round(r["accuracy"], 3),
        "per_language": {l: round(v, 3) for l, v in r["per_language"].items()},
        "confusion": r["confusion"],
        "n": r["n"],
    }


def confusion(truth: list[str], pred: list[str]) -> dict:
    """Top-1 figures of ``pred`` against ``truth`` (label names): ``accuracy``, ``per_language`` accuracy,
    ``confusion`` (true -> predicted -> count, over every name either side uses) and ``n``."""
    langs = sorted(set(truth))
    names = sorted(set(truth) | set(pred))
    conf = {a: {b: 0 for b in names} for a in langs}
    for t, p in zip(truth, pred, strict=True):
        conf[t][p] += 1
    per = {l: conf[l][l] / sum(conf[l].values()) for l in langs}
    acc = float(np.mean([t == p for t, p in zip(truth, pred, strict=True)])) if truth else 0.0
    return {"accuracy": acc, "per_language": per, "confusion": conf, "n": len(truth)}


def confusion_md(conf: dict) -> str:
    cols = sorted({c for row in conf.values() for c in row})
    lines = ["| true \\ predicted | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for t in sorted(conf):
        lines.append(f"| {t} | " + " | ".join(str(conf[t].get(c, 0)) for c in cols) + " |")
    return "\n".join(lines)


def measured_parts(out: Path) -> list[str]:
    """The model card's corpus figures and hand-written notes: the accuracy line (from ``corpus_eval.json``,
    written by ``evaluate.py``), a blank line, then ``corpus_eval.md`` and ``notes.md`` when they exist."""
    parts = []
    corpus = out / "corpus_eval.json"
    if corpus.exists():
        c = json.loads(corpus.read_text())
        w, f3 = c["whole clip"]["accuracy"], c["first 3 s of speech"]["accuracy"]
        parts.append(
            f"- **Accuracy on real speech** (dev corpus speech_lid, FLEURS en/de/fr/es/pt, 25 clips, chance "
            f"20 %): top-1 **{w:.0%}** over a whole clip, **{f3:.0%}** on the first 3 s of speech."
        )
    parts.append("")
    return parts + [(out / extra).read_text() for extra in ("corpus_eval.md", "notes.md") if (out / extra).exists()]


def write_card(out: Path, report: dict) -> None:
    """MODEL_CARD.md: the generated facts, then the hand-written notes (notes.md) and corpus figures."""
    dev = report["dev"]
    size = (out / "langid.onnx").stat().st_size
    parts = [
        "# langid: rtaudio's spoken-language-ID model\n",
        f"- Labels: {', '.join(report['labels'])} (`nonspeech` is reported as `unknown`).",
        f"- File: `langid.onnx` ({size / 1e6:.2f} MB) + `labels.json`; input: "
        "`rtaudio.stages.lid_features.log_mel` of 16 kHz audio (40 log-mel bands, 10 ms hop, per-window CMVN), "
        "shape (batch, frames, 40); output: log-probabilities over the labels.",
        f"- Method: `{report['method']}`; TDNN (width {report['width']}) with mean+std pooling; "
        f"augmentation `{report.get('aug', 'v1')}`; seed {report['seed']}; {report['steps']} steps of "
        f"{report['batch']} crops of 1.5-3 s. The run is time-budgeted (`--minutes`), so a rerun on another "
        "machine makes a similar, not identical, model; `--steps N --minutes 1e9` fixes the step count.",
        f"- Training time: {report['train_s'] / 60:.1f} min of training, {report['total_s'] / 60:.1f} min in all, "
        f"on {report['threads']} CPU thread(s).",
        f"- Data: {report['synth_clips']} espeak-ng clips (all {len(LANGUAGES)} languages, voice variants "
        f"{', '.join(HELD_OUT_VARIANTS)} held out), {report['real_train_clips']} real clips from `lid_train` "
        "(speechocean762 CC BY 4.0, Mozilla Common Voice CC0, CSS10 public domain), synthesized non-speech.",
    ]
    parts += measured_parts(out)
    parts += [
        f"## Accuracy on the real dev split of lid_train ({dev['n']} clips held out of training, whole clip)\n",
        "These clips share speakers with the training clips (Common Voice has a few speakers per language, "
        "CSS10 one): the figure shows what the model learnt, not how it does on new voices.\n",
        f"Top-1: {dev['accuracy']:.1%}; per language: "
        + ", ".join(f"{k} {v:.0%}" for k, v in dev["per_language"].items())
        + ".\n",
        confusion_md(dev["confusion"]),
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(parts))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(HERE / "acoustic"), help="output folder (default: models/langid/acoustic)")
    p.add_argument("--method", choices=("synth", "mixed", "dann"), default="mixed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--aug",
        choices=("v1", "v2"),
        default="v2",
        help="v1: light augmentation of real clips, speed 0.88-1.12; v2: strong for all, speed 0.8-1.25",
    )
    p.add_argument("--minutes", type=float, default=13.0, help="training time budget")
    p.add_argument("--steps", type=int, default=100000, help="at most this many steps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--dann-weight", type=float, default=0.3)
    p.add_argument("--synth-per-lang", type=int, default=250)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "rtaudio-langid-cache"))
    p.add_argument("--smoke", action="store_true", help="a few utterances and steps (the test runs this)")
    p.add_argument(
        "--card-only",
        action="store_true",
        help="only rewrite MODEL_CARD.md from train_report.json, corpus_eval.md and notes.md in --out",
    )
    args = p.parse_args(argv)
    if args.card_only:  # re-measures the real dev split with the current runtime rules
        out = Path(args.out)
        report = json.loads((out / "train_report.json").read_text())
        report["dev"] = evaluate_dev(out / "langid.onnx", real_clips(report["seed"])[1])
        (out / "train_report.json").write_text(json.dumps(report, indent=1))
        write_card(out, report)
        return 0
    if args.smoke:
        args.synth_per_lang, args.steps, args.batch, args.width, args.minutes = 2, 3, 4, 16, 2.0
        if os.path.abspath(args.out) in (str(HERE), str(HERE / "acoustic")):
            raise SystemExit("--smoke needs --out pointing at a throwaway folder")
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
