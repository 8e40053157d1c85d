/**
 * Unit tests of the wire server's protocol helpers: framing of a TCP byte stream into messages,
 * startup packets, statement/portal renaming, backend scanning, and the SQL lexer.
 */
import assert from "node:assert/strict";
import {
  closeStatement,
  concatBytes,
  frontendMessage,
  MessageBuffer,
  parseStartupPacket,
  prefixNames,
  ProtocolError,
  queryMessage,
  readyForQuery,
  replaceParseText,
  scanBackend,
  sqlTextOf,
  SSL_REQUEST_CODE,
  syncMessage,
} from "../../local/wire/protocol.ts";
import {
  copyFormat,
  isCopyFromStdin,
  mayChangeRole,
  statementWords,
} from "../../local/wire/sql-text.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cstr(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

function int16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

function parse(name: string, sql: string, types: number[] = []): Uint8Array {
  return frontendMessage("P", cstr(name), cstr(sql), int16(types.length), ...types.map(int32));
}

function bind(portal: string, statement: string): Uint8Array {
  return frontendMessage("B", cstr(portal), cstr(statement), int16(0), int16(0), int16(0));
}

function startupPacket(parameters: Record<string, string>): Uint8Array {
  const body = concatBytes([
    int32(196608),
    ...Object.entries(parameters).flatMap(([k, v]) => [cstr(k), cstr(v)]),
    Uint8Array.of(0),
  ]);
  return concatBytes([int32(4 + body.length), body]);
}

function takeAll(buffer: MessageBuffer): string[] {
  const types: string[] = [];
  for (let m = buffer.takeMessage(); m; m = buffer.takeMessage()) types.push(m.type);
  return types;
}

Deno.test("MessageBuffer reassembles a message split across chunks, byte by byte", () => {
  const message = queryMessage("select 1");
  const buffer = new MessageBuffer();
  for (let i = 0; i < message.length - 1; i++) {
    buffer.push(message.subarray(i, i + 1));
    assert.equal(buffer.takeMessage(), null);
  }
  buffer.push(message.subarray(message.length - 1));
  const taken = buffer.takeMessage();
  assert.equal(taken?.type, "Q");
  assert.deepEqual(taken?.bytes, message);
  assert.equal(buffer.length, 0);
});

Deno.test("MessageBuffer takes several messages from one chunk and keeps the partial rest", () => {
  const stream = concatBytes([
    parse("", "select $1::int", [23]),
    bind("", ""),
    syncMessage(),
    queryMessage("select 2"),
  ]);
  const buffer = new MessageBuffer();
  buffer.push(stream.subarray(0, stream.length - 3));
  assert.deepEqual(takeAll(buffer), ["P", "B", "S"]);
  assert.equal(buffer.length, queryMessage("select 2").length - 3);
  buffer.push(stream.subarray(stream.length - 3));
  assert.deepEqual(takeAll(buffer), ["Q"]);
});

Deno.test("MessageBuffer grows for a message larger than its initial capacity", () => {
  const big = queryMessage("select '" + "x".repeat(100_000) + "'");
  const buffer = new MessageBuffer();
  for (let at = 0; at < big.length; at += 7_000) buffer.push(big.subarray(at, at + 7_000));
  const taken = buffer.takeMessage();
  assert.deepEqual(taken?.bytes, big);
});

Deno.test("MessageBuffer refuses an impossible message length", () => {
  const buffer = new MessageBuffer();
  buffer.push(Uint8Array.of(0x51, 0, 0, 0, 2));
  assert.throws(() => buffer.takeMessage(), ProtocolError);
});

Deno.test("startup packets: SSLRequest, then a StartupMessage with its parameters", () => {
  const buffer = new MessageBuffer();
  const ssl = concatBytes([int32(8), int32(SSL_REQUEST_CODE)]);
  const startup = startupPacket({ user: "postgres", database: "postgres", application_name: "x" });
  buffer.push(concatBytes([ssl, startup]));
  assert.deepEqual(parseStartupPacket(buffer.takeStartupPacket()!), { kind: "ssl" });
  const parsed = parseStartupPacket(buffer.takeStartupPacket()!);
  assert.equal(parsed.kind, "startup");
  if (parsed.kind !== "startup") return;
  assert.equal(parsed.major, 3);
  assert.equal(parsed.minor, 0);
  assert.equal(parsed.parameters.get("user"), "postgres");
  assert.equal(parsed.parameters.get("application_name"), "x");
});

