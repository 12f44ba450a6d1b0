// Command upstream is the load benchmark's stand-in for Supabase's Data API:
// a static, PostgREST-shaped HTTP/1.1 server on loopback whose answers are
// computed once at start-up, so that it is never the bottleneck of what it
// measures.
//
// It answers, whatever the query string:
//
//   - GET /rest/v1/whatsapp_sessions: a JSON array of -rows rows;
//   - the same with Accept: application/vnd.pgrst.object+json, or
//     GET /rest/v1/whatsapp_sessions/<anything>: one row as an object;
//   - GET /auth/v1/.well-known/jwks.json: {"keys":[]}, what a project on
//     the legacy HS256 secret publishes, so the gateway's JWKS refresher is
//     satisfied and tokens are checked with SUPABASE_JWT_SECRET;
//   - POST /rest/v1/rpc/whatsapp_sessions_owner_column_type: "uuid", so a
//     gateway with SESIONES_OWNER_COLUMN passes its start-up check;
//   - any other POST under /rest/v1/ (rpc/create_whatsapp_session,
//     rpc/whatsapp_session_connected, or a proxy's rewritten path):
//     {"outcome":"applied","session":{...}};
//   - anything else: a PostgREST-style 404.
//
// It speaks just enough HTTP/1.1 for keep-alive clients (the gateway's
// net/http transport, nginx with proxy_http_version 1.1, wrk): a request
// line, headers, a Content-Length body that is skipped. Net/http's server
// would allocate a Request and a header map per call; this server does not,
// which keeps its CPU share small on a 2-core machine shared with the load
// generator and the proxy under test.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	rows := flag.Int("rows", 10, "rows in the list answer")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	flag.Parse()
	// run serves until the process is killed; it returns only on failure.
	err := run(*addr, *rows, *addrFile)
	fmt.Fprintln(os.Stderr, "upstream:", err)
	os.Exit(1)
}

func run(addr string, rows int, addrFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: the benchmark upstream listens on loopback only", addr)
	}
	answers, err := newAnswers(rows)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go serve(conn, answers)
	}
}

// answers are the complete HTTP responses, status line to body.
type answers struct {
	list, object, rpc, ownerType, jwks, notFound, badRequest []byte
}

func newAnswers(rows int) (*answers, error) {
	if rows < 0 || rows > 100000 {
		return nil, fmt.Errorf("-rows %d: want 0 to 100000", rows)
	}
	all := make([]map[string]any, rows)
	for i := range all {
		all[i] = row(i + 1)
	}
	list, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	one, err := json.Marshal(row(1))
	if err != nil {
		return nil, err
	}
	rpc, err := json.Marshal(map[string]any{"outcome": "applied", "session": json.RawMessage(one)})
	if err != nil {
		return nil, err
	}
	rangeHeader := "Content-Range: */*\r\n"
	if rows > 0 {
		rangeHeader = fmt.Sprintf("Content-Range: 0-%d/*\r\n", rows-1)
	}
	return &answers{
		list:       response("200 OK", "application/json; charset=utf-8", rangeHeader, list),
		object:     response("200 OK", "application/vnd.pgrst.object+json; charset=utf-8", "Content-Range: 0-0/*\r\n", one),
		rpc:        response("200 OK", "application/json; charset=utf-8", "", rpc),
		ownerType:  response("200 OK", "application/json; charset=utf-8", "", []byte(`"uuid"`)),
		jwks:       response("200 OK", "application/json", "", []byte(`{"keys":[]}`)),
		notFound:   response("404 Not Found", "application/json; charset=utf-8", "", []byte(`{"code":"PGRST125","details":null,"hint":null,"message":"Invalid path specified in request URL"}`)),
		badRequest: response("400 Bad Request", "text/plain", "Connection: close\r\n", []byte("bad request\n")),
	}, nil
}

