/**
 * The Storage API emulator driven through supabase-js, as a client app would: one PGlite database
 * with a migration that puts RLS policies on storage.objects (users own the folder named by their
 * id), the storage app mounted at /storage/v1 like the gateway does, and users with minted JWTs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { Hono } from "hono";
import { loadKeys, type LocalKeys } from "../../local/keys.ts";
import { type Database, openDatabase } from "../../local/postgres/database.ts";
import { createStorageApp } from "../../local/storage/app.ts";

const MIGRATION = `
-- Test fixture: buckets, and policies that give each user the folder named by their id.
insert into storage.buckets (id, name, public) values ('private', 'private', false);
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('limited', 'limited', false, 16, array['text/plain', 'image/*']);
insert into storage.buckets (id, name, public) values ('pictures', 'pictures', true);

create policy "Users can read files in their own folder" on storage.objects
  for select to authenticated
  using (bucket_id in ('private', 'limited') and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "Users can upload files into their own folder" on storage.objects
  for insert to authenticated
  with check (bucket_id in ('private', 'limited') and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "Users can update files in their own folder" on storage.objects
  for update to authenticated
  using (bucket_id in ('private', 'limited') and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id in ('private', 'limited') and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "Users can delete files in their own folder" on storage.objects
  for delete to authenticated
  using (bucket_id in ('private', 'limited') and (storage.foldername(name))[1] = (select auth.uid())::text);

-- What each real write saw of the request; and a rule that refuses some names.
create table public.storage_audit (
  id bigint generated always as identity primary key,
  name text,
  operation text,
  claim_role text,
  sub uuid,
  method text,
  path text,
  allow_delete text
);
create function public.audit_storage_object() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.name like '%/explode-%' then
    raise exception 'Files named explode-* are refused';
  end if;
  insert into public.storage_audit (name, operation, claim_role, sub, method, path, allow_delete)
  values (new.name, storage.operation(), current_setting('request.jwt.claim.role', true), auth.uid(),
          current_setting('request.method', true), current_setting('request.path', true),
          current_setting('storage.allow_delete_query', true));
  return new;
end
$$;
create trigger audit_storage_object after insert on storage.objects
  for each row execute function public.audit_storage_object();
`;

/** The global upload cap the app is given. */
const GLOBAL_LIMIT = 64 * 1024;

