"""An image holding a number -> one MNIST-style input per digit, in reading order.

``segment`` finds the digits (``vision.blobs``), cuts groups of touching digits apart
(``vision.split``) and prepares each digit as ``preprocess`` would. ``read_number`` adds
the recognizer: every candidate (a group read as one digit, or cut into two or three) goes
into ONE batch, and for each group the reading with the best total log-probability wins.
With the CTC line reader (``vision.line_reader``) a group that may hold touching digits is
also read whole, as a strip, and every candidate text is scored by both networks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitreader.errors import NoDigitError
from digitreader.results import Digit, Reading
from digitreader.vision.blobs import Blob, components, drop_edges, drop_stray_lines, merge_strokes, reading_order
from digitreader.vision.ink import InkMap, load_ink
from digitreader.vision.line_reader import DIGITS, DOUBT, SECOND_OPINION, greedy, scores
from digitreader.vision.preprocess import digit_ink, mnist_style
from digitreader.vision.split import cut_paths, piece_masks
from digitreader.vision.strip import group_strip

Classify = Callable[[np.ndarray], np.ndarray]  # [N,28,28] float32 -> probabilities [N,10]
LineScorer = Callable[[list[np.ndarray]], list[np.ndarray]]  # strips [28, W] -> log-probabilities [T, 11]

# Log-priors of the readings of a group, added to the sum of the digits' log-probabilities.
# Chosen on the development set (seed 123, numbers and photos): see BENCHMARKS.md.
SPLIT_ASPECT = 0.8  # a group wider than this x its height may be two touching digits
LINE_ASPECT = 0.45  # ... when the line reader helps to judge the cuts (it rules out more of the wrong ones)
THREE_ASPECT = 1.7  # ... and wider than this, three
WIDE, WIDE_PENALTY = 0.7, 0.5  # one digit: -0.5 per unit of aspect (width / height) above 0.7
CUT_PENALTY = 0.25  # each cut
BAD_PIECE_PENALTY = 2.0  # each piece that is a sliver or much shorter than its group
SURE = 0.999  # a group read as one digit with this confidence is not cut
CUTS = 10  # candidate cuts tried per group (and per number of pieces)
LINE_WEIGHT = 2.0  # weight of the line reader's log-probability of a text (vision.line_reader)
PAIR_GAP, PAIR_ASPECT = 0.1, 1.1  # neighbours this close, together this narrow, may be one broken digit
WIDEN = True  # a narrow lone digit that the line reader reads as two is cut after all (_widen_doubted)


@dataclass(frozen=True)
class Segment:
    """One digit found in an image: its box (x, y, w, h) in the image's pixels, its 28x28 input, its line."""

    box: tuple[int, int, int, int]
    input: np.ndarray = field(repr=False, compare=False)
    line: int = 0


@dataclass
class _Option:
    """One way to read a group: as one digit, or cut into pieces."""

    boxes: list[tuple[int, int, int, int]]  # working-resolution boxes, left to right
    inputs: list[np.ndarray]
    prior: float


@dataclass
class _Slot:
    group: Blob
    options: list[_Option]
    strip: np.ndarray | None = field(default=None, repr=False)  # for the line reader
    single: np.ndarray | None = field(default=None, repr=False)  # a lone digit's ink: a second opinion if in doubt

    @property
    def weight(self) -> float:
        """The weight of the line reader's log-probabilities for this slot."""
        return LINE_WEIGHT if self.single is None else SECOND_OPINION


def segment(image: Any, classify: Classify | None = None, cuts: int = CUTS) -> list[Segment]:
    """The digits of ``image`` in reading order (left to right, lines top to bottom).

    Without ``classify`` touching digits are cut by their width alone; with it (e.g.
    ``Recognizer.classify``) each group is cut the way the recognizer is most sure of.
    Raises ``ImageError`` for unreadable input; an image without ink gives ``[]``.
    """
    ink, slots = _plan(image, cuts)
    if not slots:
        return []
    chosen = _choose(slots, classify)
    return [
        Segment(ink.to_original(box), inp, slot.group.line)
        for slot, option in zip(slots, chosen, strict=True)
        for box, inp in zip(option.boxes, option.inputs, strict=True)
    ]


