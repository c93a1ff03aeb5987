#!/usr/bin/env python3
"""gen_tokenizer_vectors.py — reference token ids for headscope's tokenizer tests (developer-only).

Regenerate from the repository root (needs `pip install tokenizers`, tested with 0.23):

    python3 tools/gen_tokenizer_vectors.py            # reads ../shared/models, writes tests/fixtures/tokenizers

Outputs (deterministic: the same inputs give byte-identical files):

  gpt2.jsonl            GPT-2 (../shared/models/gpt2-tokenizer: encoder.json + vocab.bpe), set up as
                        Hugging Face sets up GPT-2: byte-level BPE, <|endoftext|> a special token.
  neox.jsonl            GPT-NeoX-20B tokenizer.json (../shared/models/gptneox-tokenizer).
  sp_bpe.tokenizer.json a small SentencePiece-style BPE with byte fallback in the Llama-2/Mistral
                        layout (Prepend + Replace normalizer, no pre-tokenizer, <0xNN> tokens,
                        Replace/ByteFallback/Fuse/Strip decoder, "<s> $A" template), trained here.
  sp_bpe.jsonl          its vectors.
  llama3_style.tokenizer.json  a small Llama-3-style byte-level BPE (Split(Regex) + ByteLevel
                        (use_regex=false), ignore_merges, "<|begin_of_text|> $A"), trained here.
  llama3_style.jsonl    its vectors.
  misc_pipeline.tokenizer.json  the remaining optional components (NFKC, regex Replace, every Split
                        behavior, Digits, Metaspace, unk, added-token options), trained here.
  misc_pipeline.jsonl   its vectors.
  tok512.jsonl          llama2.c tokenizer.bin of stories260K (vocab 512).
  llama2_32k.jsonl      llama2.c tokenizer.bin of Llama-2 (vocab 32000).

The first line of each .jsonl is a header: {"format": "headscope-tokenizer-vectors", "version": 1,
"tokenizer": path, "in": "shared"|"fixtures", "vocab_size": n (llama2.c only), "reference": ...}.
Every other line is {"text": s, "ids": [...], "decoded": s}: ids encode text without BOS and
decoded is the reference decode of ids (special tokens rendered).

Reference for the llama2.c files: a Hugging Face BPE built from the tokenizer.bin vocabulary, with
merges derived from vocab + scores the way HF's SentencePiece converter does (every split of a
piece into two pieces, ranked by that piece's score), byte fallback, and a " " Prepend normalizer
for llama2.c's dummy prefix. It is checked on every string against a plain Python transliteration
of llama2.c's encode() (dummy-prefix space, code-point lookup, byte fallback to id byte + 3, then
repeatedly merge the highest-scoring adjacent pair, leftmost on ties). Where the two agree on all
strings (they do for both files with tokenizers 0.23) the HF ids are committed; if they ever
disagreed the transliteration would be committed instead, and the header's "reference" says which.
The "decoded" field is llama2.c's decode() transliterated (leading space dropped at the start and
after BOS, <0xNN> pieces as raw bytes).
"""
import argparse
import json
import os
import random
import struct
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers import trainers

FORMAT = {"format": "headscope-tokenizer-vectors", "version": 1,
          "regenerate": "python3 tools/gen_tokenizer_vectors.py"}

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


# ---------------------------------------------------------------- test strings

