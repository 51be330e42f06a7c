package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/symauth/symauth"
)

// Bounds of the proxy's server: what a client on loopback may take to send
// its headers, and how long an idle keep-alive connection stays open.
const (
	proxyReadHeaderTimeout = 10 * time.Second
	proxyIdleTimeout       = 2 * time.Minute
)

func runProxy(ctx context.Context, args []string, out, errOut io.Writer) int {
	var lf loginFlags
	var listen string
	var maxBody int64
	var shutdown time.Duration
	fs := newFlagSet("proxy", "(--config FILE | --pod URL (--user NAME --key FILE | --cert FILE --sessionauth URL)) [--listen ADDR] [flags]",
		"Serves the bot's Symphony APIs, logged in, to a bot written in any language: requests to\n"+
			"http://ADDR/pod/… go to the pod and /agent/… to the agent with the bot's tokens added, and after\n"+
			"a session end the proxy logs in once, however many requests saw the 401, and replays them. The\n"+
			"bot's key and tokens stay in this process; tokens the client sends are dropped. Nothing else is\n"+
			"forwarded, nor a request for another Host, from a web page (Origin, Sec-Fetch-Site) or to\n"+
			"Upgrade. GET /symauth/health answers 200 when logged in, 503 with the reason when not (a\n"+
			"readiness probe). One line per login and per failed or refused request goes to stderr, never\n"+
			"a token.\n"+
			"Listens on loopback or a Unix socket only. Stops on SIGINT or SIGTERM, after the requests in\n"+
			"flight (--shutdown-timeout at most).", errOut)
	lf.register(fs)
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "listen on this loopback `ADDR`ess (HOST:PORT), or unix:PATH for a Unix socket (created 0600)")
	fs.Int64Var(&maxBody, "max-replay-body", defaultMaxReplayBody, "buffer request bodies up to this many `BYTES` so that they can be replayed after a 401;\n"+
		"a larger body is streamed, and a 401 to it reaches the client as it is")
	fs.DurationVar(&shutdown, "shutdown-timeout", 10*time.Second, "on SIGTERM, wait this long at most for the requests in flight")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if err := checkListen(listen); err != nil {
		return fail(errOut, "proxy", err)
	}
	switch {
	case lf.configFile == "" && lf.pod == "":
		return fail(errOut, "proxy", errors.New("--pod URL is needed: the proxy forwards /pod/… there"))
	case maxBody < 0:
		return fail(errOut, "proxy", fmt.Errorf("--max-replay-body %d: must not be negative (0: no body is buffered)", maxBody))
	case shutdown <= 0:
		return fail(errOut, "proxy", fmt.Errorf("--shutdown-timeout %s: must be positive", shutdown))
	}
	logger := log.New(errOut, "symauth proxy: ", log.Ltime|log.Lmicroseconds|log.Lmsgprefix)
	lf.onLogin = func(ev symauth.LoginEvent) { logger.Print(loginLine(ev)) }
	l, err := lf.newLogin()
	if err != nil {
		return fail(errOut, "proxy", err)
	}
	defer l.client.CloseIdleConnections()
	agent := l.agentURL
	if agent == "" {
		agent = l.podURL // the cloud layout: the agent is on the pod
	}
	h, err := newProxyHandler(proxyConfig{pod: l.podURL, agent: agent, transport: l.client.Transport, source: l.source,
		maxBody: maxBody, logger: logger})
	if err != nil {
		return fail(errOut, "proxy", err)
	}
	ln, err := proxyListen(listen) // before the login starts: it may narrow the umask
	if err != nil {
		return fail(errOut, "proxy", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: proxyReadHeaderTimeout, IdleTimeout: proxyIdleTimeout, ErrorLog: logger}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(errOut, "symauth proxy: serving on %s (pod %s, agent %s; Ctrl-C to stop)\n", listenURL(ln), l.podURL, agent)
	go func() { _, _ = l.source.Token(ctx) }() // log in now: the health check and the first request need not wait

	select {
	case err := <-served:
		return fail(errOut, "proxy", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(errOut, "symauth proxy: stopping: %d request(s) in flight, waiting %s at most\n", h.inFlight.Load(), shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		n := h.inFlight.Load()
		srv.Close()
		fmt.Fprintf(errOut, "symauth proxy: stopped after %s, cutting %d request(s) still in flight\n", shutdown, n)
		return exitOK // the stop was asked for; its bound is part of it
	}
	fmt.Fprintln(errOut, "symauth proxy: stopped")
	return exitOK
}

// loginLine is the log line of one login: its cause and duration, and why
// it failed. It never holds a token: LoginEvents carry none.
func loginLine(ev symauth.LoginEvent) string {
	took := ev.Duration.Round(time.Millisecond)
	if ev.Err != nil {
		return fmt.Sprintf("login failed (cause %s, %s, %s): %v", ev.Cause, took, plural(ev.Attempts, "attempt"), ev.Err)
	}
	return fmt.Sprintf("login ok (cause %s, %s)", ev.Cause, took)
}

// listenURL is where clients reach ln: http://HOST:PORT, or unix:PATH.
func listenURL(ln net.Listener) string {
	if ln.Addr().Network() == "unix" {
		return "unix:" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}
