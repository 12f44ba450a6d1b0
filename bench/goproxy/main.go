// Command goproxy is the load benchmark's second reference: the smallest Go
// reverse proxy (net/http's server and httputil.ReverseProxy over a
// keep-alive transport) in front of the same static upstream, rewriting
// /api/ to /rest/v1/ as the nginx reference does. It does no work of its
// own, so gateway/goproxy is the cost of the gateway's own work, and
// goproxy/nginx the cost of Go's HTTP stack.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	upstream := flag.String("upstream", "", "upstream base URL, e.g. http://127.0.0.1:9000")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	flag.Parse()
	if err := run(*addr, *upstream, *addrFile); err != nil {
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		os.Exit(1)
	}
}

func run(addr, upstream, addrFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: the benchmark proxy listens on loopback only", addr)
	}
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return fmt.Errorf("-upstream %q is not an absolute URL", upstream)
	}
	proxy := &httputil.ReverseProxy{
		// wrk hangs up mid-request when a run ends; that is not news.
		ErrorLog: log.New(io.Discard, "", 0),
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.URL.Path = "/rest/v1/" + strings.TrimPrefix(r.In.URL.Path, "/api/")
			r.Out.URL.RawPath = ""
		},
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("/api/", proxy)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.Serve(ln)
}
