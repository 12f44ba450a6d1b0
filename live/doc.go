// Package live owns the live status stream's fan-out: one Broker per
// replica reads the session history (whatsapp_session_events) once per poll
// interval for all open streams together, or at once when this replica has
// just written, and hands each entry to the streams of its session. It
// knows nothing of HTTP beyond writing Server-Sent Events (EventWriter).
package live
