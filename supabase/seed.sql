-- Local demo data, applied on a fresh local database only (`supabase db reset`, or the embedded
-- stack on first boot). Never run it against a hosted project: the passwords are public.
--
--   organization  user                role    password
--   Acme          alice@acme.test     owner   password123
--   Acme          bob@acme.test       member  password123
--   Globex        carol@globex.test   owner   password123
--
-- Each user also gets a personal organization from the on_auth_user_created trigger. Acme has two
-- active agents and Globex one; each organization has two knowledge documents with sections. The
-- sections and agents have no embeddings: inserting them enqueued `document_embeddings` and
-- `agent_embeddings` jobs for the embedding worker. Until it runs, hybrid_search finds the
-- sections by full text (e.g. "warranty" finds Acme's warranty policy for Acme's members).
-- Idempotent: every insert skips rows that exist.

-- ---------------------------------------------------------------------------------------------
-- Users. GoTrue reads these columns when signing in; the token columns must be '' (not NULL) or
-- hosted GoTrue fails with "Database error querying schema" (supabase/auth#1940).
-- ---------------------------------------------------------------------------------------------
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
  confirmation_token, recovery_token, email_change_token_new, email_change
)
select
  '00000000-0000-0000-0000-000000000000',
  u.id,
  'authenticated',
  'authenticated',
  u.email,
  extensions.crypt('password123', extensions.gen_salt('bf')),
  now(),
  '{"provider": "email", "providers": ["email"]}',
  jsonb_build_object('full_name', u.full_name),
  now(),
  now(),
  '',
  '',
  '',
  ''
from (
  values
    ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'::uuid, 'alice@acme.test', 'Alice Anderson'),
    ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'::uuid, 'bob@acme.test', 'Bob Brown'),
    ('cccccccc-cccc-4ccc-8ccc-cccccccccccc'::uuid, 'carol@globex.test', 'Carol Chen')
) as u (id, email, full_name)
on conflict (id) do nothing;

insert into auth.identities (
  provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
)
select
  u.id::text,
  u.id,
  jsonb_build_object(
    'sub', u.id::text, 'email', u.email, 'email_verified', true, 'phone_verified', false
  ),
  'email',
  now(),
  now(),
  now()
from auth.users u
where u.id in (
  'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
  'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
  'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
)
on conflict (provider_id, provider) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Organizations. created_by makes the creator the owner (trigger add_creator_as_owner).
-- ---------------------------------------------------------------------------------------------
insert into public.organizations (id, name, slug, plan, created_by)
values
  ('10000000-0000-4000-8000-000000000001', 'Acme', 'acme', 'pro',
   'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'),
  ('10000000-0000-4000-8000-000000000002', 'Globex', 'globex', 'free',
   'cccccccc-cccc-4ccc-8ccc-cccccccccccc')
on conflict (id) do nothing;

insert into public.organization_members (organization_id, user_id, role)
values
  ('10000000-0000-4000-8000-000000000001', 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'owner'),
  ('10000000-0000-4000-8000-000000000001', 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'member'),
  ('10000000-0000-4000-8000-000000000002', 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'owner')
on conflict (organization_id, user_id) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Agents
-- ---------------------------------------------------------------------------------------------
insert into public.agents (
  id, organization_id, owner_id, name, description, type, status, system_prompt, model,
  temperature, max_tokens, summary_threshold
)
values
  ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
   'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
   'Acme Support Assistant',
   'Answers customer questions about Acme products, warranties and returns from the knowledge base.',
   'rag', 'active',
   'You are Acme''s support assistant. Answer only from the provided Acme documents and name '
   'the document you used. If the documents do not answer the question, say you do not know.',
   'gpt-4o-mini', 0.2, 800, 20),
  ('20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
   'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
   'Acme Release Notes Writer',
   'Turns engineering change lists into short, friendly release notes for Acme customers.',
   'assistant', 'active',
   'You write release notes for Acme customers: short, concrete, no internal jargon.',
   'gpt-4o-mini', 0.7, 1200, 30),
  ('20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
   'cccccccc-cccc-4ccc-8ccc-cccccccccccc',
   'Globex Security Analyst',
   'Answers questions about Globex security and data retention policies from the knowledge base.',
   'rag', 'active',
   'You are Globex''s security analyst. Answer from the Globex policy documents and quote them.',
   'gpt-4o-mini', 0.1, 1000, 20)
