"""Python side of the boundary-crossing benchmark (scripts/bench-bindings.sh)."""

import datetime
import os
import statistics
import tempfile
import time

import qamqor
from test_bindings import Sample, iso

TODAY = datetime.date.today()


def visit(child_id):
    return qamqor.HomeVisit(
        id=qamqor.new_id(), child_id=child_id, date=iso(TODAY), examiner="bench", ground=qamqor.VisitGround.MONITORING,
        health="Сау", school="Барады", nutrition="Жеткілікті", relations="Жылы", child_opinion="Жақсы",
        neglect_signs=False, recommendations="Бақылау", next_visit=None, supersedes=None)


store = qamqor.QamqorStore.open(os.path.join(tempfile.mkdtemp(), "p.db"), bytes([1]) * 32, "bench")
child = Sample(1).child()
store.register_child(child)
store.record_visit(visit(child.id))
reads = []
for _ in range(2000):
    t = time.perf_counter()
    f = store.child_file(child.id)
    reads.append((time.perf_counter() - t) * 1e6)
assert f.visits
writes = []
for _ in range(300):
    v = visit(child.id)
    t = time.perf_counter()
    store.record_visit(v)
    writes.append((time.perf_counter() - t) * 1e6)
print(f"python child_file median_us={statistics.median(reads):.1f}")
print(f"python record_visit median_us={statistics.median(writes):.1f}")
store.close_store()
