// automerge-repo's sync server (as @automerge/automerge-repo-sync-server
// sets it up: WebSocket server adapter, Node filesystem storage, a share
// policy that announces nothing). Prints "listening PORT", then for every
// "watch up|week" line on stdin prints "complete up|week" once it holds
// every document at the heads that phase ends with.
import fs from "node:fs"
import path from "node:path"
import readline from "node:readline"
import { WebSocketServer } from "ws"
import * as A from "@automerge/automerge"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const [dataDir, docsDir, weekDir] = process.argv.slice(2)
const key = heads => [...heads].sort().join(",")

// The heads each phase ends with, computed from the same files the client uses.
const up = new Set()
const week = new Set()
for (const name of fs.readdirSync(docsDir)) {
  let doc = A.load(fs.readFileSync(path.join(docsDir, name)))
  up.add(key(A.getHeads(doc)))
  const extra = path.join(weekDir, name)
  if (fs.existsSync(extra)) doc = A.loadIncremental(doc, fs.readFileSync(extra))
  week.add(key(A.getHeads(doc)))
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dataDir),
  sharePolicy: async () => false,
})

// Polled every 10 ms: a handle's events may fire before it is listed.
// (handle.heads() is base58-encoded; A.getHeads gives the hex the sets hold.)
let watching = null
setInterval(() => {
  if (!watching) return
  const [name, want] = watching
  let held = 0
  for (const handle of Object.values(repo.handles)) {
    if (handle.isReady() && want.has(key(A.getHeads(handle.doc())))) held++
  }
  if (held === want.size) {
    watching = null
    process.stdout.write(`complete ${name}\n`)
  }
}, 10)

const input = readline.createInterface({ input: process.stdin })
input.on("close", () => process.exit(0))
input.on("line", line => {
  const [cmd, name] = line.trim().split(" ")
  if (cmd === "watch") {
    watching = [name, name === "up" ? up : week]
  }
})

wss.on("listening", () => process.stdout.write(`listening ${wss.address().port}\n`))
