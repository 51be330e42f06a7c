package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/symauth/symauth/symauthtest"
)

// The proxy logs one line per failed request, with the request's decoded
// path: a client's %0A in the path must not start a line of its own, or any
// local process can forge the proxy's log (a "login ok", a fake request
// line) that a bank's log pipeline trusts.
func TestReview17LogLineInjection(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	f.srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden})
	forged := "symauth proxy: 12:00:00.000000 login ok (cause rejected, 12ms)"
	status, _ := rawRequest(t, f.url, "GET /pod/v1/x%0A"+strings.ReplaceAll(strings.ReplaceAll(forged, " ", "%20"), "(", "%28")+" HTTP/1.1")
	// A control character in the path is refused (404) before anything is
	// forwarded, and the refusal is logged: either way the request has a line.
	if status != http.StatusServiceUnavailable && status != http.StatusNotFound {
		t.Fatalf("a request while logins fail: %d, want 503, or 404 for the %%0A", status)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `GET "/pod/v1/x%0A`) {
		t.Errorf("no log line for the request, its path quoted as sent:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimRight(logs, "\n"), "\n") {
		if strings.HasPrefix(line, "symauth proxy: ") {
			t.Errorf("the client wrote a log line of its own: %q\nwhole log:\n%s", line, logs)
		}
	}
}