def test_strings():
    s = []
    # ASCII prose
    s += [
        "Hello world",
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
        "It was the best of times, it was the worst of times, it was the age of wisdom.",
        "A",
        "a",
        " ",
        "  ",
        "x y z",
        "supercalifragilisticexpialidocious",
        "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word.",
        "antidisestablishmentarianism",
        "The U.S.A. and the U.K. signed the treaty on Jan. 5th.",
        "Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal.",
        "ALL CAPS SENTENCE WITH SHOUTING",
        "MiXeD cAsE wOrDs HeRe",
        "camelCaseIdentifier and snake_case_identifier and kebab-case-identifier",
        "e-mail: someone@example.com, web: https://example.org/path?query=1&x=y#frag",
        "Transformers are a type of neural network architecture.",
        "Attention is all you need.",
    ]
    # contractions, lower and upper case
    for c in ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]:
        s.append("he" + c + " here")
        s.append("HE" + c.upper() + " HERE")
        s.append("x" + c)
        s.append(c)
    s += ["it's", "IT'S", "don't", "DON'T", "they're", "THEY'RE", "we've", "I'm", "you'll", "he'd",
          "It'S mixed", "rock 'n' roll", "the '90s", "'quoted'", "''double''", "O'Neil's dog's bone",
          "can't won't shouldn't", "y'all'd've"]
    # whitespace
    s += [
        "trailing space ",
        "trailing spaces   ",
        "   leading spaces",
        "\tleading tab",
        "tab\tseparated\tvalues",
        "line one\nline two",
        "line one\n\nline three",
        "windows\r\nline endings\r\n",
        "a\n",
        "\n",
        "\n\n\n",
        " \n ",
        "\t\t",
        "mixed \t \n whitespace",
        "many      spaces      between",
        "a" + " " * 30 + "b",
        " " * 40,
        "x" + " " * 24 + "y",
        "    indented code line",
        "\u00a0non-breaking\u00a0space",
        "a \u00a0b",
        "ideographic\u3000space",
        "line\u2028separator",
        "para\u2029separator",
        "next\u0085line",
        "mongolian\u180evowel separator",
        "a \u180eb",
        "a \u180e!",
        " \u180e\u180e",
        "x \u180e\u180e\u180ey",
        "\t\u180e\t.",
        "  \u180e\u00e1",
        "vertical\x0btab and form\x0cfeed",
        "file\x1cseparator",
        "zero\u200bwidth space",
        "en\u2002quad\u2003em",
        "nul\x00byte",
    ]
    # digits and numbers
    s += ["0", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890",
          "3.14159265358979", "1,000,000", "-42", "+7", "1e-10", "0x1F", "2024-01-15", "12:30:45",
          "$19.99", "100%", "1st 2nd 3rd 4th", "Call 555-0123 now", "version 1.2.3-beta",
          "٠١٢٣٤٥٦٧٨٩", "१२३", "²³", "½ ¼", "Ⅻ"]
    # punctuation runs
    s += ["!!!", "...", "?!?!", "---", "***", "((()))", "<<>>", "...!!!???", "!@#$%^&*()_+-=[]{}|;':\",./<>?",
          "~`", "—em dash—", "“curly quotes”", "‘single’", "« guillemets »", "¡Hola!", "¿Qué?", "…"]
    # code
    s += [
        "def foo(x):\n    return x * 2\n",
        "int main(void) {\n\tprintf(\"hello\\n\");\n\treturn 0;\n}",
        "for (int i = 0; i < n; i++) { sum += a[i]; }",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
        "<div class=\"x\"><p>Hi</p></div>",
        "SELECT * FROM users WHERE id = 42;",
        "$ ls -la | grep foo > out.txt 2>&1",
        "x = lambda a, b: a ** b  # comment",
        "#include <stdio.h>",
        "if x == 1:\n        pass\n    else:\n        raise ValueError('bad')",
        "    \n    \n",
        "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
        "const re = /^[a-z]+$/i;",
    ]
    # scripts
    s += [
        "你好，世界",
        "中文文本测试，包括标点符号。",
        "日本語のテキストです。カタカナとひらがな。",
        "한국어 텍스트입니다.",
        "مرحبا بالعالم",
        "النص العربي مع الأرقام ١٢٣",
        "שלום עולם",
        "नमस्ते दुनिया",
        "हिन्दी में लिखा गया वाक्य।",
        "বাংলা ভাষা",
        "தமிழ் மொழி",
        "ภาษาไทยไม่มีช่องว่าง",
        "Привет, мир! Как дела?",
        "Γειά σου Κόσμε",
        "ქართული ენა",
        "Հայերեն",
        "አማርኛ",
        "Tiếng Việt có dấu",
        "Ça va? Où est la bibliothèque? Voilà!",
        "Straße, Größe, Übermaß",
        "Łódź, Kraków, Gdańsk",
        "Iñtërnâtiônàlizætiøn",
        "ﬁ ligature and ﬀ",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙",
        "mixed English and 中文 and العربية in one line",
        "ᚠᛇᚻ᛫ᛒᛦᚦ runes",
        "𐍈 gothic",
    ]
    # combining marks (NFC changes some of these)
    s += [
        "e\u0301",
        "cafe\u0301",
        "a\u0308o\u0308u\u0308",
        "n\u0303",
        "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O",
        "\u1100\u1161\u11a8",
        "\u0915\u094d\u0937",
        "A\u030a vs \u00c5 vs \u212b",
        "\u0301leading combining mark",
        "o\u0302\u0323",
    ]
    # emoji
    s += [
        "👍",
        "👍🏽",
        "👨‍👩‍👧‍👦",
        "🏳️‍🌈",
        "🇺🇸🇯🇵",
        "❤️",
        "1️⃣",
        "I love 🍕 and 🍣!",
        "🙂🙃🙂🙃",
        "👩🏾‍💻 writes code",
        "🧑‍🤝‍🧑",
        "☃ ★ ☂",
    ]
    # special-token text inside the text
    s += [
        "<|endoftext|>",
        "Hello<|endoftext|>World",
        " <|endoftext|> ",
        "<|endoftext|><|endoftext|>",
        "end.<|endoftext|>\nNew document",
        "<|endoftext|",
        "<|endoftext",
        "<|padding|> pad",
        "<s> and </s>",
        "<unk>",
        "<|begin_of_text|>hi",
        "<0x41>",
    ]
    s.append("")
    # long mixed paragraph
    s.append("In 1969, Apollo 11 landed on the Moon. Neil Armstrong said: \"That's one small step for "
             "[a] man, one giant leap for mankind.\" The mission lasted 8 days, 3 hours, 18 minutes "
             "and 35 seconds — an achievement watched by ~650 million people. 月に着陸した。")
    # deterministic random strings from mixed pools
    rng = random.Random(20240615)
    pools = [
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n",
        " ",
        ".,;:!?'\"-()[]{}<>/\\@#$%^&*_+=|~`",
        "éèêëàâäôöûüçñßøåæœ",
        "你好世界中文日本語한국어",
        "مرحباשלוםनमस्तेПриветΓειά",
        "\u0301\u0308\u0303",
        "👍🏽👨‍👩🍕🇺🇸",
        "'s't're've'm'll'd'S",
    ]
    for _ in range(120):
        n = rng.randint(1, 40)
        out = []
        for _ in range(n):
            pool = rng.choice(pools)
            out.append(rng.choice(pool))
        s.append("".join(out))
    # dedupe, keep order
    seen, uniq = set(), []
    for t in s:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    return uniq


