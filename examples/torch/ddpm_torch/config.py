"""The config object, resolved and checked as src/config.ts resolveConfig does, from the same
rules: config_rules.json is written by ddpm-ts (`npm run rules`: its fields, defaults, per-source
defaults and each field's rule), so both sides take the same configs and refuse the same ones with
the same words (test/config-rules.test.ts feeds one corpus to both). The checks that join fields
(the UNet's shape rules, betaStart <= betaEnd, …) mirror resolveConfig and checkUNetConfig."""

import json
import math
import os
import re
from decimal import Decimal

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config_rules.json")) as _f:
    RULES = json.load(_f)

SECTIONS = ["seed", "backend", "threads", "model", "diffusion", "data", "train", "sample"]


class ConfigError(ValueError):
    """Every problem of a config, each naming its field (as ddpm-ts's ConfigError)."""

    def __init__(self, problems, where=None):
        self.problems = problems
        super().__init__(f"invalid config{f' ({where})' if where else ''}:\n  - " + "\n  - ".join(problems))


def js_number(v):
    """A number as JavaScript writes it (1, 0.00001, 1e-7, 1e+21), so messages match ddpm-ts's."""
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    exponent = int(exponent)
    if -7 < exponent < 21:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def js_json(v):
    """JSON.stringify(v): compact, non-ASCII kept, numbers as JavaScript writes them."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return js_number(v) if isinstance(v, int) or math.isfinite(v) else "null"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(js_json(x) for x in v) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{js_json(x)}" for k, x in v.items()) + "}"


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_int(v):
    """Number.isInteger: 2 and 2.0 are integers (JSON does not tell them apart), true is not."""
    return is_number(v) and math.isfinite(v) and float(v).is_integer()


def describe(rule):
    kind = rule["kind"]
    if kind == "int":
        return f"an integer >= {rule['min']}" + (f" and <= {rule['max']}" if "max" in rule else "")
    if kind == "number":
        parts = [f"{op} {js_number(rule[k])}" for k, op in (("min", ">="), ("above", ">"), ("max", "<="), ("below", "<")) if k in rule]
        return "a number" + (" " + " and ".join(parts) if parts else "")
    if kind == "bool":
        return "true or false"
    if kind == "enum":
        return "one of " + ", ".join(f"'{v}'" for v in rule["values"])
    return "a string or null" if rule.get("nullable") else "a non-empty string"


def satisfies(rule, v):
    kind = rule["kind"]
    if kind == "int":
        return is_int(v) and v >= rule["min"] and ("max" not in rule or v <= rule["max"])
    if kind == "number":
        if not is_number(v) or not math.isfinite(v):
            return False
        return ("min" not in rule or v >= rule["min"]) and ("above" not in rule or v > rule["above"]) and ("max" not in rule or v <= rule["max"]) and ("below" not in rule or v < rule["below"])
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "enum":
        return isinstance(v, str) and v in rule["values"]
    return (rule.get("nullable") and v is None) or (isinstance(v, str) and len(v) > 0)


def closest(name, known):
    """config.ts closest: a known name within two edits (case ignored), for "did you mean"."""
    def distance(a, b):
        prev = list(range(len(b) + 1))
        for i in range(1, len(a) + 1):
            row = [i]
            for j in range(1, len(b) + 1):
                row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (0 if a[i - 1] == b[j - 1] else 1)))
            prev = row
        return prev[len(b)]
    best, best_d = None, 3
    for k in known:
        d = distance(name.lower(), k.lower())
        if d < best_d:
            best, best_d = k, d
    return best


def unet_plan_widths(c):
    """unet.ts channelWidths: every channel count a GroupNorm sees, in planUNet's order."""
    levels = len(c["channelMults"])
    skips, ch, down = [c["baseChannels"]], c["baseChannels"], []
    for i, m in enumerate(c["channelMults"]):
        blocks = []
        for _ in range(c["numResBlocks"]):
            blocks.append((ch, c["baseChannels"] * m))
            ch = c["baseChannels"] * m
            skips.append(ch)
        if i < levels - 1:
            skips.append(ch)
        down.append(blocks)
    mid = ch
    up = [None] * levels
    for i in range(levels - 1, -1, -1):
        blocks = []
        for _ in range(c["numResBlocks"] + 1):
            cout = c["baseChannels"] * c["channelMults"][i]
            blocks.append((ch + skips.pop(), cout))
            ch = cout
        up[i] = blocks
    widths = []
    for blocks in down + up:
        for pair in blocks:
            for w in pair:
                if w not in widths:
                    widths.append(w)
    if mid not in widths:
        widths.append(mid)
    return widths


