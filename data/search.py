"""Fuzzy name search over titles and people: a build step that writes flat arrays, and a reader.

``build_name_index`` runs once (ETL time) and returns plain NumPy arrays: the keys as one
UTF-8 blob plus offsets, what each key names (``targets``), which field it is, a popularity
prior, the keys in sorted order (exact and prefix lookups by binary search), character trigram
postings and one-edit word postings, both in CSR form. ``NameIndex`` reads those arrays as
they are, so a server can memory-map them (``np.load(..., mmap_mode="r")``) and share the
pages between workers: a query touches only its own postings, the prefix range and a bounded
candidate set.

Ranking, for a query ``q`` and a candidate key ``k`` (both in ``search_form``):

* candidates, each source bounded: the keys equal to ``q``; the most popular keys starting
  with ``q``; the keys sharing the most IDF-weighted trigrams of ``" " + q`` (containment, so
  a long key that holds the whole query is not pushed out by short keys sharing a fragment);
  and the keys with a word one edit away from a query word (symmetric deletions, for short
  words where a typo leaves no trigram intact: "haet" -> "heat");
* similarity, the best of: rapidfuzz's ``ratio`` of the whole strings (and with spaces
  removed, for "spiderman"), and a word score: each query word's best ``ratio`` against the
  key's words (the last query word may also match a word's prefix, slightly less than a whole
  word), weighted by word length, times a coverage factor (a key with many unmatched words
  scores less) and a start factor (the key's first content word is what was typed first);
  a key shorter than the query can only score by whole-string similarity, so "go" never
  matches a fragment of "godfater". Without the spaces and word by word the ratio is
  ``typo_ratio``: two adjacent letters swapped cost one edit, as a missing letter does
  ("angle" is nearest "angel", not "a single");
* score = similarity blended with the target's prior (``PRIOR_WEIGHT``), capped at 99 unless
  the key equals the query (100), rounded to one decimal; below ``FLOOR`` nothing is returned.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from data.text import fold

FORMAT = 1  # bump when the arrays' layout or meaning changes

FLOOR = 72.0  # best score a query must reach to get any hit at all
PRIOR_WEIGHT = 0.06  # share of the score given to popularity: breaks near-ties only
PREFIX_WEIGHT = 0.94  # a query word that is a prefix of a key word, vs the whole word
WORD_MATCH = 75.0  # a key word this similar to a query word counts as covered
COVER_BASE = 0.86  # word score of a key none of whose letters beyond the match are covered
START_FACTOR = 0.97  # word score when the key does not start with the first query word
NON_EXACT_CAP = 99.0
SWAPS_FROM = 2 * WORD_MATCH - 100  # ratio from which transpositions are looked for (typo_ratio)

EXACT_CANDIDATES = 100  # keys equal to the query (the largest page a search returns)
PREFIX_CANDIDATES = 60  # most popular keys starting with the query
GRAM_CANDIDATES = 150  # keys sharing the most query trigrams
MIN_CONTAINMENT = 0.15  # share of the query's trigram weight a candidate must hold
MAX_GRAMS = 48  # rarest trigrams of a long query used for candidates
COMMON_GRAM = 0.02  # a trigram in more than this share of keys is dropped ...
MIN_RARE_GRAMS = 3  # ... when at least this many rarer ones remain
MAX_WORDS = 12  # query words scored
EDIT_CANDIDATES = 100  # keys with a word one edit away from a query word
EDIT_WORDS = (4, 8)  # key words indexed by their one-deletion variants (shorter: too vague)

ARTICLES = frozenset({"the", "a", "an"})


class Field(IntEnum):
    """What a key is: the small int codes stored in ``fields``."""

    TITLE = 0
    ORIGINAL_TITLE = 1
    NAME = 2


@dataclass(frozen=True)
class Hit:
    target: int
    score: float  # 0-100, one decimal
    field: Field


_APOSTROPHES = re.compile("['’`´]")
_NON_WORD = re.compile(r"[\W_]+")
# ASCII text (most keys) takes str.translate: apostrophes go, other punctuation is a space.
_ASCII = {ord(c): " " for c in map(chr, range(128)) if not c.isalnum()} | {ord("'"): None,
                                                                          ord("`"): None}


def _tidy(folded: str) -> str:
    """``search_form`` of text already folded by ``data.text.fold``."""
    if folded.isascii():
        return " ".join(folded.translate(_ASCII).split())
    # Folding again is a no-op except where lowercasing made a combining mark (İ -> i̇).
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", fold(folded))).strip()


def search_form(text: str) -> str:
    """What keys and queries are compared as: ``fold`` (case, accents, spaces), apostrophes
    dropped ("schindlers"), any other punctuation a space."""
    return _tidy(fold(text))


def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each value's index among them, from one sort."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if values.size else (
        np.zeros(0, dtype=bool))
    inverse = np.empty(values.size, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a sort: NumPy's hash-based unique is slower on big int64)."""
    values = np.sort(values)
    if values.size:
        values = values[np.concatenate([[True], values[1:] != values[:-1]])]
    return values


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _gram_values(cp: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Trigrams starting at ``starts`` as one int64 each (21 bits per code point)."""
    c = cp.astype(np.int64)
    return (c[starts] << 42) | (c[starts + 1] << 21) | c[starts + 2]


def _query_grams(q: str) -> np.ndarray:
    # No trailing pad: the last word may be a prefix ("star wa").
    cp = _codepoints(" " + q)
    if cp.size < 3:
        return np.empty(0, dtype=np.int64)
    return _unique(_gram_values(cp, np.arange(cp.size - 2)))


def build_name_index(
    keys: Sequence[str], targets: np.ndarray, fields: np.ndarray, prior: np.ndarray
) -> dict[str, np.ndarray]:
    """The arrays of a ``NameIndex`` over ``keys`` (folded names; several may name one
    target). ``prior`` is any non-negative popularity per target (vote count, credits); it
    is log-scaled to 0..1 here."""
    n = len(keys)
    targets = np.asarray(targets, dtype=np.int64)
    fields = np.asarray(fields, dtype=np.int8)
    if not (targets.shape == fields.shape == (n,)):
        raise ValueError("keys, targets and fields must have the same length")
    forms = [_tidy(k) for k in keys]
    encoded = [f.encode() for f in forms]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()

    raw = np.log1p(np.maximum(np.asarray(prior, dtype=np.float64), 0.0))
    scaled = raw / raw.max() if raw.size and raw.max() > 0 else np.zeros_like(raw)

    # Trigrams of " key " (spaces mark word edges), distinct per key, as CSR postings.
    padded = [f" {f} " for f in forms]
    cp = _codepoints("".join(padded))
    plen = np.fromiter(map(len, padded), dtype=np.int64, count=n)
    pstart = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(plen, out=pstart[1:])
    owner = np.repeat(np.arange(n, dtype=np.int64), plen)
    pos = np.arange(cp.size, dtype=np.int64)
    valid = pos + 2 < pstart[owner + 1]
    grams = _gram_values(cp, pos[valid])
    vocab, gram_id = _unique_inverse(grams)
    pairs = _unique(gram_id.astype(np.int64) * max(n, 1) + owner[valid])
    gram_of, key_of = np.divmod(pairs, max(n, 1))
    df = np.bincount(gram_of, minlength=vocab.size)
    gram_offsets = np.zeros(vocab.size + 1, dtype=np.int64)
    np.cumsum(df, out=gram_offsets[1:])
    idf = np.log1p(n / np.maximum(df, 1)).astype(np.float32)

    edit_values, edit_offsets, edit_keys = _edit_postings(forms)
    order = np.asarray(sorted(range(n), key=forms.__getitem__), dtype=np.int32)
    return {
        "format": np.asarray([FORMAT], dtype=np.int64),
        "blob": blob,
        "offsets": offsets,
        "targets": targets,
        "fields": fields,
        "prior": scaled[targets].astype(np.float32) if n else np.zeros(0, np.float32),
        "sorted": order,
        "gram_values": vocab.astype(np.int64),
        "gram_offsets": gram_offsets,
        "gram_keys": key_of.astype(np.int32),
        "gram_idf": idf,
        "edit_values": edit_values,
        "edit_offsets": edit_offsets,
        "edit_keys": edit_keys,
    }


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; the index outlives the process that built it.
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _variants(word: str) -> set[str]:
    """The word and every string one deletion away: two words within one edit (insert,
    delete, substitute, transpose) share a variant (SymSpell's symmetric deletions)."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _edit_postings(forms: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variant hash -> keys having a word with that variant, as sorted values + CSR."""
    import polars as pl  # index building runs in the ETL; a server worker never imports Polars

    lo, hi = EDIT_WORDS
    pairs = (
        pl.DataFrame({"key": np.arange(len(forms), dtype=np.int64), "word": forms},
                     schema={"key": pl.Int64, "word": pl.String})
        .with_columns(pl.col("word").str.split(" "))
        .explode("word")
        .filter(pl.col("word").str.len_chars().is_between(lo, hi))
        .unique()
    )
    words = pairs["word"].unique().to_list()
    hashes = [[_stable_hash(v) for v in _variants(w)] for w in words]
    counts = np.fromiter(map(len, hashes), dtype=np.int64, count=len(hashes))
    variants = pl.DataFrame({
        "word": np.repeat(np.asarray(words, dtype=object), counts).tolist(),
        "variant": np.fromiter((h for hs in hashes for h in hs), dtype=np.int64,
                               count=int(counts.sum())),
    }, schema={"word": pl.String, "variant": pl.Int64})
    joined = pairs.join(variants, on="word")
    variant = joined["variant"].to_numpy()
    owner = joined["key"].to_numpy()
    values, value_id = _unique_inverse(variant)
    n = max(len(forms), 1)
    unique_pairs = _unique(value_id.astype(np.int64) * n + owner)
    value_of, key_of = np.divmod(unique_pairs, n)
    offsets = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(value_of, minlength=values.size), out=offsets[1:])
    return values.astype(np.int64), offsets, key_of.astype(np.int32)


class _SortedKeys:
    """The keys in sorted order as a read-only sequence, for ``bisect``."""

    def __init__(self, index: NameIndex) -> None:
        self.index = index

    def __len__(self) -> int:
        return self.index.size

    def __getitem__(self, i: int) -> str:
        return self.index.key(int(self.index.sorted[i]))


class NameIndex:
    """Search over the arrays of ``build_name_index`` (in memory or memory-mapped)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        if int(arrays["format"][0]) != FORMAT:
            raise ValueError(f"name index format {int(arrays['format'][0])}, expected {FORMAT}")
        self.blob = arrays["blob"]
        self.offsets = arrays["offsets"]
        self.targets = arrays["targets"]
        self.fields = arrays["fields"]
        self.prior = arrays["prior"]
        self.sorted = arrays["sorted"]
        self.gram_values = arrays["gram_values"]
        self.gram_offsets = arrays["gram_offsets"]
        self.gram_keys = arrays["gram_keys"]
        self.gram_idf = arrays["gram_idf"]
        self.edit_values = arrays["edit_values"]
        self.edit_offsets = arrays["edit_offsets"]
        self.edit_keys = arrays["edit_keys"]
        self.size = len(self.offsets) - 1
        self._bytes = np.ascontiguousarray(self.blob).data.cast("B")
        self._sorted_keys = _SortedKeys(self)

    def key(self, i: int) -> str:
        return str(self._bytes[int(self.offsets[i]) : int(self.offsets[i + 1])], "utf-8")

    def keys(self, ids: np.ndarray) -> list[str]:
        data = self._bytes
        begin = self.offsets[ids].tolist()
        end = self.offsets[ids + 1].tolist()
        return [str(data[a:b], "utf-8") for a, b in zip(begin, end, strict=True)]

    def search(self, query: str, limit: int, allow: np.ndarray | None = None) -> list[Hit]:
        """At most ``limit`` targets, best first, one hit each (its best key); ``allow``
        (a boolean per target) restricts which targets may be returned."""
        q = search_form(query)
        if not q or limit <= 0 or self.size == 0:
            return []
        cand = self._candidates(q, allow)
        if cand.size == 0:
            return []
        forms = self.keys(cand)
        sim = similarity(q, forms)
        exact = np.fromiter((f == q for f in forms), dtype=bool, count=len(forms))
        prior = np.asarray(self.prior[cand], dtype=np.float64)
        score = (1 - PRIOR_WEIGHT) * sim + 100 * PRIOR_WEIGHT * prior
        score = np.where(exact, 100.0, np.minimum(score, NON_EXACT_CAP))
        score = np.round(score, 1)
        keep = score >= FLOOR
        if not keep.any():
            return []
        cand, score, prior = cand[keep], score[keep], prior[keep]
        targets = np.asarray(self.targets[cand])
        # Best score first, then the more popular, then the lower target: deterministic.
        order = np.lexsort((targets, -prior, -score))
        hits: list[Hit] = []
        seen: set[int] = set()
        for i in order:
            target = int(targets[i])
            if target in seen:
                continue
            seen.add(target)
            hits.append(Hit(target, float(score[i]), Field(int(self.fields[cand[i]]))))
            if len(hits) == limit:
                break
        return hits

    def _candidates(self, q: str, allow: np.ndarray | None) -> np.ndarray:
        # Each source drops disallowed targets before keeping its best: a director search
        # must not lose its directors to the actors that fill the candidate budget.
        parts = [self._prefixed(q, allow)]
        grams = _query_grams(q)
        if grams.size:
            parts.append(self._sharing_grams(grams, allow))
        parts.append(self._one_edit(q, allow))
        return _unique(np.concatenate(parts))

    def _permitted(self, keys: np.ndarray, allow: np.ndarray | None) -> np.ndarray:
        if allow is None:
            return np.ones(keys.size, dtype=bool)
        return np.asarray(allow[self.targets[keys]], dtype=bool)

    def _one_edit(self, q: str, allow: np.ndarray | None) -> np.ndarray:
        """Keys with words one edit from the query's words, most of the query first."""
        lo, hi = EDIT_WORDS
        found: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for word in set(q.split()[:MAX_WORDS]):
            if not lo - 1 <= len(word) <= hi + 1 or self.edit_values.size == 0:
                continue
            hashes = np.asarray([_stable_hash(v) for v in _variants(word)], dtype=np.int64)
            at = np.minimum(np.searchsorted(self.edit_values, hashes), self.edit_values.size - 1)
            ids = at[self.edit_values[at] == hashes]
            if ids.size == 0:
                continue
            keys = _unique(np.concatenate(
                [self.edit_keys[self.edit_offsets[i] : self.edit_offsets[i + 1]] for i in ids]
            ))
            found.append(keys)
            weights.append(np.full(keys.size, float(len(word))))
        if not found:
            return np.empty(0, dtype=np.int64)
        keys, matched = _sum_by(np.concatenate(found), np.concatenate(weights))
        keep = self._permitted(keys, allow)
        keys, matched = keys[keep], matched[keep]
        if keys.size > EDIT_CANDIDATES:
            value = matched + 1e-3 * self.prior[keys]
            keys = keys[np.argpartition(-value, EDIT_CANDIDATES)[:EDIT_CANDIDATES]]
        return keys.astype(np.int64)

    def _prefixed(self, q: str, allow: np.ndarray | None) -> np.ndarray:
        """Keys equal to ``q`` and the most popular keys starting with it."""
        keys = self._sorted_keys
        lo = bisect.bisect_left(keys, q)
        exact_hi = bisect.bisect_right(keys, q, lo=lo)
        hi = bisect.bisect_left(keys, q + "\U0010ffff", lo=exact_hi)
        exact = np.asarray(self.sorted[lo:exact_hi], dtype=np.int64)
        exact = exact[self._permitted(exact, allow)]
        if exact.size > EXACT_CANDIDATES:  # hundreds of namesakes: the most popular
            exact = exact[np.argpartition(-self.prior[exact], EXACT_CANDIDATES)[:EXACT_CANDIDATES]]
        longer = np.asarray(self.sorted[exact_hi:hi], dtype=np.int64)
        longer = longer[self._permitted(longer, allow)]
        if longer.size > PREFIX_CANDIDATES:
            popular = np.argpartition(-self.prior[longer], PREFIX_CANDIDATES)[:PREFIX_CANDIDATES]
            longer = longer[popular]
        return np.concatenate([exact, longer])

    def _sharing_grams(self, grams: np.ndarray, allow: np.ndarray | None) -> np.ndarray:
        at = np.searchsorted(self.gram_values, grams)
        at = np.minimum(at, self.gram_values.size - 1)
        ids = at[self.gram_values[at] == grams]
        if ids.size == 0:
            return np.empty(0, dtype=np.int64)
        weights = np.asarray(self.gram_idf[ids], dtype=np.float64)
        # Rarest first; a trigram no key has (a typo's) is left out: it lowers every key alike.
        # A long query keeps its rarest trigrams, and the commonest ("an ", " jo") are dropped
        # while enough others remain: they add little weight and most of the postings.
        order = np.argsort(-weights, kind="stable")[:MAX_GRAMS]
        ids, weights = ids[order], weights[order]
        total = weights.sum()
        starts, ends = self.gram_offsets[ids], self.gram_offsets[ids + 1]
        common = (ends - starts) > COMMON_GRAM * self.size
        if (~common).sum() >= MIN_RARE_GRAMS:
            rare = ~common
            ids, weights, starts, ends = ids[rare], weights[rare], starts[rare], ends[rare]
        postings = np.concatenate([self.gram_keys[a:b] for a, b in zip(starts, ends, strict=True)])
        cand, overlap = _sum_by(postings, np.repeat(weights, ends - starts), self.size)
        keep = overlap >= MIN_CONTAINMENT * total
        cand, overlap = cand[keep], overlap[keep]
        keep = self._permitted(cand, allow)
        cand, overlap = cand[keep], overlap[keep]
        if cand.size > GRAM_CANDIDATES:
            # Most of the query's weight first; the prior (< 1) orders equal overlaps.
            value = overlap / total + 1e-3 * self.prior[cand]
            cand = cand[np.argpartition(-value, GRAM_CANDIDATES)[:GRAM_CANDIDATES]]
        return cand.astype(np.int64)


def _sum_by(keys: np.ndarray, weights: np.ndarray, size: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` and the sum of their ``weights``: a bincount over ``size`` slots
    when the keys are many, else a sort (cheaper than clearing a big count array)."""
    if size is not None and keys.size * 8 > size:
        sums = np.bincount(keys, weights=weights, minlength=size)
        found = np.flatnonzero(sums)
        return found, sums[found]
    order = np.argsort(keys, kind="stable")
    keys, weights = keys[order], weights[order]
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if keys.size else (
        np.zeros(0, dtype=np.int64))
    return keys[first], np.add.reduceat(weights, first) if keys.size else weights


def typo_ratio(queries: Sequence[str], choices: Sequence[str]) -> np.ndarray:
    """rapidfuzz's ``fuzz.ratio`` of every query against every choice (0-100, float32), except
    that swapping two adjacent letters costs what one missing letter does.

    ``ratio`` is ``1 - Indel / (len1 + len2)``: Indel counts a transposition as a deletion
    plus an insertion, as much as a substitution and twice a missing letter, so "angle" was
    nearer "a single" (two insertions) than "angel". Levenshtein counts a transposition as two
    substitutions and OSA (optimal string alignment) as one edit: what OSA saves over
    Levenshtein is what its transpositions saved, and that comes off the Indel count. Other
    edits cost what they did, so a pair without a transposition (or below ``SWAPS_FROM``)
    scores its ``ratio``."""
    ratio = process.cdist(queries, choices, scorer=fuzz.ratio, dtype=np.float32)
    # Transpositions save at most half the Indel cost: a pair below SWAPS_FROM could not reach
    # WORD_MATCH, and is not worth the two extra distances.
    near = (ratio >= SWAPS_FROM) & (ratio < 100)
    cols = np.flatnonzero(near.any(axis=0))
    if cols.size == 0:
        return ratio
    subset = [choices[i] for i in cols.tolist()]
    swaps = (process.cdist(queries, subset, scorer=Levenshtein.distance, dtype=np.int32)
             - process.cdist(queries, subset, scorer=OSA.distance, dtype=np.int32))
    swaps *= near[:, cols]
    if swaps.any():
        total = (np.fromiter(map(len, queries), dtype=np.int32, count=len(queries))[:, None]
                 + np.fromiter(map(len, subset), dtype=np.int32, count=len(subset))[None, :])
        ratio[:, cols] += 100 * swaps / total
    return ratio


def similarity(q: str, forms: list[str]) -> np.ndarray:
    """How well each candidate (in ``search_form``) matches the query ``q``, 0-100."""
    # A letter swapped is looked for without the spaces only ("thegodfahter"): the same
    # letters as with them, and one distance fewer per candidate.
    whole = process.cdist([q], forms, scorer=fuzz.ratio, dtype=np.float32)[0]
    tight = typo_ratio([q.replace(" ", "")], [f.replace(" ", "") for f in forms])[0]
    return np.maximum(np.maximum(whole, tight), _word_score(q, forms)).astype(np.float64)


def _word_score(q: str, forms: list[str]) -> np.ndarray:
    tokens = q.split()[:MAX_WORDS]
    split = [f.split() for f in forms]
    counts = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    words = [w for ws in split for w in ws]
    if not words:
        return np.zeros(len(forms))
    starts = np.zeros(len(forms), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    # A key with no words (punctuation only) scores 0; clip its segment start for reduceat.
    empty = counts == 0
    starts = np.minimum(starts, len(words) - 1)
    wlen = np.fromiter(map(len, words), dtype=np.float64, count=len(words))

    # Titles and names share most words ("the", "john"): each distinct word is scored once.
    distinct = list(dict.fromkeys(words))
    slot = {w: i for i, w in enumerate(distinct)}
    inverse = np.fromiter(map(slot.__getitem__, words), dtype=np.int64, count=len(words))
    match = typo_ratio(tokens, distinct)[:, inverse]
    last = tokens[-1]
    cut = len(last)
    prefix = typo_ratio([last], [w[:cut] for w in distinct])[0][inverse]
    match[-1] = np.maximum(match[-1], np.where(wlen > cut, prefix * PREFIX_WEIGHT, 0))
    best = np.maximum.reduceat(match, starts, axis=1)  # (tokens, candidates)
    weights = np.fromiter(map(len, tokens), dtype=np.float64, count=len(tokens))
    score = weights @ best / weights.sum()

    # Coverage: the share of the key's letters (a leading article aside) in matched words.
    article = np.fromiter((bool(ws) and ws[0] in ARTICLES for ws in split), dtype=bool,
                          count=len(split)) & (counts > 1)
    counted = wlen.copy()
    counted[starts[article]] = 0.0
    covered = np.add.reduceat(counted * (match.max(axis=0) >= WORD_MATCH), starts)
    total = np.add.reduceat(counted, starts)
    cover = np.divide(covered, total, out=np.ones_like(covered), where=total > 0)
    score = score * (COVER_BASE + (1 - COVER_BASE) * cover)

    # The key's first content word (after a leading article) is the first query word's match.
    content_start = starts + article
    starts_right = match[0, content_start] >= best[0] - 1e-3
    score = np.where(starts_right, score, score * START_FACTOR)

    # A key shorter than the query cannot score by its words matching a fragment of it.
    short = np.fromiter(map(len, forms), dtype=np.int64, count=len(forms)) < len(q)
    return np.where(short | empty, 0.0, score)


def movie_name_index(
    title_keys: Sequence[str], original_titles: Sequence[str | None], votes: np.ndarray
) -> dict[str, np.ndarray]:
    """The movies' index: row ``i``'s folded title, and its original title where that
    differs ("La vita è bella" for Life Is Beautiful); the prior is the vote count."""
    keys = list(title_keys)
    targets = list(range(len(keys)))
    fields = [Field.TITLE] * len(keys)
    for row, (key, original) in enumerate(zip(title_keys, original_titles, strict=True)):
        if original and search_form(folded := fold(original)) != search_form(key):
            keys.append(folded)
            targets.append(row)
            fields.append(Field.ORIGINAL_TITLE)
    return build_name_index(keys, np.asarray(targets), np.asarray(fields), votes)


def person_name_index(name_keys: Sequence[str], credits: np.ndarray) -> dict[str, np.ndarray]:
    """The people's index over the rows with at least one credit counted in ``credits``
    (acting or directing), which is also the prior."""
    credits = np.asarray(credits)
    rows = np.flatnonzero(credits > 0)
    keys = [name_keys[r] for r in rows.tolist()]
    fields = np.full(rows.size, Field.NAME, dtype=np.int8)
    prior = np.zeros(len(name_keys))
    prior[rows] = credits[rows]
    # build_name_index takes the prior per target: targets are people rows.
    return build_name_index(keys, rows, fields, prior)