# ---------------------------------------------------------------- a small corpus for training

def corpus():
    base = [
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
        "One day, she saw a big, red ball. She wanted to play with it, but it was too high.",
        "The quick brown fox jumps over the lazy dog. The dog was not amused.",
        "Tokenizers split text into pieces that a language model can read.",
        "Byte pair encoding merges the most frequent pairs of symbols, again and again.",
        "In the beginning the vocabulary holds only characters; merges build words out of them.",
        "def tokenize(text):\n    return [piece for piece in text.split()]\n",
        "for (int i = 0; i < n; i++) {\n    total += values[i];\n}\n",
        "Numbers like 12, 345 and 6789 appear in text, as do dates such as 2024-01-15.",
        "She said: \"It's fine, we'll go tomorrow; they're waiting and I'm ready.\"",
        "Caf\u00e9, na\u00efve, r\u00e9sum\u00e9 and fa\u00e7ade are borrowed words.",
        "Der schnelle braune Fuchs springt \u00fcber den faulen Hund.",
        "El r\u00e1pido zorro marr\u00f3n salta sobre el perro perezoso.",
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u043f\u0440\u043e\u0441\u0442\u043e\u0439 \u0442\u0435\u043a\u0441\u0442.",
        "\u4f60\u597d\uff0c\u4e16\u754c\u3002\u8fd9\u662f\u4e00\u4e2a\u7b80\u5355\u7684\u53e5\u5b50\u3002",
        "The model reads tokens, attends to earlier positions, and predicts the next token.",
        "Residual streams carry information between layers; heads read from and write to them.",
        "    indented lines and\ttabs\tmatter for code.",
    ]
    lines = []
    rng = random.Random(7)
    for k in range(40):
        for line in base:
            words = line.split(" ")
            if k % 3 == 1:
                rng.shuffle(words)
            lines.append(" ".join(words))
    return lines


