"""The generated Python bindings against a real server on loopback.

Run by scripts/test-bindings.sh, which generates the `qamqor` module, starts
`qamqor-server` and sets QAMQOR_URL, QAMQOR_SERVER_BIN and QAMQOR_DATA_DIR.
"""

import asyncio
import datetime
import os
import random
import subprocess
import sys
import tempfile
import threading
import unittest

import qamqor
import support
from support import URL, admin, code_for, iin

DISTRICT = "751710000"
TODAY = datetime.date.today()


def ensure_user(user, role, districts=(DISTRICT,)):
    support.ensure_user(user, role, districts)


def iso(d):
    return d.isoformat()


class Phone:
    def __init__(self, user, role="specialist", districts=(DISTRICT,)):
        ensure_user(user, role, () if role == "mentor" else districts)
        self.dir = tempfile.mkdtemp()
        self.key = os.urandom(32)
        self.path = os.path.join(self.dir, "phone.db")
        self.store = qamqor.QamqorStore.open(self.path, self.key, user)
        asyncio.run(self.store.enroll(URL, code_for(user), f"{user} phone", None))

    def sync(self):
        return asyncio.run(self.store.start_sync().wait())


class Sample:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def name(self, given):
        return qamqor.FullName(family=self.rng.choice(["Қасымова", "Әбенова", "Иванова"]), given=given, patronymic=None)

    def child(self, district=DISTRICT):
        birth = TODAY - datetime.timedelta(days=365 * 11 + self.rng.randrange(300))
        return qamqor.Child(
            id=qamqor.new_id(), iin=iin(birth, True, self.rng), name=self.name("Әлия"), birth_date=iso(birth),
            sex=qamqor.Sex.FEMALE, status=qamqor.ChildStatus.ORPHAN, region=qamqor.Region.ALMATY_CITY,
            district=district, school="№12 мектеп")

    def representative(self):
        birth = datetime.date(1975, 3, 4)
        return qamqor.Representative(
            id=qamqor.new_id(), iin=iin(birth, True, self.rng), name=self.name("Гүлнар"), birth_date=iso(birth),
            address="Абай к-сі, 10", phone="+7 701 123 4567", region=qamqor.Region.ALMATY_CITY, district=DISTRICT,
            role=qamqor.RepresentativeRole.GUARDIAN, since="2023-01-10")

    def placement(self, child, rep, start):
        return qamqor.Placement(
            id=qamqor.new_id(), child_id=child.id, representative_id=rep.id, institution=None,
            form=qamqor.PlacementForm.GUARDIANSHIP, kin=qamqor.KinRelation.AUNT_UNCLE, kin_considered=True,
            start_date=start, end_date=None, end_reason=None)

    def recommendation(self, rep_id):
        return qamqor.RemovalRecommendation(
            id=qamqor.new_id(), representative_id=rep_id, date=iso(TODAY), grounds="the child left alone for days",
            recommended_by="py")

    def decision(self, rep_id, outcome, number="77-ж"):
        return qamqor.RemovalDecision(
            id=qamqor.new_id(), representative_id=rep_id, outcome=outcome,
            order=qamqor.OfficeOrder(number=number, date=iso(TODAY)), decided_by="py.office", note=None)

    def mentor(self, user):
        birth = datetime.date(1988, 4, 12)
        return qamqor.Mentor(
            id=qamqor.new_id(), user_id=user, iin=iin(birth, True, self.rng), name=self.name("Айгерім"), phone=None,
            region=qamqor.Region.ALMATY_CITY, district=DISTRICT, organisation="Тәлімгерлер орталығы")


