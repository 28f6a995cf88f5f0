"""A specialist's first day: the worked example of docs/mobile.md in Python,
run against a real server on loopback. The lines between the two
"docs/mobile.md" markers are the example as printed in the doc; a test
(mobile-bindings/tests/docs.rs) checks that the doc holds them verbatim.

Run by scripts/test-bindings.sh, which sets QAMQOR_URL, QAMQOR_SERVER_BIN and
QAMQOR_DATA_DIR.
"""

import asyncio
import datetime
import os
import random
import tempfile

import qamqor
from support import URL, code_for, ensure_user, iin


# docs/mobile.md: begin
class ProgressBar(qamqor.SyncListener):
    """Draws the first sync's progress bar (called on a background thread)."""

    def __init__(self, draw):
        self.draw = draw

    def on_state(self, state):
        pass

    def on_documents_changed(self, doc_ids):
        pass

    def on_progress(self, progress):
        total = "…" if progress.docs_to_receive is None else progress.docs_to_receive
        self.draw(progress.fraction, f"{progress.docs_received} / {total}")


async def sign_in(path, key, user_id, server_url, code, save_token, bar):
    """Sign-in on a new device: open the store, enroll it, receive the district."""
    qamqor.set_error_language(qamqor.Lang.KK)          # errors in the user's language
    store = qamqor.QamqorStore.open(path, key, user_id)  # key: 32 bytes from a keyring
    enrollment = await store.enroll(server_url, code, "field laptop", None)
    save_token(enrollment.token)                        # for configure_sync later
    store.add_listener(bar)
    await store.start_sync().wait()                     # the whole district, in one sync
    return store


def record_visit(store, child_id, examiner):
    """A home visit: only what was seen; optional fields are left out."""
    store.record_visit(qamqor.HomeVisit(
        id=qamqor.new_id(), child_id=child_id, date=datetime.date.today().isoformat(), examiner=examiner,
        ground=qamqor.VisitGround.MONITORING, health="Сау", school="Мектепке барады",
        nutrition="Жеткілікті", relations="Жылы", neglect_signs=False, recommendations="Бақылау"))


async def record_risk_check(store, representative_id, examiner):
    """The annual check: the criminal-record certificate shows a prosecution."""
    today = datetime.date.today()

    def certificate(issuer):
        return qamqor.Evidence(
            document_number="№ 1024", issued_on=(today - datetime.timedelta(days=3)).isoformat(), issuer=issuer)

    store.record_check(qamqor.AnnualCheck(
        id=qamqor.new_id(), representative_id=representative_id, date=today.isoformat(), examiner=examiner,
        income=qamqor.IncomePart(
            sources=[qamqor.IncomeSource(kind=qamqor.IncomeSourceKind.EMPLOYMENT, monthly_amount_kzt=250_000)],
            household_members=3, subsistence_minimum_kzt=46_228, outcome=qamqor.CheckOutcome.SATISFACTORY,
            evidence=certificate("ЕНПФ")),
        health=qamqor.CertificatePart(outcome=qamqor.CheckOutcome.SATISFACTORY, evidence=certificate("Емхана")),
        housing=qamqor.HousingPart(
            right=qamqor.HousingRight.OWNED, kind=qamqor.HousingType.APARTMENT, area_m2=64.5, rooms=3,
            utilities=qamqor.Utilities(heating=True, water=True, sewerage=True, gas=False, electricity=True),
            sanitary_ok=True, child_space=qamqor.ChildSpace(bed=True, desk=True, clothes=True, books=True),
            outcome=qamqor.CheckOutcome.SATISFACTORY),
        criminal_record=qamqor.CertificatePart(
            outcome=qamqor.CheckOutcome.UNSATISFACTORY, evidence=certificate("ІІМ")),
        risk_factors=[qamqor.RiskFactor.CRIMINAL_PROSECUTION],
        conclusion=qamqor.CheckConclusion.REMOVAL_RECOMMENDED))
    await store.start_sync().wait()                     # the urgent file goes first


def resolve_conflicts(store, choose):
    """Two people changed one field offline: the specialist picks one of the values."""
    for conflict in store.conflicts():
        store.resolve_conflict_choice(conflict.doc_id, conflict.path, choose(conflict))


def error_text(e):
    """What the app shows for any error: the sentence, and the field to highlight."""
    info = qamqor.error_info(e)                         # code, user_message, field
    return info.user_message if info.field is None else f"{info.user_message} ({info.field})"


async def sign_out(store):
    """Sign-out: the last changes go up, then the store is closed."""
    await store.start_sync().wait()
    store.clear_listeners()
    store.close_store()
# docs/mobile.md: end


FAR = "751410000"  # a district of this test's own: the counts are exact
CASES = 2000


def child(rng):
    birth = datetime.date.today() - datetime.timedelta(days=365 * 8 + rng.randrange(300))
    return qamqor.Child(
        id=qamqor.new_id(), iin=iin(birth, False, rng), name=qamqor.FullName(family="Сейітов", given="Арман"),
        birth_date=birth.isoformat(), sex=qamqor.Sex.MALE, status=qamqor.ChildStatus.ORPHAN,
        region=qamqor.Region.ALMATY_CITY, district=FAR)


