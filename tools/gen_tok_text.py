"""Text for tools/gen_tokenizer_goldens.py: a training corpus and the test strings.

Everything is generated locally (Python standard library docstrings, word lists
below, random combinations); nothing is downloaded.  Deterministic for a given
random.Random seed and Python version.
"""
import importlib
import inspect
import unicodedata

EN_SUBJ = ("a cat|an old man|two children|a red fox|the astronaut|a golden retriever|a young woman|a robot|"
           "a flock of birds|the city skyline|a samurai|a small boat|a steam train|an elephant|a ballerina|"
           "a chef|a dragon|a surfer|a panda|the northern lights|a vintage car|a jellyfish|a lighthouse").split("|")
EN_VERB = ("walks through|dances in|flies over|runs across|sits beside|swims under|looks at|jumps into|"
           "drives along|floats above|rests on|explores|paints|plays with|climbs|waits near").split("|")
EN_OBJ = ("a snowy forest|the busy street|a quiet lake|neon-lit Tokyo|the desert at sunset|a field of tulips|"
          "an abandoned factory|the rainy harbor|a medieval castle|a coral reef|the mountains|a cozy kitchen|"
          "a crowded market|the moon's surface|a wheat field|a library full of books").split("|")
EN_STYLE = ("cinematic lighting|4K, ultra detailed|slow motion|aerial drone shot|in the style of Studio Ghibli|"
            "shallow depth of field|golden hour|black and white film|handheld camera, 35mm|watercolor style|"
            "photorealistic, 8k HDR|time-lapse|close-up shot|wide angle lens|soft pastel colors").split("|")
ZH = ("一只猫在雪地里奔跑|夕阳下的海滩|城市的夜景灯火通明|一位老人在公园里下棋|小女孩在花园里追逐蝴蝶|"
      "古老的寺庙坐落在山顶|雨后的街道倒映着霓虹灯|熊猫在竹林里吃竹子|宇航员在月球表面行走|"
      "画面清晰，电影质感，高细节|镜头缓慢推进|春天的樱花随风飘落|繁忙的火车站|厨师正在准备晚餐|"
      "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
      "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
      "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走").split("|")
JA = ("猫が雪の中を走っている|夕日の海辺を歩く少女|東京の夜景、ネオンが輝く|桜の花びらが風に舞う|"
      "古いお寺が山の上にある|ロボットが台所で料理をしている|カメラがゆっくりとズームインする|"
      "雨の日の駅のホーム|宇宙飛行士が月面を歩く|ドラゴンが城の上を飛んでいる|ｶﾞﾗｽのｺｯﾌﾟ|"
      "きれいな青空と白い雲|ラーメンを食べる男性").split("|")
KO = ("고양이가 눈 속을 달린다|해질녘의 바닷가|도시의 야경이 빛난다|할머니가 공원에서 산책한다|"
      "벚꽃이 바람에 흩날린다|우주비행사가 달 위를 걷는다|영화 같은 조명, 고화질").split("|")
RU = ("кошка бежит по снегу|старик сидит на скамейке в парке|закат над морем|ночной город в огнях|"
      "девочка играет с собакой|космонавт идёт по Луне|медленное движение камеры|ёлка и снег").split("|")
EL = "μια γάτα τρέχει στο χιόνι|το ηλιοβασίλεμα στη θάλασσα|ένας ρομπότ μαγειρεύει|η Ακρόπολη τη νύχτα".split("|")
AR = ("قطة تجري في الثلج|غروب الشمس على البحر|مَدِينَةٌ جَمِيلَةٌ فِي اللَّيْلِ|رجل عجوز يقرأ كتابا|"
      "طائرة تحلق فوق الصحراء").split("|")
