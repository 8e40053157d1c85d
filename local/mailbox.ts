/**
 * The local mailbox: what Inbucket/Mailpit give with `supabase start`. The auth emulator's
 * emails (password recovery, magic links and OTPs, signup confirmations) land here instead of an
 * SMTP server, kept in memory (the newest 500) until the stack stops.
 *
 * Served on the [inbucket] port of config.toml (54324) and at `<API URL>/mailbox`, with a subset
 * of Mailpit's HTTP API, so scripts written for `supabase start`'s Mailpit keep working:
 * - `GET  /api/v1/messages?limit=&start=`  newest first: `{ total, unread, count, messages_count,
 *   start, tags, messages: [{ ID, MessageID, Read, From, To, Cc, Bcc, ReplyTo, Subject, Created,
 *   Tags, Size, Attachments, Snippet }] }`
 * - `GET  /api/v1/message/:id`  one message with `Text` and `HTML` (marks it read)
 * - `DELETE /api/v1/messages`  deletes all, or `{ "IDs": [...] }`
 * - `GET  /`  an HTML page listing the messages; `GET /view/:id` one message.
 */
import { Hono } from "hono";
import type { Mail, Mailer } from "./auth/otp.ts";

/** The sender GoTrue uses when no SMTP sender is configured (the CLI's default). */
const FROM = { Name: "", Address: "admin@email.com" };
const KEEP = 500;

export interface StoredMail extends Mail {
  id: string;
  created: Date;
  read: boolean;
}

export class Mailbox implements Mailer {
  readonly #messages: StoredMail[] = [];

  send(mail: Mail): void {
    this.#messages.unshift({ ...mail, id: shortId(), created: new Date(), read: false });
    this.#messages.splice(KEEP);
  }

  /** Newest first. */
  list(): readonly StoredMail[] {
    return this.#messages;
  }

  get(id: string): StoredMail | undefined {
    return this.#messages.find((m) => m.id === id);
  }

  delete(ids?: readonly string[]): void {
    if (!ids) {
      this.#messages.splice(0);
      return;
    }
    const drop = new Set(ids);
    for (let i = this.#messages.length - 1; i >= 0; i--) {
      if (drop.has(this.#messages[i]!.id)) this.#messages.splice(i, 1);
    }
  }
}

function shortId(): string {
  // Mailpit's IDs are 22-character base62 strings; any unique URL-safe string will do.
  return crypto.randomUUID().replaceAll("-", "").slice(0, 22);
}

function addresses(to: string) {
  return [{ Name: "", Address: to }];
}

function summary(m: StoredMail) {
  return {
    ID: m.id,
    MessageID: `${m.id}@local`,
    Read: m.read,
    From: FROM,
    To: addresses(m.to),
    Cc: [],
    Bcc: [],
    ReplyTo: [],
    Subject: m.subject,
    Created: m.created.toISOString(),
    Tags: [],
    Size: new TextEncoder().encode(m.text + m.html).length,
    Attachments: 0,
    Snippet: m.text.replace(/\s+/g, " ").trim().slice(0, 250),
  };
}

/** The mailbox's HTTP API and pages (mounted at / on its own port and at /mailbox). */
export function createMailboxApp(mailbox: Mailbox): Hono {
  const app = new Hono();

  app.get("/api/v1/messages", (c) => {
    const all = mailbox.list();
    const start = Math.max(0, Number(c.req.query("start") ?? 0) || 0);
    const limit = Math.max(1, Math.min(500, Number(c.req.query("limit") ?? 50) || 50));
    const page = all.slice(start, start + limit);
    return c.json({
      total: all.length,
      unread: all.filter((m) => !m.read).length,
      count: page.length,
      messages_count: all.length,
      start,
      tags: [],
      messages: page.map(summary),
    });
  });

  app.get("/api/v1/message/:id", (c) => {
    const m = mailbox.get(c.req.param("id"));
    if (!m) return c.text("message not found", 404);
    m.read = true;
    return c.json({
      ...summary(m),
      ReturnPath: FROM.Address,
      Date: m.created.toISOString(),
      Text: m.text,
      HTML: m.html,
      Inline: [],
      Attachments: [],
    });
  });

  app.delete("/api/v1/messages", async (c) => {
    const text = await c.req.text();
    let ids: string[] | undefined;
    if (text.trim() !== "") {
      try {
        const body = JSON.parse(text) as { IDs?: unknown };
        if (Array.isArray(body.IDs)) ids = body.IDs.map(String);
      } catch {
        return c.text("invalid JSON body", 400);
      }
    }
    mailbox.delete(ids);
    return c.text("ok");
  });

  app.get("/", (c) => {
    const base = c.req.path.endsWith("/") ? c.req.path : `${c.req.path}/`;
    const rows = mailbox.list().map((m) =>
      `<tr class="${m.read ? "" : "unread"}"><td>${escape(m.created.toISOString())}</td>` +
      `<td>${escape(m.to)}</td><td><a href="${base}view/${m.id}">${escape(m.subject)}</a></td></tr>`
    ).join("\n");
    return c.html(page(
      "Local mailbox",
      `<p>Emails sent by the local stack's auth (${mailbox.list().length}). ` +
        `API: <code>${base}api/v1/messages</code></p>\n` +
        (rows
          ? `<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>\n${rows}</table>`
          : "<p>No messages yet.</p>"),
    ));
  });

  app.get("/view/:id", (c) => {
    const m = mailbox.get(c.req.param("id"));
    if (!m) return c.text("message not found", 404);
    m.read = true;
    return c.html(page(
      m.subject,
      `<p><a href="../">All messages</a></p>\n<p>To: ${escape(m.to)}<br>` +
        `Received: ${escape(m.created.toISOString())}</p>\n` +
        `<iframe sandbox="allow-popups allow-top-navigation-by-user-activation" srcdoc="${
          escape(m.html)
        }"></iframe>\n<pre>${escape(m.text)}</pre>`,
    ));
  });

  return app;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; } td, th { padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
tr.unread td { font-weight: bold; } iframe { width: 100%; height: 20rem; border: 1px solid #ddd; }
</style></head>
<body><h1>${escape(title)}</h1>
${body}
</body></html>`;
}

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}
