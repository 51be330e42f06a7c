package symauth_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/symauth/symauth"
)

// appendingBase is a decorator below the Transport that appends to every
// header value, sets and deletes headers of the request it is given, and then
// sends it: what a careless middleware further down the stack does.
type appendingBase struct{ next http.RoundTripper }

func (a appendingBase) RoundTrip(req *http.Request) (*http.Response, error) {
	for k := range req.Header {
		req.Header[k] = append(req.Header[k], "appended")
	}
	req.Header.Set("X-Added-Below", "1")
	req.Header.Del("X-Custom-00")
	return a.next.RoundTrip(req)
}

// The header copy of the warm path (the caller's map cloned when that does
// not make it grow, else copied entry by entry): whatever the number of the
// caller's headers, and whatever spare capacity their value slices have, a
// decorator further down that appends to, sets or deletes headers never
// changes the caller's map or writes into its arrays, and the caller's token
// headers, in any letter case, never reach the server.
func TestHeaderCopyProtectsTheCallersHeaders(t *testing.T) {
	srv := newPod(t)
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	if _, err := sess.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	rt := symauth.NewTransport(sess, appendingBase{trustingTransport(t, srv)})
	for n := range 60 { // both ways of copying, and both sides of each table size
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/pod/v2/sessioninfo", nil)
			for i := range n {
				name := fmt.Sprintf("X-Custom-%02d", i)
				switch i {
				case 3:
					name = "sessiontoken" // not canonical: set as a map key
				case 4:
					name = "KeyManagerToken"
				}
				req.Header[name] = make([]string, 1, 1+i%3) // some with spare capacity
				req.Header[name][0] = "caller"
			}
			before := deepHeader(req.Header)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: the caller's token headers reached the server", resp.StatusCode)
			}
			if got := deepHeader(req.Header); !reflect.DeepEqual(got, before) {
				t.Errorf("the caller's headers changed:\n got %v\nwant %v", got, before)
			}
		})
	}
}

// deepHeader copies h with each value slice to its capacity, so that a write
// into the spare room of an array shows.
func deepHeader(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		out[k] = slices.Clone(v[:cap(v)])
	}
	return out
}

// The server sees exactly one session token, the Session's, whichever way the
// caller's headers were copied.
func TestHeaderCopySendsOneSessionToken(t *testing.T) {
	srv := newPod(t)
	api := newRecordingServer(t, nil)
	sess := symauth.NewSession(newRSA(t, withAgent(rsaConfig(srv), api)))
	tok, err := sess.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rt := symauth.NewTransport(sess, trustingTransport(t, srv, api))
	for _, n := range []int{0, 5, 6, 7, 12, 13, 26, 27, 50} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/agent/v5/datafeeds", nil)
		for i := range n {
			req.Header.Set(fmt.Sprintf("X-Custom-%02d", i), "v")
		}
		req.Header["SESSIONTOKEN"] = []string{"forged"}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	headers, _ := api.requests()
	for i, h := range headers {
		if got := tokenValues(h, symauth.HeaderSessionToken); !reflect.DeepEqual(got, []string{tok.SessionToken}) {
			t.Errorf("request %d: %d session token values; want the Session's only", i, len(got))
		}
		if got := tokenValues(h, symauth.HeaderKeyManagerToken); !reflect.DeepEqual(got, []string{tok.KeyManagerToken}) {
			t.Errorf("request %d: %d key manager token values; want the Session's only", i, len(got))
		}
		if strings.Contains(fmt.Sprint(h), "forged") {
			t.Errorf("request %d: the caller's forged token was sent", i)
		}
	}
}
