-- Per-organization redaction settings for message-preprocess, kept in
-- `organizations.settings -> 'redaction'` so they travel with the organization and are managed
-- under its existing policies: owners and admins update `settings`, members read it.
--
-- Contracts:
-- * settings.redaction is absent (redact every type, phones in region US) or an object with only
--   these keys, each optional:
--     enabled       boolean, false turns redaction off (flags and cleaning still apply)
--     types         array of type names out of: private_key, jwt, api_key, aws_key,
--                   github_token, slack_token, iban, card, ssn, email, phone
--                   (an empty array redacts nothing)
--     phone_region  two upper-case letters (ISO 3166-1), the region of numbers written without +
--   e.g. {"redaction": {"types": ["email", "card", "api_key"], "phone_region": "DE"}}.
-- * Anything else under `redaction` is refused (23514), so a typo cannot silently turn
--   redaction off. The type list matches REDACTION_TYPES in _shared/text/redact.ts.

alter table public.organizations
  add constraint organizations_redaction_settings_check check (
    not (settings ? 'redaction')
    or (
      jsonb_typeof(settings -> 'redaction') = 'object'
      and (settings -> 'redaction') - array['enabled', 'types', 'phone_region'] = '{}'::jsonb
      and (
        not (settings -> 'redaction' ? 'enabled')
        or jsonb_typeof(settings -> 'redaction' -> 'enabled') = 'boolean'
      )
      and (
        not (settings -> 'redaction' ? 'types')
        or (
          jsonb_typeof(settings -> 'redaction' -> 'types') = 'array'
          and (settings -> 'redaction' -> 'types') <@ '[
            "private_key", "jwt", "api_key", "aws_key", "github_token", "slack_token",
            "iban", "card", "ssn", "email", "phone"
          ]'::jsonb
        )
      )
      and (
        not (settings -> 'redaction' ? 'phone_region')
        or (
          jsonb_typeof(settings -> 'redaction' -> 'phone_region') = 'string'
          and (settings -> 'redaction' ->> 'phone_region') ~ '^[A-Z]{2}$'
        )
      )
    )
  );
