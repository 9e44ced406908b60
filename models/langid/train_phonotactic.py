"""Train rtaudio's phonotactic language-ID model (the shipped ``langid.onnx``) on the CPU.

Reproducible (seeded) and offline; about 15 minutes on 2 cores. Method (PRLM with a discriminative
back end):

1. **A real phone recogniser.** pocketsphinx's US-English acoustic model, trained on real speech,
   decodes every clip as a free phone loop (:class:`rtaudio.stages.lid_phones.PhoneRecognizer`).
2. **Phonotactic features.** Square-rooted relative frequencies of phone unigrams and bigrams
   (:func:`rtaudio.stages.lid_phones.phone_counts` / ``ngram_features``, shared with the runtime).
3. **Training speech.** Synthesized speech from three unrelated synthesizers: espeak-ng (formant
   synthesis, every voice and variant), MBROLA (diphones cut from real recordings of native
   speakers, 37 voices) and SVOX Pico (en, de, es, fr, it), text sampled from ``wordfreq`` by word
   frequency; plus the real speech of ``$RTAUDIO_LID_TRAIN`` (en, de, es, fr, ja, ru); plus
   synthesized non-speech (noise, tones, drums and chords) as the class ``nonspeech``.
4. **Mixing the domains.** Synthesized and real clips train one model; the real clips are weighted
   (``--real-weight``, each real language equally) so that a few hundred real clips count against
   thousands of synthesized ones. ``--adapt easy`` instead uses "frustratingly easy" feature
   augmentation (Daume 2007: shared, synthesized and real copies of the features; the runtime
   model is the shared plus the real block): it scores higher on the real clips' cross-validation
   but never answers a language that has no real clips (it, nl, pt), so it is not the default.
5. **A multinomial logistic regression** on those features, exported as ONNX
   (``MatMul + Add + LogSoftmax``), input metadata ``phone_ngrams_v1``.

Held out of training: the MBROLA voices in :data:`HELD_OUT_MBROLA` and espeak-ng's variants
``f5``/``m8`` (the tests synthesize with those). The figure on real speech in the model card is a
5-fold cross-validation over the real clips (with the synthesized set always in training); the
corpus (``evaluate.py``) is measured only at the end.

Usage::

    python models/langid/train_phonotactic.py                       # the shipped model
    python models/langid/train_phonotactic.py --smoke --out /tmp/x  # seconds; what the test runs

Needs the ``train`` extra (``pip install -e .[train]``), espeak-ng, and for the full set the
Debian packages ``mbrola``, ``mbrola-*`` voices and ``libttspico-utils`` (``make train-voices``).
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
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: Where the shipped model goes: package data of rtaudio (found at run time with importlib.resources).
PACKAGE_DATA = ROOT / "rtaudio" / "models" / "data" / "langid"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from train import (
    HELD_OUT_VARIANTS,
    LANGUAGES,
    NONSPEECH,
    VARIANTS,
    VOICES,
    confusion,
    confusion_md,
    lid_train_dir,
    load_audio,
    measured_parts,
    nonspeech,
    sentences,
)

from rtaudio.stages.lid_phones import (
    FEATURE_NAME,
    RATE,
    PhoneRecognizer,  # noqa: E402
    n_features,
    ngram_features,
    phone_counts,
)

#: MBROLA voices per language (Debian non-free ``mbrola-*``).
MBROLA = {
    "en": ["us1", "us2", "us3", "en1"],
    "de": ["de1", "de2", "de3", "de4", "de5", "de6", "de7"],
    "es": ["es1", "es2", "es3", "es4"],
    "fr": ["fr1", "fr2", "fr3", "fr4", "fr5", "fr6", "fr7"],
    "it": ["it1", "it2", "it3", "it4"],
    "pt": ["br1", "br2", "br3", "br4", "pt1"],
    "nl": ["nl1", "nl2", "nl3"],
    "ja": ["jp1", "jp2", "jp3"],
    "ru": [],
}
#: MBROLA voices never used in training.
HELD_OUT_MBROLA = ("us3", "de6", "es3", "fr4", "it4", "br4", "nl3", "jp3")
#: SVOX Pico languages (``pico2wave -l``).
PICO = {"en": ["en-US", "en-GB"], "de": ["de-DE"], "es": ["es-ES"], "fr": ["fr-FR"], "it": ["it-IT"]}
#: Share of clips per synthesizer (renormalised over those a language has).
ENGINE_SHARE = {"espeak": 0.4, "mbrola": 0.4, "pico": 0.2}
#: Highest n-gram order of the features (``--order``); phone counts are kept up to trigrams.
ORDER = 2


# ------------------------------------------------------------------------------------------------ data
def voices(lang: str) -> dict[str, list[str]]:
    """Training voices of ``lang`` per synthesizer that is installed here (held-out voices left out)."""
    out = {"espeak": [v + ("+" + var if var else "") for v in VOICES[lang] for var in VARIANTS]}
    if shutil.which("mbrola"):
        out["mbrola"] = [
            v for v in MBROLA[lang] if v not in HELD_OUT_MBROLA and Path(f"/usr/share/mbrola/{v}").exists()
        ]
    if shutil.which("pico2wave"):
        out["pico"] = list(PICO.get(lang, []))
    return {k: v for k, v in out.items() if v}


def synthesize(engine: str, voice: str, text: str, rng: np.random.Generator, tmp: str) -> np.ndarray:
    """``text`` spoken by ``voice`` of ``engine`` (espeak, mbrola, pico), mono float32 at 16 kHz, peak 0.5."""
    path = os.path.join(tmp, "s.wav")
    if engine == "pico":
        cmd = ["pico2wave", "-l", voice, "-w", path, text]
    else:
        v = voice if engine == "espeak" else "mb-" + voice
        cmd = [
            "espeak-ng",
            "-v",
            v,
            "-s",
            str(int(rng.integers(120, 190))),
            "-p",
            str(int(rng.integers(25, 75))),
            "-w",
            path,
            text,
        ]
    subprocess.run(cmd, check=True, capture_output=True)
    x = load_audio(path)
    return (x / (np.abs(x).max() + 1e-6) * 0.5).astype(np.float32)


def synth_set(per_lang: int, seed: int) -> list[dict]:
    """``per_lang`` synthesized clips per language: ``{"lang", "engine", "voice", "audio"}``."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed; apt-get install espeak-ng")
    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in LANGUAGES:
            pools = voices(lang)
            engines = sorted(pools)
            share = np.array([ENGINE_SHARE[e] for e in engines])
            for text in sentences(lang, per_lang, rng):
                engine = str(rng.choice(engines, p=share / share.sum()))
                voice = str(rng.choice(pools[engine]))
                try:
                    x = synthesize(engine, voice, text, rng, tmp)
                except subprocess.CalledProcessError:
                    continue  # a voice that cannot say this text (rare MBROLA diphone gaps)
                if len(x) >= RATE // 2:
                    out.append({"lang": lang, "engine": engine, "voice": voice, "audio": x})
    return out