def check_unet(partial, where):
    """unet.ts checkUNetConfig: [(field, message)] for every fault."""
    problems, known = [], list(RULES["defaults"]["model"].keys())
    for key in partial:
        if key not in known:
            problems.append((key, f"{where}{key} is not a known field (fields: {', '.join(known)})"))
    c = {**RULES["defaults"]["model"], **partial}
    bad = set()

    def fault(field, why):
        bad.add(field)
        problems.append((field, f"{where}{field} {why} (got {js_json(c[field])})"))

    positive = lambda v: is_int(v) and v > 0  # noqa: E731
    for f in ("imageSize", "inChannels", "baseChannels", "numResBlocks", "groups", "timeEmbDim"):
        if not positive(c[f]):
            fault(f, "must be a positive integer")
    if not isinstance(c["channelMults"], list) or not c["channelMults"] or not all(positive(m) for m in c["channelMults"]):
        fault("channelMults", "must be a non-empty list of positive integers")
    if not isinstance(c["attnResolutions"], list) or not all(positive(r) for r in c["attnResolutions"]):
        fault("attnResolutions", "must be a list of positive integers")
    if not is_number(c["dropout"]) or not (0 <= c["dropout"] < 1):
        fault("dropout", "must be a number in [0, 1)")
    if not isinstance(c["zeroInitOut"], bool):
        fault("zeroInitOut", "must be true or false")
    ok = lambda *fields: all(f not in bad for f in fields)  # noqa: E731
    if ok("baseChannels") and (c["baseChannels"] % 2 != 0 or c["baseChannels"] < 4):
        fault("baseChannels", "must be even and at least 4 (it is the sinusoidal embedding width)")
    if ok("imageSize", "channelMults"):
        levels = len(c["channelMults"])
        if c["imageSize"] % 2 ** (levels - 1) != 0:
            fault("imageSize", f"must be divisible by 2^(levels-1) = {2 ** (levels - 1)} for {levels} levels")
    if ok("imageSize", "attnResolutions"):
        size = int(c["imageSize"])
        if ok("channelMults"):
            resolutions = [size / 2 ** i for i in range(len(c["channelMults"]))]
        else:
            resolutions = [size / 2 ** i for i in range(int(math.floor(math.log2(size))) + 1) if (size / 2 ** i).is_integer()]
        stray = next((r for r in c["attnResolutions"] if r not in resolutions), None)
        if stray is not None:
            listed = ", ".join(js_number(r) for r in resolutions)
            fault("attnResolutions", f"lists {js_number(stray)}, but the net only has resolutions {listed}" if ok("channelMults")
                  else f"lists {js_number(stray)}, which no level of a {size}×{size} net can have ({listed})")
    if ok("baseChannels", "groups"):
        plan = {**c, "channelMults": c["channelMults"] if ok("channelMults") else [1], "numResBlocks": c["numResBlocks"] if ok("numResBlocks") else 1}
        odd = next((w for w in unet_plan_widths(plan) if w % c["groups"] != 0), None)
        if odd is not None:
            fault("groups", f"must divide every normalised width, and {js_number(odd)} channels occur")
    return problems


