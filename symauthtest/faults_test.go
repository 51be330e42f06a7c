package symauthtest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultStatusAndHeader(t *testing.T) {
	s, logs := startLogged(t, Options{})
	s.InjectFault(PathAgentInfo, Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3"}}, Times: 1})
	r := get(t, s, PathAgentInfo, "", "")
	wantError(t, r, http.StatusTooManyRequests, "Too Many Requests")
	if r.header.Get("Retry-After") != "3" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("header = %v", r.header)
	}
	logs.waitLine(t, "fault on GET /agent/v1/info: answered 429")
	if r := get(t, s, PathAgentInfo, "", ""); r.status != http.StatusOK {
		t.Errorf("after Times 1: %d", r.status)
	}

	s.InjectFault("/x", Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>", Times: 1})
	r = get(t, s, "/x", "", "")
	if r.status != http.StatusBadGateway || r.body != "<html>bad gateway</html>" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("custom body: %d %v %q", r.status, r.header, r.body)
	}
	s.InjectFault("/x", Fault{Status: 500, Body: "oops", Header: http.Header{"Content-Type": {"text/html"}}, Times: 1})
	if r := get(t, s, "/x", "", ""); r.header.Get("Content-Type") != "text/html" {
		t.Errorf("Content-Type from Header: %v", r.header)
	}
	s.InjectFault("/x", Fault{Status: 42, Times: 1})
	wantError(t, get(t, s, "/x", "", ""), http.StatusInternalServerError, "invalid Fault.Status 42")

	// A redirect, not followed.
	s.InjectFault(PathSessionInfo, Fault{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {"https://elsewhere.example/"}}, Times: 1})
	c := &http.Client{Transport: s.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r = do(t, c, newRequest(t, http.MethodGet, s.URL+PathSessionInfo, nil))
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "https://elsewhere.example/" {
		t.Errorf("redirect: %d %v", r.status, r.header)
	}
}

func TestFaultOrderTimesAndClear(t *testing.T) {
	s := start(t, Options{})
	s.InjectFault(PathAgentInfo, Fault{Status: 500, Times: 2})
	s.InjectFault(PathAgentInfo, Fault{Status: 503, Times: 1})
	s.InjectFault(PathHealth, Fault{Status: 502})
	var got []int
	for range 4 {
		got = append(got, get(t, s, PathAgentInfo, "", "").status)
	}
	if want := []int{500, 500, 503, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	for range 3 {
		if st := get(t, s, PathHealth, "", "").status; st != 502 {
			t.Fatalf("Times 0: %d", st)
		}
	}
	s.InjectFault(PathAgentInfo, Fault{Status: 500})
	s.ClearFaults()
	if st := get(t, s, PathHealth, "", "").status; st != 200 {
		t.Errorf("after ClearFaults: %d", st)
	}
	if st := get(t, s, PathAgentInfo, "", "").status; st != 200 {
		t.Errorf("after ClearFaults: %d", st)
	}
}

func TestCalls(t *testing.T) {
	s := start(t, Options{})
	s.InjectFault(PathSessionInfo, Fault{Status: 500, Times: 1})
	get(t, s, PathSessionInfo, "", "")
	get(t, s, PathSessionInfo, "", "")
	get(t, s, "/nowhere", "", "")
	if n := s.Calls(PathSessionInfo); n != 2 {
		t.Errorf("Calls(sessioninfo) = %d, want 2 (faulted one included)", n)
	}
	if n := s.Calls("/nowhere"); n != 1 {
		t.Errorf("Calls(/nowhere) = %d", n)
	}
	if n := s.Calls(PathLogin); n != 0 {
		t.Errorf("Calls(login) = %d", n)
	}
	s.ResetCalls()
	if n := s.Calls(PathSessionInfo); n != 0 {
		t.Errorf("after ResetCalls: %d", n)
	}
}

func TestFaultHoldReached(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	hold := make(chan struct{})
	reached := make(chan struct{}, 1)
	s.InjectFault(PathLogin, Fault{Hold: hold, Reached: reached, Times: 1})
	j := sign(t, key, "bot", time.Now().Add(time.Minute))
	done := make(chan result)
	send := func() {
		r, err := tryDo(s.Client(), loginRequest(t, s, PathLogin, j))
		if err != nil {
			r.body = err.Error()
		}
		done <- r
	}
	go send()
	<-reached
	if n := s.Calls(PathLogin); n != 1 {
		t.Errorf("Calls while held = %d", n)
	}
	select {
	case r := <-done:
		t.Fatalf("held login answered %d", r.status)
	default:
	}
	close(hold)
	if r := <-done; r.status != http.StatusOK {
		t.Fatalf("released login: %d %s", r.status, r.body)
	}

	// Hold then Status.
	hold2 := make(chan struct{})
	s.InjectFault(PathLogin, Fault{Hold: hold2, Reached: reached, Status: 503, Times: 1})
	go send()
	<-reached
	close(hold2)
	if r := <-done; r.status != http.StatusServiceUnavailable {
		t.Fatalf("held 503: %d %s", r.status, r.body)
	}
}

func TestFaultDelay(t *testing.T) {
	s, logs := startLogged(t, Options{})
	s.InjectFault(PathAgentInfo, Fault{Delay: time.Millisecond, Status: 504, Times: 1})
	if r := get(t, s, PathAgentInfo, "", ""); r.status != http.StatusGatewayTimeout {
		t.Errorf("short delay: %d", r.status)
	}

	// A long delay ends when the client goes away.
	reached := make(chan struct{}, 1)
	s.InjectFault(PathAgentInfo, Fault{Delay: time.Hour, Reached: reached})
	for _, c := range []*http.Client{s.Client(), http1Client(t, s)} {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		req := newRequest(t, http.MethodGet, s.URL+PathAgentInfo, nil).WithContext(ctx)
		go func() {
			_, err := tryDo(c, req)
			errc <- err
		}()
		<-reached
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled delayed call: %v", err)
		}
		logs.waitLine(t, "delay ended early: the client went away")
	}
}

func TestFaultDrop(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	j := sign(t, key, "bot", time.Now().Add(time.Minute))
	for name, c := range map[string]*http.Client{"HTTP/2": s.Client(), "HTTP/1.1": http1Client(t, s)} {
		t.Run(name, func(t *testing.T) {
			s.InjectFault(PathLogin, Fault{Drop: true, Status: 200, Times: 1})
			if r, err := tryDo(c, loginRequest(t, s, PathLogin, j)); err == nil {
				t.Fatalf("dropped call answered %d %s", r.status, r.body)
			}
			logs.waitLine(t, "fault on POST /login/pubkey/authenticate: connection dropped")
			if r := postLogin(t, s, PathLogin, j); r.status != http.StatusOK {
				t.Errorf("after the drop: %d", r.status)
			}
		})
	}
}

func TestInjectFaultCopiesHeader(t *testing.T) {
	s := start(t, Options{})
	h := http.Header{"Retry-After": {"1"}}
	s.InjectFault("/x", Fault{Status: 503, Header: h})
	h.Set("Retry-After", "99")
	if r := get(t, s, "/x", "", ""); r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
}

func TestFaultReachedClosed(t *testing.T) {
	s := start(t, Options{})
	reached := make(chan struct{})
	close(reached)
	s.InjectFault("/x", Fault{Reached: reached, Status: http.StatusTeapot})
	if r := get(t, s, "/x", "", ""); r.status != http.StatusTeapot {
		t.Errorf("with a closed Reached channel: %d", r.status)
	}
}
