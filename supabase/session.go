package supabase

import (
	"bytes"
	"encoding/json"
	"regexp"
	"time"
	"unicode/utf8"
)

// The statuses a WhatsApp session can be in.
const (
	StatusPending      = "pending"
	StatusConnected    = "connected"
	StatusDisconnected = "disconnected"
	StatusExpired      = "expired"
)

// Statuses lists every valid status, in the order docs/api.md names them.
var Statuses = []string{StatusPending, StatusConnected, StatusDisconnected, StatusExpired}

var (
	sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	phonePattern     = regexp.MustCompile(`^[0-9]{6,15}$`)
)

// maxTextLength bounds free-text columns so a caller cannot store megabytes
// in a path or user id.
const maxTextLength = 1024

// ValidateSessionID checks the orchestrator's session id format.
func ValidateSessionID(id string) error {
	if !sessionIDPattern.MatchString(id) {
		return Errorf(CodeInvalidRequest, "session_id must be 1 to 128 characters of letters, digits, '_', '.', ':' or '-'")
	}
	return nil
}

// ValidateSesionID checks the id of a sesiones row.
func ValidateSesionID(id int64) error {
	if id <= 0 {
		return Errorf(CodeInvalidRequest, "sesion_id must be a positive integer")
	}
	return nil
}

// ValidatePhoneNumber checks a phone number: digits only, 6 to 15 of them.
func ValidatePhoneNumber(phone string) error {
	if !phonePattern.MatchString(phone) {
		return Errorf(CodeInvalidRequest, "phone_number must be 6 to 15 digits, without '+', spaces or a WhatsApp suffix")
	}
	return nil
}

// ValidateStatus checks that status is one of Statuses.
func ValidateStatus(status string) error {
	for _, s := range Statuses {
		if s == status {
			return nil
		}
	}
	return Errorf(CodeInvalidRequest, "status must be one of pending, connected, disconnected, expired")
}

// ValidateServerPort checks a TCP port number.
func ValidateServerPort(port int) error {
	if port < 1 || port > 65535 {
		return Errorf(CodeInvalidRequest, "server_port must be between 1 and 65535")
	}
	return nil
}

// ValidateText bounds a free-text field and refuses control characters,
// which PostgreSQL text cannot hold (NUL) or which only serve log forgery.
func ValidateText(field, value string) error {
	if len(value) > maxTextLength {
		return Errorf(CodeInvalidRequest, "%s must be at most %d bytes", field, maxTextLength)
	}
	if !utf8.ValidString(value) {
		return Errorf(CodeInvalidRequest, "%s must be valid UTF-8", field)
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return Errorf(CodeInvalidRequest, "%s must not contain control characters", field)
		}
	}
	return nil
}

// NewSession is what the frontend sends to register a link attempt.
type NewSession struct {
	SessionID string `json:"session_id"`
	SesionID  int64  `json:"sesion_id"`
}

// Validate checks every field of s.
func (s NewSession) Validate() error {
	if err := ValidateSessionID(s.SessionID); err != nil {
		return err
	}
	return ValidateSesionID(s.SesionID)
}

// Optional is a JSON field that remembers whether it was present and whether
// it was null, which a PATCH needs to tell "leave alone" from "clear".
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records presence, then decodes the value.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// SessionPatch is a partial update of a session by the frontend.
type SessionPatch struct {
	Status         Optional[string]    `json:"status"`
	PhoneNumber    Optional[string]    `json:"phone_number"`
	LastSeen       Optional[time.Time] `json:"last_seen"`
	AuthFolderPath Optional[string]    `json:"auth_folder_path"`
	ServerPort     Optional[int]       `json:"server_port"`
	WhatsappUserID Optional[string]    `json:"whatsapp_user_id"`
}