HE = "חתול רץ בשלג|שְׁקִיעָה מֵעַל הַיָּם|עיר בלילה".split("|")
HI = "बिल्ली बर्फ में दौड़ रही है|समुद्र के ऊपर सूर्यास्त|रात में शहर की रोशनी|क्षत्रिय और ज्ञान".split("|")
TH = "แมววิ่งบนหิมะ|พระอาทิตย์ตกที่ทะเล|เมืองในยามค่ำคืน|กำลังทำอาหาร".split("|")
VI = ("Một con mèo chạy trên tuyết|Hoàng hôn trên biển|Thành phố về đêm rực rỡ|Người đàn ông già đọc sách|"
      "Những đứa trẻ đang chơi đùa").split("|")
LATIN = ("Café au lait à côté de la fenêtre|Über den Wolken müssen die Träume grenzenlos sein|"
         "El niño pequeño corre hacia la señora|Ångström, Øresund, Æbleskiver|Łódź i Kraków zimą|"
         "Žluťoučký kůň úpěl ďábelské ódy|Ísland og Færeyjar|naïve façade, coöperate, résumé, piñata").split("|")
EMOJI = ["😀", "😂", "🥰", "😎", "🤖", "👽", "🐱", "🐶", "🦊", "🐼", "🌸", "🌊", "🔥", "✨", "🎬", "📷", "🚀", "🌙",
         "❤️", "❤", "☀️", "⭐", "👍🏽", "👋🏻", "🙏🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🧑‍🚀", "🏳️‍🌈", "🏴‍☠️", "🇯🇵", "🇺🇸",
         "🇫🇷🇩🇪", "1️⃣", "#️⃣", "©️", "®", "™️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👁‍🗨", "🫠", "🪐"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2002", "\u2003", "\u2009", "\u200a",
          "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u1680", "\u180e", "\ufeff", "\x0b", "\x0c", "\x85",
          " \t ", "\n\n", "\u00a0\u00a0"]
CONTROLS = [chr(c) for c in list(range(1, 32)) + [127] + list(range(0x80, 0xA0))] + [
    "\u00ad", "\u034f", "\u061c", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d",
    "\u202e", "\u2060", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\ufff9", "\ufffc", "\ufffd", "\ue000",
    "\U000f0000", "\ufdd0", "\uffff", "\U0010ffff", "\U000e0001", "\U000e0041"]
FULLWIDTH = ["ＡＢＣＤ", "ａｂｃ", "１２３４５", "！？", "（テスト）", "＜/s＞", "［ｘ］", "～", "￥１００", "＄５",
             "ｶﾀｶﾅ", "ﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ", "ﾊﾟﾋﾟ", "㍻", "㌔", "①②③", "Ⅻ", "ﬁﬂﬀ", "㎞", "½", "x²", "ℌ", "Ω"]
SPECIAL = ["</s>", "<pad>", "<unk>", "<extra_id_0>", "<extra_id_1>", "<extra_id_2>", "<extra_id_99>",
           "<extra_id_100>", "<extra_id_299>", "<mask>", "＜norm＞", "<s>", "</S>", "< /s>", "</s", "<extra_id_>"]
ENTITY = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", "&#x4e2d;", "&#20013;", "&copy", "&hellip;",
          "&amp;lt;", "&notanentity;"]
DECOMPOSE_BASES = "aeiouAEIOUnycsgzrlkdt"
MARKS = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0304", "\u0306", "\u0307", "\u0308", "\u030a", "\u030b",
         "\u030c", "\u0323", "\u0327", "\u0328", "\u0331", "\u0345", "\u20dd", "\u0489"]


