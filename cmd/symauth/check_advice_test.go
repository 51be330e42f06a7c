package main

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A pod whose login endpoint answers something other than a token gets the
// advice that fits the answer.
func TestCheckLoginAdvice(t *testing.T) {
	key := writeRSAKey(t)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"refused, not saying why", http.StatusUnauthorized, `{"code":401,"message":"Unauthorized"}`, []string{
			"HTTP 401", "does not tell whether it refused the key or the user", "the key: the pod holds no public key for \"advice-bot\" that matches --key " + key,
			"the public half of --key " + key + " has the fingerprint SHA256:", `the user: check that --user "advice-bot"`, "the clock", "240 s"}},
		{"refused, saying both", http.StatusUnauthorized, `{"message":"unknown user or invalid signature"}`, []string{"does not tell", "the key:", "the user:"}},
		{"refused, empty", http.StatusUnauthorized, "", []string{"HTTP 401", "does not tell", "the key:", "the user:", "the clock"}},
		{"redirect", http.StatusFound, "", []string{"HTTP 302", "redirects", "base URL"}},
		{"forbidden", http.StatusForbidden, `{"message":"disabled"}`, []string{"HTTP 403", "disabled", `"advice-bot" is disabled`}},
		{"bad request", http.StatusBadRequest, "", []string{"HTTP 400", "malformed"}},
		{"not found", http.StatusNotFound, "", []string{"HTTP 404", "no login endpoint at this URL"}},
		{"overloaded", http.StatusTooManyRequests, "", []string{"HTTP 429", "unavailable or overloaded"}},
		{"not a token", http.StatusOK, "<html>sign in</html>", []string{"not a login token", "something other than Symphony"}},
		{"teapot", http.StatusTeapot, "", []string{"HTTP 418", "unexpected answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				if tc.status == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "0")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(pod.Close)
			ca := writeTemp(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pod.Certificate().Raw})))
			r, steps := runCheckCmd(t, "--pod", pod.URL, "--user", "advice-bot", "--key", key, "--ca", ca)
			if r.code != exitFail {
				t.Errorf("exit %d; want %d", r.code, exitFail)
			}
			wantStep(t, r.stdout, steps, "FAIL", "pod login", tc.want...)
		})
	}
}
