#!/usr/bin/python3
# Parses a Prometheus text exposition (format 0.0.4) strictly and checks given samples:
#   prom_check.py FILE 'name{label="v"}=VALUE' ...
# Fails on: a malformed line, a bad metric or label name, a sample without a TYPE declared
# before it, a TYPE or HELP given twice, a series given twice, a counter not ending in _total,
# a metric's samples not together.
import re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,(?:%s))*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (NAME, LABEL, LABEL))
META = re.compile(r"^# (HELP|TYPE) (%s) (.+)$" % NAME)

def main():
    types, helps, series, done, last = {}, set(), {}, set(), None
    for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
        line = line.rstrip("\n")
        m = META.match(line)
        if m:
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if name in types or rest not in ("counter", "gauge", "untyped", "summary", "histogram"):
                    sys.exit("line %d: bad or repeated TYPE: %s" % (n, line))
                types[name] = rest
            else:
                if name in helps:
                    sys.exit("line %d: HELP repeated: %s" % (n, line))
                helps.add(name)
            continue
        m = SAMPLE.match(line)
        if not m:
            sys.exit("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if name not in types:
            sys.exit("line %d: %s has no TYPE before it" % (n, name))
        if types[name] == "counter" and not name.endswith("_total"):
            sys.exit("line %d: counter %s does not end in _total" % (n, name))
        if name != last:
            if name in done:
                sys.exit("line %d: samples of %s are not together" % (n, name))
            if last:
                done.add(last)
            last = name
        key = name + labels
        if key in series:
            sys.exit("line %d: series repeated: %s" % (n, key))
        series[key] = float(value)
    for want in sys.argv[2:]:
        key, value = want.rsplit("=", 1)
        if key not in series:
            sys.exit("missing series %s" % key)
        if series[key] != float(value):
            sys.exit("%s is %s, expected %s" % (key, series[key], value))
    print("prometheus: %d series, %d metrics, valid" % (len(series), len(types)))

main()