# ---------------------------------------------------------------- tokenizers built here

def train_sp_bpe(lines):
    """Llama-2/Mistral layout with a vocabulary trained on the corpus."""
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    t.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                                     limit_alphabet=120))
    trained = json.loads(t.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = 3 + b
    for piece, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(x, special=True, normalized=False) for x in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    return tok


def train_llama3_style(lines):
    specials = ["<|begin_of_text|>", "<|end_of_text|>"] + ["<|reserved_special_token_%d|>" % i for i in range(4)]
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    t.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=900, min_frequency=2, show_progress=False,
                                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                     special_tokens=specials))
    bos = t.token_to_id("<|begin_of_text|>")
    t.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    j = json.loads(t.to_str())
    j["model"]["ignore_merges"] = True
    return Tokenizer.from_str(json.dumps(j))


def train_misc_pipeline(lines):
    """The optional components real tokenizers use elsewhere, in one pipeline: NFKC + regex Replace,
    Split with each behavior (and invert), Digits, Metaspace ("first"), unk with fuse_unk and no byte
    fallback, added tokens with lstrip / rstrip / single_word / normalized, a Metaspace decoder."""
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\.+"), behavior="merged_with_next"),
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"[,;]+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[^q]+"), behavior="contiguous", invert=True),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)])
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    t.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=500, min_frequency=2, show_progress=False,
                                                     limit_alphabet=60,
                                                     special_tokens=["<unk>", "<mask>", "[SEP]", "<cls>"]))
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False),
                          AddedToken("[SEP]", rstrip=True, special=True, normalized=False)])
    t.add_tokens([AddedToken("cat", single_word=True, normalized=True),
                  AddedToken("dog", normalized=False)])
    t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("<cls>", t.token_to_id("<cls>")))
    return t


def gpt2_reference(shared):
    d = os.path.join(shared, "models", "gpt2-tokenizer")
    bpe = models.BPE.from_file(os.path.join(d, "encoder.json"), os.path.join(d, "vocab.bpe"))
    t = Tokenizer(bpe)
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    t.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    return t


# ---------------------------------------------------------------- llama2.c

def read_llama2c(path, vocab_size):
    data = open(path, "rb").read()
    off, vocab, scores = 4, [], []
    for _ in range(vocab_size):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        vocab.append(data[off:off + n])
        off += n
        scores.append(score)
    assert off == len(data), path
    return vocab, scores


def llama2c_encode(text, vocab, scores):
    """Transliteration of llama2.c encode() (without BOS/EOS)."""
    lookup = {}
    for i, p in enumerate(vocab):
        lookup.setdefault(p, i)
    raw = text.encode("utf-8")
    tokens = []
    if raw:
        tokens.append(lookup[b" "])
    buf = b""
    for i, c in enumerate(raw):
        if (c & 0xC0) != 0x80:
            buf = b""
        buf += bytes([c])
        if i + 1 < len(raw) and (raw[i + 1] & 0xC0) == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            tokens.append(lookup[buf])
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            tid = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]], -1)
            if tid != -1 and scores[tid] > best:
                best, best_id, best_idx = scores[tid], tid, i
        if best_idx == -1:
            break
        tokens[best_idx:best_idx + 2] = [best_id]
    return tokens


def llama2c_decode(ids, vocab):
    """llama2.c decode(): leading space dropped at the start (and after BOS), <0xNN> -> byte,
    BOS/EOS (never printed by llama2.c) -> nothing."""
    out = b""
    for i, t in enumerate(ids):
        p = vocab[t]
        if t in (1, 2):
            continue
        if (i == 0 or ids[i - 1] == 1) and p.startswith(b" "):
            p = p[1:]
        if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
            try:
                p = bytes([int(p[3:5], 16)])
            except ValueError:
                pass
        out += p
    return out.decode("utf-8", "replace")