def real_set() -> list[dict]:
    """Every clip of the real training set: ``{"lang", "file", "audio"}`` (empty when it is absent)."""
    manifest = lid_train_dir() / "MANIFEST.csv"
    if not manifest.exists():
        print(f"no real training speech at {manifest}; going on without it", flush=True)
        return []
    rows = list(csv.DictReader(open(manifest, encoding="utf-8")))
    return [
        {"lang": r["language"], "file": r["file"], "audio": load_audio(manifest.parent / r["file"])}
        for r in rows
        if r["language"] in LANGUAGES
    ]


def nonspeech_set(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed + 7)
    return [{"lang": NONSPEECH, "audio": nonspeech(int(rng.integers(RATE, 6 * RATE)), rng)} for _ in range(n)]


_RECOGNIZER = None


def _phones(x: np.ndarray) -> list[str]:
    global _RECOGNIZER
    if _RECOGNIZER is None:
        _RECOGNIZER = PhoneRecognizer()
    return _RECOGNIZER.phones(x)


def recognise(clips: list[dict], workers: int) -> np.ndarray:
    """Phone n-gram counts (up to trigrams) of every clip, ``(clips, n_features(3))``, with a progress line."""
    out = np.zeros((len(clips), n_features(3)), dtype=np.float32)
    audio = [c["audio"] for c in clips]
    with Pool(workers) if workers > 1 else _NoPool() as pool:
        for i, phones in enumerate(pool.imap(_phones, audio, chunksize=8)):
            out[i] = phone_counts(phones, 3)
            if (i + 1) % 250 == 0 or i + 1 == len(clips):
                print(f"  phones: {i + 1}/{len(clips)}", flush=True)
    return out


