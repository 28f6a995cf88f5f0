// A specialist's first day: the worked example of docs/mobile.md, run
// against a real qamqor-server on loopback. The lines between the two
// "docs/mobile.md" markers are the example as printed in the doc; a test
// (mobile-bindings/tests/docs.rs) checks that the doc holds them verbatim.
// Run by scripts/test-bindings.sh.

import java.io.File
import java.time.LocalDate
import java.util.Collections
import kotlin.random.Random
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking
import uniffi.qamqor.*

// docs/mobile.md: begin
/** Draws the first sync's progress bar (called on a background thread). */
class ProgressBar(val draw: (fraction: Double, label: String) -> Unit) : SyncListener {
    override fun onState(state: SyncState) {}
    override fun onDocumentsChanged(docIds: List<String>) {}
    override fun onProgress(progress: SyncProgress) {
        val total = progress.docsToReceive?.toString() ?: "…"
        draw(progress.fraction, "${progress.docsReceived} / $total")
    }
}

/** Sign-in on a new phone: open the store, enroll it, receive the district. */
suspend fun signIn(
    path: String, key: ByteArray, userId: String, serverUrl: String, code: String,
    saveToken: (String) -> Unit, bar: ProgressBar,
): QamqorStore {
    setErrorLanguage(Lang.KK)                            // errors in the app's language
    val store = QamqorStore.open(path, key, userId)     // key: 32 bytes kept in the Keystore
    val enrollment = store.enroll(serverUrl, code, "Samsung A14", null)
    saveToken(enrollment.token)                          // into the Keystore, for configureSync later
    store.addListener(bar)
    store.startSync().wait()                             // the whole district, in one sync
    return store
}

/** A home visit: only what was seen; optional fields are left out. */
fun recordVisit(store: QamqorStore, childId: String, examiner: String) {
    store.recordVisit(HomeVisit(
        id = newId(), childId = childId, date = LocalDate.now().toString(), examiner = examiner,
        ground = VisitGround.MONITORING, health = "Сау", school = "Мектепке барады",
        nutrition = "Жеткілікті", relations = "Жылы", neglectSigns = false, recommendations = "Бақылау"))
}

/** The annual check: the criminal-record certificate shows a prosecution. */
suspend fun recordRiskCheck(store: QamqorStore, representativeId: String, examiner: String) {
    val today = LocalDate.now()
    fun certificate(issuer: String) = Evidence("№ 1024", today.minusDays(3).toString(), issuer)
    store.recordCheck(AnnualCheck(
        id = newId(), representativeId = representativeId, date = today.toString(), examiner = examiner,
        income = IncomePart(
            sources = listOf(IncomeSource(IncomeSourceKind.EMPLOYMENT, 250_000L)), householdMembers = 3u,
            subsistenceMinimumKzt = 46_228L, outcome = CheckOutcome.SATISFACTORY, evidence = certificate("ЕНПФ")),
        health = CertificatePart(CheckOutcome.SATISFACTORY, certificate("Емхана")),
        housing = HousingPart(
            right = HousingRight.OWNED, kind = HousingType.APARTMENT, areaM2 = 64.5, rooms = 3u,
            utilities = Utilities(heating = true, water = true, sewerage = true, gas = false, electricity = true),
            sanitaryOk = true, childSpace = ChildSpace(bed = true, desk = true, clothes = true, books = true),
            outcome = CheckOutcome.SATISFACTORY),
        criminalRecord = CertificatePart(CheckOutcome.UNSATISFACTORY, certificate("ІІМ")),
        riskFactors = listOf(RiskFactor.CRIMINAL_PROSECUTION),
        conclusion = CheckConclusion.REMOVAL_RECOMMENDED))
    store.startSync().wait()                             // the urgent file goes first
}

/** Two people changed one field offline: the specialist picks one of the values. */
fun resolveConflicts(store: QamqorStore, choose: (Conflict) -> Int) {
    for (conflict in store.conflicts()) {
        store.resolveConflictChoice(conflict.docId, conflict.path, choose(conflict).toUInt())
    }
}

/** What the app shows for any error: the sentence, and the field to highlight. */
fun errorText(e: QamqorException): String {
    val info = errorInfo(e)                              // code, userMessage, field
    return if (info.field != null) "${info.userMessage} (${info.field})" else info.userMessage
}

/** Sign-out: the last changes go up, then the store is closed. */
suspend fun signOut(store: QamqorStore) {
    store.startSync().wait()
    store.clearListeners()
    store.closeStore()
}
// docs/mobile.md: end

const val FAR = "751910000" // a district of this test's own: the counts are exact
const val CASES = 2000

/** A child built with only the required fields. */
fun child(rng: Random): Child {
    val birth = LocalDate.now().minusDays(365L * 8 + rng.nextInt(300))
    return Child(id = newId(), iin = iin(birth, true, rng), name = FullName(family = "Әбенова", given = "Аружан"),
        birthDate = birth.toString(), sex = Sex.FEMALE, status = ChildStatus.ORPHAN, region = Region.ALMATY_CITY,
        district = FAR)
}

fun main() {
    try {
        runBlocking { day() }
    } catch (e: Throwable) {
        println("FAILED - a specialist's first day: $e")
        e.printStackTrace()
        exitProcess(1)
    }
    exitProcess(0)
}

