import assert from "node:assert/strict";
import {
  isCardNumber,
  redact,
  REDACTION_TYPES,
} from "../../supabase/functions/_shared/text/redact.ts";

/** Redacts and asserts both the text and the report. */
function check(input: string, expected: string, report: Record<string, number> = {}) {
  const result = redact(input);
  assert.equal(result.text, expected);
  assert.deepEqual(
    Object.fromEntries(result.redactions.map((r) => [r.type, r.count])),
    report,
  );
}

Deno.test("redact() masks email addresses", () => {
  check(
    "Mail alice@example.com or bob.smith+tag@mail.example.co.uk today",
    "Mail [EMAIL] or [EMAIL] today",
    { email: 2 },
  );
});

Deno.test("redact() masks internationalised addresses", () => {
  check(
    "Write to jos\u00E9@ex\u00E1mple.com or \u7528\u6237@\u4F8B\u5B50.\u5E7F\u544A now",
    "Write to [EMAIL] or [EMAIL] now",
    { email: 2 },
  );
});

Deno.test("redact() keeps email-like strings in code: no dotted domain, a version, a file name", () => {
  const code = "@app.route('/x') user@localhost a@b pkg@1.2.3 icon@2x.png y = obj@matrix.T";
  check(code, code);
});

Deno.test("redact() masks a Luhn-valid card number and keeps an invalid one", () => {
  check(
    "Visa 4111 1111 1111 1111, Amex 3782-822463-10005, MC 5555555555554444; typo 4111 1111 1111 1112",
    "Visa [CARD], Amex [CARD], MC [CARD]; typo 4111 1111 1111 1112",
    { card: 3 },
  );
  assert.equal(isCardNumber("4111111111111111"), true);
  assert.equal(isCardNumber("4111111111111112"), false);
  assert.equal(isCardNumber("411111111111"), false, "12 digits is too short");
});

Deno.test("redact() keeps Luhn-valid digit runs outside the card networks' ranges", () => {
  // 16 digits that pass Luhn but start with 9 (no network issues those), e.g. a shipment id.
  const id = [..."0123456789"].map((d) => "911111111111111" + d).find(isCardNumber)!;
  assert.ok(id);
  check(`shipment ${id}`, `shipment ${id}`);
});

Deno.test("redact() masks an IBAN that passes mod-97 and keeps one with a wrong check digit", () => {
  check(
    "Pay DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432. Not DE88 3704 0044 0532 0130 00",
    "Pay [IBAN] or [IBAN]. Not DE88 3704 0044 0532 0130 00",
    { iban: 2 },
  );
});

Deno.test("redact() takes only the country's IBAN length when words follow", () => {
  check("IBAN DE89 3704 0044 0532 0130 00 AB12 thanks", "IBAN [IBAN] AB12 thanks", { iban: 1 });
});

Deno.test("redact() masks US SSNs in valid ranges only", () => {
  check("SSN 123-45-6789 or 123 45 6789", "SSN [SSN] or [SSN]", { ssn: 2 });
  const invalid =
    "000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000 123-45 6789 123456789";
  check(invalid, invalid);
});

Deno.test("redact() masks nine bare digits as SSN only when labelled so", () => {
  check("SSN: 123456789, social security no. 234567890", "SSN: [SSN], social security no. [SSN]", {
    ssn: 2,
  });
  check("SSN 000123456 and account 123456789", "SSN 000123456 and account 123456789");
});

Deno.test("redact() masks phone numbers libphonenumber-js finds valid", () => {
  check(
    "Call (415) 555-2671, +44 20 7946 0958 or phone: 4155552671",
    "Call [PHONE], [PHONE] or phone: [PHONE]",
    { phone: 3 },
  );
});

Deno.test("redact() keeps phone-like order numbers and invalid numbers", () => {
  const text =
    "Order #12345678901, order 4155552671, invoice 20231130001, ref 2024-11-30, (123) 456-7890";
  check(text, text);
});