def stdlib_english():
    names = ["os", "re", "json", "collections", "itertools", "functools", "string", "textwrap", "argparse",
             "logging", "unittest", "email.message", "http.client", "urllib.parse", "datetime", "calendar",
             "decimal", "fractions", "statistics", "random", "pathlib", "shutil", "subprocess", "threading",
             "asyncio", "socket", "sqlite3", "csv", "configparser", "tarfile", "zipfile", "pickle", "inspect",
             "typing", "dataclasses", "enum", "contextlib", "heapq", "bisect", "codecs", "difflib", "pprint",
             "doctest", "ftplib", "imaplib", "smtplib", "mailbox", "turtle", "optparse", "gzip", "hashlib"]
    out = []
    for name in names:
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        if mod.__doc__:
            out.append(mod.__doc__)
        for attr in sorted(dir(mod)):
            obj = getattr(mod, attr, None)
            doc = inspect.getdoc(obj) if (inspect.isfunction(obj) or inspect.isclass(obj)) else None
            if doc:
                out.append(doc)
    lines = []
    for d in out:
        for para in d.split("\n\n"):
            para = " ".join(para.split())
            if 20 < len(para) < 2000:
                lines.append(para)
    return lines


def prompt(rng):
    p = f"{rng.choice(EN_SUBJ)} {rng.choice(EN_VERB)} {rng.choice(EN_OBJ)}, {rng.choice(EN_STYLE)}"
    return p[0].upper() + p[1:] if rng.random() < 0.6 else p


def hanzi(rng, n):
    # Zipf-like over the first 3000 code points of the CJK block: frequent ones repeat, rare ones become <unk>
    return "".join(chr(0x4E00 + min(int(rng.paretovariate(0.9)) * 7 % 20000, 20900)) for _ in range(n))


def training_corpus(rng):
    lines = stdlib_english()
    pools = [ZH, JA, KO, RU, EL, AR, HE, HI, TH, VI, LATIN]
    for _ in range(20000):
        lines.append(prompt(rng))
    for pool in pools:
        for _ in range(1500):
            lines.append(" ".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
    for _ in range(4000):
        lines.append(hanzi(rng, rng.randint(5, 40)))
        lines.append("".join(chr(rng.randint(0x3041, 0x30FA)) for _ in range(rng.randint(3, 20))))
    for _ in range(1500):
        lines.append(prompt(rng) + " " + " ".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3))))
        lines.append(" ".join(str(rng.randint(0, 10 ** rng.randint(1, 6))) for _ in range(rng.randint(1, 6))))
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def decomposed(rng, text):
    out = []
    for ch in unicodedata.normalize("NFD", text):
        out.append(ch)
        if ch in DECOMPOSE_BASES and rng.random() < 0.3:
            out.extend(rng.sample(MARKS, rng.randint(1, 3)))
    return "".join(out)


def random_soup(rng, n):
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x2000, 0x2BFF), (0x3000, 0x30FF),
              (0x3130, 0x318F), (0x3200, 0x33FF), (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7A3),
              (0xD7B0, 0xD7FF), (0xE000, 0xE0FF), (0xF900, 0xFAFF), (0xFB00, 0xFDFF), (0xFE00, 0xFFFD),
              (0x10000, 0x1047F), (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF), (0x20000, 0x2A6DF), (0xE0000, 0xE007F)]
    s = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        s.append(chr(rng.randint(lo, hi)))
    return "".join(s)


def fragment(rng):
    kind = rng.randrange(12)
    if kind == 0:
        return prompt(rng)
    if kind == 1:
        return rng.choice(ZH + JA + KO)
    if kind == 2:
        return rng.choice(RU + EL + AR + HE + HI + TH + VI + LATIN)
    if kind == 3:
        return rng.choice(EMOJI)
    if kind == 4:
        return rng.choice(SPACES)
    if kind == 5:
        return rng.choice(CONTROLS)
    if kind == 6:
        return rng.choice(FULLWIDTH)
    if kind == 7:
        return rng.choice(SPECIAL)
    if kind == 8:
        return rng.choice(ENTITY)
    if kind == 9:
        return "\u2581" * rng.randint(1, 3)
    if kind == 10:
        return decomposed(rng, rng.choice(LATIN + VI))
    return random_soup(rng, rng.randint(1, 6))


