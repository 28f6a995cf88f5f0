// A Qamqor client written from docs/protocol.md and docs/documents.md alone
// (Automerge JS 3 and cborg, a pure-JavaScript CBOR codec),
// in another language than the reference: it enrolls two specialists' phones,
// creates every kind of document, syncs them, and reads a colleague's change.
//
// Environment (set by scripts/test-bindings.sh): QAMQOR_URL, QAMQOR_SERVER_BIN,
// QAMQOR_DATA_DIR.
import * as A from "@automerge/automerge";
import { encode, decode } from "cborg";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";

const URL = process.env.QAMQOR_URL;
const BIN = process.env.QAMQOR_SERVER_BIN;
const DATA = process.env.QAMQOR_DATA_DIR;
const DISTRICT = "751710000"; // a district of Almaty (region 75)
const PROTOCOL = 3;

let failures = 0;
async function check(name, f) {
  try {
    await f();
    console.log(`ok - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok - ${name}\n  ${e.stack}`);
  }
}

function admin(...args) {
  return execFileSync(BIN, args, { env: { ...process.env, QAMQOR_DATA_DIR: DATA }, encoding: "utf8" });
}

const hex = (n) => randomBytes(n).toString("hex");
const id = () => hex(16);
const s = (v) => new A.ImmutableString(v); // documents.md: text is a scalar string, never a Text object

// An IIN for a birth date: YYMMDD, century/sex digit, 4 serial digits, check digit.
function iin(date, female) {
  for (;;) {
    const [y, m, d] = date.split("-");
    const century = y < "2000" ? (female ? 4 : 3) : female ? 6 : 5;
    const digits = (y.slice(2) + m + d + century + String(Math.floor(Math.random() * 10000)).padStart(4, "0"))
      .split("")
      .map(Number);
    const sum = (w) => digits.reduce((acc, x, i) => acc + x * w[i], 0) % 11;
    let r = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if (r === 10) r = sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    if (r !== 10) return digits.join("") + r;
  }
}

// A phone: an actor, its documents and per-document sync states.
class Phone {
  constructor(user) {
    this.user = user;
    this.actor = hex(16);
    this.docs = new Map(); // id -> Automerge doc
    this.states = new Map(); // id -> sync state (persisted form: encodeSyncState)
    this.exchanged = new Set(); // documents the server has had from us or sent us
    this.refused = new Set(); // documents the server refused: no longer offered
    this.cursor = 0;
  }

