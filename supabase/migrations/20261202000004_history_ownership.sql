-- The history of a session (20261202000001_session_events.sql) scoped to
-- its owner like the session itself (20261202000003_session_ownership.sql):
-- with p_owner_column, only the owner of the session's sesión reads it. A
-- deleted session's owner is the owner of the sesión its newest history
-- entry names. Anyone else gets PT404 worded exactly as for an id that
-- never existed, so other users' ids cannot be probed.

-- Whether sesiones row p_sesion_id belongs to p_owner, without locking
-- (reads run in read-only transactions).
create or replace function public.whatsapp_sessions_sesion_owner_is(p_sesion_id bigint, p_column text, p_owner text)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
declare
  v_owned boolean;
begin
  perform public.whatsapp_sessions_check_owner_column(p_column);
  if p_sesion_id is null or p_owner is null then
    return false;
  end if;
  execute pg_catalog.format(
    'select true from public.sesiones where id = $1 and %I::text = $2', p_column)
    into v_owned
    using p_sesion_id, p_owner;
  return coalesce(v_owned, false);
end
$$;

drop function if exists public.whatsapp_session_history(bigint);
create or replace function public.whatsapp_session_history(
  p_id bigint, p_owner_column text default null, p_owner text default null)
returns table (
  id bigint,
  whatsapp_session_id bigint,
  session_id text,
  from_status text,
  to_status text,
  changes text[],
  source text,
  request_id text,
  at timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_known boolean := false;
  v_sesion_id bigint;
begin
  select true, s.sesion_id into v_known, v_sesion_id
  from public.whatsapp_sessions s where s.id = p_id;
  if not found then
    select true, e.sesion_id into v_known, v_sesion_id
    from public.whatsapp_session_events e
    where e.whatsapp_session_id = p_id
    order by e.id desc
    limit 1;
  end if;
  if not coalesce(v_known, false)
     or (p_owner_column is not null
         and not public.whatsapp_sessions_sesion_owner_is(v_sesion_id, p_owner_column, p_owner)) then
    raise sqlstate 'PT404'
      using message = pg_catalog.format('no WhatsApp session with id %s', p_id),
            hint = 'not_found';
  end if;
  return query
    select e.id, e.whatsapp_session_id, e.session_id, e.from_status, e.to_status,
           e.changes, e.source, e.request_id, e.at
    from public.whatsapp_session_events e
    where e.whatsapp_session_id = p_id
    order by e.id;
end
$$;

do $$
declare
  f text;
  r text;
begin
  foreach f in array array[
    'public.whatsapp_sessions_sesion_owner_is(bigint, text, text)',
    'public.whatsapp_session_history(bigint, text, text)'
  ] loop
    execute pg_catalog.format('revoke all on function %s from public', f);
    foreach r in array array['anon', 'authenticated'] loop
      if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
        execute pg_catalog.format('revoke all on function %s from %I', f, r);
      end if;
    end loop;
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
      execute pg_catalog.format('grant execute on function %s to service_role', f);
    end if;
  end loop;
end
$$;

comment on function public.whatsapp_sessions_sesion_owner_is(bigint, text, text) is
  'Whether sesiones row p_sesion_id belongs to p_owner (by column p_column), without locking.';
comment on function public.whatsapp_session_history(bigint, text, text) is
  'The history entries of WhatsApp session p_id, oldest first; PT404 when the id never existed or, with p_owner_column, when its sesión (for a deleted session, the one its newest entry names) does not belong to p_owner.';

notify pgrst, 'reload schema';
