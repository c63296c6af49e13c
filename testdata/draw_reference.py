#!/usr/bin/env python3
"""An independent implementation of docs/DRAW.md §2-§3, written from the document alone, that
prints the draw of a small fixed population. `verifier::draw`'s test compares against its output
(testdata/draw_reference.txt): run `python3 testdata/draw_reference.py > testdata/draw_reference.txt`."""
import hashlib, struct

class Stream:
    def __init__(self, seed):
        self.seed, self.block, self.words = seed, 0, []
    def next_u64(self):
        if not self.words:
            b = hashlib.sha256(self.seed + struct.pack(">Q", self.block)).digest()
            self.words = [struct.unpack(">Q", b[i:i + 8])[0] for i in range(0, 32, 8)]
            self.block += 1
        return self.words.pop(0)
    def below(self, n):
        limit = 2**64 - 1 - (2**64 % n)
        while True:
            w = self.next_u64()
            if w <= limit:
                return w % n

def fisher_yates(st, p, k):
    for i in range(min(k, len(p))):
        j = i + st.below(len(p) - i)
        p[i], p[j] = p[j], p[i]

def draw(seed, classes, min_high, per_firm, firms, inspectors):
    st = Stream(seed)
    order = sorted(firms, key=lambda f: f["uscc"].encode())
    drawn, high_left, high = [], [], 0
    for (cls, pm, is_high, needs_trigger) in classes:
        p = [f for f in order if f["class"] == cls and not f["excluded"] and (f["trigger"] or not needs_trigger)]
        k = (len(p) * pm + 500) // 1000
        fisher_yates(st, p, k)
        drawn += p[:k]
        if is_high:
            high += k
            high_left += p[k:]
    total = len(drawn)
    if high * 1000 < min_high * total:
        need = len(high_left) if min_high == 1000 else -(-(min_high * total - high * 1000) // (1000 - min_high))
        high_left.sort(key=lambda f: f["uscc"].encode())
        x = min(need, len(high_left))
        fisher_yates(st, high_left, x)
        drawn += high_left[:x]
    pool = sorted(inspectors, key=lambda i: i["id"].encode())
    out = []
    for f in drawn:
        q = [i["id"] for i in pool if f["uscc"] not in i["conflicts"]]
        fisher_yates(st, q, per_firm)
        out.append((f["uscc"], f["class"], q[:per_firm]))
    return out

# The fixed population (the Rust test builds the same one).
firms = []
for n in range(60):
    firms.append({"uscc": "9137030%011d" % ((n * 7919) % 100000), "class": "ABCDX"[n % 5],
                  "trigger": n % 3 == 0, "excluded": n % 11 == 4})
inspectors = [{"id": "insp-%d" % i, "conflicts": {"9137030%011d" % ((k * 7919) % 100000) for k in range(60) if (k + i) % 4 == 0}}
              for i in range(6)]
classes = [("A", 50, False, True), ("B", 100, False, False), ("C", 300, True, False), ("D", 700, True, False)]
for (u, c, ins) in draw(bytes([5]) * 32, classes, 950, 2, firms, inspectors):
    print(u, c, ",".join(ins))
