package utils

import "encoding/json"

// Envelope is the shape of every response body: success with data, or
// failure with an error.
type Envelope struct {
	Success bool           `json:"success"`
	Data    any            `json:"data,omitempty"`
	Error   *EnvelopeError `json:"error,omitempty"`
}

// EnvelopeError is the error half of the envelope.
type EnvelopeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// Success wraps data in a success envelope.
func Success(data any) Envelope { return Envelope{Success: true, Data: data} }

// Failure builds a failure envelope.
func Failure(code, message string, details any) Envelope {
	return Envelope{Error: &EnvelopeError{Code: code, Message: message, Details: details}}
}

var (
	successPrefix = []byte(`{"success":true,"data":`)
	successSuffix = []byte(`}`)
)

// AppendSuccessRaw appends a success envelope around raw, already-valid JSON
// to dst. It lets a handler wrap an upstream body without decoding and
// re-encoding it.
func AppendSuccessRaw(dst []byte, raw json.RawMessage) []byte {
	dst = append(dst, successPrefix...)
	dst = append(dst, raw...)
	return append(dst, successSuffix...)
}
