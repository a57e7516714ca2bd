"""Synthetic but structured data sets standing in for the MLPerf Tiny ones (not reachable here).

Each task has a fixed, seeded set of class prototypes and draws samples with random
placement, scale, amplitude and noise, so models see realistic value ranges and their
outputs depend on the input. None of this is real speech, images or machine sound.
"""

from __future__ import annotations

import numpy as np


class KeywordTask:
    """49 x 10 MFCC-like frames; 12 classes: 0 silence, 1 unknown, 2-11 keywords.

    A keyword is a fixed sequence of 2-4 "phones" (a 10-coefficient spectral shape each,
    decaying with coefficient index like MFCCs) painted with Hann windows at a random onset,
    with jittered durations and amplitudes over a noise floor.
    """

    frames, coeffs, num_classes = 49, 10, 12

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.coef_scale = 1.0 / (1.0 + 0.35 * np.arange(self.coeffs))
        self.templates = []
        for _ in range(self.num_classes - 2):
            n_phones = int(rng.integers(2, 5))
            phones = rng.normal(0.0, 1.0, size=(n_phones, self.coeffs))
            durations = rng.integers(5, 11, size=n_phones)
            self.templates.append((phones, durations))

    def _paint(self, x: np.ndarray, phones: np.ndarray, durations: np.ndarray, rng: np.random.Generator) -> None:
        durs = np.maximum(3, np.round(durations * rng.uniform(0.8, 1.25, size=len(durations)))).astype(int)
        t = int(rng.integers(0, max(1, self.frames - int(durs.sum()) + 1)))
        for phone, d in zip(phones, durs):
            window = np.hanning(d + 2)[1:-1]
            seg = min(d, self.frames - t)
            if seg <= 0:
                break
            amp = rng.uniform(0.7, 1.3)
            x[t:t + seg] += amp * window[:seg, None] * phone[None, :] * 6.0 * self.coef_scale
            t += d

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, self.num_classes, size=n)
        x = rng.normal(0.0, 0.6, size=(n, self.frames, self.coeffs)) * self.coef_scale
        x[:, :, 0] -= 4.0  # low energy floor in c0, like silence frames of real MFCCs
        for k, y in enumerate(labels):
            if y == 0:
                continue
            if y == 1:
                m = int(rng.integers(2, 5))
                self._paint(x[k], rng.normal(0.0, 1.0, size=(m, self.coeffs)), rng.integers(5, 11, size=m), rng)
            else:
                phones, durations = self.templates[y - 2]
                self._paint(x[k], phones, durations, rng)
        return x[..., None], labels


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return yy + 0.5, xx + 0.5


SKIN = np.array([0.85, 0.65, 0.5])