class MentorDay(unittest.TestCase):
    def test_a_mentors_day(self):
        s = Sample(1)
        spec = Phone("py.spec")
        child = s.child()
        spec.store.register_child(child)
        mentor = s.mentor("py.mentor")
        spec.store.register_mentor(mentor)
        cert = qamqor.MentorCertificate(number="TM-1", issuer="Оқу-ағарту министрлігі",
                                        issued_on=iso(TODAY - datetime.timedelta(days=400)),
                                        valid_until=iso(TODAY + datetime.timedelta(days=300)))
        spec.store.add_certificate(mentor.id, cert)
        ship = qamqor.Mentorship(id=qamqor.new_id(), mentor_id=mentor.id, child_id=child.id, contract_ref="T-7",
                                 start_date=iso(TODAY - datetime.timedelta(days=100)), end_date=None)
        spec.store.start_mentorship(ship)
        spec.sync()

        m = Phone("py.mentor", role="mentor")
        # Enrolled as a mentor, the store refuses casework locally.
        with self.assertRaises(qamqor.QamqorError.Rule) as refused:
            m.store.register_child(s.child())
        self.assertIn("mentor", str(refused.exception))
        m.sync()
        mentees = m.store.mentees(mentor.id)
        self.assertEqual([x.child_id for x in mentees], [child.id])
        f = m.store.mentor_file(mentor.id)
        self.assertIsNotNone(f.valid_certificate)
        for days in (30, 14, 2):
            m.store.log_meeting(qamqor.Meeting(
                id=qamqor.new_id(), mentorship_id=ship.id, date=iso(TODAY - datetime.timedelta(days=days)),
                duration_minutes=45, mode=qamqor.MeetingMode.IN_PERSON, topics=["Сабақ", "Спорт"], notes=None,
                supersedes=None))
        report = m.sync()
        self.assertEqual(report.refused, [])
        spec.sync()
        self.assertEqual(len(spec.store.meetings(mentor.id)), 3)
        # The mentor never holds the child's case.
        with self.assertRaises(qamqor.QamqorError.NotFound):
            m.store.child_file(child.id)

    def test_a_second_specialists_conflicting_edit(self):
        s = Sample(2)
        a = Phone("py.spec.a")
        b = Phone("py.spec.b")
        rep = s.representative()
        a.store.register_representative(rep)
        a.sync()
        b.sync()
        a.store.set_representative_status(rep.id, qamqor.RepresentativeStatus.SUSPENDED)
        b.store.recommend_removal(s.recommendation(rep.id))
        b.store.decide_removal(s.decision(rep.id, qamqor.RemovalOutcome.REMOVED))
        a.sync()
        b.sync()
        a.sync()
        for phone in (a, b):
            conflicts = [c for c in phone.store.conflicts() if c.path == "status"]
            self.assertEqual(len(conflicts), 1)
            authors = sorted(v.author for v in conflicts[0].values)
            self.assertEqual(authors, ["py.spec.a", "py.spec.b"])
        c = [c for c in a.store.conflicts() if c.path == "status"][0]
        removed = [i for i, v in enumerate(c.values) if v.value_json == '"removed"'][0]
        with self.assertRaises(qamqor.QamqorError.Invalid):
            a.store.resolve_conflict_choice(c.doc_id, c.path, 7)
        a.store.resolve_conflict_choice(c.doc_id, c.path, removed)
        a.sync()
        b.sync()
        self.assertFalse([c for c in b.store.conflicts() if c.path == "status"])
        self.assertEqual(b.store.representative_file(rep.id).status, qamqor.RepresentativeStatus.REMOVED)