def make_cases(rng):
    cases = []

    def add(cat, s):
        s = s.replace("\x00", "")
        cases.append({"cat": cat, "s": s})

    for s in ["", " ", "  ", "\n", "\t\t", "\u3000", "\u00a0", "\u2581", "a", "A", ".", "。", "é", "e\u0301",
              "\r\n", "hello world", "Hello, World!", "  leading", "trailing  ", "  both  ", "multiple    spaces",
              "tab\tseparated\tvalues", "line1\nline2\r\nline3\rline4", "\u2581hello", "hello\u2581\u2581world",
              "a \u2581 b", "\u2581 \u2581", "e\u0301\u0323", "e\u0323\u0301", "\uff21\u0301", "\uff71\uff9e",
              "\u1100\u1161\u11a8", "\ufb01\u0301", "\r\n\r\n", "x\u200d", "\u200d", "\ufe0f", "\U0001f1ef",
              "\U0001f1ef\U0001f1f5\U0001f1fa", "a\u0308\u0308\u0308\u0308", "\u0915\u094d\u0937"]:
        add("edge", s)
    for _ in range(200):
        p = prompt(rng)
        r = rng.random()
        if r < 0.2:
            p = p.upper()
        elif r < 0.3:
            p = p + f" {rng.randint(1, 9999)}fps, 1280x720, v{rng.randint(1, 9)}.{rng.randint(0, 99)}"
        elif r < 0.4:
            p = f'"{p}" - it\'s (really) [great]; isn\'t it? https://example.com/a_b?c=1&d=2 #tag @user'
        add("english", p)
    for cat, pool, n in [("chinese", ZH, 90), ("japanese", JA, 80), ("korean", KO, 40), ("cyrillic", RU, 50),
                         ("greek", EL, 20), ("arabic", AR, 40), ("hebrew", HE, 20), ("hindi", HI, 30),
                         ("thai", TH, 25), ("vietnamese", VI, 30), ("latin", LATIN, 50)]:
        for _ in range(n):
            s = "".join(rng.choice(pool) + rng.choice(["", " ", "，", "、", ". ", "!"]) for _ in range(rng.randint(1, 3)))
            if cat in ("chinese", "japanese") and rng.random() < 0.4:
                s += hanzi(rng, rng.randint(2, 12))
            if cat == "korean" and rng.random() < 0.5:
                s = unicodedata.normalize("NFD", s)  # conjoining jamo
            add(cat, s)
    for _ in range(80):
        s = rng.choice(LATIN + VI)
        form = rng.choice(["NFC", "NFD", "NFKD", "mix"])
        add("accents", decomposed(rng, s) if form == "mix" else unicodedata.normalize(form, s))
    for _ in range(80):
        s = " ".join(rng.choice(EMOJI) if rng.random() < 0.6 else prompt(rng).split()[0] for _ in range(rng.randint(1, 6)))
        add("emoji", s.replace(" ", "") if rng.random() < 0.3 else s)
    for _ in range(90):
        words = prompt(rng).split()
        s = "".join(w + rng.choice(SPACES) for w in words)
        add("whitespace", rng.choice(SPACES) + s if rng.random() < 0.5 else s)
    for _ in range(70):
        s = "".join(rng.choice(CONTROLS) + rng.choice(["a", "b ", "漢", "", " "]) for _ in range(rng.randint(1, 6)))
        add("control", s)
    for _ in range(50):
        add("fullwidth", "".join(rng.choice(FULLWIDTH) + rng.choice(["", " ", "a"]) for _ in range(rng.randint(1, 4))))
    for _ in range(60):
        parts = [rng.choice(SPECIAL) if rng.random() < 0.5 else rng.choice(EN_SUBJ) for _ in range(rng.randint(1, 5))]
        add("special", rng.choice(["", " "]).join(parts))
    for _ in range(30):
        add("html", " ".join(rng.choice(ENTITY) + rng.choice(["", "x", " word"]) for _ in range(rng.randint(1, 4))))
    for _ in range(30):
        add("metaspace", "".join(rng.choice(["\u2581", " ", "a", "\u2581\u2581", "b c", "漢"]) for _ in range(rng.randint(1, 8))))
    for _ in range(150):
        add("soup", random_soup(rng, rng.randint(1, 30)))
    for _ in range(160):
        add("mixed", "".join(fragment(rng) for _ in range(rng.randint(2, 8))))
    # long prompts (> 512 tokens); cases around the truncation boundary are added
    # by the generator (it needs a tokenizer to find the cuts)
    for k in range(6):
        parts = [prompt(rng) if k % 2 == 0 else rng.choice(ZH + JA) + hanzi(rng, 10) for _ in range(45 + 5 * k)]
        add("long", ". ".join(parts))
    return cases


