// A specialist's day through the generated Kotlin bindings (the same code an
// Android app uses), against a real qamqor-server on loopback.
// Run by scripts/test-bindings.sh.

import java.io.File
import java.time.LocalDate
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlin.random.Random
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import uniffi.qamqor.*

const val DISTRICT = "751710000"
val today: LocalDate = LocalDate.now()
var passed = 0
var failed = 0

suspend fun test(name: String, body: suspend () -> Unit) {
    try {
        body()
        passed++
        println("ok - $name")
    } catch (e: Throwable) {
        failed++
        println("FAILED - $name: $e")
        e.printStackTrace()
    }
}

fun child(rng: Random): Child {
    val birth = today.minusDays(365L * 9 + rng.nextInt(300))
    return Child(newId(), iin(birth, false, rng), FullName("Қасымов", "Нұрсұлтан", null), birth.toString(),
        Sex.MALE, ChildStatus.LEFT_WITHOUT_CARE, Region.ALMATY_CITY, DISTRICT, "№5 мектеп")
}

fun representative(rng: Random): Representative {
    val birth = LocalDate.of(1972, 5, 20)
    return Representative(newId(), iin(birth, true, rng), FullName("Қасымова", "Сәуле", null), birth.toString(),
        "Абай к-сі, 5", "+7 701 555 0101", Region.ALMATY_CITY, DISTRICT, RepresentativeRole.GUARDIAN, "2023-02-01")
}

fun evidence(issuer: String) = Evidence("DOC-" + Random.nextInt(100000), today.minusDays(5).toString(), issuer, null)

fun household(rep: Representative, c: Child) = listOf(
    HouseholdMember(rep.name, HouseholdRelation.REPRESENTATIVE, rep.birthDate!!, rep.iin),
    HouseholdMember(FullName("Қасымов", "Ерлан", null), HouseholdRelation.SPOUSE, "1970-03-02", null),
    HouseholdMember(c.name, HouseholdRelation.CHILD_IN_CARE, c.birthDate, c.iin))

fun riskCheck(rep: Representative, c: Child) = AnnualCheck(
    newId(), rep.id, today.toString(), "kt.spec",
    IncomePart(listOf(IncomeSource(IncomeSourceKind.EMPLOYMENT, 250000L)), 3u, household(rep, c), 46228L,
        CheckOutcome.SATISFACTORY, evidence("ЕНПФ")),
    CertificatePart(CheckOutcome.SATISFACTORY, evidence("Емхана")),
    HousingPart(HousingRight.OWNED, HousingType.APARTMENT, 64.5, 3u, Utilities(true, true, true, false, true), true, null,
        ChildSpace(true, true, true, true), CheckOutcome.SATISFACTORY, null),
    CertificatePart(CheckOutcome.UNSATISFACTORY, evidence("ІІМ")),
    listOf(RiskFactor.CRIMINAL_PROSECUTION), CheckConclusion.REMOVAL_RECOMMENDED, null, null)

fun visit(c: Child, daysAgo: Long) = HomeVisit(newId(), c.id, today.minusDays(daysAgo).toString(), "kt.spec", VisitGround.MONITORING,
    "Сау", "Мектепке барады", "Жеткілікті", "Жылы", "Осында тұрғым келеді", false, "Бақылау", null, null)

class Recorder : SyncListener {
    val states: MutableList<SyncState> = Collections.synchronizedList(mutableListOf())
    val changed = AtomicInteger(0)
    override fun onState(state: SyncState) { states.add(state) }
    override fun onDocumentsChanged(docIds: List<String>) { changed.addAndGet(docIds.size) }
    override fun onProgress(progress: SyncProgress) {}
}