class OneChildOneFile(unittest.TestCase):
    """Issue 13 through the bindings: the review list, a merge, an undo."""

    def test_two_phones_register_one_child_then_merge_and_undo(self):
        s = Sample(13)
        a = Phone("py.dup.a")
        b = Phone("py.dup.b")
        child = s.child()
        twin = qamqor.Child(
            id=qamqor.new_id(), iin=child.iin, name=child.name, birth_date=child.birth_date, sex=child.sex,
            status=child.status, region=child.region, district=child.district, school="№5 гимназия")
        a.store.register_child(child)
        b.store.register_child(twin)
        a.sync()
        b.sync()
        a.sync()
        x, y = "case:" + child.id, "case:" + twin.id
        for phone in (a, b):
            pairs = [p for p in phone.store.duplicates() if {p.first, p.second} == {x, y}]
            self.assertEqual(len(pairs), 1)
            self.assertEqual(pairs[0].reason, qamqor.DuplicateReason.SAME_IIN)
        preview = a.store.merge_preview(x, y)
        self.assertEqual([(f.path, f.absorbed_json) for f in preview], [("school", '"№5 гимназия"')])
        a.store.merge_files(x, y, ["school"])
        a.sync()
        b.sync()
        self.assertEqual(b.store.resolve_file(y), x)
        merged = b.store.child_file(twin.id)
        self.assertEqual(merged.child.id, child.id)
        self.assertEqual(merged.child.school, "№5 гимназия")
        self.assertFalse([p for p in b.store.duplicates() if {p.first, p.second} == {x, y}])
        # A merge of two people is undone by a person; the pair stays quiet.
        b.store.undo_merge(x, y)
        b.sync()
        a.sync()
        self.assertEqual(a.store.resolve_file(y), y)
        self.assertEqual(a.store.child_file(child.id).child.school, child.school)
        self.assertEqual(a.store.child_file(twin.id).child.id, twin.id)
        self.assertFalse([p for p in a.store.duplicates() if {p.first, p.second} == {x, y}])
        with self.assertRaises(qamqor.QamqorError.Rule):
            a.store.undo_merge(x, y)
        with self.assertRaises(qamqor.QamqorError.Invalid):
            a.store.merge_files(x, "rep:" + child.id, [])


class EasyRecords(unittest.TestCase):
    """Issue 15: a record built with only its required fields."""

    def test_optional_fields_default_to_none_and_lists_to_empty(self):
        s = Sample(15)
        a = Phone("py.easy")
        birth = TODAY - datetime.timedelta(days=365 * 9)
        child = qamqor.Child(
            id=qamqor.new_id(), iin=iin(birth, False, s.rng),
            name=qamqor.FullName(family="Сейтов", given="Арман"), birth_date=iso(birth),
            sex=qamqor.Sex.MALE, status=qamqor.ChildStatus.ORPHAN, region=qamqor.Region.ALMATY_CITY, district=DISTRICT)
        self.assertIsNone(child.school)
        self.assertIsNone(child.name.patronymic)
        a.store.register_child(child)
        rep = s.representative()
        a.store.register_representative(rep)
        placement = qamqor.Placement(
            id=qamqor.new_id(), child_id=child.id, representative_id=rep.id, form=qamqor.PlacementForm.GUARDIANSHIP,
            kin_considered=False, start_date=iso(TODAY))
        a.store.place_child(placement)
        self.assertEqual(a.store.child_file(child.id).current_placement.form, qamqor.PlacementForm.GUARDIANSHIP)


class Progress(qamqor.SyncListener):
    """Records what a sync tells its listener."""

    def __init__(self):
        self.events = []
        self.states = []

    def on_state(self, state):
        self.states.append(state)

    def on_documents_changed(self, doc_ids):
        pass

    def on_progress(self, progress):
        self.events.append(progress)


class FirstSync(unittest.TestCase):
    """Issue 15: a district of 2,000 cases goes up and reaches a new phone,
    each in one start_sync, told how far it has gone."""

    FAR = "752210000"  # a district of its own: the counts are exact

    def assert_grows(self, events, field):
        values = [getattr(e, field) for e in events]
        self.assertEqual(values, sorted(values), field)

    def test_a_district_of_2000_cases_in_one_start_sync_with_progress(self):
        s = Sample(2000)
        a = Phone("py.first.a", districts=(self.FAR,))
        for _ in range(2000):
            a.store.register_child(s.child(self.FAR))
        up = Progress()
        a.store.add_listener(up)
        report = a.sync()
        self.assertEqual(len(up.events), report.rounds)
        self.assertGreaterEqual(report.rounds, 8)  # 250 documents a request
        self.assertTrue(all(e.docs_to_send == 2000 for e in up.events), up.events[:2])
        self.assert_grows(up.events, "docs_sent")
        self.assert_grows(up.events, "fraction")
        self.assertEqual((up.events[-1].docs_sent, up.events[-1].fraction), (2000, 1.0))
        self.assertTrue(up.states[-1].is_synced())

        b = Phone("py.first.b", districts=(self.FAR,))
        down = Progress()
        b.store.add_listener(down)
        report = b.sync()
        self.assertEqual(len(down.events), report.rounds)
        self.assertGreaterEqual(report.rounds, 8)
        first, last = down.events[0], down.events[-1]
        # Told the total from the first response on, for a determinate bar.
        self.assertEqual((first.docs_received, first.docs_to_receive), (250, 2000))
        self.assert_grows(down.events, "docs_received")
        self.assert_grows(down.events, "fraction")
        self.assertEqual((last.docs_received, last.docs_to_receive, last.fraction), (2000, 2000, 1.0))
        self.assertEqual(len(b.store.caseload()), 2000)