def read_number(image: Any, classify: Classify, cuts: int = CUTS, line: LineScorer | None = None) -> Reading:
    """Read every digit of ``image`` with ``classify`` (called once, all candidates in one batch).

    With ``line`` (``LineReader.log_probs``) the groups that may hold touching digits are
    also read by the CTC line reader, and each way of cutting them is scored by both; a
    narrow group that it reads as two digits gets cut options in a second batch.
    Lines are joined with a newline in ``Reading.text``; no digit gives ``Reading("", [])``.
    """
    ink, slots = _plan(image, cuts, LINE_ASPECT if line is not None else SPLIT_ASPECT, with_line=line is not None)
    if not slots:
        return Reading("", [])
    inputs = [inp for s in slots for o in s.options for inp in o.inputs]
    probs = np.asarray(classify(np.stack(inputs).astype(np.float32)), dtype=np.float64)
    _strip_doubted(slots, probs)
    lps = _line_log_probs(slots, line)
    if WIDEN:
        probs = _widen_doubted(slots, probs, lps, classify, cuts)
    chosen = _pick(slots, probs, lps)
    digits: list[Digit] = []
    lines: dict[int, str] = {}
    for slot, (option, p, text) in zip(slots, chosen, strict=True):
        for box, inp, row, char in zip(option.boxes, option.inputs, p, text, strict=True):
            k = int(char)
            digits.append(Digit(k, float(row[k]), ink.to_original(box), [float(v) for v in row], inp))
        lines[slot.group.line] = lines.get(slot.group.line, "") + text
    return Reading("\n".join(lines[k] for k in sorted(lines)), digits)


def _by_slot(slots: list[_Slot], probs: np.ndarray) -> list[np.ndarray]:
    """The rows of ``probs`` (every option's inputs, in slot order) that belong to each slot."""
    sizes = [sum(len(o.inputs) for o in s.options) for s in slots]
    return np.split(probs, np.cumsum(sizes)[:-1])


def _strip_doubted(slots: list[_Slot], probs: np.ndarray) -> None:
    """Give a strip to each lone digit that the digit model reads with less than ``DOUBT`` certainty."""
    for s, rows in zip(slots, _by_slot(slots, probs), strict=True):
        if s.single is not None and float(rows[0].max()) < DOUBT:  # rows[0]: the slot's whole option
            with contextlib.suppress(NoDigitError):
                s.strip = group_strip(s.single)


def _widen_doubted(
    slots: list[_Slot], probs: np.ndarray, lps: list[np.ndarray | None], classify: Classify, cuts: int
) -> np.ndarray:
    """Give cut options to each narrow lone digit that the line reader reads as two digits.

    Two touching 1s, or a 1 leaning on a 7, make a group too narrow to be cut (``LINE_ASPECT``);
    when the digit model doubts it and the line reader reads two digits in its strip, the group
    is cut in two after all and read as any other group of touching digits. The new pieces are
    classified in a second batch; returns the probabilities of every option, in slot order.
    """
    extra: dict[int, list[_Option]] = {}
    for k, (s, lp) in enumerate(zip(slots, lps, strict=True)):
        if s.single is not None and lp is not None and len(greedy(lp)[0]) == 2:
            options = _cuts(s.single, s.group, 2, cuts)
            if options:
                extra[k] = options
    if not extra:
        return probs
    more = np.asarray(
        classify(np.stack([i for opts in extra.values() for o in opts for i in o.inputs]).astype(np.float32)),
        dtype=np.float64,
    )
    parts = _by_slot(slots, probs)
    j = 0
    for k, options in extra.items():
        m = sum(len(o.inputs) for o in options)
        parts[k] = np.concatenate([parts[k], more[j : j + m]])
        j += m
        slots[k].options += options
        slots[k].single = None  # read as a group from now on: every text, the line reader's full weight
    return np.concatenate(parts)


def _line_log_probs(slots: list[_Slot], line: LineScorer | None) -> list[np.ndarray | None]:
    """The line reader's log-probabilities for each slot that has a strip (one batch), else None."""
    found: list[np.ndarray | None] = [None] * len(slots)
    if line is None:
        return found
    which = [k for k, s in enumerate(slots) if s.strip is not None]
    for k, lp in zip(which, line([slots[k].strip for k in which]), strict=True):
        found[k] = lp
    return found


