-- pg_net, which the job dispatcher (`private.dispatch_jobs`, 20261122150300_job_queue) calls at
-- run time through `net.http_post`. A fresh hosted project does not have it: without this
-- migration every dispatcher cron job fails there with `schema "net" does not exist`. Created in
-- `extensions` as the Dashboard does (pg_net itself always creates its objects in schema `net`).
-- Later migrations may narrow who can call net.* (they run after this one).
create extension if not exists pg_net with schema extensions;
