// Kotlin side of the boundary-crossing benchmark (scripts/bench-bindings.sh).

import java.io.File
import java.time.LocalDate
import kotlin.random.Random
import uniffi.qamqor.*

fun benchVisit(childId: String) = HomeVisit(newId(), childId, LocalDate.now().toString(), "bench", VisitGround.MONITORING,
    "Сау", "Барады", "Жеткілікті", "Жылы", "Жақсы", false, "Бақылау", null, null)

fun main() {
    val dir = File.createTempFile("qamqor", "").let { it.delete(); it.mkdirs(); it }
    val store = QamqorStore.open(File(dir, "p.db").path, ByteArray(32) { 1 }, "bench")
    val c = child(Random(1))
    store.registerChild(c)
    store.recordVisit(benchVisit(c.id))
    // Warm up the JIT, then measure.
    repeat(500) { store.childFile(c.id) }
    val reads = (0 until 2000).map {
        val t = System.nanoTime()
        store.childFile(c.id)
        (System.nanoTime() - t) / 1000.0
    }.sorted()
    val writes = (0 until 300).map {
        val v = benchVisit(c.id)
        val t = System.nanoTime()
        store.recordVisit(v)
        (System.nanoTime() - t) / 1000.0
    }.sorted()
    println("kotlin child_file median_us=%.1f".format(reads[reads.size / 2]))
    println("kotlin record_visit median_us=%.1f".format(writes[writes.size / 2]))
    store.closeStore()
}
