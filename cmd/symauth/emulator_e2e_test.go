package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
)

// feedEvents is the part of a V5EventList the test reads.
type feedEvents struct {
	AckID  string `json:"ackId"`
	Events []struct {
		Type      string `json:"type"`
		Initiator struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
		} `json:"initiator"`
		Payload struct {
			MessageSent *struct {
				Message struct {
					MessageID string `json:"messageId"`
					Message   string `json:"message"`
					Stream    struct {
						StreamID string `json:"streamId"`
					} `json:"stream"`
				} `json:"message"`
			} `json:"messageSent"`
		} `json:"payload"`
	} `json:"events"`
}

// call sends a request with a JSON (or raw) body and decodes a JSON answer
// into out, failing the test unless the status is want.
func call(t *testing.T, c *http.Client, method, u, contentType string, body []byte, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, u, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d: %s", method, u, resp.Status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, data)
		}
	}
}

// postMessage posts messageML in stream sid as a bot does (multipart/form-data,
// field "message") and returns the message id.
func postMessage(t *testing.T, c *http.Client, agent, sid, messageML string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("message", messageML); err != nil {
		t.Fatal(err)
	}
	if err := mw.WriteField("data", `{}`); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		MessageID string `json:"messageId"`
		Message   string `json:"message"`
	}
	call(t, c, http.MethodPost, agent+"/agent/v4/stream/"+url.PathEscape(sid)+"/message/create",
		mw.FormDataContentType(), body.Bytes(), http.StatusOK, &msg)
	if msg.MessageID == "" || !strings.Contains(msg.Message, `data-format="PresentationML"`) {
		t.Fatalf("message create answered %+v", msg)
	}
	return msg.MessageID
}

