package utils

import (
	"encoding/json"
	"io"
)

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

const (
	successPrefixText = `{"success":true,"data":`
	successSuffixText = `}`
)

var (
	successPrefix = []byte(successPrefixText)
	successSuffix = []byte(successSuffixText)
)

// SuccessOverhead is how many bytes the success envelope adds around data.
const SuccessOverhead = int64(len(successPrefixText) + len(successSuffixText))

// WriteSuccessPrefix and WriteSuccessSuffix write the success envelope
// around data the caller streams in between.
func WriteSuccessPrefix(w io.Writer) error {
	_, err := w.Write(successPrefix)
	return err
}

// WriteSuccessSuffix ends what WriteSuccessPrefix began.
func WriteSuccessSuffix(w io.Writer) error {
	_, err := w.Write(successSuffix)
	return err
}

// SuccessRawSize is the length of the success envelope around raw.
func SuccessRawSize(raw json.RawMessage) int {
	return len(successPrefix) + len(raw) + len(successSuffix)
}

// WriteSuccessRaw writes a success envelope around raw, already-valid JSON
// to w. It lets a handler pass an upstream body on without decoding,
// re-encoding or even copying it.
func WriteSuccessRaw(w io.Writer, raw json.RawMessage) error {
	for _, part := range [][]byte{successPrefix, raw, successSuffix} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}