def llama2c_hf(vocab, scores):
    """HF BPE with merges derived from vocab + scores as the SentencePiece converter does."""
    strs = [p.decode("utf-8") for p in vocab]
    ids = {}
    for i, p in enumerate(strs):
        ids.setdefault(p, i)
    merges = []
    for k, p in enumerate(strs):
        if ids[p] != k or not scores[k] > -1e10:
            continue
        for s in range(1, len(p)):
            a, b = p[:s], p[s:]
            if a in ids and b in ids:
                merges.append((scores[k], k, ids[a], ids[b], a, b))
    merges.sort(key=lambda m: (-m[0], m[1], m[2], m[3]))
    bpe = models.BPE(ids, [(m[4], m[5]) for m in merges], byte_fallback=True, unk_token="<unk>")
    t = Tokenizer(bpe)
    t.normalizer = normalizers.Prepend(" ")
    return t


# ---------------------------------------------------------------- output

def write_jsonl(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(dict(FORMAT, **header), ensure_ascii=False, sort_keys=True) + "\n")
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %s (%d vectors)" % (path, len(rows)))


def hf_rows(tok, strings):
    rows = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        rows.append({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.path.join("..", "shared"))
    ap.add_argument("--out", default=os.path.join("tests", "fixtures", "tokenizers"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    strings = test_strings()
    lines = corpus()

    write_jsonl(os.path.join(args.out, "gpt2.jsonl"),
                {"tokenizer": "models/gpt2-tokenizer", "in": "shared", "reference": "tokenizers BPE.from_file + ByteLevel"},
                hf_rows(gpt2_reference(args.shared), strings))
    neox = Tokenizer.from_file(os.path.join(args.shared, "models", "gptneox-tokenizer", "tokenizer.json"))
    write_jsonl(os.path.join(args.out, "neox.jsonl"),
                {"tokenizer": "models/gptneox-tokenizer/tokenizer.json", "in": "shared",
                 "reference": "tokenizers Tokenizer.from_file"},
                hf_rows(neox, strings))

    misc_strings = strings + ["a <mask> b", "a   <mask>   b", "<mask>start", "x [SEP]   y", "[SEP]\n\nz",
                              "cat concat cat's bobcat cat", "catdog dog-cat hotdog", "hot-dog", "1-2-3...4",
                              "...lead and trail...", "a,b;;c, d", "qq q quiet queue", "ＡＢＣ ｆｕｌｌｗｉｄｔｈ",
                              "x\u180ey \u180e z", "tab\tand\u3000ideographic"]
    for name, build, strs in [("sp_bpe", train_sp_bpe, strings), ("llama3_style", train_llama3_style, strings),
                              ("misc_pipeline", train_misc_pipeline, misc_strings)]:
        tok = build(lines)
        tok_path = os.path.join(args.out, name + ".tokenizer.json")
        with open(tok_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(tok.to_str(pretty=False))
        print("wrote %s (%d bytes)" % (tok_path, os.path.getsize(tok_path)))
        tok = Tokenizer.from_file(tok_path)
        write_jsonl(os.path.join(args.out, name + ".jsonl"),
                    {"tokenizer": name + ".tokenizer.json", "in": "fixtures", "reference": "tokenizers Tokenizer.from_file"},
                    hf_rows(tok, strs))

    for name, rel, n in [("tok512", "models/stories260K/tok512.bin", 512),
                         ("llama2_32k", "models/llama2-tokenizer/tokenizer.bin", 32000)]:
        vocab, scores = read_llama2c(os.path.join(args.shared, rel), n)
        hf = llama2c_hf(vocab, scores)
        plain = [llama2c_encode(s, vocab, scores) for s in strings]
        via_hf = [hf.encode(s, add_special_tokens=False).ids for s in strings]
        disagree = sum(a != b for a, b in zip(plain, via_hf))
        print("%s: HF BPE-from-scores and the llama2.c transliteration disagree on %d of %d strings"
              % (name, disagree, len(strings)))
        if disagree == 0:
            reference, chosen = "tokenizers BPE from vocab+scores (agrees with llama2.c transliterated on all)", via_hf
        else:
            reference, chosen = "llama2.c encode() transliterated (HF BPE-from-scores disagrees on %d)" % disagree, plain
        rows = [{"text": s, "ids": ids, "decoded": llama2c_decode(ids, vocab)} for s, ids in zip(strings, chosen)]
        write_jsonl(os.path.join(args.out, name + ".jsonl"),
                    {"tokenizer": rel, "in": "shared", "vocab_size": n, "reference": reference}, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
