-- The pending-expiry timer, the late-scan rule and history retention.
--
-- A session whose QR code is never scanned would stay pending forever.
-- Every gateway replica calls expire_pending_whatsapp_sessions on a timer;
-- one UPDATE takes the pending rows older than the TTL with FOR UPDATE SKIP
-- LOCKED, so any number of replicas sweeping at once expire each session
-- once, and the history records it once, with source expiry.
--
-- The orchestrator's report of a live connection is the truth, so a
-- session the timer expired is connected again by the webhook (a late
-- scan). One expired by a user or by the orchestrator stays final.

-- Whether the status change the current write makes from expired to
-- connected is a late scan: the write is the orchestrator's webhook, and
-- the session's last status change was the timer's.
create or replace function public.whatsapp_session_late_scan_allowed(p_id bigint)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(
    (select c.source = 'webhook' from public.whatsapp_session_write_context() c)
    and (select e.source = 'expiry'
         from public.whatsapp_session_events e
         where e.whatsapp_session_id = p_id
           and e.to_status is distinct from e.from_status
         order by e.id desc
         limit 1),
    false)
$$;

-- The transition trigger of 20261126000003, with the late-scan exception.
create or replace function public.whatsapp_sessions_check_status_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- A status outside the four is not a transition but bad data; letting it
  -- through makes the check constraint refuse it (SQLSTATE 23514) instead.
  if new.status in ('pending', 'connected', 'disconnected', 'expired')
     and not public.whatsapp_session_status_transition_allowed(old.status, new.status)
     and not (old.status = 'expired' and new.status = 'connected'
              and public.whatsapp_session_late_scan_allowed(old.id)) then
    raise sqlstate 'PT409'
      using message = pg_catalog.format('cannot change status from %s to %s', old.status, new.status),
            hint = 'invalid_transition';
  end if;
  return new;
end
$$;

-- Expires up to p_limit sessions pending for longer than p_ttl, oldest
-- first, in one statement, and returns them as they are now. Rows another
-- sweep holds are skipped: that sweep expires them. The function's own
-- setting of whatsapp_sessions.write_source makes the history say expiry,
-- and ends with the call.
create or replace function public.expire_pending_whatsapp_sessions(p_ttl interval, p_limit integer default 1000)
returns setof public.whatsapp_sessions
language plpgsql
volatile
set search_path = ''
set whatsapp_sessions.write_source = 'expiry'
as $$
begin
  if p_ttl is null or p_ttl <= interval '0' then
    raise invalid_parameter_value using message = 'p_ttl must be a positive interval';
  end if;
  if p_limit is null or p_limit < 1 then
    raise invalid_parameter_value using message = 'p_limit must be a positive integer';
  end if;
  return query
    update public.whatsapp_sessions s
    set status = 'expired'
    where s.status = 'pending'
      and s.id in (
        select p.id
        from public.whatsapp_sessions p
        where p.status = 'pending' and p.created_at < pg_catalog.now() - p_ttl
        order by p.created_at, p.id
        limit p_limit
        for update skip locked)
    returning s.*;
end
$$;

-- Deletes up to p_limit history entries older than p_retention, oldest
-- first, and says how many. Rows another replica is deleting are skipped.
create or replace function public.prune_whatsapp_session_events(p_retention interval, p_limit integer default 10000)
returns integer
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  if p_retention is null or p_retention <= interval '0' then
    raise invalid_parameter_value using message = 'p_retention must be a positive interval';
  end if;
  if p_limit is null or p_limit < 1 then
    raise invalid_parameter_value using message = 'p_limit must be a positive integer';
  end if;
  delete from public.whatsapp_session_events e
  where e.id in (
    select o.id
    from public.whatsapp_session_events o
    where o.at < pg_catalog.now() - p_retention
    order by o.id
    limit p_limit
    for update skip locked);
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

-- Only the gateway (service_role) may call them.
revoke all on function public.whatsapp_session_late_scan_allowed(bigint) from public;
revoke all on function public.expire_pending_whatsapp_sessions(interval, integer) from public;
revoke all on function public.prune_whatsapp_session_events(interval, integer) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute pg_catalog.format('revoke all on function public.whatsapp_session_late_scan_allowed(bigint) from %I', r);
      execute pg_catalog.format('revoke all on function public.expire_pending_whatsapp_sessions(interval, integer) from %I', r);
      execute pg_catalog.format('revoke all on function public.prune_whatsapp_session_events(interval, integer) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    -- The transition trigger asks the rule with the updater's privileges.
    grant execute on function public.whatsapp_session_late_scan_allowed(bigint) to service_role;
    grant execute on function public.expire_pending_whatsapp_sessions(interval, integer) to service_role;
    grant execute on function public.prune_whatsapp_session_events(interval, integer) to service_role;
    grant delete on table public.whatsapp_session_events to service_role;
  end if;
end
$$;

comment on function public.whatsapp_session_late_scan_allowed(bigint) is
  'Whether the current write may connect the expired WhatsApp session p_id again: it is the orchestrator''s webhook and the session''s last status change was the pending-expiry timer''s (a late scan).';
comment on function public.whatsapp_sessions_check_status_transition() is
  'Trigger: refuses a whatsapp_sessions status change that whatsapp_session_status_transition_allowed forbids, with SQLSTATE PT409 and hint invalid_transition, except a late scan (whatsapp_session_late_scan_allowed).';
comment on function public.expire_pending_whatsapp_sessions(interval, integer) is
  'Expires up to p_limit WhatsApp sessions pending for longer than p_ttl, in one statement (FOR UPDATE SKIP LOCKED, so concurrent sweeps expire each once); the history records source expiry. Returns the expired rows.';
comment on function public.prune_whatsapp_session_events(interval, integer) is
  'Deletes up to p_limit whatsapp_session_events rows older than p_retention; returns how many.';

notify pgrst, 'reload schema';
