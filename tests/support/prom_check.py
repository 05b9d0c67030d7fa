#!/usr/bin/env python3
"""A strict checker of the Prometheus text exposition format (version 0.0.4), for tests: used
when promtool is not installed (the Debian package pulls ~100 MB). Reads stdin; on success
prints the samples as JSON ({"name": [{"labels": {...}, "value": float}]}) and exits 0; on the
first violation prints "line N: why" to stderr and exits 1.

Checked: metric and label name syntax, reserved "__" label names, label value escapes (only \\\\,
\\" and \\n), float values (Go ParseFloat syntax, NaN, +Inf, -Inf), optional integer timestamps,
HELP and TYPE at most once per metric and before its samples, known TYPE values, samples of one
family contiguous, no duplicate series, counters ending in _total, gauges not ending in the
suffixes reserved for histograms and summaries, a final newline."""
import json
import re
import sys

METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
FLOAT = re.compile(r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
RESERVED = ("_count", "_sum", "_bucket")


class Bad(Exception):
    pass


def parse_labels(text, pos, n):
    """Parses '{a="b",...}' from text[pos] == '{'; returns (labels, next position)."""
    labels = {}
    pos += 1
    while True:
        if text[pos:pos + 1] == "}":
            return labels, pos + 1
        m = re.compile(LABEL).match(text, pos)
        if not m:
            raise Bad(f"line {n}: bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise Bad(f"line {n}: label name {name} is reserved")
        if name in labels:
            raise Bad(f"line {n}: label {name} twice")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise Bad(f'line {n}: expected =" after label {name}')
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise Bad(f"line {n}: unterminated label value")
            c = text[pos]
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise Bad(f"line {n}: bad escape \\{nxt} in label value")
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        labels[name] = "".join(value)
        if text[pos:pos + 1] == ",":
            pos += 1
        elif text[pos:pos + 1] != "}":
            raise Bad(f"line {n}: expected , or }} after label {name}")


def family_of(name, types):
    """The family a sample belongs to (histogram and summary samples carry suffixes)."""
    for suffix in ("_bucket", "_count", "_sum"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def check(text):
    if text and not text.endswith("\n"):
        raise Bad("the text does not end with a newline")
    helps, types, samples, series = {}, {}, {}, set()
    done = set()  # families whose samples ended
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not re.fullmatch(METRIC, parts[2]):
                    raise Bad(f"line {n}: {parts[1]} without a valid metric name")
                name = parts[2]
                if name in samples:
                    raise Bad(f"line {n}: {parts[1]} for {name} after its samples")
                table = helps if parts[1] == "HELP" else types
                if name in table:
                    raise Bad(f"line {n}: second {parts[1]} for {name}")
                rest = parts[3] if len(parts) == 4 else ""
                if parts[1] == "TYPE":
                    if rest not in TYPES:
                        raise Bad(f"line {n}: unknown type {rest!r}")
                    if rest == "counter" and not name.endswith("_total"):
                        raise Bad(f"line {n}: counter {name} does not end in _total")
                    if rest in ("gauge", "untyped") and name.endswith(RESERVED):
                        raise Bad(f"line {n}: {name} ends in a histogram/summary suffix")
                elif rest == "":
                    raise Bad(f"line {n}: empty HELP for {name}")
                table[name] = rest
            continue
        m = re.compile(METRIC).match(line)
        if not m:
            raise Bad(f"line {n}: bad metric name")
        name, pos = m.group(0), m.end()
        labels = {}
        if line[pos:pos + 1] == "{":
            labels, pos = parse_labels(line, pos, n)
        if line[pos:pos + 1] != " ":
            raise Bad(f"line {n}: expected one space before the value")
        fields = line[pos + 1:].split(" ")
        if len(fields) not in (1, 2) or not FLOAT.match(fields[0]):
            raise Bad(f"line {n}: bad value {line[pos + 1:]!r}")
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise Bad(f"line {n}: bad timestamp {fields[1]!r}")
        family = family_of(name, types)
        if family != current:
            if family in done:
                raise Bad(f"line {n}: samples of {family} are not contiguous")
            if current is not None:
                done.add(current)
            current = family
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise Bad(f"line {n}: duplicate series {name}{labels}")
        series.add(key)
        samples.setdefault(name, []).append({"labels": labels, "value": float(fields[0])})
    return {"samples": samples, "types": types, "help": helps}


def main():
    try:
        result = check(sys.stdin.read())
    except Bad as e:
        print(e, file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
