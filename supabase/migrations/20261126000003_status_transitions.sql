-- Status transitions of whatsapp_sessions (docs/api.md, Status changes), enforced by
-- the database so that no client can get around them and no two writers
-- can race past them: a BEFORE UPDATE trigger sees the row version its
-- UPDATE actually replaces (at READ COMMITTED a waiting UPDATE re-reads the
-- newest version before the trigger runs), so the check and the write are
-- one atomic step.

-- The rule, stated once. Everything else (the trigger, the gateway's own
-- functions) asks it.
create or replace function public.whatsapp_session_status_transition_allowed(p_from text, p_to text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(
    p_from = p_to
    or (p_from, p_to) in (
      ('pending', 'connected'),
      ('pending', 'disconnected'),
      ('pending', 'expired'),
      ('connected', 'disconnected'),
      ('disconnected', 'connected'),
      ('disconnected', 'expired')
    ),
    false)
$$;

-- PostgREST answers SQLSTATE PTxyz with HTTP status xyz; the gateway knows a
-- refused transition by code PT409 with hint invalid_transition.
create or replace function public.whatsapp_sessions_check_status_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- A status outside the four is not a transition but bad data; letting it
  -- through makes the check constraint refuse it (SQLSTATE 23514) instead.
  if new.status in ('pending', 'connected', 'disconnected', 'expired')
     and not public.whatsapp_session_status_transition_allowed(old.status, new.status) then
    raise sqlstate 'PT409'
      using message = pg_catalog.format('cannot change status from %s to %s', old.status, new.status),
            hint = 'invalid_transition';
  end if;
  return new;
end
$$;

drop trigger if exists whatsapp_sessions_check_status_transition on public.whatsapp_sessions;
create trigger whatsapp_sessions_check_status_transition
  before update of status on public.whatsapp_sessions
  for each row
  when (old.status is distinct from new.status)
  execute function public.whatsapp_sessions_check_status_transition();

-- Neither function is an API: nobody but the table's own trigger calls them.
-- Supabase grants execute on new functions in public to anon and
-- authenticated explicitly, so revoking from public alone is not enough.
revoke all on function public.whatsapp_session_status_transition_allowed(text, text) from public;
revoke all on function public.whatsapp_sessions_check_status_transition() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute pg_catalog.format('revoke all on function public.whatsapp_session_status_transition_allowed(text, text) from %I', r);
      execute pg_catalog.format('revoke all on function public.whatsapp_sessions_check_status_transition() from %I', r);
    end if;
  end loop;
  -- The trigger calls the rule with the privileges of whoever updates the
  -- row, which through the gateway is service_role.
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    grant execute on function public.whatsapp_session_status_transition_allowed(text, text) to service_role;
  end if;
end
$$;

comment on function public.whatsapp_session_status_transition_allowed(text, text) is
  'Whether a whatsapp_sessions.status may change from p_from to p_to: pending to connected, disconnected or expired; connected to disconnected; disconnected to connected or expired; the same status again. expired is final.';
comment on function public.whatsapp_sessions_check_status_transition() is
  'Trigger: refuses a whatsapp_sessions status change that whatsapp_session_status_transition_allowed forbids, with SQLSTATE PT409 and hint invalid_transition.';