Deno.test("redact() uses the phone region for national numbers", () => {
  assert.equal(redact("Ring 06 12 34 56 78").text, "Ring 06 12 34 56 78");
  assert.equal(redact("Ring 06 12 34 56 78", { phoneRegion: "FR" }).text, "Ring [PHONE]");
});

Deno.test("redact() masks OpenAI and Anthropic API keys and keeps short or word-like ones", () => {
  check(
    "keys sk-proj-abcDEF1234567890abcdefGHIJ, sk-ant-api03-AbCdEf0123456789xyzXYZ_-abc, " +
      "sk-0123456789abcdefghijABCDEFGHIJ",
    "keys [API_KEY], [API_KEY], [API_KEY]",
    { api_key: 3 },
  );
  const near = "sk-short, risk-management-framework-2024, sk-this-is-a-long-hyphenated-name";
  check(near, near);
});

Deno.test("redact() masks AWS access key ids and secrets", () => {
  check(
    "AKIAIOSFODNN7EXAMPLE ASIAY34FZKBOKMUTVV7A aws_secret_access_key = " +
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "[AWS_KEY] [AWS_KEY] aws_secret_access_key = [AWS_KEY]",
    { aws_key: 3 },
  );
  const near = "AKIAIOSFODNN7EXAMPL AKIAiosfodnn7example XAKIAIOSFODNN7EXAMPLE";
  check(near, near);
});

Deno.test("redact() masks GitHub tokens", () => {
  check(
    "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB and " +
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "[GITHUB_TOKEN] and [GITHUB_TOKEN]",
    { github_token: 2 },
  );
  check(
    "ghp_short gh_0123456789abcdefghijklmnopqrstuvwxyzAB",
    "ghp_short gh_0123456789abcdefghijklmnopqrstuvwxyzAB",
  );
});

Deno.test("redact() masks Slack tokens", () => {
  check(
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "[SLACK_TOKEN]",
    { slack_token: 1 },
  );
  check("xox-nope xoxb-short", "xox-nope xoxb-short");
});

Deno.test("redact() masks JWTs and keeps two-part dotted base64", () => {
  check(
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Bearer [JWT]",
    { jwt: 1 },
  );
  const near = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0 and eyJhbGci.notjwt.x";
  check(near, near);
});

Deno.test("redact() masks PEM private key blocks, cut off ones too, and keeps public keys", () => {
  check(
    "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----\nafter",
    "key:\n[PRIVATE_KEY]\nafter",
    { private_key: 1 },
  );
  check(
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nThat is all I have.",
    "[PRIVATE_KEY]\nThat is all I have.",
    { private_key: 1 },
  );
  const pub =
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----";
  check(pub, pub);
});

Deno.test("redact() counts per type in one report and never counts a value twice", () => {
  const result = redact(
    "alice@example.com, 4111 1111 1111 1111, 4111 1111 1111 1112, sk-proj-abcDEF1234567890abcdefGHIJ, bob@example.org",
  );
  assert.equal(result.text, "[EMAIL], [CARD], 4111 1111 1111 1112, [API_KEY], [EMAIL]");
  assert.deepEqual(result.redactions, [
    { type: "api_key", count: 1 },
    { type: "card", count: 1 },
    { type: "email", count: 2 },
  ]);
});

Deno.test("redact() honours the options: off, or only some types", () => {
  const text = "alice@example.com 4111 1111 1111 1111";
  assert.deepEqual(redact(text, { enabled: false }), { text, redactions: [] });
  assert.deepEqual(redact(text, { types: ["card"] }), {
    text: "alice@example.com [CARD]",
    redactions: [{ type: "card", count: 1 }],
  });
  assert.deepEqual(redact(text, { types: [] }), { text, redactions: [] });
  assert.equal(REDACTION_TYPES.length, 11);
});

Deno.test("redact() leaves ordinary prose alone", () => {
  const prose = "On 2024-11-30 we shipped v1.2.3 to 1,250 users; see section 4.2 (pages 10-12).";
  check(prose, prose);
});