suspend fun day() {
    for (user in listOf("kt.day", "kt.day.colleague")) {
        admin("user", "add", user, "--name", user, "--role", "specialist", "--district", FAR)
    }
    val dir = File.createTempFile("qamqor-day", "").let { it.delete(); it.mkdirs(); it }
    val rng = Random(2026)

    // Records built with only their required fields: optional ones default
    // to none and lists to empty.
    val first = child(rng)
    check(first.iin != null && first.name.patronymic == null && first.school == null, "defaults: $first")
    val placement = Placement(id = newId(), childId = first.id, representativeId = newId(),
        form = PlacementForm.GUARDIANSHIP, kinConsidered = false, startDate = "2024-03-01")
    check(placement.institution == null && placement.kin == null && placement.endDate == null, "defaults: $placement")

    // The district as a colleague keeps it: 2,000 cases, one family placed.
    val colleague = QamqorStore.open(File(dir, "colleague.db").path, ByteArray(32) { 9 }, "kt.day.colleague")
    colleague.enroll(url, codeFor("kt.day.colleague"), "colleague", null)
    val repBirth = LocalDate.of(1975, 6, 1)
    val rep = Representative(id = newId(), iin = iin(repBirth, true, rng), name = FullName("Әбенова", "Гүлмира"),
        birthDate = repBirth.toString(), address = "Төле би к-сі, 40", region = Region.ALMATY_CITY, district = FAR,
        role = RepresentativeRole.GUARDIAN, since = "2024-03-01")
    colleague.registerChild(first)
    colleague.registerRepresentative(rep)
    colleague.placeChild(placement.copy(representativeId = rep.id))
    repeat(CASES - 1) { colleague.registerChild(child(rng)) }
    colleague.startSync().wait()

    // Sign-in on a new phone: one startSync receives the district, the bar is drawn.
    val tokens = mutableListOf<String>()
    val drawn = Collections.synchronizedList(mutableListOf<Pair<Double, String>>())
    val store = signIn(File(dir, "phone.db").path, ByteArray(32) { 4 }, "kt.day", url, codeFor("kt.day"),
        { tokens.add(it) }, ProgressBar { f, label -> drawn.add(f to label) })
    check(tokens.single().length == 64, "the token was handed over for the Keystore")
    check(store.caseload().size == CASES, "the district arrived: ${store.caseload().size}")
    check(drawn.size >= 8, "a bar step per round: $drawn")
    val docs = CASES + 1 // the cases and the representative's file
    check(drawn.first().second == "250 / $docs", "the total is known from the first response: ${drawn.first()}")
    check(drawn.zipWithNext().all { (a, b) -> a.first <= b.first }, "the bar only grows: $drawn")
    check(drawn.last() == 1.0 to "$docs / $docs", "the bar ends full: ${drawn.last()}")
    println("ok - first sync of $CASES cases in one startSync, ${drawn.size} progress steps")

    recordVisit(store, first.id, "kt.day")
    check(store.childFile(first.id).visits.size == 1, "the visit is in the file")
    println("ok - a home visit")

    recordRiskCheck(store, rep.id, "kt.day")
    check(store.urgentItems().any { it.kind == UrgentKind.RISK_FACTOR }, "the risk factor is an urgent item")
    check(store.syncSummary().pendingUrgent == 0uL, "the urgent file reached the server")
    colleague.startSync().wait()
    check(colleague.urgentItems().any { it.kind == UrgentKind.RISK_FACTOR }, "the colleague sees it too")
    println("ok - an annual check with a risk factor, sent first")

    // Offline, the office records the removal on the colleague's phone while
    // this one suspends the representative: both sync; one value is chosen.
    colleague.decideRemoval(RemovalDecision(id = newId(), representativeId = rep.id, outcome = RemovalOutcome.REMOVED,
        order = OfficeOrder(number = "412-ж", date = LocalDate.now().toString()), decidedBy = "kt.day.colleague"))
    store.setRepresentativeStatus(rep.id, RepresentativeStatus.SUSPENDED)
    colleague.startSync().wait()
    store.startSync().wait()
    val conflict = store.conflicts().single()
    check(conflict.path == "status" && conflict.values.size == 2, "one conflict on the status: $conflict")
    resolveConflicts(store) { c -> c.values.indexOfFirst { it.valueJson == "\"removed\"" } }
    check(store.conflicts().isEmpty(), "resolved: ${store.conflicts()}")
    check(store.representativeFile(rep.id).status == RepresentativeStatus.REMOVED, "the order holds")
    store.startSync().wait()
    colleague.startSync().wait()
    check(colleague.conflicts().isEmpty(), "resolved on the colleague's phone too: ${colleague.conflicts()}")
    check(colleague.representativeFile(rep.id).status == RepresentativeStatus.REMOVED, "everywhere")
    println("ok - a conflict resolved by choosing a listed value")

    // An error's code, and its message in Kazakh (set at sign-in) and Russian.
    val badVisit = HomeVisit(id = newId(), childId = first.id, date = "2026-13-40", examiner = "kt.day",
        ground = VisitGround.MONITORING, health = "", school = "", nutrition = "", relations = "",
        neglectSigns = false, recommendations = "")
    try {
        store.recordVisit(badVisit)
        check(false, "an impossible date must be refused")
    } catch (e: QamqorException.Invalid) {
        check(e.code == "invalid" && e.field.endsWith("date"), "code and field: ${e.code} ${e.field}")
        check(errorText(e).contains("жарамсыз"), "Kazakh: ${errorText(e)}")
    }
    setErrorLanguage(Lang.RU)
    try {
        store.recordVisit(badVisit)
    } catch (e: QamqorException.Invalid) {
        check(errorText(e).contains("недопустим"), "Russian: ${errorText(e)}")
    }
    println("ok - errors carry a code and a message in Kazakh and Russian")

    signOut(store)
    try {
        store.caseload()
        check(false, "a closed store must refuse")
    } catch (e: QamqorException.Closed) {
        check(errorInfo(e) == ErrorInfo("closed", "хранилище закрыто", null), "closed, in Russian: ${errorInfo(e)}")
    } finally {
        setErrorLanguage(Lang.EN)
    }
    println("ok - sign-out")
    colleague.closeStore()
}
