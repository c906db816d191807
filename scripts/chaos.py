#!/usr/bin/env python3
"""Chaos runs on the real broker (docs/reliability.md, "Chaos"): scripts/chaos.sh N.

Each run, from its seed alone: loggen writes 20 minutes of nginx logs of a few sites with two
incidents; the lines go to a fresh 3-partition topic (keyed by site or not); a file run over the
same lines gives the reference anomaly events; then sitepulse reads the topic while one fault
strikes at a random point of the stream:

  alertmanager  Alertmanager (an output next to the file) stops for a random pause, then starts;
  kill          the instance is killed with -9, then started again with the same command;
  broker        the broker stops for a random pause, then starts;
  join          a second instance joins the group (keyed topic, --state kafka:TOPIC);
  leave         one of two live instances leaves the group (SIGTERM; keyed topic, state
                topic); the other takes over, catches up and stops, and a third with
                --exit-at-end closes the last buckets.

Every event the Kafka run(s) wrote is then classified against the reference: lost (a reference
event nobody wrote), duplicated (the same event written again: allowed by at-least-once,
counted), wrong (an event the reference does not have). Alertmanager runs also count events the
sink could not deliver (undelivered). One table row per run; exit 1 when anything was lost, wrong
or undelivered, or a run failed.

The fault kind is FAULTS[seed % 5]; the rest (keyed or not, where the fault strikes, how long a
pause lasts, which sites have incidents) is drawn from random.Random(seed), so
`scripts/chaos.sh 1 --seed S` replays run S exactly (up to the machine's timing).
"""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request