class _NoPool:
    """``Pool``'s ``imap`` in this process (one worker; also works where the recipe is not importable by name)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap(fn, items, chunksize=1):
        return map(fn, items)


# --------------------------------------------------------------------------------------------- model
def fit(xs, ys, xr, yr, labels, c: float, adapt: str, real_weight: float):
    """Weights ``(W, b)`` of the runtime model (for real speech).

    ``adapt="none"``: one logistic regression on synthesized and real clips together, the real clips
    weighted ``real_weight`` times the synthesized ones in all (each real language equally).
    ``adapt="easy"``: feature augmentation; the runtime model is the shared plus the real-domain block.
    """
    from sklearn.linear_model import LogisticRegression

    z = np.zeros
    if adapt == "easy":
        a = np.vstack([np.hstack([xs, xs, z(xs.shape)]), np.hstack([xr, z(xr.shape), xr])])
    else:
        a = np.vstack([xs, xr])
    y = np.concatenate([ys, yr])
    counts = np.bincount(yr, minlength=len(labels)).astype(float)
    present = max(1, int((counts > 0).sum()))
    scale = real_weight * len(ys) / max(1, len(yr)) if adapt == "none" else 1.0
    w = np.concatenate([np.ones(len(ys)), scale * (len(yr) / present) / np.maximum(counts[yr], 1)])
    clf = LogisticRegression(C=c, max_iter=3000).fit(a, y, sample_weight=w)
    f = xs.shape[1]
    coef = np.zeros((len(labels), a.shape[1]))
    coef[clf.classes_] = clf.coef_
    bias = np.full(len(labels), -30.0)  # a class absent from training is never chosen
    bias[clf.classes_] = clf.intercept_
    w_runtime = coef[:, :f] + coef[:, 2 * f :] if adapt == "easy" else coef
    return w_runtime.T.astype(np.float32), bias.astype(np.float32)


def predict(w, b, x) -> np.ndarray:
    z = x @ w + b
    return z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def export(w: np.ndarray, b: np.ndarray, labels: list[str], path: Path, report: dict) -> None:
    order = report["order"]
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from rtaudio.models.voxlingua import META_INPUT, META_RATE

    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["z0"]),
            helper.make_node("Add", ["z0", "b"], ["z"]),
            helper.make_node("LogSoftmax", ["z"], ["logprobs"], axis=-1),
        ],
        "rtaudio_langid_phonotactic",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", w.shape[0]])],
        [helper.make_tensor_value_info("logprobs", TensorProto.FLOAT, ["batch", len(labels)])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rtaudio")
    model.ir_version = 8
    for k, v in {META_INPUT: FEATURE_NAME, META_RATE: str(RATE), "ngram_order": str(order)}.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    meta = {
        "labels": labels,
        "nonspeech": NONSPEECH,
        "rate": RATE,
        "features": "rtaudio.stages.lid_phones",
        "input": FEATURE_NAME,
        "ngram_order": order,
        "method": "phonotactic",
        "seed": report["seed"],
    }
    path.with_name("labels.json").write_text(json.dumps(meta, indent=1))


def scores(pred: np.ndarray, truth: np.ndarray, labels: list[str]) -> dict:
    """:func:`train.confusion` of label indices, rounded, plus ``balanced`` (mean per-language accuracy)."""
    r = confusion([labels[t] for t in truth], [labels[p] for p in pred])
    per = {l: round(v, 3) for l, v in r["per_language"].items()}
    return {
        "accuracy": round(r["accuracy"], 3),
        "balanced": round(float(np.mean(list(per.values()))), 3),
        "per_language": per,
        "confusion": r["confusion"],
        "n": r["n"],
    }


def train(args) -> dict:
    t0 = time.time()
    labels = list(LANGUAGES) + [NONSPEECH]
    synth = synth_set(args.synth_per_lang, args.seed) + nonspeech_set(args.nonspeech, args.seed)
    held = held_out_set(args.held_out_per_lang, args.seed)
    real = [] if args.smoke else real_set()
    print(
        f"{len(synth)} synthesized clips (incl. non-speech), {len(held)} held-out-voice clips, "
        f"{len(real)} real clips ({time.time() - t0:.0f} s)",
        flush=True,
    )
    cache = (
        Path(args.cache) / f"counts3-seed{args.seed}-{args.synth_per_lang}-{args.nonspeech}-{len(real)}.npy"
        if args.cache
        else None
    )
    if cache is not None and cache.exists():
        counts = np.load(cache)
        print(f"phone counts from {cache}", flush=True)
    else:
        counts = recognise(synth + held + real, args.workers)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, counts)
    counts = counts[:, : n_features(args.order)]
    xs, xh, xr = np.split(ngram_features(counts), [len(synth), len(synth) + len(held)])
    ys = np.array([labels.index(c["lang"]) for c in synth])
    yh = np.array([labels.index(c["lang"]) for c in held], dtype=int)
    yr = np.array([labels.index(c["lang"]) for c in real], dtype=int)
    report = {
        "seed": args.seed,
        "c": args.c,
        "adapt": args.adapt,
        "real_weight": args.real_weight,
        "order": args.order,
        "labels": labels,
        "synth_clips": {e: sum(c.get("engine") == e for c in synth) for e in ("espeak", "mbrola", "pico")},
        "nonspeech_clips": args.nonspeech,
        "real_clips": {l: int((yr == labels.index(l)).sum()) for l in LANGUAGES},
        "recognise_s": round(time.time() - t0),
    }
    if len(real) >= 10:  # 5-fold cross-validation over the real clips, synthesized set always in training
        folds = np.arange(len(real)) % 5
        pred = np.zeros(len(real), dtype=int)
        for k in range(5):
            w, b = fit(xs, ys, xr[folds != k], yr[folds != k], labels, args.c, args.adapt, args.real_weight)
            lp = predict(w, b, xr[folds == k])
            lp[:, labels.index(NONSPEECH)] = -np.inf  # top-1 language, as on the corpus
            pred[folds == k] = lp.argmax(1)
        report["real_cv"] = scores(pred, yr, labels)
        print(
            f"real 5-fold: {report['real_cv']['accuracy']:.3f} balanced {report['real_cv']['balanced']:.3f} "
            f"{report['real_cv']['per_language']}",
            flush=True,
        )
    w, b = fit(xs, ys, xr, yr, labels, args.c, args.adapt, args.real_weight)
    if len(held):
        report["held_out_voices"] = scores(predict(w, b, xh).argmax(1), yh, labels)
        print(f"held-out voices: {report['held_out_voices']['accuracy']:.3f}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = model_dir(out)
    model.mkdir(parents=True, exist_ok=True)
    export(w, b, labels, model / "langid.onnx", report)
    report["total_s"] = round(time.time() - t0)
    (out / "train_report.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {model / 'langid.onnx'} in {report['total_s']} s", flush=True)
    return report


def held_out_set(per_lang: int, seed: int) -> list[dict]:
    """Clips in voices never used in training: espeak-ng variants f5/m8 and :data:`HELD_OUT_MBROLA`."""
    rng = np.random.default_rng(seed + 11)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in LANGUAGES:
            pool = [("espeak", f"{VOICES[lang][0]}+{v}") for v in HELD_OUT_VARIANTS]
            if shutil.which("mbrola"):
                pool += [
                    ("mbrola", v)
                    for v in MBROLA[lang]
                    if v in HELD_OUT_MBROLA and Path(f"/usr/share/mbrola/{v}").exists()
                ]
            for text in sentences(lang, per_lang, rng):
                engine, voice = pool[int(rng.integers(len(pool)))]
                try:
                    out.append(
                        {
                            "lang": lang,
                            "engine": engine,
                            "voice": voice,
                            "audio": synthesize(engine, voice, text, rng, tmp),
                        }
                    )
                except subprocess.CalledProcessError:
                    continue
    return out


def model_dir(out: Path) -> Path:
    """Where the model files go: the package data for the shipped model (``--out`` models/langid), else ``out``."""
    return PACKAGE_DATA if os.path.abspath(out) == str(HERE) else out


def write_card(out: Path) -> None:
    """MODEL_CARD.md from ``train_report.json``, ``corpus_eval.md`` (``evaluate.py``) and ``notes.md`` in ``out``."""
    r = json.loads((out / "train_report.json").read_text())
    size = (model_dir(out) / "langid.onnx").stat().st_size
    synth = ", ".join(f"{n} {e}" for e, n in r["synth_clips"].items())
    real = ", ".join(f"{l} {n}" for l, n in r["real_clips"].items() if n)
    parts = [
        "# langid: rtaudio's spoken-language-ID model (phonotactic)\n",
        f"- Labels: {', '.join(r['labels'])} (`nonspeech` is reported as `unknown`).",
        f"- File: `langid.onnx` ({size / 1e6:.2f} MB) + `labels.json`. Input: phone n-gram statistics "
        f"(`rtaudio.stages.lid_phones`, orders 1-{r['order']}) of pocketsphinx's US-English phone recogniser "
        "run on 16 kHz audio; output: log-probabilities over the labels.",
        f"- Method: PRLM with a multinomial logistic regression (C={r['c']}), "
        + (
            "domain adaptation by feature augmentation (synthesized / real blocks)"
            if r["adapt"] == "easy"
            else f"synthesized and real clips in one fit, the real clips weighing {r['real_weight']:g} times the "
            "synthesized ones in all"
        )
        + f", seed {r['seed']}; see the docstring of `train_phonotactic.py`.",
        f"- Data: synthesized speech ({synth} clips over {len(r['labels']) - 1} languages; MBROLA voices "
        f"{', '.join(HELD_OUT_MBROLA)} and espeak-ng variants {', '.join(HELD_OUT_VARIANTS)} held out), "
        f"{r['nonspeech_clips']} synthesized non-speech clips, real speech from `lid_train` ({real}; "
        "speechocean762 CC BY 4.0, Mozilla Common Voice CC0, CSS10 public domain).",
        f"- Training time: {r['total_s'] / 60:.1f} min on 2 CPU cores ("
        f"{r['recognise_s'] / 60:.1f} min of it went to making the data and recognising its phones).",
    ]
    parts += measured_parts(out)
    for key, title, note in (
        (
            "real_cv",
            "Real lid_train speech, 5-fold cross-validation (whole clip)",
            "Each fold's clips are held out of training (the synthesized set always trains). Common Voice has few "
            "speakers per language and CSS10 one, so folds share speakers; the clips are 3-7 s long.",
        ),
        ("held_out_voices", "Synthesized speech in voices held out of training", ""),
    ):
        if key in r:
            m = r[key]
            parts += [
                f"## {title}\n",
                note + ("\n" if note else ""),
                f"Top-1: {m['accuracy']:.1%} (balanced over languages {m['balanced']:.1%}); per language: "
                + ", ".join(f"{k} {v:.0%}" for k, v in m["per_language"].items())
                + ".\n",
                confusion_md(m["confusion"]),
                "",
            ]
    (out / "MODEL_CARD.md").write_text("\n".join(parts))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--out",
        default=str(HERE),
        help="output folder for the report and card (default: models/langid; the model then goes to "
        "rtaudio/models/data/langid, the package data)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--synth-per-lang", type=int, default=600, help="synthesized clips per language")
    p.add_argument("--held-out-per-lang", type=int, default=20)
    p.add_argument("--nonspeech", type=int, default=400, help="non-speech clips")
    p.add_argument("--order", type=int, choices=(1, 2, 3), default=ORDER, help="highest phone n-gram order")
    p.add_argument("--c", type=float, default=0.3, help="inverse L2 regularisation of the logistic regression")
    p.add_argument(
        "--adapt",
        choices=("none", "easy"),
        default="none",
        help="none: one fit on all clips; easy: feature augmentation (shared + domain blocks)",
    )
    p.add_argument(
        "--real-weight",
        type=float,
        default=0.5,
        help="with --adapt none: the real clips' total weight relative to the synthesized clips'",
    )
    p.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "rtaudio-langid-phonotactic"),
        help="folder for the phone counts, so a refit skips phone recognition ('' for none)",
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="phone-recogniser processes")
    p.add_argument("--smoke", action="store_true", help="a few clips, no real speech (the test runs this)")
    p.add_argument(
        "--card-only",
        action="store_true",
        help="only rewrite MODEL_CARD.md from train_report.json, corpus_eval.md and notes.md in --out",
    )
    args = p.parse_args(argv)
    if args.card_only:
        write_card(Path(args.out))
        return 0
    if args.smoke:
        args.synth_per_lang, args.held_out_per_lang, args.nonspeech, args.workers, args.cache = 3, 1, 4, 1, ""
        if os.path.abspath(args.out) == str(HERE):
            raise SystemExit("--smoke needs --out pointing at a throwaway folder")
    train(args)
    write_card(Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