def make_clean_cases(rng):
    base = ["", " ", "plain text", "  lots   of\t\twhitespace \n here  ", "\u3000full\u3000width\u3000space\u3000",
            "nbsp\u00a0here", "x\u2028y\u2029z", "a\x1cb\x1dc\x1ed\x1ff", "tab\x0bvt\x0cff", "a\x85b",
            "zero\u200bwidth", "&amp;", "&amp;amp;", "&amp;lt;b&amp;gt;", "&lt;p&gt;Hello&lt;/p&gt;",
            "Tom &amp; Jerry", "&quot;quoted&quot; &#39;single&#39;", "&nbsp;&nbsp;padded&nbsp;", "&#20013;&#25991;",
            "&#x4e2d;&#X6587;", "&#65;&#x42;&#67", "&#0;", "&#13;", "&#128;&#150;&#159;", "&#x81;", "&#1;&#11;&#31;",
            "&#127;", "&#xD800;", "&#1114112;", "&#99999999999999999999;", "&#xFFFE;&#x1FFFF;&#xFDD0;",
            "&#;", "&#x;", "&#xg;", "& amp;", "&&amp;", "&ampx", "&amp", "&ampere;", "&copy2024", "&copy;2024",
            "&COPY;", "&AMP;", "&hellip;...", "&hellip", "&mdash;&ndash;", "&euro;5", "&notanentity;", "&foo",
            "&lt&gt", "&LT;&GT;", "&frac12;", "&szlig;&eacute;&Eacute;", "&eacuteclair", "&nbspx", "&nbsp;x",
            "&alpha;&Omega;", "&hearts;&spades;", "&apos;", "&rarr;", "&lsquo;x&rsquo;", "&ldquo;x&rdquo;",
            "&trade;&reg;", "&deg;C", "&times;&divide;", "&#x1F600;", "&#128512;", "&amp;#39;",
            "&amp;nbsp;", "&amp;amp;amp;", "&aacute&agrave;", "&" + "a" * 40 + ";", "&ampé", "&amp\u00e9;",
            "&\u00e9t\u00e9;", "a&b", "a & b", "&\tamp;", "&amp\r;", "&#x20;&#32;", "&#x3000;x&#xa0;",
            "&Tab;a&NewLine;b", "  &nbsp;  ", "&#12;&#10;", "&lt;&#60;&#x3c;"]
    out = list(base)
    ents = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", "&#x4e2d;", "&copy", "&hellip;", "&amp;lt;",
            "&eacute;", "&Eacute", "&ouml;", "&#8212;", "&#x2019;", "&mdash;", "&ndash;", "&rsquo;", "&euro;"]
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(1, 8)):
            r = rng.random()
            if r < 0.35:
                parts.append(rng.choice(ents))
            elif r < 0.6:
                parts.append(rng.choice(SPACES + [" "] * 4))
            elif r < 0.8:
                parts.append(rng.choice(EN_SUBJ + ZH[:5] + RU[:3]))
            else:
                parts.append(rng.choice(["&", "#", ";", "&#", "x", "\u3000", "\u2028"]))
        out.append("".join(parts))
    return [s.replace("\x00", "") for s in out]


def boundary_text(rng):
    """A long English prompt that the generator cuts at exact token counts."""
    return ", ".join(prompt(rng) for _ in range(80))