def ok(what):
    print(f"ok - {what}")


async def day():
    for user in ("py.day", "py.day.colleague"):
        ensure_user(user, "specialist", (FAR,))
    folder = tempfile.mkdtemp()
    rng = random.Random(2026)

    # The district as a colleague keeps it: 2,000 cases, one family placed.
    colleague = qamqor.QamqorStore.open(os.path.join(folder, "colleague.db"), bytes([9] * 32), "py.day.colleague")
    await colleague.enroll(URL, code_for("py.day.colleague"), "colleague", None)
    first = child(rng)
    rep = qamqor.Representative(
        id=qamqor.new_id(), iin=iin(datetime.date(1975, 6, 1), True, rng),
        name=qamqor.FullName(family="Сейітова", given="Гүлмира"), address="Төле би к-сі, 40",
        region=qamqor.Region.ALMATY_CITY, district=FAR, role=qamqor.RepresentativeRole.GUARDIAN, since="2024-03-01")
    colleague.register_child(first)
    colleague.register_representative(rep)
    colleague.place_child(qamqor.Placement(
        id=qamqor.new_id(), child_id=first.id, representative_id=rep.id, form=qamqor.PlacementForm.GUARDIANSHIP,
        kin_considered=False, start_date="2024-03-01"))
    for _ in range(CASES - 1):
        colleague.register_child(child(rng))
    await colleague.start_sync().wait()

    tokens, drawn = [], []
    store = await sign_in(os.path.join(folder, "phone.db"), bytes([4] * 32), "py.day", URL, code_for("py.day"),
                          tokens.append, ProgressBar(lambda f, label: drawn.append((f, label))))
    docs = CASES + 1  # the cases and the representative's file
    assert len(tokens) == 1 and len(tokens[0]) == 64, tokens
    assert len(store.caseload()) == CASES
    assert len(drawn) >= 8, drawn
    assert drawn[0][1] == f"250 / {docs}", drawn[0]
    assert [f for f, _ in drawn] == sorted(f for f, _ in drawn), drawn
    assert drawn[-1] == (1.0, f"{docs} / {docs}"), drawn[-1]
    ok(f"first sync of {CASES} cases in one start_sync, {len(drawn)} progress steps")

    record_visit(store, first.id, "py.day")
    assert len(store.child_file(first.id).visits) == 1
    ok("a home visit")

    await record_risk_check(store, rep.id, "py.day")
    assert any(u.kind == qamqor.UrgentKind.RISK_FACTOR for u in store.urgent_items())
    assert store.sync_summary().pending_urgent == 0
    await colleague.start_sync().wait()
    assert any(u.kind == qamqor.UrgentKind.RISK_FACTOR for u in colleague.urgent_items())
    ok("an annual check with a risk factor, sent first")

    colleague.decide_removal(qamqor.RemovalDecision(
        id=qamqor.new_id(), representative_id=rep.id, outcome=qamqor.RemovalOutcome.REMOVED,
        order=qamqor.OfficeOrder(number="412-ж", date=datetime.date.today().isoformat()),
        decided_by="py.day.colleague"))
    store.set_representative_status(rep.id, qamqor.RepresentativeStatus.SUSPENDED)
    await colleague.start_sync().wait()
    await store.start_sync().wait()
    [conflict] = store.conflicts()
    assert conflict.path == "status" and len(conflict.values) == 2, conflict
    resolve_conflicts(store, lambda c: [v.value_json for v in c.values].index('"removed"'))
    assert not store.conflicts()
    assert store.representative_file(rep.id).status == qamqor.RepresentativeStatus.REMOVED
    await store.start_sync().wait()
    await colleague.start_sync().wait()
    assert not colleague.conflicts()
    ok("a conflict resolved by choosing a listed value")

    bad = qamqor.HomeVisit(
        id=qamqor.new_id(), child_id=first.id, date="2026-13-40", examiner="py.day",
        ground=qamqor.VisitGround.MONITORING, health="", school="", nutrition="", relations="",
        neglect_signs=False, recommendations="")
    for lang, word in ((qamqor.Lang.KK, "жарамсыз"), (qamqor.Lang.RU, "недопустим")):
        qamqor.set_error_language(lang)
        try:
            store.record_visit(bad)
            raise AssertionError("an impossible date must be refused")
        except qamqor.QamqorError.Invalid as e:
            assert qamqor.error_info(e).code == "invalid" and word in error_text(e), error_text(e)
    ok("errors carry a code and a message in Kazakh and Russian")

    await sign_out(store)
    try:
        store.caseload()
        raise AssertionError("a closed store must refuse")
    except qamqor.QamqorError.Closed as e:
        assert qamqor.error_info(e) == qamqor.ErrorInfo(code="closed", user_message="хранилище закрыто", field=None)
    finally:
        qamqor.set_error_language(qamqor.Lang.EN)
    colleague.close_store()
    ok("sign-out")


if __name__ == "__main__":
    asyncio.run(day())