interface Stack {
  url: string;
  keys: LocalKeys;
  db: Database;
  root: string;
  storageDir: string;
  close(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const root = await Deno.makeTempDir({ prefix: "storage-test-" });
  const migrationsDir = join(root, "migrations");
  await Deno.mkdir(migrationsDir);
  await Deno.writeTextFile(join(migrationsDir, "20240101000000_storage_fixture.sql"), MIGRATION);
  const db = await openDatabase({ migrationsDir });
  const keys = await loadKeys();
  const storageDir = join(root, "objects");
  const gateway = new Hono();
  gateway.route(
    "/storage/v1",
    createStorageApp({ session: db.session, keys, storageDir, fileSizeLimit: GLOBAL_LIMIT }),
  );
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, gateway.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    keys,
    db,
    root,
    storageDir,
    async close() {
      await server.shutdown();
      await db.session.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

function clientWith(stack: Stack, token?: string): SupabaseClient {
  return createClient(stack.url, stack.keys.anonKey, {
    global: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

async function userToken(keys: LocalKeys, sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await keys.signUserToken({
    sub,
    role: "authenticated",
    aud: "authenticated",
    email: `${sub}@example.test`,
    iat: now,
    exp: now + 3600,
  });
}

/** Every version file under the storage folder. */
async function blobFiles(storageDir: string): Promise<Set<string>> {
  const files = new Set<string>();
  const walk = async (dir: string) => {
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isDirectory) await walk(join(dir, entry.name));
        else files.add(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  };
  await walk(storageDir);
  return files;
}

interface ObjectRecord {
  id: string;
  owner: string | null;
  owner_id: string | null;
  version: string;
  metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown> | null;
}

async function objectRow(db: Database, bucket: string, name: string) {
  const { rows } = await db.session.query<ObjectRecord>(
    `select id, owner, owner_id, version, metadata, user_metadata
     from storage.objects where bucket_id = $1 and name = $2`,
    [bucket, name],
  );
  return rows[0];
}

async function bytesOf(blob: Blob | null): Promise<Uint8Array> {
  assert.ok(blob, "expected a body");
  return new Uint8Array(await blob.arrayBuffer());
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB at a time.
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  return bytes;
}

function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** The error body of a raw response, with the HTTP status. */
async function errorOf(response: Response) {
  return { status: response.status, body: await response.json() };
}

Deno.test("the storage emulator behaves like Supabase Storage for storage-js", async (t) => {
  const stack = await startStack();
  const { keys, db, storageDir } = stack;
  const api = `${stack.url}/storage/v1`;
  const alice = crypto.randomUUID();
  const bob = crypto.randomUUID();
  const aliceToken = await userToken(keys, alice);
  const bobToken = await userToken(keys, bob);
  const asAlice = clientWith(stack, aliceToken).storage;
  const asBob = clientWith(stack, bobToken).storage;
  const asAnon = clientWith(stack).storage;
  const asService = clientWith(stack, keys.serviceRoleKey).storage;

  try {
    await t.step(
      "upload then download returns the same bytes, also for a non-ASCII name",
      async () => {
        const bytes = randomBytes(4096);
        const name = `${alice}/dir/\u00fcn\u00efc\u00f8d\u00e9 \u6587\u4ef6.bin`;
        const { data, error } = await asAlice.from("private").upload(name, bytes, {
          contentType: "application/octet-stream",
        });
        assert.equal(error, null);
        assert.equal(data!.path, name);
        assert.equal(data!.fullPath, `private/${name}`);

        const downloaded = await asAlice.from("private").download(name);
        assert.equal(downloaded.error, null);
        assert.deepEqual(await bytesOf(downloaded.data), bytes);

        const row = await objectRow(db, "private", name);
        assert.ok(row);
        assert.equal(row.id, data!.id);
        assert.equal(row.owner, alice);
        assert.equal(row.owner_id, alice);
        assert.match(row.version, /^[0-9a-f-]{36}$/);
        assert.equal(row.metadata.size, 4096);
        assert.equal(row.metadata.contentLength, 4096);
        assert.equal(row.metadata.mimetype, "application/octet-stream");
        assert.equal(row.metadata.cacheControl, "max-age=3600");
        assert.equal(row.metadata.eTag, `"${md5Hex(bytes)}"`);
        assert.equal(row.metadata.httpStatusCode, 200);
        assert.ok((await blobFiles(storageDir)).has(row.version));

        const response = await fetch(`${api}/object/private/${encodeURI(name)}`, {
          headers: { Authorization: `Bearer ${aliceToken}` },
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "application/octet-stream");
        assert.equal(response.headers.get("content-length"), "4096");
        assert.equal(response.headers.get("etag"), `"${md5Hex(bytes)}"`);
        assert.equal(response.headers.get("cache-control"), "max-age=3600");
        assert.ok(response.headers.get("last-modified"));
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
      },
    );

    await t.step("a Blob goes as multipart with its type, cache control and metadata", async () => {
      const bytes = randomBytes(1000);
      const name = `${alice}/picture.png`;
      const { error } = await asAlice.from("private").upload(
        name,
        new Blob([bytes], { type: "image/png" }),
        { cacheControl: "60", metadata: { kind: "avatar" } },
      );
      assert.equal(error, null);
      const downloaded = await asAlice.from("private").download(name);
      assert.deepEqual(await bytesOf(downloaded.data), bytes);
      assert.equal(downloaded.data!.type, "image/png");
      const row = await objectRow(db, "private", name);
      assert.equal(row!.metadata.mimetype, "image/png");
      assert.equal(row!.metadata.cacheControl, "max-age=60");
      assert.deepEqual(row!.user_metadata, { kind: "avatar" });

      const info = await asAlice.from("private").info(name);
      assert.equal(info.error, null);
      assert.equal(info.data!.size, 1000);
      assert.equal(info.data!.contentType, "image/png");
      assert.deepEqual(info.data!.metadata, { kind: "avatar" });
      assert.equal((await asAlice.from("private").exists(name)).data, true);
      assert.equal((await asAlice.from("private").exists(`${alice}/nothing`)).data, false);

      const head = await fetch(`${api}/object/private/${name}`, {
        method: "HEAD",
        headers: { Authorization: `Bearer ${aliceToken}` },
      });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), "image/png");
      assert.equal(head.headers.get("etag"), `"${md5Hex(bytes)}"`);
      await head.body?.cancel();

      const range = await fetch(`${api}/object/private/${name}`, {
        headers: { Authorization: `Bearer ${aliceToken}`, Range: "bytes=10-19" },
      });
      assert.equal(range.status, 206);
      assert.equal(range.headers.get("content-range"), "bytes 10-19/1000");
      assert.deepEqual(new Uint8Array(await range.arrayBuffer()), bytes.slice(10, 20));
    });

    await t.step("the request settings reach the database as on hosted Supabase", async () => {
      const name = `${alice}/audited.txt`;
      assert.equal((await asAlice.from("private").upload(name, "audit me")).error, null);
      const { rows } = await db.session.query<Record<string, unknown>>(
        "select operation, claim_role, sub, method, path, allow_delete from public.storage_audit where name = $1",
        [name],
      );
      // The permission test's insert was rolled back: one row, from the real write.
      assert.deepEqual(rows, [{
        operation: "storage.object.upload",
        claim_role: "authenticated",
        sub: alice,
        method: "POST",
        path: `/object/private/${alice}/audited.txt`,
        allow_delete: "true",
      }]);
    });

    await t.step("upsert replaces the bytes and removes the old version's file", async () => {
      const name = `${alice}/notes.txt`;
      assert.equal((await asAlice.from("private").upload(name, "first")).error, null);
      const first = (await objectRow(db, "private", name))!.version;

      const duplicate = await asAlice.from("private").upload(name, "again");
      assert.equal(duplicate.error?.message, "The resource already exists");
      assert.equal((duplicate.error as { statusCode?: string }).statusCode, "409");

      const upserted = await asAlice.from("private").upload(name, "second", { upsert: true });
      assert.equal(upserted.error, null);
      const second = (await objectRow(db, "private", name))!.version;
      assert.notEqual(second, first);
      let files = await blobFiles(storageDir);
      assert.ok(!files.has(first), "the old version's file is gone");
      assert.ok(files.has(second));
      const downloaded = await asAlice.from("private").download(name);
      assert.equal(await downloaded.data!.text(), "second");

      assert.equal((await asAlice.from("private").update(name, "third")).error, null);
      const third = (await objectRow(db, "private", name))!.version;
      files = await blobFiles(storageDir);
      assert.ok(!files.has(second) && files.has(third));
      assert.equal(await (await asAlice.from("private").download(name)).data!.text(), "third");
    });

    await t.step("a second user can neither read, list, overwrite nor delete it", async () => {
      const name = `${alice}/secret.txt`;
      assert.equal((await asAlice.from("private").upload(name, "alice only")).error, null);
      const before = await objectRow(db, "private", name);

      const read = await asBob.from("private").download(name);
      assert.equal((read.error as { statusCode?: string }).statusCode, "404");
      assert.equal(read.error?.message, "Object not found");

      const listed = await asBob.from("private").list(alice);
      assert.deepEqual(listed.data, []);

      for (const upsert of [false, true]) {
        const overwrite = await asBob.from("private").upload(name, "bob was here", { upsert });
        assert.equal((overwrite.error as { statusCode?: string }).statusCode, "403");
        assert.equal(overwrite.error?.message, "new row violates row-level security policy");
      }
      assert.equal(
        (await asBob.from("private").update(name, "bob")).error?.message,
        "new row violates row-level security policy",
      );

      const removed = await asBob.from("private").remove([name]);
      assert.deepEqual(removed.data, []);
      const signed = await asBob.from("private").createSignedUrl(name, 60);
      assert.equal((signed.error as { statusCode?: string }).statusCode, "404");
      const moved = await asBob.from("private").move(name, `${bob}/stolen.txt`);
      assert.equal((moved.error as { statusCode?: string }).statusCode, "404");
      const copied = await asBob.from("private").copy(name, `${bob}/stolen.txt`);
      assert.equal((copied.error as { statusCode?: string }).statusCode, "404");

      assert.deepEqual(await objectRow(db, "private", name), before);
      assert.equal(await (await asAlice.from("private").download(name)).data!.text(), "alice only");
    });

    await t.step("anon cannot upload and a missing or bad token is AccessDenied", async () => {
      const anon = await asAnon.from("private").upload(`${alice}/anon.txt`, "x");
      assert.equal((anon.error as { statusCode?: string }).statusCode, "403");

      for (const headers of [{ Authorization: "Bearer not-a-jwt" }, {} as Record<string, string>]) {
        const response = await fetch(`${api}/object/private/${alice}/anon.txt`, {
          method: "POST",
          headers: { ...headers, "content-type": "text/plain" },
          body: "x",
        });
        const { status, body } = await errorOf(response);
        assert.equal(status, 400);
        assert.equal(body.statusCode, "403");
        assert.equal(body.code, "AccessDenied");
        assert.equal(body.error, "Unauthorized");
      }
      assert.equal(await objectRow(db, "private", `${alice}/anon.txt`), undefined);

      // Without an Authorization header, the apikey header is the token.
      const viaApikey = await fetch(`${api}/object/private/${alice}/apikey.txt`, {
        method: "POST",
        headers: { apikey: aliceToken, "content-type": "text/plain" },
        body: "x",
      });
      assert.equal(viaApikey.status, 200);
      assert.equal((await viaApikey.json()).Key, `private/${alice}/apikey.txt`);
      assert.equal((await objectRow(db, "private", `${alice}/apikey.txt`))!.owner, alice);

      // GET allows an invalid JWT: it runs as anon, and anon sees no private bucket.
      const response = await fetch(`${api}/object/private/${alice}/secret.txt`, {
        headers: { Authorization: "Bearer not-a-jwt" },
      });
      const { status, body } = await errorOf(response);
      assert.equal(status, 400);
      assert.deepEqual(body, {
        statusCode: "404",
        code: "NoSuchBucket",
        error: "Bucket not found",
        message: "Bucket not found",
      });
    });

    await t.step("list returns the files and folders one level below the prefix", async () => {
      const carol = crypto.randomUUID();
      const asCarol = clientWith(stack, await userToken(keys, carol)).storage;
      for (const path of ["docs/a.txt", "docs/b.txt", "docs/sub/c.txt", "top.txt"]) {
        assert.equal((await asCarol.from("private").upload(`${carol}/${path}`, path)).error, null);
      }
      const root = await asCarol.from("private").list(carol);
      assert.equal(root.error, null);
      assert.deepEqual(root.data!.map((e) => [e.name, e.id === null]), [
        ["docs", true],
        ["top.txt", false],
      ]);
      const docs = await asCarol.from("private").list(`${carol}/docs`);
      assert.deepEqual(docs.data!.map((e) => e.name), ["sub", "a.txt", "b.txt"]);
      assert.equal(docs.data![1]!.metadata?.size, "docs/a.txt".length);

      const searched = await asCarol.from("private").list(`${carol}/docs/`, { search: "b" });
      assert.deepEqual(searched.data!.map((e) => e.name), ["b.txt"]);
      const paged = await asCarol.from("private").list(`${carol}/docs`, {
        limit: 1,
        offset: 1,
        sortBy: { column: "name", order: "desc" },
      });
      assert.equal(paged.data!.length, 1);
    });

    await t.step("remove deletes the rows and their bytes", async () => {
      const names = [`${alice}/gone/1.txt`, `${alice}/gone/2.txt`];
      for (const name of names) await asAlice.from("private").upload(name, name);
      const versions = await Promise.all(
        names.map(async (name) => (await objectRow(db, "private", name))!.version),
      );
      const removed = await asAlice.from("private").remove([...names, `${alice}/never.txt`]);
      assert.equal(removed.error, null);
      assert.deepEqual(removed.data!.map((row) => row.name).sort(), names);
      const files = await blobFiles(storageDir);
      for (const version of versions) assert.ok(!files.has(version));
      for (const name of names) assert.equal(await objectRow(db, "private", name), undefined);
      const download = await asAlice.from("private").download(names[0]!);
      assert.equal((download.error as { statusCode?: string }).statusCode, "404");

      const single = await fetch(`${api}/object/private/${alice}/notes.txt`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${aliceToken}` },
      });
      assert.deepEqual(await single.json(), { message: "Successfully deleted" });
      assert.equal(await objectRow(db, "private", `${alice}/notes.txt`), undefined);
    });

    await t.step(
      "signed URLs work without auth until they expire or are tampered with",
      async () => {
        const name = `${alice}/shared.bin`;
        const bytes = randomBytes(300);
        await asAlice.from("private").upload(name, bytes);
        const { data, error } = await asAlice.from("private").createSignedUrl(name, 60);
        assert.equal(error, null);
        const response = await fetch(data!.signedUrl);
        assert.equal(response.status, 200);
        assert.ok(response.headers.get("expires"));
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);

        const asDownload = await asAlice.from("private").createSignedUrl(name, 60, {
          download: "copy.bin",
        });
        const attachment = await fetch(asDownload.data!.signedUrl);
        assert.match(attachment.headers.get("content-disposition")!, /filename=copy\.bin/);
        await attachment.body?.cancel();

        // Change the first character of the signature (its last one may carry only padding bits).
        const tampered = data!.signedUrl.replace(
          /\.([^.])([^.]*)$/,
          (_, first: string, rest: string) => `.${first === "A" ? "B" : "A"}${rest}`,
        );
        let failure = await errorOf(await fetch(tampered));
        assert.equal(failure.status, 400);
        assert.equal(failure.body.code, "InvalidJWT");

        const now = Math.floor(Date.now() / 1000);
        const expired = await keys.signHs256({
          url: `private/${name}`,
          iat: now - 120,
          exp: now - 60,
        });
        failure = await errorOf(await fetch(`${api}/object/sign/private/${name}?token=${expired}`));
        assert.equal(failure.body.code, "InvalidJWT");
        assert.equal(failure.body.message, "jwt expired");

        const otherPath = await keys.signHs256({
          url: `private/${alice}/secret.txt`,
          iat: now,
          exp: now + 60,
        });
        failure = await errorOf(
          await fetch(`${api}/object/sign/private/${name}?token=${otherPath}`),
        );
        assert.equal(failure.body.code, "InvalidSignature");

        const many = await asAlice.from("private").createSignedUrls([name, `${alice}/missing`], 60);
        assert.equal(many.error, null);
        assert.ok(many.data![0]!.signedUrl);
        assert.equal(many.data![1]!.signedUrl, null);
        assert.ok(many.data![1]!.error);
        const second = await fetch(many.data![0]!.signedUrl!);
        assert.deepEqual(new Uint8Array(await second.arrayBuffer()), bytes);
      },
    );

    await t.step("a signed upload URL lets its holder upload that one path", async () => {
      const name = `${alice}/dropbox/report.txt`;
      const signed = await asAlice.from("private").createSignedUploadUrl(name);
      assert.equal(signed.error, null);
      const uploaded = await asAnon.from("private").uploadToSignedUrl(
        name,
        signed.data!.token,
        "from a signed URL",
      );
      assert.equal(uploaded.error, null);
      assert.equal(uploaded.data!.fullPath, `private/${name}`);
      const row = await objectRow(db, "private", name);
      assert.equal(row!.owner, alice);
      const downloaded = await asAlice.from("private").download(name);
      assert.equal(await downloaded.data!.text(), "from a signed URL");

      const again = await asAnon.from("private").uploadToSignedUrl(name, signed.data!.token, "x");
      assert.equal((again.error as { statusCode?: string }).statusCode, "409");
      const elsewhere = await asAnon.from("private").uploadToSignedUrl(
        `${alice}/dropbox/other.txt`,
        signed.data!.token,
        "x",
      );
      assert.equal((elsewhere.error as { code?: string }).code, "InvalidSignature");
      // A download token is no upload permission.
      const download = await asAlice.from("private").createSignedUrl(name, 60);
      const downloadToken = new URL(download.data!.signedUrl).searchParams.get("token")!;
      const misuse = await asAnon.from("private").uploadToSignedUrl(name, downloadToken, "x");
      assert.equal((misuse.error as { code?: string }).code, "InvalidSignature");

      const denied = await asBob.from("private").createSignedUploadUrl(`${alice}/dropbox/bob.txt`);
      assert.equal((denied.error as { statusCode?: string }).statusCode, "403");
    });

    await t.step("bucket CRUD works for the service role", async () => {
      const created = await asService.createBucket("scratch", {
        public: false,
        fileSizeLimit: "1KB",
        allowedMimeTypes: ["text/plain"],
      });
      assert.equal(created.error, null);
      assert.deepEqual(created.data, { name: "scratch" });
      const duplicate = await asService.createBucket("scratch", { public: false });
      assert.equal((duplicate.error as { statusCode?: string }).statusCode, "409");

      const bucket = await asService.getBucket("scratch");
      assert.equal(bucket.error, null);
      assert.equal(bucket.data!.file_size_limit, 1000);
      assert.deepEqual(bucket.data!.allowed_mime_types, ["text/plain"]);
      assert.equal(bucket.data!.public, false);

      const listed = await asService.listBuckets();
      assert.deepEqual(
        listed.data!.map((b) => b.id).sort(),
        ["limited", "pictures", "private", "scratch"],
      );
      const searched = await asService.listBuckets({ search: "scr" });
      assert.deepEqual(searched.data!.map((b) => b.id), ["scratch"]);

      const updated = await asService.updateBucket("scratch", {
        public: true,
        allowedMimeTypes: null,
        fileSizeLimit: null,
      });
      assert.deepEqual(updated.data, { message: "Successfully updated" });
      const changed = (await asService.getBucket("scratch")).data!;
      assert.equal(changed.public, true);
      assert.equal(changed.allowed_mime_types, null);
      assert.equal(changed.file_size_limit, null);

      await asService.from("scratch").upload("a/b.txt", "content");
      const version = (await objectRow(db, "scratch", "a/b.txt"))!.version;
      const notEmpty = await asService.deleteBucket("scratch");
      assert.equal((notEmpty.error as { statusCode?: string }).statusCode, "409");
      assert.equal((notEmpty.error as { code?: string }).code, "ResourceNotEmpty");

      const emptied = await asService.emptyBucket("scratch");
      assert.equal(emptied.error, null);
      assert.ok(!(await blobFiles(storageDir)).has(version));
      const deleted = await asService.deleteBucket("scratch");
      assert.deepEqual(deleted.data, { message: "Successfully deleted" });
      const gone = await asService.getBucket("scratch");
      assert.equal((gone.error as { statusCode?: string }).statusCode, "404");

      const tooBig = await asService.createBucket("huge", { public: false, fileSizeLimit: "1GB" });
      assert.equal((tooBig.error as { statusCode?: string }).statusCode, "413");
      const badName = await asService.createBucket("no/slash", { public: false });
      assert.equal((badName.error as { code?: string }).code, "InvalidBucketName");
    });

    await t.step("a plain user without bucket policies cannot see or change buckets", async () => {
      assert.equal((await asService.createBucket("spare", { public: false })).error, null);
      const created = await asAlice.createBucket("mine", { public: false });
      assert.equal((created.error as { statusCode?: string }).statusCode, "403");
      assert.deepEqual((await asAlice.listBuckets()).data, []);
      const got = await asAlice.getBucket("private");
      assert.equal((got.error as { statusCode?: string }).statusCode, "404");
      const updated = await asAlice.updateBucket("spare", { public: true });
      assert.equal((updated.error as { statusCode?: string }).statusCode, "404");
      const emptied = await asAlice.emptyBucket("private");
      assert.equal((emptied.error as { statusCode?: string }).statusCode, "403");
      const deleted = await asAlice.deleteBucket("spare");
      assert.equal((deleted.error as { statusCode?: string }).statusCode, "404");
      assert.equal((await asService.getBucket("spare")).data!.public, false);
    });

    await t.step("bucket size and MIME limits and the global cap are enforced", async () => {
      const before = await blobFiles(storageDir);
      const tooBig = await asAlice.from("limited").upload(`${alice}/big.txt`, "x".repeat(17));
      assert.equal((tooBig.error as { statusCode?: string }).statusCode, "413");
      assert.equal((tooBig.error as { code?: string }).code, "EntityTooLarge");
      const pdf = await asAlice.from("limited").upload(`${alice}/doc.pdf`, "%PDF", {
        contentType: "application/pdf",
      });
      assert.equal((pdf.error as { statusCode?: string }).statusCode, "415");
      assert.equal((pdf.error as { code?: string }).code, "InvalidMimeType");

      assert.equal(
        (await asAlice.from("limited").upload(`${alice}/ok.txt`, "sixteen bytes!!!"))
          .error,
        null,
      );
      const png = new Blob([randomBytes(10)], { type: "image/png" });
      assert.equal((await asAlice.from("limited").upload(`${alice}/ok.png`, png)).error, null);

      const overGlobal = await asAlice.from("private").upload(
        `${alice}/huge.bin`,
        randomBytes(GLOBAL_LIMIT + 1),
      );
      assert.equal((overGlobal.error as { statusCode?: string }).statusCode, "413");
      const overGlobalBlob = await asAlice.from("private").upload(
        `${alice}/huge.png`,
        new Blob([randomBytes(GLOBAL_LIMIT + 1)], { type: "image/png" }),
      );
      assert.equal((overGlobalBlob.error as { statusCode?: string }).statusCode, "413");
      assert.equal(
        (await asAlice.from("private").upload(`${alice}/max.bin`, randomBytes(GLOBAL_LIMIT)))
          .error,
        null,
      );

      const after = await blobFiles(storageDir);
      assert.equal(after.size, before.size + 3, "only the accepted uploads left files");
    });

    await t.step("move and copy keep the bytes and respect the policies", async () => {
      const bytes = randomBytes(64);
      await asAlice.from("private").upload(`${alice}/m/source.bin`, bytes);
      const version = (await objectRow(db, "private", `${alice}/m/source.bin`))!.version;

      const moved = await asAlice.from("private").move(
        `${alice}/m/source.bin`,
        `${alice}/m/moved.bin`,
      );
      assert.deepEqual(moved.data, { message: "Successfully moved" });
      assert.equal(await objectRow(db, "private", `${alice}/m/source.bin`), undefined);
      const movedRow = (await objectRow(db, "private", `${alice}/m/moved.bin`))!;
      assert.equal(movedRow.version, version);
      assert.deepEqual(
        await bytesOf((await asAlice.from("private").download(`${alice}/m/moved.bin`)).data),
        bytes,
      );

      const copied = await asAlice.from("private").copy(
        `${alice}/m/moved.bin`,
        `${alice}/m/copy.bin`,
      );
      assert.equal(copied.error, null);
      assert.equal(copied.data!.path, `private/${alice}/m/copy.bin`);
      const copyRow = (await objectRow(db, "private", `${alice}/m/copy.bin`))!;
      assert.notEqual(copyRow.version, version);
      assert.equal(copyRow.owner, alice);
      const files = await blobFiles(storageDir);
      assert.ok(files.has(version) && files.has(copyRow.version));
      assert.deepEqual(
        await bytesOf((await asAlice.from("private").download(`${alice}/m/copy.bin`)).data),
        bytes,
      );

      const intoBob = await asAlice.from("private").move(`${alice}/m/moved.bin`, `${bob}/gift.bin`);
      assert.equal((intoBob.error as { statusCode?: string }).statusCode, "403");
      const copyIntoBob = await asAlice.from("private").copy(
        `${alice}/m/moved.bin`,
        `${bob}/gift.bin`,
      );
      assert.equal((copyIntoBob.error as { statusCode?: string }).statusCode, "403");
      const onto = await asAlice.from("private").move(
        `${alice}/m/moved.bin`,
        `${alice}/m/copy.bin`,
      );
      assert.equal((onto.error as { statusCode?: string }).statusCode, "409");
      assert.ok(await objectRow(db, "private", `${alice}/m/moved.bin`));
    });

    await t.step("path traversal and control characters are refused as InvalidKey", async () => {
      const before = await blobFiles(storageDir);
      const traversal = await asAlice.from("private").upload(
        `${alice}/..%2F..%2F..%2Fescape.txt`,
        "x",
      );
      assert.equal((traversal.error as { code?: string }).code, "InvalidKey");
      const control = await asAlice.from("private").upload(`${alice}/bad%0Aname.txt`, "x");
      assert.equal((control.error as { code?: string }).code, "InvalidKey");
      const moved = await asAlice.from("private").move(`${alice}/m/moved.bin`, "../../outside.bin");
      assert.equal((moved.error as { code?: string }).code, "InvalidKey");
      const copied = await asAlice.from("private").copy(`${alice}/m/moved.bin`, `${alice}/./x.bin`);
      assert.equal((copied.error as { code?: string }).code, "InvalidKey");
      const leading = await fetch(`${api}/object/private/%2F${alice}/x.txt`, {
        method: "POST",
        headers: { Authorization: `Bearer ${aliceToken}`, "content-type": "text/plain" },
        body: "x",
      });
      assert.equal((await leading.json()).code, "InvalidKey");

      assert.deepEqual(await blobFiles(storageDir), before);
      const entries = [];
      for await (const entry of Deno.readDir(stack.root)) entries.push(entry.name);
      assert.deepEqual(entries.sort(), ["migrations", "objects"]);
    });

    await t.step("the service role bypasses RLS", async () => {
      const name = `${alice}/secret.txt`;
      const read = await asService.from("private").download(name);
      assert.equal(await read.data!.text(), "alice only");
      const listed = await asService.from("private").list(alice);
      assert.ok(listed.data!.some((e) => e.name === "secret.txt"));
      const written = await asService.from("private").upload(`${bob}/from-service.txt`, "hi");
      assert.equal(written.error, null);
      const row = await objectRow(db, "private", `${bob}/from-service.txt`);
      assert.equal(row!.owner, null);
      assert.equal(row!.owner_id, null);
      const removed = await asService.from("private").remove([`${bob}/from-service.txt`]);
      assert.equal(removed.data!.length, 1);
    });

    await t.step("public buckets are readable without a token", async () => {
      const bytes = randomBytes(50);
      await asService.from("pictures").upload("cat.png", new Blob([bytes], { type: "image/png" }));
      const publicUrl = asAnon.from("pictures").getPublicUrl("cat.png").data.publicUrl;
      const response = await fetch(publicUrl);
      assert.equal(response.status, 200);
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
      const plain = await fetch(`${api}/object/pictures/cat.png`);
      assert.deepEqual(new Uint8Array(await plain.arrayBuffer()), bytes);

      const privateViaPublic = await errorOf(
        await fetch(`${api}/object/public/private/${alice}/secret.txt`),
      );
      assert.equal(privateViaPublic.body.code, "NoSuchBucket");
    });

    await t.step("a trigger that raises fails the upload cleanly: no row, no file", async () => {
      const before = await blobFiles(storageDir);
      const name = `${alice}/explode-now.txt`;
      const { error } = await asAlice.from("private").upload(name, "boom");
      assert.ok(error);
      assert.equal((error as { statusCode?: string }).statusCode, "400");
      assert.equal(error.message, "Files named explode-* are refused");
      assert.equal(await objectRow(db, "private", name), undefined);
      assert.deepEqual(await blobFiles(storageDir), before);
    });

    await t.step("errors carry upstream's body and never a 500", async () => {
      const missingBucket = await asAlice.from("nope").download(`${alice}/x`);
      assert.equal((missingBucket.error as { statusCode?: string }).statusCode, "404");
      assert.equal(missingBucket.error?.message, "Bucket not found");

      const missingKey = await errorOf(
        await fetch(`${api}/object/private/${alice}/missing.txt`, {
          headers: { Authorization: `Bearer ${aliceToken}` },
        }),
      );
      assert.deepEqual(missingKey, {
        status: 400,
        body: {
          statusCode: "404",
          code: "NoSuchKey",
          error: "not_found",
          message: "Object not found",
        },
      });

      const malformed = await errorOf(
        await fetch(`${api}/object/list/private`, {
          method: "POST",
          headers: { Authorization: `Bearer ${aliceToken}`, "content-type": "application/json" },
          body: "{not json",
        }),
      );
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.code, "InvalidRequest");

      const invalid = await errorOf(
        await fetch(`${api}/object/sign/private/${alice}/secret.txt`, {
          method: "POST",
          headers: { Authorization: `Bearer ${aliceToken}`, "content-type": "application/json" },
          body: JSON.stringify({ expiresIn: 0 }),
        }),
      );
      assert.equal(invalid.status, 400);
      assert.match(invalid.body.message, /^body\/expiresIn /);

      const unknown = await fetch(`${api}/nothing/here`);
      assert.equal(unknown.status, 404);
      await unknown.body?.cancel();
    });
  } finally {
    await stack.close();
  }
});
