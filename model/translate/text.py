"""Text normalisation and the word tokenizer of the translator.

The tokenizer is deliberately simple and language-independent, so that what a
user types and what the model was trained on go through the same few rules:

1. Unicode NFC, so "é" typed as e + combining accent equals the one-code-point "é";
   typographic apostrophes (’ ‘ `) become ', French no-break spaces become spaces.
2. Lower case. Accents and ç are KEPT: "a" (has) and "à" (to) are different words,
   and French without accents is wrong French.
3. Every character that is not a letter, digit, apostrophe or hyphen is split off
   as its own token ("fatigué." -> "fatigué", "."); runs of "." or "!" stay one token.
4. French elision: "l'homme" -> "l'", "homme", "qu'il" -> "qu'", "il" (for the
   listed prefixes only). English contractions stay one word: "don't", "i'm".

``detokenize`` undoes 3 and 4 for display and for sacreBLEU. ``split_sentences`` cuts a
paragraph into the sentences the models were trained on, one at a time. The tutorial
protocol (PyTorch seq2seq tutorial) has its own ASCII-only normaliser,
``tutorial_normalize``, used only to reproduce that tutorial's data.
``Preprocessing``, saved in every translator checkpoint, says which of the two a model reads.
"""
import re
import unicodedata
from dataclasses import asdict, dataclass

PROTOCOLS = ("ours", "tutorial")

# Elided French articles, pronouns and conjunctions that glue to the next word.
ELISIONS = ("l'", "d'", "j'", "m'", "n'", "s'", "t'", "c'", "qu'", "jusqu'", "lorsqu'", "puisqu'", "quoiqu'")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "\u00a0": " ", "\u202f": " ",
                              "\u2009": " ", "«": '"', "»": '"', "“": '"', "”": '"'})
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*'?|\.+|!+|\?+|\S")
_GLUE_LEFT = re.compile(r"[.,;:)!?]+")
_ELISION = re.compile(r"^(%s)(?=\w)" % "|".join(re.escape(e) for e in sorted(ELISIONS, key=len, reverse=True)))


def normalize(text: str) -> str:
    """NFC, unified apostrophes and spaces, lower case, single spaces."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower()
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    """Normalise then split into words and punctuation (see the module docstring)."""
    tokens = []
    for tok in _TOKEN.findall(normalize(text)):
        m = _ELISION.match(tok)
        if m:
            tokens += [m.group(1), tok[m.end():]]
        else:
            tokens.append(tok)
    return tokens


def detokenize(tokens: list[str]) -> str:
    """Tokens back to a sentence: punctuation glued to the word before, elisions to the word after."""
    words = []
    for tok in tokens:
        if words and (_GLUE_LEFT.fullmatch(tok) or words[-1] in ELISIONS or words[-1] == "("):
            words[-1] += tok
        else:
            words.append(tok)
    return " ".join(words)


# Words that end with a full stop without ending the sentence ("M. Dupont", "p. ex.", "av. J.-C.").
ABBREVIATIONS = frozenset(
    "m mm mme mmes mlle mlles mgr dr pr prof st ste cf p pp vol chap env av apr j.-c n tél fig "
    "éd vs ibid jr sr mr mrs ms etc".split())
# a stop, then closing quotes or brackets (French puts a space before »), then a space or the end
_END = re.compile(r"(\.+|[!?…]+[.!?…]*)((?:[ \u00a0\u202f]*[»\"”’')\]])*)(?=\s|$)")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w.-]*)$")


def split_sentences(text: str) -> list[str]:
    """A paragraph cut into sentences, each stripped, in order; what comes between them is dropped.

    A sentence ends at a line break, or at . ! ? … (and any closing quote or bracket) followed
    by a space or the end. Not after an abbreviation or an initial ("M. Dupont", "J. K. Rowling",
    "etc." before a lower-case word), nor at a dot between digits ("3.5"), nor at "..." or "…"
    before a lower-case word (a pause, not an end). A piece without a letter or digit ("!!", "😀")
    stays with the sentence before it.
    """
    pieces = []
    for line in re.split(r"[\r\n\u2028\u2029\x0b\x0c\x85]+", text):
        start = 0
        for m in _END.finditer(line):
            nxt = line[m.end():].lstrip()[:1]
            if _continues(line[start:m.start()], m.group(1), nxt):
                continue
            pieces.append(line[start:m.end()])
            start = m.end()
        pieces.append(line[start:])
    sentences: list[str] = []
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if sentences and not any(c.isalnum() for c in piece):
            sentences[-1] += " " + piece
        elif sentences and not any(c.isalnum() for c in sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def _continues(before: str, stop: str, nxt: str) -> bool:
    """Whether the sentence goes on after ``stop``, judged from the text before it and the next character."""
    lower_next = nxt.islower()
    if stop in ("...", "…") or (stop.startswith(".") and len(stop) > 1):
        return lower_next  # "je sais... mais non" goes on; "Attends... Non !" does not
    if stop != ".":
        return False
    word = _WORD_BEFORE.search(before)
    if not word:
        return False
    w = word.group(1)
    if w.lower() == "etc":
        return lower_next
    return (len(w) == 1 and w.isupper()) or w.lower() in ABBREVIATIONS


def tutorial_normalize(text: str) -> str:
    """The PyTorch tutorial's normalizeString: lower case, strip accents, keep only [a-zA-Z!?]."""
    text = "".join(c for c in unicodedata.normalize("NFD", text.lower().strip())
                   if unicodedata.category(c) != "Mn")
    text = re.sub(r"([.!?])", r" \1", text)
    return re.sub(r"[^a-zA-Z!?]+", r" ", text).strip()


@dataclass(frozen=True)
class Preprocessing:
    """How a translator's input is made from text; saved in every translator checkpoint."""
    protocol: str = "ours"  # "ours": tokenize(); "tutorial": tutorial_normalize() split on spaces
    direction: str = "fr-en"
    max_len: int = 15  # tokens per side in the training pairs
    source_suffix: str = "<end>"  # appended to every source, so attention has somewhere to look at the end
    min_count: int = 2  # rarer training words became <unk>

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown tokenizer protocol {self.protocol!r}; known: {', '.join(PROTOCOLS)}")

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        # files written before this class also name the tokenizer in prose ("tokenizer"): the protocol decides
        return cls(**{k: v for k, v in d.items() if k != "tokenizer"})

    def to_dict(self) -> dict:
        return asdict(self)

    def tokenize(self, text: str) -> list[str]:
        return tutorial_normalize(text).split() if self.protocol == "tutorial" else tokenize(text)