FAULTS = ["alertmanager", "kill", "broker", "join", "leave"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKER = "127.0.0.1:" + os.environ.get("SITEPULSE_KAFKA_PORT", "9092")
AM = "127.0.0.1:" + os.environ.get("SITEPULSE_AM_PORT", "9093")
# Small fetches so that a backfill of a few tens of thousands of lines takes long enough to be
# interrupted; a 6 s session so that a killed member's partitions move on soon.
SLOW_KAFKA = """kafka:
  fetch.max.bytes: 1000
  max.partition.fetch.bytes: 1000
  message.max.bytes: 1000
  queued.min.messages: 10
  queued.max.messages.kbytes: 16
  session.timeout.ms: 6000
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, **kw)


class Instance:
    """One sitepulse process with its own stderr file and /metrics port."""

    def __init__(self, binary, run_dir, name, args):
        self.name = name
        self.err_path = os.path.join(run_dir, name + ".err")
        self.out_path = os.path.join(run_dir, name + ".jsonl")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "run", *args, "--output", "file:" + self.out_path,
                 "--listen", "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=err)
        self.port = 0
        deadline = time.time() + 30
        while self.port == 0 and time.time() < deadline and self.proc.poll() is None:
            m = re.search(r"/readyz on 127\.0\.0\.1:(\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def lines(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                m = re.search(r"^sitepulse_lines_total (\S+)$", r.read().decode(), re.M)
                return int(float(m.group(1))) if m else 0
        except OSError:
            return 0

    def lag(self):
        """(partitions reported, messages behind in all) from /metrics; (0, 0) if unreadable."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                rows = re.findall(r'^sitepulse_kafka_consumer_lag_messages\{[^}]*\} (\S+)$',
                                  r.read().decode(), re.M)
                return len(rows), sum(int(float(v)) for v in rows)
        except OSError:
            return 0, 0

    def wait(self, seconds):
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"{self.name} did not finish within {seconds} s")

    def summary(self):
        for line in reversed(self.stderr().splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return {}
        return {}


def wait_for_lines(instances, target, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if sum(i.lines() for i in instances) >= target:
            return True
        if all(i.proc.poll() is not None for i in instances):
            return False
        time.sleep(0.05)
    return False


def events(paths):
    """Every complete event line written to `paths` (a line cut by a kill is left out)."""
    out = []
    for p in paths:
        if os.path.exists(p):
            with open(p) as f:
                out += [l.rstrip("\n") for l in f if l.rstrip("\n").endswith("}")]
    return out


def prepare(args, run_dir, seed, rng, keyed):
    sites = rng.randint(3, 5)
    incidents = []
    for kind, site in (("errors", rng.randrange(sites)), ("latency", rng.randrange(sites))):
        incidents += ["--incident", f"{kind},{site},{rng.randint(3, 11)}m,{rng.randint(4, 7)}m"]
    log = os.path.join(run_dir, "access.log")
    sh([args.loggen, "--format", "nginx", "--sites", str(sites), "--rps", "8", "--duration",
        "20m", "--seed", str(seed), "--out", log, *incidents])
    topic = f"chaos-{seed}-{int(time.time() * 1000) % 10**9}"
    sh(["scripts/kafka.sh", "create", topic, "3"])
    if keyed:
        to_send = os.path.join(run_dir, "keyed.log")
        with open(log) as src, open(to_send, "w") as dst:
            for line in src:
                host = re.search(r'"host":"([^"]*)"', line).group(1)
                dst.write(host + "\t" + line)
        sh(["kcat", "-P", "-X", "batch.num.messages=1000", "-b", BROKER, "-t", topic, "-K", "\t",
            "-l", to_send])
    else:
        # Unkeyed, as a shipper's sticky partitioner writes, but drawn from the seed: the first
        # 50 to 300 lines to one partition, which gets nothing else (a tiny partition, read to
        # its end and idle early), then blocks of 1,000 lines each to one of the other two at
        # random (partitions far apart in event time).
        with open(log) as f:
            lines = f.readlines()
        parts = [[] for _ in range(3)]
        head, tiny = rng.randint(50, 300), rng.randrange(3)
        parts[tiny] += lines[:head]
        others = [p for p in range(3) if p != tiny]
        for i in range(head, len(lines), 1000):
            parts[rng.choice(others)] += lines[i:i + 1000]
        for p, part in enumerate(parts):
            path = os.path.join(run_dir, f"p{p}.log")
            with open(path, "w") as out:
                out.writelines(part)
            if part:
                sh(["kcat", "-P", "-X", "batch.num.messages=1000", "-b", BROKER, "-t", topic,
                    "-p", str(p), "-l", path])
    cfg = os.path.join(ROOT, "configs", "nginx.yaml")
    sh([args.binary, "run", "--config", cfg, "--input", log, "--output",
        "file:" + os.path.join(run_dir, "file.jsonl")])
    with open(cfg) as f, open(os.path.join(run_dir, "chaos.yaml"), "w") as out:
        # A tiny partition goes idle 5 s after its end (30 s by default), well within a run.
        text = f.read().replace("windows:\n", "windows:\n  idle_timeout: 5s\n", 1)
        out.write(text + "\nstate:\n  interval: 1s\n" + SLOW_KAFKA)
    with open(log) as f:
        total = sum(1 for _ in f)
    return topic, total


def run_one(args, seed):
    rng = random.Random(seed)
    fault = FAULTS[seed % len(FAULTS)]
    keyed = fault in ("join", "leave") or rng.random() < 0.5
    run_dir = os.path.join(args.out, f"seed-{seed}")
    os.makedirs(run_dir, exist_ok=True)
    t0 = time.time()
    topic, total = prepare(args, run_dir, seed, rng, keyed)
    at = rng.uniform(0.15, 0.8)  # the share of the stream read when the fault strikes
    pause = rng.uniform(2, 15)
    group = f"chaos-{seed}-{int(time.time() * 1000) % 10**9}"
    base = ["--config", os.path.join(run_dir, "chaos.yaml"), "--input",
            f"kafka://{BROKER}/{topic}?group={group}"]
    if fault in ("join", "leave"):
        base += ["--state", f"kafka:{group}-state"]
    spawn = lambda name, extra=(): Instance(args.binary, run_dir, name, [*base, *extra])
    instances, detail, undelivered = [], "", 0
    if fault == "kill":
        a = spawn("a")
        instances.append(a)
        if not wait_for_lines([a], int(total * at)):
            raise RuntimeError("the first instance did not read far enough: " + a.stderr()[-2000:])
        detail = f"kill -9 at {100 * a.lines() // total}%"
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        b = spawn("b", ["--exit-at-end"])
        instances.append(b)
        b.wait(300)
    elif fault in ("broker", "alertmanager"):
        extra = ["--exit-at-end"]
        if fault == "alertmanager":
            extra += ["--output", f"alertmanager+http://{AM}"]
        a = spawn("a", extra)
        instances.append(a)
        struck = wait_for_lines([a], int(total * at))
        script = "scripts/kafka.sh" if fault == "broker" else "scripts/alertmanager.sh"
        if struck:
            sh([script, "stop"])
            time.sleep(pause)
            sh([script, "start"])
        detail = f"{fault} away {pause:.1f} s at {int(at * 100)}%" if struck else "finished first"
        a.wait(300)
        if fault == "alertmanager":
            undelivered = int(a.summary().get("events_undelivered", 0))
    elif fault == "join":
        a = spawn("a", ["--exit-at-end"])
        instances.append(a)
        struck = wait_for_lines([a], int(total * at))
        if struck:
            instances.append(spawn("b", ["--exit-at-end"]))
        detail = f"join at {int(at * 100)}%" if struck else "finished first"
        for i in instances:
            i.wait(300)
    else:  # leave
        # Both live (an --exit-at-end member exits once its own partitions are read, and one
        # that left late would leave its partitions to nobody). After b leaves, a owns every
        # partition; once it has caught up it stops (SIGTERM), and c --exit-at-end closes the
        # last buckets from the state, as a restart would.
        a, b = spawn("a"), spawn("b")
        instances += [a, b]
        if not wait_for_lines([a, b], int(total * at)):
            raise RuntimeError("the instances did not read far enough: " + a.stderr()[-2000:])
        b.proc.send_signal(signal.SIGTERM)
        b.wait(120)
        deadline = time.time() + 300
        while time.time() < deadline and a.lag() != (3, 0):
            time.sleep(0.2)
        if a.lag() != (3, 0):
            raise RuntimeError(f"a did not take over and catch up: lag {a.lag()}")
        a.proc.send_signal(signal.SIGTERM)
        a.wait(120)
        c = spawn("c", ["--exit-at-end"])
        instances.append(c)
        c.wait(300)
        detail = f"leave at {int(at * 100)}%"
    for i in instances:
        if i.proc.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"{i.name} exited {i.proc.returncode}: " + i.stderr()[-2000:])
    want = set(events([os.path.join(run_dir, "file.jsonl")]))
    got = events([i.out_path for i in instances])
    lost = len(want - set(got))
    wrong = sum(1 for e in got if e not in want)
    duplicated = len(got) - len(set(got))
    return {"seed": seed, "fault": fault, "keyed": keyed, "detail": detail, "lines": total,
            "expected": len(want), "got": len(got), "lost": lost, "duplicated": duplicated,
            "wrong": wrong, "undelivered": undelivered, "seconds": round(time.time() - t0)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=int)
    p.add_argument("--seed", type=int, default=1, help="the first run's seed (then +1 each)")
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--out", default=os.path.join(ROOT, "build", "chaos"))
    p.add_argument("--markdown", help="also write the table to this file (Markdown)")
    args = p.parse_args()
    args.binary = os.path.join(args.build, "app", "sitepulse")
    args.loggen = os.path.join(args.build, "bench", "loggen")
    os.makedirs(args.out, exist_ok=True)
    cols = ["seed", "fault", "keyed", "detail", "lines", "expected", "got", "lost", "duplicated",
            "wrong", "undelivered", "seconds"]
    rows, failed = [], 0
    print(" | ".join(cols), flush=True)
    for seed in range(args.seed, args.seed + args.runs):
        try:
            r = run_one(args, seed)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            failed += 1
            err = getattr(e, "stderr", "") or ""
            print(f"{seed} | FAILED: {e} {err[-1000:]}", flush=True)
            continue
        rows.append(r)
        print(" | ".join(str(r[c]) for c in cols), flush=True)
    totals = {c: sum(r[c] for r in rows) for c in ("expected", "got", "lost", "duplicated", "wrong",
                                                    "undelivered")}
    print(f"{len(rows)} runs, {failed} failed: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
            for r in rows:
                f.write("| " + " | ".join(str(r[c]) for c in cols) + " |\n")
    bad = failed or totals.get("lost", 0) or totals.get("wrong", 0) or totals.get("undelivered", 0)
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