class Attachments(unittest.TestCase):
    """Issue 14 through the bindings: a check's scan goes up, a colleague fetches it."""

    def test_a_scan_attached_to_a_check(self):
        s = Sample(14)
        a = Phone("py.att.a")
        b = Phone("py.att.b")
        m = Phone("py.att.m", role="mentor")
        rep = s.representative()
        a.store.register_representative(rep)
        check = qamqor.AnnualCheck(
            id=qamqor.new_id(), representative_id=rep.id, date=iso(TODAY), examiner="py",
            income=qamqor.IncomePart(
                sources=[qamqor.IncomeSource(kind=qamqor.IncomeSourceKind.EMPLOYMENT, monthly_amount_kzt=250000)],
                household_members=2, members=[], subsistence_minimum_kzt=46228,
                outcome=qamqor.CheckOutcome.NOT_PROVIDED, evidence=None),
            health=qamqor.CertificatePart(outcome=qamqor.CheckOutcome.NOT_PROVIDED, evidence=None),
            housing=qamqor.HousingPart(
                right=qamqor.HousingRight.OWNED, kind=qamqor.HousingType.APARTMENT, area_m2=54.0, rooms=2,
                utilities=qamqor.Utilities(heating=True, water=True, sewerage=True, gas=False, electricity=True),
                sanitary_ok=True, hazards=None,
                child_space=qamqor.ChildSpace(bed=True, desk=True, clothes=True, books=True),
                outcome=qamqor.CheckOutcome.SATISFACTORY, evidence=None),
            criminal_record=qamqor.CertificatePart(outcome=qamqor.CheckOutcome.NOT_PROVIDED, evidence=None),
            risk_factors=[], conclusion=qamqor.CheckConclusion.SUITABLE, notes=None, supersedes=None)
        a.store.record_check(check)
        doc = "rep:" + rep.id
        scan = b"%PDF-1.7\n" + bytes(i % 251 for i in range(600000))
        path = os.path.join(a.dir, "scan.pdf")
        with open(path, "wb") as f:
            f.write(scan)
        att = a.store.attach_file(doc, "checks", check.id, path, "income certificate")
        self.assertEqual(att.media_type, "application/pdf")
        self.assertEqual(att.state, qamqor.AttachmentState.QUEUED())
        a.sync()
        seen = []

        class Listener(qamqor.AttachmentListener):
            def on_progress(self, hash, sent, total):
                seen.append((sent, total))

        report = asyncio.run(a.store.send_attachments(Listener()))
        self.assertEqual(report.files_sent, 1)
        self.assertEqual(seen[-1], (len(scan), len(scan)))
        self.assertEqual(a.store.attachments(doc)[0].state, qamqor.AttachmentState.SENT())
        b.sync()
        self.assertEqual(b.store.attachments(doc)[0].state, qamqor.AttachmentState.REMOTE())
        self.assertEqual(asyncio.run(b.store.fetch_attachment(att.hash)), scan)
        with self.assertRaises(qamqor.QamqorError.Server):
            asyncio.run(m.store.fetch_attachment(att.hash))


