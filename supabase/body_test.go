package supabase

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// brokenReader yields data, then err instead of io.EOF.
type brokenReader struct {
	r   io.Reader
	err error
}

func (b *brokenReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

// TestReadHead: a body up to headSize is read whole inside the call (so a
// failure there is still the attempt's), a longer one keeps its first
// headSize bytes and streams the rest; either way WriteTo gives back
// exactly the upstream bytes, and a break is an *Error.
func TestReadHead(t *testing.T) {
	small := []byte(`[{"id":1}]`)
	large := bytes.Repeat([]byte(`{"id":1},`), 2*headSize/9)
	cut := errors.New("connection reset")
	tests := []struct {
		name       string
		body       []byte
		length     int64 // -1: chunked or decompressed
		breakAfter bool  // the body ends in cut instead of io.EOF
		wantErr    bool  // readHead fails: nothing went out yet
		wantWhole  bool
		wantWrite  Code // WriteTo's error code, "" for none
	}{
		{"small with length", small, int64(len(small)), false, false, true, ""},
		{"small chunked", small, -1, false, false, true, ""},
		{"exactly the head, chunked", large[:headSize], -1, false, false, false, ""},
		{"large with length", large, int64(len(large)), false, false, false, ""},
		{"large chunked", large, -1, false, false, false, ""},
		{"small, broken", small, -1, true, true, false, ""},
		{"large, broken after the head", large, -1, true, false, false, CodeUpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tt.body)
			if tt.breakAfter {
				r = &brokenReader{r: r, err: cut}
			}
			b, err := readHead(&http.Response{Body: io.NopCloser(r), ContentLength: tt.length, Header: http.Header{"Content-Range": {"0-0/*"}}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("readHead: got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer b.Close()
			if _, whole := b.Bytes(); whole != tt.wantWhole {
				t.Errorf("got whole %v, want %v", whole, tt.wantWhole)
			}
			if b.Size() != tt.length && !(tt.wantWhole && b.Size() == int64(len(tt.body))) {
				t.Errorf("got size %d, want %d", b.Size(), tt.length)
			}
			if b.contentRange != "0-0/*" {
				t.Errorf("got Content-Range %q, want it kept", b.contentRange)
			}
			var out bytes.Buffer
			_, err = b.WriteTo(&out)
			if got := ErrorCode(err); err != nil && got != tt.wantWrite || err == nil && tt.wantWrite != "" {
				t.Fatalf("WriteTo: got %v, want code %q", err, tt.wantWrite)
			}
			if err == nil && !bytes.Equal(out.Bytes(), tt.body) {
				t.Errorf("got %d bytes, want the %d upstream bytes exactly", out.Len(), len(tt.body))
			}
		})
	}
}

// TestWriteToReportsTheWriterError: a caller that cannot take the bytes is
// not an upstream failure.
func TestWriteToReportsTheWriterError(t *testing.T) {
	large := []byte(strings.Repeat("x", 3*headSize))
	b, err := readHead(&http.Response{Body: io.NopCloser(bytes.NewReader(large)), ContentLength: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	gone := errors.New("broken pipe")
	if _, err := b.WriteTo(failingWriter{gone}); !errors.Is(err, gone) {
		t.Errorf("got %v, want the writer's own error", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