// TestEmulatorBotEndToEnd drives the emulator binary over HTTPS as a bot
// does, from its config.yaml: it creates a datafeed and an IM with another
// user, both post multipart messages, and the bot reads their MESSAGESENT
// events back from its datafeed, before and after its session ends (2 s
// session lifetime; symauth logs in again after the 401), with the same
// datafeed id throughout.
func TestEmulatorBotEndToEnd(t *testing.T) {
	tmp, dir := t.TempDir(), t.TempDir()
	aliceKey, alicePub := newKeyPair(t, tmp, "alice")
	e := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048",
		"--session-ttl", "2s", "--datafeed-wait", "200ms", "--user", "alice="+alicePub)

	var logins, failed atomic.Int32
	cfg, err := bdkconfig.Load(filepath.Join(dir, "config.yaml"), bdkconfig.WithOnLogin(func(ev symauth.LoginEvent) {
		if ev.Err != nil {
			failed.Add(1)
			return
		}
		logins.Add(1)
	}))
	if err != nil {
		t.Fatal(err)
	}
	bot, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	defer bot.CloseIdleConnections()
	pod, agent := cfg.PodURL(), cfg.AgentURL()
	if pod != e.url {
		t.Fatalf("config.yaml's pod is %s, the emulator serves on %s", pod, e.url)
	}

	// Alice, another user, logs in with her own RSA key.
	aliceBase := trustingClient(t, filepath.Join(dir, "ca.pem"))
	aliceRSA, err := symauth.NewRSA(symauth.RSAConfig{PodURL: e.url, Username: "alice", PrivateKey: aliceKey, HTTPClient: aliceBase})
	if err != nil {
		t.Fatal(err)
	}
	aliceTr := symauth.NewTransport(aliceRSA, aliceBase.Transport)
	defer aliceTr.CloseIdleConnections()
	alice := &http.Client{Transport: aliceTr, Timeout: 20 * time.Second}

	var users struct {
		Users []struct {
			ID int64 `json:"id"`
		} `json:"users"`
	}
	call(t, bot, http.MethodGet, pod+"/pod/v3/users?username=alice", "", nil, http.StatusOK, &users)
	if len(users.Users) != 1 {
		t.Fatalf("GET /pod/v3/users?username=alice: %+v", users)
	}
	var feed, im struct {
		ID string `json:"id"`
	}
	call(t, bot, http.MethodPost, agent+"/agent/v5/datafeeds", "application/json", []byte(`{}`), http.StatusCreated, &feed)
	call(t, bot, http.MethodPost, pod+"/pod/v1/im/create", "application/json", fmt.Appendf(nil, "[%d]", users.Users[0].ID), http.StatusOK, &im)
	if feed.ID == "" || im.ID == "" {
		t.Fatalf("datafeed %q, IM %q", feed.ID, im.ID)
	}

	ackID := ""
	deadline := time.Now().Add(15 * time.Second)
	// read reads the datafeed once (the read waits up to 200 ms for an
	// event) and returns the ids of the messages in its MESSAGESENT events,
	// by sender.
	read := func() map[string]string {
		t.Helper()
		if time.Now().After(deadline) {
			t.Fatalf("over 15 s; %d logins (%d failed)\n%s", logins.Load(), failed.Load(), e.stderr())
		}
		var ev feedEvents
		call(t, bot, http.MethodPost, agent+"/agent/v5/datafeeds/"+feed.ID+"/read", "application/json",
			fmt.Appendf(nil, `{"ackId":%q}`, ackID), http.StatusOK, &ev)
		ackID = ev.AckID
		got := map[string]string{}
		for _, x := range ev.Events {
			sent := x.Payload.MessageSent
			if x.Type != "MESSAGESENT" || sent == nil {
				t.Fatalf("event %+v: want MESSAGESENT", x)
			}
			if sent.Message.Stream.StreamID != im.ID {
				t.Errorf("message %s in stream %s, want the IM %s", sent.Message.MessageID, sent.Message.Stream.StreamID, im.ID)
			}
			got[sent.Message.MessageID] = x.Initiator.User.Username
		}
		return got
	}
	// exchange has the bot and alice post a message each, and reads them
	// back from the bot's datafeed.
	exchange := func(round string) {
		t.Helper()
		want := map[string]string{
			postMessage(t, bot, agent, im.ID, "<messageML>bot, "+round+"</messageML>"):     "symauth-bot",
			postMessage(t, alice, e.url, im.ID, "<messageML>alice, "+round+"</messageML>"): "alice",
		}
		for len(want) > 0 {
			for id, sender := range read() {
				if want[id] != sender {
					t.Fatalf("%s: unexpected event: message %s from %s (want %v)", round, id, sender, want)
				}
				delete(want, id)
			}
		}
	}

	exchange("first")
	if n := logins.Load(); n != 1 {
		t.Fatalf("%d logins before the session ended, want 1", n)
	}
	// The session ends 2 s after the login: read, without events, until the
	// bot has logged in again.
	for logins.Load() < 2 {
		if got := read(); len(got) > 0 {
			t.Fatalf("events with nothing posted: %v", got)
		}
	}
	exchange("after the session ended")
	if n := failed.Load(); n != 0 {
		t.Errorf("%d failed logins", n)
	}

	var feeds []struct {
		ID string `json:"id"`
	}
	call(t, bot, http.MethodGet, agent+"/agent/v5/datafeeds", "", nil, http.StatusOK, &feeds)
	if len(feeds) != 1 || feeds[0].ID != feed.ID {
		t.Errorf("GET /agent/v5/datafeeds: %+v, want only %s", feeds, feed.ID)
	}
	logs := e.stderr()
	if !strings.Contains(logs, "refused POST /agent/v5/datafeeds/"+feed.ID+"/read: the session token is unknown or has ended") {
		t.Errorf("the emulator did not refuse a read with the ended session:\n%s", logs)
	}
	if strings.Contains(logs, "eyJ") {
		t.Errorf("the emulator logged a token:\n%s", logs)
	}
}