def _plan(
    image: Any, cuts: int = CUTS, split_aspect: float = SPLIT_ASPECT, with_line: bool = False
) -> tuple[InkMap, list[_Slot]]:
    """Find the digit groups and every way of reading each (whole, or cut in two or three).

    Groups wider than ``split_aspect`` x their height also get cut options and a strip.
    ``with_line`` (the line reader is on): two groups that nearly touch and together are no
    wider than a digit (a 4 or an 8 broken in two, a 1 in two pieces) become one slot, read
    as one digit, as the two groups they are, or cut anew: the networks choose; and every
    other group keeps its ink (``_Slot.single``), for the line reader's second opinion
    should the digit model doubt it (``_strip_doubted``).
    """
    ink = load_ink(image)
    labels, blobs = components(ink.mask)
    groups = drop_stray_lines(reading_order(drop_edges(merge_strokes(blobs), ink.mask.shape)), ink.mask.shape)
    slots: list[_Slot] = []
    k = 0
    while k < len(groups):
        g = groups[k]
        parts = None
        if with_line and k + 1 < len(groups) and _broken_pair(g, groups[k + 1]):
            parts = [g, groups[k + 1]]
            g = g.union(groups[k + 1])
            g.line = parts[0].line
        k += 2 if parts else 1
        crop = digit_ink(ink, labels, g)
        try:
            whole = _Option([g.box], [mnist_style(crop)], _wide_prior(g))
        except NoDigitError:
            continue
        options = [whole]
        if parts:
            options += _as_parts(ink, labels, g, parts)
        aspect = g.w / max(g.h, 1)
        if aspect > split_aspect:
            options += _cuts(crop, g, 2, cuts)
            if aspect > THREE_ASPECT:
                options += _cuts(crop, g, 3, cuts)
        if aspect > split_aspect or parts:
            slots.append(_Slot(g, options, group_strip(crop)))
        else:  # one digit: with the line reader on, it may give a second opinion
            slots.append(_Slot(g, options, single=crop if with_line else None))
    return ink, slots


def _broken_pair(a: Blob, b: Blob) -> bool:
    """Neighbours on one line that nearly touch and together are about one digit's size."""
    if a.line != b.line:
        return False
    u = a.union(b)
    gap = b.x - (a.x + a.w)
    return gap <= PAIR_GAP * u.h and u.w <= PAIR_ASPECT * u.h


def _as_parts(ink: InkMap, labels: np.ndarray, g: Blob, parts: list[Blob]) -> list[_Option]:
    """The option of reading a paired slot as the groups it was made of."""
    prior = 0.0
    inputs = []
    for p in parts:
        if p.w < 0.15 * g.h or p.h < 0.5 * g.h:
            prior -= BAD_PIECE_PENALTY
        try:
            inputs.append(mnist_style(digit_ink(ink, labels, p)))
        except NoDigitError:
            return []
    return [_Option([p.box for p in parts], inputs, prior)]


def _wide_prior(g: Blob) -> float:
    return -WIDE_PENALTY * max(0.0, g.w / max(g.h, 1) - WIDE)


def _cuts(crop: np.ndarray, g: Blob, parts: int, cuts: int) -> list[_Option]:
    options = []
    for paths in cut_paths(crop, parts, cuts):
        pieces = cut_pieces(crop, paths)
        if pieces is None:
            continue
        prior = -CUT_PENALTY * (parts - 1)
        for _, _, w, h in (box for box, _ in pieces):
            if w < 0.15 * g.h or h < 0.5 * g.h:
                prior -= BAD_PIECE_PENALTY
        boxes = [(g.x + x, g.y + y, w, h) for (x, y, w, h), _ in pieces]
        options.append(_Option(boxes, [inp for _, inp in pieces], prior))
    return options