class Casework(unittest.TestCase):
    """Issue 9 through the bindings: the removal workflow and corrections."""

    def reasons(self, phone):
        return [(u.doc_id, u.kind) for u in phone.store.urgent_items()]

    def test_the_removal_chain_across_two_phones(self):
        s = Sample(9)
        a = Phone("py.spec.r")
        office = Phone("py.office")
        child, rep = s.child(), s.representative()
        a.store.register_child(child)
        a.store.register_representative(rep)
        placement = s.placement(child, rep, "2023-02-01")
        a.store.place_child(placement)
        case = f"case:{child.id}"
        # A guardian under prosecution: the child is urgent on the caseload.
        a.store.report_risk(qamqor.RiskReport(
            id=qamqor.new_id(), representative_id=rep.id, date=iso(TODAY), reported_by="py.spec.r",
            factor=qamqor.RiskFactor.CRIMINAL_PROSECUTION, source="Police letter 12/445", supersedes=None))
        self.assertTrue(a.store.caseload()[0].urgent)
        self.assertIn((case, qamqor.UrgentKind.REPRESENTATIVE_AT_RISK), self.reasons(a))
        self.assertTrue(a.store.children_in_care(rep.id)[0].urgent)
        # No other child is placed with them.
        other = s.child()
        a.store.register_child(other)
        with self.assertRaises(qamqor.QamqorError.Rule):
            a.store.place_child(s.placement(other, rep, "2024-01-10"))
        # Removal is the office's decision, by an order, on another phone.
        with self.assertRaises(qamqor.QamqorError.Rule) as e:
            a.store.set_representative_status(rep.id, qamqor.RepresentativeStatus.REMOVED)
        self.assertIn("order", str(e.exception))
        a.sync()
        office.sync()
        decision = s.decision(rep.id, qamqor.RemovalOutcome.REMOVED, number="412-ж")
        office.store.decide_removal(decision)
        office.sync()
        a.sync()
        self.assertIn((case, qamqor.UrgentKind.PLACEMENT_TO_END), self.reasons(a))
        # The placement ends by the same order; the child waits to be placed.
        a.store.end_placement(qamqor.PlacementEnding(
            id=qamqor.new_id(), child_id=child.id, placement_id=placement.id, end_date=iso(TODAY),
            reason=qamqor.PlacementEndReason.REPRESENTATIVE_REMOVED, order=decision.order, recorded_by="py.spec.r",
            note=None))
        self.assertIn((case, qamqor.UrgentKind.CHILD_TO_PLACE), self.reasons(a))
        new_rep = s.representative()
        a.store.register_representative(new_rep)
        a.store.place_child(s.placement(child, new_rep, iso(TODAY)))
        self.assertEqual([r for r in self.reasons(a) if r[0] == case], [])
        a.sync()
        office.sync()
        for phone in (a, office):
            f = phone.store.representative_file(rep.id)
            self.assertEqual(f.status, qamqor.RepresentativeStatus.REMOVED)
            self.assertEqual([x.decided.order.number for x in f.removal_history if x.decided], ["412-ж"])
            c = phone.store.child_file(child.id)
            self.assertEqual([e.order.number for e in c.endings], ["412-ж"])
            self.assertEqual(c.current_placement.representative_id, new_rep.id)
        # Opening the files on the phone reaches the server's audit.
        a.sync()
        rc, out, err = admin("audit", "--limit", "500")
        self.assertEqual(rc, 0, err)
        self.assertIn(f'"doc_id": "case:{child.id}",\n    "action": "read_on_phone"', out)

    def test_a_flag_cleared_on_one_phone_clears_on_another(self):
        s = Sample(10)
        a, b = Phone("py.spec.f1"), Phone("py.spec.f2")
        child, rep = s.child(), s.representative()
        a.store.register_child(child)
        a.store.register_representative(rep)
        a.store.place_child(s.placement(child, rep, "2023-02-01"))
        a.store.report_risk(qamqor.RiskReport(
            id=qamqor.new_id(), representative_id=rep.id, date=iso(TODAY), reported_by="py.spec.f1",
            factor=qamqor.RiskFactor.NARCOLOGICAL_REGISTRATION, source="Dispensary letter 7", supersedes=None))
        a.sync()
        b.sync()
        with self.assertRaises(qamqor.QamqorError.Invalid):
            b.store.clear_risk(qamqor.RiskClearance(
                id=qamqor.new_id(), representative_id=rep.id, date=iso(TODAY),
                factor=qamqor.RiskFactor.NARCOLOGICAL_REGISTRATION, reason="no", cleared_by="py.spec.f2"))
        b.store.clear_risk(qamqor.RiskClearance(
            id=qamqor.new_id(), representative_id=rep.id, date=iso(TODAY),
            factor=qamqor.RiskFactor.NARCOLOGICAL_REGISTRATION, reason="The letter was about a namesake",
            cleared_by="py.spec.f2"))
        b.sync()
        a.sync()
        f = a.store.representative_file(rep.id)
        self.assertEqual(f.risk_factors, [])
        self.assertFalse(f.urgent)
        self.assertEqual(len(f.risk_reports), 1)
        self.assertEqual([x.cleared.cleared_by for x in f.removal_history if x.cleared], ["py.spec.f2"])

    def test_a_placement_corrected_and_a_latin_search(self):
        s = Sample(11)
        store = qamqor.QamqorStore.open(os.path.join(tempfile.mkdtemp(), "p.db"), os.urandom(32), "u")
        child, rep = s.child(), s.representative()
        child.name = qamqor.FullName(family="Сейітқызы", given="Нұрсұлу", patronymic=None)
        store.register_child(child)
        store.register_representative(rep)
        placement = s.placement(child, rep, "2023-02-01")
        store.place_child(placement)
        self.assertEqual([h.doc_id for h in store.search("Nur", 10)], [f"case:{child.id}"])
        correction = qamqor.PlacementCorrection(
            id=qamqor.new_id(), child_id=child.id, placement_id=placement.id, date=iso(TODAY),
            corrected=qamqor.PlacementFacts(start_date="2023-02-15", kin=qamqor.KinRelation.GRANDPARENT,
                                            kin_considered=True),
            previous=None, reason="the order names the grandmother", corrected_by="u")
        store.correct_placement(correction)
        f = store.child_file(child.id)
        self.assertEqual((f.current_placement.start_date, f.current_placement.kin),
                         ("2023-02-15", qamqor.KinRelation.GRANDPARENT))
        self.assertEqual(f.corrections[0].previous.start_date, "2023-02-01")
        with self.assertRaises(qamqor.QamqorError.Rule):
            store.correct_placement(correction)  # changes nothing now
        store.close_store()