def _scene_colour(rng: np.random.Generator) -> np.ndarray:
    """A random colour away from skin tones (so a person stays detectable)."""
    while True:
        c = rng.uniform(0.0, 1.0, size=3)
        if np.abs(c - SKIN).sum() > 0.45:
            return c


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = _grid(size)
    img = _scene_colour(rng)[None, None, :] * np.ones((size, size, 3))
    g = rng.normal(0.0, 0.15, size=(2, 3))
    img += (yy[..., None] / size - 0.5) * g[0] + (xx[..., None] / size - 0.5) * g[1]
    for _ in range(int(rng.integers(1, 5))):  # furniture-like rectangles
        y0, x0 = rng.integers(0, size, size=2)
        h, w = rng.integers(size // 8, size // 2, size=2)
        img[y0:y0 + h, x0:x0 + w] = _scene_colour(rng)
    freq = rng.uniform(0.02, 0.15, size=2)
    img += 0.06 * np.sin(2 * np.pi * (freq[0] * yy + freq[1] * xx))[..., None]
    return img


def person_images(n: int, rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """96 x 96 RGB scenes in [-1, 1]; label 1 when a person-like figure (skin-toned head, torso,
    legs) is in it. Scene colours avoid skin tones, so the task is learnable in a few epochs."""
    labels = rng.integers(0, 2, size=n)
    images = np.empty((n, size, size, 3))
    yy, xx = _grid(size)
    for k in range(n):
        img = _background(rng, size)
        if labels[k]:
            h = rng.uniform(0.45, 0.95) * size
            cx = rng.uniform(0.2, 0.8) * size
            bottom = rng.uniform(0.75, 1.05) * size
            skin = np.clip(SKIN + rng.normal(0, 0.05, 3), 0, 1)
            cloth = _scene_colour(rng)
            legs = rng.uniform(0.0, 0.6, size=3)
            head_r = 0.11 * h
            head_cy = bottom - h + head_r
            torso_cy, torso_ry, torso_rx = bottom - 0.6 * h, 0.2 * h, 0.12 * h
            leg_top = bottom - 0.42 * h
            img[((yy - head_cy) ** 2 + (xx - cx) ** 2) < head_r ** 2] = skin
            img[((yy - torso_cy) / torso_ry) ** 2 + ((xx - cx) / torso_rx) ** 2 < 1.0] = cloth
            for side in (-1, 1):
                leg = (yy > leg_top) & (yy < bottom) & (np.abs(xx - (cx + side * 0.05 * h)) < 0.035 * h)
                img[leg] = legs
        img += rng.normal(0.0, 0.04, size=img.shape)
        images[k] = np.clip(img, 0.0, 1.0) * 2.0 - 1.0
    return images, labels


SHAPE_CLASSES = ("disc", "square", "triangle", "ring", "cross", "h-stripes", "v-stripes", "d-stripes",
                 "checker", "two-blobs")


def shape_images(n: int, rng: np.random.Generator, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """32 x 32 RGB images in [0, 1] of 10 shape/texture classes with random colours and placement."""
    labels = rng.integers(0, len(SHAPE_CLASSES), size=n)
    images = np.empty((n, size, size, 3))
    yy, xx = _grid(size)
    for k, y in enumerate(labels):
        bg, fg = rng.uniform(0.0, 1.0, size=(2, 3))
        while np.abs(fg - bg).sum() < 0.6:
            fg = rng.uniform(0.0, 1.0, size=3)
        img = np.ones((size, size, 3)) * bg
        cy, cx = rng.uniform(0.35, 0.65, size=2) * size
        r = rng.uniform(0.2, 0.35) * size
        dy, dx = yy - cy, xx - cx
        period = rng.uniform(3.0, 6.0)
        phase = rng.uniform(0, period)
        if y == 0:
            mask = dy**2 + dx**2 < r**2
        elif y == 1:
            mask = (np.abs(dy) < r * 0.85) & (np.abs(dx) < r * 0.85)
        elif y == 2:
            mask = (dy < r * 0.7) & (dy > -r) & (np.abs(dx) < (dy + r) * 0.6)
        elif y == 3:
            mask = (dy**2 + dx**2 < r**2) & (dy**2 + dx**2 > (0.55 * r) ** 2)
        elif y == 4:
            mask = ((np.abs(dy) < 0.25 * r) & (np.abs(dx) < r)) | ((np.abs(dx) < 0.25 * r) & (np.abs(dy) < r))
        elif y == 5:
            mask = ((yy + phase) % period) < period / 2
        elif y == 6:
            mask = ((xx + phase) % period) < period / 2
        elif y == 7:
            mask = ((xx + yy + phase) % (period * 1.4)) < period * 0.7
        elif y == 8:
            mask = ((np.floor((yy + phase) / period) + np.floor((xx + phase) / period)) % 2) == 0
        else:
            off = rng.uniform(0.15, 0.3) * size
            mask = ((dy - off) ** 2 + (dx - off) ** 2 < (0.4 * r) ** 2) | ((dy + off) ** 2 + (dx + off) ** 2 < (0.4 * r) ** 2)
        img[mask] = fg
        img += rng.normal(0.0, 0.05, size=img.shape)
        images[k] = np.clip(img, 0.0, 1.0)
    return images, labels


def machine_spectra(n: int, rng: np.random.Generator, anomalous: bool = False,
                    frames: int = 5, bins: int = 128) -> np.ndarray:
    """Flattened 5 x 128 log-mel-like frames of a toy machine: a drifting harmonic series over
    a sloped noise floor, standardised to roughly zero mean and unit spread. Anomalous samples
    add an inharmonic partial and a broadband click in one frame."""
    out = np.empty((n, frames * bins))
    b = np.arange(bins, dtype=np.float64)
    floor = 0.02 * np.exp(-b / 60.0)
    for k in range(n):
        f0 = rng.uniform(5.0, 12.0)
        amps = rng.uniform(0.7, 1.3, size=10) / np.arange(1, 11)
        spec = np.empty((frames, bins))
        for t in range(frames):
            f0 *= 1.0 + rng.normal(0.0, 0.01)
            power = floor * rng.uniform(0.8, 1.2, size=bins)
            for h in range(10):
                centre = f0 * (h + 1)
                if centre < bins:
                    power = power + amps[h] * np.exp(-0.5 * ((b - centre) / 1.2) ** 2)
            spec[t] = power
        if anomalous:
            centre = f0 * rng.uniform(2.3, 4.7)
            spec += 0.6 * np.exp(-0.5 * ((b - centre) / 1.5) ** 2)[None, :]
            spec[int(rng.integers(0, frames))] += 0.3
        log_mel = 10.0 * np.log10(spec)
        out[k] = ((log_mel + 12.0) / 6.0).reshape(-1)
    return out
