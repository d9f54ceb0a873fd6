#!/usr/bin/env python3
"""Reads a Schemathesis NDJSON report and the allow-list (mock-server/tests/fuzz-allow.md);
prints every failure, and exits 1 if one is not allowed."""
import collections
import fnmatch
import json
import re
import sys

# A 240 s run against the mock answers tens of thousands of requests; a few hundred at least
# shows the fuzzer reached it.
MIN_ANSWERED = 500


def allowed_rules(path):
    rules = []
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d{3}", cells[2]):
            rules.append((cells[0].strip("`"), cells[1], int(cells[2])))
    return rules


def failures(report):
    found = collections.Counter()
    errors = 0
    answered = 0
    for line in open(report, encoding="utf-8"):
        event = json.loads(line)
        if "NonFatalError" in event:
            errors += 1
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        rec = finished["recorder"]
        answered += sum(
            1 for i in rec.get("interactions", {}).values() if (i or {}).get("response")
        )
        for case_id, checks in rec.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                response = rec.get("interactions", {}).get(case_id, {}).get("response") or {}
                found[(rec["label"], check["name"], response.get("status_code"))] += 1
    return found, errors, answered


def main(report, allow):
    rules = allowed_rules(allow)
    found, errors, answered = failures(report)
    # No answer at all means the fuzzer never reached the mock: nothing was tested.
    if answered < MIN_ANSWERED:
        print(f"only {answered} requests got an answer (at least {MIN_ANSWERED} expected): "
              f"the fuzzer did not reach the mock; {errors} errors of the fuzzer itself")
        return 1
    bad = []
    for (label, check, status), n in sorted(found.items(), key=str):
        ok = any(
            fnmatch.fnmatchcase(label, op) and check == c and status == s for op, c, s in rules
        )
        print(f"{'allowed' if ok else 'FAILED '}  {label}  {check}  HTTP {status}  ×{n}")
        if not ok:
            bad.append(label)
    print(f"{answered} requests answered; {sum(found.values())} failing cases, {len(bad)} not allowed; "
          f"{errors} errors of the fuzzer itself")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