// Validate checks every present field, and that at least one is present.
// status cannot be cleared; the other columns may be set to null.
func (p SessionPatch) Validate() error {
	if !p.Status.Set && !p.PhoneNumber.Set && !p.LastSeen.Set && !p.AuthFolderPath.Set && !p.ServerPort.Set && !p.WhatsappUserID.Set {
		return Errorf(CodeInvalidRequest, "send at least one of status, phone_number, last_seen, auth_folder_path, server_port, whatsapp_user_id")
	}
	if p.Status.Set {
		if p.Status.Null {
			return Errorf(CodeInvalidRequest, "status cannot be null")
		}
		if err := ValidateStatus(p.Status.Value); err != nil {
			return err
		}
	}
	if p.PhoneNumber.Set && !p.PhoneNumber.Null {
		if err := ValidatePhoneNumber(p.PhoneNumber.Value); err != nil {
			return err
		}
	}
	if p.ServerPort.Set && !p.ServerPort.Null {
		if err := ValidateServerPort(p.ServerPort.Value); err != nil {
			return err
		}
	}
	if p.AuthFolderPath.Set && !p.AuthFolderPath.Null {
		if err := ValidateText("auth_folder_path", p.AuthFolderPath.Value); err != nil {
			return err
		}
	}
	if p.WhatsappUserID.Set && !p.WhatsappUserID.Null {
		if err := ValidateText("whatsapp_user_id", p.WhatsappUserID.Value); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the present fields as the JSON object PostgREST expects.
func (p SessionPatch) columns() map[string]any {
	m := make(map[string]any, 6)
	addOptional(m, "status", p.Status)
	addOptional(m, "phone_number", p.PhoneNumber)
	addOptional(m, "last_seen", p.LastSeen)
	addOptional(m, "auth_folder_path", p.AuthFolderPath)
	addOptional(m, "server_port", p.ServerPort)
	addOptional(m, "whatsapp_user_id", p.WhatsappUserID)
	return m
}

func addOptional[T any](m map[string]any, column string, o Optional[T]) {
	switch {
	case !o.Set:
	case o.Null:
		m[column] = nil
	default:
		m[column] = o.Value
	}
}

// Connection is the orchestrator's report that a session connected (or
// changed state). Fields the orchestrator sends but the gateway owns,
// created_at and updated_at, are accepted and ignored.
type Connection struct {
	SessionID      string     `json:"session_id"`
	PhoneNumber    *string    `json:"phone_number"`
	Status         *string    `json:"status"`
	LastSeen       *time.Time `json:"last_seen"`
	AuthFolderPath *string    `json:"auth_folder_path"`
	ServerPort     *int       `json:"server_port"`
	WhatsappUserID *string    `json:"whatsapp_user_id"`
	CreatedAt      *time.Time `json:"created_at"`
	UpdatedAt      *time.Time `json:"updated_at"`
}

// Validate checks every present field of c.
func (c Connection) Validate() error {
	if err := ValidateSessionID(c.SessionID); err != nil {
		return err
	}
	if c.PhoneNumber != nil {
		if err := ValidatePhoneNumber(*c.PhoneNumber); err != nil {
			return err
		}
	}
	if c.Status != nil {
		if err := ValidateStatus(*c.Status); err != nil {
			return err
		}
	}
	if c.ServerPort != nil {
		if err := ValidateServerPort(*c.ServerPort); err != nil {
			return err
		}
	}
	if c.AuthFolderPath != nil {
		if err := ValidateText("auth_folder_path", *c.AuthFolderPath); err != nil {
			return err
		}
	}
	if c.WhatsappUserID != nil {
		if err := ValidateText("whatsapp_user_id", *c.WhatsappUserID); err != nil {
			return err
		}
	}
	return nil
}

// Result is what the create and webhook functions return: what happened,
// and the session row as stored afterwards, kept as raw JSON so handlers can
// pass it on without re-encoding.
type Result struct {
	// Outcome is "created" or "linked" for a create; "applied",
	// "duplicate", "stale" or "early" for a connection report.
	Outcome string          `json:"outcome"`
	Session json.RawMessage `json:"session"`
}
