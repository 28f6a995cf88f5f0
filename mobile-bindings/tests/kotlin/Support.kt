// What the Kotlin binding tests share: the server scripts/test-bindings.sh
// started, its administration command, checks, and valid IINs. Compiled
// with each test.

import java.time.LocalDate
import kotlin.random.Random

val url: String = System.getenv("QAMQOR_URL")
val serverBin: String = System.getenv("QAMQOR_SERVER_BIN")
val dataDir: String = System.getenv("QAMQOR_DATA_DIR")

/** Runs `qamqor-server <args>` on the test server's data; its output. */
fun admin(vararg args: String): String {
    val pb = ProcessBuilder(serverBin, *args)
    pb.environment()["QAMQOR_DATA_DIR"] = dataDir
    val p = pb.start()
    val out = p.inputStream.bufferedReader().readText()
    p.waitFor()
    return out
}

/** A one-time enrollment code for `user`. */
fun codeFor(user: String): String = admin("code", user).trim().split(" ").last()

fun check(cond: Boolean, what: String) {
    if (!cond) throw AssertionError(what)
}

/** A valid IIN for someone born on `birth`. */
fun iin(birth: LocalDate, female: Boolean, rng: Random): String {
    val century = when (birth.year / 100) { 18 -> 1; 19 -> 3; else -> 5 } + if (female) 1 else 0
    while (true) {
        val s = "%02d%02d%02d%d%04d".format(birth.year % 100, birth.monthValue, birth.dayOfMonth, century, rng.nextInt(10000))
        val d = s.map { it - '0' }
        var r = d.indices.sumOf { d[it] * (it + 1) } % 11
        if (r == 10) {
            val w = listOf(3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
            r = d.indices.sumOf { d[it] * w[it] } % 11
            if (r == 10) continue
        }
        return s + r
    }
}