Deno.test("prefixNames renames named statements and portals and leaves unnamed ones alone", () => {
  const named = prefixNames({ type: "P", bytes: parse("s1", "select $1", [23]) }, "w7_");
  assert.deepEqual(named.names, [{ kind: "statement", name: "w7_s1" }]);
  assert.equal(sqlTextOf(named.message), "select $1");
  const body = named.message.bytes.subarray(5);
  assert.equal(decoder.decode(body.subarray(0, 6)), "w7_s1\0");
  assert.deepEqual(body.subarray(body.length - 6), concatBytes([int16(1), int32(23)]));

  const unnamed = { type: "P", bytes: parse("", "select 1") };
  assert.equal(prefixNames(unnamed, "w7_").message, unnamed);

  const bound = prefixNames({ type: "B", bytes: bind("p1", "s1") }, "w7_");
  assert.deepEqual(bound.names, [
    { kind: "portal", name: "w7_p1" },
    { kind: "statement", name: "w7_s1" },
  ]);
  assert.deepEqual(bound.message.bytes, bind("w7_p1", "w7_s1"));
  assert.deepEqual(
    prefixNames({ type: "B", bytes: bind("", "s1") }, "w7_").message.bytes,
    bind("", "w7_s1"),
  );

  const describe = frontendMessage("D", encoder.encode("P"), cstr("p1"));
  assert.deepEqual(
    prefixNames({ type: "D", bytes: describe }, "w7_").names,
    [{ kind: "portal", name: "w7_p1" }],
  );
  const close = prefixNames({ type: "C", bytes: closeStatement("s1") }, "w7_");
  assert.deepEqual(close.message.bytes, closeStatement("w7_s1"));
  const execute = frontendMessage("E", cstr("p1"), int32(0));
  assert.deepEqual(
    prefixNames({ type: "E", bytes: execute }, "w7_").message.bytes,
    frontendMessage("E", cstr("w7_p1"), int32(0)),
  );
});

Deno.test("replaceParseText keeps the statement name and parameter types", () => {
  const replaced = replaceParseText(
    { type: "P", bytes: parse("s1", "copy t from stdin", [25]) },
    "x",
  );
  assert.deepEqual(replaced.bytes, parse("s1", "x", [25]));
});

Deno.test("scanBackend reads the trailing ReadyForQuery and drops the asked message types", () => {
  const notification = frontendMessage("A", int32(1), cstr("chan"), cstr("payload"));
  const complete = frontendMessage("C", cstr("SELECT 1"));
  const out = concatBytes([complete, notification, readyForQuery("T")]);
  const scan = scanBackend(out, new Set(["A"]));
  assert.equal(scan.ready, "T");
  assert.deepEqual(scan.tags, ["SELECT 1"]);
  assert.deepEqual(scan.bytes, concatBytes([complete, readyForQuery("T")]));
  // After a Flush the output has no ReadyForQuery: the exchange is not over.
  assert.equal(scanBackend(concatBytes([readyForQuery("I"), complete])).ready, null);
  assert.equal(scanBackend(new Uint8Array()).ready, null);
});

Deno.test("statementWords splits statements and ignores literals, quoted names and comments", () => {
  assert.deepEqual(
    statementWords("select 'a;b', \"x;y\" -- c;d\n from t; /* e; /* f; */ g; */ copy t from stdin"),
    [["select", "'", '"', "from", "t"], ["copy", "t", "from", "stdin"]],
  );
  assert.deepEqual(statementWords("select $q$ ; $q$, $1, E'\\'; x'"), [["select", "'", "'"]]);
  assert.deepEqual(statementWords(" ; ;"), []);
});

Deno.test("COPY FROM STDIN is recognised with its format, and only at a statement's start", () => {
  const [copy] = statementWords("COPY t (a, b) FROM STDIN WITH (FORMAT csv)");
  assert.ok(isCopyFromStdin(copy!));
  assert.equal(copyFormat(copy!), 0);
  const [binary] = statementWords("copy t from stdin (format binary)");
  assert.equal(copyFormat(binary!), 1);
  assert.ok(!isCopyFromStdin(statementWords("copy t to stdout")[0]!));
  assert.ok(!isCopyFromStdin(statementWords("select 'copy t from stdin'")[0]!));
});

Deno.test("mayChangeRole spots SET ROLE and SET SESSION AUTHORIZATION", () => {
  assert.ok(mayChangeRole("SET ROLE anon"));
  assert.ok(mayChangeRole("set session authorization authenticated"));
  assert.ok(!mayChangeRole("select roles from t"));
});