class BadInput(unittest.TestCase):
    def test_invalid_iin(self):
        with self.assertRaises(qamqor.QamqorError.Invalid) as e:
            qamqor.validate_iin("791028302729")
        self.assertIn("check digit", str(e.exception))
        d = tempfile.mkdtemp()
        store = qamqor.QamqorStore.open(os.path.join(d, "p.db"), os.urandom(32), "u")
        child = Sample(3).child()
        child.iin = "791028302729"
        with self.assertRaises(qamqor.QamqorError.Invalid) as e:
            store.register_child(child)
        self.assertEqual(e.exception.field, "iin")
        self.assertNotIn("791028302729", str(e.exception))
        self.assertEqual(store.caseload(), [])
        store.close_store()

    def test_a_fixed_today(self):
        d = tempfile.mkdtemp()
        store = qamqor.QamqorStore.open_on(os.path.join(d, "p.db"), os.urandom(32), "u", "2026-01-15")
        self.assertEqual(store.today(), "2026-01-15")
        child = Sample(5).child()
        child.birth_date = "2026-01-10"
        child.iin = iin(datetime.date(2026, 1, 10), True, random.Random(5))
        store.register_child(child)  # five days old on that day
        child2 = Sample(6).child()
        child2.birth_date = "2026-02-01"
        child2.iin = iin(datetime.date(2026, 2, 1), True, random.Random(6))
        with self.assertRaises(qamqor.QamqorError.Invalid):
            store.register_child(child2)  # not born yet on that day
        store.close_store()

    def test_expired_certificate(self):
        s = Sample(4)
        d = tempfile.mkdtemp()
        store = qamqor.QamqorStore.open(os.path.join(d, "p.db"), os.urandom(32), "u")
        child = s.child()
        store.register_child(child)
        mentor = s.mentor("m")
        store.register_mentor(mentor)
        store.add_certificate(mentor.id, qamqor.MentorCertificate(
            number="TM-OLD", issuer="x", issued_on="2022-01-01", valid_until="2024-01-01"))
        ship = qamqor.Mentorship(id=qamqor.new_id(), mentor_id=mentor.id, child_id=child.id, contract_ref="T",
                                 start_date="2023-01-01", end_date=None)
        store.start_mentorship(ship)
        meeting = qamqor.Meeting(id=qamqor.new_id(), mentorship_id=ship.id, date=iso(TODAY), duration_minutes=30,
                                 mode=qamqor.MeetingMode.REMOTE, topics=[], notes=None, supersedes=None)
        with self.assertRaises(qamqor.QamqorError.Rule) as e:
            store.log_meeting(meeting)
        self.assertIn("certificate", str(e.exception))
        self.assertIsNone(store.mentor_file(mentor.id).valid_certificate)
        store.close_store()

    def test_wrong_key_and_double_open(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "p.db")
        store = qamqor.QamqorStore.open(path, b"k" * 32, "u")
        with self.assertRaises(qamqor.QamqorError.AlreadyOpen):
            qamqor.QamqorStore.open(path, b"k" * 32, "u")
        store.close_store()
        with self.assertRaises(qamqor.QamqorError.WrongKey):
            qamqor.QamqorStore.open(path, b"x" * 32, "u")
        with self.assertRaises(qamqor.QamqorError.Invalid):
            qamqor.QamqorStore.open(path, b"short", "u")

    def test_errors_carry_a_code_and_a_message_in_the_apps_language(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "p.db")
        store = qamqor.QamqorStore.open(path, b"k" * 32, "u")
        messages = {}
        try:
            for lang in (qamqor.Lang.KK, qamqor.Lang.RU, qamqor.Lang.EN):
                qamqor.set_error_language(lang)
                with self.assertRaises(qamqor.QamqorError.AlreadyOpen) as e:
                    qamqor.QamqorStore.open(path, b"k" * 32, "u")
                self.assertEqual(e.exception.code, "already_open")
                messages[lang] = e.exception.user_message
            self.assertIn("ашық", messages[qamqor.Lang.KK])
            self.assertIn("уже открыто", messages[qamqor.Lang.RU])
            self.assertIn("already open", messages[qamqor.Lang.EN])
            store.close_store()
            qamqor.set_error_language(qamqor.Lang.RU)
            with self.assertRaises(qamqor.QamqorError.WrongKey) as e:
                qamqor.QamqorStore.open(path, b"x" * 32, "u")
            self.assertEqual(e.exception.code, "wrong_key")
            self.assertTrue(e.exception.user_message.startswith("ключ не открывает"))
            self.assertTrue(str(e.exception))
            with self.assertRaises(qamqor.QamqorError.Invalid) as e:
                qamqor.validate_iin("791028302729")
            self.assertEqual(e.exception.code, "invalid")
            self.assertIn("недопустимое значение поля", e.exception.user_message)
        finally:
            qamqor.set_error_language(qamqor.Lang.EN)


