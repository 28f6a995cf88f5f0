// Qamqor's first-sync work through automerge-repo 2.5: its sync server
// (server.mjs, a separate process) and a client repo over WebSocket, both
// on Node filesystem storage. Run by scripts/peers-bench.sh:
//
//   node bench/automerge-repo/bench.mjs N DIR
//
// reads DIR/docs-N (the saved documents) and DIR/week-N (the week
// offline's changes), prints one row per phase and writes
// DIR/../peers/automerge-repo-N.json. Bytes are counted by a TCP proxy
// between client and server; the server's memory is read from /proc.
import fs from "node:fs"
import os from "node:os"
import net from "node:net"
import path from "node:path"
import readline from "node:readline"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as A from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const [n, dir] = process.argv.slice(2)
const docsDir = path.join(dir, `docs-${n}`)
const weekDir = path.join(dir, `week-${n}`)
const work = fs.mkdtempSync(path.join(os.tmpdir(), "qamqor-peers-amrepo-"))
const here = path.dirname(fileURLToPath(import.meta.url))

const server = spawn(process.execPath, [path.join(here, "server.mjs"), path.join(work, "server"), docsDir, weekDir], {
  stdio: ["pipe", "pipe", "inherit"],
})
const lines = readline.createInterface({ input: server.stdout })
const waiting = []
lines.on("line", line => {
  const w = waiting.findIndex(([prefix]) => line.startsWith(prefix))
  if (w >= 0) waiting.splice(w, 1)[0][1](line)
})
const expect = prefix => new Promise(resolve => waiting.push([prefix, resolve]))
const port = Number((await expect("listening ")).split(" ")[1])

// A proxy that counts the bytes both ways.
let bytes = 0
const proxy = net.createServer(client => {
  const upstream = net.connect(port, "127.0.0.1")
  client.on("data", d => { bytes += d.length; upstream.write(d) })
  upstream.on("data", d => { bytes += d.length; client.write(d) })
  client.on("close", () => upstream.destroy())
  upstream.on("close", () => client.destroy())
  client.on("error", () => {})
  upstream.on("error", () => {})
})
await new Promise(r => proxy.listen(0, "127.0.0.1", r))
const url = `ws://127.0.0.1:${proxy.address().port}`
const take = () => { const b = bytes; bytes = 0; return b }

function memory() {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, "utf8")
  const field = name => Number(status.match(new RegExp(`^${name}\\s+(\\d+)`, "m"))[1]) / 1024
  return [field("VmRSS:"), field("VmHWM:")]
}
const figures = {}
function row(phase, seconds, b) {
  const [rss, peak] = memory()
  console.log(`| automerge-repo | ${n} | ${phase} | ${seconds.toFixed(2)} s | ${Math.round(b / 1024)} KiB | ${rss.toFixed(0)} / ${peak.toFixed(0)} MiB |`)
}
const now = () => performance.now() / 1000

// The phone holding the district: its documents in its storage first.
const phone = new Repo({ storage: new NodeFSStorageAdapter(path.join(work, "up")) })
const handles = new Map()
for (const name of fs.readdirSync(docsDir)) {
  handles.set(name, phone.import(fs.readFileSync(path.join(docsDir, name))))
}
await phone.flush()

// Up.
let t = now()
let adapter = new WebSocketClientAdapter(url)
const upDone = expect("complete up")
server.stdin.write("watch up\n")
phone.networkSubsystem.addNetworkAdapter(adapter)
await upDone
figures.up_s = now() - t
figures.up_bytes = take()
row("up", figures.up_s, figures.up_bytes)

// Down: a new phone finds every document.
const fresh = new Repo({ storage: new NodeFSStorageAdapter(path.join(work, "down")) })
take()
t = now()
fresh.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url))
const found = await Promise.all([...handles.values()].map(h => fresh.find(h.url)))
figures.down_s = now() - t
figures.down_bytes = take()
for (const h of found) if (A.getHeads(h.doc()).length === 0) throw new Error("a document arrived empty")
row("down", figures.down_s, figures.down_bytes)
await fresh.shutdown()

// A week offline: the same edits, applied to the sending phone's copies.
phone.networkSubsystem.removeNetworkAdapter(adapter)
await new Promise(r => setTimeout(r, 300))
let touched = 0
for (const name of fs.readdirSync(weekDir)) {
  const changes = fs.readFileSync(path.join(weekDir, name))
  handles.get(name).update(doc => A.loadIncremental(doc, changes))
  touched++
}
await phone.flush()
await new Promise(r => setTimeout(r, 300))
take()
t = now()
const weekDone = expect("complete week")
server.stdin.write("watch week\n")
adapter = new WebSocketClientAdapter(url)
phone.networkSubsystem.addNetworkAdapter(adapter)
await weekDone
figures.week_s = now() - t
figures.week_bytes = take()
row(`week offline (${touched} documents changed)`, figures.week_s, figures.week_bytes)
;[figures.server_rss_mib, figures.server_peak_mib] = memory()

const out = path.join(dir, "..", "peers")
fs.mkdirSync(out, { recursive: true })
fs.writeFileSync(path.join(out, `automerge-repo-${n}.json`), JSON.stringify(figures))
server.stdin.end()
await phone.shutdown()
fs.rmSync(work, { recursive: true, force: true })
process.exit(0)