def cut_pieces(crop: np.ndarray, paths: list[np.ndarray]) -> list[tuple[tuple[int, int, int, int], np.ndarray]] | None:
    """The pieces of ``crop`` between the cut ``paths``: each one's box in the crop and its 28x28 input.

    None when a piece is a sliver (under a tenth of the ink): no digit.
    """
    total = float(crop.sum())
    found = []
    for keep in piece_masks(crop.shape, paths):
        piece = np.where(keep, crop, 0.0)
        if float(piece.sum()) < 0.1 * total:
            return None
        rows, cols = np.flatnonzero(piece.max(1) > 0.05), np.flatnonzero(piece.max(0) > 0.05)
        x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
        found.append(((x0, y0, x1 - x0, y1 - y0), mnist_style(piece[y0:y1, x0:x1])))
    return found


def _choose(slots: list[_Slot], classify: Classify | None) -> list[_Option]:
    if classify is not None:
        inputs = [inp for s in slots for o in s.options for inp in o.inputs]
        probs = np.asarray(classify(np.stack(inputs).astype(np.float32)), dtype=np.float64)
        return [option for option, _, _ in _pick(slots, probs)]
    chosen = []
    for s in slots:
        aspect = s.group.w / max(s.group.h, 1)
        parts = 1 if aspect <= 1.15 else 2 if aspect <= 1.9 else 3
        fitting = [o for o in s.options if len(o.inputs) == parts] or s.options[:1]
        chosen.append(max(fitting, key=lambda o: o.prior))
    return chosen


def _pick(
    slots: list[_Slot], probs: np.ndarray, line: list[np.ndarray | None] | None = None
) -> list[tuple[_Option, np.ndarray, str]]:
    """For each slot: the chosen option, its pieces' probabilities, and the text read.

    Without the line reader: the option with the best sum of log-probabilities plus its
    prior, where a group read as one digit with near certainty is not cut. With it, see
    ``_pick_with_line``.
    """
    picked = []
    for k, (s, rows) in enumerate(zip(slots, _by_slot(slots, probs), strict=True)):
        pieces = np.split(rows, np.cumsum([len(o.inputs) for o in s.options])[:-1])
        lp = line[k] if line is not None else None
        picked.append(_pick_alone(s, pieces) if lp is None else _pick_with_line(s, pieces, lp))
    return picked


def _text(p: np.ndarray) -> str:
    return "".join(str(int(k)) for k in p.argmax(axis=1))


def _pick_alone(s: _Slot, pieces: list[np.ndarray]) -> tuple[_Option, np.ndarray, str]:
    best, best_score, best_p = s.options[0], -np.inf, pieces[0]
    sure = False
    for o, p in zip(s.options, pieces, strict=True):
        if len(o.inputs) == 1:
            sure = float(p.max()) >= SURE
        elif sure:
            continue
        score = float(np.log(np.clip(p.max(axis=1), 1e-12, 1.0)).sum()) + o.prior
        if score > best_score:
            best, best_score, best_p = o, score, p
    return best, best_p, _text(best_p)


def _pick_with_line(s: _Slot, pieces: list[np.ndarray], lp: np.ndarray) -> tuple[_Option, np.ndarray, str]:
    """The text with the best joint score of the recognizer and the CTC line reader.

    Candidate texts are every option's reading and the line reader's own (best-path)
    reading. A text's recognizer score is that of its best option with as many pieces:
    the log-probabilities of the text's digits in those pieces, plus the option's prior.
    """
    if s.single is not None:  # a lone digit the digit model doubts: any of the ten
        texts = set(DIGITS)
    else:
        texts = {_text(p) for p in pieces}
        own = greedy(lp)[0]
        if 1 <= len(own) <= 3:
            texts.add(own)
    ordered = sorted(texts)
    line = dict(zip(ordered, s.weight * scores(lp, ordered), strict=True))
    best: tuple[float, _Option, np.ndarray, str] | None = None
    for text in ordered:
        digits = [int(c) for c in text]
        for o, p in zip(s.options, pieces, strict=True):
            if len(o.inputs) != len(text):
                continue
            total = float(np.log(np.clip(p[np.arange(len(digits)), digits], 1e-12, 1.0)).sum()) + o.prior
            total += float(line[text])
            if best is None or total > best[0]:
                best = (total, o, p, text)
    assert best is not None  # the whole-group option always gives a one-digit text
    return best[1], best[2], best[3]