fun main() = runBlocking {
    admin("user", "add", "kt.spec", "--name", "KT", "--role", "specialist", "--district", DISTRICT)
    admin("user", "add", "kt.spec2", "--name", "KT2", "--role", "specialist", "--district", DISTRICT)
    val dir = File.createTempFile("qamqor", "").let { it.delete(); it.mkdirs(); it }
    val key = ByteArray(32) { (it * 7).toByte() }
    val store = QamqorStore.open(File(dir, "phone.db").path, key, "kt.spec")
    val rng = Random(7)

    test("the store is encrypted: a wrong key is refused, the file holds no plaintext") {
        val c = child(rng)
        store.registerChild(c)
        try {
            QamqorStore.open(File(dir, "phone.db").path, key, "kt.spec")
            check(false, "a second open must fail")
        } catch (e: QamqorException.AlreadyOpen) {
            check(e.code == "already_open" && e.userMessage.contains("already open"), "code and message: ${e.userMessage}")
        }
        setErrorLanguage(Lang.KK)
        try {
            QamqorStore.open(File(dir, "phone.db").path, key, "kt.spec")
        } catch (e: QamqorException.AlreadyOpen) {
            check(e.userMessage.contains("ашық"), "the message in Kazakh: ${e.userMessage}")
        } finally {
            setErrorLanguage(Lang.EN)
        }
        val other = QamqorStore.open(File(dir, "other.db").path, key, "kt.spec")
        other.closeStore()
        try {
            QamqorStore.open(File(dir, "other.db").path, ByteArray(32), "kt.spec")
            check(false, "a wrong key must fail")
        } catch (e: QamqorException.WrongKey) {}
        val bytes = File(dir, "phone.db").readBytes() + (File(dir, "phone.db-wal").takeIf { it.exists() }?.readBytes() ?: ByteArray(0))
        check(!String(bytes, Charsets.ISO_8859_1).contains(c.iin), "IIN in plaintext")
    }

    val recorder = Recorder()
    store.addListener(recorder)
    check(recorder.states.first() == SyncState.Idle, "the listener gets the current state first")

    test("a visit and a check with a risk factor, synced: the urgent item is acknowledged first") {
        val c = child(rng)
        val rep = representative(rng)
        store.registerChild(c)
        store.registerRepresentative(rep)
        store.placeChild(Placement(newId(), c.id, rep.id, null, PlacementForm.GUARDIANSHIP, KinRelation.AUNT_UNCLE, true,
            "2023-02-01", null, null))
        store.recordVisit(visit(c, 1))
        check(store.recordCheck(riskCheck(rep, c)).isEmpty(), "no warnings: every IIN agrees")
        val members = store.representativeFile(rep.id).checks.first().income.members
        check(members.map { it.relation } == listOf(HouseholdRelation.REPRESENTATIVE, HouseholdRelation.SPOUSE,
            HouseholdRelation.CHILD_IN_CARE), "the household's members are kept: $members")
        val urgent = store.urgentItems()
        check(urgent.any { it.kind == UrgentKind.RISK_FACTOR && it.riskFactor == RiskFactor.CRIMINAL_PROSECUTION }, "urgent risk")
        check(store.documentSyncStates().first().urgent, "urgent documents first in the status list")
        store.enroll(url, codeFor("kt.spec"), "Kotlin phone", null)
        val report = store.startSync().wait()
        check(report.refused.isEmpty(), "nothing refused: ${report.refused}")
        check(store.syncSummary().pendingUrgent == 0uL, "urgent item acknowledged")
        check(store.documentSyncStates().all { it.kind == DocSyncKind.SYNCED }, "all synced")
        check(recorder.states.contains(SyncState.Syncing), "listener saw Syncing")
        check(recorder.states.last() is SyncState.Synced, "listener saw Synced")
    }

    test("changes from another phone arrive and the listener is told") {
        val other = QamqorStore.open(File(dir, "second.db").path, ByteArray(32) { 3 }, "kt.spec2")
        runBlocking {
            other.enroll(url, codeFor("kt.spec2"), "second", null)
            other.startSync().wait()
        }
        val c = other.caseload().first()
        other.recordVisit(visit(other.childFile(c.childId).child, 3))
        runBlocking { other.startSync().wait() }
        val before = recorder.changed.get()
        runBlocking { store.startSync().wait() }
        check(recorder.changed.get() > before, "documentsChanged was called")
        check(store.childFile(c.childId).visits.size >= 1, "the visit arrived")
        other.closeStore()
    }

    test("a photo attached to a visit goes up with progress; a colleague fetches it") {
        val c = store.caseload().first()
        val v = visit(store.childFile(c.childId).child, 0)
        store.recordVisit(v)
        val photo = byteArrayOf(0xFF.toByte(), 0xD8.toByte(), 0xFF.toByte(), 0xE0.toByte()) + ByteArray(700_000) { (it % 251).toByte() }
        val docId = "case:" + c.childId
        val a = store.attachBytes(docId, "visits", v.id, photo, "the child's room")
        check(a.mediaType == "image/jpeg" && a.state == AttachmentState.Queued, "queued: $a")
        runBlocking { store.startSync().wait() }
        val progress = Collections.synchronizedList(mutableListOf<Long>())
        val sent = store.sendAttachments(object : AttachmentListener {
            override fun onProgress(hash: String, sent: ULong, total: ULong) { progress.add(sent.toLong()) }
        })
        check(sent.filesSent == 1u, "sent: $sent")
        check(progress.size >= 3 && progress.last() == photo.size.toLong(), "progress per chunk: $progress")
        check(store.attachments(docId).single().state == AttachmentState.Sent, "sent state")
        val other = QamqorStore.open(File(dir, "third.db").path, ByteArray(32) { 5 }, "kt.spec2")
        other.enroll(url, codeFor("kt.spec2"), "third", null)
        other.startSync().wait()
        val remote = other.attachments(docId).single()
        check(remote.state == AttachmentState.Remote && !remote.onPhone, "remote: $remote")
        check(other.fetchAttachment(a.hash).contentEquals(photo), "fetched the same bytes")
        check(other.attachments(docId).single().onPhone, "kept after fetching")
        try {
            store.attachBytes(docId, "visits", v.id, "GIF89a....".toByteArray(), null)
            check(false, "a GIF must be refused")
        } catch (e: QamqorException.Invalid) {}
        other.closeStore()
    }

    test("a sync cancelled mid-way resumes and finishes") {
        repeat(300) { store.registerChild(child(rng)) }
        val handle = store.startSync()
        delay(5)
        handle.cancel()
        var cancelled = false
        try {
            handle.wait()
        } catch (e: QamqorException.Cancelled) {
            cancelled = true
        }
        val pending = store.syncSummary().pending
        check(cancelled, "the sync was cancelled")
        check(pending > 0uL, "cancelled mid-way: documents still pending")
        check(store.syncState() == SyncState.Idle, "Idle after cancel")
        val report = store.startSync().wait()
        check(report.refused.isEmpty(), "nothing refused")
        check(store.syncSummary().pending == 0uL, "everything synced after resuming (was $pending pending)")
    }

    test("offline is explicit") {
        store.setOnline(false)
        check(store.syncState() == SyncState.Offline, "Offline state")
        try {
            store.startSync()
            check(false, "no sync while offline")
        } catch (e: QamqorException.Network) {}
        store.setOnline(true)
        check(store.syncState() == SyncState.Idle, "back to Idle")
    }

    test("concurrent coroutines and threads") {
        runBlocking {
            val jobs = (0 until 8).map { n ->
                async(kotlinx.coroutines.Dispatchers.Default) {
                    val r = Random(100 + n)
                    repeat(5) { store.registerChild(child(r)); store.caseload(); store.search("нұр", 10u) }
                }
            }
            jobs.awaitAll()
            val syncs = (0 until 3).map { async { store.startSync().wait() } }
            syncs.awaitAll()
        }
        check(store.syncSummary().pending == 0uL, "synced")
    }

    test("invalid input is a clear error") {
        try {
            validateIin("791028302729")
            check(false, "invalid IIN accepted")
        } catch (e: QamqorException.Invalid) {
            check(e.field == "iin", "names the field")
        }
        val c = child(rng)
        try {
            store.recordVisit(visit(c, 0).copy(date = today.plusDays(3).toString()))
            check(false, "visit for an unknown child accepted")
        } catch (e: QamqorException) {}
    }

    store.clearListeners()
    store.closeStore()
    println("$passed passed, $failed failed")
    if (failed > 0) System.exit(1)
}