  async enroll(code) {
    const r = await fetch(`${URL}/v1/enroll`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, actor: this.actor, label: "node conformance client" }),
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.user_id, this.user);
    assert.equal(typeof body.expires_at, "number"); // Unix seconds
    this.token = body.token;
  }

  // A new document: the header, the containers and the content, in one first change.
  create(kind, key, content) {
    const docId = `${kind}:${key}`;
    let doc = A.init({ actor: this.actor });
    doc = A.change(doc, (d) => {
      d.kind = s(kind);
      d.schema = 1;
      d.min_editor = 1;
      d.authors = { [this.actor]: s(this.user) };
      content(d);
    });
    this.docs.set(docId, doc);
    return docId;
  }

  edit(docId, f) {
    let doc = this.docs.get(docId);
    doc = A.change(doc, (d) => {
      if (!d.authors[this.actor]) d.authors[this.actor] = s(this.user);
      f(d);
    });
    this.docs.set(docId, doc);
  }

  state(docId) {
    if (!this.states.has(docId)) this.states.set(docId, A.initSyncState());
    return this.states.get(docId);
  }

  // One sync session (protocol.md, "A sync session"). Returns the results.
  async sync() {
    const results = [];
    const inFlight = new Map();
    let more = false;
    for (let round = 0; round < 50; round++) {
      const docs = [];
      for (const [docId, doc] of this.docs) {
        if (this.refused.has(docId)) continue;
        if (!this.exchanged.has(docId)) {
          // Version 3: a document never exchanged goes whole.
          docs.push({ id: docId, msg: Buffer.from(A.save(doc)), full: true });
          continue;
        }
        const [next, msg] = A.generateSyncMessage(doc, this.state(docId));
        this.states.set(docId, next);
        if (msg) docs.push({ id: docId, msg: Buffer.from(msg) });
      }
      if (round > 0 && docs.length === 0 && !more) return results;
      const body = encode({ v: PROTOCOL, cursor: this.cursor, docs, acks: [], wiped: false });
      const r = await fetch(`${URL}/v1/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/cbor" },
        body,
      });
      const bytes = Buffer.from(await r.arrayBuffer());
      assert.equal(r.status, 200, bytes.toString());
      const resp = decode(bytes);
      assert.equal(resp.v, PROTOCOL);
      for (const m of resp.docs) {
        this.exchanged.add(m.id);
        if (m.full) {
          // The whole document: loaded, or merged into ours. A fresh sync
          // state is correct (one exchange more than recording its heads).
          const incoming = A.load(new Uint8Array(m.msg), { actor: this.actor });
          const ours = this.docs.get(m.id);
          this.docs.set(m.id, ours ? A.merge(ours, incoming) : incoming);
          continue;
        }
        const doc = this.docs.get(m.id) ?? A.init({ actor: this.actor });
        const [next, state] = A.receiveSyncMessage(doc, this.state(m.id), new Uint8Array(m.msg));
        this.docs.set(m.id, next);
        this.states.set(m.id, state);
      }
      for (const r of resp.results) {
        // `ok`: stored; any other status: stop offering it (protocol.md).
        this.exchanged.add(r.id);
        if (r.status !== "ok") this.refused.add(r.id);
      }
      results.push(...resp.results.filter((r) => r.status !== "ok"));
      for (const gone of resp.removed) this.docs.delete(gone);
      assert.equal(resp.wipe, false);
      this.cursor = resp.cursor;
      more = resp.more;
    }
    throw new Error("the sync did not finish in 50 rounds");
  }
}

const today = new Date().toISOString().slice(0, 10);

await check("a new region answers health with its protocol and limits", async () => {
  const r = await fetch(`${URL}/v1/health`);
  const h = await r.json();
  assert.equal(h.protocol, PROTOCOL);
  assert.ok(h.limits.max_docs > 0 && h.limits.max_body_bytes > 0);
});

const a = new Phone(`node.a.${hex(3)}`);
const b = new Phone(`node.b.${hex(3)}`);
for (const p of [a, b]) {
  admin("user", "add", p.user, "--name", p.user, "--role", "specialist", "--district", DISTRICT);
}
const code = (user) => admin("code", user).trim().split(/\s+/).pop();

await check("two phones enroll with one-time codes", async () => {
  await a.enroll(code(a.user));
  await b.enroll(code(b.user));
});

const childId = id();
const repId = id();
const mentorId = id();
const shipId = id();
const person = (family, given) => ({ family: s(family), given: s(given), patronymic: null });

await check("every kind of document, written from documents.md, is accepted", async () => {
  const placementId = id();
  a.create("case", childId, (d) => {
    d.child = {
      id: s(childId),
      iin: s(iin("2015-03-08", true)),
      name: person("Сейітова", "Аружан"),
      birth_date: s("2015-03-08"),
      sex: s("female"),
      status: s("left_without_care"),
      region: s("75"),
      district: s(DISTRICT),
      school: s("№12 мектеп"),
    };
    d.tier = s("standard");
    d.placements = {
      [placementId]: {
        id: s(placementId),
        child_id: s(childId),
        representative_id: s(repId),
        institution: null,
        form: s("guardianship"),
        kin: s("grandparent"),
        kin_considered: true,
        start_date: s("2024-01-10"),
        end_date: null,
        end_reason: null,
      },
    };
    d.visits = {};
  });
  a.create("rep", repId, (d) => {
    d.representative = {
      id: s(repId),
      iin: s(iin("1961-07-21", true)),
      name: person("Сейітова", "Гүлжан"),
      birth_date: s("1961-07-21"),
      address: s("Абай к-сі, 10"),
      phone: null,
      region: s("75"),
      district: s(DISTRICT),
      role: s("guardian"),
      since: s("2024-01-10"),
    };
    d.status = s("active");
    d.relations = { [childId]: null };
    d.risk = { flags: {}, removal_recommended: false };
    d.checks = {};
    d.risk_reports = {};
  });
  a.create("mentor", mentorId, (d) => {
    d.mentor = {
      id: s(mentorId),
      user_id: s("node.mentor"),
      iin: s(iin("1988-04-12", true)),
      name: person("Әбенова", "Жансая"),
      phone: null,
      region: s("75"),
      district: s(DISTRICT),
      organisation: null,
    };
    d.certificates = {
      "TM-000001": { number: s("TM-000001"), issuer: s("Министрлік"), issued_on: s("2025-01-01"), valid_until: s("2028-01-01") },
    };
  });
  a.create("mentee", shipId, (d) => {
    d.mentorship = {
      id: s(shipId),
      mentor_id: s(mentorId),
      child_id: s(childId),
      contract_ref: s("T-1"),
      start_date: s("2025-09-01"),
      end_date: null,
    };
    d.mentee = { given_name: s("Аружан"), family_name: s("Сейітова"), birth_date: s("2015-03-08"), school: null, district: s(DISTRICT) };
  });
  a.create("mlog", mentorId, (d) => {
    d.mentor_id = s(mentorId);
    d.district = s(DISTRICT);
    d.meetings = {};
  });
  const results = await a.sync();
  assert.deepEqual(results, [], JSON.stringify(results));
});

await check("a colleague's phone receives them and its change comes back", async () => {
  const results = await b.sync();
  assert.deepEqual(results, []);
  for (const docId of [`case:${childId}`, `rep:${repId}`, `mentor:${mentorId}`, `mentee:${shipId}`, `mlog:${mentorId}`]) {
    assert.ok(b.docs.has(docId), `${docId} reached the second phone`);
    assert.deepEqual(A.getHeads(b.docs.get(docId)), A.getHeads(a.docs.get(docId)));
  }
  const visitId = id();
  b.edit(`case:${childId}`, (d) => {
    d.visits[visitId] = {
      id: s(visitId),
      child_id: s(childId),
      date: s(today),
      examiner: s(b.user),
      ground: s("monitoring"),
      health: s("Сау"),
      school: s("Барады"),
      nutrition: s("Жеткілікті"),
      relations: s("Жылы"),
      child_opinion: null,
      neglect_signs: false,
      recommendations: s("Бақылау"),
      next_visit: null,
      supersedes: null,
    };
  });
  assert.deepEqual(await b.sync(), []);
  assert.deepEqual(await a.sync(), []);
  const visit = a.docs.get(`case:${childId}`).visits[visitId];
  assert.equal(String(visit.examiner), b.user);
});

await check("what the server refuses is answered per document, naming the field", async () => {
  const bad = a.create("case", id(), (d) => {
    d.child = { id: s("x"), iin: s("000000000000"), name: person("A", "B"), birth_date: s("2015-01-01"), sex: s("female"), status: s("orphan"), region: s("75"), district: s(DISTRICT), school: null };
    d.placements = {};
    d.visits = {};
  });
  const forged = a.create("case", id(), (d) => {
    d.authors[a.actor] = s(b.user); // naming someone else
    d.child = { id: s("y"), iin: s(iin("2016-02-02", false)), name: person("A", "B"), birth_date: s("2016-02-02"), sex: s("male"), status: s("orphan"), region: s("75"), district: s(DISTRICT), school: null };
    d.placements = {};
    d.visits = {};
  });
  const results = await a.sync();
  const status = Object.fromEntries(results.map((r) => [r.id, r]));
  assert.equal(status[bad]?.status, "invalid", JSON.stringify(results));
  assert.match(status[bad].reason, /iin/);
  assert.ok(!status[bad].reason.includes("000000000000"), "the value is never echoed");
  assert.equal(status[forged]?.status, "foreign_actor");
  a.docs.delete(bad);
  a.docs.delete(forged);
});

await check("errors are JSON with a stable code", async () => {
  const r = await fetch(`${URL}/v1/sync`, { method: "POST", body: encode({ v: PROTOCOL, cursor: 0, docs: [] }) });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, "unauthorized");
  const old = await fetch(`${URL}/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${a.token}` },
    body: encode({ v: 1, cursor: 0, docs: [] }),
  });
  assert.equal(old.status, 400);
  // Version 2 is still served, answered in version 2.
  const v2 = await fetch(`${URL}/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${a.token}` },
    body: encode({ v: 2, cursor: a.cursor, docs: [] }),
  });
  assert.equal(v2.status, 200);
  assert.equal(decode(Buffer.from(await v2.arrayBuffer())).v, 2);
  const nf = await fetch(`${URL}/v1/nothing`);
  assert.equal((await nf.json()).error, "not_found");
});

console.log(failures === 0 ? "all passed" : `${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