def resolve_config(partial, where=None):
    """config.ts resolveConfig: the defaults (and the data source's) under `partial`, every field
    checked; raises ConfigError listing every problem, each naming its field."""
    if not isinstance(partial, dict):
        raise ConfigError([f"the config must be a JSON object such as {{\"train\": {{\"steps\": 500}}}} (got {js_json(partial)})"], where)
    problems = []
    for key in partial:
        if key not in SECTIONS:
            hint = closest(key, SECTIONS)
            problems.append(f"'{key}' is not a config section (sections: {', '.join(SECTIONS)})" + (f"; did you mean '{hint}'?" if hint else ""))
    defaults, rules = RULES["defaults"], RULES["sections"]
    merged = {}
    for section, section_rules in rules.items():
        given = partial.get(section, {})
        if not isinstance(given, dict):
            problems.append(f"{section} must be an object such as {{\"{next(iter(section_rules))}\": …}} (got {js_json(given)})")
            merged[section] = dict(defaults[section])
            continue
        for key in given:
            if key not in section_rules:
                hint = closest(key, list(section_rules))
                problems.append(f"{section}.{key} is not a known field" + (f"; did you mean {section}.{hint}?" if hint else f" (fields: {', '.join(section_rules)})"))
        values = {**defaults[section], **given}
        for key, rule in section_rules.items():
            if not satisfies(rule, values.get(key)):
                problems.append(f"{section}.{key} must be {describe(rule)} (got {js_json(values.get(key))})")
        merged[section] = values
    seed = partial.get("seed", defaults["seed"])
    if not is_int(seed) or seed < RULES["seed"]["min"] or seed > RULES["seed"]["max"]:
        problems.append(f"seed must be an integer from {RULES['seed']['min']} to {RULES['seed']['max']} (got {js_json(seed)})")
    backend = partial.get("backend", defaults["backend"])
    if not isinstance(backend, str) or backend not in RULES["backends"]:
        problems.append(f"backend must be one of {', '.join(repr(b) for b in RULES['backends'])} (got {js_json(backend)})")
    threads = partial.get("threads", defaults["threads"])
    if threads is not None and (not is_int(threads) or threads < RULES["threads"]["min"] or threads > RULES["threads"]["max"]):
        problems.append(f"threads must be an integer from {RULES['threads']['min']} to {RULES['threads']['max']}, or null for one per core (got {js_json(threads)})")
    diffusion, data = merged["diffusion"], merged["data"]
    if diffusion["schedule"] == "linear" and satisfies(rules["diffusion"]["betaStart"], diffusion["betaStart"]) and satisfies(rules["diffusion"]["betaEnd"], diffusion["betaEnd"]) and diffusion["betaStart"] > diffusion["betaEnd"]:
        problems.append(f"diffusion.betaStart ({js_number(diffusion['betaStart'])}) must not exceed diffusion.betaEnd ({js_number(diffusion['betaEnd'])})")
    by_source = RULES["sourceDefaults"].get(data["source"], RULES["sourceDefaults"]["faces"])
    given_data = partial.get("data") if isinstance(partial.get("data"), dict) else {}
    for field in ("channels", "flip"):
        if field not in given_data:
            data[field] = by_source[field]
    for section in ("train", "sample"):
        given = partial.get(section) if isinstance(partial.get(section), dict) else {}
        for field, value in by_source[section].items():
            if field not in given:
                merged[section][field] = value
    if data["source"] == "folder" and not data["path"]:
        problems.append("data.path must name an image folder when data.source is 'folder'")
    given_train = partial.get("train") if isinstance(partial.get("train"), dict) else {}
    if data["source"] == "folder" and isinstance(data["path"], str) and "outDir" not in given_train:
        merged["train"]["outDir"] = "runs/" + (re.split(r"[\\/]", re.sub(r"[\\/]+$", "", data["path"]))[-1] or "photos")
    sample = merged["sample"]
    if sample["sampler"] == "ddim" and satisfies(rules["diffusion"]["timesteps"], diffusion["timesteps"]) and is_number(sample["steps"]) and sample["steps"] > diffusion["timesteps"]:
        problems.append(f"sample.steps ({js_number(sample['steps'])}) must not exceed diffusion.timesteps ({js_number(diffusion['timesteps'])})")
    model = None
    given_model = partial.get("model", {})
    if not isinstance(given_model, dict):
        problems.append(f"model must be an object such as {{\"baseChannels\": 16}} (got {js_json(given_model)})")
    else:
        for field, data_field in (("imageSize", "imageSize"), ("inChannels", "channels")):
            if field in given_model and given_model[field] != data[data_field]:
                problems.append(f"model.{field} ({js_json(given_model[field])}) must equal data.{data_field} ({js_json(data[data_field])}), or be left out")
        shape_ok = {"imageSize": satisfies(rules["data"]["imageSize"], data["imageSize"]), "inChannels": satisfies(rules["data"]["channels"], data["channels"])}
        candidate = {**defaults["model"], **by_source["model"], **given_model, "imageSize": data["imageSize"], "inChannels": data["channels"]}
        checked = check_unet(candidate, "model.")
        reads_bad = lambda f: (not shape_ok["imageSize"] and f in ("imageSize", "attnResolutions")) or (not shape_ok["inChannels"] and f == "inChannels")  # noqa: E731
        problems += [m for f, m in checked if not reads_bad(f)]
        if not checked:
            model = candidate
    if problems:
        raise ConfigError(problems, where)
    return {"seed": seed, "backend": backend, "threads": threads, "model": model, **merged}
