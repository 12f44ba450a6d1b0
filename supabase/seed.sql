-- Sample data for local runs only (the gateway's local mode, and the
-- Supabase CLI's `supabase db reset`); never applied to a project by
-- `supabase db push`, because a project's sesiones is its own to shape.
--
-- It gives sesiones the owner column a project using SESIONES_OWNER_COLUMN
-- has (local mode's default is user_id), and makes the first sesiones row
-- belong to the user of the token local mode prints, so the README's
-- requests work as written. Running it again changes nothing.

alter table public.sesiones add column if not exists user_id uuid;

comment on column public.sesiones.user_id is
  'The user (auth.users.id) who owns this sesión and its WhatsApp sessions; local sample of SESIONES_OWNER_COLUMN.';

insert into public.sesiones (estado, user_id)
select 'inactivo', '00000000-0000-0000-0000-000000000001'
where not exists (select 1 from public.sesiones);

update public.sesiones
set user_id = '00000000-0000-0000-0000-000000000001'
where id = (select min(id) from public.sesiones) and user_id is null;