class Concurrency(unittest.TestCase):
    def test_threads_and_coroutines(self):
        s = Sample(5)
        phone = Phone("py.spec.c")
        errors = []

        def worker(n):
            try:
                local = Sample(100 + n)
                for _ in range(10):
                    phone.store.register_child(local.child())
                    phone.store.caseload()
                    phone.store.search("әлия", 20)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(phone.store.caseload()), 40)

        async def many():
            handles = [phone.store.start_sync() for _ in range(3)]
            return await asyncio.gather(*(h.wait() for h in handles))

        reports = asyncio.run(many())
        self.assertEqual(len(reports), 3)
        self.assertEqual(phone.store.sync_summary().pending, 0)
        del s

    def test_process_exits_cleanly_after_a_failed_async_call(self):
        code = (
            "import asyncio, os, tempfile, qamqor\n"
            "s = qamqor.QamqorStore.open(os.path.join(tempfile.mkdtemp(), 'p.db'), os.urandom(32), 'u')\n"
            "s.configure_sync('http://127.0.0.1:9', '00' * 32, None)\n"
            "try:\n"
            "    asyncio.run(s.start_sync().wait())\n"
            "except qamqor.QamqorError.Network as e:\n"
            "    print('network error as expected')\n"
            "s.close_store()\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("network error as expected", out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
