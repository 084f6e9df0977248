#!/usr/bin/python3
# The example replies of doc/control.md as a map for fake_softsad:
#   {"status": {"ok": true, "result": {...}}, "reload!error": {"ok": false, ...}, ...}
# Every "-> {request}" is followed by its "<- {reply}" lines; a command's first successful
# reply is CMD, an error CMD!error; a later example of the same command wins (stats appears
# twice: the second is the full one).  Replies that are not JSON (elided with ...) are
# skipped.
import json, re, sys

def main():
    # Elided list tails ("[a, b, ...]") are dropped so that the rest parses.
    text = re.sub(r",\s*\.\.\.", "", open(sys.argv[1], encoding="utf-8").read())
    dec = json.JSONDecoder()
    out, cmd = {}, None
    for m in re.finditer(r"(→|←) ", text):
        try:
            obj, _ = dec.raw_decode(text, m.end())
        except ValueError:
            continue
        if m.group(1) == "→":
            cmd = obj.get("cmd")
            continue
        if not cmd or cmd in ("help", "subscribe"):
            continue
        out[cmd if obj.get("ok") else cmd + "!error"] = obj
    json.dump(out, sys.stdout, indent=1)
    print()

main()
