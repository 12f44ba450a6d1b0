import createClient from "openapi-fetch";
import type { paths } from "./api";

const api = createClient<paths>({ baseUrl: "http://localhost:8080" });
// A status the API does not have must not compile.
export const wrong = api.PATCH("/api/whatsapp_sessions/{id}", { params: { path: { id: 1 } }, body: { status: "paused" } });