// row is a whatsapp_sessions row as PostgREST returns it.
func row(id int) map[string]any {
	sid := fmt.Sprintf("session_1705312200123_%09d", id)
	return map[string]any{
		"id":               id,
		"session_id":       sid,
		"sesion_id":        1,
		"phone_number":     "5215512345678",
		"status":           "connected",
		"last_seen":        "2025-01-15T10:00:00+00:00",
		"auth_folder_path": "/data/auth/" + sid,
		"server_port":      3001,
		"whatsapp_user_id": "5215512345678@s.whatsapp.net",
		"created_at":       "2025-01-15T09:59:00.123456+00:00",
		"updated_at":       "2025-01-15T10:00:00.654321+00:00",
	}
}

func response(status, contentType, extra string, body []byte) []byte {
	head := "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType + "\r\n" + extra +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}

var (
	prefixREST     = []byte("/rest/v1/")
	pathSessions   = []byte("/rest/v1/whatsapp_sessions")
	pathJWKS       = []byte("/auth/v1/.well-known/jwks.json")
	pathOwnerType  = []byte("/rest/v1/rpc/whatsapp_sessions_owner_column_type")
	objectAccept   = []byte("application/vnd.pgrst.object+json")
	headerLength   = []byte("content-length:")
	headerAccept   = []byte("accept:")
	headerConn     = []byte("connection:")
	headerEncoding = []byte("transfer-encoding:")
	valueClose     = []byte("close")
)

// serve answers requests on one connection until the peer closes it or
// sends something this server does not speak.
func serve(conn net.Conn, a *answers) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 16<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		method, target, ok := requestLine(line)
		if !ok {
			_, _ = conn.Write(a.badRequest)
			return
		}
		// ReadSlice's result is overwritten by the next read: decide the
		// route before reading the headers.
		isPost := string(method) == "POST"
		isGet := string(method) == "GET"
		path := target
		if i := bytes.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		underREST := bytes.HasPrefix(path, prefixREST)
		isList := bytes.Equal(path, pathSessions)
		isJWKS := bytes.Equal(path, pathJWKS)
		isOne := bytes.HasPrefix(path, pathSessions) && len(path) > len(pathSessions)+1 && path[len(pathSessions)] == '/'

		length, wantObject, closeAfter, ok := headers(r)
		if !ok {
			_, _ = conn.Write(a.badRequest)
			return
		}
		if length > 0 {
			if _, err := r.Discard(length); err != nil {
				return
			}
		}
		var answer []byte
		switch {
		case isPost && bytes.Equal(path, pathOwnerType):
			answer = a.ownerType
		case isPost && underREST:
			answer = a.rpc
		case isGet && (isOne || (isList && wantObject)):
			answer = a.object
		case isGet && isList:
			answer = a.list
		case isGet && isJWKS:
			answer = a.jwks
		default:
			answer = a.notFound
		}
		if _, err := conn.Write(answer); err != nil || closeAfter {
			return
		}
	}
}

// requestLine splits "METHOD target HTTP/1.1\r\n".
func requestLine(line []byte) (method, target []byte, ok bool) {
	line = bytes.TrimRight(line, "\r\n")
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return nil, nil, false
	}
	target, proto, ok := bytes.Cut(rest, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return nil, nil, false
	}
	return method, target, true
}

// headers reads header lines up to the blank line and returns what the
// answer depends on. Chunked bodies are refused: none of the clients sends
// one for these small JSON bodies.
func headers(r *bufio.Reader) (length int, wantObject, closeAfter, ok bool) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, false, false, false
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return length, wantObject, closeAfter, true
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			return 0, false, false, false
		}
		value = bytes.TrimSpace(value)
		switch {
		case hasName(name, headerLength):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > 1<<20 {
				return 0, false, false, false
			}
			length = n
		case hasName(name, headerAccept):
			// postgrest-go sends its default "Accept: application/json"
			// after the one a query asked for; PostgREST honours the first.
			wantObject = wantObject || bytes.Contains(value, objectAccept)
		case hasName(name, headerConn):
			closeAfter = bytes.EqualFold(value, valueClose)
		case hasName(name, headerEncoding):
			return 0, false, false, false
		}
	}
}

// hasName compares a header name case-insensitively with want, which
// includes the colon.
func hasName(name, want []byte) bool {
	return len(name) == len(want)-1 && bytes.EqualFold(name, want[:len(want)-1])
}
