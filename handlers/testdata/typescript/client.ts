import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Session = components["schemas"]["Session"];

const api = createClient<paths>({
  baseUrl: "http://localhost:8080",
  headers: { Authorization: "Bearer <the user's Supabase access token>" },
});

// The pending sessions, newest first.
export async function pendingSessions() {
  const { data, error } = await api.GET("/api/whatsapp_sessions", {
    params: { query: { status: ["eq.pending"], order: "created_at.desc", limit: 20 } },
  });
  if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
  return data.data;
}

// Marks a session connected; a refused change is 409 invalid_transition.
export async function connect(id: number): Promise<Session> {
  const { data, error } = await api.PATCH("/api/whatsapp_sessions/{id}", {
    params: { path: { id } },
    body: { status: "connected" },
  });
  if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
  return data.data;
}