on conflict (id) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Knowledge: two documents per organization, already chunked into sections.
-- ---------------------------------------------------------------------------------------------
insert into public.documents (
  id, organization_id, created_by, title, source, mime_type, status, tags
)
values
  ('30000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
   'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'Acme Anvil Warranty Policy', 'api', 'text/markdown',
   'processed', '{policy,warranty}'),
  ('30000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
   'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Acme Employee Onboarding Guide', 'api',
   'text/markdown', 'processed', '{hr,onboarding}'),
  ('30000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
   'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'Globex Security Review Handbook', 'api',
   'text/markdown', 'processed', '{security,policy}'),
  ('30000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000002',
   'cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'Globex Data Retention Policy', 'api',
   'text/markdown', 'processed', '{policy,privacy}')
on conflict (id) do nothing;

insert into public.document_sections (document_id, ordinal, heading, content)
values
  ('30000000-0000-4000-8000-000000000001', 0, 'Coverage',
   'Every Acme anvil carries a ten-year limited warranty against cracks, chips and loss of '
   'flatness on the working face, counted from the date of delivery.'),
  ('30000000-0000-4000-8000-000000000001', 1, 'Filing a warranty claim',
   'To file a warranty claim, send the order number and a photo of the damage to '
   'support@acme.test. A replacement anvil ships within five business days of approval.'),
  ('30000000-0000-4000-8000-000000000001', 2, 'Exclusions',
   'The warranty does not cover damage from drops of more than three hundred metres, rocket '
   'propulsion, or use as a counterweight in improvised catapults.'),
  ('30000000-0000-4000-8000-000000000002', 0, 'Your first week',
   'New employees meet their buddy on day one, finish security training by day three and ship '
   'a small change to the catalogue site by the end of the week.'),
  ('30000000-0000-4000-8000-000000000002', 1, 'Accounts and tools',
   'IT creates your laptop login, e-mail and chat accounts before you start. Request access to '
   'the parts database through the service desk.'),
  ('30000000-0000-4000-8000-000000000002', 2, 'Expenses',
   'Submit travel and equipment expenses within thirty days with receipts attached; your '
   'manager approves them in the finance portal.'),
  ('30000000-0000-4000-8000-000000000003', 0, 'Quarterly access review',
   'Every quarter, system owners confirm who can reach production data and revoke access that '
   'is no longer needed. Findings go to the security committee.'),
  ('30000000-0000-4000-8000-000000000003', 1, 'Incident response',
   'Report suspected incidents to the on-call security engineer at once. The first responder '
   'opens an incident channel, contains the threat and keeps a timeline.'),
  ('30000000-0000-4000-8000-000000000003', 2, 'Phishing drills',
   'Globex runs a phishing drill every month. Employees who report the simulated message within '
   'an hour earn a mention in the security newsletter.'),
  ('30000000-0000-4000-8000-000000000004', 0, 'Retention periods',
   'Customer records are kept for seven years after the contract ends; application logs for '
   'ninety days; backups for thirty-five days.'),
  ('30000000-0000-4000-8000-000000000004', 1, 'Deletion requests',
   'A customer may ask for deletion of personal data at any time. Privacy operations confirm '
   'the request within three days and complete it within thirty.')
on conflict (document_id, ordinal) do nothing;

-- ---------------------------------------------------------------------------------------------
-- Where the queue dispatcher posts: the local API gateway and the local service_role key (the
-- Supabase CLI's public demo key). The local stack rewrites both at boot when its port differs.
-- ---------------------------------------------------------------------------------------------
select vault.create_secret('http://127.0.0.1:54321', 'project_url', 'Base URL for edge functions')
where not exists (select 1 from vault.secrets where name = 'project_url');

select vault.create_secret(
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU',
  'service_role_key',
  'Bearer token the queue dispatcher sends to worker functions'
)
where not exists (select 1 from vault.secrets where name = 'service_role_key');
