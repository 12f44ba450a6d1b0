package supabasetest

import (
	"fmt"
	"time"
)

// Session is a whatsapp_sessions row as PostgREST and the session functions
// render it, for tests to decode and compare.
type Session struct {
	ID             int64      `json:"id"`
	SessionID      string     `json:"session_id"`
	SesionID       *int64     `json:"sesion_id"`
	PhoneNumber    *string    `json:"phone_number"`
	Status         string     `json:"status"`
	LastSeen       *time.Time `json:"last_seen"`
	AuthFolderPath *string    `json:"auth_folder_path"`
	ServerPort     *int       `json:"server_port"`
	WhatsappUserID *string    `json:"whatsapp_user_id"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// String shows the values behind the pointers, so failures read clearly.
func (s Session) String() string {
	return fmt.Sprintf("{id:%d session_id:%s sesion_id:%v phone_number:%v status:%s last_seen:%v auth_folder_path:%v server_port:%v whatsapp_user_id:%v created_at:%v updated_at:%v}",
		s.ID, s.SessionID, deref(s.SesionID), deref(s.PhoneNumber), s.Status, deref(s.LastSeen),
		deref(s.AuthFolderPath), deref(s.ServerPort), deref(s.WhatsappUserID), s.CreatedAt, s.UpdatedAt)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
